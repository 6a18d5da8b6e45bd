#!/usr/bin/env python3
"""badinput.py MAL_DIR BINARY [CASES] -- bad input never crashes recycle-mal.

Feeds the interpreter every test file of steps 2..A cut at random byte
offsets (half through the REPL on stdin, half as a program file), and random
byte strings.  A run may print errors; it must exit by itself (0 or 1), never
by a signal, and print no sanitizer report.  Prints its seed; MAL_FUZZ_SEED=<n>
repeats a run.
"""
import os, random, subprocess, sys, tempfile

mal_dir, binary = sys.argv[1], sys.argv[2]
cases = int(sys.argv[3]) if len(sys.argv) > 3 else 8
tests = os.path.join(mal_dir, "tests")
if not os.path.isdir(tests):
    print("skipped: the MAL suite is not at %s" % mal_dir)
    sys.exit(77)
seed = int(os.environ.get("MAL_FUZZ_SEED", random.SystemRandom().randrange(1 << 30)))
print("badinput: seed %d (MAL_FUZZ_SEED=%d repeats this run)" % (seed, seed))
rng = random.Random(seed)
wrapper = os.environ.get("MAL_WRAPPER", "").split()
steps = ["step2_eval", "step3_env", "step4_if_fn_do", "step5_tco", "step6_file",
         "step7_quote", "step8_macros", "step9_try", "stepA_mal"]
failures = 0
runs = 0


def run(data, as_file, what):
    global failures, runs
    runs += 1
    with tempfile.NamedTemporaryFile(suffix=".mal", delete=False) as f:
        f.write(data)
        path = f.name
    try:
        cmd = wrapper + [binary, "--memory-limit=256m"]
        if as_file:
            p = subprocess.run(cmd + [path], stdin=subprocess.DEVNULL, cwd=tests,
                               capture_output=True, timeout=120)
        else:
            p = subprocess.run(cmd, input=data, cwd=tests, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        print("FAIL %s: timed out (input kept in %s)" % (what, path))
        failures += 1
        return
    err = p.stderr.decode("latin-1")
    bad = p.returncode not in (0, 1) or "Sanitizer" in err or "runtime error" in err
    if bad:
        print("FAIL %s: exit %d (input kept in %s)\n%s" % (what, p.returncode, path, err[-2000:]))
        failures += 1
    else:
        os.unlink(path)


for step in steps:
    data = open(os.path.join(tests, step + ".mal"), "rb").read()
    for i in range(cases):
        cut = rng.randrange(len(data) + 1)
        run(data[:cut], i % 2 == 1, "%s cut at %d (%s)" % (step, cut, "file" if i % 2 else "repl"))
for i in range(cases * 4):
    n = rng.randrange(1, 3000)
    if i % 2:  # bytes MAL cares about
        data = bytes(rng.choice(b'()[]{}"\\\'`~@^:;, \n-0123456789abcnil&') for _ in range(n))
    else:
        data = bytes(rng.randrange(256) for _ in range(n))
    run(data, i % 4 == 1, "random bytes #%d (%d bytes)" % (i, n))
print("badinput: %d runs, %d failures" % (runs, failures))
sys.exit(1 if failures else 0)
