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
under ThreadSanitizer, and under the explorer's seeds). Every check a
student's passing test gets (ThreadSanitizer, AddressSanitizer with
LeakSanitizer, the explorer's seeds) must pass the reference too, after a
deliberate race, leak and use after free were shown to be reported here.
"""

import json
import os
import shutil
import subprocess
import time
from typing import Dict, List, Optional

from grader import markers

from . import build as B
from . import runner
from . import status as ST
from .kitbuild import KitExercise, ReferenceRun
from .sandbox import Limits, Result, Sandbox
from .testlist import TestInfo

RUNS = 2  # runs of each test: a count that differs between them is not a fingerprint
# A canary that passed is trusted again for this long, with the same kit, grader, options and
# sandbox on the same boot of the same machine (cli.canary_key): a class graded twice in an
# afternoon grades the references once.
VALID_HOURS = 12


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


def selftest(binary: str, name: str, sandbox: Sandbox, limits: Limits, tsan: bool = False,
             asan: bool = False) -> Result:
    """The end of one of the runner's sanitizer self-tests (@selftest/<name>), run as a test is."""
    timeout = runner.TSAN_FLOOR if tsan else runner.ASAN_FLOOR
    job = runner.Job(TestInfo("@selftest", name), timeout, int(timeout * 4))
    env = runner.sanitizer_env(tsan=tsan, asan=asan, memory_bytes=limits.memory_bytes)
    outer, pieces = runner.run_batch(binary, [job], sandbox, limits, env, sanitized=True)
    return pieces[0].result if pieces else outer


def race_reports_work(binary: str, sandbox: Sandbox, limits: Limits, where: str) -> None:
    """A deliberate race under ThreadSanitizer, confined as a test is, must be reported."""
    r = selftest(binary, "race", sandbox, limits, tsan=True)
    if "WARNING: ThreadSanitizer: data race" not in r.stderr or "selftest_writer" not in r.stderr:
        raise CanaryError(f"ThreadSanitizer does not report a deliberate race {where} (status "
                          f"{r.returncode}):\n{r.stderr[-1500:]}\nUse --no-tsan to grade without it.")


def sanitizer_reports_work(binary: str, sandbox: Sandbox, limits: Limits, where: str) -> None:
    """A deliberate leak and a deliberate use after free, confined as a test is, must be reported.

    The leak check stops the world with ptrace: a sandbox (or a kernel) that
    does not let it would make every leak pass unseen.
    """
    for what, kind, frame in (("leak", "detected memory leaks", "selftest_leak"),
                              ("uaf", "heap-use-after-free", "selftest_use_after_free")):
        r = selftest(binary, what, sandbox, limits, asan=True)
        found, report = runner.asan_report(r.stderr, binary)
        if r.exit_code != runner.ASAN_EXIT or found != kind or frame not in report:
            raise CanaryError(f"AddressSanitizer/LeakSanitizer does not report a deliberate {kind} {where} "
                              f"(status {r.returncode}{', timed out' if r.timed_out else ''}):\n"
                              f"{r.stderr[-1500:]}\nUse --no-asan to grade without it.")


def save(path: str, kx: KitExercise) -> None:
    """Records what a passed canary measured (written atomically)."""
    data = {"when": time.time(), "tests": [t.__dict__ for t in kx.tests],
            "reference": {k: r.__dict__ for k, r in kx.reference.items()}}
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, sort_keys=True)
    os.replace(tmp, path)


def load(path: str, kx: KitExercise) -> bool:
    """Fills kx.tests and kx.reference from a recent passed canary; False when there is none."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not 0 <= time.time() - float(data["when"]) < VALID_HOURS * 3600:
            return False
        tests = [TestInfo(**t) for t in data["tests"]]
        reference = {k: ReferenceRun(**r) for k, r in data["reference"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if {t.id for t in tests} != set(reference):
        return False
    kx.tests, kx.reference = tests, reference
    return True


def check(root: str, kx: KitExercise, sandbox: Sandbox, limits: Limits, allowlist: List[str],
          workdir: str, tsan: bool, jobs: int, seed: Optional[int] = None, asan: bool = False,
          explore: bool = False) -> None:
    """Grades the reference of kx; fills kx.tests and kx.reference, or raises CanaryError.

    With tsan, asan and explore, the reference's tests are checked the way a
    student's passing tests are (runner.checks): every check must pass.
    """
    where = f"in this sandbox ({sandbox.describe()})"
    try:
        _check(root, kx, sandbox, limits, allowlist, workdir, tsan, jobs, seed, asan, explore, where)
    except B.GraderError as e:  # the runner cannot start tests here, or the machine is short
        raise CanaryError(f"the reference solution of {kx.name} cannot be graded {where}: {e}") from e


def _check(root: str, kx: KitExercise, sandbox: Sandbox, limits: Limits, allowlist: List[str],
           workdir: str, tsan: bool, jobs: int, seed: Optional[int], asan: bool, explore: bool,
           where: str) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    b = B.build(kx, reference_files(root, kx), workdir, sandbox, allowlist)
    if not b.ok:
        raise CanaryError(f"the reference solution of {kx.name} does not build {where}: "
                          f"{b.stage}:\n" + "\n".join(b.messages))
    for variant, wanted, name in (("thread", tsan, "ThreadSanitizer"), ("address", asan, "AddressSanitizer")):
        if wanted and not B.build_variant(kx, workdir, sandbox, b, variant, visible=True, hidden=True):
            raise CanaryError(f"the reference solution of {kx.name} does not build with {name} {where}")
    visible = list_tests(b.binary("plain", False))
    hidden = [t for t in list_tests(b.binary("plain", True)) if t not in visible]
    kx.tests = [_info(kx, t, False) for t in visible] + [_info(kx, t, True) for t in hidden]
    unclaimed = [t.id for t in kx.tests if kx.decl.part_of(t.id) is None]
    if unclaimed:  # a test no part's suites claim would be graded nowhere
        raise CanaryError(f"no part of {kx.name}'s EX_PARTS claims the tests {', '.join(unclaimed)}")

    timeouts = {t.id: runner.fitted_timeout(t, None, limits.wall_seconds) for t in kx.tests}
    rounds = [runner.run_plain(lambda hidden: b.binary("plain", hidden), kx.tests, timeouts, sandbox, limits,
                               {}, seed, jobs) for _ in range(RUNS)]
    measured = {t.id: [r[t.id] for r in rounds] for t in kx.tests}
    failing = [(t, r) for t in kx.tests for r in measured[t.id] if r.status != ST.PASS]
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
    if tsan:
        race_reports_work(b.binary("thread", False), sandbox, limits, where)
    if asan:
        sanitizer_reports_work(b.binary("address", False), sandbox, limits, where)
    todo = runner.checks(kx.reference, kx.explore_seeds, kx.tests, tsan, asan, explore and b.explorable)

    checked = runner.run_checks(b.binary, todo, sandbox, limits, kx.reference, seed, kx.name, jobs)
    bad = [(c, r) for c, r in zip(todo, checked) if r.status != ST.PASS]
    if bad:
        def what(c: runner.Check) -> str:
            return {"thread": "ThreadSanitizer", "address": "AddressSanitizer"}.get(c.variant, "the plain run") + (
                f" under the explorer's seed {c.explore}" if c.explore else "")
        raise CanaryError(f"the reference solution of {kx.name} does not pass every check {where}:\n"
                          + "\n".join(f"  {c.test.id} ({what(c)}): {r.status}: "
                                       f"{(r.message + ' ' + r.diagnosis).strip()[:300]}" for c, r in bad))
    shutil.rmtree(workdir, ignore_errors=True)
