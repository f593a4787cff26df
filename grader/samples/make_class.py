"""make_class.py - make the sample class from the reference solutions.

Each sample student is the reference solution with one classic mistake, or
with something hostile added, written the way a student hands work in (a
kit folder, only their files, a .zip or a .tar.gz). The mistakes are .bug
files (grader/bugs.py), in grader/samples/bugs/<exercise>/: when the
reference changes so that one no longer applies, this says which. The
class is generated, never committed: `make grade` and `make check` make
it into the build folder when they need it. Same inputs, same bytes.

    python3 -m grader.samples.make_class [--out DIR]   write the class (default build/samples/class)
    python3 -m grader.samples.make_class --scale N     N students with the same mix (the benchmark's)
    python3 -m grader.samples.make_class --record      also grade it and record the points in
                                                       grader/samples/expected.json (review the diff:
                                                       the numbers are the grader's own)
"""

import argparse
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from typing import Dict, List, Tuple, Union

from grader import bugs, markers
from grader.kit import ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
BUGS = os.path.join(HERE, "bugs")
DEFAULT_OUT = os.path.join(ROOT, "build", "samples", "class")


def solution(ex: str) -> str:
    """The reference file as a student would have written it: no solution markers."""
    path = os.path.join(ROOT, "solutions", ex, f"{ex}.c")
    with open(path, encoding="utf-8") as f:
        return markers.make_reference(f.read(), os.path.relpath(path, ROOT))


def stub(ex: str) -> str:
    """The untouched stub of an exercise, as the handout gives it."""
    with open(os.path.join(ROOT, "exercises", ex, f"{ex}.c"), encoding="utf-8") as f:
        return f.read()


def mutate(text: str, exercise: str, names: List[str]) -> str:
    """text with the named bugs of grader/samples/bugs/<exercise>/ applied, in order."""
    for name in names:
        try:
            text = bugs.apply(text, bugs.load(os.path.join(BUGS, exercise, name + ".bug")))
        except (OSError, bugs.BugError) as e:
            raise SystemExit(f"make_class: {e}") from e
    return text


TAMPERED_TEST = """/* every test passes, whatever the channel does */
#include <criterion/criterion.h>
Test(mpsc, fifo_order) { cr_assert(1); }
"""
FORGED_FILES = {
    "results.json": '{"score": 100, "tests": []}\n',
    "gradebook.csv": "student,mpsc,total,max\nx_forged_results,26,26,26\n",
    "criterion-report.json": '{"id": "Criterion v2.4.1", "passed": 24, "failed": 0, "test_suites": []}\n',
}

Work = Union[str, List[str]]  # "reference", "stub", or the names of bugs applied to the reference
# name: (layout, {exercise: work}, extra files, why)
Student = Tuple[str, Dict[str, Work], Dict[str, str], str]
STUDENTS: Dict[str, Student] = {
    "ada_perfect": ("kit", {"mpsc": "reference", "oneshot": "reference", "broadcast": "reference"}, {},
                    "the reference solutions: every point"),
    "ben_lost_waker": ("flat", {"mpsc": ["lost_waker"]}, {}, "poll returns PENDING without storing the waker"),
    "cleo_no_wake_on_drop": ("flat", {"mpsc": ["no_wake_on_drop"]}, {},
                             "dropping the last sender drops the waker instead of waking it"),
    "dan_double_free": ("flat", {"mpsc": ["double_free"]}, {},
                        "a failed send frees the message and also hands it back"),
    "eve_race_no_lock": ("flat", {"mpsc": ["no_lock_in_send"]}, {},
                         "send touches the queue without the lock (a race: its score may vary)"),
    "finn_wake_under_lock": ("flat", {"mpsc": ["wake_under_lock"]}, {},
                             "send wakes the receiver with the lock held"),
    "gus_compile_error": ("flat", {"mpsc": ["syntax_error"]}, {}, "a missing semicolon"),
    "hana_hangs": ("flat", {"mpsc": ["busy_wait"]}, {}, "poll spins until a message arrives instead of PENDING"),
    "ivy_only_mpsc": ("kit", {"mpsc": "reference", "oneshot": "stub"}, {},
                      "mpsc done, oneshot untouched stub: the stub fails fast, mpsc is unaffected"),
    "zoe_zip": ("zip", {"mpsc": "reference", "oneshot": "reference"}, {},
                "the references, handed in as a .zip with a top folder"),
    "x_infinite_loop": ("flat", {"mpsc": ["infinite_loop"], "oneshot": "reference"}, {},
                        "clone never returns: only the tests that clone time out"),
    "x_fork_bomb": ("flat", {"mpsc": ["fork_bomb"], "oneshot": "reference"}, {},
                    "clone forks forever: refused by the symbol check"),
    "x_memory_bomb": ("flat", {"mpsc": ["memory_bomb"], "oneshot": "reference"}, {},
                      "clone allocates until the memory limit, then aborts: only the tests that clone crash"),
    "x_output_flood": ("flat", {"mpsc": ["output_flood"], "oneshot": "reference"}, {},
                       "clone prints forever: the file-size limit stops the tests that clone"),
    "x_forged_output": ("flat", {"mpsc": ["lost_waker", "forged_output"]}, {},
                        "the lost-waker bug, printing a fake Criterion summary: scores as ben_lost_waker"),
    "x_forged_results": ("flat", {"mpsc": ["lost_waker", "forged_results"]}, FORGED_FILES,
                         "writes a fake report file (refused: fopen) and ships fake results files (ignored)"),
    "x_exit_in_test": ("flat", {"mpsc": ["lost_waker", "exit_in_test"]}, {},
                       "calls exit(0) where its test would fail: refused by the symbol check"),
    "x_read_hidden": ("kit", {"mpsc": ["no_wake_on_drop", "read_hidden"]}, {},
                      "tries to #include the hidden tests (not visible to the compiler): scores as cleo"),
    "x_network": ("flat", {"mpsc": ["lost_waker", "network"]}, {},
                  "opens a TCP connection: refused (socket, connect)"),
    "x_tampered_tests": ("kit", {"mpsc": ["lost_waker"]}, {"exercises/mpsc/tests/test_mpsc.c": TAMPERED_TEST,
                                                          "Makefile": "test:\n\t@echo all passed\n"},
                         "replaced the tests and the Makefile (ignored): scores as ben_lost_waker"),
    "x_dotdot_archive": ("tgz", {"mpsc": "reference"}, {"../../escaped.txt": "outside!\n",
                                                         "/tmp/absolute-escape.txt": "outside!\n"},
                         "a .tar.gz with ../ and absolute members (refused); the rest graded"),
    "x_constructor": ("flat", {"mpsc": ["constructor"]}, {}, "installs a constructor: refused by the section check"),
}

