#!/usr/bin/env bash
# layout_test.sh SOURCE_DIR — the layering DESIGN.md describes, checked:
# the core (src/*.c, src/*.h) reaches the leak tools only through
# src/hooks.h, never through a header of src/tools/; the tools are not part
# of the public header; and every library source opens with the comment that
# says what it owns.
set -u
src=$1/src
fail=0
tools_headers=$(cd "$src/tools" && ls *.h)
for f in "$src"/*.c "$src"/*.h "$1/include/recycle.h"; do
    for h in $tools_headers; do
        if grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"(tools/)?$h\"" "$f"; then
            echo "layout: ${f#$1/} includes the tools' $h: the core calls the tools only through src/hooks.h"
            fail=1
        fi
    done
done
for f in "$src"/*.c "$src"/*.h "$src"/tools/*.c "$src"/tools/*.h; do
    if [ "$(head -c 2 "$f")" != "/*" ]; then
        echo "layout: ${f#$1/} does not open with a comment saying what it owns"
        fail=1
    fi
done
[ $fail = 0 ] && echo "layout: $(ls "$src"/*.[ch] | wc -l) core files, $(ls "$src"/tools/*.[ch] | wc -l) tool files: ok"
exit $fail
