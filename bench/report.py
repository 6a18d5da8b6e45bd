#!/usr/bin/env python3
"""bench/report.py — turns bench/run's JSON lines into BENCHMARKS.md and the
data files bench/plots.gp renders as SVG.  Python 3 standard library only.

  report.py --results=FILE --out=DIR [--pauses=DIR] [--elapsed=S] [--quick]

Medians are over runs (each run one process); a ratio recycle/other is
computed per run pair (run r of recycle against run r of the other, both in
the same round of the alternation) and reported as the median of those
ratios with their range.  Every goal of issue 5 is judged here.
"""
import datetime
import json
import os
import platform
import re
import subprocess
import sys
from collections import defaultdict

ARGS = {}
for a in sys.argv[1:]:
    k, _, v = a.lstrip("-").partition("=")
    ARGS[k] = v
OUT = ARGS.get("out", ".")
QUICK = "quick" in ARGS
HERE = os.path.dirname(os.path.abspath(__file__))

# results[case][sys][run] = record
results = defaultdict(lambda: defaultdict(dict))
with open(ARGS["results"]) as f:
    for line in f:
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            results[r["case"]][r["sys"]][r["run"]] = r


def median(v):
    v = sorted(v)
    n = len(v)
    if n == 0:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def values(case, sys_, key="ns"):
    runs = results.get(case, {}).get(sys_, {})
    return [runs[r][key] for r in sorted(runs) if key in runs[r] and not runs[r].get("retained")]


def med(case, sys_, key="ns"):
    return median(values(case, sys_, key))


def ratios(case, a, b, key="ns", case_b=None):
    """Per run pair: a's run r over b's run r (b's case may differ)."""
    ra = results.get(case, {}).get(a, {})
    rb = results.get(case_b or case, {}).get(b, {})
    return [ra[r][key] / rb[r][key] for r in sorted(ra)
            if r in rb and rb[r][key] and not rb[r].get("retained") and not ra[r].get("retained")]


def fmt_ratio(rs):
    if not rs:
        return "–"
    m = median(rs)
    if len(rs) == 1:
        return "%.2fx" % m
    return "%.2fx (%.2f–%.2f)" % (m, min(rs), max(rs))


def fmt_time(ns):
    if ns is None:
        return "–"
    if ns >= 1e9:
        return "%.2f s" % (ns / 1e9)
    if ns >= 1e6:
        return "%.1f ms" % (ns / 1e6)
    if ns >= 1e3:
        return "%.1f µs" % (ns / 1e3)
    return "%.1f ns" % ns


def fmt_range(case, sys_, key="ns", f=fmt_time):
    v = values(case, sys_, key)
    if len(v) < 2:
        return ""
    return "%s–%s" % (f(min(v)), f(max(v)))


def nruns(case, sys_):
    return len(results.get(case, {}).get(sys_, {}))


def have(case, sys_):
    return nruns(case, sys_) > 0


def mib(b):
    return "%.1f MiB" % (b / 1048576)


# --- goals ----------------------------------------------------------------------
GOALS = []  # (workload, goal, measured, verdict)


def judge(workload, goal, rs, limit, strict=False, unit="x"):
    """Records whether the median of rs is within limit (<=, or < if strict)."""
    if not rs:
        GOALS.append((workload, goal, "not measured here", "skipped"))
        return
    m = median(rs) if isinstance(rs, list) else rs
    ok = m < limit if strict else m <= limit
    shown = ("%.2f%s" % (m, unit)) if unit == "x" else ("%.1f %s" % (m, unit))
    if ok:
        verdict = "**met**"
    elif unit == "x" and m < 2 * limit:
        verdict = "missed by %.1f%%" % ((m / limit - 1) * 100)
    elif unit == "x":
        verdict = "missed: %.1fx the limit" % (m / limit)
    else:
        verdict = "missed by %.1f %s" % (m - limit, unit)
    GOALS.append((workload, goal, shown, verdict))


