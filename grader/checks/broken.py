"""broken.py - do the tests catch the mistakes students really make?

Each grader/broken/<exercise>/<name>.bug file describes one plausible
mistake as exact text replacements in the reference solution (the format
is grader/bugs.py's). For every variant this builds the solution with the
mistake in it, runs the visible tests alone and then the visible and
hidden tests together, and reports which caught it, with the first
failure line the student would see. A variant counts as caught only when
it is caught in every one of --runs runs (3 by default): a mistake caught
by luck is not caught. It fails when the two together miss a variant, or
when a variant no longer applies to the solution.

    python3 -m grader.checks.broken [--runs N] [--jobs N] [--json FILE] [exercise...]
        (default: every exercise with variants; --json writes what each variant's
        suites caught, for grader/checks/claims.py; --jobs N checks N variants at
        a time, each in a build folder of its own, after the shared objects are built)
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

from grader import bugs, kit
from grader.bugs import BugError

SUITE_TIMEOUT = 300


def first_failure(output: str) -> str:
    """The first line of a failing run that says what went wrong."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith("[kit]") and not text.startswith(("[kit] explorer", "[kit]   ")):
            return text
        if text.startswith("timeout:"):  # the runtime's watchdog: what is stuck follows
            return text
        if "ERROR: AddressSanitizer" in text or "WARNING: ThreadSanitizer" in text \
                or "runtime error:" in text:
            return text
        if "Assertion Failed" in text:
            for follow in lines[i + 1:i + 6]:
                said = follow.replace("[----]", "").strip()
                if said:
                    return said
        if text.startswith("[FAIL]") and ("CRASH" in text or "Timed out" in text
                                          or "timed out" in text):
            return text
    return ""


def student_loop(binary: str, timeouts: str) -> Tuple[int, str]:
    """One run of the visible tests the way `make test` runs them for a student:
    runtime/tools/run_tests.py with the fitted timeouts of the student loop."""
    with tempfile.TemporaryDirectory(prefix="broken-loop-") as work:
        cmd = [sys.executable, os.path.join(kit.ROOT, "runtime", "tools", "run_tests.py"),
               "--bin", os.path.join(kit.ROOT, binary), "--work", work]
        if os.path.exists(timeouts):
            cmd += ["--timeouts", timeouts]
        # The sources say which tests there are, their descriptions and the course's order.
        cmd += sorted(glob.glob(os.path.join(os.path.dirname(timeouts), "*.c")))
        run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=SUITE_TIMEOUT, cwd=kit.ROOT, env=clean_env(), text=True,
                             errors="replace")
    said = re.search(r"^Start with [^:]*: (.*)$", run.stdout, re.M)
    return run.returncode, said.group(1) if said else first_failure(run.stdout)


def clean_env() -> dict:
    # A shake seed or explorer seed of the caller's would change every suite.
    return {k: v for k, v in os.environ.items() if k not in ("RT_SHAKE", "KT_EXPLORE")}