# How the sample class is graded by `make check` (tight limits: the hostile students).
SAMPLE_OPTIONS = ["--max-test-seconds", "10", "--memory-mb", "1024", "--reruns", "0"]


def files_of(spec: Student) -> Tuple[str, Dict[str, str]]:
    """(layout, {path in the submission: text}) of one sample student."""
    layout, exercises, extra, _ = spec
    files = {}
    for ex, work in exercises.items():
        if work == "reference":
            text = solution(ex)
        elif work == "stub":
            text = stub(ex)
        else:
            text = mutate(solution(ex), ex, list(work))
        path = f"exercises/{ex}/{ex}.c" if layout != "flat" else f"{ex}.c"
        files[path] = text
    files.update(extra)
    return layout, files


def write(folder: str, name: str, layout: str, files: Dict[str, str]) -> None:
    """One student into the class folder, as a folder, a .zip or a .tar.gz."""
    if layout in ("kit", "flat"):
        for rel, text in files.items():
            path = os.path.join(folder, name, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    elif layout == "zip":
        with zipfile.ZipFile(os.path.join(folder, name + ".zip"), "w") as z:
            for rel, text in sorted(files.items()):
                z.writestr(zipfile.ZipInfo(f"{name}-main/{rel}", date_time=(2024, 1, 1, 0, 0, 0)), text)
    else:
        # A fixed gzip time too, so that regenerating gives the same bytes.
        with gzip.GzipFile(os.path.join(folder, name + ".tar.gz"), "wb", mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w") as t:  # type: ignore[arg-type]
            for rel, text in sorted(files.items()):
                data = text.encode()
                info = tarfile.TarInfo(rel if rel.startswith(("/", "..")) else f"{name}/{rel}")
                info.size, info.mtime = len(data), 1704067200
                t.addfile(info, io.BytesIO(data))


def make(folder: str) -> int:
    """Writes the whole class into folder (emptied first); returns the number of students."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name, spec in STUDENTS.items():
        layout, files = files_of(spec)
        write(folder, name, layout, files)
    return len(STUDENTS)


def make_scaled(folder: str, count: int) -> int:
    """A class of `count` students with the sample's mix, for the grader's benchmark.

    Student i is a copy of the sample student i modulo the sample's size,
    named <sample name>_<copy>, its C files opened by a comment with its
    number: the same code, but no two students share a cached result.
    """
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    names = list(STUDENTS)
    for i in range(count):
        base = names[i % len(names)]
        layout, files = files_of(STUDENTS[base])
        files = {rel: f"/* student {i:04d} */\n{text}" if rel.endswith(".c") else text
                 for rel, text in files.items()}
        write(folder, f"{base}_{i // len(names):03d}", layout, files)
    return count


def record(folder: str) -> None:
    """Grades the class and writes the points into expected.json (ranges are kept: they are judgement)."""
    path = os.path.join(HERE, "expected.json")
    with open(path, encoding="utf-8") as f:
        old = json.load(f).get("students", {})
    out = tempfile.mkdtemp(prefix="sample-class-")
    try:
        subprocess.run([sys.executable, "-m", "grader", folder, "--out", out, "--no-cache",
                        *SAMPLE_OPTIONS], check=True, cwd=ROOT)
        with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
            results = json.load(f)["students"]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    expected: Dict[str, object] = {"options": SAMPLE_OPTIONS}
    students: Dict[str, Dict[str, object]] = {}
    for r in results:
        entry: Dict[str, object] = {
            "why": STUDENTS[r["student"]][3],
            "points": {e["exercise"]: e["total"] for e in r["exercises"]},
            "status": {e["exercise"]: e["status"] for e in r["exercises"]},
        }
        for keep in ("range", "range_why"):
            if keep in old.get(r["student"], {}):
                entry[keep] = old[r["student"]][keep]
        students[r["student"]] = entry
    expected["students"] = students
    with open(path, "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(prog="python3 -m grader.samples.make_class",
                                description="Make the sample class from the reference solutions.")
    p.add_argument("--out", default=DEFAULT_OUT, help="the class folder (default build/samples/class)")
    p.add_argument("--record", action="store_true",
                   help="also grade it and record the points in grader/samples/expected.json")
    p.add_argument("--scale", type=int, metavar="N",
                   help="instead, N students with the sample's mix, each unique (the grader's benchmark)")
    args = p.parse_args(argv)
    if args.scale is not None and (args.scale < 1 or args.record):
        p.error("--scale takes a number of students (1 or more), without --record")
    count = make_scaled(args.out, args.scale) if args.scale else make(args.out)
    print(f"make_class: wrote {count} students into {os.path.relpath(args.out, ROOT)}/")
    if args.record:
        record(args.out)
        print("make_class: recorded grader/samples/expected.json: review its diff before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
