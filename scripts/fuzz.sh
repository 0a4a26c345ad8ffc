#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (built by `make fuzz` / `make test-fuzz` into FUZZ_BUILD).
#   scripts/fuzz.sh short FUZZ_BUILD TARGET...  each target on a fresh copy of its seeds for
#       FUZZ_SHORT_RUNS executions (default 1000), for `make test`; writes
#       FUZZ_BUILD/test-results.txt
#   scripts/fuzz.sh long FUZZ_BUILD TARGET...   each target for FUZZ_RUNS executions (or
#       FUZZ_SECONDS seconds when set), at low priority, on FUZZ_BUILD/corpus/TARGET (kept between
#       runs, started from the seeds); prints and writes FUZZ_REPORT (FUZZ_BUILD/fuzz-report.txt).
#       hdf5 stops after FUZZ_HDF5_SECONDS (default 1800) if it has not reached FUZZ_RUNS by then:
#       each of its inputs writes and reads a whole HDF5 file (about 1 ms of CPU; 10^6 inputs took
#       15 min on the shared machine, see docs/RELIABILITY.md).
# A crash, sanitizer report, leak, timeout or out-of-memory fails the target; its input is saved
# as FUZZ_BUILD/crashes/TARGET-* and the log as FUZZ_BUILD/logs/fuzz_TARGET.log (short runs:
# FUZZ_BUILD/short-logs/).
set -u
mode=${1:?usage: fuzz.sh short|long FUZZ_BUILD TARGET...}
build=${2:?usage: fuzz.sh short|long FUZZ_BUILD TARGET...}
shift 2

# The fuzzers keep their own allocator limits (-rss_limit_mb, -malloc_limit_mb: 2048 MB).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(cd "$(dirname "$0")/.." && pwd)/fuzz/lsan.supp:print_suppressions=0}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export HDF5_USE_FILE_LOCKING=FALSE

logs="$build/logs" # the short runs (make test) keep theirs apart, not to clobber a long run's
[ "$mode" = short ] && logs="$build/short-logs"
seeds="$build/seeds-corpus.$$"
mkdir -p "$logs" "$build/crashes"
trap 'rm -rf "$seeds"' EXIT
"$build/seeds" "$seeds" || { echo "fuzz: could not write the seeds"; exit 1; }

# Options of a target: the command-line target's commands print usage and errors, so its output
# is closed (libFuzzer's own report still shows).
opts_of() {
    case "$1" in
    cli) echo "-close_fd_mask=3" ;;
    *) echo "" ;;
    esac
}

# run TARGET CORPUS LIMIT...: runs one target; sets rc, execs and secs.
run() {
    local t=$1 corpus=$2
    shift 2
    local log="$logs/fuzz_$t.log" start
    start=$(date +%s)
    # shellcheck disable=SC2046
    $nice "$build/fuzz_$t" $(opts_of "$t") -seed=1 -timeout=25 -print_final_stats=1 \
        -artifact_prefix="$build/crashes/$t-" "$@" "$corpus" > "$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=${execs:-0}
}

failed=0
case "$mode" in
short)
    nice=""
    results="$build/test-results.txt"
    : > "$results"
    short=${FUZZ_SHORT_RUNS:-1000}
    echo "== fuzz targets (short: the seeds, then $short inputs each) =="
    for t in "$@"; do
        corpus="$build/short-corpus/$t"
        rm -rf "$corpus"
        mkdir -p "$corpus"
        cp "$seeds/$t"/* "$corpus"/
        run "$t" "$corpus" -runs="$short"
        if [ "$rc" -eq 0 ]; then
            printf '  ok    %-28s %7d runs %4ds\n' "fuzz_$t" "$execs" "$secs"
            echo "fuzz_$t 1 0 0" >> "$results"
        else
            printf '  FAIL  %-28s (exit %d) %4ds, log: %s\n' "fuzz_$t" "$rc" "$secs" "$logs/fuzz_$t.log"
            grep -E 'ERROR|SUMMARY|runtime error|fuzz:' "$logs/fuzz_$t.log" | head -n 10 | sed 's/^/        /'
            echo "fuzz_$t 0 1 0" >> "$results"
        fi
    done
    exit 0 # the failures are counted in the results file
    ;;
long)
    nice="nice -n 10"
    report="${FUZZ_REPORT:-$build/fuzz-report.txt}"
    if [ -n "${FUZZ_SECONDS:-}" ]; then limit="-max_total_time=$FUZZ_SECONDS"; what="$FUZZ_SECONDS s"
    else limit="-runs=${FUZZ_RUNS:-1000000}"; what="${FUZZ_RUNS:-1000000} runs"; fi
    {
        echo "fuzz run $(date -u '+%Y-%m-%d %H:%M UTC'), $what per target, nice -n 10, $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d" " -f1-3 /proc/loadavg)"
        printf '%-20s %12s %8s %10s  %s\n' target executions seconds 'exec/s' result
    } | tee "$report"
    for t in "$@"; do
        corpus="$build/corpus/$t"
        mkdir -p "$corpus"
        cp -n "$seeds/$t"/* "$corpus"/
        if [ "$t" = hdf5 ] && [ -z "${FUZZ_SECONDS:-}" ]; then
            run "$t" "$corpus" "$limit" -max_total_time="${FUZZ_HDF5_SECONDS:-1800}"
        else
            run "$t" "$corpus" "$limit"
        fi
        result=ok
        [ "$rc" -ne 0 ] && { result="FAIL (exit $rc, log $logs/fuzz_$t.log)"; failed=1; }
        printf '%-20s %12d %8d %10d  %s\n' "fuzz_$t" "$execs" "$secs" \
            $(( execs / (secs > 0 ? secs : 1) )) "$result" | tee -a "$report"
    done
    exit "$failed"
    ;;
*)
    echo "usage: fuzz.sh short|long FUZZ_BUILD TARGET..." >&2
    exit 2
    ;;
esac
