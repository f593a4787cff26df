"""bench.py - how fast the grader grades a realistic class: students per minute.

The class is the sample class's mix (perfect, buggy, not compiling,
hanging, hostile; every exercise) scaled to each size by
`make_class --scale`, every student's files unique, so nothing comes from
the cache. Each size is graded with the options the sample class is
graded with (expected.json) and timed; the kit's preparation and the
reports are timed apart from the grading of the students. The yardstick,
timed in the same run: one perfect student graded alone.

    python3 -m grader.grading.bench [--sizes 100,200,400] [--jobs N] [--slurm]

With --slurm, the first size is graded again through a one-machine Slurm
cluster (root, Slurm installed: grader/grading/slurmnode.py), and the
array tasks' grading times are added up to compare with the local run's.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

from grader.kit import ROOT
from grader.samples import make_class

from . import cli, slurmnode


def sample_options() -> List[str]:
    with open(os.path.join(ROOT, "grader", "samples", "expected.json"), encoding="utf-8") as f:
        options = json.load(f)["options"]
    return [str(o) for o in options]


def grade(klass: str, out: str, extra: List[str], env: Optional[Dict[str, str]] = None) -> Tuple[float, float, str]:
    """(wall seconds, seconds grading students, stdout) of one grader run."""
    argv = [sys.executable, "-m", "grader", klass, "--out", out, "--no-cache", "--quiet",
            *sample_options(), *extra]
    start = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.monotonic() - start
    if r.returncode != 0:
        raise SystemExit(f"bench-grader: the grader failed:\n{r.stdout}\n{r.stderr}")
    m = re.search(r"graded (\d+) students in ([0-9.]+) s", r.stdout)
    if m is None:
        raise SystemExit(f"bench-grader: no timing line in the grader's output:\n{r.stdout}")
    return wall, float(m.group(2)), r.stdout


def yardstick(tmp: str, jobs: List[str]) -> float:
    """Seconds to grade one perfect student (every exercise) alone."""
    klass = os.path.join(tmp, "one")
    os.makedirs(klass)
    layout, files = make_class.files_of(make_class.STUDENTS["ada_perfect"])
    make_class.write(klass, "ada_perfect", layout, files)
    return grade(klass, os.path.join(tmp, "out-one"), jobs)[1]


def slurm_run(klass: str, tmp: str, n: int, local_seconds: float, local_jobs: int, tasks: int) -> None:
    reason = slurmnode.why_not()
    if reason:
        print(f"  slurm: not run: {reason}")
        return
    out = os.path.join(tmp, "out-slurm")
    with slurmnode.LocalCluster() as cluster:
        wall, _, _ = grade(klass, out, ["--slurm", "--wait", "--array-size", str(tasks), "--slurm-cpus", "1"],
                           cluster.env())
    runs = os.path.join(out, ".slurm")
    run = os.path.join(runs, sorted(os.listdir(runs))[-1])
    reports = []
    for name in sorted(os.listdir(run)):
        if re.fullmatch(r"task-\d+\.json", name):
            with open(os.path.join(run, name), encoding="utf-8") as f:
                reports.append(json.load(f))
    reports.sort(key=lambda r: int(r["task"]))
    print(f"  slurm, one node of {cluster.cpus} CPUs, {len(reports)} array tasks of 1 CPU: "
          f"{wall:.1f} s from submission to gradebook")
    for r in reports:
        print(f"    task {r['task']:>2}: {len(r['students']):>3} students, grading {r['grading_seconds']:7.1f} s, "
              f"kit ready in {r['prepare_seconds']:5.1f} s")
    task_sum = sum(float(r["grading_seconds"]) * int(r["jobs"]) for r in reports)
    print(f"    sum of the tasks' grading: {task_sum:.1f} CPU-slot seconds; the local run: "
          f"{local_seconds:.1f} s x {local_jobs} jobs = {local_seconds * local_jobs:.1f} CPU-slot seconds "
          f"(ratio {task_sum / (local_seconds * local_jobs):.2f}); with k such nodes the grading "
          f"takes about 1/k of the time")


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100,200,400", help="comma-separated class sizes (default 100,200,400)")
    p.add_argument("--jobs", type=int, default=0,
                   help="students graded at once (default: the grader's, one more than the cores)")
    p.add_argument("--slurm", action="store_true",
                   help="grade the first size through a one-machine Slurm cluster too")
    p.add_argument("--slurm-tasks", type=int, default=4, help="array tasks of the Slurm run (default 4)")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    jobs = ["-j", str(args.jobs)] if args.jobs else []
    local_jobs = args.jobs or cli.default_jobs()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bench-grader: the sample class's mix ({len(make_class.STUDENTS)} kinds of student, every "
          f"exercise), {os.cpu_count()} cores, {local_jobs} jobs, load average {load:.1f} at the start")
    tmp = tempfile.mkdtemp(prefix="bench-grader-")
    try:
        one = yardstick(tmp, jobs)
        print(f"  yardstick: one perfect student alone: {one:.1f} s")
        for i, n in enumerate(sizes):
            klass = os.path.join(tmp, f"class-{n}")
            make_class.make_scaled(klass, n)
            wall, students, _ = grade(klass, os.path.join(tmp, f"out-{n}"), jobs)
            print(f"  {n:>4} students: {students:7.1f} s grading ({students / n:5.2f} s per student, "
                  f"{students / n / one:4.2f} x the yardstick), {wall - students:5.1f} s kit and reports; "
                  f"{60 * n / students:6.1f} students per minute")
            if i == 0 and args.slurm:
                slurm_run(klass, tmp, n, students, local_jobs, args.slurm_tasks)
            shutil.rmtree(klass, ignore_errors=True)
            shutil.rmtree(os.path.join(tmp, f"out-{n}"), ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"bench-grader: load average {os.getloadavg()[0]:.1f} at the end (figures taken on a busy "
          "machine are not comparable)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
