"""sandbox.py - run an untrusted program with no view of the grader and hard limits.

Two layers, because either alone can be missing or defeated:

* bubblewrap (bwrap): new namespaces for everything (network is loopback
  only, no further user namespaces), read-only binds of the system folders
  the program needs and of the folders the caller names, a size-limited
  tmpfs `/tmp`, `/` and `/dev` read-only, and no view of grader/,
  solutions/ or other students. The only writable host folder is the one
  the caller names (the compiler's output), and a test run has none.
* rlimits set before exec, by the run's first process (harness/confine.c):
  CPU seconds, address space, processes, file size and open files. When
  the grader runs as root the run also drops to an unprivileged uid leased
  for this run alone, because the kernel never applies RLIMIT_NPROC to
  root: a fork bomb must not starve anyone else's tests, and a run killed
  by its uid must not take a neighbour's run with it.

A wall-clock limit kills the whole process group (and, with bubblewrap,
the pid namespace). Output goes to files the grader opened (the program
only inherits the descriptors), capped by RLIMIT_FSIZE and trimmed when
read back. Test processes also confine themselves (the system-call filter
of harness/seccomp_gen.c), in every sandbox.

When bwrap is missing or cannot start, the fallback is rlimits, a private
scratch folder and `unshare -n` (no network) when that works; `describe()`
names the sandbox actually used so the report can say so.
"""

import atexit
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import typing
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

# System folders a dynamically linked program (libc, the compiler) needs.
SYSTEM_DIRS = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"]
SYSTEM_FILES = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime"]
# Unprivileged uids leased to runs when the grader runs as root: a range of
# its own per grader process, so that two graders running at once never
# share a process budget, nor kill each other's processes.
UID_BASE = 200000 + (os.getpid() % 5000) * 100
UID_COUNT = 100


@dataclass
class Limits:
    cpu_seconds: int = 10  # RLIMIT_CPU: SIGXCPU at this many seconds, SIGKILL one later
    wall_seconds: float = 15.0
    memory_bytes: int = 2 << 30
    processes: int = 256  # threads count as processes for RLIMIT_NPROC
    file_bytes: int = 8 << 20
    open_files: int = 256
    output_bytes: int = 64 << 10  # what is kept of stdout/stderr
    tmp_bytes: int = 64 << 20  # the sandbox's /tmp (bubblewrap): tmpfs pages escape RLIMIT_AS


@dataclass
class Result:
    returncode: int  # negative: killed by that signal
    timed_out: bool
    stdout: str
    stderr: str
    seconds: float
    sandbox: str
    cpu_seconds: float = 0.0  # user + system time of the program and everything it waited for

    @property
    def signal(self) -> int:
        """The signal that ended the program (0: it exited), whatever the sandbox.

        bubblewrap reports a child killed by signal N as exit status 128 + N.
        """
        if self.returncode < 0:
            return -self.returncode
        if self.sandbox == "bwrap" and 128 < self.returncode < 128 + 65:
            return self.returncode - 128
        return 0

    @property
    def exit_code(self) -> Optional[int]:
        """The exit status, or None when a signal ended the program."""
        return None if self.signal else self.returncode


class _UidPool:
    """Unprivileged uids, one per running sandbox (released once nothing of it is left)."""

    def __init__(self) -> None:
        self.free = list(range(UID_BASE + UID_COUNT - 1, UID_BASE - 1, -1))
        self.cond = threading.Condition()

    def take(self) -> int:
        with self.cond:
            while not self.free:
                self.cond.wait()
            return self.free.pop()

    def give(self, uid: int) -> None:
        with self.cond:
            # To the back of the queue: the kernel may still count the run's last processes
            # against the uid's process limit for a moment (a pid namespace dies asynchronously).
            self.free.insert(0, uid)
            self.cond.notify()


_UIDS = _UidPool()


