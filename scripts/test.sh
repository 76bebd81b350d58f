#!/usr/bin/env bash
# The test command: sets up the machine, starts a local PostgreSQL, builds, runs every test
# against it, and stops the server again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
eval "$(scripts/pg-server.sh start)"
trap 'scripts/pg-server.sh stop' EXIT
swift build --build-tests
timeout 2700 swift test --skip-build "$@"
