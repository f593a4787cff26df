"""slurm.py - grade a class on a Slurm cluster: one job array, then the usual outputs.

    grader/grade SUBMISSIONS --out OUT --slurm [--partition P] [--array-size N] [--wait] [options]

Three steps, all through this same command:

1. Submit (here, usually the cluster's login node). The kit's side is
   compiled once into OUT/.build (OUT must be a folder every node sees),
   the students without a cached result are found, dealt round-robin into
   N slices, and one job array is submitted (`sbatch --array=0-N-1`),
   followed by a merge job that waits for it (`--dependency=afterany`).
   With --wait no merge job: this command waits for the array and merges.
2. Each array task copies the compiled kit to its node's own scratch
   folder (so no task ever rewrites a file another is linking with) and
   grades its slice as a local run would: the same command line, the same
   sandbox, the same limits. Every result goes into OUT/.cache, the cache
   a local run uses, the moment it is complete; the task then records
   what it did in OUT/.slurm/<run>/task-<i>.json.
3. Merge. Once every task has reported, the ordinary local run goes over
   the whole class: every result comes from the cache, so the gradebook,
   feedback, class report, JUnit and results.json are written by the same
   code as a local run's, from the same results: the same bytes.

A task that died leaves its students without a result: the merge names
them, and running the same command again submits only them.
"""

import argparse
import copy
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from grader import kit

from . import cache as C
from . import core

if TYPE_CHECKING:  # cli imports this module
    from .cli import Context

Log = Callable[[str], None]
GRADE = os.path.join(kit.ROOT, "grader", "grade")
STUDENTS_PER_TASK = 10  # the default slice: the kit's preparation is paid once per task


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The Slurm options of `grader/grade`."""
    g = p.add_argument_group("Slurm", "grade on a Slurm cluster as one job array (see grader/README.md)")
    g.add_argument("--slurm", action="store_true",
                   help="submit the grading as a Slurm job array; --out must be on a folder every node sees")
    g.add_argument("--partition", help="the Slurm partition (default: the cluster's default)")
    g.add_argument("--array-size", type=int, default=0,
                   help=f"array tasks, each grading a slice of the class (default: one per "
                        f"{STUDENTS_PER_TASK} students)")
    g.add_argument("--wait", action="store_true",
                   help="wait for the array and merge here (default: a dependent merge job does)")
    g.add_argument("--slurm-cpus", type=int, default=2, help="CPUs per array task (default 2)")
    g.add_argument("--slurm-time", help="time limit per array task, as sbatch --time takes it")
    g.add_argument("--sbatch-arg", action="append", default=[],
                   help="one more argument for sbatch (repeat), e.g. --sbatch-arg=--account=cs101")
    g.add_argument("--slurm-task", metavar="PLAN", help=argparse.SUPPRESS)
    g.add_argument("--slurm-merge", metavar="PLAN", help=argparse.SUPPRESS)


def wanted(args: argparse.Namespace) -> bool:
    """Whether this invocation is one of the Slurm steps."""
    return bool(args.slurm or args.slurm_task or args.slurm_merge)


class NotCached(BaseException):
    """A result the cache does not have (only CacheOnly raises it).

    A BaseException, like KeyboardInterrupt: the grader turns any Exception
    while grading a student into that student's "grader error" row, and this
    must instead stop the probe before anything is graded.
    """


class CacheOnly(C.Cache):
    """The class's cache, read only: a missing result is counted and raises instead of being graded."""

    def __init__(self, folder: str) -> None:
        super().__init__(folder)
        self.misses = 0  # counted too, in case something between here and the probe catches the raise

    def get(self, k: str) -> Optional[Dict[str, Any]]:
        value = super().get(k)
        if value is None:
            self.misses += 1
            raise NotCached(k)
        return value

    def put(self, k: str, value: Dict[str, Any]) -> None:
        self.misses += 1
        raise NotCached(k)


def deal(names: List[str], tasks: int) -> List[List[str]]:
    """names dealt round-robin into `tasks` slices: neighbours (often alike) go to different tasks."""
    return [names[i::tasks] for i in range(tasks)]


