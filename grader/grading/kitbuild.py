"""kitbuild.py - everything of the kit a student build links with, compiled once per run.

The Makefile stays the single source of truth for flags and object lists:
the grader asks it (with --eval, so the Makefile needs no grader target)
for the objects of the tests (visible and hidden), the exercise's own kit
files, the reference solutions of the exercises it depends on, and the
runtime, then has make build them into the run's build folder. Only the
student's own files are compiled per student.
"""

import glob
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field

from . import testlist

HERE = os.path.dirname(os.path.abspath(__file__))
PRINT_VARS = (
    "grader-vars: ; @echo 'TEST_OBJS=$(TEST_OBJS)'; echo 'EXKIT_OBJS=$(EXKIT_OBJS)';"
    " echo 'RT_OBJS=$(RT_OBJS) $(KT_OBJS)'; echo 'CFLAGS=$(STUDENT_CFLAGS)';"
    " echo 'LDFLAGS=$(KIT_LDFLAGS) $(CRITERION_LIBS)'; echo 'CC=$(CC)';"
    " echo 'TEST_SRCS=$(TEST_SRCS)'; echo 'OBJCOPY=$(OBJCOPY)'; echo 'KT_SYMS=$(KT_SYMS)'"
)


class KitError(Exception):
    pass


@dataclass
class KitExercise:
    """One exercise, ready to link students against."""

    name: str
    decl: object  # kit.Exercise
    cc: str = "cc"
    cflags: list = field(default_factory=list)
    ldflags: list = field(default_factory=list)
    link_objs: list = field(default_factory=list)  # everything but the student's objects
    include_dir: str = ""  # headers a student file may include (copied: nothing else visible)
    tests: list = field(default_factory=list)  # [TestInfo] in run order
    reference_bin: str = ""
    exkit_objs: list = field(default_factory=list)  # the exercise's kit files and its dependencies
    # The command that renames the student's allocation and lock calls to the kit's counting
    # allocator and schedule explorer (runtime/testing/kt_student.syms), object path appended.
    rename: list = field(default_factory=list)


def make_vars(root, ex, build):
    out = subprocess.run(
        ["make", "-s", "--no-print-directory", f"--eval={PRINT_VARS}", "grader-vars", f"EX={ex}",
         f"BUILD={build}", "REF_DEPS=1", "HIDDEN=1", "SAN="],
        cwd=root, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise KitError(f"make could not describe {ex}: {out.stderr.strip()}")
    values = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition("=")
        values[key] = value.strip()
    return values


def prepare(root, decl, build, jobs, include_dir):
    """Compiles the kit's side of exercise `decl` into `build` and describes it."""
    ex = decl.name
    v = make_vars(root, ex, build)
    test_objs = v["TEST_OBJS"].split()
    exkit = v["EXKIT_OBJS"].split()
    runtime = v["RT_OBJS"].split()
    guard_obj = os.path.join(build, "grader", "guard.o")
    os.makedirs(os.path.dirname(guard_obj), exist_ok=True)
    # The reference build compiles every shared object; its binary lists the tests.
    ref = subprocess.run(
        ["make", "-s", f"-j{jobs}", "build-test", "print-test-bin", f"EX={ex}", f"BUILD={build}",
         "REF_DEPS=1", "HIDDEN=1", f"SRC=solutions/{ex}", "TAG=reference", "SAN="],
        cwd=root, capture_output=True, text=True, check=False)
    if ref.returncode != 0:
        raise KitError(f"the kit's reference build of {ex} failed:\n{ref.stderr[-3000:]}")
    ref_bin = ref.stdout.strip().splitlines()[-1]
    ref_bin = os.path.join(root, ref_bin) if not os.path.isabs(ref_bin) else ref_bin
    cc = v.get("CC") or "cc"
    # /usr/bin/cc is often a link through /etc/alternatives, which the sandbox does not show.
    cc = os.path.realpath(shutil.which(cc) or cc)
    cflags = shlex.split(v["CFLAGS"])
    compile_guard = subprocess.run([cc, *cflags, "-c", os.path.join(HERE, "guard.c"), "-o", guard_obj],
                                   capture_output=True, text=True)
    if compile_guard.returncode != 0:
        raise KitError(f"guard.c: {compile_guard.stderr}")
    absolute = lambda p: p if os.path.isabs(p) else os.path.join(root, p)  # noqa: E731
    k = KitExercise(name=ex, decl=decl, cc=cc, cflags=cflags)
    k.ldflags = shlex.split(v["LDFLAGS"]) + ["-Wl,--wrap=kt_test_setup", "-Wl,--wrap=kt_test_teardown"]
    k.link_objs = [absolute(p) for p in test_objs + exkit + runtime] + [guard_obj]
    k.exkit_objs = [absolute(p) for p in exkit]
    k.reference_bin = ref_bin
    if v.get("KT_SYMS"):
        objcopy = shutil.which(v.get("OBJCOPY") or "objcopy") or "objcopy"
        k.rename = [objcopy, f"--redefine-syms={absolute(v['KT_SYMS'])}"]
    k.include_dir = _stage_headers(root, decl, include_dir)
    k.tests = _tests(root, v["TEST_SRCS"].split(), ref_bin)
    return k


def _stage_headers(root, decl, dest):
    """Copies the headers a student file may include into one folder of its own."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    folders = [os.path.join(root, "runtime")]
    for name in [decl.name, *decl.depends]:
        # The public header at the top of the exercise, the kit's own in kit/.
        folders += [os.path.join(root, "exercises", name), os.path.join(root, "exercises", name, "kit")]
    for folder in folders:
        for h in glob.glob(os.path.join(folder, "*.h")):
            shutil.copy(h, dest)
    os.chmod(dest, 0o755)
    return dest


def _tests(root, sources, ref_bin):
    infos = {}
    for src in sources:
        hidden = src.startswith("grader/")
        with open(os.path.join(root, src), encoding="utf-8", errors="replace") as f:
            for t in testlist.parse_declarations(f.read(), hidden):
                infos[t.id] = t
    listed = subprocess.run([ref_bin, "--list"], capture_output=True, text=True, timeout=60)
    ids = testlist.parse_list(listed.stdout + listed.stderr)
    tests = []
    for test_id in ids:
        suite, name = test_id.split("/", 1)
        tests.append(infos.get(test_id) or testlist.TestInfo(suite, name, "", 0.0, suite.endswith("_hidden")))
    return tests
