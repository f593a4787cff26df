"""runner.py - run tests in the sandbox, each in a process of its own, and judge them.

The grader's runner (harness/runner.c) is started in the sandbox with a
list of tests: it forks one child per test, in order, and reports how each
ended (run_batch, parse_report). Starting the sandbox and a sanitizer's
runtime is paid once per batch, and every test still starts from the same
fresh process. A crash, a hang or an exit() costs that test only, and no
process running a student's code holds a channel to anything that decides
verdicts: the verdict comes from the exit status the kernel reports to the
runner and, for a pass, from the record the test's process wrote through
its record descriptor (which the test's own code cannot write: see
runner.c), checked against the reference solution's run of the same test.
A test that stops the runner itself is run again alone (run_many).

Time limits are fitted to the reference: each test may use ten times
the processor time the reference's run used, at least a tenth of a second, so a
test that spins stops early, whatever else the machine is doing (processor
time, not the wall clock, is what a busy machine does not stretch). A test
that waits for a wake that never comes uses no processor time: the wall
clock stops it at ten times the reference's time, at least 2 s (never more
than its declared timeout), after the runtime's watchdog has said which
task waits. A test that failed is run again only with --reruns (a test
that passes on a rerun is flaky); several runners of one student run at
once.

A test that passed is checked once more (checks(), run_checks()): under
ThreadSanitizer, under AddressSanitizer + LeakSanitizer, and, when it starts
threads, under the schedule explorer's fixed seeds. A check can only take
the test's points away: a sanitizer's report, or a failure under a seed.
"""

import concurrent.futures
import math
import os
import re
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from . import status as ST
from .build import GraderError
from .kitbuild import ReferenceRun
from .sandbox import Limits, Result, Sandbox
from .testlist import TestInfo

# Fitted processor time: the reference's times CPU_MARGIN, at least CPU_FLOOR seconds (the runner
# watches a test's processor clock every few milliseconds, so a limit need not be whole seconds).
CPU_MARGIN = 10.0
CPU_FLOOR = 0.1
# Fitted wall-clock time: the reference's times WALL_MARGIN, at least WALL_FLOOR seconds.
WALL_MARGIN = 10.0
WALL_FLOOR = 2.0
TSAN_FLOOR = 6.0  # wall seconds of a ThreadSanitizer run, at least
EXIT_FAILED, EXIT_SKIPPED, EXIT_UNFINISHED, EXIT_UNUSABLE, EXIT_NO_RECORD = 1, 77, 86, 87, 88
TSAN_EXIT = 66
# atexit_sleep_ms=0: by default ThreadSanitizer sleeps a whole second before a process exits (to
# catch races with threads still running at exit); the runner joins every test's threads first,
# and that second per run was most of a class's grading time.
TSAN_OPTIONS = (f"halt_on_error=1:exitcode={TSAN_EXIT}:report_signal_unsafe=0:atexit_sleep_ms=0:"
                "external_symbolizer_path=")
# AddressSanitizer + LeakSanitizer: the runner checks for leaks itself when the test is over
# (harness/runner.c) and exits with ASAN_EXIT, as the sanitizer does at an error. Reports are
# not symbolized in the test process (race_report's reason): only addresses, read here.
ASAN_EXIT = 67
ASAN_FLOOR = 4.0  # wall seconds of an AddressSanitizer run, at least
# A sanitizer's check run may take this many times the test's fitted timeout: ThreadSanitizer
# slows a threaded test down 5-15 times, a busy machine more, and a test that passed rarely hangs.
CHECK_MARGIN = 6.0
ASAN_OPTIONS = (f"exitcode={ASAN_EXIT}:halt_on_error=1:detect_leaks=1:symbolize=0:"
                "detect_stack_use_after_return=0:detect_odr_violation=0:print_summary=0:"
                "handle_abort=0:allow_user_segv_handler=1")
LSAN_OPTIONS = f"exitcode={ASAN_EXIT}:report_objects=0:print_suppressions=0"
RECORD = re.compile(r"^pass (\S+) (\d+) (\d+) (\d+)\n$")  # id, assertions, threads, CPU µs


@dataclass
class TestRun:
    test_id: str
    status: str
    message: str = ""
    diagnosis: str = ""  # the runtime's lost-waker/watchdog report and any output, trimmed
    seconds: float = 0.0
    attempts: int = 1
    assertions: Optional[int] = None  # of a pass: how many the test evaluated
    threads: int = 0  # of a pass: threads the test started
    flagged: str = ""  # for the instructor: why this result looks forged
    cpu_seconds: float = 0.0
    explore_seed: int = 0  # of a failure: the schedule explorer's seed it failed under (0: none)


def fitted_timeout(test: TestInfo, ref: Optional[ReferenceRun], cap: float) -> float:
    """The wall-clock time one test may take, fitted to the reference's run.

    WALL_MARGIN times the reference's slowest measured run (which includes
    starting the sandbox, on the same machine, in the same run), at least
    WALL_FLOOR seconds, at most the test's declared timeout (within the
    grader's cap). A test that waits for a wake that never comes then costs
    a couple of seconds, not its whole declared timeout; a correct channel
    ten times slower than the reference still passes.
    """
    declared = min(test.timeout or 5.0, cap)
    if ref is None:
        return declared
    return min(declared, max(WALL_FLOOR, round(ref.seconds * WALL_MARGIN, 1)))


