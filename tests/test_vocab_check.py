"""Tests of runtime/tools/vocab_check.py: the channels' headers against the vocabulary table."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "runtime", "tools", "vocab_check.py")
MPSC_H = os.path.join(ROOT, "exercises", "mpsc", "mpsc.h")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, TOOL, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


class VocabCheck(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        with open(MPSC_H, encoding="utf-8") as f:
            self.good = f.read()

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def check(self, text: str, name: str = "mpsc.h") -> subprocess.CompletedProcess[str]:
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return run("--channel", "mpsc", path)

    def test_the_kits_headers_follow_the_table(self) -> None:
        proc = run()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("headers of 3 channels", proc.stdout)

    def test_an_unchanged_header_passes(self) -> None:
        proc = self.check(self.good)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_a_type_the_table_does_not_know_fails(self) -> None:
        bad = self.good.replace("#endif", "typedef void (*mpsc_destructor)(void *message);\n#endif")
        proc = self.check(bad)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("type 'mpsc_destructor'", proc.stderr)

    def test_a_function_the_table_does_not_know_fails(self) -> None:
        bad = self.good.replace("#endif", "rt_poll mpsc_receiver_poll(mpsc_receiver *receiver);\n#endif")
        proc = self.check(bad)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("function 'mpsc_receiver_poll'", proc.stderr)

    def test_an_enum_value_and_a_parameter_off_the_table_fail(self) -> None:
        bad = self.good.replace("MPSC_SEND_OK,", "MPSC_SENT,").replace(
            "void mpsc_sender_drop(mpsc_sender *sender);", "void mpsc_sender_drop(mpsc_sender *tx);")
        proc = self.check(bad)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("constant 'MPSC_SENT'", proc.stderr)
        self.assertIn("parameter 'tx' (in mpsc_sender_drop)", proc.stderr)

    def test_a_clone_without_const_fails(self) -> None:
        bad = self.good.replace("mpsc_sender_clone(const mpsc_sender *sender)",
                                "mpsc_sender_clone(mpsc_sender *sender)")
        self.assertNotEqual(bad, self.good)
        proc = self.check(bad)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("mpsc_sender_clone must take 'sender' as a pointer to const", proc.stderr)

    def test_a_missing_callback_paragraph_fails(self) -> None:
        bad = self.good.replace("Callbacks and wakers:", "Callbacks:")
        proc = self.check(bad)
        self.assertEqual(proc.returncode, 1)
        self.assertIn('no paragraph starting "Callbacks and wakers:"', proc.stderr)

    def test_names_in_comments_are_not_declarations(self) -> None:
        text = self.good.replace("#endif", "/* mpsc_destructor was the old name */\n#endif")
        proc = self.check(text)
        self.assertEqual(proc.returncode, 0, proc.stderr)


if __name__ == "__main__":
    unittest.main()
