"""Workload 7 in CPython, the counterpart of bench/overhead.c: --n=N objects
with two slots (__slots__: a 16-byte payload, tracked by the collector),
each referring to the one before; resident memory growth per object."""
import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import QUICK, emit, opt_int, rss, verify  # noqa: E402


class Pair:
    __slots__ = ("a", "b")


def main():
    n = opt_int("n", 100000 if QUICK else 1000000)
    gc.disable()
    v = [None] * n  # the holder, allocated and touched first
    rss0 = rss()
    prev = None
    for i in range(n):
        p = Pair()
        p.a = prev
        p.b = None
        v[i] = p
        prev = p
    rss1 = rss()
    verify(all(v[i].a is v[i - 1] for i in range(1, n)), "the chain")
    verify(gc.is_tracked(v[0]), "tracked")
    per = (rss1 - rss0) / n
    emit("overhead", rss_per_obj=per, overhead=per - 16, in_use_per_obj=sys.getsizeof(v[0]),
         n=n, size=16)


if __name__ == "__main__":
    main()
