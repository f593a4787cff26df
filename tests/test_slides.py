"""Tests of the slides' preprocessor (slides/tools/deck.py): snippets cut by marker, notes
required, and every directive of the real deck resolved. No browser needed: the rendering
itself is checked by `make slides-check`."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "slides", "tools"))
import deck  # noqa: E402

SOURCE = """\
int before;
//@slide outer
int add(int a, int b) {
    //@slide inner
    int unused = 0;
    //@end
    //# BEGIN SOLUTION
    return a + b;
    //# STUB
    //> TODO("return the sum");
    //# END SOLUTION
}
//@end
"""


class Snippets(unittest.TestCase):
    def setUp(self):
        os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
        self.dir = tempfile.mkdtemp(dir=os.path.join(ROOT, "build"), prefix="test-slides-")
        self.rel = os.path.relpath(os.path.join(self.dir, "f.c"), ROOT)
        with open(os.path.join(ROOT, self.rel), "w") as f:
            f.write(SOURCE)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_region_without_markers_of_either_kind(self):
        lines = deck.snippet(self.rel, "outer", False, {})
        self.assertEqual(lines, ["```c", "int add(int a, int b) {", "    int unused = 0;",
                                 "    return a + b;", "}", "```"])

    def test_stub_view_shows_what_the_student_gets(self):
        lines = deck.snippet(self.rel, "outer", True, {})
        self.assertIn('    TODO("return the sum");', lines)
        self.assertNotIn("    return a + b;", lines)

    def test_nested_region_is_dedented(self):
        self.assertEqual(deck.snippet(self.rel, "inner", False, {}),
                         ["```c", "int unused = 0;", "```"])

    def test_missing_marker_names_file_and_the_markers_there(self):
        with self.assertRaisesRegex(deck.DeckError, r"no slide marker 'gone'.*inner, outer"):
            deck.snippet(self.rel, "gone", False, {})

    def test_unclosed_and_duplicate_markers_are_errors(self):
        for text, message in (("//@slide a\nx\n", "never closed"),
                              ("//@slide a\n//@end\n//@slide a\n//@end\n", "defined twice"),
                              ("//@end\n", "without a //@slide")):
            with open(os.path.join(ROOT, self.rel), "w") as f:
                f.write(text)
            with self.assertRaisesRegex(deck.DeckError, message):
                deck.read_source(self.rel, {})

    def test_directives_are_not_notes(self):
        self.assertFalse(deck.is_note(" _class: title "))
        self.assertFalse(deck.is_note(" snippet: a.c#b "))
        self.assertTrue(deck.is_note(" Ask the room who has used select(2). "))


class RealDeck(unittest.TestCase):
    def test_every_directive_resolves_and_every_slide_has_notes(self):
        with tempfile.TemporaryDirectory() as tmp:
            diagrams = os.path.join(tmp, "diagrams")
            os.makedirs(diagrams)
            for name in os.listdir(os.path.join(ROOT, "slides", "diagrams")):
                if name.endswith(".mmd"):
                    with open(os.path.join(diagrams, name[:-4] + ".svg"), "w") as f:
                        f.write('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"/>')
            out = os.path.join(tmp, "deck.md")
            proc = subprocess.run([sys.executable, "slides/tools/deck.py", "build", "--out", out,
                                   "--diagrams", diagrams], cwd=ROOT, capture_output=True,
                                  text=True)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(out, encoding="utf-8") as f:
                text = f.read()
            self.assertNotIn("<!-- snippet", text)
            self.assertNotIn("BEGIN SOLUTION", text)
            self.assertNotIn("//@slide", text)


if __name__ == "__main__":
    unittest.main()
