#!/usr/bin/env python3
"""explore.py - run one test suite under many explorer seeds, until one fails.

    explore.py --seeds N [--first S] [--hidden] -- <make command> EX=<exercise> [vars]

Builds the suite once, then runs the test binary with KT_EXPLORE set to
S, S+1, ... S+N-1 (S is 1 unless given). Under each seed the student's
locks and condition variables take other detours (runtime/testing/
kt_explore.h), so a check made outside the lock, or a free decided after
unlocking, meets the other thread in its window under some seed. Stops at
the first failing seed and prints what the tests printed (with the
explorer's trace of the last detours), the seed and the command that
replays it. A suite that passes every seed prints so.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List

from private_copy import copy_test_binary  # beside this script


def replay_command(make_args: List[str], seed: int, hidden: bool) -> str:
    """The `make test` line that runs the same suite under `seed` again."""
    keep = [a for a in make_args if a.split("=", 1)[0] in ("EX", "SOLUTION", "SAN", "T", "SRC")]
    return " ".join(["make", "test", *keep, f"EXPLORE={seed}"] + (["HIDDEN=1"] if hidden else []))


def explore(binary: str, filters: List[str], first: int, seeds: int, replay: List[str],
            hidden: bool) -> int:
    started = time.monotonic()
    for seed in range(first, first + seeds):
        env = dict(os.environ, KT_EXPLORE=str(seed))
        env.pop("RT_SHAKE", None)
        proc = subprocess.run([binary, "--short-filename", *filters], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace")
        if proc.returncode != 0:
            sys.stdout.write(proc.stdout)
            print(f"\nexplore: seed {seed} failed ({seed - first + 1} of {seeds} tried).")
            print(f"explore: replay it with: {replay_command(replay, seed, hidden)}")
            return 1
        done = seed - first + 1
        if done % 20 == 0 or done == seeds:
            elapsed = time.monotonic() - started
            print(f"\rexplore: {done}/{seeds} seeds passed ({elapsed:.0f} s)", end="", flush=True)
    print(f"\nexplore: seeds {first}..{first + seeds - 1} all passed")
    return 0


def main(argv: List[str]) -> int:
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="explore.py")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--hidden", action="store_true")
    args = parser.parse_args(argv[1:split])
    if args.seeds < 1 or args.first < 1:
        print("make explore: N (the number of seeds) and the first seed must be at least 1",
              file=sys.stderr)
        return 2
    make = argv[split + 1:]
    ex = next((a.split("=", 1)[1] for a in make if a.startswith("EX=")), "")
    if not ex:
        print("make explore: name the exercise with EX=<exercise>", file=sys.stderr)
        return 2
    pattern = next((a.split("=", 1)[1] for a in make if a.startswith("T=")), "")
    filters = [f"--filter=*/*{pattern}*"] if pattern else []
    build_make = [a for a in make if not a.startswith("T=")] + (["HIDDEN=1"] if args.hidden else [])
    # close_fds=False: the child make shares the calling make's job slots.
    if subprocess.call(build_make + ["-s", "build-test"], close_fds=False) != 0:
        return 1
    built = subprocess.check_output(build_make + ["-s", "print-test-bin"], text=True,
                                    close_fds=False).strip()
    # Explore a private copy: a rebuild meanwhile must not swap the binary under it.
    scratch = tempfile.mkdtemp(prefix="explore-")
    try:
        binary = copy_test_binary(built, scratch)
        return explore(binary, filters, args.first, args.seeds, make[1:], args.hidden)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
