"""The handout works as shipped: every target its `make help` lists runs there, and runs tests.

The handout is built and unpacked in an empty folder; the reference
solutions are put in the student's place (a student who has finished), so
that every target must succeed. Each target listed by the handout's
`make help` is run with the arguments a student would give; one the table
below does not know fails the test (add how to run it). A target that runs
tests must run some: a "0 tests" success is a failure.

Also: the kit without .git (a download of the repository) builds the
handout and checks its formatting from the files on disk.
"""

import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
import unittest
from typing import IO, Dict, List, Optional, Tuple, cast

from grader import kit
from grader.release import handout
from runtime.tools import kit_info

ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS",
                                                       "RT_SHAKE", "KT_EXPLORE")}
# How a student runs each target, and what its output must show (a regex; None: exit 0 is enough).
RUNS: Dict[str, Tuple[List[str], Optional[str]]] = {
    "help": (["help"], r"make test"),
    "deps": (["deps"], r"deps: "),
    "test": (["test", "EX=mpsc"], r"Tested: [1-9]\d* \| Passing: [1-9]"),
    "bench": (["bench", "EX=mpsc"], r"ns/message"),
    "bench-runtime": (["bench-runtime"], r"\d"),
    "bench-loop": (["bench-loop", "BENCH_ARGS=--runs 1 --cold-runs 1"], r"median"),
    "soak": (["soak", "EX=mpsc", "N=2"], r"2 runs in a row passed"),
    "soak EX=runtime": (["soak", "EX=runtime", "N=1"], r"1 runs in a row passed"),
    "test-runtime": (["test-runtime"], r"Tested: [1-9]\d* \| Passing: [1-9]"),
    "explore": (["explore", "EX=mpsc", "N=1"], r"[1-9]"),
    # The chat's tests start its programs: a soak or an exploration must find them beside its copy.
    "explore EX=chat": (["explore", "EX=chat", "N=1"], r"seeds 1\.\.1 all passed"),
    "soak EX=chat": (["soak", "EX=chat", "N=1"], r"1 runs in a row passed"),
    "hint": (["hint", "EX=mpsc"], r"Hint 1 of"),
    "status": (["status"], r"mpsc\s+\S+\s+[1-9]\d*/[1-9]"),
    "submit": (["submit", "STUDENT=ci"], r"exercises/mpsc/mpsc.c"),
    "test-kit": (["test-kit", "EX=chat"], r"Tested: [1-9]\d* \| Passing: [1-9]"),
    "slides": (["slides"], None),
    "format": (["format"], None),
    "format-check": (["format-check"], None),
    "clean": (["clean"], None),
}
# Runs until stopped: given this long, then it must have run the tests once and be waiting.
LONG_RUNNING = {"watch": (["watch", "EX=mpsc"], r"Tested: [1-9].*waiting for a change")}
# The chat lab: a server (on a port the kernel picks), then a client that joins it and ends.
CHAT_LAB = ("run-server", "run-client")