# --- the machine --------------------------------------------------------------------
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:
        return ""


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = "%.1f GiB" % (kb / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    cc = ARGS.get("cc", "cc")
    pkgs = []
    for p in ("libgc-dev", "libmimalloc-dev", "libjemalloc-dev", "gnuplot-nox"):
        v = sh("dpkg-query -W -f='${Version}' %s 2>/dev/null" % p)
        pkgs.append("%s %s" % (p, v or "(absent)"))
    root = os.path.dirname(HERE)
    head = sh("git -C %s rev-parse --short HEAD 2>/dev/null" % root)
    dirty = sh("git -C %s status --porcelain -- src include 2>/dev/null" % root)
    # the time and load of the run, not of this report (it can be redone)
    when = datetime.datetime.fromtimestamp(os.path.getmtime(ARGS["results"]),
                                           datetime.timezone.utc)
    return [
        ("Date", when.strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", "%s, %s logical cores (nproc)" % (cpu or platform.processor(), os.cpu_count())),
        ("Memory", mem),
        ("Kernel", " ".join(platform.uname()[i] for i in (0, 2, 4))),
        ("Load average at the end", ARGS.get("load") or sh("cut -d' ' -f1-3 /proc/loadavg")),
        ("C compiler", sh("%s --version | head -1" % cc)),
        ("CPython", sys.version.split()[0]),
        ("Packages", ", ".join(pkgs)),
        ("recycle", "%s%s, release build (-O2)" % (
            head or "?", " with uncommitted changes in src/ or include/" if dirty else "")),
        ("Run time", "%s s for the whole suite" % ARGS.get("elapsed", "?")),
    ]


# --- the report -----------------------------------------------------------------------
md = []


def table(header, rows):
    md.append("| " + " | ".join(header) + " |")
    md.append("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        md.append("| " + " | ".join(str(c) for c in r) + " |")
    md.append("")


COLLECTORS = ["recycle", "cpython", "boehm", "floor"]
NAMES = {"recycle": "recycle", "cpython": "CPython %s gc" % sys.version.split()[0][:4],
         "boehm": "Boehm GC", "floor": "floor (bare DFS)", "glibc": "malloc/free: glibc",
         "mimalloc": "malloc/free: mimalloc", "jemalloc": "malloc/free: jemalloc",
         "mimalloc16": "mimalloc, 16 B more per request (recycle's header)",
         "recycle/off": "recycle, automatic collection off",
         "recycle/adaptive": "recycle, RC_POLICY_ADAPTIVE",
         "recycle/tracked": "recycle, tracked containers",
         "recycle/untracked": "recycle, untracked (atomic)",
         "glibc/calloc": "calloc/free: glibc", "mimalloc/calloc": "mi_zalloc/mi_free",
         "cpython/off": "CPython, gc.disable()"}
CASE_TITLES = {
    "gc_collect": "pyperformance gc_collect: 100 rings of 21 nodes dropped, one collection",
    "gc_traversal": "pyperformance gc_traversal: 1,000 lists, 499,500 references, all live",
}


def collector_table(case, per="object", nkey="n", title=None, goal=True):
    """Rows for one collection case: time, per object, ratio to recycle."""
    rows = []
    for s in COLLECTORS:
        if not have(case, s):
            continue
        m = med(case, s)
        if m is None:  # Boehm: every run kept the garbage through a stale pointer
            rows.append([NAMES[s], "kept alive by a stale pointer", "", "", nruns(case, s), ""])
            continue
        n = results[case][s][min(results[case][s])][nkey]
        rat = "" if s == "recycle" else fmt_ratio(ratios(case, "recycle", s))
        rows.append([NAMES[s], fmt_time(m), fmt_range(case, s), "%.1f ns" % (m / n),
                     nruns(case, s), rat])
    if rows:
        md.append("**%s**\n" % (title or CASE_TITLES.get(case, case)))
        table(["system", "median", "min–max", "per " + per, "runs", "recycle/system"], rows)
    if goal:
        label = CASE_TITLES.get(case, case).split(":")[0]
        m = re.match(r"(live|garbage)_(\w+)$", case)
        if m:
            label = ("Live heap, %s nodes" if m.group(1) == "live" else
                     "Heap as garbage, %s nodes") % m.group(2)
        judge(label, "recycle/CPython ≤ 0.33", ratios(case, "recycle", "cpython"), 0.33)
        judge(label, "recycle/Boehm ≤ 1.0", ratios(case, "recycle", "boehm"), 1.0)
        judge(label, "recycle/floor ≤ 2.0", ratios(case, "recycle", "floor"), 2.0)


def section_collect():
    md.append("## 1. pyperformance's gc_collect and gc_traversal\n")
    md.append(
        "The object graphs of pyperformance's `bm_gc_collect` (100 rings of 21 `Node` objects "
        "with `next` and `prev`, dropped, then `gc.collect()` timed) and `bm_gc_traversal` "
        "(lists 0..999, list k holding k references to list k-1: 499,500 references, nothing "
        "to collect).  CPython runs pyperformance's own code (`bench/py/graph.py`); recycle and "
        "the Boehm GC build the same graph in C (`bench/graph.c`) and time `rc_gc_collect(h, 2)` "
        "and `GC_gcollect()`; the floor marks the same graph with a bare DFS.  Each run is one "
        "process; its value is the median of 51 (gc_collect) or 31 (gc_traversal) loops.\n")
    collector_table("gc_collect")
    e = med("gc_collect", "cpython", "empty_ns")
    if e:
        tr = med("gc_collect", "cpython", "tracked")
        md.append("CPython's number includes walking the interpreter's own objects (%d tracked "
                  "here): a `gc.collect()` that finds nothing takes %s of it.  recycle's heap "
                  "holds only the benchmark's objects.\n" % (tr, fmt_time(e)))
    collector_table("gc_traversal", per="reference", nkey="refs")


def section_heap():
    md.append("## 2–3. Full collection of a large live heap, and the same heap as garbage\n")
    md.append(
        "N nodes of 3 references (the next node, so everything is reachable from the first, "
        "and two chosen by a hash of the node's index: the same edges in every system).  "
        "recycle: 24-byte containers; Boehm: 24-byte `GC_MALLOC` blocks; CPython: lists "
        "`[next, a, b]`; the floor: malloc'd nodes with a mark word, one DFS with an explicit "
        "stack (workload 3).  *Live*: one full collection, nothing to find (median of 3 in a "
        "process).  *Garbage*: the root dropped, the whole heap reclaimed by one collection "
        "(the floor: DFS + `free` of every node).  The Boehm GC sweeps lazily and frees wholly "
        "dead blocks without visiting their objects; its reclaim is timed as two "
        "`GC_gcollect()` calls, the second finishing every pending sweep.\n")
    for label in ("1M", "10M", "20k"):
        for kind, word in (("live", "live heap, one full collection"),
                           ("garbage", "all cyclic garbage, reclaimed")):
            case = "%s_%s" % (kind, label)
            if case in results:
                collector_table(case, title="%s nodes, %s" % (label, word))
    # peak memory (workload 7's second half)
    rows = []
    for label in ("1M", "10M", "20k"):
        case = "live_" + label
        for s in COLLECTORS:
            if not have(case, s):
                continue
            peak = med(case, s, "peak_rss")
            rss0 = med(case, s, "rss0")
            n = results[case][s][min(results[case][s])]["n"]
            rows.append([label, NAMES[s], mib(peak), "%.1f B" % ((peak - rss0) / n)])
    if rows:
        md.append("**Peak resident memory of the process (VmHWM) for workload 2** (per node: "
                  "growth over the process's size before building, divided by N)\n")
        table(["nodes", "system", "peak RSS", "per node"], rows)


def section_trees():
    md.append("## 4. GCBench and binary-trees\n")
    d = med("bintrees", "recycle", "depth")
    md.append(
        "`bench/trees.c`, `bench/py/trees.py`.  GCBench (Boehm and Ellis): stretch tree of "
        "depth 18, long-lived tree of depth 16 and array of 500,000 doubles, then 2·TreeSize(18)"
        "/TreeSize(d) trees of each depth 4, 6 … 16 built top-down and bottom-up; 15.3 million "
        "nodes of 24 bytes.  binary-trees: the Benchmarks Game's program at depth %s, one "
        "process, each tree checked by counting it; at depth 21 (614 million nodes) a run takes "
        "10 s to 150 s, so each system runs once unless `BINTREES_RUNS` says more.  "
        "malloc/free versions free each tree "
        "recursively; mimalloc through `mi_malloc`/`mi_free`, jemalloc through "
        "`mallocx`/`dallocx` (separate executables).  Boehm runs with one marker thread "
        "(`GC_MARKERS=1`), as recycle collects on one core.\n" % (int(d) if d else "?"))
    order = ["recycle", "recycle/off", "recycle/adaptive", "boehm", "glibc", "mimalloc",
             "mimalloc16", "jemalloc", "cpython"]
    for case in ("gcbench", "bintrees18", "bintrees"):
        if not have(case, "recycle"):
            continue
        if case == "gcbench":
            title = "GCBench"
        else:
            title = "binary-trees, depth %d" % int(med(case, "recycle", "depth"))
        rows = []
        for s in order:
            if not have(case, s):
                continue
            rat = "" if s == "recycle" else fmt_ratio(ratios(case, "recycle", s))
            rows.append([NAMES[s], fmt_time(med(case, s)), fmt_range(case, s), nruns(case, s),
                         mib(med(case, s, "peak_rss")), rat])
        md.append("**%s**\n" % title)
        table(["system", "median", "min–max", "runs", "peak RSS", "recycle/system"], rows)
        # issue 13's goals
        judge(title, "faster than Boehm (recycle/Boehm < 1.0)",
              ratios(case, "recycle", "boehm"), 1.0, strict=True)
        judge(title, "recycle/mimalloc ≤ 2.0", ratios(case, "recycle", "mimalloc"), 2.0)
        for var, what in (("recycle/off", "collection off"), ("recycle/adaptive", "adaptive")):
            if have(case, var):
                judge(title, "%s: recycle/mimalloc ≤ 1.3" % what,
                      ratios(case, var, "mimalloc"), 1.3)
        split_by_header(case)
        if case != "gcbench" and have(case, "mimalloc"):
            judge(title, "peak RSS: recycle/mimalloc ≤ 1.2",
                  ratios(case, "recycle", "mimalloc", key="peak_rss"), 1.2)


def split_by_header(case):
    """recycle's distance to mimalloc with collection off, split: mimalloc with
    recycle's 16-byte header added to each request (mimalloc16) pays the
    header's bytes (cache and TLB misses of a larger heap) with mimalloc's
    code; the rest of the distance is recycle's code."""
    whole = ratios(case, "recycle/off", "mimalloc")
    hdr = ratios(case, "mimalloc16", "mimalloc")
    code = ratios(case, "recycle/off", "mimalloc16")
    if not (whole and hdr and code):
        return
    md.append("Where the distance to mimalloc with collection off (%s) comes from: the "
              "header's bytes, mimalloc with 16 B more per request over mimalloc, %s; times "
              "recycle's code, recycle with collection off over that, %s.\n"
              % (fmt_ratio(whole), fmt_ratio(hdr), fmt_ratio(code)))


def section_alloc():
    def size_key(size):  # "mixed" (16-256 B at random) after the fixed sizes
        return int(size) if size.isdigit() else 1 << 30
    cases = sorted((c for c in results if c.startswith("alloc_")),
                   key=lambda c: (int(re.sub(r"\D", "", c.split("_")[2]) or 0) *
                                  (1000 if "M" in c.split("_")[2] else 1),
                                  size_key(c.split("_")[1])))
    if not cases:
        return
    md.append("## 5. Allocation: one free + one allocation\n")
    md.append(
        "`bench/alloc.c`: W objects live; each operation frees the object in a pseudo-random "
        "slot and allocates a new one there (and writes its first word): ns per pair, median "
        "of runs.  recycle: `rc_decref` to zero then `rc_new`; objects without references "
        "(untracked) unless marked tracked.  Sizes are the bytes the program asks for.  "
        "`rc_new` returns zeroed memory and malloc does not, so calloc (`calloc`, "
        "`mi_zalloc`) is also shown; the goal is stated against malloc.\n")
    systems = [s for s in ("recycle", "recycle/tracked", "glibc", "mimalloc", "mimalloc16",
                           "jemalloc", "glibc/calloc", "mimalloc/calloc")
               if any(have(c, s) for c in cases)]
    rows = []
    for c in cases:
        _, size, live = c.split("_")
        row = ["%s B" % size if size.isdigit() else "16–256 B (mixed)", live]
        for s in systems:
            m = med(c, s)
            row.append("%.1f" % m if m is not None else "–")
        for other in ("glibc", "mimalloc", "mimalloc/calloc", "mimalloc16"):
            row.append(fmt_ratio(ratios(c, "recycle", other)))
        rows.append(row)
    table(["size", "live"] + [NAMES[s] for s in systems] +
          ["recycle/glibc", "recycle/mimalloc", "recycle/mi_zalloc",
           "recycle/(mimalloc, 16 B more)"], rows)
    all_r = [median(ratios(c, "recycle", "mimalloc")) for c in cases
             if ratios(c, "recycle", "mimalloc")]
    worst = max(all_r) if all_r else None
    judge("Allocation", "recycle/mimalloc ≤ 1.0 (worst size and working set)",
          [worst] if worst else [], 1.0)
    mixed = ratios("alloc_mixed_10k", "recycle/tracked", "mimalloc")
    if mixed:
        judge("Container churn (10k live, 16–256 B)", "recycle tracked/mimalloc ≤ 1.5",
              [median(mixed)], 1.5)
    mixed = ratios("alloc_mixed_10k", "recycle", "mimalloc")
    if mixed:
        judge("Atomic churn (10k live, 16–256 B)", "recycle untracked/mimalloc ≤ 1.0",
              [median(mixed)], 1.0)


def section_churn():
    if "churn" not in results:
        return
    md.append("## 6. Young-generation churn\n")
    r = results["churn"]["recycle"][1]
    md.append(
        "`bench/churn.c`, `bench/py/churn.py`: an old generation of %s nodes (workload 2's "
        "graph) stays alive while %s short-lived cycles (two nodes referring to each other and "
        "to an old node) are made and dropped.  Pauses are every automatic collection "
        "(recycle: `rc_gc_callback_add`, `RC_GC_STOP`'s `duration_ns`; CPython: "
        "`gc.callbacks`; Boehm: `GC_set_on_collection_event`), pooled medians of the runs.  "
        "Throughput is cycles per second over the whole loop.\n"
        % ("{:,}".format(r["old"]), "{:,}".format(r["cycles"])))
    rows = []
    for s in ("recycle", "cpython", "boehm"):
        if not have("churn", s):
            continue
        rat = "" if s == "recycle" else fmt_ratio(ratios("churn", "recycle", s))
        rows.append([NAMES[s], "%.2f M/s" % (med("churn", s, "per_sec") / 1e6),
                     "%d" % med("churn", s, "pauses"), fmt_time(med("churn", s, "p50_ns")),
                     fmt_time(med("churn", s, "p99_ns")), fmt_time(med("churn", s, "max_ns")),
                     fmt_time(med("churn", s, "pause_total_ns")), rat])
    table(["system", "throughput", "pauses", "median pause", "p99", "max", "total paused",
           "recycle/system (time)"], rows)
    md.append("![pause distribution](bench/pauses.svg)\n")


def section_overhead():
    md.append("## 7. Memory: per-object overhead\n")
    md.append(
        "`bench/overhead.c`, `bench/py/overhead.py`: 1,000,000 objects of 16 bytes (two "
        "pointers) kept alive, then 2,000,000 (C programs; recycle's tracked array grows in "
        "steps, so its slack shows at one size and not the other); resident memory growth "
        "(VmRSS) per object, minus 16.  recycle "
        "also reports `rc_heap_memory_stats` bytes in use (the header and rounding, without "
        "the tracked array).  CPython's object has two `__slots__`.  The Boehm GC adds a byte "
        "to each request (interior pointers), which rounds 16 up to 32.\n")
    rows = []
    for s in ("recycle", "recycle/untracked", "cpython", "boehm", "glibc", "mimalloc",
              "jemalloc"):
        case = "overhead_untracked" if s == "recycle/untracked" else "overhead"
        if not have(case, s):
            continue
        use = med(case, s, "in_use_per_obj")
        two = med(case + "_2x", s, "overhead") if have(case + "_2x", s) else None
        rows.append([NAMES[s], "%.1f B" % med(case, s, "rss_per_obj"),
                     "**%.1f B**" % med(case, s, "overhead"),
                     "%.1f B" % two if two is not None else "–",
                     "%.1f B" % use if use else "–"])
    table(["system", "RSS per object", "overhead (1M)", "overhead (2M)",
           "bytes in use per object"], rows)
    for case, what in (("overhead", "tracked"), ("overhead_untracked", "untracked")):
        sys_ = "recycle" if what == "tracked" else "recycle/untracked"
        got = [med(c, sys_, "overhead") for c in (case, case + "_2x") if have(c, sys_)]
        if got:
            judge("Memory", "%s overhead ≤ 16 B (1M and 2M objects)" % what, [max(got)], 16,
                  unit="B")


def section_cpu():
    """User and kernel time and page faults of every recycle case (each JSON
    line carries what its process spent since the line before), with
    mimalloc's for the same case where it runs it."""
    def cpu(case, s):
        u, k = med(case, s, "user_ns"), med(case, s, "sys_ns")
        if u is None or k is None or u + k <= 0:
            return None
        f = med(case, s, "minflt")
        return u, k, k / (u + k), ("%d" % f if f is not None else "–")
    rows, shares = [], []
    for case in sorted(results):
        m = cpu(case, "mimalloc") if have(case, "mimalloc") else None
        for s in sorted(results[case]):
            if not s.startswith("recycle"):
                continue
            c = cpu(case, s)
            if c is None:
                continue
            u, k, share, flt = c
            shares.append(share)
            rows.append([case, NAMES.get(s, s), fmt_time(u), fmt_time(k), "%.1f%%" % (100 * share),
                         flt, "%.1f%%, %s" % (100 * m[2], m[3]) if m else ""])
    if not rows:
        return
    md.append("## 10. User and kernel time per workload\n")
    md.append(
        "CPU time of recycle's processes, per case (the time since the previous case's line "
        "in the same process: setup included), medians of runs, and the page faults taken in "
        "that time; mimalloc's for the same case where it runs it.  Kernel time is page faults "
        "and the allocator's `mmap`/`madvise`/`munmap`.  On a virtual machine whose host takes "
        "idle memory back (free page reporting), the first touch of memory costs several times "
        "more a few seconds after the machine was idle than straight after another run, so a "
        "case's kernel time depends on what ran before it; the fault counts do not.\n")
    table(["case", "system", "user", "kernel", "kernel share", "page faults",
           "mimalloc: kernel share, faults"], rows)
    judge("Kernel time", "≤ 5% of every recycle workload", [100 * max(shares)], 5, unit="%")


def section_acyclic():
    md.append("## 8. No cycles at all: what automatic collection costs\n")
    md.append(
        "GCBench (workload 4; no cycle anywhere) with automatic collection on and off; "
        "the ratio on/off per run pair.  recycle under `RC_POLICY_PYTHON` (the default: "
        "Python's thresholds 700/10/10) and `RC_POLICY_ADAPTIVE`; CPython with `gc.enable()` "
        "and `gc.disable()`.\n")
    rows = []
    for case, title in (("gcbench", "GCBench"),):
        for on, off, name in (("recycle", "recycle/off", "recycle, Python's rules (default)"),
                              ("recycle/adaptive", "recycle/off", "recycle, adaptive"),
                              ("cpython", "cpython/off", "CPython")):
            rs = ratios(case, on, off)
            if not rs:
                continue
            coll = med(case, on, "collections")
            rows.append([title, name, fmt_time(med(case, on)), fmt_time(med(case, off)),
                         "%d" % coll if coll is not None else "–", fmt_ratio(rs)])
        judge(title + " (acyclic)", "adaptive on/off ≤ 1.05",
              ratios(case, "recycle/adaptive", "recycle/off"), 1.05)
        cp = ratios(case, "cpython", "cpython/off")
        rc = ratios(case, "recycle", "recycle/off")
        if cp and rc:
            judge(title + " (acyclic)", "default on/off < CPython's (%.2fx)" % median(cp), rc,
                  median(cp), strict=True)
        else:
            judge(title + " (acyclic)", "default on/off < CPython's", [], 0)
    table(["workload", "system", "on", "off", "collections (on)", "on/off"], rows)


MAL_SYSTEMS = [("recycle", "recycle-mal, default policy"),
               ("recycle-adaptive", "recycle-mal, RC_POLICY_ADAPTIVE"),
               ("boehm", "recycle-mal-boehm (Boehm GC)")]
MAL_PROGRAMS = [("perf1", "perf1 (macros)", "µs per run", False),
                ("perf2", "perf2 (fib, sumdown)", "µs per run", False),
                ("perf3", "perf3 (a map of maps)", "iterations per 10 s", True),
                ("cycles", "mal/bench/cycles.mal (closures over atoms, memo, graph)",
                 "ms", False)]


def section_mal():
    if not any(have("mal-" + p, "recycle") for p, *_ in MAL_PROGRAMS):
        return
    md.append("## 11. A real client: the MAL interpreter\n")
    md.append(
        "`mal/bench.sh`: upstream MAL's perf1, perf2 and perf3 and our `mal/bench/cycles.mal`, "
        "on the same interpreter sources built twice: `recycle-mal` (every value a recycle "
        "object; default policy and `MAL_GC_POLICY=adaptive`) and `recycle-mal-boehm` "
        "(`GC_MALLOC`, counts compiled away, `GC_MARKERS=1`).  perf1 and perf2 take well under "
        "a millisecond, so `mal/bench/repeat.mal` runs each 10,000 times in one process; perf3 "
        "counts iterations in 10 s (higher is better).  Pauses: every collection's duration "
        "(`RC_GC_STOP`'s `duration_ns`; Boehm's start/end events), p50/p99/max per run, "
        "medians of runs.  CPU is user+sys.\n")
    rows = []
    for p, title, unit, higher in MAL_PROGRAMS:
        case = "mal-" + p
        for s, name in MAL_SYSTEMS:
            if not have(case, s):
                continue
            v = med(case, s, "value")
            if s == "recycle":
                rat = ""
            else:
                rs = ratios(case, "recycle", s, key="value")
                rat = fmt_ratio(rs)
            rows.append([title, name, ("{:,.0f}" if v >= 100 else "{:,.1f}").format(v) + " " + unit,
                         "%.2f s" % med(case, s, "cpu_s"),
                         "%.1f MiB" % (med(case, s, "rss_kb") / 1024),
                         "%d" % med(case, s, "pauses")] +
                        [fmt_time(1e3 * med(case, s, k)) if med(case, s, "pauses") else "–"
                         for k in ("p50_us", "p99_us", "max_us")] +
                        [rat, nruns(case, s)])
    table(["program", "build", "figure", "CPU", "peak RSS", "collections", "pause p50",
           "p99", "max", "recycle/other (figure)", "runs"], rows)
    if have("mal-perf3", "recycle"):
        judge("MAL perf3", "Boehm build/recycle-mal iterations ≤ 1.0",
              [1 / r for r in ratios("mal-perf3", "recycle", "boehm", key="value")], 1.0)
        judge("MAL perf3", "190,000 (upstream C on Boehm)/recycle-mal iterations ≤ 1.0",
              [190000 / med("mal-perf3", "recycle", "value")], 1.0)
        judge("MAL perf3", "peak RSS: recycle-mal ≤ recycle-mal-boehm",
              ratios("mal-perf3", "recycle", "boehm", key="rss_kb"), 1.0)


def section_balloon():
    md.append("## 9. Memory must not balloon\n")
    md.append(
        "`bench/balloon.c`, `bench/py/balloon.py`.  *Fast cycles*: CPython's test_gc stress "
        "(`_test_gc_fast_cycles.py`): thresholds (200, 10), a 1,000-node doubly linked chain, "
        "then 20,000 new 21-node chains referring to it, kept 20 at a time; the tracked heap "
        "may grow by at most 27,000 objects (CPython 3.11 counts with `gc.get_objects()`).  "
        "*Server*: 20,000 requests, 256 in flight (first in, first out); each request is a "
        "cycle request ⇄ handler, the request holding a 64 KiB buffer; the live set is the "
        "256 requests in flight.\n")
    rows = []
    for s in ("recycle", "cpython"):
        if have("fast_cycles", s):
            rows.append([NAMES[s], "{:,}".format(int(med("fast_cycles", s, "max_growth"))),
                         "27,000", mib(med("fast_cycles", s, "peak_rss_growth"))])
    if rows:
        md.append("**Fast cycles**\n")
        table(["system", "largest growth (objects)", "bound", "peak RSS growth"], rows)
        if have("fast_cycles", "recycle"):
            judge("Fast cycles", "tracked growth < 27,000 objects",
                  [med("fast_cycles", "recycle", "max_growth")], 27000, strict=True,
                  unit="objects")
    rows = []
    for s in ("recycle", "recycle/adaptive", "cpython", "boehm"):
        if have("server", s):
            po = med("server", s, "peak_objects")
            rows.append([NAMES[s], fmt_time(med("server", s)),
                         mib(med("server", s, "live_bytes")),
                         mib(med("server", s, "peak_rss_growth")),
                         "**%.2fx**" % med("server", s, "rss_ratio"),
                         "{:,}".format(int(po)) if po else "–",
                         "{:,}".format(int(med("server", s, "live_objects")))])
    if rows:
        md.append("**Server loop**\n")
        table(["system", "time", "live set", "peak RSS growth", "peak RSS / live set",
               "peak tracked objects", "live tracked objects"], rows)
        judge("Server loop", "peak RSS ≤ 1.5x the live set",
              [med("server", "recycle", "rss_ratio")] if have("server", "recycle") else [], 1.5)
        if have("server", "recycle/adaptive"):
            judge("Server loop, RC_POLICY_ADAPTIVE (byte trigger)", "peak RSS ≤ 1.5x the live set",
                  [med("server", "recycle/adaptive", "rss_ratio")], 1.5)


def per_object_plot():
    """per_object.dat: ns per object (per reference for gc_traversal)."""
    cases = [("gc_collect", "gc\\\\_collect", "n"), ("gc_traversal", "gc\\\\_traversal/ref", "refs")]
    for label in ("1M", "10M", "20k"):
        cases += [("live_" + label, "live " + label, "n"), ("garbage_" + label, "garbage " + label, "n")]
    systems = [s for s in COLLECTORS if any(have(c, s) for c, _, _ in cases)]
    with open(os.path.join(OUT, "bench", "per_object.dat"), "w") as f:
        f.write("case " + " ".join('"%s"' % NAMES[s] for s in systems) + "\n")
        for c, title, key in cases:
            if c not in results:
                continue
            row = ['"%s"' % title]
            for s in systems:
                m = med(c, s)
                if m is None:
                    row.append("?")
                else:
                    n = results[c][s][min(results[c][s])][key]
                    row.append("%.3f" % max(m / n, 0.01))
            f.write(" ".join(row) + "\n")


def pauses_plot():
    """pauses.dat: one block per system (gnuplot's index), run 1's automatic
    collections sorted, x = -log10(1 - percentile) so that the tail (90%, 99%,
    99.9%) gets room, y = the pause in µs."""
    d = ARGS.get("pauses")
    blocks = []
    for s in ("recycle", "cpython", "boehm"):
        p = os.path.join(d or ".", "pauses-%s.txt" % s)
        if d and os.path.exists(p) and have("churn", s):
            with open(p) as f:
                v = sorted(float(x) for x in f if x.strip())
            if v:
                blocks.append((s, v))
    import math
    with open(os.path.join(OUT, "bench", "pauses.dat"), "w") as f:
        for b, (s, v) in enumerate(blocks):
            if b:
                f.write("\n\n")
            n = len(v)
            step = max(1, n // 600)
            f.write('"%s" "pause"\n' % NAMES[s])
            idx = list(range(0, n, step))
            if idx[-1] != n - 1:
                idx.append(n - 1)
            for i in idx:
                f.write("%.4f %.3f\n" % (-math.log10(1 - (i + 0.5) / n), v[i] / 1000))


def main():
    os.makedirs(os.path.join(OUT, "bench"), exist_ok=True)
    body_start = len(md)
    section_collect()
    section_heap()
    section_trees()
    section_alloc()
    section_churn()
    section_overhead()
    section_acyclic()
    section_balloon()
    section_cpu()
    section_mal()
    body = md[body_start:]
    del md[body_start:]

    md.append("# Benchmarks\n")
    md.append(
        "Generated by `make bench` (`bench/run`, then `bench/report.py` and `bench/plots.gp`)"
        "%s.  Every system runs each workload in its own process, the systems alternating "
        "run by run; the tables give medians over runs with their range, and ratios "
        "recycle/other computed per run pair (median and range).  Every run checks that it "
        "did its work (objects collected, checksums, bytes in use, resident memory) or the "
        "suite fails.  The machine is shared and noisy: differences under ~15%% are within "
        "its noise.\n" % (" with `--quick` (tiny sizes: not a measurement)" if QUICK else ""))
    md.append("## The machine\n")
    table(["", ""], machine())
    skipped = ARGS.get("skipped", "").split()
    if skipped:
        md.append("Skipped (library not available): %s\n" % ", ".join(skipped))
    md.append("## Goals\n")
    md.append("Ratios are recycle/other (lower is better for recycle).\n")
    table(["workload", "goal", "measured (median)", "verdict"], GOALS)
    md.append("![time per object](bench/per_object.svg)\n")
    md.extend(body)
    for extra in ("profile.md", "dominators.md"):  # hand-written sections
        prof = os.path.join(HERE, extra)
        if os.path.exists(prof):
            with open(prof) as f:
                md.append(f.read().strip() + "\n")
    md.append("## Reproducing\n")
    md.append("```sh\nmake bench                          # everything, ~10 minutes; writes this file\n"
              "make bench BENCH_ARGS=--only=heap    # one workload (report in build/release/bench/report/)\n"
              "make bench BENCH_BUILD=debug BENCH_ARGS=--quick   # CI's smoke run: seconds, checks only\n"
              "```\n\nRaw results: `build/release/bench/results.jsonl` (one JSON object per "
              "process and case).\n")
    with open(os.path.join(OUT, "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(md))
    per_object_plot()
    pauses_plot()
    # a short summary on stderr
    if QUICK:
        sys.stderr.write("  goals (--quick: tiny sizes, a check of the code, not a measurement):\n")
    for w, g, m, v in GOALS:
        sys.stderr.write("  %-26s %-44s %-18s %s\n" % (w, g, m, v.replace("*", "")))


if __name__ == "__main__":
    main()
