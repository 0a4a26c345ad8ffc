#!/usr/bin/env bash
# Runs every test program of a build and records the counts.
#   scripts/run-tests.sh BUILD_DIR           run BUILD_DIR/tests/test_*, write BUILD_DIR/test-results.txt
#   scripts/run-tests.sh BUILD_DIR TAG NAME...   run only BUILD_DIR/tests/NAME..., write
#                                            BUILD_DIR/test-results-TAG.txt (e.g. the model tests
#                                            again under ONEDNN_MAX_CPU_ISA=AVX2)
#   scripts/run-tests.sh --summary FILE...   add up result files; print "N passed, N failed"
set -u

if [ "${1:-}" = "--summary" ]; then
    shift
    passed=0; failed=0; skipped=0
    for f in "$@"; do
        if [ ! -f "$f" ]; then echo "missing test results: $f"; failed=$((failed + 1)); continue; fi
        while read -r _ p fl sk; do
            passed=$((passed + p)); failed=$((failed + fl)); skipped=$((skipped + sk))
        done < "$f"
    done
    echo "tests: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit
fi

build=${1:?usage: run-tests.sh BUILD_DIR [TAG NAME...]}
tag=${2:-}
only=("${@:3}")
root=$(cd "$(dirname "$0")/.." && pwd)
export GENXFER_BIN="$root/$build/genxfer"
if [ -z "${GENXFER_DATA:-}" ] && [ -d "$root/../shared/data" ]; then
    export GENXFER_DATA="$root/../shared/data"
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"

logs="$build/test-logs${tag:+-$tag}"
mkdir -p "$logs"
results="$build/test-results${tag:+-$tag}.txt"
: > "$results"
label=plain
case "$build" in *san*) label=asan+ubsan ;; esac
[ -n "${ONEDNN_MAX_CPU_ISA:-}" ] && label="$label, ONEDNN_MAX_CPU_ISA=$ONEDNN_MAX_CPU_ISA"
# The programs to run: all, or the NAMEs given.
programs() {
    if [ ${#only[@]} -eq 0 ]; then ls "$build"/tests/test_*; else printf "$build/tests/%s\n" "${only[@]}"; fi
}
echo "== tests ($label) =="
# One test program: its log, its result line (printed later, in order) and its counts.
run_one() {
    local t=$1 name log start rc secs p f s
    name=$(basename "$t")
    log="$logs/$name.log"
    start=$(date +%s)
    (cd "$root" && timeout 600 "$t") > "$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | tail -1 | sed -E 's/.* ([0-9]+) test.*/\1/')
    f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | tail -1 | sed -E 's/.* ([0-9]+) test.*/\1/')
    s=$(grep -E '^\[  SKIPPED \] [0-9]+ test' "$log" | tail -1 | sed -E 's/.* ([0-9]+) test.*/\1/')
    p=${p:-0}; f=${f:-0}; s=${s:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed, sanitizer report or timeout
    {
        if [ "$f" -eq 0 ]; then
            printf '  ok    %-28s %3d passed %3d skipped %4ds\n' "$name" "$p" "$s" "$secs"
        else
            printf '  FAIL  %-28s %3d passed %3d failed (exit %d) %4ds, log: %s\n' "$name" "$p" "$f" "$rc" "$secs" "$log"
            tail -n 25 "$log" | sed 's/^/        /'
        fi
    } > "$log.line"
    echo "$name $p $f $s" > "$log.counts"
}
export -f run_one
export root logs

# TEST_JOBS programs at a time (default 2: most are single-threaded or wait on the tool they start).
programs | while read -r t; do [ -x "$t" ] && echo "$t"; done |
    xargs -d '\n' -P "${TEST_JOBS:-2}" -I{} bash -c 'run_one "$1"' _ {}
for t in $(programs); do
    [ -x "$t" ] || { [ ${#only[@]} -gt 0 ] && echo "missing test program: $t" && echo "$(basename "$t") 0 1 0" >> "$results"; continue; }
    name=$(basename "$t")
    cat "$logs/$name.log.line"
    cat "$logs/$name.log.counts" >> "$results"
    rm -f "$logs/$name.log.line" "$logs/$name.log.counts"
done
exit 0
