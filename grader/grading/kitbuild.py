"""kitbuild.py - everything of the kit a student build links with, compiled once per run.

The Makefile stays the single source of truth for flags and object lists:
the grader asks it (with --eval, so the Makefile needs no grader target)
for the objects of the tests (visible and hidden), the exercise's own kit
files, the reference solutions of the exercises it depends on, and the
runtime, then has make build them into the run's build folder. Only the
student's own files are compiled per student.

Graded binaries do not use Criterion: the kit's objects are compiled
against the grader's harness (harness/criterion/criterion.h, the kit's
stand-in with counted assertions) and linked with the grader's runner
(harness/runner.c), which runs each test in a process of its own and
reports out of the test's reach. Three variants are built: plain,
ThreadSanitizer (the threaded tests run once more under it, so a data race
fails the test whether or not it corrupted anything during the run) and
AddressSanitizer with LeakSanitizer (every test that passed runs once more
under it, so a use after free or a leak fails the test whether or not it
showed).

Visible and hidden tests are linked into binaries of their own: the
strings of a hidden test are never in a process whose output a student
sees.
"""

import concurrent.futures
import glob
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from grader.kit import Exercise

from . import policy, testlist

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "harness")
PRINT_VARS = (
    "grader-vars: ; @echo 'TEST_SRCS=$(TEST_SRCS)'; echo 'TEST_OBJS=$(TEST_OBJS)';"
    " echo 'EXKIT_OBJS=$(EXKIT_OBJS)'; echo 'TEST_EXKIT_OBJS=$(TEST_EXKIT_OBJS)';"
    " echo 'RT_OBJS=$(RT_OBJS)'; echo 'KT_OBJS=$(KT_OBJS)';"
    " echo 'CFLAGS=$(STUDENT_CFLAGS)'; echo 'KIT_CFLAGS=$(KIT_CFLAGS)';"
    " echo 'LDFLAGS=$(KIT_LDFLAGS)'; echo 'CC=$(CC)';"
    " echo 'PROGRAMS=$(EX_PROGRAMS)'; echo 'PROGRAM_MAIN_OBJS=$(PROGRAM_MAIN_OBJS)';"
    " echo 'PROGRAM_LDFLAGS=$(KIT_LDFLAGS)'; echo 'PROGRAM_KT_OBJS=$(PROGRAM_KT_OBJS)';"
    " echo 'OBJCOPY=$(OBJCOPY)'; echo 'KT_SYMS=$(KT_SYMS)'; echo 'GRADE_SEEDS=$(EX_GRADE_SEEDS)'"
)
# The variants a student's code is built in: make's SAN value for each, and the
# system-call profile of its test processes (harness/seccomp_gen.c).
VARIANTS = {"plain": "", "thread": "thread", "address": "address"}
PROFILES = {"plain": "plain", "thread": "tsan", "address": "asan"}
# Line tables, not full debug information, in everything the grader compiles (the kit's side and
# the students' files): the sanitizers' reports, symbolized by addr2line, name files and lines all
# the same, nobody runs a debugger there, and compiling takes a sixth less processor time.
DEBUG_FLAGS = "-g1"
# Kit objects a graded binary never links: the Criterion stand-in's own runner
# (the grader's replaces it) and the libgit2 stand-ins Criterion needs.
NOT_LINKED = ("kt_mini_runner.o", "kt_nogit.o")


# The schedule explorer's seeds every submission's threaded tests run under, unless the
# exercise names its own (EX_GRADE_SEEDS = 3 8 in exercises/<ex>/exercise.mk). Fixed, so every
# submission, and every regrading of it, meets the same detours: a grade never depends on luck.
DEFAULT_EXPLORE_SEEDS = [1, 2]
EXPLORER_PREFIX = "kt_explore_"  # the explorer's stand-ins for the lock calls (kt_explore.h)


class KitError(Exception):
    pass


