"""Tests of the Makefile's user-facing behaviour: help and bad input."""

import os
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


if __name__ == "__main__":
    unittest.main()
