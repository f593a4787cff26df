"""Tests of the stub generator: markers in, stubs out, mistakes reported."""

import os
import subprocess
import sys
import unittest

from grader import kit, markers
from grader.kit import ROOT

SOLUTION = """\
int add(int a, int b) {
    //# BEGIN SOLUTION
    return a + b;
    //# STUB
    //> (void)a;
    //>
    //> TODO("return the sum");
    //# END SOLUTION
}
"""


class MakeStub(unittest.TestCase):
    def test_solution_block_becomes_its_stub_lines(self):
        self.assertEqual(markers.make_stub(SOLUTION),
                         'int add(int a, int b) {\n    (void)a;\n\n    TODO("return the sum");\n}\n')

    def test_block_without_stub_part_disappears(self):
        text = "a\n//# BEGIN SOLUTION\nsecret\n//# END SOLUTION\nb\n"
        self.assertEqual(markers.make_stub(text), "a\nb\n")

    def test_slide_markers_stay_out_of_the_stub(self):
        text = "//@slide add\n" + SOLUTION + "//@end\n"
        self.assertEqual(markers.make_stub(text), markers.make_stub(SOLUTION))

    def test_unclosed_block_is_an_error(self):
        with self.assertRaisesRegex(markers.MarkerError, "not closed"):
            markers.make_stub("//# BEGIN SOLUTION\nx\n", "f.c")

    def test_stub_line_without_prefix_is_an_error_naming_the_line(self):
        with self.assertRaisesRegex(markers.MarkerError, "f.c:3"):
            markers.make_stub("//# BEGIN SOLUTION\n//# STUB\nTODO();\n//# END SOLUTION\n", "f.c")

    def test_nested_and_stray_markers_are_errors(self):
        with self.assertRaises(markers.MarkerError):
            markers.make_stub("//# BEGIN SOLUTION\n//# BEGIN SOLUTION\n")
        with self.assertRaises(markers.MarkerError):
            markers.make_stub("//# END SOLUTION\n")
        with self.assertRaises(markers.MarkerError):
            markers.make_stub("//# STUB\n")


class CommittedStubs(unittest.TestCase):
    def test_every_exercise_stub_is_generated_from_its_solution(self):
        names = kit.exercise_names()
        if not names:
            self.skipTest("no exercises yet")
        for name in names:
            ex = kit.load_exercise(name)
            for f in ex.student_files:
                with open(os.path.join(ROOT, "solutions", name, f), encoding="utf-8") as src:
                    expected = markers.make_stub(src.read())
                with open(os.path.join(ex.folder, f), encoding="utf-8") as stub:
                    self.assertEqual(stub.read(), expected, f"{name}/{f} is stale: run make stubs")
                self.assertIn("TODO(", expected, f"{name}/{f}: a stub with no TODO")

    def test_check_mode_fails_on_a_stale_stub(self):
        names = kit.exercise_names()
        if not names:
            self.skipTest("no exercises yet")
        ex = kit.load_exercise(names[0])
        path = os.path.join(ex.folder, ex.student_files[0])
        with open(path, encoding="utf-8") as f:
            original = f.read()
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write("/* edited by hand */\n")
            proc = subprocess.run([sys.executable, "-m", "grader.release.stubs", "check", names[0]], cwd=ROOT,
                                  capture_output=True, text=True)
            self.assertEqual(proc.returncode, 1)
            self.assertIn("stale", proc.stderr)
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original)


class Declarations(unittest.TestCase):
    def test_fields_points_and_bonus(self):
        fields = kit.parse_declaration("EX_TITLE = A title # comment\nEX_POINTS = a/b:3 a/c*:2\n")
        self.assertEqual(fields["EX_TITLE"], "A title")
        ex = kit.Exercise(name="x", points=[("a/b", 3.0), ("a/c*", 2.0)], bonus=["a/lag_*"])
        self.assertEqual(ex.test_points("a/b"), 3.0)
        self.assertEqual(ex.test_points("a/cde"), 2.0)
        self.assertEqual(ex.test_points("a/z"), 1.0)
        self.assertTrue(ex.is_bonus("a/lag_one"))
        self.assertFalse(ex.is_bonus("a/b"))


if __name__ == "__main__":
    unittest.main()
