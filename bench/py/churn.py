"""Workload 6 in CPython, the counterpart of bench/churn.c: an old
generation of --old=N lists [next, hashed, hashed] (the graph of workload 2),
then --cycles=M pairs of Node objects (__slots__, 3 references) that refer
to each other and to one old node, dropped at once.  Every automatic
collection is timed through gc.callbacks."""
import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import QUICK, emit, now_ns, opt, opt_int, peak_rss, verify  # noqa: E402
from graph import heap_build  # noqa: E402


class Node:
    __slots__ = ("a", "b", "c")


pauses = []
collected = [0]
_start = [0]


def on_gc(phase, info):
    if phase == "start":
        _start[0] = now_ns()
    else:
        pauses.append(now_ns() - _start[0])
        collected[0] += info["collected"]


def churn(old, m):
    n = len(old)
    for i in range(m):
        a = Node()
        b = Node()
        a.a = b
        b.a = a
        a.b = old[i % n]
    a = b = None


def main():
    n_old = opt_int("old", 20000 if QUICK else 1000000)
    m = opt_int("cycles", 50000 if QUICK else 2000000)
    gc.disable()
    root = heap_build(n_old, opt("edges"))
    old = [root]
    for _ in range(n_old - 1):  # the program keeps references to all of them
        old.append(old[-1][0])
    gc.collect()
    gc.enable()
    gc.callbacks.append(on_gc)
    t0 = now_ns()
    churn(old, m)
    t = now_ns() - t0
    gc.callbacks.remove(on_gc)
    rest = gc.collect()
    verify(collected[0] + rest >= 2 * m, "every pair collected")
    p = sorted(pauses)
    path = opt("pauses")
    if path:
        with open(path, "w") as f:
            f.write("".join("%d\n" % x for x in pauses))

    def pct(q):
        return p[int(q * (len(p) - 1) + 0.5)] if p else 0

    emit("churn", ns=t, cycles=m, old=n_old, per_sec=m / (t / 1e9), pauses=len(p),
         p50_ns=pct(0.5), p99_ns=pct(0.99), max_ns=p[-1] if p else 0,
         pause_total_ns=sum(p), peak_rss=peak_rss())


if __name__ == "__main__":
    main()