@dataclass
class Variant:
    """The kit's side of one build variant, ready to link a student's objects with."""

    name: str  # plain or thread
    cflags: List[str]  # how a student file is compiled (without -I)
    ldflags: List[str]
    common_objs: List[str]  # exercise kit files, dependencies' references, runtime, kit helpers, runner
    visible_objs: List[str]  # the visible tests
    hidden_objs: List[str]  # the hidden tests

    def link_objs(self, hidden: bool) -> List[str]:
        # The hidden binary carries the visible tests too: they may define helpers it uses.
        return self.visible_objs + (self.hidden_objs if hidden else []) + self.common_objs


@dataclass
class ReferenceRun:
    """What the reference solution's run of one test looked like (the canary measures it)."""

    seconds: float
    assertions: Optional[int]  # None: not the same on every run, so not compared
    threads: int
    cpu_seconds: float = 0.0


@dataclass
class KitExercise:
    """One exercise, ready to link students against."""

    name: str
    decl: Exercise
    cc: str = "cc"
    variants: Dict[str, Variant] = field(default_factory=dict)
    include_dir: str = ""  # headers a student file may include (copied: nothing else visible)
    tests: List[testlist.TestInfo] = field(default_factory=list)  # in run order
    infos: Dict[str, testlist.TestInfo] = field(default_factory=dict)  # from the declarations
    exkit_objs: List[str] = field(default_factory=list)  # the exercise's kit files and its dependencies
    api: Set[str] = field(default_factory=set)  # the only global names a student object may define
    reference: Dict[str, ReferenceRun] = field(default_factory=dict)  # by test id, from the canary
    link_objs: List[str] = field(default_factory=list)  # every kit object (for the names they define)
    # The exercise's programs (EX_PROGRAMS), linked with the student's objects beside the
    # test binary, where process-level tests run them: [(name, [objects but the student's])].
    programs: List[Tuple[str, List[str]]] = field(default_factory=list)
    program_ldflags: List[str] = field(default_factory=list)
    # The command that renames the student's allocation and lock calls to the kit's counting
    # allocator and schedule explorer (runtime/testing/kt_student.syms), object path appended:
    # the student's object is tested as `make test` tests it.
    rename: List[str] = field(default_factory=list)
    explore_seeds: List[int] = field(default_factory=lambda: list(DEFAULT_EXPLORE_SEEDS))
    # The calls the schedule explorer takes over (the locks of kt_student.syms): only where the
    # student's objects make one can a seed change a run. Or always, when a kit file linked as
    # the student's (its counted copy) makes one itself.
    explored_calls: Set[str] = field(default_factory=set)
    kit_explored: bool = False

    def explorable(self, undefined: Set[str]) -> bool:
        """Whether an explorer seed can change a run of objects that call `undefined`."""
        return self.kit_explored or bool(undefined & self.explored_calls)


