"""Tests of the student handout: complete enough to work, with nothing an instructor keeps."""

import os
import subprocess
import tarfile
import tempfile
import unittest

from grader import kit
from grader.release import handout


class Handout(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.target, cls.archive, _ = handout.build(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def files(self):
        for base, _, names in os.walk(self.target):
            for name in names:
                yield os.path.relpath(os.path.join(base, name), self.target)

    def test_no_instructor_material(self):
        for rel in self.files():
            self.assertFalse(rel.startswith(("solutions/", "grader/", "tests/", ".ci/")), rel)
            with open(os.path.join(self.target, rel), "rb") as f:
                self.assertNotIn(b"BEGIN SOLUTION", f.read(), rel)

    def test_has_every_exercise_and_the_runtime(self):
        files = set(self.files())
        self.assertIn("Makefile", files)
        self.assertIn("README.md", files)
        self.assertIn("runtime/rt.h", files)
        self.assertIn("slides/index.html", files)
        self.assertIn("slides/slides.pdf", files)
        for name in kit.exercise_names():
            ex = kit.load_exercise(name)
            for f in ex.student_files + ["exercise.mk", "README.md"]:
                self.assertIn(f"exercises/{name}/{f}", files)

    def test_archive_is_reproducible(self):
        with tempfile.TemporaryDirectory() as other:
            _, archive2, _ = handout.build(other)
            with open(self.archive, "rb") as a, open(archive2, "rb") as b:
                self.assertEqual(a.read(), b.read())
        with tarfile.open(self.archive) as tar:
            self.assertTrue(all(m.name.startswith(handout.NAME + "/") for m in tar.getmembers()))

    def test_student_loop_works_in_the_handout(self):
        names = kit.exercise_names()
        if not names:
            self.skipTest("no exercises yet")
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
        proc = subprocess.run(["make", "test", f"EX={names[0]}"], cwd=self.target, env=env,
                              capture_output=True, text=True, timeout=600)
        out = proc.stdout + proc.stderr
        self.assertNotEqual(proc.returncode, 0, "the untouched stubs should fail their tests")
        self.assertIn("not implemented:", out)
        self.assertIn("Synthesis", out)

    def test_help_lists_only_what_a_student_can_run(self):
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
        proc = subprocess.run(["make", "help"], cwd=self.target, env=env, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for target in ("test", "bench", "soak", "slides", "format", "hint", "status", "watch",
                       "submit", "bench-loop", "test-runtime"):
            self.assertRegex(proc.stdout, rf"make {target}\s", target)
        for target in ("grade", "dist", "check", "stubs", "gradescope", "timeouts"):
            self.assertNotRegex(proc.stdout, rf"make {target}\s", target)
        self.assertNotIn("instructor", proc.stdout)
        proc = subprocess.run(["make", "grade"], cwd=self.target, env=env, capture_output=True,
                              text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("No rule to make target", proc.stderr)


if __name__ == "__main__":
    unittest.main()
