#!/usr/bin/env bash
# Fault trials for `plugin-host pipeline` (issue 9): kills the host, a plugin or a side's
# database sessions at random moments, re-runs from the state file, and compares the
# destination with the source (lost, duplicated, wrong rows; hangs). See README "Fault trials".
#
#   scripts/fault-trials.sh [--release] [--quick] [--trials N] [--rows N] [--variants LIST]
#                           [--modes LIST] [--reads LIST] [--seed S] [--allow-append-duplicates]
#                           [--source-setting KEY=VALUE] [--destination-setting KEY=VALUE] …
#
# Builds plugin-host and postgres-plugin (debug, or --release), starts the embedded server
# (scripts/pg-server.sh, on SLUICE_PG_PORT) unless SLUICE_EXTERNAL_PG=1 (then the PG* variables
# must name a superuser and psql must be on PATH), and runs scripts/fault_trials.py.
# `scripts/fault_trials.py --help` lists every option. Exit status 1 when any trial lost,
# duplicated or changed rows, hung, or never succeeded.
set -euo pipefail
cd "$(dirname "$0")/.."
config=debug
args=()
for arg in "$@"; do
  if [ "$arg" = --release ]; then config=release; else args+=("$arg"); fi
done
swift build -c "$config" --product plugin-host >&2
swift build -c "$config" --product postgres-plugin >&2
bin=$(swift build -c "$config" --show-bin-path)
if [ "${SLUICE_EXTERNAL_PG:-0}" != 1 ]; then
  eval "$(scripts/pg-server.sh start)"
fi
exec python3 scripts/fault_trials.py --bin "$bin" ${args[@]+"${args[@]}"}
