#!/usr/bin/env bash
# The test command: sets up the machine, starts the embedded PostgreSQL 18 and Debian's
# PostgreSQL 15 with TLS (scripts/pg15-server.sh), builds, and runs:
#   1. every test against PostgreSQL 18 (PG*), with the TLS tests and the 15 <-> 18 pipelines
#      against PostgreSQL 15 (SLUICE_PG15_*);
#   2. the integration suites (PostgresClientTests, PostgresPluginTests) again with PG* naming
#      PostgreSQL 15, but for the suites that do not depend on the server version (listed in
#      PG15_SKIP below). SLUICE_TEST_PG15=0 leaves this pass out.
# In each pass the suites that decode WAL through replication slots (CDC_SUITES) run on their own
# afterwards, in a database of their own (sluice_cdc): a slot decodes every change made in its
# database, and the hundreds of tables the other suites create, rewrite and drop at the same time
# once made PostgreSQL's decoder stop with "could not map filenode" (issue 11's note). They run
# one at a time: run in parallel, one's slot once stopped the same way on the tables another was
# creating and dropping (stop 35's CI); one at a time they take about 10 s instead of 4.
# Arguments go to `swift test` in both passes (e.g. --filter CheckTests), and then each pass is
# one run. Both servers stop at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
eval "$(scripts/pg-server.sh start)"
trap 'scripts/pg15-server.sh stop; scripts/pg-server.sh stop' EXIT
eval "$(scripts/pg15-server.sh start)"
swift build --build-tests

CDC_SUITES='ReplicationTests|CDCCheckTests|CDCPipelineTests|CDCTargetTests|SourceCDCTests|SourceCDCFollowTests'
CDC_DATABASE=sluice_cdc
# Creates the CDC suites' database on the server PG* names, unless it exists.
create_cdc_database() {
  psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$CDC_DATABASE'" | grep -q 1 ||
    psql -d postgres -qc "CREATE DATABASE $CDC_DATABASE"
}
# Runs `swift test` with "$@": one run when arguments are given, else the suites but the CDC ones,
# then the CDC ones in their own database. $1 is the time limit of each run in seconds.
run_tests() {
  local limit=$1
  shift
  if [ $# -gt 0 ]; then
    timeout "$limit" swift test --skip-build "$@"
    return
  fi
  timeout "$limit" swift test --skip-build --skip "$CDC_SUITES"
  create_cdc_database
  echo "== the change data capture suites, in database $CDC_DATABASE"
  PGDATABASE=$CDC_DATABASE timeout "$limit" swift test --skip-build --no-parallel --filter "$CDC_SUITES"
}

echo "== tests against PostgreSQL 18 (and TLS, 15 <-> 18 against PostgreSQL 15)"
run_tests 2700 "$@"

[ "${SLUICE_TEST_PG15:-1}" = 0 ] && exit 0
# Suites that test the host, the protocol or the SSH tunnel rather than the server: one pass is enough.
# TLSTests and CrossVersionPipelineTests already ran against PostgreSQL 15 in the first pass.
PG15_SKIP='SSHTunnelTests|BenchmarkSmokeTests|PluginHostConformanceTests|HostProtocolViolationTests|FrameLimitTests|SequencePluginTests|TLSTests|CrossVersionPipelineTests'
echo "== integration suites against PostgreSQL 15"
(
  eval "$(scripts/pg15-server.sh pg-env)"
  if [ $# -gt 0 ]; then
    timeout 1800 swift test --skip-build --skip "$PG15_SKIP" "$@"
  else
    timeout 1800 swift test --skip-build --skip "$PG15_SKIP|$CDC_SUITES" --filter 'PostgresClientTests|PostgresPluginTests'
    create_cdc_database
    echo "== the change data capture suites against PostgreSQL 15, in database $CDC_DATABASE"
    PGDATABASE=$CDC_DATABASE timeout 1800 swift test --skip-build --no-parallel --filter "$CDC_SUITES"
  fi
)
