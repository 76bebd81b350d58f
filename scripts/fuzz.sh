#!/usr/bin/env bash
# Fuzzing: builds the libFuzzer targets (Tests/Fuzz/Targets, declared when SLUICE_FUZZ=1) with
# `--sanitize=fuzzer` in .build-fuzz, then for each target replays its committed corpus
# (Tests/Fuzz/corpus/<target>/: seeds and every crash found so far) and fuzzes it for N seconds.
# Fails when any input crashes, hangs (10 s) or takes over 2 GB; that input is saved under
# .build-fuzz/crashes/<target>/ (fix the cause, then commit the input to the target's corpus).
# New inputs that reach new code collect in .build-fuzz/corpus/<target>/ (not committed).
#
# Usage: scripts/fuzz.sh [--seconds N] [target …]   (default: 20 s for each of all targets)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=20
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        -h|--help) sed -n 2,9p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done
if [ ${#targets[@]} -eq 0 ]; then
    targets=(fuzz-frame fuzz-messages fuzz-config fuzz-jsonlines fuzz-pg-binary fuzz-pg-numeric)
fi

scratch=.build-fuzz
build=(swift build --sanitize=fuzzer --scratch-path "$scratch")
export SLUICE_FUZZ=1
# Swift's own crash backtracer would take the signal before libFuzzer saves the input.
export SWIFT_BACKTRACE=enable=no
for target in "${targets[@]}"; do
    if ! output="$("${build[@]}" --product "$target" 2>&1)"; then
        echo "$output" | tail -30 >&2
        echo "fuzz: building $target failed" >&2
        exit 1
    fi
done
bin="$("${build[@]}" --show-bin-path)"

failed=()
for target in "${targets[@]}"; do
    committed=Tests/Fuzz/corpus/$target
    grown=$scratch/corpus/$target
    crashes=$scratch/crashes/$target
    mkdir -p "$committed" "$grown" "$crashes"
    log=$scratch/$target.log
    # Every committed input runs once, whole (the fuzzing below cuts inputs to 8 KB), then
    # fuzzing goes on from the committed and grown corpora.
    result=ok
    : >"$log"
    if [ -n "$(ls -A "$committed")" ] && ! "$bin/$target" -timeout=10 -rss_limit_mb=2048 "$committed"/* >>"$log" 2>&1; then
        result=FAILED
    elif [ "$seconds" -gt 0 ] && ! "$bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$grown" "$committed" >>"$log" 2>&1; then
        result=FAILED
    fi
    if [ "$result" = FAILED ]; then
        failed+=("$target")
        grep -E 'ERROR|Fatal error|SUMMARY|Test unit written|Running: ' "$log" | tail -8 >&2 || true
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    echo "fuzz: $target: $result, ${runs:-?} executions in ${seconds} s, $(ls "$committed" | wc -l) committed inputs (log: $log)"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}; inputs saved in $scratch/crashes/" >&2
    exit 1
fi