def suite_catches(ex: str, src: str, tag: str, hidden: bool, runs: int = 1) -> Tuple[int, str]:
    """How many of `runs` runs of the suite failed, and the first failure line seen.

    The visible tests run as the student's `make test` runs them (fitted
    timeouts: a hang costs seconds, and a variant the student loop does not
    catch is not caught); with the hidden tests, as the suite's own binary
    runs them, with the Criterion timeouts the grader keeps."""
    make = ["make", "-s", f"EX={ex}", f"SRC={src}", f"TAG={tag}", "REF_DEPS=1"]
    if hidden:
        make.append("HIDDEN=1")
    build = subprocess.run(make + ["build-test"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, cwd=kit.ROOT)
    if build.returncode != 0:
        raise BugError(f"variant {tag} does not compile:\n{build.stdout[-2000:]}")
    binary = subprocess.check_output(make + ["print-test-bin"], text=True, cwd=kit.ROOT).strip()
    timeouts = os.path.join(kit.ROOT, "exercises", ex, "tests", "timeouts")
    caught, why = 0, ""
    for _ in range(runs):
        try:
            if hidden:
                run = subprocess.run([os.path.join(kit.ROOT, binary)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, timeout=SUITE_TIMEOUT, cwd=kit.ROOT,
                                     env=clean_env(), text=True, errors="replace")
                code, said = run.returncode, first_failure(run.stdout)
            else:
                code, said = student_loop(binary, timeouts)
        except subprocess.TimeoutExpired:
            caught, why = caught + 1, why or "the suite hung"  # a hang is caught too, if slowly
            continue
        if code != 0:
            caught += 1
            why = why or said
    return caught, why


Row = Tuple[str, str, bool, bool, str, float]
# variant, description, caught by visible, by visible+hidden, first failure, seconds taken


def warm_up(ex_name: str) -> None:
    """Builds what every variant of an exercise shares (the runtime, the kit, the
    tests, the reference of the exercises it builds on), so that variants checked
    at the same time only ever build their own folder."""
    hidden_options: List[List[str]] = [[], ["HIDDEN=1"]]
    for hidden in hidden_options:
        subprocess.run(["make", "-s", f"EX={ex_name}", "SOLUTION=1", *hidden, "build-test"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=kit.ROOT)


def check_variant(ex: kit.Exercise, bug_file: str, runs: int) -> Row:
    """Builds the reference with one variant's mistake and runs the suites on it."""
    started = time.monotonic()
    folder = os.path.join(kit.ROOT, "grader", "broken", ex.name)
    path = os.path.relpath(os.path.join(folder, bug_file), kit.ROOT)
    name = bug_file[:-4]
    with open(os.path.join(folder, bug_file), encoding="utf-8") as f:
        bug = bugs.parse(f.read(), path)
    description, target = bug.description, bug.file
    if target not in ex.student_files:
        raise BugError(f"{path}: file {target} is not a student file of {ex.name}")
    with tempfile.TemporaryDirectory(prefix=f"broken-{ex.name}-") as tmp:
        for student_file in ex.student_files:
            shutil.copy(os.path.join(kit.ROOT, "solutions", ex.name, student_file), tmp)
        with open(os.path.join(tmp, target), encoding="utf-8") as f:
            broken = bugs.apply(f.read(), bug)
        with open(os.path.join(tmp, target), "w", encoding="utf-8") as f:
            f.write(broken)
        tag = f"broken-{name}"
        try:
            seen, why = suite_catches(ex.name, tmp, tag, hidden=False, runs=runs)
            visible = seen == runs
            if not visible:  # the hidden tests must catch it in the runs visible did not
                more, hidden_why = suite_catches(ex.name, tmp, tag, hidden=True, runs=runs)
                # the line of the run that catches it every time, when there is one
                both, why = more == runs, hidden_why or why
            else:
                both = True
        finally:  # the variant's objects name a scratch source that is about to go
            shutil.rmtree(os.path.join(kit.ROOT, "build", "plain", ex.name, tag),
                          ignore_errors=True)
    return name, description, visible, both, why, time.monotonic() - started


def check_exercise(ex_name: str, runs: int = 1, only: Optional[List[str]] = None,
                   jobs: int = 1) -> Tuple[List[Row], List[str]]:
    ex = kit.load_exercise(ex_name)
    folder = os.path.join(kit.ROOT, "grader", "broken", ex_name)
    variants = sorted(f for f in os.listdir(folder) if f.endswith(".bug")) if os.path.isdir(folder) else []
    variants = [v for v in variants if only is None or v[:-4] in only]
    if jobs > 1 and len(variants) > 1:
        warm_up(ex_name)

    def attempt(bug_file: str) -> "Row | str":
        try:
            return check_variant(ex, bug_file, runs)
        except BugError as e:
            return str(e)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        outcomes = list(pool.map(attempt, variants))  # in the variants' order, whatever finishes first
    rows: List[Row] = []
    problems: List[str] = []
    for outcome in outcomes:
        if isinstance(outcome, str):
            problems.append(outcome)
            continue
        rows.append(outcome)
        if not outcome[3]:
            path = os.path.join("grader", "broken", ex_name, outcome[0] + ".bug")
            problems.append(f"{path}: not caught by the visible and hidden tests: {outcome[1]}")
    return rows, problems


def main(argv: List[str]) -> int:
    args = argv[1:]
    runs = 3
    if args[:1] == ["--runs"] and len(args) > 1 and args[1].isdigit() and int(args[1]) > 0:
        runs, args = int(args[1]), args[2:]
    elif args[:1] == ["--runs"]:
        print("broken: --runs takes a number of runs, at least 1", file=sys.stderr)
        return 2
    jobs = 1
    if args[:1] == ["--jobs"] and len(args) > 1 and args[1].isdigit() and int(args[1]) > 0:
        jobs, args = int(args[1]), args[2:]
    elif args[:1] == ["--jobs"]:
        print("broken: --jobs takes a number of variants at a time, at least 1", file=sys.stderr)
        return 2
    report = ""
    if args[:1] == ["--json"] and len(args) > 1:
        report, args = args[1], args[2:]
    names = args or [n for n in kit.exercise_names()
                     if os.path.isdir(os.path.join(kit.ROOT, "grader", "broken", n))]
    all_problems = []
    found = []  # for --json: what grader/checks/claims.py ties the READMEs' claims to
    for name in names:
        rows, problems = check_exercise(name, runs, jobs=jobs)
        all_problems += problems
        found += [{"exercise": name, "variant": r[0], "visible": r[2], "graded": r[3]}
                  for r in rows]
        if rows:
            print(f"broken variants of {name}:")
            for variant, description, visible, both, why, seconds in rows:
                mark = lambda caught: "caught" if caught else "MISSED"
                print(f"  {variant:<32} visible: {mark(visible):<7} visible+hidden: {mark(both):<7}"
                      f" {seconds:5.1f} s  {description}")
                if why:
                    print(f"  {'':<32} first failure: {why[:300]}")
            n = len(rows)
            print(f"  {name}: visible tests catch {sum(r[2] for r in rows)}/{n}, "
                  f"visible+hidden catch {sum(r[3] for r in rows)}/{n}"
                  f" (caught = in each of {runs} runs)")
    if report:
        with open(report, "w", encoding="utf-8") as f:
            json.dump(found, f, indent=1)
    for problem in all_problems:
        print(f"broken: {problem}", file=sys.stderr)
    return 1 if all_problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