def make_vars(root: str, ex: str, build: str, san: str) -> Dict[str, str]:
    out = subprocess.run(
        ["make", "-s", "--no-print-directory", f"--eval={PRINT_VARS}", "grader-vars", f"EX={ex}",
         f"BUILD={build}", "REF_DEPS=1", "HIDDEN=1", f"SAN={san}", f"DEBUG_FLAGS={DEBUG_FLAGS}",
         f"CRITERION_CFLAGS=-I{HARNESS}", "CRITERION_LIBS="],
        cwd=root, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise KitError(f"make could not describe {ex}: {out.stderr.strip()}")
    values = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition("=")
        values[key] = value.strip()
    return values


def _run(argv: List[str], what: str, cwd: Optional[str] = None) -> None:
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise KitError(f"{what} failed:\n{(r.stdout + r.stderr)[-3000:]}")


def build_harness(build: str, cc: str, kit_cflags: Dict[str, List[str]],
                  profile: str = "") -> Dict[str, List[str]]:
    """The grader's runner and the system-call filter of each variant: {variant: [objects]}.

    `profile` "net" adds what an exercise whose tests run programs over loopback needs. The
    runner is compiled once per variant, whatever the profile: only the filter's small file differs.
    """
    folder = os.path.join(build, "harness")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(HARNESS, "seccomp_gen.c"), "rb") as f:
        gen = os.path.join(folder, "seccomp_gen-" + hashlib.sha256(f.read()).hexdigest()[:12])
    if not os.path.exists(gen):
        _run([cc, "-std=c11", "-D_GNU_SOURCE", "-O1", os.path.join(HARNESS, "seccomp_gen.c"), "-o",
              gen + f".{os.getpid()}.tmp", "-lseccomp"],
             "building the system-call filter generator (libseccomp-dev installed? `make deps`)")
        os.replace(gen + f".{os.getpid()}.tmp", gen)

    def compiled(source: str, argv: List[str], obj: str, made_of: List[str]) -> str:
        """obj, compiled from `source` unless a stamp of all it is made of says it is fresh."""
        h = hashlib.sha256("\0".join(argv).encode())
        for name in made_of:
            with open(name, "rb") as f:
                h.update(f.read())
        stamp = obj[:-2] + ".stamp"
        try:
            with open(stamp, encoding="ascii") as f:
                fresh = f.read() == h.hexdigest() and os.path.exists(obj)
        except OSError:
            fresh = False
        if not fresh:
            # Exercises may be prepared at once and share a variant's runner: each writes its own
            # temporary file, and the last rename wins with the same bytes.
            tmp = f"{obj}.{os.getpid()}.{threading.get_ident()}.tmp"
            _run(argv + [source, "-o", tmp], f"compiling the grader's {os.path.basename(source)}")
            os.replace(tmp, obj)
            with open(stamp, "w", encoding="ascii") as f:
                f.write(h.hexdigest())
        return obj

    def compile_variant(item: Tuple[str, List[str]]) -> Tuple[str, List[str]]:
        variant, cflags = item
        vdir = os.path.join(folder, variant)
        fdir = os.path.join(folder, variant + (f"-{profile}" if profile else ""))
        os.makedirs(vdir, exist_ok=True)
        os.makedirs(fdir, exist_ok=True)
        r = subprocess.run([gen, PROFILES[variant], *([profile] if profile else [])],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise KitError(f"the system-call filter generator failed: {r.stderr}")
        source = os.path.join(fdir, "seccomp_filter.c")
        tmp = f"{source}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(r.stdout)
        os.replace(tmp, source)
        argv = [cc, *cflags, "-D_GNU_SOURCE", f"-I{HARNESS}", "-c"]
        headers = [os.path.join(HARNESS, "criterion", n) for n in sorted(os.listdir(
            os.path.join(HARNESS, "criterion")))] + [os.path.join(HARNESS, "seccomp_filter.h")]
        runner = compiled(os.path.join(HARNESS, "runner.c"), argv, os.path.join(vdir, "runner.o"),
                          [os.path.join(HARNESS, "runner.c"), *headers])
        seccomp = compiled(source, argv, os.path.join(fdir, "seccomp_filter.o"),
                           [source, os.path.join(HARNESS, "seccomp_filter.h")])
        return variant, [runner, seccomp]

    # The variants at once: one compile each, that nothing else waits for meanwhile.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(kit_cflags)) as pool:
        return dict(pool.map(compile_variant, kit_cflags.items()))


def _variant_objects(v: Dict[str, str], variant: str) -> List[str]:
    """The kit's objects one variant links (as make names them)."""
    kt = [p for p in v["KT_OBJS"].split() if os.path.basename(p) not in NOT_LINKED]
    mains = v.get("PROGRAM_MAIN_OBJS", "").split() if variant == "plain" else []
    return (v["TEST_OBJS"].split() + v["EXKIT_OBJS"].split() + v["TEST_EXKIT_OBJS"].split()
            + v["RT_OBJS"].split() + kt + mains)


def _build_variant(root: str, ex: str, build: str, jobs: int, variant: str, san: str, v: Dict[str, str]) -> None:
    _run(["make", "-s", f"-j{jobs}", f"EX={ex}", f"BUILD={build}", "REF_DEPS=1", "HIDDEN=1",
          f"SAN={san}", f"DEBUG_FLAGS={DEBUG_FLAGS}", f"CRITERION_CFLAGS=-I{HARNESS}", "CRITERION_LIBS=",
          *_variant_objects(v, variant)],
         f"the kit's build of {ex} ({variant})", cwd=root)


def prepare(root: str, decl: Exercise, build: str, jobs: int, include_dir: str) -> KitExercise:
    """Compiles the kit's side of exercise `decl` into `build` and describes it.

    The tests are listed later, from the reference's binaries (canary.py).
    """
    ex = decl.name

    def absolute(p: str) -> str:
        return p if os.path.isabs(p) else os.path.join(root, p)

    # One make per variant, at once: each mostly waits for its processes. The grader's runner
    # is compiled meanwhile (it needs only the flags).
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(VARIANTS) + 1) as pool:
        values = dict(zip(VARIANTS, pool.map(lambda san: make_vars(root, ex, build, san), VARIANTS.values())))
        cc = values["plain"].get("CC") or "cc"
        # /usr/bin/cc is often a link through /etc/alternatives, which the sandbox does not show.
        cc = os.path.realpath(shutil.which(cc) or cc)
        harness = pool.submit(build_harness, build, cc,
                              {v: shlex.split(values[v]["KIT_CFLAGS"]) for v in VARIANTS}, decl.sandbox)
        list(pool.map(lambda item: _build_variant(root, ex, build, jobs, item[0], item[1], values[item[0]]),
                      VARIANTS.items()))
        runners = harness.result()
    k = KitExercise(name=ex, decl=decl, cc=cc)
    for variant, san in VARIANTS.items():
        v = values[variant]
        tests = v["TEST_OBJS"].split()
        kt = [p for p in v["KT_OBJS"].split() if os.path.basename(p) not in NOT_LINKED]
        mains = v.get("PROGRAM_MAIN_OBJS", "").split() if variant == "plain" else []
        hidden = [absolute(p) for p in tests if p.startswith(os.path.join(build, "grader"))
                  or "/grader/hidden/" in p]
        visible = [absolute(p) for p in tests if absolute(p) not in hidden]
        # The tests link the kit's files in their counted copies (TEST_EXKIT_OBJS, build.mk), as
        # `make test` does: a queue the student never frees is a leak here too.
        common = [absolute(p) for p in v["TEST_EXKIT_OBJS"].split() + v["RT_OBJS"].split() + kt]
        k.variants[variant] = Variant(
            name=variant, cflags=[f for f in shlex.split(v["CFLAGS"]) if not f.startswith("-I")],
            ldflags=shlex.split(v["LDFLAGS"]) + ["-Wl,--wrap=pthread_create"],
            common_objs=common + runners[variant], visible_objs=visible, hidden_objs=hidden)
        if variant == "plain":
            k.exkit_objs = [absolute(p) for p in v["EXKIT_OBJS"].split()]
            k.link_objs = visible + hidden + common
            names = [p.split(":", 1)[0] for p in v.get("PROGRAMS", "").split()]
            program_objs = [absolute(p) for p in v["EXKIT_OBJS"].split() + v["RT_OBJS"].split()
                            + v.get("PROGRAM_KT_OBJS", "").split()]
            k.programs = [(name, [absolute(main)] + program_objs) for name, main in zip(names, mains)]
            k.program_ldflags = shlex.split(v.get("PROGRAM_LDFLAGS", ""))
            k.explore_seeds = explore_seeds(v.get("GRADE_SEEDS", ""), ex)
            if v.get("KT_SYMS"):
                objcopy = shutil.which(v.get("OBJCOPY") or "objcopy") or "objcopy"
                k.rename = [objcopy, f"--redefine-syms={absolute(v['KT_SYMS'])}"]
                k.explored_calls = explored_calls(absolute(v["KT_SYMS"]))
                counted = [absolute(p) for p in v["TEST_EXKIT_OBJS"].split() if "/counted/" in p]
                k.kit_explored = bool(counted) and any(
                    name.startswith(EXPLORER_PREFIX) for name in _undefined(counted))
            for src in v["TEST_SRCS"].split():
                with open(os.path.join(root, src), encoding="utf-8", errors="replace") as f:
                    for t in testlist.parse_declarations(f.read(), src.startswith("grader/")):
                        k.infos[t.id] = t
    k.include_dir = _stage_headers(root, decl, include_dir)
    # What the kit's objects define is not the student's to define (the queue, the future).
    defined = _defined_globals(k.link_objs)
    k.api = declared_functions(cc, root, decl, k.include_dir) - defined
    return k


