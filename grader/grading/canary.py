"""canary.py - grade the reference solutions first, the way every student will be graded.

Before any student, each exercise's reference solution goes through the
students' path: compiled in the same sandbox, checked by the same policy,
linked with the same kit objects, every test run in the same sandbox with
the same limits. It must earn every point. If it does not, the sandbox (or
the kit) is broken here (a missing device, a filesystem the unprivileged
uid cannot use, a policy that refuses the reference), and grading would
give honest students zeros: the run stops with a message naming the
failing tests and the sandbox, before anyone is graded.

The same runs measure what the grading needs of the reference: the
processor time of each test (a student's is fitted to it), the number of
assertions it evaluates (a pass that evaluates a different number is not a
pass; kept only for tests that start no threads and count the same on
every run) and whether it starts threads (the tests that do run once more
under ThreadSanitizer).
"""

import concurrent.futures
import os
import shutil
import subprocess
import tempfile
from typing import Dict, List, Optional

from grader import markers

from . import build as B
from . import runner
from . import status as ST
from .kitbuild import KitExercise
from .sandbox import Limits, Sandbox
from .testlist import TestInfo

RUNS = 2  # runs of each test: a count that differs between them is not a fingerprint


class CanaryError(Exception):
    """The reference solution does not earn every point here: nothing may be graded."""


def reference_files(root: str, kx: KitExercise) -> Dict[str, bytes]:
    """The reference's student files, as a student would hand them in (no solution markers)."""
    files = {}
    for name in kx.decl.student_files:
        path = os.path.join(root, "solutions", kx.name, name)
        with open(path, encoding="utf-8") as f:
            files[name] = markers.make_reference(f.read(), os.path.relpath(path, root)).encode()
    return files


def list_tests(binary: str) -> List[str]:
    out = subprocess.run([binary, "--list"], capture_output=True, text=True, timeout=60, check=False)
    if out.returncode != 0:
        raise CanaryError(f"{binary} --list failed: {out.stderr.strip()[:500]}")
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]


def _info(kx: KitExercise, test_id: str, hidden: bool) -> TestInfo:
    suite, name = test_id.split("/", 1)
    info = kx.infos.get(test_id) or TestInfo(suite, name, "", 0.0, hidden)
    info.hidden = hidden
    return info


def race_reports_work(binary: str, sandbox: Sandbox, limits: Limits, where: str) -> None:
    """A deliberate race under ThreadSanitizer, confined as a test is, must be reported."""
    with tempfile.TemporaryFile() as result:
        r = sandbox.run([binary, "--race-selftest"], ro_dirs=[os.path.dirname(binary)],
                        limits=runner.limits_for(runner.TSAN_FLOOR, limits, tsan=True),
                        env={"TSAN_OPTIONS": runner.TSAN_OPTIONS}, pass_fd=result.fileno())
    if "WARNING: ThreadSanitizer: data race" not in r.stderr or "selftest_writer" not in r.stderr:
        raise CanaryError(f"ThreadSanitizer does not report a deliberate race {where} (status "
                          f"{r.returncode}):\n{r.stderr[-1500:]}\nUse --no-tsan to grade without it.")


def check(root: str, kx: KitExercise, sandbox: Sandbox, limits: Limits, allowlist: List[str],
          workdir: str, tsan: bool, jobs: int, seed: Optional[int] = None) -> None:
    """Grades the reference of kx; fills kx.tests and kx.reference, or raises CanaryError."""
    where = f"in this sandbox ({sandbox.describe()})"
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    b = B.build(kx, reference_files(root, kx), workdir, sandbox, allowlist)
    if b.ok and tsan and not B.build_thread(kx, workdir, sandbox, b, visible=True, hidden=True):
        raise CanaryError(f"the reference solution of {kx.name} does not build with ThreadSanitizer {where}")
    if not b.ok:
        raise CanaryError(f"the reference solution of {kx.name} does not build {where}: "
                          f"{b.stage}:\n" + "\n".join(b.messages))
    visible = list_tests(b.binary("plain", False))
    hidden = [t for t in list_tests(b.binary("plain", True)) if t not in visible]
    kx.tests = [_info(kx, t, False) for t in visible] + [_info(kx, t, True) for t in hidden]
    unclaimed = [t.id for t in kx.tests if kx.decl.part_of(t.id) is None]
    if unclaimed:  # a test no part's suites claim would be graded nowhere
        raise CanaryError(f"no part of {kx.name}'s EX_PARTS claims the tests {', '.join(unclaimed)}")

    def measure(t: TestInfo) -> List[runner.TestRun]:
        timeout = runner.fitted_timeout(t, None, limits.wall_seconds)
        return [runner.run_once(b.binary("plain", t.hidden), t, sandbox, limits, timeout, None, seed)
                for _ in range(RUNS)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        measured = dict(zip((t.id for t in kx.tests), pool.map(measure, kx.tests)))
    failing = [(t, r) for t in kx.tests for r in measured[t.id][:1] + measured[t.id][1:]
               if r.status != ST.PASS]
    if failing:
        seen = set()
        lines = []
        for t, r in failing:
            if t.id not in seen:
                seen.add(t.id)
                lines.append(f"  {t.id}: {r.status}: {(r.message or r.diagnosis).strip()[:300]}")
        raise CanaryError(f"the reference solution of {kx.name} does not pass every test {where}; "
                          f"{len(seen)} of {len(kx.tests)} fail:\n" + "\n".join(lines))
    kx.reference = runner.reference_runs(measured)
    if not tsan:
        return
    threaded = [t for t in kx.tests if kx.reference[t.id].threads > 1]
    race_reports_work(b.binary("thread", False), sandbox, limits, where)

    def race_check(t: TestInfo) -> runner.TestRun:
        timeout = max(runner.TSAN_FLOOR, runner.fitted_timeout(t, kx.reference[t.id], limits.wall_seconds) * 3)
        return runner.run_once(b.binary("thread", t.hidden), t, sandbox, limits, timeout, None, seed, tsan=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        raced = [r for r in pool.map(race_check, threaded) if r.status != ST.PASS]
    if raced:
        raise CanaryError(f"ThreadSanitizer reports races in the reference solution of {kx.name} {where}:\n"
                          + "\n".join(f"  {r.test_id}: {r.diagnosis[:300]}" for r in raced))
    shutil.rmtree(workdir, ignore_errors=True)
