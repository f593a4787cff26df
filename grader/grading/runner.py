"""runner.py - run each test alone, in a fresh sandboxed process, and again if it fails.

One process per test means a crash, a hang or an exit() costs that test
only. A test that fails is run again (`reruns` times): if a rerun passes,
the test is flaky, which is graded as failed unless the instructor said
otherwise, and the feedback says so either way.
"""

import os
import shutil
from dataclasses import dataclass

from . import verdict as V
from .sandbox import Limits

REPORT = "criterion-report.json"


@dataclass
class TestRun:
    test_id: str
    status: str
    message: str = ""
    diagnosis: str = ""  # the runtime's lost-waker/watchdog report and any output, trimmed
    seconds: float = 0.0
    attempts: int = 1


def limits_for(test, base):
    timeout = test.timeout or 5.0
    return Limits(cpu_seconds=int(max(base.cpu_seconds, timeout * 4 + 2)),
                  wall_seconds=min(base.wall_seconds, timeout + 3.0) if base.wall_seconds else timeout + 3.0,
                  memory_bytes=base.memory_bytes, processes=base.processes, file_bytes=base.file_bytes,
                  open_files=base.open_files, output_bytes=base.output_bytes)


def _env(seed, explore):
    env = {"RT_SHAKE": str(seed)} if seed is not None else {}
    if explore:
        env["KT_EXPLORE"] = str(explore)  # the schedule explorer's seed (kt_explore.h)
    return env


def run_once(binary, test, scratch, sandbox, limits, slot, seed, explore=None):
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    os.chmod(scratch, 0o700)
    report = os.path.join(scratch, REPORT)
    argv = [binary, f"--filter={test.id}", "-j1", f"--json={report}", "--short-filename",
            "--color=never"]
    env = _env(seed, explore)
    r = sandbox.run(argv, ro_dirs=[os.path.dirname(binary)], rw_dir=scratch, limits=limits,
                    slot=slot, env=env)
    text = None
    try:
        # The runner wrote it as the sandbox's uid: read it without following links.
        fd = os.open(report, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            text = f.read(4 << 20).decode("utf-8", errors="replace")
    except OSError:
        pass
    v = V.from_report(text, test.id, r.returncode, r.timed_out)
    if v.status == V.CRASH and test.timeout and r.seconds >= test.timeout * 0.95:
        # Criterion reports a test it killed at its .timeout as crashed; the clock says why.
        v = V.Verdict(V.TIMEOUT, f"the test did not finish within its {test.timeout:g} s timeout")
    return v, _diagnosis(r.stdout, r.stderr), r.seconds


def _diagnosis(stdout, stderr):
    """What the run printed, minus Criterion's own banner lines, trimmed."""
    keep = []
    for line in (stderr + "\n" + stdout).splitlines():
        if line.startswith(("[====]", "[----]", "[FAIL]", "[PASS]", "[ERR ]", "[SKIP]", "[WARN]",
                            "Criterion v", "[RUN ]")) or not line.strip():
            continue
        keep.append(line)
    if len(keep) > 30:
        keep = keep[:30] + [f"[... {len(keep) - 30} more lines ...]"]
    text = "\n".join(keep)
    return text[:4000]


def run_batch(binary, tests, scratch, sandbox, base_limits, slot, seed=None, explore=None):
    """Runs the whole suite in one sandboxed Criterion run.

    Returns ({test id: Verdict} of the passes, {test id: (status, message)} of the failures).

    Criterion already gives every test a process of its own; running them in
    one invocation saves its start-up cost (about 0.3 s) per test. Tests that
    do not pass here are run again alone (run_test), which decides them.
    """
    # Criterion stops each test at its own .timeout; the wall clock here is the
    # backstop for the runner itself, so it allows every test its full time.
    total = sum(min(t.timeout or 5.0, base_limits.wall_seconds) + 1.0 for t in tests) + 5.0
    limits = limits_for(tests[0], base_limits)
    limits.wall_seconds = total
    limits.cpu_seconds = int(max(limits.cpu_seconds, total * 4))
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    os.chmod(scratch, 0o700)
    report = os.path.join(scratch, REPORT)
    argv = [binary, "-j1", f"--json={report}", "--short-filename", "--color=never"]
    env = _env(seed, explore)
    r = sandbox.run(argv, ro_dirs=[os.path.dirname(binary)], rw_dir=scratch, limits=limits,
                    slot=slot, env=env)
    passes, failed = {}, {}
    try:
        fd = os.open(report, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            ran = V.parse_report(f.read(8 << 20).decode("utf-8", errors="replace"))
    except (OSError, ValueError, KeyError, TypeError):
        ran = {}
    if not r.timed_out:
        for t in tests:
            v = V.from_batch(ran, t.id)
            if v is not None:
                passes[t.id] = v
            elif t.id in ran:
                failed[t.id] = ran[t.id]
    shutil.rmtree(scratch, ignore_errors=True)
    return passes, failed


def run_test(binary, test, scratch, sandbox, base_limits, slot, reruns, seed=None, failed_before=False,
             explore=None):
    """The verdict of one test run alone; failed_before: it already failed in the batch run
    (under the explorer's seed `explore`, when given)."""
    limits = limits_for(test, base_limits)
    v, diag, secs = run_once(binary, test, scratch, sandbox, limits, slot, seed, explore)
    attempts = 1
    if failed_before and v.status == V.PASS:
        return TestRun(test.id, V.FLAKY, "failed in the full run, passed when run again alone",
                       diag, secs, 2)
    if v.status != V.PASS:
        # A failure in the batch run was the first attempt already.
        for _ in range(reruns - (1 if failed_before else 0)):
            attempts += 1
            again, _, more = run_once(binary, test, scratch, sandbox, limits, slot, seed, explore)
            secs += more
            if again.status == V.PASS:
                return TestRun(test.id, V.FLAKY, v.message or "failed once, passed when run again",
                               diag, secs, attempts)
    shutil.rmtree(scratch, ignore_errors=True)
    return TestRun(test.id, v.status, v.message, diag, secs, attempts)
