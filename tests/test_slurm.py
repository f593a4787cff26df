"""test_slurm.py - grading as a Slurm job array (grader/grading/slurm.py).

The plan's parts on their own, then the real thing: a one-machine Slurm
cluster (munged, slurmctld and slurmd started here, grader/grading/slurmnode.py)
grades the sample class through `grader/grade --slurm`, with the dependent
merge job, and the gradebook is compared with the local one; then a task's
results are lost and the same command, with --wait, regrades only those
students. Without root or without Slurm installed the cluster test is
skipped, and says why on a line of its own (make check shows it).
"""

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from grader.grading import slurm, slurmnode
from grader.kit import ROOT
from grader.samples import make_class
from tests import sample_grades


class PlanTest(unittest.TestCase):
    def test_students_are_dealt_round_robin_and_all_kept(self):
        names = [f"s{i:02d}" for i in range(23)]
        slices = slurm.deal(names, 4)
        self.assertEqual(len(slices), 4)
        self.assertEqual(sorted(n for s in slices for n in s), names)
        self.assertEqual(slices[1][:2], ["s01", "s05"])
        self.assertLessEqual(max(map(len, slices)) - min(map(len, slices)), 1)

    def test_array_size(self):
        self.assertEqual(slurm.array_size(0, 22), 3)  # one task per 10 students by default
        self.assertEqual(slurm.array_size(50, 22), 22)  # never more tasks than students
        self.assertEqual(slurm.array_size(4, 22), 4)
        self.assertEqual(slurm.array_size(4, 0), 0)

    def test_cache_only_refuses_to_grade(self):
        with tempfile.TemporaryDirectory() as d:
            c = slurm.CacheOnly(d)
            with self.assertRaises(slurm.NotCached):
                c.get("ab" * 32)
            slurm.C.Cache(d).put("ab" * 32, {"x": 1})
            self.assertEqual(c.get("ab" * 32), {"x": 1})

    def test_merge_names_the_students_of_a_task_that_did_not_finish(self):
        with tempfile.TemporaryDirectory() as d:
            plan = os.path.join(d, "plan.json")
            with open(plan, "w") as f:
                json.dump({"slices": [["ann", "cy"], ["bob"]], "run": d, "out": d, "cpus": 1}, f)
            with open(os.path.join(d, "task-0.json"), "w") as f:
                json.dump({"task": 0}, f)
            args = argparse.Namespace(no_cache=True, student=["ann"], slurm=True)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                self.assertEqual(slurm.merge_check(plan, args), 1)
            self.assertIn("task 1", err.getvalue())
            self.assertIn("bob", err.getvalue())
            self.assertNotIn("ann", err.getvalue())
            with open(os.path.join(d, "task-1.json"), "w") as f:
                json.dump({"task": 1}, f)
            self.assertIsNone(slurm.merge_check(plan, args))
            # The merge then runs as a local run over the cache: nothing set aside, nobody regraded.
            self.assertEqual((args.no_cache, args.student, args.slurm), (False, [], False))

    def test_without_sbatch_it_says_so_and_grades_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "class", "ann"))
            env = dict(os.environ, PATH="/nonexistent")
            r = subprocess.run([sys.executable, "-m", "grader", os.path.join(d, "class"), "--out",
                                os.path.join(d, "out"), "--slurm"], capture_output=True, text=True,
                               cwd=ROOT, env=env)
            self.assertEqual(r.returncode, 2)
            self.assertIn("sbatch", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "out")))


def cluster_skip_reason():
    return slurmnode.why_not()


