"""check.py - `make check`: the kit's whole test, as CI runs it.

In order, each step a pass or a fail:

  1. the tools the kit needs are installed;
  2. the committed stubs match their solutions, the C sources are formatted,
     and the Python is type-checked (mypy, with the settings in .mypy.ini);
  3. the runtime's tests, plain and under AddressSanitizer, ThreadSanitizer
     and UndefinedBehaviorSanitizer;
  4. per exercise, the visible and hidden tests against the reference
     solution, plain and under the three sanitizers (warnings are errors);
  5. per exercise, the same tests against the untouched stub: every test
     must fail by crashing with "not implemented", none may time out; and
     the tests of the exercise's own kit code (kit/tests/), if it has any;
  6. per exercise, the broken variants in grader/broken/ are all caught, and
     every "the tests catch X" of a README or slide names variants the
     visible tests catch (grader/checks/claims.py); the student-loop
     timeouts are fitted; a subset of the variants played from the handout
     as a student would, each within 5 s (tests/play_student.py);
  7. the slides: every snippet's marker found, the example files compile,
     every slide rendered and nothing cut off (slides/README.md);
  8. the Python tests in tests/ (grader, stub generator, handout, tools), in
     two groups (PYTHON_TESTS_APART: Slurm, Gradescope, Classroom, scale and
     the chat's Rust peers, the slow ones, beside the rest).

Steps 3 to 8 run in two lanes at once (CHECK_LANES=1 runs them one by one):
the plain and AddressSanitizer/UBSan builds with the broken variants in one,
the ThreadSanitizer builds, the slides and the Python tests in the other;
each lane has build folders of its own (build/<sanitizer>/), so nothing is
built twice at the same time. The student-loop steps come last, alone: they
time what a student waits for.

Ends with one line per Criterion suite and a "N passed, N failed" line.
`make check ONLY=<step word>` (e.g. ONLY=stub) runs only the steps whose
name contains that word.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from grader import kit
from grader.kit import ROOT
from runtime.tools import kit_info

SYNTHESIS = re.compile(r"\[====\] Synthesis: .*")
SANITIZERS = ["", "address", "thread", "undefined"]


# Which lane a step runs in: FIRST and LAST alone, before and after the two
# lanes that run side by side.
FIRST, MAIN, SIDE, LAST = "first", "main", "side", "last"


class Step:
    def __init__(self, name, run, lane=MAIN, after=None):
        # after: a step of the other lane this one waits for (what it needs built)
        self.name, self.run, self.lane, self.after = name, run, lane, after
        self.done = threading.Event()


def clean_env():
    # A shake seed left in the caller's environment would change every suite.
    # The outer make's job-server settings would pin the inner makes to -j1.
    dropped = ("RT_SHAKE", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    return {k: v for k, v in os.environ.items() if k not in dropped}


def sh(args, env=None, timeout=1800):
    """Runs a command in the kit's root; returns (exit code, combined output)."""
    full_env = clean_env()
    full_env.update(env or {})
    try:
        proc = subprocess.run(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", env=full_env, timeout=timeout)
        return proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return 124, out + f"\ncheck: timed out after {timeout} s"


def make(*args):
    return sh(["make", "--no-print-directory", *args])


def criterion_step(make_args):
    """A step that runs a Criterion suite through make and keeps its synthesis line."""

    def run():
        code, out = make(*make_args)
        synth = SYNTHESIS.findall(out)
        # Criterion records a test's verdict before the exit-time leak check
        # of its process, so a leak alone does not fail the suite: look for it.
        if "ERROR: LeakSanitizer" in out:
            return False, out + "\ncheck: LeakSanitizer reported a leak (above)", synth
        return code == 0, out, synth

    return run


def sanitizer_label(san):
    return f" under {san} sanitizer" if san else ""


def stub_step(ex):
    """Every test against the untouched stub fails by crashing with 'not implemented'."""

    def run():
        base = ["make", "-s", "--no-print-directory", f"EX={ex}", "HIDDEN=1", "WERROR=1"]
        code, out = sh(base + ["build-test"])
        if code != 0:
            return False, "the untouched stub does not build:\n" + out, []
        binary = subprocess.check_output(base + ["print-test-bin"], cwd=ROOT, text=True,
                                         env=clean_env()).strip()
        with tempfile.TemporaryDirectory() as tmp:
            report = os.path.join(tmp, "report.json")
            code, out = sh([os.path.join(ROOT, binary), f"--json={report}", "--short-filename"],
                           timeout=600)
            try:
                with open(report) as f:
                    data = json.load(f)
            except (OSError, ValueError):
                return False, out + "\ncheck: no Criterion report was written", []
        problems, count = [], 0
        for suite in data.get("test_suites", []):
            for test in suite.get("tests", []):
                count += 1
                name = f"{suite['name']}/{test['name']}"
                messages = " ".join(test.get("messages", []))
                if test["status"] == "PASSED":
                    problems.append(f"{name} passes against the untouched stub")
                elif "timed out" in messages:
                    problems.append(f"{name} hangs against the untouched stub (timed out)")
        mentions = out.count("not implemented:")
        if count == 0:
            problems.append("no tests ran")
        elif mentions < count:
            problems.append(f"only {mentions} 'not implemented' messages for {count} tests: "
                            "some failures do not say what is missing")
        detail = "\n".join(problems) or f"all {count} tests fail fast with 'not implemented'"
        return not problems, (out if problems else "") + detail, [f"{ex} stub: {detail}"]

    return run


def format_step():
    def run():
        if shutil.which("clang-format") is None:
            return False, "clang-format is not installed (make deps installs it)", []
        # The sample class is students' code, kept as they would write it.
        files = [f for f in kit_info.kit_files(ROOT)
                 if f.endswith((".c", ".h")) and not f.startswith("grader/samples/")]
        if not files:
            return True, "no tracked C files yet", []
        code, out = sh(["clang-format", "--dry-run", "--Werror", *files])
        return code == 0, out or f"{len(files)} files formatted", []

    return run


def types_step():
    def run():
        if shutil.which("mypy") is None:
            return False, "mypy is not installed (make deps installs it)", []
        code, out = sh(["mypy", "--config-file", ".mypy.ini"])
        return code == 0, out, []

    return run


def simple_step(args, env=None, keep=None):
    """A step that runs a command; `keep` picks lines of its output for the closing recap."""

    def run():
        code, out = sh(args, env=env)
        kept = [l.strip() for l in out.splitlines() if keep and re.search(keep, l)]
        return code == 0, out, kept

    return run


# The Python tests that grade whole classes on the paths past one machine (a
# one-machine Slurm cluster, a Gradescope root, a Classroom handout, a scaled
# class) and build the Rust peers: the slowest, run in the main lane once its
# C steps are done, beside the rest in the side lane.
PYTHON_TESTS_APART = ["test_slurm", "test_gradescope", "test_classroom", "test_scale",
                      "test_rust_peers"]


def python_test_modules(apart):
    """The tests/test_*.py modules of one group: those PYTHON_TESTS_APART names, or the others."""
    names = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "tests"))
                   if f.startswith("test_") and f.endswith(".py"))
    return [f"tests.{n}" for n in names if (n in PYTHON_TESTS_APART) == apart]


