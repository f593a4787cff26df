"""test_gradescope.py - the Gradescope bundle (`make gradescope`) run the way Gradescope runs it.

Gradescope unzips the bundle into /autograder/source, runs setup.sh there
once, copies run_autograder to /autograder/run_autograder, puts a
student's files in /autograder/submission and, after run_autograder,
reads /autograder/results/results.json. Here the same folders are laid out
under a scratch root (AUTOGRADER_ROOT, which both scripts honour, so no
root is needed), setup.sh installs nothing (GRADER_SKIP_INSTALL: the tools
are here), and the sandbox is the fallback one (GRADER_SANDBOX=rlimits),
which is what Gradescope's containers, without namespaces, get. The
results are checked against Gradescope's documented format; the reference
solutions score every point, a broken mpsc the points it scores in the
sample class.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
import zipfile
from typing import Any, Dict, List

from grader import kit
from grader.grading import gradescope
from grader.kit import ROOT
from grader.samples import make_class
from tests import sample_grades

# Gradescope's results.json format (its "Autograder Specifications"): the keys it reads.
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
             "tags", "visibility", "extra_data"}
REQUIRED_TEST_KEYS = {"name", "score", "max_score", "status", "output", "visibility"}
STATUSES = {"passed", "failed"}


def schema_problems(doc: Any) -> List[str]:
    """What in doc does not follow Gradescope's results.json format ([] when all does)."""
    if not isinstance(doc, dict):
        return ["the top level is not an object"]
    problems = [f"unknown top-level key {k!r}" for k in sorted(set(doc) - TOP_KEYS)]
    number = (int, float)
    if not isinstance(doc.get("score"), number) or isinstance(doc.get("score"), bool):
        problems.append("score is missing or not a number")
    for key in ("visibility", "stdout_visibility"):
        if key in doc and doc[key] not in gradescope.VISIBILITIES:
            problems.append(f"{key} {doc[key]!r} is not one of {gradescope.VISIBILITIES}")
    tests = doc.get("tests")
    if not isinstance(tests, list):
        return problems + ["tests is missing or not a list"]
    for i, t in enumerate(tests):
        where = f"tests[{i}]"
        if not isinstance(t, dict):
            problems.append(f"{where} is not an object")
            continue
        where += f" ({t.get('name')})"
        problems += [f"{where}: unknown key {k!r}" for k in sorted(set(t) - TEST_KEYS)]
        problems += [f"{where}: no {k!r}" for k in sorted(REQUIRED_TEST_KEYS - set(t))]
        for k in ("score", "max_score"):
            if k in t and (not isinstance(t[k], number) or isinstance(t[k], bool) or t[k] < 0):
                problems.append(f"{where}: {k} is not a number >= 0")
        if t.get("status", "passed") not in STATUSES:
            problems.append(f"{where}: status {t.get('status')!r} is not passed or failed")
        if t.get("visibility", "visible") not in gradescope.VISIBILITIES:
            problems.append(f"{where}: visibility {t.get('visibility')!r}")
        for k in ("name", "output"):
            if k in t and not isinstance(t[k], str):
                problems.append(f"{where}: {k} is not a string")
    if isinstance(doc.get("score"), number) and all(isinstance(t, dict) for t in tests):
        total = sum(t.get("score", 0) for t in tests)
        if abs(total - doc["score"]) > 1e-9:
            problems.append(f"score {doc['score']} is not the sum of the tests' scores ({total})")
    return problems


def unzip(archive: str, dest: str) -> None:
    """Unpacks like unzip(1) does: with each member's mode (run_autograder stays executable)."""
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            path = z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(path, mode)