@dataclass
class Sandbox:
    """How to confine programs; `kind` is 'bwrap', 'unshare' or 'rlimits'."""

    kind: str = "auto"
    drop_uid: bool = field(default_factory=lambda: os.geteuid() == 0)

    def __post_init__(self) -> None:
        if self.kind == "auto":
            self.kind = detect()

    def describe(self) -> str:
        names = {
            "bwrap": "bubblewrap (namespaces, loopback-only network, read-only binds, size-limited tmpfs)",
            "unshare": "fallback: rlimits, private scratch folder, no network (unshare -n)",
            "rlimits": "fallback: rlimits and a private scratch folder only (no namespaces available)",
        }
        text = names[self.kind] + " + rlimits + system-call filter"
        if self.drop_uid:
            text += " + unprivileged uid"
        return text

    def run(self, argv: Sequence[str], *, ro_dirs: Sequence[str] = (), rw_dir: Optional[str] = None,
            cwd: Optional[str] = None, limits: Optional[Limits] = None, slot: int = 0,
            env: Optional[Dict[str, str]] = None, pass_fd: Optional[int] = None) -> Result:
        """Runs argv confined; ro_dirs are visible read-only, rw_dir (if any) is writable.

        Paths in argv must be inside ro_dirs (or system folders). pass_fd is a
        descriptor the program inherits (the test's result file). `slot` is
        accepted for callers that still name one; uids are leased per run.
        Returns a Result.
        """
        lim = limits or Limits()
        uid = _UIDS.take() if self.drop_uid else None
        try:
            return self._run(argv, ro_dirs, rw_dir, cwd, lim, uid, env, pass_fd)
        finally:
            if uid is not None:
                _UIDS.give(uid)

    def _run(self, argv: Sequence[str], ro_dirs: Sequence[str], rw_dir: Optional[str], cwd: Optional[str],
             lim: Limits, uid: Optional[int], env: Optional[Dict[str, str]], pass_fd: Optional[int]) -> Result:
        own_scratch = rw_dir is None and self.kind != "bwrap"
        scratch = tempfile.mkdtemp(prefix="grade-scratch-") if own_scratch else rw_dir
        if uid is not None and scratch is not None:
            os.chown(scratch, uid, uid)
        run_env = dict(env or {})
        run_env.setdefault("PATH", "/usr/bin:/bin")
        run_env.setdefault("LANG", "C.UTF-8")
        where = cwd or scratch or (ro_dirs[0] if ro_dirs else "/")
        if self.kind == "bwrap":
            cmd = bwrap_argv(ro_dirs, scratch, where, lim.tmp_bytes) + ["--"] + list(argv)
            run_env["TMPDIR"] = "/tmp"
        else:
            run_env["TMPDIR"] = scratch or "/nonexistent"
            cmd = (["unshare", "-n"] if self.kind == "unshare" else []) + list(argv)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.monotonic()
            helper = confine_helper()
            proc = subprocess.Popen(
                confine_argv(helper, lim, uid) + cmd if helper else cmd,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                cwd=where if self.kind != "bwrap" else None,
                env=run_env, start_new_session=True, close_fds=True,
                pass_fds=(pass_fd,) if pass_fd is not None else (),
                preexec_fn=None if helper else lambda: _confine(lim, uid),
            )
            # wait4 rather than Popen.wait: it also says how much CPU the run used.
            timed_out = threading.Event()

            def wall_clock() -> None:
                timed_out.set()
                _kill_group(proc.pid)

            timer = threading.Timer(lim.wall_seconds, wall_clock)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu = usage.ru_utime + usage.ru_stime
            # Whatever happened, nothing of this run may outlive it.
            _kill_group(proc.pid)
            if uid is not None:
                # A killed pid namespace dies asynchronously, and without one a
                # process may have left the group: the uid goes back to the pool
                # only once nothing of this run is left.
                _wait_uid_gone(uid, kill=True)
            seconds = time.monotonic() - start
            stdout, stderr = _read_capped(out, lim.output_bytes), _read_capped(err, lim.output_bytes)
        if own_scratch and scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        return Result(proc.returncode, timed_out.is_set(), stdout, stderr, seconds, self.kind, cpu)


def bwrap_argv(ro_dirs: Sequence[str], rw_dir: Optional[str], cwd: str,
               tmp_bytes: int = 64 << 20) -> List[str]:
    argv = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
            "--new-session"]
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            argv += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            argv += ["--ro-bind", d, d]
    for f in SYSTEM_FILES:
        if os.path.exists(f):
            argv += ["--ro-bind", f, f]
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    for d in ro_dirs:
        argv += ["--ro-bind", d, d]
    if rw_dir is not None:
        argv += ["--bind", rw_dir, rw_dir]
    # Nothing else writable: tmpfs pages of / or /dev would escape every limit.
    argv += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", cwd]
    return argv


