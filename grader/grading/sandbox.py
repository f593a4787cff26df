"""sandbox.py - run an untrusted program with no view of the grader and hard limits.

Two layers, because either alone can be missing or defeated:

* bubblewrap (bwrap): new namespaces for everything (network is loopback
  only), read-only binds of the system folders the test binary needs, the
  program's own folder read-only, a tmpfs as the only writable place, and
  no view of grader/, solutions/ or other students.
* rlimits set in the child before exec: CPU seconds, address space,
  processes, file size and open files. When the grader runs as root the
  child also drops to an unprivileged uid of its own (one per worker slot),
  because the kernel never applies RLIMIT_NPROC to root, and a fork bomb
  must not starve the other students' tests.

A wall-clock limit kills the whole process group. Output goes to files the
grader opened (the program only inherits the descriptors), capped by
RLIMIT_FSIZE and trimmed when read back.

When bwrap is missing or cannot start, the fallback is rlimits, a private
scratch folder and `unshare -n` (no network) when that works; `describe()`
names the sandbox actually used so the report can say so.
"""

import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
import typing
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

# System folders a dynamically linked test binary (libcriterion, libc) needs.
SYSTEM_DIRS = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"]
SYSTEM_FILES = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime"]
# Unprivileged uids for the worker slots when running as root: a range of its
# own per grader process, so that two graders running at once never share a
# process budget, nor kill each other's processes.
UID_BASE = 200000 + (os.getpid() % 5000) * 100


@dataclass
class Limits:
    cpu_seconds: int = 10
    wall_seconds: float = 15.0
    memory_bytes: int = 2 << 30
    processes: int = 256  # threads count as processes for RLIMIT_NPROC
    file_bytes: int = 8 << 20
    open_files: int = 256
    output_bytes: int = 64 << 10  # what is kept of stdout/stderr


@dataclass
class Result:
    returncode: int  # negative: killed by that signal
    timed_out: bool
    stdout: str
    stderr: str
    seconds: float
    sandbox: str


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
            "bwrap": "bubblewrap (namespaces, loopback-only network, read-only binds, tmpfs scratch)",
            "unshare": "fallback: rlimits, private scratch folder, no network (unshare -n)",
            "rlimits": "fallback: rlimits and a private scratch folder only (no namespaces available)",
        }
        text = names[self.kind] + " + rlimits"
        if self.drop_uid:
            text += " + unprivileged uid"
        return text

    def run(self, argv: Sequence[str], *, ro_dirs: Sequence[str] = (), rw_dir: Optional[str] = None,
            cwd: Optional[str] = None, limits: Optional[Limits] = None, slot: int = 0,
            env: Optional[Dict[str, str]] = None) -> Result:
        """Runs argv confined; ro_dirs are visible read-only, rw_dir is the scratch.

        Paths in argv must be inside ro_dirs (or system folders). Returns a Result.
        """
        lim = limits or Limits()
        own_scratch = rw_dir is None
        scratch = tempfile.mkdtemp(prefix="grade-scratch-") if rw_dir is None else rw_dir
        uid = UID_BASE + slot % 100 if self.drop_uid else None
        if uid is not None:
            os.chown(scratch, uid, uid)
        env = dict(env or {})
        env.setdefault("PATH", "/usr/bin:/bin")
        env.setdefault("LANG", "C.UTF-8")
        if self.kind == "bwrap":
            cmd = bwrap_argv(ro_dirs, scratch, cwd or scratch) + ["--"] + list(argv)
            env["TMPDIR"] = "/tmp"
        else:
            env["TMPDIR"] = scratch
            cmd = (["unshare", "-n"] if self.kind == "unshare" else []) + list(argv)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.monotonic()
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd or scratch,
                env=env, start_new_session=True, close_fds=True,
                preexec_fn=lambda: _confine(lim, uid),
            )
            timed_out = False
            try:
                proc.wait(timeout=lim.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
            # Whatever happened, nothing of this run may outlive it.
            _kill_group(proc.pid)
            proc.wait()
            if uid is not None and timed_out:
                # A killed pid namespace dies asynchronously; the slot's next run
                # must not find its process budget taken by the remains of this one.
                _wait_uid_gone(uid, kill=self.kind != "bwrap")
            seconds = time.monotonic() - start
            stdout, stderr = _read_capped(out, lim.output_bytes), _read_capped(err, lim.output_bytes)
        if own_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        return Result(proc.returncode, timed_out, stdout, stderr, seconds, self.kind)


def bwrap_argv(ro_dirs: Sequence[str], rw_dir: str, cwd: str) -> List[str]:
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--as-pid-1"]
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            argv += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            argv += ["--ro-bind", d, d]
    for f in SYSTEM_FILES:
        if os.path.exists(f):
            argv += ["--ro-bind", f, f]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for d in ro_dirs:
        argv += ["--ro-bind", d, d]
    argv += ["--bind", rw_dir, rw_dir, "--chdir", cwd]
    return argv


def _confine(limits: Limits, uid: Optional[int]) -> None:
    """In the child, before exec: limits, then the unprivileged uid."""
    def cap(kind: int, value: int) -> None:
        resource.setrlimit(kind, (value, value))

    cap(resource.RLIMIT_CPU, limits.cpu_seconds)
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


def _kill_uid(uid: int) -> None:
    """Without a pid namespace, a process that left the group is found by its uid."""
    subprocess.run(["pkill", "-KILL", "-U", str(uid)], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)


def _wait_uid_gone(uid: int, kill: bool, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if kill:
            _kill_uid(uid)
        alive = subprocess.run(["pgrep", "-U", str(uid)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False).returncode == 0
        if not alive:
            return
        time.sleep(0.05)


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
