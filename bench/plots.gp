# bench/plots.gp — renders the SVG plots of docs/BENCHMARKS.md from the data
# files bench/report.py writes:   gnuplot -e "dir='docs/bench'" bench/plots.gp
# A run of some workloads only (--only) may have no data for a plot: bench/run
# then sets objects=0 or pauses=0 and that plot is not drawn.
if (!exists("dir")) dir = "docs/bench"
if (!exists("objects")) objects = 1
if (!exists("pauses")) pauses = 1

set terminal svg size 960,520 dynamic enhanced font "sans,12" background rgb "white"
set datafile missing "?"
set key autotitle columnhead
set grid ytics lc rgb "#dddddd"
set border 3
set tics nomirror

# --- workloads 1-3: time per object, per system -------------------------------------
if (objects) {
    set output dir."/per_object.svg"
    set title "One collection: time per object (per reference for gc\\_traversal), log scale"
    set style data histograms
    set style histogram clustered gap 1
    set style fill solid 0.85 border rgb "#444444"
    set logscale y
    set ylabel "ns per object"
    set xtics rotate by -25 scale 0
    set format y "%g"
    set yrange [0.1:*]
    set offsets 0, 0, graph 0.35, 0
    set key top center horizontal
    plot for [c=2:5] dir."/per_object.dat" using c:xtic(1) lc c-1
}

# --- workload 6: the pause distribution ----------------------------------------------
# pauses.dat: one block per system; x = -log10(1 - percentile), so the tail
# (90%, 99%, 99.9% of collections) gets as much room as the median.
unset style
if (pauses) {
    set output dir."/pauses.svg"
    set title "Young-generation churn: pause of each automatic collection, by percentile"
    set style data steps
    set xtics ("0%%" 0, "50%%" 0.30103, "90%%" 1, "99%%" 2, "99.9%%" 3, "99.99%%" 4) rotate by 0 scale 1
    set xlabel "percentile of automatic collections"
    set ylabel "pause (µs, log scale)"
    set xrange [0:4.1]
    set offsets 0, 0, 0, 0
    set yrange [*:*]
    set key bottom right
    stats dir."/pauses.dat" using 1 nooutput
    plot for [i=0:STATS_blocks-1] dir."/pauses.dat" index i using 1:2 lw 2 title columnheader(1)
}
