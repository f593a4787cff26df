"""timeouts.py - fit each visible test's student-loop timeout to what the reference needs.

    python3 -m grader.release.timeouts write [--runs N] [exercise...]   measure, write the files
    python3 -m grader.release.timeouts check [exercise...]              exit 1 when a file is stale

A test's Criterion .timeout is the grader's, generous for a loaded
machine and the sanitizers. In the student's loop (`make test`) a hang
should cost a second, not fifteen: runtime/tools/run_tests.py stops each
test at the timeout written in exercises/<ex>/tests/timeouts, one line per
visible test:

    mpsc/ten_sender_tasks 1 threaded

The figure is the reference solution's median of --runs runs (5) times
20 (the median: a run slowed by a busy machine says nothing of the test), at least 1 s, rounded up to a tenth, and never above the test's own
.timeout; `threaded` marks a test that runs tasks or threads (from its
source), which the loop skips once another threaded test has hung. `check`
fails when a visible test has no line, a line names no test, or a flag
differs from the source: run `make timeouts` after adding a test.
"""

import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
from typing import Dict, List

from grader import kit
from runtime.tools import kit_info

MARGIN, FLOOR, RUNS = 20, 1.0, 5
THREADED = re.compile(r"\b(rt_executor_new\w*|pthread_create|rt_block_on|rt_spawn|\w+_start|"
                      r"stress_\w+|kt_stopped_call_start)\s*\(")
HEADER = ("# Student-loop timeouts (seconds) of the visible tests, fitted to the reference\n"
          "# solution by `make timeouts` (grader/release/timeouts.py); `threaded` tests are\n"
          "# skipped once another threaded test has hung. Not the grader's timeouts.\n")


def visible_tests(ex: str) -> List[kit_info.Test]:
    folder = os.path.join(kit.ROOT, "exercises", ex, "tests")
    sources = [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".c")]
    return kit_info.read_tests(sources)


def declared_timeout(test: kit_info.Test) -> float:
    match = re.search(r"\.timeout\s*=\s*([\d.]+)", test.source and _header_of(test) or "")
    return float(match.group(1)) if match else 0.0


def _header_of(test: kit_info.Test) -> str:
    with open(test.source, encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"KT_TEST\(\s*%s\s*,\s*%s\s*,(.*?)\)\s*\{" % (test.suite, test.name), text,
                      re.S)
    return match.group(1) if match else ""


def is_threaded(test: kit_info.Test) -> bool:
    return bool(THREADED.search(test.body))


def measure(ex: str, runs: int) -> Dict[str, float]:
    base = ["make", "-s", f"EX={ex}", "SOLUTION=1"]
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "RT_SHAKE")}
    subprocess.run(base + ["build-test"], cwd=kit.ROOT, env=env, check=True)
    binary = subprocess.check_output(base + ["print-test-bin"], cwd=kit.ROOT, env=env,
                                     text=True).strip()
    seen: Dict[str, List[float]] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="timeouts-") as tmp:
            subprocess.run([os.path.join(kit.ROOT, binary)], cwd=kit.ROOT,
                           env=dict(env, KT_LOOP_DIR=tmp), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            for name in os.listdir(tmp):
                if name.endswith(".time"):
                    suite, test = name[:-5].split(".", 1)
                    with open(os.path.join(tmp, name)) as f:
                        seconds = float(f.read())
                    seen.setdefault(f"{suite}/{test}", []).append(seconds)
    return {key: statistics.median(times) for key, times in seen.items()}


def fitted(test: kit_info.Test, seconds: float) -> float:
    value = max(FLOOR, math.ceil(seconds * MARGIN * 10) / 10)
    own = declared_timeout(test)
    return min(value, own) if own > 0 else value


def path_of(ex: str) -> str:
    return os.path.join(kit.ROOT, "exercises", ex, "tests", "timeouts")


def write(ex: str, runs: int) -> None:
    times = measure(ex, runs)
    lines = [HEADER]
    for test in visible_tests(ex):
        if test.id not in times:
            raise SystemExit(f"timeouts: {test.id} did not finish in the reference's runs")
        seconds = fitted(test, times[test.id])
        lines.append(f"{test.id} {seconds:g}{' threaded' if is_threaded(test) else ''}"
                     f"  # reference: {times[test.id] * 1000:.0f} ms\n")
    with open(path_of(ex), "w", encoding="utf-8") as f:
        f.writelines(lines)
    print(f"timeouts: wrote {os.path.relpath(path_of(ex), kit.ROOT)}")


def check(ex: str) -> List[str]:
    rel = os.path.relpath(path_of(ex), kit.ROOT)
    if not os.path.exists(path_of(ex)):
        return [f"{rel} is missing"]
    try:
        written = kit_info.read_timeouts(path_of(ex))
    except ValueError as e:
        return [str(e)]
    problems = []
    tests = visible_tests(ex)
    for test in tests:
        if test.id not in written:
            problems.append(f"{rel}: no line for {test.id}")
        elif written[test.id][1] != is_threaded(test):
            problems.append(f"{rel}: {test.id} is {'' if is_threaded(test) else 'not '}threaded")
    for tid in sorted(set(written) - {t.id for t in tests}):
        problems.append(f"{rel}: {tid} is not a visible test")
    return problems


def main(argv: List[str]) -> int:
    args = argv[1:]
    if not args or args[0] not in ("write", "check"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    mode, args = args[0], args[1:]
    runs = RUNS
    if args[:1] == ["--runs"]:
        runs, args = int(args[1]), args[2:]
    names = args or kit.exercise_names()
    if mode == "write":
        for ex in names:
            write(ex, runs)
        return 0
    problems = [p for ex in names for p in check(ex)]
    for p in problems:
        print(f"timeouts: {p} (run 'make timeouts')", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