class ClusterTest(unittest.TestCase):
    """The sample class graded through a real, one-machine Slurm cluster."""

    @classmethod
    def setUpClass(cls):
        reason = cluster_skip_reason()
        if reason:
            # A line of its own, which make check's summary shows: never a silent pass.
            print(f"\nSKIPPED: the Slurm cluster test: {reason}", file=sys.stderr)
            raise unittest.SkipTest(reason)
        cls.tmp = tempfile.mkdtemp(prefix="slurm-test-")
        cls.klass = os.path.join(cls.tmp, "class")
        cls.out = os.path.join(cls.tmp, "out")
        make_class.make(cls.klass)
        cls.cluster = slurmnode.LocalCluster()
        try:
            cls.cluster.start()
        except slurmnode.ClusterError:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def grade(self, *extra):
        # One CPU per task: two tasks at a time on a two-core machine.
        argv = [os.path.join(ROOT, "grader", "grade"), self.klass, "--out", self.out, "--quiet",
                *sample_grades.options(), "--slurm", "--array-size", "3", "--slurm-cpus", "1", *extra]
        return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=self.cluster.env(),
                              timeout=1800)

    def gradebook(self):
        with open(os.path.join(self.out, "gradebook.csv")) as f:
            return f.read()

    def wait_for(self, job, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            r = subprocess.run(["squeue", "-h", "-j", job, "-o", "%i"], capture_output=True, text=True,
                               env=self.cluster.env())
            if not r.stdout.strip():  # ended (or already forgotten: "Invalid job id")
                return
            time.sleep(2)
        self.fail(f"job {job} still queued or running after {seconds} s:\n{self.cluster.log_tail()}")

    def test_the_array_then_a_rerun_give_the_local_gradebook(self):
        # 1. Submit: the array and the dependent merge job; this command returns at once.
        r = self.grade()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        m = re.search(r"job array (\d+) \(3 tasks\) and merge job (\d+)", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.out, "gradebook.csv")))
        self.wait_for(m.group(2), 1500)
        run = os.path.join(self.out, ".slurm", os.listdir(os.path.join(self.out, ".slurm"))[0])
        with open(os.path.join(run, "merge.out")) as f:
            merge_log = f.read()
        n = len(make_class.STUDENTS)
        self.assertIn(f"graded {n} students", merge_log)
        tasks = []
        for i in range(3):
            with open(os.path.join(run, f"task-{i}.json")) as f:
                tasks.append(json.load(f))
        with open(os.path.join(self.out, "results.json")) as f:
            students = {s["student"]: s for s in json.load(f)["students"]}
        # Every student with a file to grade went to a task (one with none needs no grading).
        to_grade = {name for name, st in students.items() if any(e["status"] != "missing" for e in st["exercises"])}
        self.assertEqual(sorted(name for t in tasks for name in t["students"]), sorted(to_grade))
        # The tasks' times, for the record (bench.py compares them with a local run's).
        print("\n[slurm test] tasks' grading: " + " + ".join(f"{t['grading_seconds']:.0f}" for t in tasks)
              + f" = {sum(t['grading_seconds'] * t['jobs'] for t in tasks):.0f} CPU-slot s; kit ready in "
              + ", ".join(f"{t['prepare_seconds']:.0f}" for t in tasks) + " s", file=sys.stderr)
        first = self.gradebook()
        problem = sample_grades.compare(sample_grades.local_gradebook(), first)
        self.assertIsNone(problem, problem)
        for name in ("report.html", "junit.xml", "results.json", "students/ada_perfect/feedback.md"):
            self.assertTrue(os.path.exists(os.path.join(self.out, name)), name)

        # 2. A task "died": the results of two of its students are lost. The same
        # command again (with --wait) submits only them, and merges here.
        lost = {"gus_compile_error", "x_fork_bomb"}
        dropped = []
        for dirpath, _, files in os.walk(os.path.join(self.out, ".cache")):
            for name in files:
                with open(os.path.join(dirpath, name)) as f:
                    result = json.load(f)
                same = (result["exercise"], result["status"], result["messages"])
                owners = {s for s in lost for e in students[s]["exercises"]
                          if (e["exercise"], e["status"], e["messages"]) == same}
                if owners and result["status"] != "graded":  # graded ones may be another's too
                    os.remove(os.path.join(dirpath, name))
                    dropped.append(same)
        self.assertTrue(dropped)
        # Whoever had one of the dropped results (the two, and any twin of theirs) is regraded.
        affected = {name for name, st in students.items() for e in st["exercises"]
                    if (e["exercise"], e["status"], e["messages"]) in dropped}
        self.assertTrue(lost <= affected)
        os.remove(os.path.join(self.out, "gradebook.csv"))
        r = self.grade("--wait")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"submitting {min(3, len(affected))} array tasks for {len(affected)} students "
                      f"({n - len(affected)} need no grading", r.stdout)
        self.assertEqual(self.gradebook(), first)


if __name__ == "__main__":
    unittest.main()
