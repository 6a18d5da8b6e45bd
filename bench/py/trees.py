"""Workloads 4 and 8 in CPython, the counterpart of bench/trees.c.

  --case=gcbench   GCBench (Boehm and Ellis), the same sizes as trees.c;
                   nodes are objects with __slots__ left, right, i, j.
  --case=bintrees  The Benchmarks Game's binary-trees, its Python program's
                   logic (nodes are tuples), in one process.
  --gc=on|off      gc.enable() (the default) or gc.disable(): the ratio is
                   what the collector costs a program without cycles.
"""
import array
import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import QUICK, emit, now_ns, opt, opt_int, peak_rss, rss, verify  # noqa: E402


# --- GCBench --------------------------------------------------------------------
class Node:
    __slots__ = ("left", "right", "i", "j")

    def __init__(self, left=None, right=None):
        self.left = left
        self.right = right
        self.i = 0
        self.j = 0


def tree_size(d):
    return (1 << (d + 1)) - 1


def populate(depth, node):
    if depth <= 0:
        return
    depth -= 1
    node.left = Node()
    node.right = Node()
    populate(depth, node.left)
    populate(depth, node.right)


def make_tree(depth):
    if depth <= 0:
        return Node()
    return Node(make_tree(depth - 1), make_tree(depth - 1))


def count(t):
    return 1 + count(t.left) + count(t.right) if t is not None else 0


def gcbench(stretch, long_lived, min_depth, max_depth):
    array_size = 500000
    t0 = now_ns()
    temp = make_tree(stretch)
    temp = None
    longlived = Node()
    populate(long_lived, longlived)
    arr = array.array("d", bytes(8 * array_size))
    for i in range(array_size // 2):
        arr[i] = 1.0 / (i + 1)
    made = tree_size(stretch) + tree_size(long_lived)
    for d in range(min_depth, max_depth + 1, 2):
        iters = 2 * tree_size(stretch) // tree_size(d)
        for _ in range(iters):
            temp = Node()
            populate(d, temp)
            temp = None
        for _ in range(iters):
            temp = make_tree(d)
            temp = None
        made += 2 * iters * tree_size(d)
    verify(arr[1000] == 1.0 / 1001, "the array")
    verify(count(longlived) == tree_size(long_lived), "the long-lived tree")
    return now_ns() - t0, made


# --- binary-trees ---------------------------------------------------------------
def make_tuple_tree(d):
    return (make_tuple_tree(d - 1), make_tuple_tree(d - 1)) if d > 0 else (None, None)


def check_tree(node):
    left, right = node
    if left is None:
        return 1
    return 1 + check_tree(left) + check_tree(right)


def bintrees(n):
    min_depth = 4
    max_depth = max(min_depth + 2, n)
    t0 = now_ns()
    total = 0
    c = check_tree(make_tuple_tree(max_depth + 1))
    verify(c == tree_size(max_depth + 1), "stretch tree")
    total += c
    long_lived = make_tuple_tree(max_depth)
    for d in range(min_depth, max_depth + 1, 2):
        iters = 1 << (max_depth - d + min_depth)
        check = 0
        for _ in range(iters):
            check += check_tree(make_tuple_tree(d))
        verify(check == iters * tree_size(d), "checksum at depth %d" % d)
        total += check
    c = check_tree(long_lived)
    verify(c == tree_size(max_depth), "long-lived tree")
    total += c
    return now_ns() - t0, total


def main():
    sys.setrecursionlimit(10000)
    case = opt("case", "gcbench")
    mode = opt("gc", "on")
    verify(mode in ("on", "off"), "--gc=on|off")
    gc.collect()
    (gc.enable if mode == "on" else gc.disable)()
    before = [s["collections"] for s in gc.get_stats()]
    rss0 = rss()
    if case == "gcbench":
        stretch = opt_int("stretch", 10 if QUICK else 18)
        long_lived = opt_int("long", 8 if QUICK else 16)
        depth = opt_int("depth", 8 if QUICK else 16)
        t, made = gcbench(stretch, long_lived, 4, depth)
        fields = dict(ns=t, nodes=made, depth=depth)
    elif case == "bintrees":
        depth = opt_int("depth", 8 if QUICK else 18)
        t, total = bintrees(depth)
        fields = dict(ns=t, nodes=total, depth=depth, check=total)
    else:
        sys.exit("trees.py: unknown case " + case)
    colls = sum(s["collections"] for s in gc.get_stats()) - sum(before)
    verify(mode == "on" or colls == 0, "no collection with gc off")
    import common
    common.SYS = "cpython" if mode == "on" else "cpython/off"
    emit(case, peak_rss=peak_rss(), rss0=rss0, collections=colls, **fields)


if __name__ == "__main__":
    main()