_HELPER_LOCK = threading.Lock()
_HELPER: Optional[str] = None
_HELPER_TRIED = False


def confine_helper() -> Optional[str]:
    """The compiled harness/confine.c (once per grader process), or None without a compiler.

    It sets a run's limits and uid and then execs the run, so the grader
    spawns runs with vfork; without it, _confine does the same in a
    preexec_fn, at the price of a fork of the whole grader per run.
    """
    global _HELPER, _HELPER_TRIED
    with _HELPER_LOCK:
        if not _HELPER_TRIED:
            _HELPER_TRIED = True
            # A folder of this process's own: no other user can put a program where root runs it.
            folder = tempfile.mkdtemp(prefix="grade-confine-")
            atexit.register(shutil.rmtree, folder, True)
            exe = os.path.join(folder, "confine")
            source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness", "confine.c")
            try:
                r = subprocess.run([shutil.which("cc") or "cc", "-std=c11", "-O1", source, "-o", exe],
                                   capture_output=True, timeout=60, check=False)
                _HELPER = exe if r.returncode == 0 else None
            except (OSError, subprocess.SubprocessError):
                _HELPER = None
        return _HELPER


def confine_argv(helper: str, limits: Limits, uid: Optional[int]) -> List[str]:
    """The helper's command line that applies `limits` and `uid` (see harness/confine.c)."""
    return [helper, str(limits.cpu_seconds), str(limits.memory_bytes), str(limits.file_bytes),
            str(limits.open_files), str(limits.processes), str(-1 if uid is None else uid), "--"]


def _confine(limits: Limits, uid: Optional[int]) -> None:
    """In the child, before exec: limits, then the unprivileged uid (confine.c does the same)."""
    def cap(kind: int, value: int) -> None:
        resource.setrlimit(kind, (value, value))

    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    cap(resource.RLIMIT_AS, limits.memory_bytes)
    cap(resource.RLIMIT_FSIZE, limits.file_bytes)
    cap(resource.RLIMIT_NOFILE, limits.open_files)
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_NPROC, limits.processes)
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _uid_alive(uid: int) -> bool:
    """Whether any process runs as uid (read from /proc: no process started per check).

    Zombies do not count: they run nothing, and their parent (not ours) reaps them.
    """
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
            if state not in (b"Z", b"X"):
                return True
        except (OSError, IndexError):
            continue
    return False


def _kill_uid(uid: int) -> None:
    """Without a pid namespace, a process that left the group is found by its uid."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                os.kill(int(entry), signal.SIGKILL)
        except OSError:
            continue


def _wait_uid_gone(uid: int, kill: bool, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while _uid_alive(uid) and time.monotonic() < deadline:
        if kill:
            _kill_uid(uid)
        time.sleep(0.01)


def _read_capped(f: "typing.IO[bytes]", cap: int) -> str:
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(0)
    data = f.read(cap)
    text = data.decode("utf-8", errors="replace")
    if size > cap:
        text += f"\n[... output trimmed: {size - cap} more bytes ...]\n"
    return text


_DETECTED: Optional[str] = None


def detect() -> str:
    """The strongest sandbox that works here (checked once per process)."""
    global _DETECTED
    if _DETECTED is None:
        _DETECTED = "rlimits"
        probe = tempfile.mkdtemp(prefix="grade-probe-")
        try:
            for kind, cmd in (("bwrap", bwrap_argv([], probe, probe) + ["--", "true"]),
                              ("unshare", ["unshare", "-n", "true"])):
                if shutil.which(cmd[0]) is None:
                    continue
                try:
                    uid = UID_BASE if os.geteuid() == 0 else None
                    if uid is not None:
                        os.chown(probe, uid, uid)
                    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       timeout=20, preexec_fn=lambda: _confine(Limits(), uid))
                    if r.returncode == 0:
                        _DETECTED = kind
                        break
                except (OSError, subprocess.SubprocessError):
                    continue
        finally:
            shutil.rmtree(probe, ignore_errors=True)
    return _DETECTED
