"""Tests of the Makefile's user-facing behaviour: help, bad input, slides, where grades go."""

import os
import shutil
import tempfile
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}


def make(*args):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=300)


class MakeTargets(unittest.TestCase):
    def test_help_lists_the_main_targets(self):
        out = make("help").stdout
        for target in ("test", "check", "deps", "grade", "soak", "bench", "dist", "slides"):
            self.assertRegex(out, rf"make {target}\s", target)

    def test_unknown_exercise_lists_the_valid_names(self):
        proc = make("test", "EX=nope")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no exercise 'nope'", proc.stderr)
        for name in os.listdir(os.path.join(ROOT, "exercises")):
            if os.path.exists(os.path.join(ROOT, "exercises", name, "exercise.mk")):
                self.assertIn(name, proc.stderr)

    def test_unknown_sanitizer_is_refused(self):
        names = [n for n in os.listdir(os.path.join(ROOT, "exercises"))
                 if os.path.exists(os.path.join(ROOT, "exercises", n, "exercise.mk"))]
        if not names:
            self.skipTest("no exercises yet")
        proc = make("test", f"EX={names[0]}", "SAN=memory")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("not a sanitizer", proc.stderr)


class GradesAndClean(unittest.TestCase):
    """`make grade` writes where the grader README says; `make clean` keeps grades."""

    def test_grade_writes_to_grader_out_and_clean_keeps_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            kit = os.path.join(tmp, "kit")
            # A copy of the kit's sources: make clean must not touch the real build folder.
            shutil.copytree(ROOT, kit, ignore=shutil.ignore_patterns(".git", "build", "dist", "out",
                                                                     "__pycache__"))
            klass = os.path.join(tmp, "class")
            os.makedirs(os.path.join(klass, "nobody"))  # hands in nothing: graded without running tests
            env = dict(ENV, BUILD=os.path.join(tmp, "objects"))
            proc = subprocess.run(["make", "grade", f"SUBMISSIONS={klass}", "GRADE_ARGS=-e mpsc -q"],
                                  cwd=kit, env=env, capture_output=True, text=True, timeout=900)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            gradebook = os.path.join(kit, "grader", "out", "gradebook.csv")
            self.assertTrue(os.path.isfile(gradebook), "make grade did not write grader/out/gradebook.csv")
            self.assertFalse(os.path.exists(os.path.join(env["BUILD"], "plain", "gradebook.csv")))
            with open(gradebook, encoding="utf-8") as f:
                self.assertIn("nobody", f.read())
            proc = subprocess.run(["make", "clean"], cwd=kit, env=env, capture_output=True, text=True,
                                  timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertTrue(os.path.isfile(gradebook), "make clean deleted the gradebook")
            self.assertFalse(os.path.exists(env["BUILD"]), "make clean left the build folder")


if __name__ == "__main__":
    unittest.main()