def explore_seeds(text: str, ex: str) -> List[int]:
    """EX_GRADE_SEEDS of an exercise (whole numbers from 1), or the default seeds."""
    words = text.split()
    if not words:
        return list(DEFAULT_EXPLORE_SEEDS)
    if not all(w.isdigit() and int(w) > 0 for w in words):
        raise KitError(f"{ex}: EX_GRADE_SEEDS = {text}: give the explorer's seeds as whole numbers from 1")
    return [int(w) for w in words]


def explored_calls(syms_file: str) -> Set[str]:
    """The names kt_student.syms sends to the schedule explorer (pthread_mutex_lock, ...)."""
    with open(syms_file, encoding="utf-8") as f:
        pairs = [line.split() for line in f if line.strip() and not line.lstrip().startswith("#")]
    return {p[0] for p in pairs if len(p) == 2 and p[1].startswith(EXPLORER_PREFIX)}


def _undefined(objs: List[str]) -> Set[str]:
    """The names the objects call but do not define (one readelf for all)."""
    return {sym.name for syms in policy.elf_symbols(objs).values() for sym in syms if sym.undefined}


def _defined_globals(objs: List[str]) -> Set[str]:
    """The global names the objects define (one readelf for all: each costs a process)."""
    return {sym.name for syms in policy.elf_symbols(objs).values() for sym in syms
            if not sym.undefined and sym.binding != "LOCAL"}