class HandoutTargets(unittest.TestCase):
    tmp: tempfile.TemporaryDirectory
    root: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        _, archive, _ = handout.build(os.path.join(cls.tmp.name, "dist"))
        unpacked = os.path.join(cls.tmp.name, "student")
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked)  # our own archive, just built
        cls.root = os.path.join(unpacked, handout.NAME)
        for name in kit.exercise_names():
            for f in kit.load_exercise(name).student_files:
                shutil.copy(os.path.join(kit.ROOT, "solutions", name, f),
                            os.path.join(cls.root, "exercises", name, f))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def make(self, args: List[str], timeout: float = 900) -> Tuple[int, str]:
        proc = subprocess.run(["make", *args], cwd=self.root, env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace",
                              timeout=timeout)
        return proc.returncode, proc.stdout

    def listed(self) -> List[str]:
        code, out = self.make(["help"])
        self.assertEqual(code, 0, out)
        return re.findall(r"^\s+make (\S+)", out, re.M)

    def test_every_listed_target_works(self) -> None:
        targets = self.listed()
        self.assertIn("test", targets)
        unknown = [t for t in targets
                   if t not in RUNS and t not in LONG_RUNNING and t not in CHAT_LAB]
        self.assertEqual(unknown, [], "targets the handout lists that this test cannot run")
        runs = [t for t in targets if t not in LONG_RUNNING and t not in CHAT_LAB
                and t != "clean"]
        runs += [extra for extra in RUNS if " " in extra and extra.split()[0] in targets]
        for target in runs:
            args, expected = RUNS[target]
            with self.subTest(target=target):
                code, out = self.make(args)
                self.assertEqual(code, 0, f"make {' '.join(args)} failed in the handout:\n"
                                          f"{out[-3000:]}")
                if expected:
                    self.assertRegex(out, expected, f"make {' '.join(args)}:\n{out[-3000:]}")
        for target in LONG_RUNNING:
            if target in targets:
                with self.subTest(target=target):
                    self.long_running(*LONG_RUNNING[target])
        if "run-server" in targets:
            with self.subTest(target="run-server, run-client"):
                self.chat_lab("run-client" in targets)
        if "clean" in targets:
            code, out = self.make(["clean"])
            self.assertEqual(code, 0, out)

    def long_running(self, args: List[str], expected: str) -> None:
        """Runs until its output shows `expected` (or 600 s pass), then Ctrl-C, as a student."""
        proc = subprocess.Popen(["make", *args], cwd=self.root, env=ENV, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace",
                                start_new_session=True)
        seen: List[str] = []
        stream = cast(IO[str], proc.stdout)

        def read() -> None:
            for line in stream:
                seen.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None \
                and not re.search(expected, " ".join(seen).replace("\n", " ")):
            time.sleep(0.2)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as a student stops it
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                self.fail(f"make {' '.join(args)} did not stop at Ctrl-C")
        reader.join(timeout=10)
        stream.close()
        out = "".join(seen)
        self.assertRegex(out.replace("\n", " "), expected, out[-3000:])

    def chat_lab(self, with_client: bool) -> None:
        """make run-server on port 0; make run-client joins it, sends a line, ends at EOF."""
        server = subprocess.Popen(["make", "run-server", "EX=chat", "PORT=0"], cwd=self.root,
                                  env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True, errors="replace", start_new_session=True)
        try:
            stream = cast(IO[str], server.stderr)
            said = ""
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and server.poll() is None:
                said = stream.readline()
                if "listening on" in said:
                    break
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", said)
            self.assertIsNotNone(match, f"make run-server did not listen: {said}")
            assert match is not None
            if with_client:
                client = subprocess.run(["make", "run-client", "EX=chat", f"PORT={match.group(1)}",
                                         "NAME=ci"], cwd=self.root, env=ENV, input="hello\n",
                                        capture_output=True, text=True, timeout=120)
                self.assertEqual(client.returncode, 0, client.stdout + client.stderr)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGINT)
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()
            if server.stderr is not None:
                server.stderr.close()

    def test_solution_option_explains_itself(self) -> None:
        code, out = self.make(["test", "EX=mpsc", "SOLUTION=1"], timeout=120)
        self.assertNotEqual(code, 0)
        self.assertIn("the handout", out)
        self.assertNotIn("No rule to make target", out)
        code, out = self.make(["help"])
        self.assertNotIn("SOLUTION=1", out)

    def test_unknown_test_name_fails_and_lists_the_tests(self) -> None:
        code, out = self.make(["test", "EX=mpsc", "T=nosuchtest"], timeout=600)
        self.assertNotEqual(code, 0)
        self.assertIn("no test matches T=nosuchtest", out)
        self.assertIn("fifo_order", out)


class KitWithoutGit(unittest.TestCase):
    """A download of the repository: no .git, the files on disk."""

    def test_dist_and_format_check_without_git(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "kit")
            for rel in kit_info.kit_files(kit.ROOT):
                os.makedirs(os.path.dirname(os.path.join(copy, rel)), exist_ok=True)
                shutil.copy2(os.path.join(kit.ROOT, rel), os.path.join(copy, rel))
            self.assertFalse(os.path.exists(os.path.join(copy, ".git")))
            # The deck's tool chain and the built deck, as the kit has them (no npm, no render
            # again: both are what they are in the kit, and this test is about git, not slides).
            if os.path.isdir(os.path.join(kit.ROOT, "slides", "node_modules")):
                os.symlink(os.path.join(kit.ROOT, "slides", "node_modules"),
                           os.path.join(copy, "slides", "node_modules"))
            if os.path.isdir(os.path.join(kit.ROOT, "build", "slides")):
                shutil.copytree(os.path.join(kit.ROOT, "build", "slides"),
                                os.path.join(copy, "build", "slides"), symlinks=True)
            for args in (["dist"], ["format-check"], ["stubs-check"]):
                proc = subprocess.run(["make", *args], cwd=copy, env=ENV, capture_output=True,
                                      text=True, timeout=300)
                self.assertEqual(proc.returncode, 0, f"make {args[0]}: {proc.stdout}{proc.stderr}")
                self.assertNotIn("Traceback", proc.stderr)
            files = kit_info.kit_files(copy)
            self.assertIn("runtime/rt.h", files)
            self.assertFalse([f for f in files if f.startswith(("build/", "dist/"))])


if __name__ == "__main__":
    unittest.main()
