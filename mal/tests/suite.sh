#!/usr/bin/env bash
# suite.sh MAL_DIR BINARY TEST [OPTION...] — upstream's runner on one test file
# in hard mode (deferrable and optional sections included, soft failures fail):
# TEST names a file of the MAL suite (step4_if_fn_do) or is a path to one of
# ours (mal/tests/*.mal, same format); OPTIONs go to the interpreter.
# TEST=argv: upstream's *ARGV* test.  Exit 77 (skipped) where the suite is absent.
set -u
mal_dir=$1 bin=$2 test=$3
shift 3
if [ ! -f "$mal_dir/runtest.py" ]; then
    echo "skipped: the MAL suite is not at $mal_dir (../shared/mal from the repository root)"
    exit 77
fi
mal_dir=$(cd "$mal_dir" && pwd)
if [ "$test" = argv ]; then
    cd "$mal_dir/tests" && exec bash run_argv_test.sh ${MAL_WRAPPER:-} "$bin"
fi
case $test in
    /*) file=$test ;;
    *) file=$mal_dir/tests/$test.mal ;;
esac
exec python3 "$mal_dir/runtest.py" --hard --continue-after-fail --test-timeout "${MAL_TEST_TIMEOUT:-60}" \
    --rundir "$mal_dir/tests" "$file" -- ${MAL_WRAPPER:-} "$bin" "$@"
