#!/usr/bin/env bash
# boehm.sh MAL_DIR BINARY — recycle-mal-boehm keeps every value it still
# holds: upstream's perf1 run 5,000 times in one process (bench/repeat.mal)
# with the Boehm GC collecting often (GC_FREE_SPACE_DIVISOR=50).  Values held
# only in the interpreter's scratch arrays (arguments being evaluated, the
# reader's items) must be in memory Boehm scans; when they were malloc'd, a
# collection freed them under the interpreter and the run failed ("'catch*'
# not found").
set -u
mal_dir=$1 bin=$2
if [ ! -f "$mal_dir/tests/perf1.mal" ]; then
    echo "skipped: the MAL suite is not at $mal_dir"
    exit 77
fi
repeat=$(cd "$(dirname "${BASH_SOURCE[0]}")/../bench" && pwd)/repeat.mal
cd "$mal_dir/tests"
out=$(GC_FREE_SPACE_DIVISOR=50 GC_MARKERS=1 "$bin" "$repeat" perf1.mal 5000 2>&1)
echo "$out" | grep -v "^Elapsed time" | tail -5
echo "$out" | grep -q "^repeat: 5000 runs of perf1.mal in" && [ "$(echo "$out" | grep -c "^Elapsed time")" = 5000 ]