def array_size(requested: int, students: int) -> int:
    if students == 0:
        return 0
    if requested <= 0:
        requested = -(-students // STUDENTS_PER_TASK)
    return max(1, min(requested, students))


def run(args: argparse.Namespace, raw: List[str], entries: List[Tuple[str, str]], log: Log) -> Optional[int]:
    """The Slurm step this invocation asks for. None: go on as a local run, which merges from the cache."""
    if args.slurm_task:
        return task(args, entries, log)
    if args.slurm_merge:
        return merge_check(args.slurm_merge, args)
    return submit(args, raw, entries, log)


# --- 1. submit -------------------------------------------------------------------------------


def _out(args: argparse.Namespace) -> str:
    return os.path.abspath(str(args.out))


def pending(ctx: "Context", entries: List[Tuple[str, str]], args: argparse.Namespace) -> List[str]:
    """The students some of whose results the cache lacks (all of them with --no-cache, plus -s ones)."""
    if args.no_cache:
        return [n for n, _ in entries]
    only = CacheOnly(ctx.cache.folder)
    probe = replace(ctx, use_cache=True, cache=only)
    regrade = set(args.student)
    names = []
    for slot, (name, path) in enumerate(entries):
        if name in regrade:
            names.append(name)
            continue
        before = only.misses
        try:
            core.grade_student(probe, name, path, slot)
        except NotCached:
            pass
        if only.misses > before:
            names.append(name)
    return names


def submit(args: argparse.Namespace, raw: List[str], entries: List[Tuple[str, str]], log: Log) -> Optional[int]:
    from . import cli

    sbatch = shutil.which("sbatch")
    if sbatch is None:
        print("grade: --slurm needs Slurm's sbatch on PATH (run it on the cluster's login node)",
              file=sys.stderr)
        return 2
    out = _out(args)
    ctx = cli.prepare(args, log)  # the kit's side, compiled once into OUT/.build
    try:
        todo = pending(ctx, entries, args)
    finally:
        shutil.rmtree(ctx.workspace, ignore_errors=True)
    if not todo:
        log(f"[slurm] every result of the {len(entries)} students is in the cache: merging here")
        return _merge_here(args)
    n = array_size(args.array_size, len(todo))
    run_dir = os.path.join(out, ".slurm", time.strftime("run-%Y%m%d-%H%M%S") + f"-{os.getpid()}")
    os.makedirs(run_dir)
    plan_path = os.path.join(run_dir, "plan.json")
    plan = {"slices": deal(todo, n), "out": out, "cpus": args.slurm_cpus, "run": run_dir}
    with open(plan_path, "w", encoding="utf-8") as f:
        json.dump(plan, f, indent=1)
    common = [sbatch, "--parsable", f"--chdir={os.getcwd()}", f"--cpus-per-task={args.slurm_cpus}"]
    common += [f"--partition={args.partition}"] if args.partition else []
    common += list(args.sbatch_arg)
    array = common + [f"--job-name=grade-{os.path.basename(out)}", f"--array=0-{n - 1}",
                      f"--output={run_dir}/task-%a.out"]
    array += [f"--time={args.slurm_time}"] if args.slurm_time else []
    array += ["--wait"] if args.wait else []
    task_script = _script(run_dir, "task.sh", "One task of a grading job array: grades its slice "
                          "of the class into the shared cache.", raw + ["--slurm-task", plan_path])
    print(f"[slurm] submitting {n} array tasks for {len(todo)} students"
        + (f" ({len(entries) - len(todo)} need no grading: results cached, or nothing to grade)"
           if len(todo) < len(entries) else ""))
    r = subprocess.run(array + [task_script], capture_output=True, text=True)
    job = r.stdout.strip().split(";")[0]
    if not args.wait:
        if r.returncode != 0 or not job:
            print(f"grade: sbatch refused the job array:\n{r.stderr.strip()}", file=sys.stderr)
            return 1
        merge_script = _script(run_dir, "merge.sh", "The merge job: once the array has ended, writes the "
                               "gradebook and reports from the cache.", raw + ["--slurm-merge", plan_path])
        m = subprocess.run(common + ["--job-name=grade-merge", f"--dependency=afterany:{job}",
                                     f"--output={run_dir}/merge.out", merge_script],
                           capture_output=True, text=True)
        merge_job = m.stdout.strip().split(";")[0]
        if m.returncode != 0 or not merge_job:
            print(f"grade: sbatch refused the merge job:\n{m.stderr.strip()}\n"
                  f"Once job {job} has ended, run this same command again with --wait to merge.",
                  file=sys.stderr)
            return 1
        print(f"[slurm] submitted job array {job} ({n} tasks) and merge job {merge_job}, which starts "
              f"when the array has ended")
        print(f"[slurm] follow them with: squeue -j {job},{merge_job}; logs in {run_dir}")
        print(f"[slurm] the gradebook will be {os.path.join(out, 'gradebook.csv')}")
        return 0
    if not job:
        print(f"grade: sbatch refused the job array:\n{r.stderr.strip()}", file=sys.stderr)
        return 1
    log(f"[slurm] job array {job} ended (sbatch exit status {r.returncode}); merging here")
    code = merge_check(plan_path, args)
    return code if code is not None else _merge_here(args)


def _script(run_dir: str, name: str, what: str, argv: List[str]) -> str:
    path = os.path.join(run_dir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"#!/bin/sh\n# {what}\nexec {shlex.join([GRADE, *argv])}\n")
    os.chmod(path, 0o755)
    return path


def _merge_here(args: argparse.Namespace) -> Optional[int]:
    # The local run that follows takes every result from the cache; it must
    # not set the cache aside, nor regrade anyone the array has just graded.
    args.no_cache = False
    args.student = []
    args.slurm = False
    return None


# --- 2. one array task -----------------------------------------------------------------------


def task(args: argparse.Namespace, entries: List[Tuple[str, str]], log: Log) -> int:
    from . import cli

    with open(args.slurm_task, encoding="utf-8") as f:
        plan = json.load(f)
    index = int(os.environ.get("SLURM_ARRAY_TASK_ID", "-1"))
    if not 0 <= index < len(plan["slices"]):
        print(f"grade: --slurm-task is run by a job array task (SLURM_ARRAY_TASK_ID={index})", file=sys.stderr)
        return 2
    names = set(plan["slices"][index])
    mine = [e for e in entries if e[0] in names]
    host = socket.gethostname()
    started = time.monotonic()
    local = tempfile.mkdtemp(prefix="grade-task-")
    try:
        # The kit compiled once by the submitter, copied with its times (make sees
        # it up to date), and the class's shared cache, where results go.
        shutil.copytree(os.path.join(plan["out"], ".build"), os.path.join(local, ".build"), symlinks=True)
        os.symlink(os.path.join(plan["out"], ".cache"), os.path.join(local, ".cache"))
        mine_args = copy.copy(args)
        mine_args.out = local
        mine_args.jobs = int(os.environ.get("SLURM_CPUS_PER_TASK", plan["cpus"]))
        ctx = cli.prepare(mine_args, log)
        prepared = time.monotonic() - started
        try:
            log(f"[slurm] task {index} on {host}: {len(mine)} students, {mine_args.jobs} jobs, "
                f"sandbox: {ctx.sandbox.describe()}")
            results, seconds = cli.grade_all(ctx, mine, mine_args, log)
        finally:
            shutil.rmtree(ctx.workspace, ignore_errors=True)
    finally:
        shutil.rmtree(local, ignore_errors=True)
    report = {"task": index, "host": host, "students": sorted(names), "jobs": mine_args.jobs,
              "prepare_seconds": round(prepared, 2), "grading_seconds": round(seconds, 2),
              "statuses": {r["student"]: [e["status"] for e in r["exercises"]] for r in results}}
    path = os.path.join(plan["run"], f"task-{index}.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)
    print(f"[slurm] task {index} on {host}: graded {len(mine)} students in {seconds:.1f} s "
          f"(kit ready in {prepared:.1f} s)")
    return 0


# --- 3. merge --------------------------------------------------------------------------------


def task_reports(plan_path: str) -> Tuple[Dict[str, Any], List[Optional[Dict[str, Any]]]]:
    """The plan of a run and each task's report (None for a task that did not finish)."""
    with open(plan_path, encoding="utf-8") as f:
        plan = json.load(f)
    reports: List[Optional[Dict[str, Any]]] = []
    for i in range(len(plan["slices"])):
        try:
            with open(os.path.join(plan["run"], f"task-{i}.json"), encoding="utf-8") as f:
                reports.append(json.load(f))
        except (OSError, ValueError):
            reports.append(None)
    return plan, reports


def merge_check(plan_path: str, args: argparse.Namespace) -> Optional[int]:
    """None when every task of the run reported (then merge); else say who is missing, and 1."""
    plan, reports = task_reports(plan_path)
    missing = [(i, s) for i, (s, r) in enumerate(zip(plan["slices"], reports)) if r is None]
    if missing:
        print(f"grade: {len(missing)} of the {len(reports)} array tasks did not finish; "
              "their students have no result yet:", file=sys.stderr)
        for i, students in missing:
            print(f"  task {i} (log {plan['run']}/task-{i}.out): {', '.join(students)}", file=sys.stderr)
        print("Run the same command again: only the students without a result are submitted.",
              file=sys.stderr)
        return 1
    return _merge_here(args)