def fitted_cpu(test: TestInfo, ref: Optional[ReferenceRun], cap: float) -> float:
    """The processor seconds one test may use: the reference's with a wide margin and a floor."""
    ceiling = fitted_timeout(test, None, cap) * 4  # a few threads busy all along
    if ref is None:
        return max(CPU_FLOOR, ceiling)
    return max(CPU_FLOOR, min(ceiling, round(ref.cpu_seconds * CPU_MARGIN, 2)))


def limits_for(timeout: float, base: Limits, tsan: bool = False, cpu: Optional[float] = None) -> Limits:
    return Limits(cpu_seconds=(int(math.ceil(cpu)) + 1 if cpu is not None
                               else int(max(base.cpu_seconds, timeout * 4 + 2))),
                  wall_seconds=timeout + 2.0,
                  # ThreadSanitizer reserves terabytes of shadow address space: no RLIMIT_AS there.
                  memory_bytes=resource_infinity() if tsan else base.memory_bytes,
                  processes=base.processes, file_bytes=base.file_bytes,
                  open_files=base.open_files, output_bytes=base.output_bytes, tmp_bytes=1 << 20)


def resource_infinity() -> int:
    import resource
    return resource.RLIM_INFINITY


def _diagnosis(stdout: str, stderr: str) -> str:
    """What the run printed, minus the runner's assertion lines (they are the message), trimmed."""
    keep = []
    for line in (stderr + "\n" + stdout).splitlines():
        if line.startswith("[----]") or not line.strip():
            continue
        keep.append(line)
    if len(keep) > 30:
        keep = keep[:30] + [f"[... {len(keep) - 30} more lines ...]"]
    return "\n".join(keep)[:4000]


def _failure_message(stderr: str) -> str:
    lines = [line[len("[----]"):].strip() for line in stderr.splitlines() if line.startswith("[----]")]
    return "\n".join(lines[:12])


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def judge(r: Result, record: str, test: TestInfo, ref: Optional[ReferenceRun], timeout: float,
          cpu: float = 0) -> TestRun:
    """A test's verdict from its exit status and its record (never from what it printed)."""
    diag = _diagnosis(r.stdout, r.stderr)
    run = TestRun(test.id, ST.CRASH, "", diag, r.seconds, cpu_seconds=r.cpu_seconds)
    sig, code = r.signal, r.exit_code
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu and r.cpu_seconds >= cpu):
        run.status = ST.TIMEOUT
        run.message = f"the test used more than {cpu:g} s of processor time without finishing"
        if ref is not None:
            run.message += f" (the reference solution's run uses {ref.cpu_seconds:.2f} s)"
        return run
    if r.timed_out or sig == signal.SIGALRM:
        run.status = ST.TIMEOUT
        run.message = f"the test did not finish within its {timeout:g} s timeout"
        if ref is not None:
            run.message += f" (the reference solution's run takes {ref.seconds:.2f} s)"
        return run
    if sig == signal.SIGKILL:
        # Not the wall clock (that is timed_out): the machine's out-of-memory killer.
        raise GraderError(f"{test.id}: killed by SIGKILL outside the grader's limits (out of memory?)")
    if sig == signal.SIGSYS:
        run.message = ("the test made a system call that channel code never needs, and the sandbox "
                       "stopped it (SIGSYS): processes, files, sockets, ptrace and the like are not "
                       "available to a submission")
        return run
    if sig == signal.SIGABRT and r.seconds >= timeout * 0.8:
        # The runtime's watchdog: it reports the stuck tasks just before the timeout, then aborts.
        run.status = ST.TIMEOUT
        run.message = f"the test did not finish within {timeout:g} s (the runtime's diagnosis below)"
        return run
    if sig:
        run.message = _failure_message(r.stderr) or f"the test crashed ({_signal_name(sig)})"
        if "not implemented" in r.stderr:
            lines = [ln.strip() for ln in r.stderr.splitlines() if "not implemented" in ln]
            run.message = lines[0]
        return run
    if code == EXIT_UNUSABLE:
        raise GraderError(f"{test.id}: the grader's runner could not start the test: {r.stderr.strip()[:300]}")
    if code == EXIT_FAILED:
        run.message = _failure_message(r.stderr)
        if run.message:
            run.status = ST.FAIL
        else:  # no assertion said so: the sandbox itself may have failed to start the test
            first = next((ln for ln in r.stderr.splitlines() if ln.strip()), "")
            run.message = f"the test process exited with status 1 without a failed assertion: {first[:200]}"
        return run
    if code == EXIT_UNFINISHED:
        run.message = "the process ended in the middle of the test (exit() called?)"
        return run
    if code == EXIT_NO_RECORD:
        run.message = "the test closed the descriptor the grader's runner reports through"
        return run
    if code == EXIT_SKIPPED:
        run.status = ST.FAIL
        run.message = "the test was skipped"
        return run
    if code != 0:
        run.message = f"the test process exited with status {code}"
        return run
    m = RECORD.match(record)
    if m is None or m.group(1) != test.id:
        run.message = ("the test process ended with status 0 but without the runner's record of a "
                       "finished test: it did not end the way a test ends")
        return run
    assertions, threads = int(m.group(2)), int(m.group(3))
    run.assertions, run.threads = assertions, threads
    # The test's own count: the sandbox's wait4 sees only bubblewrap's processor time.
    run.cpu_seconds = max(run.cpu_seconds, int(m.group(4)) / 1e6)
    if ref is not None and ref.assertions is not None and assertions != ref.assertions:
        run.status = ST.FAIL
        run.message = (f"the test ended as if it had passed, but it evaluated {assertions} assertions "
                       f"where the reference solution's run evaluates {ref.assertions}: it did not run "
                       "the way the test is written, so it is not a pass")
        run.flagged = (f"fingerprint mismatch: {assertions} assertions evaluated, the reference "
                       f"evaluates {ref.assertions}")
        return run
    run.status = ST.PASS
    return run


