"""bench.py - how fast the grader grades: a generated class, students per minute.

Generates a class from the reference solution of one exercise (default
mpsc): a mix of perfect students and students with classic mistakes, each
file made unique so that nothing is served from the cache. Grades it with
--no-cache and prints the time of the student phase (the kit's own objects
are compiled once before it, and that time is printed apart).

    python3 -m grader.grading.bench [--students 100] [--exercise mpsc] [--jobs N]
    python3 -m grader.grading.bench --sizes 25,50,100     shows that the cost grows linearly
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List, Tuple

from grader.kit import ROOT
from grader.samples import make_class


def variants(exercise: str) -> List[str]:
    """Reference-derived files for the generated students: perfect ones and classic bugs."""
    ref = make_class.solution(exercise)
    out = [ref, ref]
    if exercise == "mpsc":
        for bug in ("lost_waker", "no_wake_on_drop", "syntax_error"):
            out.append(make_class.mutate(ref, exercise, [bug]))
    return out


def generate(folder: str, n: int, exercise: str) -> None:
    pool = variants(exercise)
    for i in range(n):
        d = os.path.join(folder, f"student{i:04d}")
        os.makedirs(d)
        with open(os.path.join(d, f"{exercise}.c"), "w", encoding="utf-8") as f:
            f.write(f"/* generated student {i} */\n" + pool[i % len(pool)])


def run(n: int, exercise: str, jobs: int) -> Tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="bench-grader-") as tmp:
        klass, out = os.path.join(tmp, "class"), os.path.join(tmp, "out")
        generate(klass, n, exercise)
        argv = [sys.executable, "-m", "grader", klass, "--out", out, "--no-cache",
                "-e", exercise, "--quiet"] + (["-j", str(jobs)] if jobs else [])
        start = time.monotonic()
        r = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
        total = time.monotonic() - start
        if r.returncode != 0:
            raise SystemExit(f"bench-grader: the grader failed:\n{r.stderr}")
        m = re.search(r"graded (\d+) students in ([0-9.]+) s", r.stdout)
        if m is None:
            raise SystemExit(f"bench-grader: no timing line in the grader's output:\n{r.stdout}")
        students_s = float(m.group(2))
        return total, students_s


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=100)
    p.add_argument("--sizes", help="comma-separated class sizes, to see how the cost grows")
    p.add_argument("--exercise", default="mpsc")
    p.add_argument("--jobs", type=int, default=0, help="parallel jobs (default: the grader's, all cores)")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.students]
    print(f"bench-grader: exercise {args.exercise}, {os.cpu_count()} cores")
    for n in sizes:
        total, students = run(n, args.exercise, args.jobs)
        print(f"  {n:>4} students: {students:7.1f} s grading ({students / n:5.2f} s per student), "
              f"{total - students:5.1f} s kit build and reports; "
              f"{60 * n / students:6.1f} students per minute")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