def python_tests_step(apart):
    def run():
        modules = python_test_modules(apart)
        if not modules:
            return True, "no such tests", []
        code, out = sh([sys.executable, "-m", "unittest", *modules], timeout=2400)
        tail = [l for l in out.splitlines() if re.match(r"^(Ran \d+ tests|OK|FAILED)", l)]
        # A test that cannot run here says why on a line of its own: shown, never a silent pass.
        skipped = re.findall(r"SKIPPED: [^\n]*", out)
        return code == 0, out, ["python tests: " + " ".join(tail)] + skipped

    return run


SLIDES_STEP = "slides: snippets cut, examples compile, every slide fits"


def lane_of(san):
    # ThreadSanitizer builds are the slowest: they go beside the rest.
    return SIDE if san == "thread" else MAIN


def steps():
    yield Step("tools installed", simple_step(["sh", "runtime/tools/deps.sh", "check"]), FIRST)
    yield Step("stubs fresh", simple_step([sys.executable, "-m", "grader.release.stubs", "check"]),
               FIRST)
    yield Step("C formatting", format_step(), FIRST)
    yield Step("Python types", types_step(), FIRST)
    for san in SANITIZERS:
        args = ["test-runtime", "WERROR=1"] + ([f"SAN={san}"] if san else [])
        yield Step(f"runtime tests{sanitizer_label(san)}", criterion_step(args), lane_of(san))
    for ex in kit.exercise_names():
        for san in SANITIZERS:
            args = ["test", f"EX={ex}", "SOLUTION=1", "HIDDEN=1", "WERROR=1"]
            args += [f"SAN={san}"] if san else []
            yield Step(f"{ex} solution, visible+hidden tests{sanitizer_label(san)}",
                       criterion_step(args), lane_of(san))
        yield Step(f"{ex} untouched stub fails fast", stub_step(ex))
        if os.path.isdir(os.path.join(ROOT, "exercises", ex, "kit", "tests")):
            for san in SANITIZERS:
                args = ["test-kit", f"EX={ex}", "WERROR=1"] + ([f"SAN={san}"] if san else [])
                yield Step(f"{ex} kit tests{sanitizer_label(san)}", criterion_step(args),
                           lane_of(san))
    report = os.path.join(ROOT, "build", "broken-report.json")
    # Two variants at a time: each builds in a folder of its own, and a variant's
    # suite spends much of its time waiting (timeouts, sockets), not computing.
    yield Step("broken variants caught", simple_step([sys.executable, "-m", "grader.checks.broken",
                                                      "--jobs", "2", "--json", report],
                                                     keep=r"visible tests catch"))
    yield Step("claims of the READMEs and slides tied to broken variants",
               simple_step([sys.executable, "-m", "grader.checks.claims", "--report", report],
                           keep=r"^claims: \d+ claims"))
    yield Step(SLIDES_STEP, simple_step(["make", "-s", "slides-check"], keep=r"^slides: every slide"),
               SIDE)
    yield Step("python tests (grader, stubs, handout, slides, tools)", python_tests_step(False),
               SIDE)
    # The handout these tests build carries the deck: built once, by the slides step.
    yield Step("python tests of grading past one machine (Slurm, Gradescope, Classroom, scale) "
               "and the chat's Rust peers", python_tests_step(True), after=SLIDES_STEP)
    yield Step("student-loop timeouts fitted", simple_step([sys.executable, "-m",
                                                            "grader.release.timeouts", "check"]),
               LAST)
    yield Step("the student's loop on broken variants (a subset; all: make play-student)",
               simple_step([sys.executable, "-m", "tests.play_student", "--subset"],
                           keep=r"^play_student: "), LAST)


