"""play_student.py - play the student: every broken variant, from the handout, timed.

    python3 -m tests.play_student [--limit SECONDS] [--subset] [exercise...]

Builds the handout, unpacks it in an empty folder, puts the reference
solutions in the student's place (a student who has done every exercise:
the chat builds on the channels), and for each broken variant in
grader/broken/<ex>/ puts the reference solution with that one mistake
in the student's place (exercises/<ex>/<file>), runs
`make test EX=<ex>` there as a student would, and prints the variant, the
wall time and the first diagnosis line the student reads (the "Start with"
line). Fails when a run takes longer than --limit (5 s), or when a failing
run prints no diagnosis. A variant the visible tests do not catch is shown
as such (only the hidden tests catch it; grader/checks/claims.py fails a
README or slide that says otherwise).

--subset plays a few variants per exercise (those whose mistake costs a
hang when the loop is not careful: lost wakes, wakes under the lock), the
part `make check` runs; `make play-student` plays them all.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import List, Optional, Tuple

from grader import bugs, kit
from grader.release import handout

SUBSET = ("no_waker_stored", "last_drop_no_wake", "wake_before_push", "wake_under_lock",
          "pending_without_waker", "wake_only_one", "send_does_not_wake", "hangup_never_sent")
ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS",
                                                       "RT_SHAKE", "KT_EXPLORE")}


def unpack_handout(where: str) -> str:
    _, archive, _ = handout.build(os.path.join(where, "dist"))
    root = os.path.join(where, "student")
    os.makedirs(root)
    with tarfile.open(archive) as tar:
        tar.extractall(root)  # our own archive, just built
    return os.path.join(root, handout.NAME)


def run(args: List[str], cwd: str, timeout: float = 120) -> Tuple[int, str, float]:
    t0 = time.monotonic()
    try:
        proc = subprocess.run(args, cwd=cwd, env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace",
                              timeout=timeout)
        return proc.returncode, proc.stdout, time.monotonic() - t0
    except subprocess.TimeoutExpired as e:
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode(errors="replace")
        return 124, out + "\n(play_student: killed)", time.monotonic() - t0


def first_line(output: str) -> Optional[str]:
    match = re.search(r"^Start with (.*)$", output, re.M)
    return match.group(1) if match else None


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="play_student")
    parser.add_argument("--limit", type=float, default=5.0)
    parser.add_argument("--subset", action="store_true")
    parser.add_argument("exercises", nargs="*")
    args = parser.parse_args(argv[1:])
    names = args.exercises or [n for n in kit.exercise_names()
                               if os.path.isdir(os.path.join(kit.ROOT, "grader", "broken", n))]
    problems = []
    with tempfile.TemporaryDirectory(prefix="play-student-") as tmp:
        home = unpack_handout(tmp)
        # A student who has done the other exercises: the chat builds on them (EX_DEPENDS).
        for other in kit.exercise_names():
            for f in kit.load_exercise(other).student_files:
                shutil.copy(os.path.join(kit.ROOT, "solutions", other, f),
                            os.path.join(home, "exercises", other, f))
        for ex_name in names:
            ex = kit.load_exercise(ex_name)
            folder = os.path.join(kit.ROOT, "grader", "broken", ex_name)
            variants = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".bug"))
            if args.subset:
                variants = [v for v in variants if v.startswith(SUBSET)]
            code, out, _ = run(["make", f"EX={ex_name}", "build-test"], home, timeout=600)
            if code != 0:
                problems.append(f"{ex_name}: the handout does not build:\n{out[-2000:]}")
                continue
            print(f"{ex_name}: {len(variants)} broken variants, `make test EX={ex_name}` in the "
                  f"handout (limit {args.limit:g} s)")
            originals = {}
            for f in ex.student_files:
                with open(os.path.join(home, "exercises", ex_name, f), encoding="utf-8") as fh:
                    originals[f] = fh.read()
            for variant in variants:
                path = os.path.join(folder, variant + ".bug")
                with open(path, encoding="utf-8") as fh:
                    bug = bugs.parse(fh.read(), path)
                for f in ex.student_files:
                    shutil.copy(os.path.join(kit.ROOT, "solutions", ex_name, f),
                                os.path.join(home, "exercises", ex_name, f))
                target = os.path.join(home, "exercises", ex_name, bug.file)
                with open(target, encoding="utf-8") as fh:
                    broken = bugs.apply(fh.read(), bug)
                with open(target, "w", encoding="utf-8") as fh:
                    fh.write(broken)
                code, out, seconds = run(["make", f"EX={ex_name}", "test"], home)
                said = first_line(out)
                slow = seconds > args.limit
                if code == 0:  # caught by the hidden tests only (claims.py checks the claims)
                    said = "(the visible tests pass: only the hidden tests catch it)"
                print(f"  {variant:<36} {seconds:5.2f} s{'  TOO SLOW' if slow else ''}  "
                      f"{said or '(no diagnosis)'}"[:400])
                if slow:
                    problems.append(f"{ex_name}/{variant}: took {seconds:.1f} s (limit "
                                    f"{args.limit:g} s)")
                elif said is None:
                    problems.append(f"{ex_name}/{variant}: no 'Start with' line:\n{out[-1500:]}")
            for f, text in originals.items():
                with open(os.path.join(home, "exercises", ex_name, f), "w", encoding="utf-8") as fh:
                    fh.write(text)
    for p in problems:
        print(f"play_student: {p}", file=sys.stderr)
    print(f"play_student: {'all within the limit' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
