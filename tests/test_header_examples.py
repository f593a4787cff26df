"""Tests of runtime/tools/header_examples.py: the examples at the top of the headers compile."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "runtime", "tools", "header_examples.py")
HEADER = """/*
 * demo.h - a header for the test.
 *
 *     void example(void) {
 *         demo_thing(%s);
 *     }
 */
#ifndef DEMO_H
#define DEMO_H
void demo_thing(int count);
#endif
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, TOOL, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


class HeaderExamples(unittest.TestCase):
    def write(self, folder: str, text: str) -> str:
        path = os.path.join(folder, "demo.h")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_the_kits_examples_compile(self) -> None:
        proc = run()
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_an_example_that_compiles_passes(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            proc = run(self.write(tmp, HEADER % "3"))
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_an_example_that_drifted_from_the_api_fails(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            proc = run(self.write(tmp, HEADER % "3, 4"))  # demo_thing takes one argument
        self.assertEqual(proc.returncode, 1)
        self.assertIn("does not compile", proc.stderr)
        self.assertIn("demo.h:5", proc.stderr)  # the message points at the comment's line

    def test_a_header_without_an_example_fails(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            proc = run(self.write(tmp, "/* demo.h - nothing to show. */\nvoid demo_thing(int count);\n"))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no example", proc.stderr)


if __name__ == "__main__":
    unittest.main()
