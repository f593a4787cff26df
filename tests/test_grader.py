"""test_grader.py - the grader's own tests (run by `make check`).

Unit tests of the parts where a mistake would let a student cheat or break
the grader (archive extraction, the object policy, verdicts, reruns, the
sandbox's limits, the cache), then the bundled sample class graded end to
end and compared with the points recorded in grader/samples/expected.json.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

from grader.grading import cache, policy, runner, sandbox, submissions, testlist, verdict
from grader.grading.sandbox import Limits, Result
from grader.kit import ROOT
from grader.samples import make_class
from tests import sample_grades

SAMPLES = os.path.join(ROOT, "grader", "samples")


def compile_object(source, folder, name="student"):
    src = os.path.join(folder, name + ".c")
    obj = os.path.join(folder, name + ".o")
    with open(src, "w") as f:
        f.write(source)
    subprocess.run(["cc", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-O2", "-c", src, "-o", obj],
                   check=True, capture_output=True)
    return obj


class ArchiveTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_member_names_that_escape_are_refused(self):
        for bad in ("../x.c", "a/../../x.c", "/etc/passwd", "C:/x.c", "..", "a/../../../b"):
            self.assertIsNone(submissions.safe_member_name(bad), bad)
        self.assertEqual(submissions.safe_member_name("kit/./exercises/mpsc/mpsc.c"),
                         "kit/exercises/mpsc/mpsc.c")

    def test_tar_escapes_and_links_are_skipped_and_reported(self):
        path = os.path.join(self.tmp, "s.tar.gz")
        with tarfile.open(path, "w:gz") as t:
            for name, data in (("../../evil.c", b"x"), ("/abs.c", b"y"), ("s/exercises/mpsc/mpsc.c", b"ok")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            link = tarfile.TarInfo("s/exercises/oneshot/oneshot.c")
            link.type, link.linkname = tarfile.SYMTYPE, "../../../solutions/oneshot/oneshot.c"
            t.addfile(link)
        sub = submissions.load("s", path)
        self.assertEqual(list(sub.files), ["s/exercises/mpsc/mpsc.c"])
        self.assertEqual(len(sub.notes), 3)
        self.assertEqual(submissions.find_student_file(sub, "mpsc", "mpsc.c")[1], b"ok")
        self.assertEqual(os.listdir(self.tmp), ["s.tar.gz"])  # nothing was written

    def test_zip_symlink_and_escape_are_refused(self):
        path = os.path.join(self.tmp, "z.zip")
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("../up.c", "x")
            info = zipfile.ZipInfo("top/mpsc.c")
            info.external_attr = (0o120777) << 16  # a symbolic link
            z.writestr(info, "/etc/passwd")
            z.writestr("top/exercises/mpsc/mpsc.c", "real")
        sub = submissions.load("z", path)
        self.assertEqual(sub.files, {"top/exercises/mpsc/mpsc.c": b"real"})
        self.assertEqual(len(sub.notes), 2)

    def test_folder_symlinks_are_not_followed(self):
        folder = os.path.join(self.tmp, "f")
        os.makedirs(folder)
        secret = os.path.join(self.tmp, "secret.c")
        with open(secret, "w") as f:
            f.write("hidden")
        os.symlink(secret, os.path.join(folder, "mpsc.c"))
        sub = submissions.load("f", folder)
        self.assertEqual(sub.files, {})
        self.assertIn("symbolic links", sub.notes[0])

    def test_size_limit(self):
        path = os.path.join(self.tmp, "big.zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("mpsc.c", b"\0" * (submissions.MAX_FILE + 10))  # a zip bomb in small
        sub = submissions.load("big", path)
        self.assertEqual(sub.files, {})
        self.assertIn("larger than", sub.notes[0])

    def test_student_file_found_by_path(self):
        sub = submissions.Submission("s", "", files={
            "kit-main/exercises/mpsc/mpsc.c": b"a", "kit-main/solutions/mpsc/mpsc.c": b"ref",
            "oneshot.c": b"b", "tests/oneshot.c": b"t"})
        self.assertEqual(submissions.find_student_file(sub, "mpsc", "mpsc.c"),
                         ("kit-main/exercises/mpsc/mpsc.c", b"a"))
        self.assertEqual(submissions.find_student_file(sub, "oneshot", "oneshot.c"), ("oneshot.c", b"b"))
        self.assertEqual(submissions.find_student_file(sub, "broadcast", "broadcast.c"), (None, None))


class PolicyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.allow = policy.load_allowlist("mpsc")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def check(self, source, taken=frozenset()):
        return policy.check_object(compile_object(source, self.tmp), "mpsc", set(taken), self.allow)

    def test_a_plain_channel_object_passes(self):
        self.assertEqual(self.check(
            "#include <pthread.h>\n#include <stdlib.h>\n#include <stdio.h>\n"
            "static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;\n"
            "void *mpsc_x(size_t n) { pthread_mutex_lock(&m); void *p = malloc(n);"
            " fprintf(stderr, \"%zu\\n\", n); pthread_mutex_unlock(&m); if (!p) abort(); return p; }\n"), [])

    def test_exit_fopen_fork_and_sockets_are_refused_with_reasons(self):
        problems = self.check(
            "#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n#include <sys/socket.h>\n"
            "int mpsc_y(int a) { if (a == 1) exit(0); if (a == 2) fork();"
            " if (a == 3) fopen(\"r.json\", \"w\"); if (a == 4) socket(0, 0, 0); return a; }\n")
        text = "\n".join(problems)
        for sym in ("exit", "fork", "fopen", "socket"):
            self.assertIn(f"`{sym}`", text)
        self.assertIn("fake a pass", text)

    def test_constructor_is_refused(self):
        problems = self.check("#include <stdio.h>\n__attribute__((constructor)) void early(void)"
                              " { puts(\"x\"); }\n")
        self.assertTrue(any(".init_array" in p for p in problems), problems)

    def test_inline_syscall_is_refused(self):
        problems = self.check("long mpsc_z(void) { long r; __asm__ volatile(\"syscall\" : \"=a\"(r)"
                              " : \"a\"(60) : \"rcx\", \"r11\", \"memory\"); return r; }\n")
        self.assertTrue(any("system-call instruction" in p for p in problems), problems)

    def test_redefining_a_library_or_kit_name_is_refused(self):
        problems = self.check("int printf(const char *f, ...) { (void)f; return 0; }\n"
                              "int mpsc_ok(void) { return 1; }\n", taken={"printf"})
        self.assertEqual(len(problems), 1)
        self.assertIn("`printf`", problems[0])


class VerdictTest(unittest.TestCase):
    def report(self, status, name="mpsc/a", messages=()):
        suite, test = name.split("/")
        return json.dumps({"test_suites": [{"name": suite, "tests": [
            {"name": test, "status": status, "messages": list(messages)},
            {"name": "other", "status": "SKIPPED"}]}]})

    def test_verdicts(self):
        V = verdict
        self.assertEqual(V.from_report(self.report("PASSED"), "mpsc/a", 0, False).status, V.PASS)
        # A passing report but a failing runner is not a pass.
        self.assertEqual(V.from_report(self.report("PASSED"), "mpsc/a", 1, False).status, V.CRASH)
        failed = V.from_report(self.report("FAILED", messages=["x.c:3: expected 1"]), "mpsc/a", 1, False)
        self.assertEqual((failed.status, failed.message), (V.FAIL, "x.c:3: expected 1"))
        self.assertEqual(V.from_report(self.report("ERRORED", messages=["The test crashed."]),
                                       "mpsc/a", 1, False).status, V.CRASH)
        self.assertEqual(V.from_report(None, "mpsc/a", -9, True).status, V.TIMEOUT)
        self.assertEqual(V.from_report(None, "mpsc/a", 0, False).status, V.CRASH)
        self.assertEqual(V.from_report("{not json", "mpsc/a", 0, False).status, V.CRASH)
        # A report about another test proves nothing about this one.
        self.assertEqual(V.from_report(self.report("PASSED", "mpsc/b"), "mpsc/a", 0, False).status, V.CRASH)

    def test_batch_takes_only_passes(self):
        ran = verdict.parse_report(self.report("FAILED"))
        self.assertIsNone(verdict.from_batch(ran, "mpsc/a"))
        self.assertEqual(verdict.from_batch(verdict.parse_report(self.report("PASSED")), "mpsc/a").status,
                         verdict.PASS)

    def test_descriptions_are_read_from_declarations(self):
        tests = testlist.parse_declarations(
            'KT_TEST(mpsc, fifo, .timeout = 2,\n        .description = "one " "two") {\n}\n'
            'Test(mpsc_hidden, x, .description = "say \\"hi\\"") {}\n', hidden=True)
        self.assertEqual([(t.id, t.description, t.timeout) for t in tests],
                         [("mpsc/fifo", "one two", 2.0), ("mpsc_hidden/x", 'say "hi"', 0.0)])


class FakeSandbox:
    """Plays a scripted sequence of Criterion outcomes, writing the report as the runner would."""

    kind = "fake"

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0

    def run(self, argv, ro_dirs=(), rw_dir=None, cwd=None, limits=None, slot=0, env=None):
        self.calls += 1
        status = self.outcomes.pop(0)
        report = {"test_suites": [{"name": "mpsc", "tests": [{"name": "a", "status": status,
                                                               "messages": ["boom"]}]}]}
        with open(os.path.join(rw_dir, runner.REPORT), "w") as f:
            json.dump(report, f)
        return Result(0 if status == "PASSED" else 1, False, "", "", 0.01, "fake")


class RerunTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.test = testlist.TestInfo("mpsc", "a", "d", 2.0)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_it(self, outcomes, reruns, failed_before=False):
        sb = FakeSandbox(outcomes)
        r = runner.run_test("/bin/true", self.test, os.path.join(self.tmp, "s"), sb, Limits(), 0,
                            reruns, failed_before=failed_before)
        return r.status, sb.calls

    def test_fail_then_pass_is_flaky(self):
        self.assertEqual(self.run_it(["FAILED", "PASSED"], 1), (verdict.FLAKY, 2))

    def test_fail_twice_is_a_failure(self):
        self.assertEqual(self.run_it(["FAILED", "FAILED"], 1), (verdict.FAIL, 2))

    def test_failed_in_batch_then_passes_alone_is_flaky(self):
        self.assertEqual(self.run_it(["PASSED"], 1, failed_before=True), (verdict.FLAKY, 1))

    def test_pass_is_not_rerun(self):
        self.assertEqual(self.run_it(["PASSED"], 3), (verdict.PASS, 1))


class SandboxTest(unittest.TestCase):
    """The limits hold: run only inside the sandbox, with small limits."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        os.chmod(cls.tmp, 0o755)
        cls.sb = sandbox.Sandbox()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def program(self, name, source):
        src = os.path.join(self.tmp, name + ".c")
        with open(src, "w") as f:
            f.write(source)
        exe = os.path.join(self.tmp, name)
        subprocess.run(["cc", "-O1", src, "-o", exe], check=True, capture_output=True)
        os.chmod(exe, 0o755)
        return exe

    def test_fork_bomb_is_contained(self):
        exe = self.program("forkbomb", "#include <unistd.h>\nint main(void) { for (int i = 0; i < 100000; i++)"
                                       " fork(); return 0; }\n")
        r = self.sb.run([exe], ro_dirs=[self.tmp], limits=Limits(processes=30, wall_seconds=5, cpu_seconds=5))
        self.assertLess(r.seconds, 10)
        # Nothing of it survives the run (the grader waits for a killed sandbox to be gone).
        left = subprocess.run(["pgrep", "-f", exe], capture_output=True, text=True).stdout.split()
        self.assertEqual(left, [])

    def test_memory_bomb_is_stopped(self):
        exe = self.program("membomb", "#include <stdlib.h>\n#include <string.h>\nint main(void) { for (;;) {"
                                      " char *p = malloc(1 << 20); if (!p) return 3; memset(p, 1, 1 << 20); } }\n")
        r = self.sb.run([exe], ro_dirs=[self.tmp], limits=Limits(memory_bytes=128 << 20, wall_seconds=20))
        self.assertEqual(r.returncode, 3)

    def test_output_is_capped_and_hang_is_killed(self):
        exe = self.program("flood", "#include <stdio.h>\nint main(void) { for (;;) puts(\"spam\"); }\n")
        r = self.sb.run([exe], ro_dirs=[self.tmp], limits=Limits(wall_seconds=2, output_bytes=1000))
        self.assertLess(len(r.stdout), 2000)
        self.assertNotEqual(r.returncode, 0)

    def test_no_network_and_no_view_of_the_kit(self):
        if self.sb.kind != "bwrap":
            self.skipTest(f"sandbox here is {self.sb.kind}")
        exe = self.program("peek", "#include <stdio.h>\nint main(int c, char **v) { (void)c;"
                                   " return fopen(v[1], \"r\") != NULL; }\n")
        r = self.sb.run([exe, os.path.join(ROOT, "Makefile")], ro_dirs=[self.tmp], limits=Limits(wall_seconds=5))
        self.assertEqual(r.returncode, 0, "the kit's files are visible in the sandbox")


