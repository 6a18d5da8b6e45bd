#!/usr/bin/env bash
# mal/bench.sh BUILD_DIR [--quick] [--runs=N] [--results=FILE] — the MAL
# workload of `make bench` (bench/run calls it): upstream's perf1, perf2 and
# perf3 and our bench/cycles.mal (closures over atoms, memoised recursion, a
# mutable graph), each on recycle-mal under the default policy, on recycle-mal
# under the adaptive policy (MAL_GC_POLICY=adaptive) and on recycle-mal-boehm,
# runs alternating, in the same run.  perf1 and perf2 take well under a
# millisecond, so each runs many times in one process (bench/repeat.mal) and
# the figure is microseconds per run; perf3 gives iterations per 10 s; cycles
# its elapsed ms.  Prints one line per program and system: the median figure,
# wall and CPU time (user+sys, the load-independent one), peak RSS and the
# collection pauses (p50, p99, max, from MAL_PAUSES=1).  Every run checks its
# output, and that recycle-mal leaked nothing (--stats).  --results=FILE
# appends one JSON line per run (bench/report.py makes BENCHMARKS.md's MAL
# section from them).  --quick: short runs, 1 each (CI).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=$(cd "${1:-$HERE/../build/release}" && pwd)
[ $# -gt 0 ] && shift
QUICK=0 RUNS=3 RESULTS=
for a in "$@"; do
    case $a in
        --quick) QUICK=1; RUNS=1 ;;
        --runs=*) RUNS=${a#--runs=} ;;
        --results=*) RESULTS=${a#--results=} ;;
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
    PROGS=(perf1:200 perf2:200 cycles:20)
else
    PROGS=(perf1:10000 perf2:10000 perf3 cycles:300)
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

run_one() { # run_one SYSTEM PROG ARG OUTFILE
    local sys=$1 prog=$2 arg=$3 out=$4 bin=$MAL env=()
    case $sys in
        recycle-adaptive) env=(MAL_GC_POLICY=adaptive) ;;
        boehm) bin=$BOEHM; env=(GC_MARKERS=1) ;;
    esac
    local args=("$SUITE/tests/$prog.mal" $arg)
    case $prog in
        cycles) args=("$HERE/bench/cycles.mal" $arg) ;;
        perf1|perf2) args=("$HERE/bench/repeat.mal" "$prog.mal" $arg) ;;
    esac
    # recycle-mal --stats: at exit, drop the top-level environment, collect,
    # and print "after-env-dropped=N" (0: the program leaked nothing)
    [ "$sys" = boehm ] || args=(--stats "${args[@]}")
    (cd "$SUITE/tests" && env "${env[@]}" MAL_PAUSES=1 /usr/bin/time -f "time %e %U %S %M" \
        "$bin" "${args[@]}") >"$out" 2>&1
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

# figures OUTFILE PROG: one line "value wall cpu rss npauses p50 p99 max" from a run's output
figures() {
    awk -v prog="$2" '
        /^repeat: / && (prog == "perf1" || prog == "perf2") { value = $7 * 1000 / $2 }
        /iters over 10 seconds:/ && prog == "perf3" { value = $NF }
        /^cycles:/ && prog == "cycles" { value = $NF }
        /^time / { wall = $2; cpu = $3 + $4; rss = $5 }
        /^mal-pauses:/ {
            for (i = 2; i <= NF; i++) { split($i, kv, "="); pz[kv[1]] = kv[2] }
        }
        END { printf "%s %s %s %s %s %s %s %s\n", value, wall, cpu, rss, pz["n"] + 0, pz["p50"] + 0, pz["p99"] + 0, pz["max"] + 0 }
    ' "$1"
}

declare -A UNITS=([perf1]="us/run" [perf2]="us/run" [perf3]="iters/10s" [cycles]="ms")
printf '%-7s %-17s %12s %-9s %8s %8s %8s %7s %9s %9s %9s\n' program system figure unit wall_s cpu_s rss_kb pauses p50_us p99_us max_us
for p in "${PROGS[@]}"; do
    prog=${p%%:*} arg=""
    [ "$p" != "$prog" ] && arg=${p#*:}
    for r in $(seq "$RUNS"); do
        for s in "${SYSTEMS[@]}"; do
            out=$TMP/$prog.$s.$r
            run_one "$s" "$prog" "$arg" "$out"
            case $prog in
                perf1|perf2) grep -q "^repeat: $arg runs of" "$out" && grep -q "Elapsed time:" "$out" ;;
                perf3) grep -q "iters over 10 seconds:" "$out" ;;
                cycles) awk '/^cycles:/ {exit !($2 == $4)}' "$out" ;;
            esac || { echo "mal bench: $prog on $s did not do its work:" >&2; cat "$out" >&2; exit 1; }
            [ "$s" = boehm ] || grep -q "after-env-dropped=0" "$out" ||
                { echo "mal bench: $prog on $s leaked:" >&2; cat "$out" >&2; exit 1; }
            read -r value wall cpu rss np p50 p99 mx < <(figures "$out" "$prog")
            echo "$prog $s $r $value $wall $cpu $rss $np $p50 $p99 $mx" >>"$TMP/records"
            if [ -n "$RESULTS" ]; then
                printf '{"case": "mal-%s", "sys": "%s", "run": %d, "value": %s, "unit": "%s", "wall_s": %s, "cpu_s": %s, "rss_kb": %s, "pauses": %s, "p50_us": %s, "p99_us": %s, "max_us": %s}\n' \
                    "$prog" "$s" "$r" "$value" "${UNITS[$prog]}" "$wall" "$cpu" "$rss" "$np" "$p50" "$p99" "$mx" >>"$RESULTS"
            fi
        done
    done
    for s in "${SYSTEMS[@]}"; do
        col() { awk -v p="$prog" -v s="$s" -v c="$1" '$1 == p && $2 == s {print $c}' "$TMP/records" | median; }
        printf '%-7s %-17s %12s %-9s %8s %8s %8s %7s %9s %9s %9s\n' "$prog" "$s" "$(col 4)" "${UNITS[$prog]}" \
            "$(col 5)" "$(col 6)" "$(col 7)" "$(col 8)" "$(col 9)" "$(col 10)" "$(col 11)"
    done
done
echo "mal bench: medians of $RUNS run(s) per program and system; load $(cut -d' ' -f1-3 /proc/loadavg)"
