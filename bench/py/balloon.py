"""Workload 9 in CPython, the counterpart of bench/balloon.c.

  --case=fast_cycles  test_gc's fast-cycles stress (_test_gc_fast_cycles.py)
                      with thresholds (200, 10); 3.11 has no
                      _testinternalcapi.get_tracked_heap_size, so the tracked
                      heap is len(gc.get_objects()).
  --case=server       the server-like loop: requests in cycles with their
                      handlers, each holding a bytearray of 64 KiB.
"""
import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import QUICK, emit, now_ns, opt, opt_int, peak_rss, reset_peak, rss, verify  # noqa: E402

BUF = 64 * 1024


class LinkedList:
    __slots__ = "next", "prev", "surprise"

    def __init__(self, next=None, prev=None):
        self.next = next
        if next is not None:
            next.prev = self
        self.prev = prev
        if prev is not None:
            prev.next = self


def make_ll(depth):
    head = LinkedList()
    for i in range(depth):
        head = LinkedList(head, head.prev)
    return head


def fast_cycles():
    gc.collect()
    gc.set_threshold(200, 10)
    iters = 2000 if QUICK else 20000
    head = make_ll(1000)
    olds = []
    initial = len(gc.get_objects())
    worst = 0
    reset_peak()
    rss0 = rss()
    for i in range(iters):
        newhead = make_ll(20)
        newhead.surprise = head
        olds.append(newhead)
        if len(olds) == 20:
            grown = len(gc.get_objects()) - initial
            worst = max(worst, grown)
            verify(grown < 27000, "heap growth < 27,000 objects")
            del olds[:]
    peak = peak_rss()
    verify(head.next is not None and head.prev is None, "the old chain")
    emit("fast_cycles", max_growth=worst, bound=27000, iters=iters,
         objects=1001 + 21 * iters, peak_rss_growth=peak - rss0)


class Request:
    __slots__ = "handler", "buf", "id"


class Handler:
    __slots__ = "req", "id"


def new_request(i):
    r = Request()
    h = Handler()
    r.buf = bytearray(BUF)
    r.id = h.id = i
    r.handler = h
    h.req = r
    return r


def server():
    steps = opt_int("steps", 2000 if QUICK else 20000)
    k = opt_int("inflight", 64 if QUICK else 256)
    gc.collect()
    ring = [None] * k
    reset_peak()
    rss0 = rss()
    total = sum(s["collected"] for s in gc.get_stats())
    peak_objects = 0
    base_objects = len(gc.get_objects())
    s = want = 0
    fill = [bytes([j]) * (BUF - 1) for j in range(128)]
    t0 = now_ns()
    for i in range(steps):
        old = ring[i % k]
        if old is not None:
            s += old.buf[0] + old.buf[BUF - 1] + old.handler.id
        r = new_request(i)
        r.buf[0] = i & 0xFF
        r.buf[1:] = fill[i & 0x7F]
        ring[i % k] = r
        old = r = None
        if i >= k:
            want += ((i - k) & 0xFF) + ((i - k) & 0x7F) + (i - k)
        if i % 64 == 0:  # len(gc.get_objects()) is not free: sample it
            peak_objects = max(peak_objects, len(gc.get_objects()) - base_objects)
    t = now_ns() - t0
    peak = peak_rss()
    verify(s == want, "every request's buffer")
    ring = None
    collected = sum(st["collected"] for st in gc.get_stats()) - total + gc.collect()
    verify(collected >= 2 * steps, "every request and handler collected")
    live = k * (BUF + 2 * 48)
    emit("server", ns=t, steps=steps, inflight=k, live_bytes=live,
         peak_rss_growth=peak - rss0, rss_ratio=(peak - rss0) / live,
         peak_objects=peak_objects, live_objects=2 * k)


def main():
    case = opt("case", "server")
    if case == "fast_cycles":
        fast_cycles()
    elif case == "server":
        server()
    else:
        sys.exit("balloon.py: unknown case " + case)


if __name__ == "__main__":
    main()
