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
import signal
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

from grader.grading import build, cache, kitbuild, policy, runner, sandbox, submissions, testlist
from grader.grading import status as ST
from grader.grading.kitbuild import ReferenceRun
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

    # ---- every kind of broken upload is that student's problem alone ----

    def zip_with(self, name, members, method=zipfile.ZIP_STORED):
        path = os.path.join(self.tmp, name)
        with zipfile.ZipFile(path, "w", method) as z:
            for member, data in members:
                z.writestr(member, data)
        return path

    def patch(self, path, old, new, count=-1):
        with open(path, "rb") as f:
            data = f.read()
        self.assertIn(old, data)
        with open(path, "wb") as f:
            f.write(data.replace(old, new, count))

    def test_encrypted_zip_member_is_a_note(self):
        path = self.zip_with("enc.zip", [("top/mpsc.c", b"int x;\n"), ("top/README", b"hi")])
        # Set the "encrypted" flag bit of the first member (local header and central directory).
        with open(path, "rb") as f:
            data = bytearray(f.read())
        for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(sig)
            data[at + flag_at] |= 1
        with open(path, "wb") as f:
            f.write(bytes(data))
        sub = submissions.load("enc", path)
        self.assertNotIn("top/mpsc.c", sub.files)
        self.assertTrue(any("encrypted" in n for n in sub.notes), sub.notes)

    def test_zip_with_a_bad_utf8_name_flag_is_a_submission_error(self):
        path = self.zip_with("name.zip", [("top/aaaa.c", b"x")])
        with open(path, "rb") as f:
            data = bytearray(f.read())
        for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(sig)
            data[at + flag_at + 1] |= 0x08  # bit 11: the name is UTF-8
        with open(path, "wb") as f:
            f.write(bytes(data).replace(b"aaaa", b"\xff\xfe\xfd\xfc"))
        with self.assertRaisesRegex(submissions.SubmissionError, "UTF-8"):
            submissions.load("name", path)

    def test_corrupt_deflate_data_is_a_note(self):
        path = self.zip_with("bad.zip", [("top/mpsc.c", b"int mpsc;\n" * 500)], zipfile.ZIP_DEFLATED)
        with open(path, "rb") as f:
            data = bytearray(f.read())
        start = data.find(b"PK\x03\x04") + 30 + len("top/mpsc.c")
        data[start:start + 40] = b"\xff" * 40
        with open(path, "wb") as f:
            f.write(bytes(data))
        sub = submissions.load("bad", path)
        self.assertEqual(sub.files, {})
        self.assertTrue(any("damaged" in n for n in sub.notes), sub.notes)

    def test_tar_names_that_are_not_utf8(self):
        path = os.path.join(self.tmp, "raw.tar")
        with tarfile.open(path, "w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                          errors="surrogateescape") as t:
            for name in ("d\udcff/x.c", "top/\udcfe.c", "top/mpsc.c"):
                info = tarfile.TarInfo(name)
                info.size = 2
                t.addfile(info, io.BytesIO(b"ok"))
        sub = submissions.load("raw", path)
        self.assertEqual(submissions.find_student_file(sub, "mpsc", "mpsc.c")[1], b"ok")
        for note in sub.notes:
            note.encode("utf-8")  # printable, whatever the names were

    def test_member_count_and_archive_size_limits(self):
        many = self.zip_with("many.zip", [(f"f{i}", b"") for i in range(submissions.MAX_MEMBERS + 1)])
        with self.assertRaisesRegex(submissions.SubmissionError, "members"):
            submissions.load("many", many)
        # A declared count of a million is refused before the directory is read.
        small = self.zip_with("small.zip", [("a", b"")])
        with open(small, "rb") as f:
            data = bytearray(f.read())
        at = data.rfind(b"PK\x05\x06")
        data[at + 10:at + 12] = b"\xff\xfe"
        with open(small, "wb") as f:
            f.write(bytes(data))
        with self.assertRaisesRegex(submissions.SubmissionError, "members"):
            submissions.load("small", small)
        big = os.path.join(self.tmp, "big.tar.gz")
        with open(big, "wb") as f:
            f.truncate(submissions.MAX_TOTAL + 1)  # sparse: costs no disk
        with self.assertRaisesRegex(submissions.SubmissionError, "larger than"):
            submissions.load("big", big)
        tar = os.path.join(self.tmp, "wide.tar")
        with tarfile.open(tar, "w") as t:
            for i in range(submissions.MAX_MEMBERS + 1):
                t.addfile(tarfile.TarInfo(f"d{i}/"), None) if False else t.addfile(tarfile.TarInfo(f"e{i}"))
        with self.assertRaisesRegex(submissions.SubmissionError, "members"):
            submissions.load("wide", tar)

    def test_garbage_is_a_submission_error(self):
        for name, data in (("junk.zip", b"not a zip at all"), ("junk.tar.gz", b"\x1f\x8b garbage"),
                           ("junk.tgz", b"")):
            path = os.path.join(self.tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            with self.assertRaises(submissions.SubmissionError):
                submissions.load("junk", path)

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

    def check(self, source, api=frozenset({"mpsc_x", "mpsc_y", "mpsc_z", "mpsc_ok"})):
        return policy.check_object(compile_object(source, self.tmp), "mpsc", set(api), self.allow)

    def test_symbols_are_read_as_nm_reads_them(self):
        # readelf replaced nm (which loads every bfd plugin first): the same names in each class.
        src = os.path.join(self.tmp, "kinds.c")
        with open(src, "w") as f:
            f.write("extern int ext_var; extern void ext_fn(void); __attribute__((weak)) extern void maybe(void);\n"
                    "int common_var; _Thread_local int tls_var = 1; static int file_var;\n"
                    "__attribute__((weak)) int weak_def(void) { return 1; }\n"
                    "__attribute__((visibility(\"hidden\"))) int hidden_def(void) { return 2; }\n"
                    "static int impl(void) { return 3; } static int (*pick(void))(void) { return impl; }\n"
                    "int chosen(void) __attribute__((ifunc(\"pick\")));\n"
                    "int use(void) { ext_fn(); if (maybe) maybe(); return ext_var + file_var++ + tls_var; }\n")
        obj = os.path.join(self.tmp, "kinds.o")
        subprocess.run(["cc", "-fcommon", "-c", src, "-o", obj], check=True, capture_output=True)
        undefined, defined, ifuncs = set(), set(), set()
        for line in subprocess.run(["nm", "-P", obj], capture_output=True, text=True, check=True).stdout.splitlines():
            name, kind = line.split()[:2]
            (undefined if kind in "Uwv" else ifuncs if kind == "i" else defined if kind.isupper() else set()).add(name)
        self.assertEqual(policy.symbols(obj), (undefined, defined, ifuncs))
        self.assertLessEqual({"ext_var", "ext_fn", "maybe"}, undefined)
        self.assertEqual(defined, {"common_var", "tls_var", "weak_def", "hidden_def", "use"})
        self.assertEqual(ifuncs, {"chosen"})
        with self.assertRaises(ValueError):
            policy.symbols(src)  # not an object file

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

    def test_only_the_headers_functions_may_be_defined(self):
        # Whatever library a name would shadow (here one nobody reserved), it is refused.
        problems = self.check("int printf(const char *f, ...) { (void)f; return 0; }\n"
                              "int criterion_handle_args(void) { return 0; }\n"
                              "int helper_of_mine(void) { return 2; }\n"
                              "static int file_local(void) { return 3; }\n"
                              "int mpsc_ok(void) { return file_local(); }\n")
        self.assertEqual(len(problems), 3, problems)
        for name in ("printf", "criterion_handle_args", "helper_of_mine"):
            self.assertTrue(any(f"`{name}`" in p and "static" in p for p in problems), name)

    def test_global_data_is_refused_too(self):
        problems = self.check("int mpsc_counter = 1;\nint mpsc_ok(void) { return mpsc_counter; }\n")
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("`mpsc_counter`", problems[0])

    def test_sections_are_checked_by_type_not_only_by_name(self):
        problems = self.check("static void early(void) {}\n"
                              "__attribute__((section(\".data.innocent\"), used)) static void (*p)(void) = early;\n"
                              "int mpsc_ok(void) { return 1; }\n")
        self.assertEqual(problems, [])  # a data section holding a pointer: fine
        # The same pointer in a section the linker runs (INIT_ARRAY) under a data name: refused.
        problems = self.check("static void early(void) {}\n"
                              "__attribute__((section(\".data.innocent,\\\"aw\\\",@init_array #\"), used))\n"
                              "static void (*p)(void) = early;\nint mpsc_ok(void) { return 1; }\n")
        self.assertTrue(any("INIT_ARRAY" in p for p in problems), problems)
        problems = self.check("__attribute__((section(\".data.code\"))) int mpsc_ok(void) { return 1; }\n")
        self.assertTrue(any("executable" in p for p in problems), problems)

    def test_inline_assembly_is_found_after_the_preprocessor(self):
        source = os.path.join(self.tmp, "s.c")
        text = ('#define HIDE(x) __as##x\nint mpsc_ok(void) { HIDE(m__)("nop"); return 0; }\n'
                'const char *mpsc_word(void) { return "asm in a string is fine"; }\n')
        with open(source, "w") as f:
            f.write(text)
        pre = subprocess.run(["cc", "-E", source], capture_output=True, text=True, check=True).stdout
        self.assertEqual(build.inline_assembly(pre, source), [2])
        self.assertEqual(build.inline_assembly(pre, "/elsewhere.c"), [])


def result(code, stderr="", timed_out=False, kind="rlimits", seconds=0.05):
    return Result(code, timed_out, "", stderr, seconds, kind)


class JudgeTest(unittest.TestCase):
    """A verdict comes from the exit status and the runner's record, never from the output."""

    test = testlist.TestInfo("mpsc", "a", "d", 2.0)
    ref = ReferenceRun(seconds=0.01, assertions=5, threads=1)

    def judge(self, r, record="pass mpsc/a 5 1 1200\n", ref=ref):
        return runner.judge(r, record, self.test, ref, 2.0)

    def test_a_pass_needs_status_0_and_the_record(self):
        self.assertEqual(self.judge(result(0)).status, ST.PASS)
        self.assertEqual(self.judge(result(0), record="").status, ST.CRASH)
        self.assertEqual(self.judge(result(0), record="pass mpsc/b 5 1 1200\n").status, ST.CRASH)
        # Printing a pass proves nothing.
        forged = result(1, stderr="pass mpsc/a 5 1\n[PASS] mpsc::a\n")
        self.assertNotEqual(self.judge(forged, record="").status, ST.PASS)

    def test_a_pass_reports_the_processor_time_its_record_counts(self):
        # The sandbox's own usage is bubblewrap's, not the test's: the record's count is the test's.
        self.assertAlmostEqual(self.judge(result(0)).cpu_seconds, 0.0012)

    def test_a_pass_with_another_fingerprint_is_not_a_pass_and_is_flagged(self):
        run = self.judge(result(0), record="pass mpsc/a 2 1 1200\n")
        self.assertEqual(run.status, ST.FAIL)
        self.assertIn("2 assertions", run.message)
        self.assertIn("5", run.flagged)
        # A count that differed between the reference's own runs is not compared.
        loose = ReferenceRun(seconds=0.01, assertions=None, threads=1)
        self.assertEqual(self.judge(result(0), record="pass mpsc/a 2 1 1200\n", ref=loose).status, ST.PASS)

    def test_failures_crashes_and_timeouts(self):
        failed = self.judge(result(1, "[----] t.c:3: Assertion Failed\n[----]   x == 1\n"))
        self.assertEqual((failed.status, failed.message), (ST.FAIL, "t.c:3: Assertion Failed\nx == 1"))
        self.assertEqual(self.judge(result(86)).status, ST.CRASH)
        self.assertEqual(self.judge(result(-11)).status, ST.CRASH)
        self.assertEqual(self.judge(result(128 + 11, kind="bwrap")).status, ST.CRASH)
        sigsys = self.judge(result(128 + 31, kind="bwrap"))
        self.assertIn("system call", sigsys.message)
        self.assertEqual(self.judge(result(-9, timed_out=True)).status, ST.TIMEOUT)
        self.assertEqual(self.judge(result(-14)).status, ST.TIMEOUT)  # the runner's own alarm
        with self.assertRaises(build.GraderError):  # SIGKILL, not ours: the machine ran out of memory
            self.judge(result(-9))

    def test_a_race_report_keeps_only_what_tsan_said_never_what_the_test_printed(self):
        printed = ("WARNING: ThreadSanitizer: data race SECRET\n"
                   "  Write of size 4 at 0x7b04 by thread T2 SECRET:\n"
                   "    #0 SECRET_NAME hidden_test.c:12 (true+0x10)\n"
                   "  SECRET text of a hidden test\n"
                   "    #1 SECRET (libc.so.6+0x20)\n")
        report = runner.race_report(printed, "/bin/true")
        self.assertNotIn("SECRET", report)
        self.assertIn("Write of size 4 by thread T2", report)
        run = runner.judge_tsan(result(runner.TSAN_EXIT, printed), "", self.test, "/bin/true")
        self.assertEqual(run.status, ST.FAIL)
        self.assertNotIn("SECRET", run.diagnosis + run.message)
        # Printing a report is not a race: only the sanitizer's exit status is.
        self.assertNotEqual(runner.judge_tsan(result(1, printed), "", self.test, "/bin/true").status, ST.FAIL)

    def test_a_lock_order_inversion_or_a_misused_mutex_is_named_as_what_it_is(self):
        # Not "a data race": ThreadSanitizer's other reports, from a real run, keep their kind.
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        src = os.path.join(tmp, "locks.c")
        with open(src, "w") as f:
            f.write("#include <pthread.h>\n#include <stdlib.h>\n"
                    "static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;\n"
                    "static void both(pthread_mutex_t *x, pthread_mutex_t *y) {\n"
                    "    pthread_mutex_lock(x); pthread_mutex_lock(y); pthread_mutex_unlock(y);\n"
                    "    pthread_mutex_unlock(x); }\n"
                    "int main(int argc, char **argv) { (void)argv;\n"
                    "    if (argc > 1) { pthread_mutex_unlock(&a); return 0; }\n"
                    "    both(&a, &b); both(&b, &a); return 0; }\n")
        binary = os.path.join(tmp, "locks")
        subprocess.run(["cc", "-g1", "-fsanitize=thread", src, "-o", binary], check=True, capture_output=True)
        env = dict(os.environ, TSAN_OPTIONS=runner.TSAN_OPTIONS)
        for argv, kind, words, line in (([binary], "lock-order-inversion (potential deadlock)",
                                         "lock-order inversion", "locks.c:5"),
                                        ([binary, "unlock"], "unlock of an unlocked mutex (or by a wrong thread)",
                                         "unlocked that was not locked", "locks.c:8")):
            ran = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(ran.returncode, runner.TSAN_EXIT, ran.stderr)
            run = runner.judge_tsan(result(ran.returncode, ran.stderr), "", self.test, binary)
            self.assertEqual(run.status, ST.FAIL)
            self.assertIn(words, run.message)
            self.assertNotIn("data race", run.message + run.diagnosis)
            self.assertTrue(run.diagnosis.startswith(f"WARNING: ThreadSanitizer: {kind}\n"), run.diagnosis)
            self.assertIn(line, run.diagnosis)  # a frame of the program's own, symbolized again here
        printed = "WARNING: ThreadSanitizer: SECRET words (pid=1)\n"
        self.assertEqual(runner.tsan_kind(printed), "")  # never a kind of the process's own making

    def test_only_unthreaded_tests_with_a_steady_count_have_a_fingerprint(self):
        def run(assertions, threads):
            return runner.TestRun("x/y", ST.PASS, seconds=0.1, assertions=assertions, threads=threads)
        refs = runner.reference_runs({"a/steady": [run(5, 1), run(5, 1)], "a/varies": [run(5, 1), run(6, 1)],
                                      "a/threaded": [run(7848, 2), run(7848, 2)]})
        self.assertEqual(refs["a/steady"].assertions, 5)
        self.assertIsNone(refs["a/varies"].assertions)
        self.assertIsNone(refs["a/threaded"].assertions)  # seen: 7,800 and 150,050 in two honest runs

    def test_processor_time_is_fitted_to_the_reference(self):
        # The wall clock is the declared timeout (within the cap): a waiting test uses no CPU.
        self.assertEqual(runner.fitted_timeout(self.test, self.ref, 60), 2.0)
        self.assertEqual(runner.fitted_timeout(testlist.TestInfo("mpsc", "b", "", 30.0), None, 10), 10.0)
        # Processor time: ten times the reference's, at least the floor, at most 4x the wall clock.
        self.assertEqual(runner.fitted_cpu(self.test, ReferenceRun(0.01, 5, 1, cpu_seconds=0.001), 60),
                         runner.CPU_FLOOR)
        self.assertEqual(runner.fitted_cpu(self.test, ReferenceRun(0.01, 5, 1, cpu_seconds=0.03), 60), 0.3)
        slow = testlist.TestInfo("mpsc", "b", "", 30.0)
        self.assertEqual(runner.fitted_cpu(slow, ReferenceRun(1, 5, 1, cpu_seconds=0.5), 60), 5)
        self.assertEqual(runner.CPU_FLOOR, 0.1)
        self.assertEqual(runner.fitted_cpu(slow, ReferenceRun(1, 5, 1, cpu_seconds=50), 60), 120)
        spin = self.judge(result(-24))  # SIGXCPU
        self.assertEqual(spin.status, ST.TIMEOUT)
        self.assertIn("processor time", spin.message)

    def test_descriptions_are_read_from_declarations(self):
        tests = testlist.parse_declarations(
            'KT_TEST(mpsc, fifo, .timeout = 2,\n        .description = "one " "two") {\n}\n'
            'Test(mpsc_hidden, x, .description = "say \\"hi\\"") {}\n', hidden=True)
        self.assertEqual([(t.id, t.description, t.timeout) for t in tests],
                         [("mpsc/fifo", "one two", 2.0), ("mpsc_hidden/x", 'say "hi"', 0.0)])


def runner_report(test_id, code, record=b"", stderr=b"", signal_number=0):
    """One finished test as the grader's runner (harness/runner.c) reports it."""
    how, number = ("signal", signal_number) if signal_number else ("exit", code)
    head = (f"start {test_id}\nend {test_id} {how} {number} 0 10000 1200 0 0 "
            f"{len(stderr)} {len(stderr)} {len(record)}\n").encode()
    return head + stderr + record


class FakeSandbox:
    """Plays a scripted sequence of outcomes, one per test run, reporting as the runner would."""

    kind = "fake"

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0

    def run(self, argv, ro_dirs=(), rw_dir=None, cwd=None, limits=None, slot=0, env=None, pass_fd=None):
        self.calls += 1
        ids = [argv[i + 1] for i, a in enumerate(argv) if a == "--run"]
        for test_id in ids:
            if self.outcomes.pop(0):
                data = runner_report(test_id, 0, f"pass {test_id} 5 1 1200\n".encode())
            else:
                data = runner_report(test_id, 1, stderr=b"[----] boom\n")
            os.write(pass_fd, data)
        return Result(0, False, "", "", 0.01, "fake")


class RerunTest(unittest.TestCase):
    test = testlist.TestInfo("mpsc", "a", "d", 2.0)

    def run_it(self, outcomes, reruns):
        sb = FakeSandbox(outcomes)
        r = runner.run_test("/bin/true", self.test, sb, Limits(), 2.0, ReferenceRun(0.01, 5, 1), reruns)
        return r.status, sb.calls

    def test_fail_then_pass_is_flaky(self):
        self.assertEqual(self.run_it([False, True], 1), (ST.FLAKY, 2))

    def test_fail_twice_is_a_failure(self):
        self.assertEqual(self.run_it([False, False], 1), (ST.FAIL, 2))

    def test_no_reruns_by_default(self):
        self.assertEqual(self.run_it([False], 0), (ST.FAIL, 1))

    def test_pass_is_not_rerun(self):
        self.assertEqual(self.run_it([True], 3), (ST.PASS, 1))


class RunnerReportTest(unittest.TestCase):
    """The runner's report (harness/runner.c) read back, and a batch that a test stops."""

    def test_a_batch_of_floods_fits_the_report_file(self):
        # Each test of a batch may keep output_bytes of each stream and a 1,000-byte record: the
        # runner's report of a whole batch of floods stays under the file-size limit it is written
        # under, and the batch is as large as that allows (each runner costs a sandbox's start).
        for limits in (Limits(), Limits(output_bytes=1 << 20), Limits(file_bytes=1 << 20),
                       Limits(output_bytes=16 << 10, file_bytes=64 << 20)):
            n = runner.batch_size(limits)
            flood = runner_report("mpsc/a_test_with_a_long_name", 0, b"r" * 1000,
                                  b"o" * (2 * limits.output_bytes))
            self.assertLessEqual(n * len(flood), limits.file_bytes, limits)
            self.assertTrue(n == runner.MAX_BATCH or (n + 1) * len(flood) > limits.file_bytes * 3 // 4, limits)
        self.assertEqual(runner.batch_size(Limits()), 47)
        self.assertEqual(runner.batch_size(Limits(output_bytes=16 << 20)), 1)  # never none

    def test_a_report_gives_each_test_its_end_output_and_record(self):
        data = (runner_report("mpsc/a", 0, b"pass mpsc/a 5 1 1200\n", b"said a\n")
                + runner_report("mpsc/b", 0, stderr=b"[----] b.c:1: Assertion Failed\n", signal_number=11))
        pieces, started = runner.parse_report(data)
        self.assertIsNone(started)
        self.assertEqual([p.test_id for p in pieces], ["mpsc/a", "mpsc/b"])
        self.assertEqual((pieces[0].result.exit_code, pieces[0].record), (0, "pass mpsc/a 5 1 1200\n"))
        self.assertEqual(pieces[0].result.stderr, "said a\n")
        self.assertEqual(pieces[1].result.signal, 11)

    def test_a_cut_report_ends_at_what_was_whole_and_names_the_running_test(self):
        whole = runner_report("mpsc/a", 0, b"pass mpsc/a 5 1 1200\n")
        pieces, started = runner.parse_report(whole + b"start mpsc/b\n")
        self.assertEqual(([p.test_id for p in pieces], started), (["mpsc/a"], "mpsc/b"))
        cut = runner_report("mpsc/b", 1, stderr=b"[----] long message\n")[:-5]
        pieces, started = runner.parse_report(whole + cut)
        self.assertEqual(([p.test_id for p in pieces], started), (["mpsc/a"], "mpsc/b"))

    def test_kept_output_says_how_much_was_trimmed_and_limits_become_verdicts(self):
        head = b"start mpsc/a\nend mpsc/a exit 1 0 10 20 9000 3 0 0 0\n"
        pieces, _ = runner.parse_report(head + b"abc")
        self.assertIn("8997 more bytes", pieces[0].result.stdout)
        spun = b"start mpsc/a\nend mpsc/a signal 9 2 10 20 0 0 0 0 0\n"
        pieces, _ = runner.parse_report(spun)
        self.assertEqual(pieces[0].result.signal, signal.SIGXCPU)  # killed at its processor-time limit
        self.assertEqual(runner.judge(pieces[0].result, "", JudgeTest.test, None, 2.0, 0.5).status, ST.TIMEOUT)
        waited = b"start mpsc/a\nend mpsc/a signal 9 1 10 20 0 0 0 0 0\n"
        pieces, _ = runner.parse_report(waited)
        self.assertTrue(pieces[0].result.timed_out)

    def test_a_test_that_stops_the_runner_runs_alone_and_fails_the_rest_still_run(self):
        class Killer:
            """The runner dies whenever it runs mpsc/b (a test that kills its runner)."""

            kind = "fake"

            def __init__(self):
                self.batches = []

            def run(self, argv, ro_dirs=(), rw_dir=None, cwd=None, limits=None, slot=0, env=None, pass_fd=None):
                ids = [argv[i + 1] for i, a in enumerate(argv) if a == "--run"]
                self.batches.append(ids)
                for test_id in ids:
                    if test_id == "mpsc/b":
                        os.write(pass_fd, b"start mpsc/b\n")
                        return Result(-9, False, "", "", 0.01, "fake")
                    os.write(pass_fd, runner_report(test_id, 0, f"pass {test_id} 5 1 1200\n".encode()))
                return Result(0, False, "", "", 0.01, "fake")

        sb = Killer()
        jobs = [runner.Job(testlist.TestInfo("mpsc", n, "", 2.0), 2.0, 1.0) for n in "abc"]
        runs = runner.run_many("/bin/true", jobs, sb, Limits(), {}, None)
        self.assertEqual([r.status for r in runs], [ST.PASS, ST.CRASH, ST.PASS])
        self.assertIn("stopped the grader's runner", runs[1].message)
        self.assertEqual(sb.batches, [["mpsc/a", "mpsc/b", "mpsc/c"], ["mpsc/b"], ["mpsc/c"]])

    def test_a_runner_that_cannot_start_is_the_graders_error(self):
        class Broken:
            kind = "fake"

            def run(self, argv, **kwargs):
                return Result(87, False, "", "[grader] runner: no such test\n", 0.01, "fake")

        job = runner.Job(testlist.TestInfo("mpsc", "a", "", 2.0), 2.0, 1.0)
        with self.assertRaises(build.GraderError):
            runner.run_many("/bin/true", [job], Broken(), Limits(), {}, None)


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

    def test_every_limit_and_the_uid_are_set_before_the_program_runs(self):
        # The limits are set by the run's first process (harness/confine.c), not in the grader:
        # each one, as the program sees it, in every sandbox that works here.
        helper = sandbox.confine_helper()
        self.assertIsNotNone(helper, "harness/confine.c does not compile")
        kinds = ["rlimits"] + ([self.sb.kind] if self.sb.kind != "rlimits" else [])
        # Without a compiler for the helper, the grader sets them in a forked copy of itself.
        for kind, with_helper in [(k, h) for k in kinds for h in (True, False)]:
            sandbox._HELPER = helper if with_helper else None
            self.addCleanup(setattr, sandbox, "_HELPER", helper)
            sb = sandbox.Sandbox(kind)
            r = sb.run(["/bin/bash", "-c", "ulimit -St; ulimit -Ht; ulimit -v; ulimit -f; ulimit -n; ulimit -u;"
                        " ulimit -c; id -u; id -G"],
                       limits=Limits(cpu_seconds=7, memory_bytes=1 << 30, file_bytes=1 << 20, open_files=77,
                                     processes=33, wall_seconds=10))
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.split("\n")  # bash counts -v and -f in KiB
            self.assertEqual(lines[:7], ["7", "8", str(1 << 20), "1024", "77", "33", "0"], (kind, with_helper))
            if sb.drop_uid:
                self.assertEqual(lines[7], lines[8], "the uid's own group only")
                self.assertGreaterEqual(int(lines[7]), sandbox.UID_BASE, kind)
            r = sb.run(["/bin/bash", "-c", "ulimit -v"], limits=Limits(memory_bytes=-1, wall_seconds=10))
            self.assertEqual(r.stdout.strip(), "unlimited", kind)


class NamesTest(unittest.TestCase):
    """A name or an output is never interpreted, and two students never share a folder."""

    NAMES = ["alice", "jürgen", "j_rgen", "j%C3%BCrgen", ".hidden", "%", "=HYPERLINK(\"x\")",
             "<script>x</script>", "a\x1b[31mred", "\udcff\udcfe", "x" * 300, "x" * 301]

    def test_folder_names_are_injective_and_harmless(self):
        from grader.grading import text
        folders = [text.folder_name(n) for n in self.NAMES]
        self.assertEqual(len(set(folders)), len(folders), folders)
        for f in folders:
            self.assertRegex(f, r"^[A-Za-z0-9_@+%~-][A-Za-z0-9._@+%~-]*$")
            self.assertLess(len(f), 200)

    def test_duplicate_submissions_fail_loudly(self):
        self.assertEqual(submissions.duplicates([("alice", "alice"), ("alice", "alice.zip"), ("bob", "bob")]),
                         [["alice", "alice.zip"]])

    def test_outputs_never_interpret_a_name(self):
        from grader.grading import feedback, gradebook, junit, text
        from xml.dom import minidom
        results = []
        for n in self.NAMES + ["@SUM(1)", "-2+3", "+cmd", "\tx"]:
            results.append({"student": n, "notes": ["```\n</pre><b>hi</b>"], "total": 0.0, "max": 1.0,
                            "exercises": [{"exercise": "mpsc", "title": "t", "status": "graded",
                                           "messages": [], "score": 0.0, "bonus": 0.0, "max": 1.0,
                                           "total": 0.0, "tests": [
                                               {"id": "mpsc/a", "description": "d", "hidden": False,
                                                "status": "fail", "message": "```\n# heading\n\x01",
                                                "diagnosis": "````\n<img src=x>\x1b[2J",
                                                "points": 0, "points_possible": 1}]}]})
        meta = {"exercises": ["mpsc"]}
        csv = gradebook.render(results, meta)
        for row in csv.splitlines()[1:]:
            self.assertNotIn(row[:1], ("=", "+", "-", "@", "\t"), row)
        minidom.parseString(junit.render(results).encode("utf-8", errors="replace"))
        for r in results:
            md = feedback.markdown(r, meta)
            self.assertNotIn("\x1b", md)
            self.assertNotIn("\x01", md)
            # Outside its fenced blocks the page has no HTML at all; no fence is closed early.
            outside, fence = [], None
            for line in md.splitlines():
                if fence is None and line.startswith("```"):
                    fence = line[:len(line) - len(line.lstrip("`"))]
                elif fence is not None and line.startswith(fence) and not line.strip("`"):
                    fence = None
                elif fence is None:
                    outside.append(line)
            self.assertIsNone(fence)
            self.assertNotIn("<", "\n".join(outside))
            # Every fence opened is closed by a fence at least as long: nothing escapes it.
            self.assertIn("`````text", md)
            self.assertNotIn("<script>", feedback.html_page(r, meta))
            self.assertNotIn("\x1b", text.display(r["student"]))

    def test_reports_refuse_a_shared_folder(self):
        from grader.grading import reports
        r = {"student": "a", "notes": [], "exercises": [], "total": 0, "max": 0}
        with tempfile.TemporaryDirectory() as out, mock_folder_name(lambda name: "same"):
            with self.assertRaises(reports.DuplicateNames):
                reports.write_all(out, [r, dict(r, student="b")], {"exercises": [], "sandbox": "x",
                                                                   "tests": {}})


class mock_folder_name:
    def __init__(self, fn):
        self.fn = fn

    def __enter__(self):
        from grader.grading import text
        self.old, text.folder_name = text.folder_name, self.fn

    def __exit__(self, *exc):
        from grader.grading import text
        text.folder_name = self.old


class GraderErrorTest(unittest.TestCase):
    """The grader's own trouble is that student's grader-error row: retried, never cached."""

    def context(self, cache_dir):
        from types import SimpleNamespace
        from grader.kit import Exercise
        from grader.grading.kitbuild import KitExercise
        kx = KitExercise(name="mpsc", decl=Exercise(name="mpsc", student_files=["mpsc.c"]),
                         tests=[testlist.TestInfo("mpsc", "a", "d", 2.0)])
        return SimpleNamespace(kit={"mpsc": kx}, exercises=["mpsc"], flaky_pass=False, use_cache=True,
                               cache=cache.Cache(cache_dir), fingerprints={"mpsc": "fp"},
                               cache_options={}, workspace=cache_dir + "-work", root=ROOT)

    def test_machine_trouble_is_retried_then_a_grader_error_and_not_cached(self):
        from unittest import mock
        from grader.grading import core
        with tempfile.TemporaryDirectory() as tmp:
            folder = os.path.join(tmp, "alice")
            os.makedirs(folder)
            with open(os.path.join(folder, "mpsc.c"), "w") as f:
                f.write("int x;\n")
            ctx = self.context(os.path.join(tmp, "cache"))
            calls = []

            def no_space(*args):
                calls.append(1)
                raise build.GraderError("No space left on device")

            with mock.patch.object(core, "grade_exercise", no_space):
                r = core.grade_student(ctx, "alice", folder, 0)
            self.assertEqual(len(calls), 2)  # tried twice
            self.assertEqual(r["exercises"][0]["status"], ST.GRADER_ERROR)
            self.assertEqual(os.listdir(os.path.join(tmp, "cache")), [])  # nothing cached

    def test_any_exception_for_one_student_is_their_row(self):
        from unittest import mock
        from grader.grading import core
        with tempfile.TemporaryDirectory() as tmp:
            ctx = self.context(os.path.join(tmp, "cache"))
            with mock.patch.object(core.S, "load", side_effect=MemoryError("boom")):
                r = core.grade_student(ctx, "bob", tmp, 0)
            self.assertEqual([e["status"] for e in r["exercises"]], [ST.GRADER_ERROR])
            self.assertIn("MemoryError", r["notes"][0])
            self.assertEqual(r["total"], 0.0)

    def test_a_full_sandbox_is_the_students_own_but_a_full_machine_is_not(self):
        from unittest import mock
        with mock.patch.object(build.os, "statvfs") as statvfs:
            statvfs.return_value = mock.Mock(f_bavail=1, f_frsize=4096)
            self.assertTrue(build.machine_short("/"))
        self.assertFalse(build.machine_short("/"))  # this machine, while the tests run


class PartsTest(unittest.TestCase):
    """An exercise in parts (EX_PARTS): each part is graded, cached and reported on its own."""

    def test_declarations(self):
        from grader import kit
        from runtime.tools.kit_info import parse_parts
        self.assertEqual([(p.name, p.files, p.suites) for p in kit.load_exercise("mpsc").parts],
                         [("mpsc", ["mpsc.c"], ["*"])])
        chat = kit.load_exercise("chat")
        self.assertEqual([(p.name, p.files) for p in chat.parts],
                         [("chat_server", ["chat_server.c"]), ("chat_client", ["chat_client.c"])])
        self.assertEqual(chat.part_of("chat_server_hidden/x").name, "chat_server")
        self.assertEqual(chat.part_of("chat_client/x").name, "chat_client")
        self.assertIsNone(chat.part_of("other/x"))
        files = {"EX_STUDENT_FILES": "a.c b.c"}
        for bad in ("a:a.c:a*", "a:a.c:a* b:a.c,b.c:b*", "a:a.c b:b.c:b*", "a:a.c:a* a:b.c:b*",
                    "A:a.c:a* b:b.c:b*"):
            with self.assertRaises(ValueError, msg=bad):
                parse_parts(dict(files, EX_PARTS=bad), "ex")

    def context(self, tmp):
        from types import SimpleNamespace
        from grader.kit import Exercise
        from grader.grading.kitbuild import KitExercise
        from runtime.tools.kit_info import Part
        decl = Exercise(name="chat", student_files=["chat_server.c", "chat_client.c"],
                        parts=[Part("chat_server", ["chat_server.c"], ["chat_server*"]),
                               Part("chat_client", ["chat_client.c"], ["chat_client*"])],
                        points=[("chat_server*/*", 2.0)])
        kx = KitExercise(name="chat", decl=decl, tests=[
            testlist.TestInfo("chat_server", "s", "d", 2.0), testlist.TestInfo("chat_client", "c", "d", 2.0),
            testlist.TestInfo("chat_server_hidden", "h", "d", 2.0, hidden=True)])
        return SimpleNamespace(kit={"chat": kx}, exercises=["chat"], flaky_pass=False, use_cache=True,
                               cache=cache.Cache(os.path.join(tmp, "cache")), fingerprints={"chat": "fp"},
                               cache_options={}, workspace=os.path.join(tmp, "work"), root=ROOT,
                               allowlists={"chat": []}, sandbox=None)

    def grade(self, tmp, files, fails=lambda built: None):
        """Grades one student handing in `files` with build and tests faked: every test run passes."""
        from unittest import mock
        from grader.grading import core
        folder = os.path.join(tmp, "student")
        os.makedirs(folder, exist_ok=True)
        for name, text in files.items():
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)
        builds, runs = [], []

        def fake_build(kx, built, workdir, sandbox, allowlist):
            builds.append({k: v.decode() for k, v in built.items()})
            return fails(builds[-1]) or build.BuildResult(True)

        def fake_run(ctx, kx, b, workdir, wanted):
            runs.append([t.id for t in wanted])
            return {t.id: runner.TestRun(t.id, ST.PASS) for t in wanted}

        reference = {"chat_server.c": b"ref server", "chat_client.c": b"ref client"}
        with mock.patch.object(core.B, "build", fake_build), mock.patch.object(core, "run_tests", fake_run), \
                mock.patch.object(core.canary, "reference_files", lambda root, kx: reference):
            r = core.grade_student(self.ctx, "s", folder, 0)
        return {e["exercise"]: e for e in r["exercises"]}, builds, runs

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.ctx = self.context(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_both_parts_are_graded_in_one_build_each_with_its_points(self):
        got, builds, runs = self.grade(self.tmp, {"chat_server.c": "server", "chat_client.c": "client"})
        self.assertEqual(list(got), ["chat_server", "chat_client"])
        self.assertEqual([(e["status"], e["total"], e["max"]) for e in got.values()],
                         [(ST.GRADED, 4.0, 4.0), (ST.GRADED, 1.0, 1.0)])
        self.assertEqual([t["id"] for t in got["chat_server"]["tests"]],
                         ["chat_server/s", "chat_server_hidden/h"])
        self.assertEqual(builds, [{"chat_server.c": "server", "chat_client.c": "client"}])
        self.assertEqual(runs, [["chat_server/s", "chat_server_hidden/h", "chat_client/c"]])
        # Each part is cached on its own: a new client regrades only the client.
        got, builds, runs = self.grade(self.tmp, {"chat_server.c": "server", "chat_client.c": "new"})
        self.assertEqual(builds, [{"chat_server.c": "ref server", "chat_client.c": "new"}])
        self.assertEqual(runs, [["chat_client/c"]])
        self.assertEqual(got["chat_server"]["total"], 4.0)

    def test_a_part_alone_is_built_with_the_reference_for_the_other(self):
        got, builds, runs = self.grade(self.tmp, {"chat_client.c": "client"})
        self.assertEqual(got["chat_server"]["status"], ST.MISSING)
        self.assertEqual((got["chat_server"]["total"], got["chat_server"]["max"]), (0.0, 4.0))
        self.assertEqual({t["status"] for t in got["chat_server"]["tests"]}, {ST.NOT_RUN})
        self.assertEqual((got["chat_client"]["status"], got["chat_client"]["total"]), (ST.GRADED, 1.0))
        self.assertEqual(builds, [{"chat_server.c": "ref server", "chat_client.c": "client"}])
        self.assertEqual(runs, [["chat_client/c"]])

    def test_a_file_that_does_not_compile_loses_only_its_part(self):
        def server_broken(built):
            if built["chat_server.c"] == "broken":
                return build.BuildResult(False, stage="compile", messages=["chat_server.c: no"],
                                         faults={"chat_server.c": ["chat_server.c: no"]})
            return None

        got, builds, runs = self.grade(self.tmp, {"chat_server.c": "broken", "chat_client.c": "client"},
                                       server_broken)
        self.assertEqual((got["chat_server"]["status"], got["chat_server"]["messages"]),
                         (ST.COMPILE_ERROR, ["chat_server.c: no"]))
        self.assertEqual((got["chat_client"]["status"], got["chat_client"]["total"]), (ST.GRADED, 1.0))
        self.assertEqual(builds[-1], {"chat_server.c": "ref server", "chat_client.c": "client"})
        self.assertEqual(runs, [["chat_client/c"]])

    def test_a_link_that_fails_is_tried_part_by_part(self):
        def server_does_not_link(built):
            if built["chat_server.c"] == "server":
                return build.BuildResult(False, stage="link", messages=["undefined reference"])
            return None

        got, builds, _ = self.grade(self.tmp, {"chat_server.c": "server", "chat_client.c": "client"},
                                    server_does_not_link)
        self.assertEqual(got["chat_server"]["status"], ST.LINK_ERROR)
        self.assertEqual(got["chat_client"]["status"], ST.GRADED)
        self.assertEqual(len(builds), 3)

    def test_reports_have_a_column_per_part(self):
        from grader.grading import gradebook, junit
        got, _, _ = self.grade(self.tmp, {"chat_client.c": "client"})
        r = {"student": "s", "notes": [], "exercises": list(got.values()), "total": 1.0, "max": 5.0}
        csv = gradebook.render([r], {"exercises": ["chat_server", "chat_client"]})
        self.assertEqual(csv.splitlines(), ["student,chat_server,chat_client,total,max", "s,0,1,1,5"])
        self.assertIn('name="s.chat_client"', junit.render([r]))


class RuntimePolicyTest(unittest.TestCase):
    """A submission may call the runtime's public functions, not its descriptor-level ones or hooks."""

    def test_the_runtime_api_is_read_from_its_public_header(self):
        api = policy.runtime_api()
        for name in ("rt_spawn", "rt_waker_wake", "rt_tcp_listener_bind", "rt_line_reader_poll_line",
                     "rt_todo_at"):
            self.assertIn(name, api)
        self.assertFalse([n for n in api if n.startswith("rt__")], api)

    def test_internals_descriptors_and_hooks_are_refused(self):
        allow = policy.load_allowlist("chat")
        for name in ("rt_spawn", "rt_tcp_connect_future_init", "rt_waker_clone_at"):
            self.assertTrue(policy.allowed(name, allow), name)
        for name in ("rt__task_poll", "rt_reactor_fd_open", "rt_stdin_open_fd", "rt_tcp_stream_fileno",
                     "rt_set_diagnosis_handler", "rt_watchdog_disarm", "rt_shake_note_seed",
                     "rt_not_declared_anywhere"):
            self.assertFalse(policy.allowed(name, allow), name)
        with tempfile.TemporaryDirectory() as tmp:
            obj = compile_object("int rt_reactor_fd_open(int, const char *, void **);\n"
                                 "int chat_x(void) { void *io; return rt_reactor_fd_open(3, \"x\", &io); }\n",
                                 tmp)
            problems = policy.check_object(obj, "chat", {"chat_x"}, allow)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("`rt_reactor_fd_open`", problems[0])
        self.assertIn("raw descriptors", problems[0])


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


class SanitizerAndExplorerTest(unittest.TestCase):
    """The AddressSanitizer + LeakSanitizer run, the explorer's seeds, fitted timeouts, the canary's record."""

    test = testlist.TestInfo("mpsc", "a", "d", 5.0)
    printed = ("==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020 SECRET\n"
               "READ of size 8 at 0x602000000018 thread T0 SECRET\n"
               "    #0 0x55d1 in SECRET_NAME (/bin/true+0x10) SECRET\n"
               "    #1 0x7f01 in libc (/lib/libc.so.6+0x20)\n"
               "  SECRET text of a hidden test\n"
               "0x602000000018 is located 8 bytes inside of 16-byte region [0x6020,0x6030)\n"
               "freed by thread T0 here:\n"
               "    #0 0x55d2 in SECRET (/bin/true+0x20)\n")

    def test_a_sanitizer_report_keeps_only_its_structure(self):
        kind, report = runner.asan_report(self.printed, "/bin/true")
        self.assertEqual(kind, "heap-use-after-free")
        self.assertNotIn("SECRET", report)
        self.assertIn("READ of size 8 thread T0", report)
        self.assertIn("the address is located 8 bytes inside of 16-byte region", report)
        self.assertIn("freed by thread T0 here:", report)
        leak = runner.asan_report("==9==ERROR: LeakSanitizer: detected memory leaks\n\n"
                                  "Direct leak of 48 byte(s) in 1 object(s) allocated from:\n"
                                  "    #0 0x1 in malloc (/usr/lib/libasan.so+0x10)\n", "/bin/true")
        self.assertEqual(leak[0], "detected memory leaks")
        self.assertIn("Direct leak of 48 byte(s) in 1 object(s) allocated from:", leak[1])

    def test_only_the_sanitizers_exit_status_fails_a_test(self):
        run = runner.judge_asan(result(runner.ASAN_EXIT, self.printed), "", self.test, "/bin/true", None, 5, 5)
        self.assertEqual(run.status, ST.FAIL)
        self.assertIn("used memory after freeing it", run.message)
        self.assertNotIn("SECRET", run.message + run.diagnosis)
        # Printing a report is not an error; a run that did not finish leaves the plain verdict.
        printed_only = runner.judge_asan(result(1, self.printed), "", self.test, "/bin/true", None, 5, 5)
        self.assertEqual(printed_only.status, ST.CRASH)
        clean = runner.judge_asan(result(0), "pass mpsc/a 3 1 1200\n", self.test, "/bin/true", None, 5, 5)
        self.assertEqual(clean.status, ST.PASS)

    def test_a_failure_under_an_explorer_seed_names_the_seed_and_the_replay(self):
        failed = result(1, "[----] t.c:3: Assertion Failed\n[----]   x == 1\n")
        run = runner.judge_asan(failed, "", self.test, "/bin/true", None, 5, 5, explore=2, exercise="mpsc")
        self.assertEqual((run.status, run.explore_seed), (ST.FAIL, 2))
        self.assertIn("seed 2", run.message)
        self.assertIn("make test EX=mpsc SAN=address EXPLORE=2 T=a", run.message)
        hidden = testlist.TestInfo("mpsc_hidden", "b", "", 5.0, hidden=True)
        run = runner.judge_asan(failed, "", hidden, "/bin/true", None, 5, 5, explore=2, exercise="mpsc")
        self.assertNotIn("T=b", run.message)
        # A timeout under a seed fails the test too (the schedule showed a lost wake).
        hung = runner.judge_asan(result(-9, timed_out=True), "", self.test, "/bin/true", None, 5, 5, explore=1,
                                 exercise="mpsc")
        self.assertEqual(hung.status, ST.TIMEOUT)
        self.assertIn("EXPLORE=1", hung.message)

    def test_which_runs_check_a_passing_test(self):
        refs = {"mpsc/one": ReferenceRun(0.01, 3, 1), "mpsc/many": ReferenceRun(0.1, None, 4)}
        one, many = testlist.TestInfo("mpsc", "one"), testlist.TestInfo("mpsc", "many")
        plan = [(c.test.name, c.variant, c.explore)
                for c in runner.checks(refs, [1, 2], [one, many], tsan=True, asan=True, explore=True)]
        self.assertEqual(plan, [("one", "address", 0), ("many", "thread", 0), ("many", "address", 1),
                                ("many", "address", 2)])
        plan = [(c.test.name, c.variant, c.explore)
                for c in runner.checks(refs, [7], [one, many], tsan=False, asan=False, explore=True)]
        self.assertEqual(plan, [("many", "plain", 7)])
        self.assertEqual(kitbuild.explore_seeds("", "mpsc"), kitbuild.DEFAULT_EXPLORE_SEEDS)
        self.assertEqual(kitbuild.explore_seeds(" 3 8 ", "mpsc"), [3, 8])
        with self.assertRaises(kitbuild.KitError):
            kitbuild.explore_seeds("1 two", "mpsc")

    def test_explorer_seeds_only_for_objects_that_take_a_lock_it_detours_at(self):
        # The explorer acts only in the lock calls kt_student.syms renames; an object that makes
        # none (the chat's reference, a lock-free channel) runs the same program under every seed.
        explored = kitbuild.explored_calls(os.path.join(ROOT, "runtime", "testing", "kt_student.syms"))
        self.assertTrue({"pthread_mutex_lock", "pthread_mutex_unlock", "pthread_cond_wait",
                         "pthread_cond_signal", "pthread_spin_lock", "pthread_rwlock_wrlock"} <= explored)
        self.assertFalse({"malloc", "free", "strdup"} & explored)
        kx = kitbuild.KitExercise(name="mpsc", decl=None, explored_calls=explored)
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        locked = compile_object("#include <pthread.h>\nstatic pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;\n"
                                "int mpsc_x(void) { return pthread_mutex_trylock(&m); }\n", tmp, "locked")
        waits = compile_object("#include <pthread.h>\nint mpsc_x(pthread_cond_t *c, pthread_mutex_t *m)"
                               " { return pthread_cond_wait(c, m); }\n", tmp, "waits")
        lock_free = compile_object("#include <stdatomic.h>\n#include <stdlib.h>\nstatic atomic_int n;\n"
                                   "void *mpsc_x(void) { atomic_fetch_add(&n, 1); return malloc(4); }\n",
                                   tmp, "lock_free")
        self.assertTrue(kx.explorable(policy.symbols(locked)[0]))
        self.assertTrue(kx.explorable(policy.symbols(waits)[0]))
        self.assertFalse(kx.explorable(policy.symbols(lock_free)[0]))
        kx.kit_explored = True  # a kit file linked as the student's takes a lock itself
        self.assertTrue(kx.explorable(policy.symbols(lock_free)[0]))
        # Without seeds to run, a threaded test is checked by one AddressSanitizer run.
        refs = {"mpsc/many": ReferenceRun(0.1, None, 4)}
        many = testlist.TestInfo("mpsc", "many")
        self.assertEqual([(c.variant, c.explore) for c in runner.checks(refs, [1, 2], [many], True, True, False)],
                         [("thread", 0), ("address", 0)])

    def test_wall_clock_is_fitted_to_the_reference_with_a_floor(self):
        slow_declared = testlist.TestInfo("mpsc", "b", "", 5.0)
        self.assertEqual(runner.fitted_timeout(slow_declared, ReferenceRun(0.05, 3, 1), 60), runner.WALL_FLOOR)
        self.assertEqual(runner.fitted_timeout(slow_declared, ReferenceRun(0.3, 3, 1), 60), 3.0)
        self.assertEqual(runner.fitted_timeout(slow_declared, ReferenceRun(2.0, 3, 1), 60), 5.0)  # declared
        self.assertEqual(runner.fitted_timeout(slow_declared, None, 60), 5.0)

    def test_the_canary_refuses_a_sandbox_where_the_sanitizer_reports_nothing(self):
        from grader.grading import canary
        tmp = tempfile.mkdtemp(prefix="canary-asan-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)  # as root, the run drops to an unprivileged uid
        quiet = os.path.join(tmp, "quiet")  # a "sanitizer build" that finds nothing
        with open(quiet + ".c", "w") as f:
            f.write("int main(void) { return 0; }\n")
        subprocess.run(["cc", quiet + ".c", "-o", quiet], check=True)
        with self.assertRaises(canary.CanaryError) as e:
            canary.sanitizer_reports_work(quiet, sandbox.Sandbox("rlimits"), Limits(), "in this sandbox (test)")
        self.assertIn("does not report a deliberate detected memory leaks in this sandbox (test)", str(e.exception))
        self.assertIn("--no-asan", str(e.exception))

    def test_a_passed_canary_is_reused_only_while_fresh(self):
        from grader.grading import canary
        from grader.grading.kitbuild import KitExercise
        tmp = tempfile.mkdtemp(prefix="canary-record-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "canary.json")
        kx = KitExercise("mpsc", None)
        kx.tests = [testlist.TestInfo("mpsc", "a", "d", 2.0)]
        kx.reference = {"mpsc/a": ReferenceRun(0.01, 5, 1, 0.01)}
        canary.save(path, kx)
        again = KitExercise("mpsc", None)
        self.assertTrue(canary.load(path, again))
        self.assertEqual((again.tests, again.reference), (kx.tests, kx.reference))
        with open(path) as f:
            data = json.load(f)
        data["when"] -= canary.VALID_HOURS * 3600 + 1
        with open(path, "w") as f:
            json.dump(data, f)
        self.assertFalse(canary.load(path, KitExercise("mpsc", None)))
        self.assertFalse(canary.load(os.path.join(tmp, "none.json"), kx))


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
    def grade(cls, *extra, out=None):
        r = subprocess.run([sys.executable, "-m", "grader", cls.klass, "--out", out or cls.out, "--quiet",
                            *cls.expected["options"], *extra], capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            raise AssertionError(f"grader failed:\n{r.stdout}\n{r.stderr}")
        with open(os.path.join(out or cls.out, "gradebook.csv")) as f:
            return f.read()

    def results(self, out=None):
        with open(os.path.join(out or self.out, "results.json")) as f:
            return {r["student"]: r for r in json.load(f)["students"]}

    def assert_expected_points(self, got, where):
        self.assertEqual(sorted(got), sorted(self.expected["students"]))
        for name, exp in self.expected["students"].items():
            for ex, points in exp["points"].items():
                actual = next(e["total"] for e in got[name]["exercises"] if e["exercise"] == ex)
                self.assertEqual(actual, points, f"{where}: {name!r} {ex}: {actual} points, expected "
                                                 f"{points} ({exp['why']})")
            for ex, status in exp["status"].items():
                actual = next(e["status"] for e in got[name]["exercises"] if e["exercise"] == ex)
                self.assertEqual(actual, status, f"{where}: {name!r} {ex}")

    def test_every_student_gets_the_expected_points(self):
        self.assert_expected_points(self.results(), sandbox.Sandbox().kind)

    def test_same_points_in_the_fallback_sandbox(self):
        if sandbox.Sandbox().kind == "rlimits":
            self.skipTest("the fallback is the only sandbox here: graded once already")
        out = os.path.join(self.tmp, "fallback")
        self.grade("--sandbox", "rlimits", out=out)
        self.assert_expected_points(self.results(out), "fallback sandbox")

    def test_hostile_students_get_only_their_honest_part(self):
        got = self.results()
        mpsc = {n: next(e for e in r["exercises"] if e["exercise"] == "mpsc") for n, r in got.items()}
        # Each scores what the same code without the hostile part scores: its twin's points.
        expected = self.expected["students"]
        for hostile, twin in (("x_forged_output", "ben_lost_waker"), ("x_tampered_tests", "ben_lost_waker"),
                              ("x_read_hidden", "cleo_no_wake_on_drop"), ("x_hidden_probe", "ben_lost_waker"),
                              ("jürgen", "ben_lost_waker"), ("x_tar_raw_names", "ada_perfect"),
                              ("<img src=x onerror=alert(1)>", "ada_perfect"), ("j_rgen", "ada_perfect")):
            self.assertEqual(mpsc[hostile]["total"], expected[twin]["points"]["mpsc"], hostile)
        for refused in ("x_fork_bomb", "x_exit_in_test", "x_forged_results", "x_network", "x_constructor",
                        "x_shadow_symbol", "x_asm_syscall", "x_init_array_section"):
            self.assertEqual(mpsc[refused]["status"], "rejected", refused)
        # Routes that got every point before: every test now ends without a pass.
        for forged in ("x_descriptor_frames", "x_computed_exit", "x_computed_ptrace"):
            self.assertEqual({t["status"] for t in mpsc[forged]["tests"]}, {"crash"}, forged)
        # A test that kills the grader's runner is run alone again, and fails: no pass, no grader error.
        killer = mpsc["x_kill_runner"]
        self.assertEqual((killer["status"], {t["status"] for t in killer["tests"]}), ("graded", {"crash"}))
        self.assertTrue(all("stopped the grader's runner" in t["message"] for t in killer["tests"]
                            if not t["hidden"]))
        # Visible tests say why; hidden ones only that they crashed (nothing of their run is shown).
        self.assertTrue(all("system call" in t["message"] for t in mpsc["x_computed_ptrace"]["tests"]
                            if not t["hidden"]))
        self.assertEqual(mpsc["gus_compile_error"]["status"], "compile error")
        self.assertEqual(mpsc["x_huge_object"]["status"], "compile error")
        self.assertIn("Makefile", " ".join(mpsc["x_tampered_tests"]["notes"]))
        for broken in ("x_zip_encrypted", "x_zip_bad_name", "x_zip_corrupt", "x_zip_many", "x_tar_huge"):
            self.assertEqual(mpsc[broken]["status"], "missing", broken)
            self.assertTrue(got[broken]["notes"], broken)

    def test_chat_parts_are_graded_on_their_own(self):
        got = self.results()
        chat = {n: {e["exercise"]: e for e in r["exercises"] if e["exercise"].startswith("chat")}
                for n, r in got.items()}
        full = {part: chat["ada_perfect"][part]["max"] for part in ("chat_server", "chat_client")}
        self.assertEqual({p: e["total"] for p, e in chat["ada_perfect"].items()}, full)
        # The client, the reference every time, keeps its points whatever the server does.
        for name in ("kai_chat_rebroadcast", "lea_chat_client_only", "max_chat_server_typo",
                     "x_chat_harness_fds"):
            self.assertEqual((chat[name]["chat_client"]["status"], chat[name]["chat_client"]["total"]),
                             (ST.GRADED, full["chat_client"]), name)
        server = {n: chat[n]["chat_server"] for n in chat}
        self.assertEqual([t["id"] for t in server["kai_chat_rebroadcast"]["tests"] if t["status"] != ST.PASS],
                         ["chat_server/malformed_lines_and_client_chat_are_ignored"])
        self.assertEqual(server["lea_chat_client_only"]["status"], ST.MISSING)
        self.assertEqual(server["max_chat_server_typo"]["status"], ST.COMPILE_ERROR)
        self.assertEqual(server["x_chat_harness_fds"]["status"], ST.REJECTED)
        self.assertIn("`rt_reactor_fd_open`", " ".join(server["x_chat_harness_fds"]["messages"]))
        with open(os.path.join(self.out, "gradebook.csv")) as f:
            self.assertEqual(f.readline().strip(),
                             "student,broadcast,chat_server,chat_client,mpsc,oneshot,total,max")

    def test_no_hidden_test_output_reaches_a_student(self):
        folder = os.path.join(self.out, "students", "x_hidden_probe")
        with open(os.path.join(folder, "results.json")) as f:
            tests = json.load(f)["tests"]
        leaked = [t["name"] for t in tests if "HIDDEN-PROBE" in t.get("output", "")]
        self.assertTrue(leaked, "the probe should show in the visible tests' feedback")
        self.assertFalse([t for t in leaked if "_hidden/" in t], leaked)

    def test_names_are_never_interpreted(self):
        from xml.dom import minidom
        with open(os.path.join(self.out, "gradebook.csv"), encoding="utf-8") as f:
            rows = f.read().splitlines()
        self.assertEqual(len(rows), len(self.expected["students"]) + 1)
        for row in rows:
            self.assertNotIn(row.lstrip('"')[:1], ("=", "+", "-", "@"), row)
            self.assertNotIn("\x1b", row)
        with open(os.path.join(self.out, "junit.xml"), "rb") as f:
            minidom.parse(f)
        with open(os.path.join(self.out, "report.html"), encoding="utf-8") as f:
            self.assertNotIn("<img src=x", f.read())
        folders = os.listdir(os.path.join(self.out, "students"))
        self.assertEqual(len(folders), len(self.expected["students"]))  # one each: none shared

    def test_a_broken_sandbox_stops_the_run_before_anyone_is_graded(self):
        # Break it on purpose: too few processes for the runtime's threads (a limit every
        # student would hit the same way). The canary names the failing tests and the sandbox.
        klass = os.path.join(self.tmp, "canary", "class")
        os.makedirs(os.path.join(klass, "honest"))
        shutil.copy(os.path.join(self.klass, "ben_lost_waker", "mpsc.c"), os.path.join(klass, "honest"))
        out = os.path.join(self.tmp, "canary", "out")
        r = subprocess.run([sys.executable, "-m", "grader", klass, "--out", out, "-e", "mpsc", "--quiet",
                            "--processes", "6", "--no-tsan"], capture_output=True, text=True, cwd=ROOT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("stopped before grading anyone", r.stderr)
        self.assertIn("mpsc/ten_sender_threads", r.stderr)
        self.assertIn(sandbox.Sandbox().describe(), r.stderr)
        self.assertFalse(os.path.exists(os.path.join(out, "gradebook.csv")))

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

    def test_a_use_after_free_costs_the_tests_it_happens_in_with_the_report(self):
        # Every plain run of una_use_after_free passes: only the AddressSanitizer run sees it.
        mpsc = next(e for e in self.results()["una_use_after_free"]["exercises"] if e["exercise"] == "mpsc")
        fifo = next(t for t in mpsc["tests"] if t["id"] == "mpsc/fifo_order")
        self.assertEqual(fifo["status"], ST.FAIL)
        self.assertIn("AddressSanitizer", fifo["message"])
        self.assertIn("heap-use-after-free", fifo["diagnosis"])
        self.assertIn("mpsc_receiver_drop mpsc.c:", fifo["diagnosis"])
        hidden = [t for t in mpsc["tests"] if t["hidden"] and t["status"] != ST.PASS]
        self.assertTrue(hidden)
        self.assertFalse([t for t in hidden if t["diagnosis"] or "mpsc.c" in t["message"]])


if __name__ == "__main__":
    unittest.main()
