#!/usr/bin/env bash
# monitor_test.sh WORKLOAD RECYCLE_TOP — the live monitor from a script:
# tests/monitor_workload runs with RECYCLE_MONITOR=1 (3 heaps), and
# recycle-top --once --json reads it twice; python3 checks the JSON's shape
# (API.md: "pid", "heaps" with bytes_in_use, objects per generation,
# collections, pause_max_ns, top_types) and that the figures move between
# the two reads.  Then the text screen, bad command lines, a process with no
# monitor, the files going away when the process ends, and a killed
# process's stale files removed by the reader.
set -euo pipefail

workload=$1
top=$2
python=${PYTHON:-python3}

work=$(mktemp -d "${TMPDIR:-/tmp}/recycle-monitor.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export RECYCLE_MONITOR_DIR=$work/shm
mkdir "$RECYCLE_MONITOR_DIR"

fail() { printf 'monitor_test: FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf '\n== monitor_test: %s\n' "$*"; }

# start_workload SECONDS HEAPS: runs it in the background; sets $wpid once
# it has said "ready".
start_workload() {
    local out=$work/workload.$RANDOM
    RECYCLE_MONITOR=1 "$workload" run "$1" "$2" >"$out" &
    wpid=$!
    pids+=("$wpid")
    for _ in $(seq 100); do
        grep -q '^ready' "$out" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "the workload never said ready"
}

step "JSON, twice, from a live process with 3 heaps"
start_workload 60 3
"$top" --once --json "$wpid" >"$work/a.json"
sleep 1.5
"$top" --once --json "$wpid" >"$work/b.json"
"$python" - "$wpid" "$work/a.json" "$work/b.json" <<'EOF'
import json, sys
pid = int(sys.argv[1])
a, b = (json.load(open(p)) for p in sys.argv[2:4])
for doc in (a, b):
    assert doc["pid"] == pid, doc["pid"]
    assert len(doc["heaps"]) == 3, len(doc["heaps"])
    for h in doc["heaps"]:
        for key in ("bytes_in_use", "objects", "collections", "pause_max_ns", "top_types"):
            assert key in h, key
        assert len(h["objects"]) == 3 and all(isinstance(n, int) for n in h["objects"])
        assert h["bytes_in_use"] > 0 and h["bytes_held"] >= h["bytes_in_use"]
        assert not h["torn"]
        for t in h["top_types"]:
            assert set(t) >= {"name", "count", "bytes"}, t
        names = [t["name"] for t in h["top_types"]]
        assert "leak" in names, names
        assert h["pause_p50_ns"] <= h["pause_p99_ns"] <= h["pause_max_ns"]
for ha, hb in zip(a["heaps"], b["heaps"]):
    assert ha["heap"] == hb["heap"]
    leak_a = next(t for t in ha["top_types"] if t["name"] == "leak")
    leak_b = next(t for t in hb["top_types"] if t["name"] == "leak")
    # The list grows and never shrinks; the churn and cycles keep the
    # allocator and the collector busy.
    assert leak_b["count"] > leak_a["count"], (leak_a, leak_b)
    assert hb["bytes_in_use"] > ha["bytes_in_use"]
    assert hb["growth_bytes"] > ha["growth_bytes"] > 0
    assert hb["allocs"] > ha["allocs"] and hb["frees"] > ha["frees"]
    assert hb["collections"] > ha["collections"] > 0
    assert hb["updates"] > ha["updates"]
    assert hb["alloc_rate"] > 0
    assert sum(hb["objects"]) > 0
# heap i does i times heap 1's work
by = sorted(b["heaps"], key=lambda h: h["heap"])
assert by[0]["bytes_in_use"] < by[1]["bytes_in_use"] < by[2]["bytes_in_use"]
print("  JSON: 3 heaps; leak objects %d -> %d, collections %d -> %d, bytes %d -> %d (heap 1)" % (
    next(t for t in a["heaps"][0]["top_types"] if t["name"] == "leak")["count"],
    next(t for t in b["heaps"][0]["top_types"] if t["name"] == "leak")["count"],
    a["heaps"][0]["collections"], b["heaps"][0]["collections"],
    a["heaps"][0]["bytes_in_use"], b["heaps"][0]["bytes_in_use"]))
EOF

step "the text screen"
"$top" --once "$wpid" | tee "$work/screen.txt"
grep -q "pid $wpid, 3 heaps" "$work/screen.txt" || fail "no header line"
grep -q "^> " "$work/screen.txt" || fail "no selected heap"
grep -Eq "^  leak +[0-9]" "$work/screen.txt" || fail "no leak row in the top types"
"$top" --once --sort=collections "$wpid" | grep -q "sorted by collections" ||
    fail "--sort=collections"

step "bad command lines and processes without a monitor"
expect() { # expect STATUS PATTERN COMMAND...
    local want=$1 pattern=$2 got=0; shift 2
    "$@" >"$work/out" 2>&1 || got=$?
    [ "$got" -eq "$want" ] || { cat "$work/out"; fail "$* exited $got, not $want"; }
    grep -q "$pattern" "$work/out" || { cat "$work/out"; fail "$*: no \"$pattern\""; }
    echo "  $* -> $got: $(head -n 1 "$work/out")"
}
expect 2 "not a process id" "$top" --once abc
expect 2 "usage" "$top"
expect 2 "is none of" "$top" --once --sort=size "$wpid"
sleep 30 & quiet=$!; pids+=("$quiet")
expect 1 "publishes no recycle heap" "$top" --once "$quiet"
kill "$quiet"; wait "$quiet" 2>/dev/null || true
expect 1 "no process $quiet" "$top" --once "$quiet"

step "the files go when the process ends"
kill -TERM "$wpid"
wait "$wpid" || fail "the workload failed"
left=$(ls -A "$RECYCLE_MONITOR_DIR")
[ -z "$left" ] || fail "files left after a clean exit: $left"
echo "  none left"

step "a killed process's files: ignored, then removed by the reader"
start_workload 60 2
[ "$(ls "$RECYCLE_MONITOR_DIR" | grep -c "^recycle-$wpid-")" -eq 2 ] || fail "not 2 files"
kill -KILL "$wpid"; wait "$wpid" 2>/dev/null || true
[ "$(ls "$RECYCLE_MONITOR_DIR" | grep -c "^recycle-$wpid-")" -eq 2 ] ||
    fail "SIGKILL should leave the files"
expect 1 "no process $wpid" "$top" --once "$wpid"
left=$(ls -A "$RECYCLE_MONITOR_DIR")
[ -z "$left" ] || fail "stale files not removed: $left"
echo "  removed"

step "passed"