def declared_functions(cc: str, root: str, decl: Exercise, include_dir: str) -> Set[str]:
    """The functions the exercise's public headers (exercises/<ex>/*.h) declare, by the compiler.

    GCC's -aux-info lists every function a translation unit declares with the
    file that declares it: no parsing of C by hand.
    """
    folder = os.path.join(root, "exercises", decl.name)
    headers = sorted(os.path.basename(h) for h in glob.glob(os.path.join(folder, "*.h")))
    probe_dir = os.path.join(os.path.dirname(include_dir), f".probe-{decl.name}")
    os.makedirs(probe_dir, exist_ok=True)
    probe = os.path.join(probe_dir, "probe.c")
    aux = os.path.join(probe_dir, "aux.txt")
    with open(probe, "w", encoding="utf-8") as f:
        f.write("".join(f'#include "{h}"\n' for h in headers))
    _run([cc, "-std=c11", "-D_POSIX_C_SOURCE=200809L", f"-I{folder}", f"-I{os.path.join(root, 'runtime')}",
          *[f"-I{os.path.join(root, 'exercises', d)}" for d in decl.depends],
          "-fsyntax-only", f"-aux-info={aux}", probe], f"listing what {decl.name}'s headers declare")
    names = set()
    where = re.compile(r"^/\* (\S+):\d+:\w+ \*/ (.*)$")
    with open(aux, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = where.match(line)
            if not m or os.path.dirname(os.path.abspath(os.path.join(root, m.group(1)))) != folder:
                continue
            name = re.search(r"(\w+)\s*\((?!\*)", m.group(2))
            if name:
                names.add(name.group(1))
    shutil.rmtree(probe_dir, ignore_errors=True)
    return names


def _stage_headers(root: str, decl: Exercise, dest: str) -> str:
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