class GradescopeTest(unittest.TestCase):
    tmp: str  # the scratch folder of the whole class
    zip: str  # the bundle, as `make gradescope` writes it

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gradescope-test-")
        cls.zip = os.path.join(cls.tmp, "autograder.zip")
        r = subprocess.run([sys.executable, "-m", "grader", "--gradescope-bundle", cls.zip],
                           capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            raise AssertionError(f"make gradescope failed:\n{r.stdout}{r.stderr}")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_gradescope(self, files: Dict[str, str]) -> Dict[str, Any]:
        """Lays out Gradescope's folders for one submission, runs both scripts, returns results.json."""
        root = tempfile.mkdtemp(dir=self.tmp)
        ag = os.path.join(root, "autograder")
        source = os.path.join(ag, "source")
        unzip(self.zip, source)
        for rel, text in files.items():
            path = os.path.join(ag, "submission", rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        os.makedirs(os.path.join(ag, "results"))
        env = dict(os.environ, AUTOGRADER_ROOT=root, GRADER_SKIP_INSTALL="1", GRADER_SANDBOX="rlimits")
        for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "RT_SHAKE"):
            env.pop(k, None)
        setup = subprocess.run(["bash", "./setup.sh"], cwd=source, env=env, capture_output=True, text=True)
        self.assertEqual(setup.returncode, 0, setup.stdout + setup.stderr)
        self.assertIn("installing nothing", setup.stdout)
        shutil.copy2(os.path.join(source, "run_autograder"), os.path.join(ag, "run_autograder"))
        self.assertTrue(os.stat(os.path.join(ag, "run_autograder")).st_mode & stat.S_IXUSR)
        run = subprocess.run([os.path.join(ag, "run_autograder")], cwd=ag, env=env, capture_output=True,
                             text=True, timeout=1800)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        with open(os.path.join(ag, "results", "results.json")) as f:
            doc = json.load(f)
        self.assertEqual(schema_problems(doc), [], json.dumps(doc, indent=1)[:3000])
        return doc

    def test_the_reference_solutions_score_every_point(self):
        files = {f: text for ex in kit.exercise_names() for f, text in make_class.solution_files(ex).items()}
        doc = self.run_gradescope(files)
        self.assertTrue(doc["tests"])
        failed = [t["name"] for t in doc["tests"] if t["status"] != "passed"]
        self.assertEqual(failed, [])
        self.assertEqual(doc["score"], sum(t["max_score"] for t in doc["tests"]) + sum(
            t["score"] for t in doc["tests"] if t["name"].endswith("(bonus)")))
        hidden = [t for t in doc["tests"] if "_hidden/" in t["name"]]
        self.assertTrue(hidden, "no hidden tests in the results")
        self.assertEqual({t["visibility"] for t in hidden}, {gradescope.HIDDEN_DEFAULT})
        self.assertEqual({t["visibility"] for t in doc["tests"] if t not in hidden}, {"visible"})

    def test_a_broken_submission_scores_its_points(self):
        # ben_lost_waker of the sample class: mpsc's poll forgets the waker; no other exercise.
        doc = self.run_gradescope({"mpsc.c": make_class.mutate(make_class.solution("mpsc"), "mpsc",
                                                               ["lost_waker"])})
        expected = sample_grades.expected()["students"]["ben_lost_waker"]["points"]["mpsc"]
        self.assertEqual(doc["score"], expected)
        self.assertTrue(any(t["status"] == "failed" and t["name"].startswith("mpsc") for t in doc["tests"]))
        # Each part of an exercise is graded on its own (the chat's server and client), so each
        # part of the exercises not handed in is named missing.
        others = [part.name for ex in kit.exercise_names() if ex != "mpsc"
                  for part in kit.load_exercise(ex).parts]
        missing = [t for t in doc["tests"] if t["name"] in [f"{name}: missing" for name in others]]
        self.assertEqual(len(missing), len(others), "the missing exercises are not named: "
                         + ", ".join(t["name"] for t in doc["tests"] if "missing" in t["name"]))
        self.assertTrue(all("found in the submission" in t["output"] for t in missing))


class SchemaTest(unittest.TestCase):
    """The format check above catches what Gradescope would refuse."""

    def test_problems_are_found(self):
        good = {"score": 1, "tests": [{"name": "a", "score": 1, "max_score": 1, "status": "passed",
                                       "output": "", "visibility": "visible"}]}
        self.assertEqual(schema_problems(good), [])
        for broken in ({"tests": []}, {"score": 1, "tests": [{"name": "a", "score": 1, "max_score": 1,
                                                               "status": "ok", "output": "",
                                                               "visibility": "visible"}]},
                       {"score": 2, "tests": good["tests"]}, {"score": 1, "tests": [{"name": "a"}]},
                       dict(good, colour="red")):
            self.assertNotEqual(schema_problems(broken), [], broken)


if __name__ == "__main__":
    unittest.main()
