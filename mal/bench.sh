#!/usr/bin/env bash
# mal/bench.sh BUILD_DIR [--quick] [--runs=N] — the MAL workload of `make bench`
# (bench/run calls it): upstream's perf1, perf2 and perf3 and our
# bench/cycles.mal (closures over atoms, memoised recursion, a mutable graph),
# each on recycle-mal under the default policy, on recycle-mal under the
# adaptive policy (MAL_GC_POLICY=adaptive) and on recycle-mal-boehm, runs
# alternating, in the same run.  Prints one line per program and system:
# median wall time, CPU time (user+sys, the load-independent figure), peak
# RSS, perf3's iterations per 10 s, and the collection pauses (p50, p99, max,
# from MAL_PAUSES=1).  Every run checks its output.  --quick: perf1, perf2 and
# a short cycles.mal, 1 run (CI's bench --quick).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=$(cd "${1:-$HERE/../build/release}" && pwd)
[ $# -gt 0 ] && shift
QUICK=0 RUNS=3
for a in "$@"; do
    case $a in
        --quick) QUICK=1; RUNS=1 ;;
        --runs=*) RUNS=${a#--runs=} ;;
        *) echo "mal/bench.sh: unknown argument $a" >&2; exit 1 ;;
    esac
done
SUITE=$HERE/../../shared/mal
if [ ! -f "$SUITE/tests/perf3.mal" ]; then
    echo "mal bench: skipped: the MAL suite is not at $SUITE"
    exit 0
fi
SUITE=$(cd "$SUITE" && pwd)
MAL=$BUILD/mal/recycle-mal
BOEHM=$BUILD/mal/recycle-mal-boehm
[ -x "$MAL" ] || { echo "mal bench: $MAL not built" >&2; exit 1; }
SYSTEMS=(recycle recycle-adaptive)
if [ -x "$BOEHM" ]; then SYSTEMS+=(boehm); else echo "mal bench: recycle-mal-boehm not built (no libgc): skipped"; fi
if [ "$QUICK" = 1 ]; then
    PROGS=(perf1 perf2 cycles:20)
else
    PROGS=(perf1 perf2 perf3 cycles:300)
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

run_one() { # run_one SYSTEM PROG ARG OUTFILE
    local sys=$1 prog=$2 arg=$3 out=$4 bin=$MAL env=()
    case $sys in
        recycle-adaptive) env=(MAL_GC_POLICY=adaptive) ;;
        boehm) bin=$BOEHM; env=(GC_MARKERS=1) ;;
    esac
    local file=$SUITE/tests/$prog.mal
    [ "$prog" = cycles ] && file=$HERE/bench/cycles.mal
    (cd "$SUITE/tests" && env "${env[@]}" MAL_PAUSES=1 /usr/bin/time -f "time %e %U %S %M" \
        "$bin" "$file" $arg) >"$out" 2>&1
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

printf '%-8s %-17s %9s %9s %9s %12s %9s %9s %9s\n' program system wall_s cpu_s rss_kb perf3_iters p50_us p99_us max_us
for p in "${PROGS[@]}"; do
    prog=${p%%:*} arg=""
    [ "$p" != "$prog" ] && arg=${p#*:}
    for r in $(seq "$RUNS"); do
        for s in "${SYSTEMS[@]}"; do
            out=$TMP/$prog.$s.$r
            run_one "$s" "$prog" "$arg" "$out"
            case $prog in
                perf1|perf2) grep -q "Elapsed time:" "$out" ;;
                perf3) grep -q "iters over 10 seconds:" "$out" ;;
                cycles) awk '/^cycles:/ {exit !($2 == $4)}' "$out" ;;
            esac || { echo "mal bench: $prog on $s did not do its work:" >&2; cat "$out" >&2; exit 1; }
        done
    done
    for s in "${SYSTEMS[@]}"; do
        files=("$TMP/$prog.$s."*)
        wall=$(cat "${files[@]}" | awk '/^time /{print $2}' | median)
        cpu=$(cat "${files[@]}" | awk '/^time /{print $3 + $4}' | median)
        rss=$(cat "${files[@]}" | awk '/^time /{print $5}' | median)
        iters=$(cat "${files[@]}" | awk '/iters over 10 seconds:/{print $NF}' | median)
        p50=$(cat "${files[@]}" | awk '/^mal-pauses:/{for(i=1;i<=NF;i++) if ($i ~ /^p50=/) {sub("p50=","",$i); print $i}}' | median)
        p99=$(cat "${files[@]}" | awk '/^mal-pauses:/{for(i=1;i<=NF;i++) if ($i ~ /^p99=/) {sub("p99=","",$i); print $i}}' | median)
        mx=$(cat "${files[@]}" | awk '/^mal-pauses:/{for(i=1;i<=NF;i++) if ($i ~ /^max=/) {sub("max=","",$i); print $i}}' | median)
        printf '%-8s %-17s %9s %9s %9s %12s %9s %9s %9s\n' "$prog" "$s" "$wall" "$cpu" "$rss" \
            "$([ "$prog" = perf3 ] && echo "$iters" || echo -)" "$p50" "$p99" "$mx"
    done
done
echo "mal bench: medians of $RUNS run(s) per program and system; load $(cut -d' ' -f1-3 /proc/loadavg)"