def sanitizer_env(tsan: bool = False, asan: bool = False, memory_bytes: int = 0) -> Dict[str, str]:
    """The sanitizer's options for a test process (what it reports, and how it exits then)."""
    if tsan:
        return {"TSAN_OPTIONS": TSAN_OPTIONS}
    if asan:
        # The address space is not limited under AddressSanitizer (its shadow memory reserves
        # terabytes); its own resident-memory limit stands in for RLIMIT_AS.
        rss = f":hard_rss_limit_mb={max(256, memory_bytes >> 20)}" if memory_bytes else ""
        return {"ASAN_OPTIONS": ASAN_OPTIONS + rss, "LSAN_OPTIONS": LSAN_OPTIONS}
    return {}


@dataclass
class Job:
    """One test for the runner to run: its wall-clock and processor limits."""

    test: TestInfo
    timeout: float  # wall-clock seconds
    cpu: float  # processor seconds
    explore: int = 0  # the schedule explorer's seed (KT_EXPLORE, runtime/testing/kt_explore.h), 0: none


@dataclass
class Piece:
    """What the runner reported of one finished test: its process's end, output and record."""

    test_id: str
    result: Result
    record: str


# A batch's report keeps two streams of at most output_bytes per test (and a record of at most
# 1,000 bytes), in a file the runner writes under the sandbox's file-size limit: batch_size().
# Each runner costs a sandbox and a sanitizer's start (about 35 ms of processor time together).
MAX_BATCH = 48
BATCH_SLACK = 2.0  # wall seconds per test for the server's own work (forking, reporting)
STOPPED_PAST_DEADLINE, STOPPED_PAST_CPU_LIMIT = 1, 2  # why the runner killed a test, if it did
END_FIELDS = 12  # "end", the id, "exit" or "signal", then nine numbers


def parse_report(data: bytes) -> Tuple[List[Piece], Optional[str]]:
    """The runner's report (harness/runner.c): the finished tests, and the one it was running.

    The report is written by the runner's server, which no test process can
    reach; a malformed or cut report ends at what was whole.
    """
    pieces: List[Piece] = []
    started: Optional[str] = None
    pos = 0
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        words = data[pos:nl].decode("utf-8", errors="replace").split(" ")
        pos = nl + 1
        if words[0] == "start" and len(words) == 2:
            started = words[1]
            continue
        if words[0] != "end" or len(words) != END_FIELDS or not all(w.isdigit() for w in words[3:]):
            break
        test_id, how = words[1], words[2]
        number, stopped, wall, cpu, out_size, out_kept, err_size, err_kept, rec_kept = map(int, words[3:])
        if pos + out_kept + err_kept + rec_kept > len(data):
            break
        chunks = []
        for size, kept in ((out_size, out_kept), (err_size, err_kept), (rec_kept, rec_kept)):
            text = data[pos:pos + kept].decode("utf-8", errors="replace")
            pos += kept
            if size > kept:
                text += f"\n[... output trimmed: {size - kept} more bytes ...]\n"
            chunks.append(text)
        code = -number if how == "signal" else number
        if stopped == STOPPED_PAST_CPU_LIMIT:
            code = -signal.SIGXCPU  # as RLIMIT_CPU would have ended it, only sooner
        pieces.append(Piece(test_id, Result(code, stopped == STOPPED_PAST_DEADLINE, chunks[0], chunks[1],
                                            wall / 1e6, "runner",
                                            cpu / 1e6), chunks[2]))
        started = None
    return pieces, started


