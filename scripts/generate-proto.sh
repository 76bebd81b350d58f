#!/usr/bin/env bash
# Regenerates the protobuf-c code in Sources/SluiceProtoC from proto/.
# Usage: scripts/generate-proto.sh [--check]
#   --check  exit 1 when the committed code differs from a fresh generation.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
protoc-c -Iproto --c_out="$out" proto/sluice/v1/*.proto
target=Sources/SluiceProtoC
if [ "${1:-}" = "--check" ]; then
  status=0
  for f in "$out"/sluice/v1/*.c; do
    cmp -s "$f" "$target/sluice/v1/$(basename "$f")" || { echo "stale: $target/sluice/v1/$(basename "$f")"; status=1; }
  done
  for f in "$out"/sluice/v1/*.h; do
    cmp -s "$f" "$target/include/sluice/v1/$(basename "$f")" || { echo "stale: $target/include/sluice/v1/$(basename "$f")"; status=1; }
  done
  [ $status -eq 0 ] && echo "generated protobuf-c code is fresh"
  exit $status
fi
mkdir -p "$target/sluice/v1" "$target/include/sluice/v1"
cp "$out"/sluice/v1/*.c "$target/sluice/v1/"
cp "$out"/sluice/v1/*.h "$target/include/sluice/v1/"
echo "regenerated $target from proto/"
