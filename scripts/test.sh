#!/usr/bin/env bash
# The test command: sets up the machine, starts the embedded PostgreSQL 18 and Debian's
# PostgreSQL 15 with TLS (scripts/pg15-server.sh), builds, and runs:
#   1. every test against PostgreSQL 18 (PG*), with the TLS tests and the 15 <-> 18 pipelines
#      against PostgreSQL 15 (SLUICE_PG15_*);
#   2. the integration suites (PostgresClientTests, PostgresPluginTests) again with PG* naming
#      PostgreSQL 15, but for the suites that do not depend on the server version (listed in
#      PG15_SKIP below). SLUICE_TEST_PG15=0 leaves this pass out.
# Arguments go to `swift test` in both passes (e.g. --filter CheckTests). Both servers stop at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
eval "$(scripts/pg-server.sh start)"
trap 'scripts/pg15-server.sh stop; scripts/pg-server.sh stop' EXIT
eval "$(scripts/pg15-server.sh start)"
swift build --build-tests

echo "== tests against PostgreSQL 18 (and TLS, 15 <-> 18 against PostgreSQL 15)"
timeout 2700 swift test --skip-build "$@"

[ "${SLUICE_TEST_PG15:-1}" = 0 ] && exit 0
# Suites that test the host, the protocol or the SSH tunnel rather than the server: one pass is enough.
# TLSTests and CrossVersionPipelineTests already ran against PostgreSQL 15 in the first pass.
PG15_SKIP='SSHTunnelTests|PluginHostConformanceTests|HostProtocolViolationTests|FrameLimitTests|SequencePluginTests|TLSTests|CrossVersionPipelineTests'
echo "== integration suites against PostgreSQL 15"
[ $# -gt 0 ] || set -- --filter 'PostgresClientTests|PostgresPluginTests'
(
  eval "$(scripts/pg15-server.sh pg-env)"
  timeout 1800 swift test --skip-build --skip "$PG15_SKIP" "$@"
)
