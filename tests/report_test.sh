#!/usr/bin/env bash
# report_test.sh LEAK_HUNT REPORT_TOOL [--browser] — the leak-hunting tools
# end to end, as CTest's report_test and report_browser_test:
#   1. examples/leak_hunt runs and its hunt names both leaks (the cache's
#      entries held from outside the heap, the connections in the garbage
#      list); its trace is JSON lines with every kind of event;
#   2. tools/recycle-report turns the trace into one HTML file with every
#      section, the three suspects, their graphs as SVG (Graphviz) and no
#      reference to anything outside the file;
#   3. with --browser: headless Chromium loads the report, its script runs
#      to the end (the page writes "ok: ..." into #rc-status) and the
#      console shows no message at all.  Without Chromium it skips (exit
#      77), unless RC_REQUIRE_BROWSER=1 (CI's browser stage): then it fails.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 LEAK_HUNT REPORT_TOOL [--browser]" >&2
    exit 2
fi
hunt=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tool=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
browser=${3:-}
python=${PYTHON:-python3}

work=$(mktemp -d "${TMPDIR:-/tmp}/recycle-report.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { printf 'report_test: FAIL: %s\n' "$*" >&2; exit 1; }

if [ "$browser" != "--browser" ]; then
    # --- 1. the hunt --------------------------------------------------------
    "$hunt" trace.jsonl >hunt.log || { cat hunt.log; fail "leak_hunt exited $?"; }
    grep -q '^ *5000 *+4800 .* entry$' hunt.log || { cat hunt.log; fail "the diff does not show +4800 entries"; }
    grep -q 'is alive: an object held from outside the heap reaches it through 2 references' hunt.log ||
        fail "why-alive of an entry is not app -> cache -> entry"
    grep -q 'is alive only through the garbage list' hunt.log || fail "why-alive of a connection"
    # top retainers: app first, and the descent names the cache under it
    grep -q '^[0-9]* bytes in 20002 objects: <app object at' hunt.log || fail "top retainer is not app"
    grep -q '^  [0-9]* bytes in 20001 objects: <cache object at .*which it refers to' hunt.log ||
        fail "the top-retainers step does not name the cache"
    [ -s leak_hunt_entry.dot ] || fail "no leak_hunt_entry.dot"
    echo "leak_hunt: both leaks found"

    "$python" - trace.jsonl <<'EOF' || fail "the trace is not what it should be"
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
kinds = {e["ev"] for e in events}
need = {"start", "sample", "gc", "scope", "scope_total", "snapshot", "suspect", "domtree", "end"}
assert need <= kinds, "missing events: %s" % (need - kinds)
assert events[0]["ev"] == "start" and events[-1]["ev"] == "end"
sus = [e for e in events if e["ev"] == "suspect"]
types = {e["type"]: e for e in sus}
assert "entry" in types and types["entry"]["verdict"] == "outside", types.keys()
assert "connection" in types and types["connection"]["verdict"] == "garbage list"
assert types["entry"]["count_diff"] == 4800, types["entry"]
assert all(e["dot"].startswith("digraph recycle {") for e in sus)
dom = [e for e in events if e["ev"] == "domtree"][-1]
assert dom["objects"] == 35002 and dom["nodes"][0]["type"] == "app", dom["nodes"][:1]
assert dom["nodes"][1]["type"] == "cache" and dom["nodes"][1]["parent"] == 0
assert "entries, room for" in dom["nodes"][1]["object"]
snaps = [e for e in events if e["ev"] == "snapshot"]
assert [s["label"] for s in snaps] == ["warm", "loaded", "exit"], [s["label"] for s in snaps]
print("trace: %d events, suspects %s" % (len(events), [e["type"] for e in sus]))
EOF

    # --- 2. the report ------------------------------------------------------
    "$python" "$tool" trace.jsonl -o report.html --binary "$hunt" || fail "recycle-report failed"
    "$python" - report.html <<'EOF' || fail "the report is not what it should be"
import html.parser, re, shutil, sys
text = open(sys.argv[1], encoding="utf-8").read()
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.tags, self.srcs = set(), {}, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if "id" in a: self.ids.add(a["id"])
        for k in ("src", "href"):
            v = a.get(k)
            if v and not v.startswith("#"): self.srcs.append(v)
p = P()
p.feed(text)
for i in ("memory", "pauses", "top", "growth", "retained", "suspects", "scopes", "rc-status"):
    assert i in p.ids, "no section #%s" % i
assert not p.srcs, "the report refers outside itself: %s" % p.srcs[:3]
assert not re.search(r"https?://(?!www\.w3\.org/)", text), "a URL in the report"
assert text.count('class="suspect"') == 3
assert "entry" in text and "connection" in text and "is alive only through the garbage list" in text
# describe: the leak hunt's types describe themselves in the tables' examples,
# the suspects' why-alive text and their graphs' labels
assert re.search(r'<div class="example">e\.g\. &lt;entry object at 0x[0-9a-f]+: key /item/', text), "no described example"
assert re.search(r'&lt;cache object at 0x[0-9a-f]+: \d+ entries, room for \d+&gt;', text), "why-alive without describe"
assert "fd " in text and re.search(r'connection\\nfd \d+|>fd \d+<', text), "graph labels without describe"
if shutil.which("dot"):
    assert text.count('<svg class="graph"') == 3, "suspect graphs not rendered"
else:
    print("(dot not installed: graphs shown as DOT source)")
assert text.count('<svg class="chart"') == 3
# the dominator tree's icicle: app over cache, clickable, with retained columns in the tables
assert text.count('<svg class="icicle"') == 1
assert re.search(r'<g class="box zoom"[^>]*><rect[^>]*><title>&lt;cache object at 0x[0-9a-f]+: 5000 entries', text), "no cache box"
assert "<th title=" in text and ">retained</th>" in text
print("report: %d bytes, %d svg elements" % (len(text), p.tags.get("svg", 0)))
assert text.count(" since the baseline.</p>") == 3, "each suspect's growth since the baseline"
assert "no baseline" not in text
EOF
    # The same trace as if it had no baseline snapshot: each suspect says
    # so, once, and claims no growth (it said "no baseline since the baseline").
    "$python" - trace.jsonl >nobase.jsonl <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["ev"] == "suspect":
        e["baseline"] = False
    print(json.dumps(e))
EOF
    "$python" "$tool" nobase.jsonl -o nobase.html --binary "$hunt" || fail "recycle-report failed (no baseline)"
    [ "$(grep -o 'no baseline snapshot to measure growth from' nobase.html | wc -l)" = 3 ] ||
        fail "the suspects of a trace without a baseline do not say so"
    ! grep -q 'since the baseline\.' nobase.html || fail "growth since a baseline that does not exist"
    echo "report_test: ok"
    exit 0
fi

# --- 3. in a browser ------------------------------------------------------
chrome=""
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then chrome=$(command -v "$c"); break; fi
done
if [ -z "$chrome" ]; then
    if [ "${RC_REQUIRE_BROWSER:-0}" = 1 ]; then fail "no chromium on PATH"; fi
    echo "report_browser_test: skipped (no chromium; CI's browser stage installs it)"
    exit 77
fi
"$hunt" trace.jsonl >/dev/null
"$python" "$tool" trace.jsonl -o report.html --binary "$hunt" >/dev/null
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --disable-dev-shm-usage
       --user-data-dir="$work/profile" --enable-logging=stderr --v=0)
timeout 180 "$chrome" "${flags[@]}" --dump-dom "file://$work/report.html" >dom.html 2>console.log ||
    { tail -20 console.log; fail "chromium exited $?"; }
grep -o '<div id="rc-status">[^<]*' dom.html || true
grep -q '<div id="rc-status">ok: 3 charts, [0-9]* graphs, 6 tables' dom.html ||
    { tail -20 console.log; fail "the page's script did not finish (no ok in #rc-status)"; }
grep -q 'data-status="ok"' dom.html || fail "body has no data-status=ok"
if grep -E 'Uncaught|SyntaxError|ReferenceError|TypeError|:CONSOLE' console.log; then
    fail "errors in the browser console"
fi
timeout 180 "$chrome" "${flags[@]}" --window-size=1280,2000 --screenshot="$work/shot.png" \
    "file://$work/report.html" >/dev/null 2>&1 || fail "screenshot"
[ "$(stat -c %s "$work/shot.png")" -gt 20000 ] || fail "the screenshot is (nearly) empty"
echo "report_browser_test: ok"
