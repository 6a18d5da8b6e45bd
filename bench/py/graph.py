"""Workloads 1-2 in CPython, the counterpart of bench/graph.c.

  --case=gc_collect    pyperformance's bm_gc_collect, as it is: 100 rings of
                       21 Node objects (next, prev), dropped, gc.collect()
                       timed; median of the loops.  Also the time of a
                       gc.collect() that finds nothing (the interpreter's own
                       objects: "empty_ns").
  --case=gc_traversal  pyperformance's bm_gc_traversal, as it is.
  --case=heap --n=N    N lists [next, hashed, hashed]: a full collection with
                       all live (median of 3), then all of it as garbage.
"""
import array
import collections
import gc
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (QUICK, bench_hash, emit, median, now_ns, opt, opt_int,  # noqa: E402
                    peak_rss, rss, verify)

CYCLES, LINKS, LEVELS = 100, 20, 1000


# --- pyperformance's bm_gc_collect ------------------------------------------
class Node:
    def __init__(self):
        self.next = None
        self.prev = None

    def link_next(self, next):
        self.next = next
        self.next.prev = self


def create_cycle(node, n_links):
    if n_links == 0:
        return
    current = node
    for i in range(n_links):
        next_node = Node()
        current.link_next(next_node)
        current = next_node
    current.link_next(node)


def create_gc_cycles(n_cycles, n_links):
    cycles = []
    for _ in range(n_cycles):
        node = Node()
        cycles.append(node)
        create_cycle(node, n_links)
    return cycles


def gc_collect(loops):
    times, empty = [], []
    for _ in range(loops):
        gc.collect()
        t0 = now_ns()
        gc.collect()
        empty.append(now_ns() - t0)
        all_cycles = create_gc_cycles(CYCLES, LINKS)
        del all_cycles
        t0 = now_ns()
        collected = gc.collect()
        times.append(now_ns() - t0)
        verify(collected >= CYCLES * (LINKS + 1), "collected >= 2100")
    return times, empty


# --- pyperformance's bm_gc_traversal ----------------------------------------
def create_recursive_containers(n_levels):
    current_list = []
    for n in range(n_levels):
        new_list = [None] * n
        for index in range(n):
            new_list[index] = current_list
        current_list = new_list
    return current_list


def gc_traversal(loops):
    times = []
    all_cycles = create_recursive_containers(LEVELS)
    for _ in range(loops):
        gc.collect()
        t0 = now_ns()
        collected = gc.collect()
        times.append(now_ns() - t0)
        verify(collected == 0, "collected == 0")
    verify(len(all_cycles) == LEVELS - 1, "the lists are alive")
    return times


# --- a large heap -------------------------------------------------------------
def heap_build(n, edges=None):
    """The graph of bench/graph.c's heap case.  Its 2N hashed edges come from
    the file graph-floor --case=edges wrote (computing them here would take
    most of the run), checked against bench_hash on a sample, or are
    computed here when no file is given."""
    v = [[None, None, None] for _ in range(n)]
    if edges:
        e = array.array("I")
        with open(edges, "rb") as f:
            e.fromfile(f, 2 * n)
        verify(sys.byteorder == "little", "little-endian edges file")
        step = max(1, n // 1000)
        for i in range(0, n, step):
            verify(e[2 * i] == bench_hash(2 * i + 1) % n and
                   e[2 * i + 1] == bench_hash(2 * i + 2) % n, "the edges file")
        # node[:] = (next, a, b) for every node, the loop run by map in C
        # (the lists keep their exact size of 3)
        triples = zip(v[1:] + v[:1], map(v.__getitem__, e[0::2]), map(v.__getitem__, e[1::2]))
        collections.deque(map(list.__setitem__, v, itertools.repeat(slice(None)), triples),
                          maxlen=0)
        return v[0]
    for i in range(n):
        node = v[i]
        node[0] = v[(i + 1) % n]
        for k in (1, 2):
            x = 2 * i + k
            x ^= x >> 16
            x = (x * 0x7FEB352D) & 0xFFFFFFFF
            x ^= x >> 15
            x = (x * 0x846CA68B) & 0xFFFFFFFF
            x ^= x >> 16
            node[k] = v[x % n]
    verify(v[7][1] is v[bench_hash(15) % n], "the same edges as bench/common.h")
    return v[0]


def main():
    case = opt("case", "gc_collect")
    rss0 = rss()
    if case == "gc_collect":
        loops = opt_int("loops", 5 if QUICK else 51)
        t, empty = gc_collect(loops)
        t.sort()
        emit(case, ns=median(t), min_ns=t[0], max_ns=t[-1], loops=loops,
             n=CYCLES * (LINKS + 1), refs=2 * CYCLES * (LINKS + 1),
             empty_ns=median(empty), tracked=len(gc.get_objects()))
    elif case == "gc_traversal":
        loops = opt_int("loops", 3 if QUICK else 31)
        t = sorted(gc_traversal(loops))
        emit(case, ns=median(t), min_ns=t[0], max_ns=t[-1], loops=loops, n=LEVELS,
             refs=LEVELS * (LEVELS - 1) // 2)
    elif case == "heap":
        n = opt_int("n", 20000 if QUICK else 1000000)
        loops = opt_int("loops", 3)
        label = opt("label", "n")
        gc.disable()  # while building; every collection below is explicit
        gc.collect()
        root = heap_build(n, opt("edges"))
        rss_built = rss()
        t = []
        for _ in range(loops):
            t0 = now_ns()
            collected = gc.collect()
            t.append(now_ns() - t0)
            verify(collected == 0, "nothing collected from the live heap")
        t.sort()
        emit("live_" + label, ns=median(t), min_ns=t[0], max_ns=t[-1], loops=loops, n=n,
             refs=3 * n, rss0=rss0, rss_built=rss_built, peak_rss=peak_rss())
        del root
        t0 = now_ns()
        collected = gc.collect()
        g = now_ns() - t0
        verify(collected >= n, "collected >= n")
        emit("garbage_" + label, ns=g, first_ns=g, n=n, rss_built=rss_built,
             rss_after=rss())
    else:
        sys.exit("graph.py: unknown case " + case)


if __name__ == "__main__":
    main()
