#!/usr/bin/env python3
"""bench_loop.py - how long a student waits: the edit-build-test loop, measured.

    bench_loop.py [exercise] [--runs N]

Prints two figures (median of N runs):
  - the incremental loop: one student file changed, then `make test`
    rebuilds it, relinks and runs every visible test of a passing exercise
    (the reference solution, copied to a scratch folder and touched; in the
    handout, which has no solutions, the student's own files);
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

import kit_info  # beside this script: the handout has no grader/

ROOT = kit_info.ROOT

ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}


def timed(args, may_fail=False):
    """Seconds `args` took; a failure stops the benchmark unless failing tests are expected."""
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0 and not (may_fail and "Synthesis" in proc.stdout):
        sys.exit(f"bench_loop: {' '.join(args)} failed:\n{proc.stdout[-3000:]}")
    return elapsed


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("exercise", nargs="?", default="mpsc")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cold-runs", type=int, default=0, help="cold builds (default: runs/2, at least 3)")
    args = parser.parse_args(argv[1:])
    if args.exercise not in kit_info.exercise_names():
        sys.exit(f"bench_loop: there is no exercise '{args.exercise}'; one of: "
                 + " ".join(kit_info.exercise_names()))
    name = args.exercise
    student_files = kit_info.read_declaration(name).get("EX_STUDENT_FILES", "").split()
    solutions = os.path.isdir(os.path.join(ROOT, "solutions", name))
    origin = os.path.join(ROOT, "solutions" if solutions else "exercises", name)
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        src, build = os.path.join(tmp, "src"), os.path.join(tmp, "build")
        os.makedirs(src)
        for f in student_files:
            shutil.copy(os.path.join(origin, f), src)
        common = ["make", "-s", f"EX={name}", f"SRC={src}", "TAG=loop", f"BUILD={build}"]
        common += ["REF_DEPS=1"] if solutions else []
        timed(common + ["test"], may_fail=not solutions)  # warm: all but the student file built
        loop = []
        for _ in range(args.runs):
            os.utime(os.path.join(src, student_files[0]))
            loop.append(timed(common + ["test"], may_fail=not solutions))
        cold = []
        for i in range(args.cold_runs or max(3, args.runs // 2)):
            cold_build = os.path.join(tmp, f"cold{i}")
            t = 0.0
            for other in kit_info.exercise_names():
                t += timed(["make", "-s", f"EX={other}", f"BUILD={cold_build}", "build-test"]
                           + (["SOLUTION=1"] if solutions else []))
            cold.append(t)
    what = "the reference" if solutions else "your files"
    print(f"edit-build-test loop ({name}, {what}, one file changed, all visible tests): "
          f"median {statistics.median(loop):.3f} s over {len(loop)} runs "
          f"(min {min(loop):.3f}, max {max(loop):.3f})")
    print(f"cold build of the runtime and every exercise's tests: "
          f"median {statistics.median(cold):.2f} s over {len(cold)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
