#!/usr/bin/env bash
# install_test.sh BUILD_DIR — install a built recycle into a temporary prefix
# and use it the way users will:
#   1. the installed files: header, static + shared library with a SONAME,
#      recycle.pc, the CMake package; the shared library exports rc_* only;
#   2. tests/consumer/main.c built with `cc $(pkg-config --cflags --libs recycle)`
#      and run (skipped, with a message, if pkg-config is not installed);
#   3. tests/consumer built with find_package(recycle) against the shared and
#      the static library, and both run; main.cpp too, as C++17, when a C++
#      compiler is here (consumer_cxx).
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
        "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Wold-style-cast -Werror \
            "$src/tests/consumer/main.cpp" -o "$work/consumer_pc_cxx" $flags
        LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/consumer_pc_cxx"
    fi
else
    step "pkg-config: SKIPPED — pkg-config is not installed (apt-get install pkg-config);" \
         "the find_package half still runs"
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
if [ -n "$cxx" ]; then
    [ -x "$work/consumer-build/consumer_cxx" ] || fail "tests/consumer did not build consumer_cxx with $cxx"
    "$work/consumer-build/consumer_cxx"
fi

step "passed"
