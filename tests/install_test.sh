#!/usr/bin/env bash
# install_test.sh BUILD_DIR — install a built recycle into a temporary prefix
# and use it the way users will:
#   1. the installed files: header, static + shared library with a SONAME,
#      recycle.pc, the CMake package; the shared library exports rc_* only;
#   2. tests/consumer/main.c built with `cc $(pkg-config --cflags --libs recycle)`
#      and run (skipped, with a message, if pkg-config is not installed);
#   3. tests/consumer built with find_package(recycle) against the shared and
#      the static library, and both run; main.cpp too, as C++17, when a C++
#      compiler is here (consumer_cxx);
#   4. the debug library under its own name: librecycle-debug, recycle-debug.pc
#      (a consumer built with it), and a program built with -DRC_DEBUG=1
#      against the release library failing to link, naming the debug library;
#   5. the tools: bin/recycle-top (run against a live process with the
#      monitor on, as JSON, checked with python3) and bin/recycle-report, and
#      their man pages and recycle(3), rendered with `man -l`.
# CTest runs this as the test install_test; CC picks the compiler (default cc).
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-cc}
cmake=${CMAKE:-cmake}

work=$(mktemp -d "${TMPDIR:-/tmp}/recycle-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

step() { printf '\n== install_test: %s\n' "$*"; }
fail() { printf 'install_test: FAIL: %s\n' "$*" >&2; exit 1; }

step "install $build into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" || {
    cat "$work/install.log"; fail "cmake --install"; }
sed 's/^/  /' "$work/install.log"

# --- 1. what got installed ------------------------------------------------
pc=$(find "$prefix" -name recycle.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || fail "no recycle.pc installed"
libdir=$(dirname "$(dirname "$pc")")
for f in "$prefix/include/recycle.h" "$libdir/librecycle.a" "$libdir/librecycle.so" \
         "$libdir/cmake/recycle/recycleConfig.cmake" \
         "$libdir/cmake/recycle/recycleConfigVersion.cmake"; do
    [ -e "$f" ] || fail "missing $f"
done
if command -v objdump >/dev/null 2>&1; then
    soname=$(objdump -p "$libdir/librecycle.so" | awk '$1 == "SONAME" { print $2 }')
    [ -n "$soname" ] || fail "librecycle.so has no SONAME"
    [ -e "$libdir/$soname" ] || fail "SONAME $soname is not installed"
    echo "SONAME $soname"
    needed=$(objdump -p "$libdir/librecycle.so" | awk '$1 == "NEEDED" { printf "%s ", $2 }')
    echo "NEEDED $needed"
fi
if command -v nm >/dev/null 2>&1; then
    # -fvisibility=hidden: only RC_API functions (rc_*, rc_impl_* for the inline
    # paths) leave the shared library.
    leaked=$(nm -D --defined-only "$libdir/librecycle.so" |
             awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^rc_/ && $3 !~ /^_(init|fini)$/ { print $3 }')
    [ -z "$leaked" ] || fail "librecycle.so exports non-rc_ symbols: $(echo $leaked)"
    echo "exports: $(nm -D --defined-only "$libdir/librecycle.so" | awk '$3 ~ /^rc_/' | wc -l) rc_ symbols, nothing else"
fi

# A C++ compiler for tests/consumer/main.cpp: $CXX, c++ or clang++ (none: the
# C++ halves are skipped, with a message).
cxx=""
for c in "${CXX:-}" c++ clang++ g++; do
    if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then cxx=$c; break; fi
done
[ -n "$cxx" ] || echo "install_test: no C++ compiler: the C++ consumer is SKIPPED"

warnings="-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror"

# --- 2. pkg-config ---------------------------------------------------------
if command -v pkg-config >/dev/null 2>&1; then
    step "pkg-config"
    export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    version=$(pkg-config --modversion recycle)
    echo "pkg-config --modversion recycle: $version"
    flags=$(pkg-config --cflags --libs recycle)
    echo "pkg-config --cflags --libs recycle: $flags"
    # shellcheck disable=SC2086 # word splitting of the flags is wanted
    "$cc" $warnings "$src/tests/consumer/main.c" -o "$work/consumer_pc" $flags
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/consumer_pc"
    # The same program in C++ (tests/consumer/main.cpp), when a C++ compiler is here.
    if [ -n "$cxx" ]; then
        # shellcheck disable=SC2086
        # (main.cpp's six-field positional rc_type: see tests/consumer/CMakeLists.txt)
        "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Wold-style-cast \
            -Wno-missing-field-initializers -Werror \
            "$src/tests/consumer/main.cpp" -o "$work/consumer_pc_cxx" $flags
        LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/consumer_pc_cxx"
    fi
else
    step "pkg-config: SKIPPED — pkg-config is not installed (apt-get install pkg-config);" \
         "the find_package half still runs"
fi

# An RC_DEBUG=ON build installs a debug librecycle (it defines the symbol the
# RC_DEBUG header refers to) and no separate librecycle-debug.
if nm -D --defined-only "$libdir/librecycle.so" | grep -q rc_debug_header_needs_librecycle_debug; then
    main_is_debug=1
else
    main_is_debug=0
fi

# --- 3. find_package -------------------------------------------------------
step "find_package(recycle)"
"$cmake" -S "$src/tests/consumer" -B "$work/consumer-build" \
    -DCMAKE_C_COMPILER="$cc" ${cxx:+-DCMAKE_CXX_COMPILER="$(command -v "$cxx")"} \
    -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DCMAKE_BUILD_TYPE=Release \
    >"$work/consumer-configure.log" || { cat "$work/consumer-configure.log"; fail "configure consumer"; }
grep 'found recycle' "$work/consumer-configure.log" || true
"$cmake" --build "$work/consumer-build" >"$work/consumer-build.log" 2>&1 || {
    cat "$work/consumer-build.log"; fail "build consumer"; }
# The shared one runs through its build-tree RPATH, no LD_LIBRARY_PATH.
"$work/consumer-build/consumer_shared"
"$work/consumer-build/consumer_static"
if [ "$main_is_debug" = 0 ]; then
    [ -x "$work/consumer-build/consumer_debug" ] || fail "no recycle::recycle_debug in the CMake package"
    "$work/consumer-build/consumer_debug"
fi
if [ -n "$cxx" ]; then
    [ -x "$work/consumer-build/consumer_cxx" ] || fail "tests/consumer did not build consumer_cxx with $cxx"
    "$work/consumer-build/consumer_cxx"
fi

# --- 4. the debug library ---------------------------------------------------
check_debug_library() {
    local f dflags
    if [ "$main_is_debug" = 1 ]; then
        echo "SKIPPED: this build's librecycle is itself a debug library (RC_DEBUG=ON)"
        return
    fi
    for f in "$libdir/librecycle-debug.a" "$libdir/librecycle-debug.so"; do
        [ -e "$f" ] || fail "missing $f"
    done
    if ! command -v pkg-config >/dev/null 2>&1; then
        echo "recycle-debug.pc: SKIPPED — pkg-config is not installed"
        return
    fi
    dflags=$(pkg-config --cflags --libs recycle-debug)
    echo "pkg-config --cflags --libs recycle-debug: $dflags"
    [[ " $dflags " == *" -DRC_DEBUG=1 "* ]] || fail "recycle-debug.pc does not say -DRC_DEBUG=1"
    [[ " $dflags " == *" -lrecycle-debug "* ]] || fail "recycle-debug.pc does not link -lrecycle-debug"
    # shellcheck disable=SC2086
    "$cc" $warnings "$src/tests/consumer/main.c" -o "$work/consumer_debug" $dflags
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/consumer_debug"
    echo "a consumer built with recycle-debug runs"
    # The mismatch: RC_DEBUG's header with the release library must not link.
    # shellcheck disable=SC2046
    if "$cc" $warnings -DRC_DEBUG=1 "$src/tests/consumer/main.c" -o "$work/consumer_mismatch" \
           $(pkg-config --cflags --libs recycle) >"$work/mismatch.log" 2>&1; then
        fail "-DRC_DEBUG=1 against the release library linked (it would run unchecked)"
    fi
    grep -q "rc_debug_header_needs_librecycle_debug" "$work/mismatch.log" ||
        { cat "$work/mismatch.log"; fail "the link error does not name the debug library"; }
    echo "-DRC_DEBUG=1 against librecycle: $(grep -m1 -o "undefined reference to .*" "$work/mismatch.log")"
}
step "the debug library: librecycle-debug, recycle-debug.pc"
check_debug_library

# --- 5. the tools and the manual ---------------------------------------------
step "installed tools: recycle-top, recycle-report; man pages"
for f in "$prefix/bin/recycle-top" "$prefix/bin/recycle-report"; do
    [ -x "$f" ] || fail "missing or not executable: $f"
done
page3=$(find "$prefix" -name recycle.3 -path '*/man3/*' | head -n 1)
[ -n "$page3" ] || fail "no man3/recycle.3 installed"
mandir=$(dirname "$(dirname "$page3")")
for page in man1/recycle-top.1 man1/recycle-report.1 man3/recycle.3; do
    [ -f "$mandir/$page" ] || fail "missing $mandir/$page"
done
if command -v man >/dev/null 2>&1; then
    for page in man1/recycle-top.1 man1/recycle-report.1 man3/recycle.3; do
        name=$(basename "$page" | sed 's/\.[0-9]$//')
        MANWIDTH=80 man -l "$mandir/$page" >"$work/man.txt" 2>"$work/man.err" ||
            { cat "$work/man.err"; fail "man -l $page"; }
        [ ! -s "$work/man.err" ] || { cat "$work/man.err"; fail "man -l $page: warnings"; }
        { grep -q "^NAME" "$work/man.txt" && grep -q "$name" "$work/man.txt"; } ||
            fail "man -l $page: no NAME section naming $name"
        echo "man -l $page: $(sed -n '/^NAME/{n;p;q}' "$work/man.txt" | sed 's/^ *//')"
    done
else
    echo "man -l: SKIPPED — man is not installed (apt-get install man-db)"
fi
if command -v python3 >/dev/null 2>&1; then
    "$prefix/bin/recycle-report" --help >/dev/null || fail "recycle-report --help"
    echo "recycle-report --help: ok"
fi
"$prefix/bin/recycle-top" --help | grep -q "usage" || fail "recycle-top --help"
workload="$build/tests/monitor_workload"
if [ -x "$workload" ] && command -v python3 >/dev/null 2>&1; then
    export RECYCLE_MONITOR_DIR="$work/shm"
    mkdir -p "$RECYCLE_MONITOR_DIR"
    RECYCLE_MONITOR=1 "$workload" run 30 1 >"$work/workload.out" &
    wpid=$!
    for _ in $(seq 100); do
        grep -q '^ready' "$work/workload.out" 2>/dev/null && break
        sleep 0.1
    done
    "$prefix/bin/recycle-top" --once --json "$wpid" >"$work/top.json" ||
        { kill "$wpid"; fail "the installed recycle-top --once --json"; }
    kill "$wpid"
    wait "$wpid" || true
    python3 - "$wpid" "$work/top.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[2]))
assert doc["pid"] == int(sys.argv[1]) and len(doc["heaps"]) == 1, doc
h = doc["heaps"][0]
assert h["bytes_in_use"] > 0 and len(h["objects"]) == 3 and h["top_types"], h
print("installed recycle-top --once --json: pid %d, %d bytes in use, top type %s"
      % (doc["pid"], h["bytes_in_use"], h["top_types"][0]["name"]))
EOF
else
    echo "recycle-top against a live process: SKIPPED (no $workload, or no python3)"
fi

step "passed"
