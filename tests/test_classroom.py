"""test_classroom.py - the handout's GitHub Classroom workflow, its commands run here.

`make dist` writes .github/workflows/classroom.yml into the handout. The
test unpacks the handout's tarball into a fresh folder, reads the workflow
(with a small reader of the YAML it uses, the standard library having
none), checks it has GitHub Classroom's shape, and runs each grading
step's setup command and command there, as the runner would: against the
untouched stubs every step fails; with the reference solutions copied in,
every step passes.
"""

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import unittest
from typing import Any, List, Tuple

from grader import kit
from grader.release import classroom, handout
from tests import sample_grades


def _scalar(text: str) -> Any:
    text = text.strip()
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text) if "." in text else int(text)
    return text


def read_yaml(text: str) -> Any:
    """The block mappings, block sequences and one-line scalars of a YAML file (what workflows use)."""
    lines: List[Tuple[int, str]] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            lines.append((len(raw) - len(raw.lstrip(" ")), stripped))

    def block(i: int, indent: int) -> Tuple[Any, int]:
        if lines[i][1].startswith("- "):
            items = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                # "- key: value" opens a mapping whose keys are indented past the dash.
                rest = lines[i][1][2:]
                lines[i] = (indent + 2, rest)
                if re.match(r'^("[^"]*"|[\w.-]+):(\s|$)', rest):
                    value, i = mapping(i, indent + 2)
                else:
                    value, i = _scalar(rest), i + 1
                items.append(value)
            return items, i
        return mapping(i, indent)

    def mapping(i: int, indent: int) -> Tuple[Any, int]:
        out = {}
        while i < len(lines) and lines[i][0] == indent:
            m = re.match(r'^("[^"]*"|[^:]+):\s*(.*)$', lines[i][1])
            if not m:
                raise ValueError(f"not a mapping entry: {lines[i][1]}")
            key = _scalar(m.group(1))
            if m.group(2):
                out[key], i = _scalar(m.group(2)), i + 1
            else:
                i += 1
                out[key], i = block(i, lines[i][0]) if i < len(lines) and lines[i][0] > indent else (None, i)
        return out, i

    value, end = block(0, lines[0][0])
    if end != len(lines):
        raise ValueError(f"unread line: {lines[end][1]}")
    return value


def clean_env():
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "RT_SHAKE")}


class WorkflowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="classroom-test-")
        _, archive, _ = handout.build(os.path.join(cls.tmp, "dist"))
        # A fresh copy, as a student's clone of the template repository would be.
        with tarfile.open(archive) as t:
            # The kit's own archive; the "data" filter where this Python has it.
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            t.extractall(os.path.join(cls.tmp, "clone"), **extra)
        cls.repo = os.path.join(cls.tmp, "clone", handout.NAME)
        with open(os.path.join(cls.repo, classroom.PATH)) as f:
            cls.workflow = read_yaml(f.read())
        cls.steps = cls.workflow["jobs"]["run-autograding-tests"]["steps"]
        cls.graders = [s for s in cls.steps if s.get("uses") == classroom.GRADER_ACTION]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_the_reader_reads_what_it_is_given(self):
        self.assertEqual(read_yaml('a: 1\nb:\n  - x\n  - k: "v w"\n    n: 2\nc: \'q\'\n'),
                         {"a": 1, "b": ["x", {"k": "v w", "n": 2}], "c": "q"})

    def test_the_standard_shape(self):
        self.assertEqual(self.workflow["on"], ["push", "repository_dispatch"])
        self.assertEqual(self.workflow["permissions"], {"checks": "write", "actions": "read", "contents": "read"})
        self.assertEqual(self.steps[0]["uses"], "actions/checkout@v4")
        exercises = [s["id"] for s in self.graders if not s["id"].endswith("-bonus")]
        self.assertEqual(exercises, kit.exercise_names())
        for s in self.graders:
            w = s["with"]
            self.assertEqual(set(w), {"test-name", "setup-command", "command", "timeout", "max-score"}, s["id"])
            self.assertGreater(w["max-score"], 0)
            self.assertIn(f"EX={s['id'].removesuffix('-bonus')}", w["command"])
        reporter = self.steps[-1]
        self.assertEqual(reporter["uses"], classroom.REPORTER_ACTION)
        ids = [s["id"] for s in self.graders]
        self.assertEqual(reporter["with"]["runners"], ",".join(ids))
        self.assertEqual(reporter["env"], {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}"
                                           for i in ids})

    def test_points_are_the_visible_tests_points(self):
        # The points of each visible test, from the binary's own list: they add up to the steps'.
        for name in kit.exercise_names():
            ex = kit.load_exercise(name)
            env = clean_env()
            subprocess.run(["make", "-s", "build-test", f"EX={name}", "SOLUTION=1"], cwd=kit.ROOT, env=env,
                           check=True, capture_output=True)
            binary = subprocess.run(["make", "-s", "print-test-bin", f"EX={name}", "SOLUTION=1"], cwd=kit.ROOT,
                                    env=env, capture_output=True, text=True, check=True).stdout.strip()
            listed = subprocess.run([os.path.join(kit.ROOT, binary), "--list"], capture_output=True, text=True)
            ids = [f"{m.group(1)}/{t}" for m in re.finditer(r"^(\w+): \d+ tests?\n((?:[├└].*\n?)*)",
                                                              listed.stdout + listed.stderr, re.M)
                   for t in re.findall(r"[├└]── (\w+)", m.group(2))]
            self.assertTrue(ids, listed.stdout)
            points = {s["id"]: s["with"]["max-score"] for s in self.graders}
            self.assertEqual(points[name], sum(ex.test_points(i) for i in ids if not ex.is_bonus(i)), name)
            self.assertEqual(points.get(f"{name}-bonus", 0), sum(ex.test_points(i) for i in ids if ex.is_bonus(i)))

    def run_step(self, step):
        w = step["with"]
        env = clean_env()
        # The runner is not root and has sudo; here, as root or not, the kit's installer runs
        # as it would (with everything installed it installs nothing and succeeds).
        setup = w["setup-command"].removeprefix("sudo ") if os.geteuid() == 0 or not shutil.which("sudo") \
            else w["setup-command"]
        r = subprocess.run(["bash", "-c", setup], cwd=self.repo, env=env, capture_output=True, text=True,
                           timeout=600)
        self.assertEqual(r.returncode, 0, f"{step['id']} setup: {r.stdout}{r.stderr}")
        return subprocess.run(["bash", "-c", w["command"]], cwd=self.repo, env=env, capture_output=True,
                              text=True, timeout=60 * w["timeout"])

    def test_steps_fail_on_the_stubs_and_pass_with_the_references(self):
        for step in self.graders:
            r = self.run_step(step)
            self.assertNotEqual(r.returncode, 0, f"{step['id']} passes against the stub:\n{r.stdout}")
            self.assertIn("not implemented", r.stdout + r.stderr, step["id"])
        for name in kit.exercise_names():
            for filename, text in sample_grades.reference_files(name).items():
                with open(os.path.join(self.repo, "exercises", name, filename), "w") as f:
                    f.write(text)
        for step in self.graders:
            r = self.run_step(step)
            self.assertEqual(r.returncode, 0, f"{step['id']} fails with the reference:\n{r.stdout}{r.stderr}")
            tested = re.search(r"Synthesis: Tested: (\d+)", r.stdout + r.stderr)
            self.assertIsNotNone(tested, r.stdout)
            self.assertGreater(int(tested.group(1)), 0)


if __name__ == "__main__":
    unittest.main()
