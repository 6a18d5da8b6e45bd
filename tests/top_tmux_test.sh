#!/usr/bin/env bash
# top_tmux_test.sh WORKLOAD RECYCLE_TOP — recycle-top as a person uses it:
# live, in a terminal (tmux, on a private server), against a process that
# allocates in 2 heaps.  Reads the screen with `tmux capture-pane -p`, sends
# keys, and checks what the screen shows: the heaps, the figures moving
# between refreshes, sorting, switching heaps, the types' order, and q.
# Exits 77 (CTest: skipped) with a message when tmux is not installed,
# unless RC_REQUIRE_TMUX=1.
set -euo pipefail

workload=$1
top=$2
if ! command -v tmux >/dev/null 2>&1; then
    if [ "${RC_REQUIRE_TMUX:-0}" = 1 ]; then
        echo "top_tmux_test: FAIL: tmux is not installed" >&2
        exit 1
    fi
    echo "top_tmux_test: SKIPPED — tmux is not installed (apt-get install tmux)"
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/recycle-tmux.XXXXXX")
sock="recycle-top-test-$$"
wpid=""
cleanup() {
    tmux -L "$sock" kill-server 2>/dev/null || true
    [ -z "$wpid" ] || kill "$wpid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export RECYCLE_MONITOR_DIR=$work/shm
mkdir "$RECYCLE_MONITOR_DIR"

fail() {
    printf 'top_tmux_test: FAIL: %s\n--- the screen:\n' "$*" >&2
    cat "$work/screen" >&2 2>/dev/null || true
    exit 1
}
screen() { tmux -L "$sock" capture-pane -p -t top >"$work/screen"; }
# wait_for PATTERN: until the screen shows it (5 s at most)
wait_for() {
    for _ in $(seq 50); do
        screen
        grep -Eq -- "$1" "$work/screen" && return 0
        sleep 0.1
    done
    fail "the screen never showed /$1/"
}
# heap_line SERIAL: that heap's row, without the selection mark
heap_line() { grep -E "^[> ] +$1 " "$work/screen" | cut -c2- || true; }

RECYCLE_MONITOR=1 "$workload" run 60 2 >"$work/workload.out" &
wpid=$!
for _ in $(seq 100); do
    grep -q '^ready' "$work/workload.out" 2>/dev/null && break
    sleep 0.1
done
grep -q '^ready' "$work/workload.out" || fail "the workload never said ready"

tmux -L "$sock" -f /dev/null new-session -d -s top -x 132 -y 40 \
    "RECYCLE_MONITOR_DIR='$RECYCLE_MONITOR_DIR' '$top' $wpid; echo recycle-top exited \$?; sleep 30"

echo "== the first screen"
wait_for "pid $wpid, 2 heaps"
wait_for "^  leak +[0-9]"
cat "$work/screen"
grep -Eq '^  HEAP +INUSE +HELD +OBJECTS' "$work/screen" || fail "no column headers"
[ -n "$(heap_line 1)" ] && [ -n "$(heap_line 2)" ] || fail "not one line per heap"
grep -q "sorted by bytes" "$work/screen" || fail "not sorted by bytes at first"
# sorted by bytes: heap 2 (twice the work) above heap 1, and selected
first=$(grep -E '^[> ] +[0-9]+ ' "$work/screen" | head -n 1)
[[ "$first" == ">    2 "* ]] || fail "heap 2 should be first and selected: '$first'"
grep -q "^heap 2 at 0x" "$work/screen" || fail "the selected heap's details"

echo "== the figures move at each refresh (every second)"
before=$(heap_line 2)
sleep 2.2
screen
after=$(heap_line 2)
echo "  before: $before"
echo "  after:  $after"
[ "$before" != "$after" ] || fail "heap 2's line did not change in 2 s"

echo "== n selects the next heap"
tmux -L "$sock" send-keys -t top n
wait_for "^heap 1 at 0x"
grep -Eq '^>    1 ' "$work/screen" || fail "heap 1 not marked as selected"

echo "== t lists the types by count"
tmux -L "$sock" send-keys -t top t
wait_for "^top types by count"

echo "== c sorts the heaps by collections"
tmux -L "$sock" send-keys -t top c
wait_for "sorted by collections"
grep -Eq '^>    1 ' "$work/screen" || fail "the selection should follow heap 1 when resorting"

echo "== the up arrow selects the previous heap"
tmux -L "$sock" send-keys -t top Up
wait_for "^heap 2 at 0x"

echo "== q quits"
tmux -L "$sock" send-keys -t top q
wait_for "recycle-top exited 0"
cat "$work/screen"
echo "top_tmux_test: passed"