def run_lane(chosen, results, recap, lock, prefix="", others=()):
    """Runs steps one after the other; prints each one's outcome when it ends."""
    for step in chosen:
        for other in others:  # a step of the other lane this one needs done first
            if other.name == step.after:
                other.done.wait()
        t0 = time.monotonic()
        if not prefix:
            print(f"== {step.name} ...", flush=True)
        ok, out, summary = step.run()
        elapsed = time.monotonic() - t0
        with lock:  # a step's lines stay together, whichever lane ends first
            if prefix:
                print(f"== {step.name}{prefix}", flush=True)
            if not ok:
                print(out.rstrip())
            elif "broken" in step.name:
                for line in out.splitlines():
                    if line.startswith(("broken variants", "  ")):
                        print(line)
            print(f"   {'ok' if ok else 'FAILED'}: {step.name} ({elapsed:.1f} s)", flush=True)
            results.append((step.name, ok))
            recap += [(step.name, s) for s in summary]
        step.done.set()


def main():
    only = os.environ.get("ONLY", "")
    side_by_side = os.environ.get("CHECK_LANES", "2") != "1"
    chosen = [step for step in steps() if not only or only in step.name]
    results, recap, lock = [], [], threading.Lock()
    started = time.monotonic()
    run_lane([s for s in chosen if s.lane == FIRST], results, recap, lock)
    main_lane = [s for s in chosen if s.lane == MAIN]
    side_lane = [s for s in chosen if s.lane == SIDE]
    if side_by_side and main_lane and side_lane:
        side = threading.Thread(target=run_lane, args=(side_lane, results, recap, lock,
                                                       " (side lane)", main_lane))
        side.start()
        run_lane(main_lane, results, recap, lock, " (main lane)", side_lane)
        side.join()
    else:
        run_lane(main_lane + side_lane, results, recap, lock)
    run_lane([s for s in chosen if s.lane == LAST], results, recap, lock)
    failed = [name for name, ok in results if not ok]
    print(f"\ncheck finished in {time.monotonic() - started:.0f} s")
    for name in failed:
        print(f"  FAILED: {name}")
    for name, line in recap:
        if not SYNTHESIS.match(line):
            print(f"{name}: {line}")
    print(f"check: {len(results) - len(failed)} passed, {len(failed)} failed")
    # Last, each Criterion suite's own summary line, as its runner printed it.
    for name, line in recap:
        if SYNTHESIS.match(line):
            print(f"-- {name}")
            print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
