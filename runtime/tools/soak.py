#!/usr/bin/env python3
"""soak.py - run one test suite many times, a different shake seed each run.

    soak.py --runs N [--hidden] -- <make command> EX=<exercise or runtime> [vars]

Builds the suite once, then runs the test binary N times with RT_SHAKE set
to 1, 2, ... N. Stops at the first failing run and prints its seed and the
command that replays it. A suite that passes N runs in a row prints so.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from private_copy import copy_test_binary  # beside this script


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="soak.py")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--hidden", action="store_true")
    args = parser.parse_args(argv[1:split])
    make = argv[split + 1 :]
    ex = next((a.split("=", 1)[1] for a in make if a.startswith("EX=")), "")
    if not ex:
        print("make soak: name the suite with EX=<exercise> or EX=runtime", file=sys.stderr)
        return 2
    if args.hidden:
        make = make + ["HIDDEN=1"]
    if ex == "runtime":
        make = [a for a in make if not a.startswith("EX=")]
        build, binary_target = ["build-runtime-tests"], "print-runtime-test-bin"
    else:
        build, binary_target = ["build-test"], "print-test-bin"
    # close_fds=False: the child make shares the calling make's job slots
    # (its jobserver pipe); closed, make warns and builds one file at a time.
    if subprocess.call(make + ["-s"] + build, close_fds=False) != 0:
        return 1
    built = subprocess.check_output(make + ["-s", binary_target], text=True,
                                    close_fds=False).strip()
    # Soak a private copy: a rebuild during a long soak must not swap the binary under it.
    scratch = tempfile.mkdtemp(prefix="soak-")
    try:
        binary = copy_test_binary(built, scratch)
        return soak(binary, built, args.runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def soak(binary, shown_as, runs):
    started = time.monotonic()
    for seed in range(1, runs + 1):
        env = dict(os.environ, RT_SHAKE=str(seed))
        proc = subprocess.run([binary, "--short-filename"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace")
        if proc.returncode != 0:
            sys.stdout.write(proc.stdout)
            print(f"\nsoak: run {seed} of {runs} failed with RT_SHAKE={seed}.")
            print(f"soak: replay it with: RT_SHAKE={seed} {shown_as}")
            return 1
        if seed % 50 == 0 or seed == runs:
            elapsed = time.monotonic() - started
            print(f"\rsoak: {seed}/{runs} runs passed ({elapsed:.0f} s)", end="", flush=True)
    print(f"\nsoak: {runs} runs in a row passed: {shown_as}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
