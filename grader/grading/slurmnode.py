"""slurmnode.py - a one-machine Slurm cluster, for the grader's Slurm test and benchmark.

Starts munged, slurmctld and slurmd as plain processes (no systemd), with a
generated slurm.conf naming this machine by its short host name, its
spool, state, logs and munge socket in one temporary folder, and ports
chosen by the kernel. Needs root (slurmd starts jobs as their owner) and
Debian's slurmctld, slurmd, slurm-client and munge packages (`make deps`
installs them for instructors).

    with LocalCluster() as cluster:          # waits (bounded) for the node to be idle
        subprocess.run(["sbatch", ...], env=cluster.env())
    # every job cancelled, every daemon it started stopped

    python3 -m grader.grading.slurmnode -- CMD...   run CMD with the cluster up (SLURM_CONF set)
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from types import TracebackType
from typing import Dict, List, Optional, Type

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scancel")
PARTITION = "grade"


class ClusterError(Exception):
    pass


def missing() -> List[str]:
    """The programs a one-machine cluster needs that are not installed ([] when all are)."""
    return [p for p in DAEMONS + CLIENTS + ("mungekey",) if _which(p) is None]


def why_not() -> Optional[str]:
    """Why a one-machine cluster cannot start here, or None when it can."""
    if os.geteuid() != 0:
        return "not root (slurmd must start jobs as their owner)"
    absent = missing()
    if absent:
        return ("Slurm is not installed (missing: " + ", ".join(absent)
                + "); as root, `make deps` installs slurmctld, slurmd, slurm-client and munge")
    return None


def _which(program: str) -> Optional[str]:
    # The daemons live in /usr/sbin, which a non-login PATH may lack.
    return shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")


def _free_port() -> int:
    # Slurm's ports are fixed in its configuration: take them from the kernel.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CONF = """# A one-machine cluster for the grader's tests (generated; see slurmnode.py).
ClusterName=gradertest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={dir}/munge.socket
CredType=cred/munge
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MaxArraySize=10001
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName={partition} Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
"""


class LocalCluster:
    """munged + slurmctld + slurmd on this machine, in a temporary folder of their own."""

    def __init__(self, cpus: Optional[int] = None, ready_seconds: float = 60.0) -> None:
        self.cpus = cpus or os.cpu_count() or 1
        self.ready_seconds = ready_seconds
        self.host = socket.gethostname().split(".")[0]
        self.dir = ""
        self.procs: List[subprocess.Popen[bytes]] = []

    def env(self) -> Dict[str, str]:
        """The environment under which Slurm's commands talk to this cluster."""
        env = dict(os.environ)
        env["SLURM_CONF"] = os.path.join(self.dir, "slurm.conf")
        env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        for k in [k for k in env if k.startswith(("SLURM_JOB", "SLURM_ARRAY", "SBATCH_"))]:
            del env[k]  # a job of another cluster must not steer this one
        return env

    def log_tail(self, lines: int = 30) -> str:
        """The end of each daemon's log, for a message when something went wrong."""
        out = []
        for name in ("munged.log", "slurmctld.log", "slurmd.log"):
            path = os.path.join(self.dir, name)
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    tail = f.read().splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {name}\n" + "\n".join(tail))
        return "\n".join(out)

    def start(self) -> "LocalCluster":
        reason = why_not()
        if reason:
            raise ClusterError(reason)
        self.dir = tempfile.mkdtemp(prefix="slurm-node-")
        os.chmod(self.dir, 0o755)  # slurmd's job steps (any user) reach the munge socket
        for sub in ("state", "spool"):
            os.makedirs(os.path.join(self.dir, sub), mode=0o755)
        try:
            self._start_munge()
            conf = os.path.join(self.dir, "slurm.conf")
            with open(conf, "w", encoding="utf-8") as f:
                f.write(CONF.format(host=self.host, dir=self.dir, cpus=self.cpus, partition=PARTITION,
                                    ctld_port=_free_port(), slurmd_port=_free_port()))
            env = self.env()
            self._spawn([_path("slurmctld"), "-D", "-c", "-i", "-f", conf], "slurmctld.out", env)
            self._spawn([_path("slurmd"), "-D", "-N", self.host, "-f", conf], "slurmd.out", env)
            self._wait_idle()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_munge(self) -> None:
        key = os.path.join(self.dir, "munge.key")
        subprocess.run([_path("mungekey"), "--create", f"--keyfile={key}"], check=True,
                       capture_output=True)
        os.chmod(key, 0o600)
        sock = os.path.join(self.dir, "munge.socket")
        self._spawn([_path("munged"), "--foreground", "--force", f"--key-file={key}", f"--socket={sock}",
                     f"--pid-file={self.dir}/munged.pid", f"--seed-file={self.dir}/munged.seed",
                     f"--log-file={self.dir}/munged.log"], "munged.out", dict(os.environ))
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            if time.monotonic() > deadline or self.procs[-1].poll() is not None:
                raise ClusterError("munged did not start:\n" + self.log_tail())
            time.sleep(0.1)

    def _spawn(self, argv: List[str], log: str, env: Dict[str, str]) -> None:
        with open(os.path.join(self.dir, log), "wb") as out:
            self.procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                               stderr=subprocess.STDOUT, env=env, start_new_session=True))

    def _wait_idle(self) -> None:
        deadline = time.monotonic() + self.ready_seconds
        state = ""
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise ClusterError(f"{os.path.basename(str(p.args[0]))} exited with status "  # type: ignore[index]
                                       f"{p.returncode}:\n" + self.log_tail())
            r = subprocess.run(["sinfo", "-h", "-n", self.host, "-o", "%T"], env=self.env(),
                               capture_output=True, text=True, timeout=30)
            state = r.stdout.strip()
            if state == "idle":
                return
            time.sleep(0.5)
        raise ClusterError(f"the node did not become idle within {self.ready_seconds:.0f} s "
                           f"(state: {state or 'unknown'}):\n" + self.log_tail())

    def stop(self) -> None:
        """Cancels every job, waits (bounded) for them to end, then stops the daemons it started."""
        if any(p.poll() is None for p in self.procs) and os.path.exists(os.path.join(self.dir, "slurm.conf")):
            env = self.env()
            subprocess.run(["scancel", "--full", "--user", str(os.getuid())], env=env, capture_output=True,
                           timeout=30)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                r = subprocess.run(["squeue", "-h", "-o", "%i"], env=env, capture_output=True, text=True,
                                   timeout=30)
                if r.returncode != 0 or not r.stdout.strip():
                    break
                time.sleep(0.5)
        for p in reversed(self.procs):  # slurmd, then slurmctld, then munged
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=15)
        self.procs = []
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, kind: Optional[Type[BaseException]], value: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.stop()


def _path(program: str) -> str:
    found = _which(program)
    if found is None:
        raise ClusterError(f"{program} is not installed")
    return found


def main(argv: List[str]) -> int:
    if not argv or argv[0] != "--" or len(argv) < 2:
        print("usage: python3 -m grader.grading.slurmnode -- CMD [ARGS...]", file=sys.stderr)
        return 2
    try:
        with LocalCluster() as cluster:
            print(f"slurmnode: one-machine cluster up ({cluster.host}, {cluster.cpus} CPUs, "
                  f"partition {PARTITION})", file=sys.stderr)
            return subprocess.run(argv[1:], env=cluster.env()).returncode
    except ClusterError as e:
        print(f"slurmnode: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
