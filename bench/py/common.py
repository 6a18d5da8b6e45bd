"""What every CPython benchmark shares (stdlib only): the command line, JSON
lines in the same shape as bench/common.h's, resident memory from
/proc/self/status, and the edge hash that gives every system the same graph."""
import json
import sys
import time

SYS = "cpython"


def opt(key, default=None):
    """The value of --key=value (a bare --key gives "")."""
    for a in sys.argv[1:]:
        if a == "--" + key:
            return ""
        if a.startswith("--" + key + "="):
            return a.split("=", 1)[1]
    return default


def opt_int(key, default):
    v = opt(key)
    return int(v) if v else default


QUICK = opt("quick") is not None
RUN = opt_int("run", 1)


def emit(case, **fields):
    rec = {"case": case, "sys": SYS, "run": RUN}
    rec.update(fields)
    print(json.dumps(rec), flush=True)


def verify(cond, what):
    """A benchmark whose result is not checked is not a benchmark."""
    if not cond:
        sys.stderr.write("%s: benchmark did not do its work: %s\n" % (sys.argv[0], what))
        sys.exit(2)


def status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return -1


def rss():
    return status_bytes("VmRSS")


def peak_rss():
    return status_bytes("VmHWM")


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


now_ns = time.perf_counter_ns


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def bench_hash(x):
    """lowbias32, as bench_hash in bench/common.h."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x