class CacheTest(unittest.TestCase):
    def test_key_depends_on_content_and_options_only(self):
        a = cache.key("fp", {"mpsc.c": b"x"}, {"reruns": 1})
        self.assertEqual(a, cache.key("fp", {"mpsc.c": b"x"}, {"reruns": 1}))
        self.assertNotEqual(a, cache.key("fp", {"mpsc.c": b"y"}, {"reruns": 1}))
        self.assertNotEqual(a, cache.key("fp", {"mpsc.c": b"x"}, {"reruns": 0}))
        self.assertNotEqual(a, cache.key("fp2", {"mpsc.c": b"x"}, {"reruns": 1}))

    def test_put_get(self):
        with tempfile.TemporaryDirectory() as d:
            c = cache.Cache(d)
            self.assertIsNone(c.get("ab" * 32))
            c.put("ab" * 32, {"x": 1})
            self.assertEqual(c.get("ab" * 32), {"x": 1})


def tree_digest(folder):
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            h.update(os.path.relpath(p, folder).encode())
            with open(p, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


class SampleClassTest(unittest.TestCase):
    """Grades the sample class (generated from its recipe) and compares every student's points."""

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(SAMPLES, "expected.json")) as f:
            cls.expected = json.load(f)
        cls.tmp = tempfile.mkdtemp(prefix="grader-check-")
        cls.out = os.path.join(cls.tmp, "out")
        cls.klass = os.path.join(cls.tmp, "deep", "er", "class")
        make_class.make(cls.klass)
        cls.class_digest = tree_digest(cls.klass)
        cls.first = cls.grade()
        sample_grades.remember(cls.first)  # the Slurm test compares with it

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def grade(cls, *extra):
        r = subprocess.run([sys.executable, "-m", "grader", cls.klass, "--out", cls.out, "--quiet",
                            *cls.expected["options"], *extra], capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            raise AssertionError(f"grader failed:\n{r.stdout}\n{r.stderr}")
        with open(os.path.join(cls.out, "gradebook.csv")) as f:
            return f.read()

    def results(self):
        with open(os.path.join(self.out, "results.json")) as f:
            return {r["student"]: r for r in json.load(f)["students"]}

    def test_every_student_gets_the_expected_points(self):
        got = self.results()
        self.assertEqual(sorted(got), sorted(self.expected["students"]))
        for name, exp in self.expected["students"].items():
            for ex, points in exp["points"].items():
                actual = next(e["total"] for e in got[name]["exercises"] if e["exercise"] == ex)
                low, high = exp.get("range", {}).get(ex, (points, points))
                self.assertTrue(low <= actual <= high,
                                f"{name} {ex}: {actual} points, expected {points} ({exp['why']})")

    def test_hostile_students_get_only_their_honest_part(self):
        got = self.results()
        mpsc = {n: next(e for e in r["exercises"] if e["exercise"] == "mpsc") for n, r in got.items()}
        # Each scores what the same code without the hostile part scores: its twin's points
        # (or range, where expected.json gives one for a bug caught only by chance).
        expected = self.expected["students"]
        for hostile, twin in (("x_forged_output", "ben_lost_waker"), ("x_tampered_tests", "ben_lost_waker"),
                              ("x_read_hidden", "cleo_no_wake_on_drop")):
            points = expected[twin]["points"]["mpsc"]
            low, high = expected[twin].get("range", {}).get("mpsc", (points, points))
            self.assertTrue(low <= mpsc[hostile]["total"] <= high, hostile)
        for refused in ("x_fork_bomb", "x_exit_in_test", "x_forged_results", "x_network", "x_constructor"):
            self.assertEqual(mpsc[refused]["status"], "rejected", refused)
        self.assertEqual(mpsc["gus_compile_error"]["status"], "compile error")
        self.assertIn("Makefile", " ".join(mpsc["x_tampered_tests"]["notes"]))

    def test_the_class_is_made_from_its_recipe_the_same_each_time(self):
        again = os.path.join(self.tmp, "again")
        make_class.make(again)
        self.assertEqual(tree_digest(again), tree_digest(self.klass))
        self.assertFalse(os.path.exists(os.path.join(SAMPLES, "class")), "the generated class is committed")

    def test_nothing_written_outside(self):
        self.assertEqual(tree_digest(self.klass), self.class_digest)
        self.assertFalse(os.path.exists("/tmp/absolute-escape.txt"))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "deep", "escaped.txt")))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "escaped.txt")))

    def test_outputs_exist(self):
        for rel in ("report.html", "junit.xml", "students/ada_perfect/feedback.md",
                    "students/ada_perfect/feedback.html", "students/ada_perfect/results.json"):
            self.assertTrue(os.path.exists(os.path.join(self.out, rel)), rel)
        with open(os.path.join(self.out, "report.html")) as f:
            html = f.read()
        self.assertIn("<svg", html)
        self.assertNotIn("http://", html.replace('xmlns="http://www.w3.org/2000/svg"', ""))

    def test_restart_after_a_kill_gives_the_same_gradebook(self):
        # A killed run leaves some results cached and no gradebook: drop part of the cache.
        # The refused and non-compiling ones: cheap to regrade, and their verdicts
        # cannot depend on timing (a few sample bugs make a test pass by chance).
        entries = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(self.out, ".cache"))
                         for f in fs)
        dropped = 0
        for path in entries:
            with open(path) as f:
                status = json.load(f)["status"]
            if status != "graded":
                os.remove(path)
                dropped += 1
        self.assertGreater(dropped, 0)
        os.remove(os.path.join(self.out, "gradebook.csv"))
        self.assertEqual(self.grade(), self.first)
        # And a second run over the same input, all cached, is identical too.
        self.assertEqual(self.grade(), self.first)


if __name__ == "__main__":
    unittest.main()
