#!/usr/bin/env bash
# leaks.sh MAL_DIR BINARY — no leaks: every test file of steps 2..A, fed to the
# REPL, then the top-level environment dropped and a full collection run:
# recycle-mal --stats exits 3 (and prints a leak report) if any object
# outlives the environment.  Then the same check after each bench program
# (mal/bench/: upstream's perf1 and perf2 through repeat.mal, and cycles.mal,
# short runs; perf3 runs 10 s, so mal/bench.sh checks it in `make bench`).
set -u
mal_dir=$1 bin=$2
bench=$(cd "$(dirname "${BASH_SOURCE[0]}")/../bench" && pwd)
if [ ! -d "$mal_dir/tests" ]; then
    echo "skipped: the MAL suite is not at $mal_dir"
    exit 77
fi
cd "$mal_dir/tests"
fail=0
# check NAME OUTPUT RC: the run exited 0 and its environment held everything
check() {
    echo "$1: exit $3: $(echo "$2" | grep mal-stats: | head -2 | tr '\n' ' ')"
    if [ "$3" -ne 0 ] || ! echo "$2" | grep -q "after-env-dropped=0"; then
        echo "$2" | tail -30
        fail=1
    fi
}
for f in step2_eval step3_env step4_if_fn_do step5_tco step6_file step7_quote \
         step8_macros step9_try stepA_mal; do
    out=$(${MAL_WRAPPER:-} "$bin" --stats < "$f.mal" 2>&1 >/dev/null)
    check "$f" "$out" $?
done
for args in "$bench/repeat.mal perf1.mal 3" "$bench/repeat.mal perf2.mal 3" "$bench/cycles.mal 3"; do
    out=$(${MAL_WRAPPER:-} "$bin" --stats $args 2>&1 >/dev/null)
    check "${args##*/}" "$out" $?
done
exit $fail
