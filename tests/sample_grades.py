"""sample_grades.py - the sample class's local gradebook, graded once per test process.

The grader's end-to-end test (test_grader.SampleClassTest) grades the
sample class locally; the tests that grade it another way (test_slurm)
compare with that gradebook instead of grading the class again. Run alone,
they grade it here.
"""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

from grader import kit, markers
from grader.kit import ROOT
from grader.samples import make_class

EXPECTED = os.path.join(ROOT, "grader", "samples", "expected.json")
_local: Dict[str, str] = {}


def expected() -> Dict[str, object]:
    with open(EXPECTED, encoding="utf-8") as f:
        return json.load(f)


def options() -> List[str]:
    """The options the sample class is graded with (expected.json records them)."""
    return list(expected()["options"])  # type: ignore[call-overload]


def reference_files(ex: str) -> Dict[str, str]:
    """{file name: text} of every file exercise `ex` has a student write, as its reference solution."""
    files = {}
    for name in kit.load_exercise(ex).student_files:
        path = os.path.join(ROOT, "solutions", ex, name)
        with open(path, encoding="utf-8") as f:
            files[name] = markers.make_reference(f.read(), os.path.relpath(path, ROOT))
    return files


def remember(gradebook: str) -> None:
    """Called by the test that graded the sample class locally, with its gradebook."""
    _local["gradebook"] = gradebook


def local_gradebook() -> str:
    """The sample class's local gradebook: the one this process already made, or a new one."""
    if "gradebook" not in _local:
        tmp = tempfile.mkdtemp(prefix="sample-local-")
        try:
            klass = os.path.join(tmp, "class")
            make_class.make(klass)
            r = subprocess.run([sys.executable, "-m", "grader", klass, "--out", os.path.join(tmp, "out"),
                                "--quiet", *options()], capture_output=True, text=True, cwd=ROOT)
            if r.returncode != 0:
                raise AssertionError(f"the local grading of the sample class failed:\n{r.stdout}\n{r.stderr}")
            with open(os.path.join(tmp, "out", "gradebook.csv"), encoding="utf-8") as f:
                _local["gradebook"] = f.read()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return _local["gradebook"]


def by_chance() -> Dict[str, Dict[str, Tuple[float, float]]]:
    """{student: {exercise: (low, high)}}: the points expected.json says are a matter of chance."""
    students = expected()["students"]
    assert isinstance(students, dict)
    return {name: {ex: (float(r[0]), float(r[1])) for ex, r in s["range"].items()}
            for name, s in students.items() if "range" in s}


def compare(local: str, other: str) -> Optional[str]:
    """None when two gradebooks of the sample class are the same bytes, but for points left to chance."""
    if local == other:
        return None
    chance = by_chance()
    a, b = list(csv.reader(io.StringIO(local))), list(csv.reader(io.StringIO(other)))
    if len(a) != len(b) or a[0] != b[0]:
        return f"different rows or columns:\n{local}\n---\n{other}"
    header = a[0]
    problems = []
    for row_a, row_b in zip(a[1:], b[1:]):
        if row_a == row_b:
            continue
        name = row_a[0]
        if name != row_b[0] or name not in chance:
            problems.append(f"{row_a} != {row_b}")
            continue
        for col, (x, y) in enumerate(zip(row_a, row_b)):
            ex = header[col]
            if x != y and ex in chance[name]:
                low, high = chance[name][ex]
                if not low <= float(y) <= high:
                    problems.append(f"{name} {ex}: {y} outside {low}..{high}")
            elif x != y and ex not in ("total",):
                problems.append(f"{name} {ex}: {x} != {y}")
    # The rows that differ only by chance: the rest must be the same bytes.
    rebuilt = io.StringIO()
    w = csv.writer(rebuilt, lineterminator="\n")
    for row_a, row_b in zip(a, b):
        w.writerow(row_a if row_a[0] in chance else row_b)
    if not problems and rebuilt.getvalue() != local:
        problems.append("the files differ beyond their rows")
    return "\n".join(problems) or None