def batch_size(base: Limits) -> int:
    """How many tests one runner runs: at most MAX_BATCH, and what three quarters of the file-size
    limit holds of their kept output (the rest is for the report's lines)."""
    per_test = 2 * base.output_bytes + 1000 + 200
    return max(1, min(MAX_BATCH, base.file_bytes * 3 // 4 // per_test))


def run_batch(binary: str, jobs: List[Job], sandbox: Sandbox, base: Limits, env: Dict[str, str],
              sanitized: bool) -> Tuple[Result, List[Piece]]:
    """Runs the tests of `jobs` in one sandboxed runner, each in a process of its own, in order.

    Returns the runner's own end and the tests it finished.
    """
    wall = sum(j.timeout + BATCH_SLACK for j in jobs) + BATCH_SLACK
    limits = limits_for(wall, base, sanitized, max(j.cpu for j in jobs))
    limits.wall_seconds = wall
    with tempfile.TemporaryFile() as report:
        fd = report.fileno()
        argv = [binary, "--result-fd", str(fd), "--output-cap", str(base.output_bytes)]
        for j in jobs:
            argv += ["--run", j.test.id, "--timeout", f"{j.timeout:g}", "--cpu", f"{j.cpu:g}"]
            argv += ["--explore", str(j.explore)] if j.explore else []
        outer = sandbox.run(argv, ro_dirs=[os.path.dirname(binary)], limits=limits, env=env, pass_fd=fd)
        report.seek(0)
        pieces, _ = parse_report(report.read())
    return outer, pieces


def lost(outer: Result, test: TestInfo, timeout: float) -> TestRun:
    """The verdict of a test during which the runner itself ended (run alone, so it was the test)."""
    if outer.exit_code == EXIT_UNUSABLE:
        raise GraderError(f"{test.id}: the grader's runner could not start the test: {outer.stderr.strip()[:300]}")
    if outer.timed_out:
        return TestRun(test.id, ST.TIMEOUT, f"the test did not finish within its {timeout:g} s timeout",
                       _diagnosis(outer.stdout, outer.stderr), outer.seconds)
    return TestRun(test.id, ST.CRASH, "the test stopped the grader's runner (status "
                   f"{outer.returncode}): a test process may only end itself",
                   _diagnosis(outer.stdout, outer.stderr), outer.seconds)


def run_many(binary: str, jobs: List[Job], sandbox: Sandbox, base: Limits,
             ref: Dict[str, ReferenceRun], seed: Optional[int], tsan: bool = False, asan: bool = False,
             exercise: str = "") -> List[TestRun]:
    """Runs tests (jobs) of one binary, as few sandboxed runners as it takes; a verdict per job.

    One runner runs up to batch_size() tests, each in a fresh process of its
    own. When a runner ends in the middle of a test (a test may stop it),
    the tests it finished keep their verdicts, that test runs again alone,
    and the rest in a runner of their own. tsan, asan: the binary is the
    ThreadSanitizer or AddressSanitizer build.
    """
    env = {"RT_SHAKE": str(seed)} if seed is not None else {}
    env.update(sanitizer_env(tsan, asan, base.memory_bytes))
    out: List[Optional[TestRun]] = [None] * len(jobs)
    pending = list(range(len(jobs)))
    alone = False
    while pending:
        group = pending[:1] if alone else pending[:batch_size(base)]
        outer, pieces = run_batch(binary, [jobs[i] for i in group], sandbox, base, env, tsan or asan)
        # The runner runs its tests in order: its n-th report is of the n-th test.
        for i, p in zip(group, pieces):
            if p.test_id != jobs[i].test.id:
                raise GraderError(f"the grader's runner reported {p.test_id} for {jobs[i].test.id}")
            out[i] = judge_run(p.result, p.record, jobs[i], binary, ref.get(p.test_id), tsan, asan, exercise)
        rest = group[len(pieces):]
        if rest and alone:  # it ended the runner again: that test's verdict is the runner's end
            j = jobs[rest[0]]
            run = lost(outer, j.test, j.timeout)
            if j.explore and run.status != ST.PASS and not tsan:
                explored(run, j.test, j.explore, exercise, asan=asan)
            out[rest[0]] = run
            rest = rest[1:]
        alone = bool(rest)  # the first test it did not finish runs alone next
        pending = rest + pending[len(group):]
    return [run for run in out if run is not None]


def judge_run(r: Result, record: str, job: Job, binary: str, ref: Optional[ReferenceRun], tsan: bool,
              asan: bool, exercise: str) -> TestRun:
    """A finished test's verdict under its variant (plain, ThreadSanitizer or AddressSanitizer)."""
    test, explore = job.test, job.explore
    if tsan:
        return judge_tsan(r, record, test, binary)
    if asan:
        return judge_asan(r, record, test, binary, ref, job.timeout, job.cpu, explore, exercise)
    run = judge(r, record, test, ref, job.timeout, job.cpu)
    if explore and run.status != ST.PASS:
        explored(run, test, explore, exercise, asan=False)
    return run


def plain_job(test: TestInfo, ref: Optional[ReferenceRun], timeout: float) -> Job:
    """A plain run's limits: the wall-clock timeout given, processor time fitted to ref."""
    return Job(test, timeout, fitted_cpu(test, ref, timeout))


def run_once(binary: str, test: TestInfo, sandbox: Sandbox, base: Limits, timeout: float,
             ref: Optional[ReferenceRun], seed: Optional[int], tsan: bool = False,
             cpu: Optional[float] = None, asan: bool = False, explore: int = 0,
             exercise: str = "") -> TestRun:
    """Runs one test once in a fresh sandboxed runner and judges it.

    timeout: wall-clock seconds; cpu: processor seconds (default: fitted to
    ref, or four times the timeout under a sanitizer).
    """
    if cpu is None:
        cpu = fitted_cpu(test, ref, timeout) if not (tsan or asan) else int(math.ceil(timeout * 4))
    return run_many(binary, [Job(test, timeout, cpu, explore)], sandbox, base, {test.id: ref} if ref else {},
                    seed, tsan=tsan, asan=asan, exercise=exercise)[0]


TSAN_ACCESS = re.compile(r"^\s*((?:Previous )?(?:[Aa]tomic )?(?:[Rr]ead|[Ww]rite)) of size (\d+) at 0x[0-9a-f]+ "
                         r"by (main thread|thread T\d+)")
TSAN_FRAME = re.compile(r"^\s*#(\d+) .*\((\S+?)\+0x([0-9a-f]+)\)\s*$")
TSAN_WARNING = re.compile(r"^WARNING: ThreadSanitizer: (.+?) \(pid=\d+\)\s*$")
# The other parts of a report whose frames are kept, by kind: a lock taken while holding
# another, where a leaked thread was created. A misused mutex's frames follow the warning itself.
TSAN_HEADS = {
    "lock-order-inversion (potential deadlock)": [
        re.compile(r"^\s*(Mutex M\d+ acquired here while holding mutex M\d+ in (?:main thread|thread T\d+)):\s*$"),
        re.compile(r"^\s*(Mutex M\d+ previously acquired by the same thread here):\s*$")],
    "thread leak": [
        re.compile(r"^\s*(Thread T\d+) \(tid=\d+, \w+\) (created by (?:main thread|thread T\d+)) at:\s*$")],
}
TSAN_MISUSED_MUTEX = ("unlock of an unlocked mutex (or by a wrong thread)", "double lock of a mutex",
                      "destroy of a locked mutex", "use of an invalid mutex (e.g. uninitialized or destroyed)")
# What ThreadSanitizer reports (its WARNING line names it), said for a student. Only these fixed
# words reach the feedback, never the line's own text; an unknown kind is told as a data race.
TSAN_KINDS = {
    "data race": "a data race: two threads touch the same memory without a lock or atomic between them",
    "lock-order-inversion (potential deadlock)": (
        "a lock-order inversion: two locks are taken in one order on one path and in the other order "
        "on another, so two threads can deadlock (a potential deadlock, even if this run did not hang)"),
    "thread leak": "a thread that was never joined",
    "unlock of an unlocked mutex (or by a wrong thread)": (
        "a mutex unlocked that was not locked, or by a thread that did not lock it"),
    "double lock of a mutex": "a mutex locked twice by the same thread",
    "destroy of a locked mutex": "a mutex destroyed while it was locked",
    "use of an invalid mutex (e.g. uninitialized or destroyed)": (
        "a mutex used before it was initialized or after it was destroyed"),
}


def tsan_kind(stderr: str) -> str:
    """The kind of ThreadSanitizer's first report (a key of TSAN_KINDS), "" if none is known."""
    for line in stderr.splitlines():
        m = TSAN_WARNING.match(line)
        if m and m.group(1) in TSAN_KINDS:
            return m.group(1)
    return ""


def race_report(stderr: str, binary: str) -> str:
    """ThreadSanitizer's report, rebuilt from its addresses alone.

    The process that printed the report ran the student's code and could print
    anything (even, in the fallback sandbox, text of files it was allowed to read
    for the symbolizer): only the report's structure is kept (its kind, one of
    TSAN_KINDS, the accesses, locks and threads it names), and every frame is
    symbolized again here, from the binary, with addr2line.
    """
    kind = tsan_kind(stderr) or "data race"
    rows: List[Tuple[str, List[int]]] = []
    collecting = False  # frames belong to the head just above (not to "Location is ...")
    for line in stderr.splitlines():
        access = TSAN_ACCESS.match(line)
        heads = [m for m in (h.match(line) for h in TSAN_HEADS.get(kind, [])) if m]
        warning = TSAN_WARNING.match(line)
        if access or heads or (kind in TSAN_MISUSED_MUTEX and warning and warning.group(1) == kind and not rows):
            if len(rows) == 4:
                break
            if access:
                rows.append((f"{access.group(1)} of size {access.group(2)} by {access.group(3)}:", []))
            elif heads:
                rows.append((" ".join(heads[0].groups()) + ":", []))
            else:  # a mutex misused: its frames follow the warning line itself
                rows.append((f"{kind}:", []))
            collecting = True
            continue
        frame = TSAN_FRAME.match(line)
        if frame is None:
            collecting = False
            continue
        address = int(frame.group(3), 16)
        if (collecting and os.path.basename(binary) == frame.group(2) and len(rows[-1][1]) < 8
                and address not in rows[-1][1][-1:]):  # an inlined call repeats its caller's address
            rows[-1][1].append(address)
    addresses = [a for _, frames in rows for a in frames]
    names: Dict[int, str] = {}
    if addresses:
        out = subprocess.run(["addr2line", "-f", "-e", binary, *[hex(a) for a in addresses]],
                             capture_output=True, text=True, check=False).stdout.splitlines()
        for i, a in enumerate(addresses):
            if 2 * i + 1 < len(out):
                where = out[2 * i + 1].split(" (")[0]
                names[a] = f"{out[2 * i]} {where}"
    text = [f"WARNING: ThreadSanitizer: {kind}"]
    for head, frames in rows:
        text.append("  " + head)
        text += [f"    #{n} {names.get(a, hex(a))}" for n, a in enumerate(frames)]
    return "\n".join(text)


def judge_tsan(r: Result, record: str, test: TestInfo, binary: str = "") -> TestRun:
    """Under ThreadSanitizer a report (a race, a lock-order inversion, ...) fails the test; a
    clean, finished run passes.

    Anything else (a crash, a timeout: the sanitizer slows threads down a lot)
    comes back as CRASH, which a student's grading ignores (the plain run
    decided) and the canary does not accept (the sanitizer must work here).
    """
    if r.exit_code == TSAN_EXIT:
        found = TSAN_KINDS.get(tsan_kind(r.stderr) or "data race", "")
        return TestRun(test.id, ST.FAIL, f"ThreadSanitizer found {found} (the report below says where)",
                       race_report(r.stderr, binary), r.seconds)
    m = RECORD.match(record)
    if r.exit_code == 0 and m is not None and m.group(1) == test.id:
        return TestRun(test.id, ST.PASS, "", "", r.seconds)
    return TestRun(test.id, ST.CRASH, "the run under ThreadSanitizer did not finish: "
                   f"status {r.returncode}{', timed out' if r.timed_out else ''}",
                   _diagnosis(r.stdout, r.stderr), r.seconds)


def run_test(binary: str, test: TestInfo, sandbox: Sandbox, base: Limits, timeout: float,
             ref: Optional[ReferenceRun], reruns: int, seed: Optional[int] = None) -> TestRun:
    """The verdict of one test; a failure is run again `reruns` times (then flaky if it passes)."""
    return rerun(run_once(binary, test, sandbox, base, timeout, ref, seed), binary, test, sandbox, base,
                 timeout, ref, reruns, seed)


def rerun(first: TestRun, binary: str, test: TestInfo, sandbox: Sandbox, base: Limits, timeout: float,
          ref: Optional[ReferenceRun], reruns: int, seed: Optional[int] = None) -> TestRun:
    """A failed first run, run again alone up to `reruns` times: flaky if it passes then."""
    if first.status == ST.PASS or first.flagged:
        return first
    secs = first.seconds
    for attempt in range(2, reruns + 2):
        again = run_once(binary, test, sandbox, base, timeout, ref, seed)
        secs += again.seconds
        if again.status == ST.PASS:
            return TestRun(test.id, ST.FLAKY, first.message or "failed once, passed when run again",
                           first.diagnosis, secs, attempt, again.assertions, again.threads)
    first.seconds, first.attempts = secs, reruns + 1
    return first


def run_plain(binary_of: Callable[[bool], str], tests: List[TestInfo], timeouts: Dict[str, float],
              sandbox: Sandbox, base: Limits, reference: Dict[str, ReferenceRun], seed: Optional[int],
              jobs: int) -> Dict[str, TestRun]:
    """The plain run of every test: the visible and the hidden binary's tests each dealt round
    the `jobs` runners that run at once (a hanging test then delays a few others, not all)."""
    chunks: List[Tuple[bool, List[Job]]] = []
    for hidden in (False, True):
        mine = [plain_job(t, reference.get(t.id), timeouts[t.id]) for t in tests if t.hidden == hidden]
        n = max(1, min(jobs, len(mine)))
        chunks += [(hidden, mine[i::n]) for i in range(n) if mine[i::n]]

    def one(chunk: Tuple[bool, List[Job]]) -> List[TestRun]:
        return run_many(binary_of(chunk[0]), chunk[1], sandbox, base, reference, seed)

    out: Dict[str, TestRun] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for runs in pool.map(one, chunks):
            out.update((run.test_id, run) for run in runs)
    return out


def reference_runs(runs: Dict[str, list]) -> Dict[str, ReferenceRun]:
    """ReferenceRun per test from several canary runs: the slowest time, and a fingerprint.

    The fingerprint (the assertion count) is kept only for tests that start no
    threads of their own (the runtime's watchdog is one) and counted the same
    on every run: a threaded test's count can follow the schedule (a late
    subscriber drains however much is left), so the same count twice proves
    nothing, and an honest student must never fail on it.
    """
    out = {}
    for test_id, seen in runs.items():
        counts = {r.assertions for r in seen}
        threads = max(r.threads for r in seen)
        out[test_id] = ReferenceRun(seconds=max(r.seconds for r in seen),
                                    assertions=counts.pop() if len(counts) == 1 and threads <= 1 else None,
                                    threads=max(r.threads for r in seen),
                                    cpu_seconds=max(r.cpu_seconds for r in seen))
    return out


ASAN_ERROR = re.compile(r"^==\d+==ERROR: (AddressSanitizer|LeakSanitizer): ([a-z][a-z-]*[a-z])\b")
ASAN_HEADS = [re.compile(p) for p in (
    r"^(READ|WRITE) of size (\d+) at 0x[0-9a-f]+ thread (T\d+)",
    r"^(freed|previously allocated|allocated) by thread (T\d+) here:",
    r"^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\) allocated from:",
    r"^0x[0-9a-f]+ (is located \d+ bytes (?:to the right of|to the left of|inside of) \d+-byte region)")]
ASAN_FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ .*\((\S+?)\+0x([0-9a-f]+)\)\s*$")
ASAN_KINDS = {
    "heap-use-after-free": "your code used memory after freeing it",
    "double-free": "your code freed the same block twice",
    "heap-buffer-overflow": "your code read or wrote past the end (or before the start) of a block",
    "detected memory leaks": "memory was never freed",
}


def asan_report(stderr: str, binary: str) -> Tuple[str, str]:
    """(kind, report) of an AddressSanitizer/LeakSanitizer report, rebuilt from its structure.

    As for race_report: the process ran the student's code, so only the
    report's shape is kept (the kind of error, the sizes, whose thread) and
    its frames in the test binary are symbolized again here, with addr2line.
    """
    kind, sanitizer = "", "AddressSanitizer"
    rows: List[Tuple[str, List[int]]] = []
    for line in stderr.splitlines():
        error = ASAN_ERROR.match(line)
        if error and not kind:
            sanitizer, kind = error.group(1), error.group(2)
            if sanitizer == "LeakSanitizer":
                kind = "detected memory leaks"
            continue
        if not kind:
            continue
        stripped = line.strip()
        head = next((m for m in (h.match(stripped) for h in ASAN_HEADS) if m), None)
        if head is not None:
            if len(rows) == 6:
                break
            said = head.group(1) if head.group(0).startswith("0x") else head.group(0)
            rows.append((("the address " if said.startswith("is located") else "") + " ".join(said.split()), []))
            continue
        frame = ASAN_FRAME.match(line)
        if frame is None or not rows:
            continue
        address = int(frame.group(3), 16)
        if (os.path.basename(binary) == os.path.basename(frame.group(2)) and len(rows[-1][1]) < 8
                and address not in rows[-1][1][-1:]):
            rows[-1][1].append(address)
    # Locations inside the binary only: the error's address and the heap's addresses say nothing.
    rows = [(re.sub(r" at 0x[0-9a-f]+", "", said), frames) for said, frames in rows]
    names = _symbolize(binary, [a for _, frames in rows for a in frames])
    text = [f"ERROR: {sanitizer}: {kind or 'an error'}"]
    for said, frames in rows:
        text.append("  " + said)
        text += [f"    #{n} {names.get(a, hex(a))}" for n, a in enumerate(frames)]
    return kind, "\n".join(text)


def _symbolize(binary: str, addresses: List[int]) -> Dict[int, str]:
    names: Dict[int, str] = {}
    if addresses:
        # The frames are return addresses: one byte back is inside the call instruction.
        out = subprocess.run(["addr2line", "-f", "-e", binary, *[hex(max(0, a - 1)) for a in addresses]],
                             capture_output=True, text=True, check=False).stdout.splitlines()
        for i, a in enumerate(addresses):
            if 2 * i + 1 < len(out):
                where = out[2 * i + 1].split(" (")[0]
                names[a] = f"{out[2 * i]} {where}"
    return names


def replay_command(exercise: str, test: TestInfo, explore: int, asan: bool) -> str:
    """The command a student runs to see the same schedule again (visible tests only)."""
    return (f"make test EX={exercise}{' SAN=address' if asan else ''} EXPLORE={explore} "
            f"T={test.name}")


def explored(run: TestRun, test: TestInfo, explore: int, exercise: str, asan: bool) -> TestRun:
    """Marks a failure seen under the explorer's seed: the message says the seed and the replay."""
    run.explore_seed = explore
    if run.status == ST.CRASH and not run.message:
        run.message = "the test crashed"
    replay = (replay_command(exercise, test, explore, asan) if not test.hidden
              else f"a hidden test: `make explore EX={exercise}` walks such schedules over the visible tests")
    run.message = (f"failed under the schedule explorer's seed {explore} (it passed without the "
                   f"explorer; replay: {replay}): {run.message}")
    if run.status == ST.PASS:
        run.status = ST.FAIL
    return run


def judge_asan(r: Result, record: str, test: TestInfo, binary: str, ref: Optional[ReferenceRun],
               timeout: float, cpu: float, explore: int = 0, exercise: str = "") -> TestRun:
    """Under AddressSanitizer a sanitizer report fails the test; a clean, finished run passes.

    Without the explorer, any other trouble comes back as CRASH, which a
    student's grading ignores (the plain run decided) and the canary does
    not accept. Under an explorer seed, a test that does not pass fails
    there (the seed's schedule showed a bug), with the seed and the replay.
    """
    if r.exit_code == ASAN_EXIT:
        kind, report = asan_report(r.stderr, binary)
        what = ASAN_KINDS.get(kind, kind or "it stopped the test")
        sanitizer = "LeakSanitizer" if kind == "detected memory leaks" else "AddressSanitizer"
        run = TestRun(test.id, ST.FAIL, f"{sanitizer} found an error ({kind or 'unknown'}): {what} "
                      "(the report below says where)", report, r.seconds)
        if explore:
            run.message += f"; under the schedule explorer's seed {explore}"
            if not test.hidden:
                run.message += f" (replay: {replay_command(exercise, test, explore, True)})"
            run.explore_seed = explore
        return run
    m = RECORD.match(record)
    if r.exit_code == 0 and m is not None and m.group(1) == test.id:
        return TestRun(test.id, ST.PASS, "", "", r.seconds)
    if explore:
        # The verdict as a plain run's, then marked: not a pass under this seed.
        run = judge(r, record, test, None, timeout, cpu)
        return explored(run, test, explore, exercise, asan=True)
    return TestRun(test.id, ST.CRASH, "the run under AddressSanitizer did not finish: "
                   f"status {r.returncode}{', timed out' if r.timed_out else ''}",
                   _diagnosis(r.stdout, r.stderr), r.seconds)


@dataclass
class Check:
    """One more run of a test that passed: under a sanitizer, an explorer seed, or both."""

    test: TestInfo
    variant: str  # the binary: plain, thread (ThreadSanitizer) or address (AddressSanitizer)
    explore: int = 0  # the schedule explorer's seed, 0 for none


def checks(reference: Dict[str, ReferenceRun], seeds_of_exercise: List[int], passed: List[TestInfo],
           tsan: bool, asan: bool, explore: bool) -> List[Check]:
    """The runs that check the tests that passed, in the order their verdicts take precedence.

    Threaded tests (the reference's run starts threads) run once under
    ThreadSanitizer, and once under each of the exercise's fixed explorer
    seeds (seeds_of_exercise; a detour at the student's locks only matters
    when another thread runs); with AddressSanitizer those seeded runs are
    its runs too. Every other test runs once under AddressSanitizer, and so
    does every test when `explore` is off: the caller turns it off, too,
    for objects that take no lock the explorer detours at, where every seed
    would run the very same program.
    """
    out: List[Check] = []
    for t in passed:
        ref = reference.get(t.id)
        threaded = ref is not None and ref.threads > 1
        if tsan and threaded:
            out.append(Check(t, "thread"))
        seeds = list(seeds_of_exercise) if explore and threaded else []
        if asan:
            out += [Check(t, "address", s) for s in seeds] if seeds else [Check(t, "address")]
        else:
            out += [Check(t, "plain", s) for s in seeds]
    return out


def check_job(c: Check, base: Limits, ref: Optional[ReferenceRun]) -> Job:
    """The limits of one check run: a multiple of the test's fitted timeout.

    A sanitizer slows a threaded test down many times (the explorer's detours
    too), so a check may take CHECK_MARGIN times the plain run's fitted
    timeout (itself ten times the reference's time, at least WALL_FLOOR):
    sixty times the reference, at least 12 s. A test that deadlocks only
    under a seed's schedule then costs that, not six times its declared
    timeout.
    """
    timeout = fitted_timeout(c.test, ref, base.wall_seconds)
    if c.variant == "plain":  # an explorer seed without AddressSanitizer: its detours cost time too
        timeout = max(WALL_FLOOR, timeout * 2)
    else:
        timeout = max(TSAN_FLOOR if c.variant == "thread" else ASAN_FLOOR, timeout * CHECK_MARGIN)
    return Job(c.test, timeout, int(math.ceil(timeout * 4)), c.explore)


def run_checks(binary_of: Callable[[str, bool], str], todo: List[Check], sandbox: Sandbox, base: Limits,
               reference: Dict[str, ReferenceRun], seed: Optional[int], exercise: str,
               jobs: int) -> List[TestRun]:
    """The verdict of every check in `todo`, in its order.

    The checks of one binary (variant, visible or hidden) share runners
    (run_many), whatever their explorer seeds; the binaries' runners run
    `jobs` at once. A sanitizer run that neither finished nor reported
    (slowed down past its timeout on a busy machine, say) is tried once more
    alone: left alone, it would leave the verdict to the machine's load.
    """
    kinds: Dict[Tuple[str, bool], List[int]] = {}
    for i, c in enumerate(todo):
        kinds.setdefault((c.variant, c.test.hidden), []).append(i)

    def run_kind(kind: Tuple[str, bool], which: List[int]) -> List[TestRun]:
        variant, hidden = kind
        return run_many(binary_of(variant, hidden), [check_job(todo[i], base, reference.get(todo[i].test.id))
                                                     for i in which],
                        sandbox, base, reference, seed, tsan=variant == "thread",
                        asan=variant == "address", exercise=exercise)

    out: List[Optional[TestRun]] = [None] * len(todo)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for which, runs in zip(kinds.values(), pool.map(run_kind, kinds, kinds.values())):
            for i, run in zip(which, runs):
                out[i] = run
    done = [run for run in out if run is not None]
    for i, c in enumerate(todo):
        if done[i].status not in (ST.PASS, ST.FAIL) and not c.explore:
            again = run_kind((c.variant, c.test.hidden), [i])[0]
            again.seconds += done[i].seconds
            done[i] = again
    return done
