#!/usr/bin/env python3
"""bench_loop.py - how long a student waits: the edit-build-test loop, measured.

    bench_loop.py [exercise] [--runs N]

Prints two figures (median of N runs):
  - the incremental loop: one student file changed, then `make test`
    rebuilds it, relinks and runs every visible test of a passing exercise
    (the reference solution, copied to a scratch folder and touched);
  - a cold build of everything a student builds: the runtime, the test
    helpers and every exercise's tests, from an empty build folder.
Nothing in the work tree is modified.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from grader import kit  # noqa: E402

ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}


def timed(args):
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"bench_loop: {' '.join(args)} failed:\n{proc.stdout[-3000:]}")
    return elapsed


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("exercise", nargs="?", default="mpsc")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv[1:])
    ex = kit.load_exercise(args.exercise)
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        src, build = os.path.join(tmp, "src"), os.path.join(tmp, "build")
        os.makedirs(src)
        for f in ex.student_files:
            shutil.copy(os.path.join(ROOT, "solutions", ex.name, f), src)
        common = ["make", "-s", f"EX={ex.name}", f"SRC={src}", "TAG=loop", f"BUILD={build}",
                  "REF_DEPS=1"]
        timed(common + ["test"])  # warm: everything but the student file is built once
        loop = []
        for _ in range(args.runs):
            os.utime(os.path.join(src, ex.student_files[0]))
            loop.append(timed(common + ["test"]))
        cold = []
        for i in range(max(3, args.runs // 2)):
            cold_build = os.path.join(tmp, f"cold{i}")
            t = 0.0
            for name in kit.exercise_names():
                t += timed(["make", "-s", f"EX={name}", "SOLUTION=1", f"BUILD={cold_build}",
                            "build-test"])
            cold.append(t)
    print(f"edit-build-test loop ({ex.name}, one file changed, all visible tests): "
          f"median {statistics.median(loop):.3f} s over {len(loop)} runs "
          f"(min {min(loop):.3f}, max {max(loop):.3f})")
    print(f"cold build of the runtime and every exercise's tests: "
          f"median {statistics.median(cold):.2f} s over {len(cold)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
