#!/usr/bin/env bash
# leaks.sh MAL_DIR BINARY — no leaks: every test file of steps 2..A, fed to the
# REPL, then the top-level environment dropped and a full collection run:
# recycle-mal --stats exits 3 (and prints a leak report) if any object
# outlives the environment.
set -u
mal_dir=$1 bin=$2
if [ ! -d "$mal_dir/tests" ]; then
    echo "skipped: the MAL suite is not at $mal_dir"
    exit 77
fi
cd "$mal_dir/tests"
fail=0
for f in step2_eval step3_env step4_if_fn_do step5_tco step6_file step7_quote \
         step8_macros step9_try stepA_mal; do
    out=$(${MAL_WRAPPER:-} "$bin" --stats < "$f.mal" 2>&1 >/dev/null)
    rc=$?
    echo "$f: exit $rc: $(echo "$out" | grep mal-stats: | head -2 | tr '\n' ' ')"
    if [ $rc -ne 0 ] || ! echo "$out" | grep -q "after-env-dropped=0"; then
        echo "$out" | tail -30
        fail=1
    fi
done
exit $fail
