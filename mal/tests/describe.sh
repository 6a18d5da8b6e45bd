#!/usr/bin/env bash
# describe.sh BINARY LEAKY — the leak tools speak MAL: run mal/leaky.mal with
# RECYCLE_SITES=1 RECYCLE_DEBUG=report and check that the report names the
# MAL lines that allocated and shows values in MAL syntax (rc_type.describe).
set -u
bin=$(realpath "$1") leaky=$2
out=$(cd "$(dirname "$leaky")" && RECYCLE_SITES=1 RECYCLE_DEBUG=report ${MAL_WRAPPER:-} "$bin" "$(basename "$leaky")" 2>&1)
fail=0
# Which string and vector a group shows as its example depends on the
# block layout (release and debug builds differ), so those are patterns.
expect() {
    if ! grep -qE -- "$1" <<<"$out"; then echo "missing from the report: $1"; fail=1; fi
}
expect 'mal-string  leaky\.mal:9 in mal'
expect 'mal-hash-map  leaky\.mal:10 in mal'
expect ': "row [0-9] of page [0-9]+">, allocated at leaky\.mal:9'
expect ': \["row 1 of page ([0-9]+)" "row 2 of page \1" "row 3 of page \1" "row 4 of page \1" \.\.\.\]>'
expect ': \(atom \{2000 \['
expect ': #<env of [0-9]+ bindings>'
[ $fail -eq 0 ] || echo "$out" | tail -40
exit $fail
