"""test_scale.py - the benchmark's classes: the sample's mix at any size (make_class --scale)."""

import collections
import hashlib
import os
import tempfile
import unittest

from grader import kit
from grader.grading import submissions
from grader.samples import make_class


class ScaledClassTest(unittest.TestCase):
    def test_the_mix_repeats_and_no_two_students_share_a_file(self):
        kinds = len(make_class.STUDENTS)
        n = 2 * kinds + 3
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(make_class.make_scaled(d, n), n)
            entries = submissions.discover(d)
            self.assertEqual(len(entries), n)
            bases = collections.Counter(name.rsplit("_", 1)[0] for name, _ in entries)
            self.assertEqual(set(bases), set(make_class.STUDENTS))
            self.assertEqual(sorted(bases.values()), [2] * (kinds - 3) + [3] * 3)
            digests = collections.Counter()
            for name, path in entries:
                try:
                    sub = submissions.load(name, path)
                except submissions.SubmissionError:  # the sample's refused uploads (too large...)
                    continue
                # What the grader takes, and the cache keys on: each exercise's student files.
                for ex in kit.exercise_names():
                    for filename in kit.load_exercise(ex).student_files:
                        _, data = submissions.find_student_file(sub, ex, filename)
                        if data is not None:
                            digests[hashlib.sha256(data).hexdigest()] += 1
            self.assertTrue(digests)
            self.assertEqual(max(digests.values()), 1, "two students share a file: the cache would serve one")


if __name__ == "__main__":
    unittest.main()
