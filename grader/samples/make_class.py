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
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from typing import Dict, List, Tuple, Union

from grader import bugs, kit, markers
from grader.kit import ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
BUGS = os.path.join(HERE, "bugs")
# A sample student may also make one of the mistakes the tests must catch (grader/broken/).
BROKEN = os.path.join(ROOT, "grader", "broken")
DEFAULT_OUT = os.path.join(ROOT, "build", "samples", "class")


def solution(ex: str) -> str:
    """The reference file as a student would have written it: no solution markers."""
    path = os.path.join(ROOT, "solutions", ex, f"{ex}.c")
    with open(path, encoding="utf-8") as f:
        return markers.make_reference(f.read(), os.path.relpath(path, ROOT))


def solution_files(ex: str) -> Dict[str, str]:
    """Every student file of an exercise, as the reference writes it (the chat has two)."""
    out = {}
    for name in kit.load_exercise(ex).student_files:
        path = os.path.join(ROOT, "solutions", ex, name)
        with open(path, encoding="utf-8") as f:
            out[name] = markers.make_reference(f.read(), os.path.relpath(path, ROOT))
    return out


def stub(ex: str) -> str:
    """The untouched stub of an exercise, as the handout gives it."""
    with open(os.path.join(ROOT, "exercises", ex, f"{ex}.c"), encoding="utf-8") as f:
        return f.read()


def stub_files(ex: str) -> Dict[str, str]:
    """Every student file of an exercise, as the handout gives it."""
    out = {}
    for name in kit.load_exercise(ex).student_files:
        with open(os.path.join(ROOT, "exercises", ex, name), encoding="utf-8") as f:
            out[name] = f.read()
    return out


def bug_path(exercise: str, name: str) -> str:
    """A sample bug (grader/samples/bugs/<ex>/), else one of the variants the tests catch."""
    own = os.path.join(BUGS, exercise, name + ".bug")
    return own if os.path.exists(own) else os.path.join(BROKEN, exercise, name + ".bug")


def mutate(text: str, exercise: str, names: List[str]) -> str:
    """text with the named bugs of grader/samples/bugs/<exercise>/ applied, in order."""
    for name in names:
        try:
            text = bugs.apply(text, bugs.load(bug_path(exercise, name)))
        except (OSError, bugs.BugError) as e:
            raise SystemExit(f"make_class: {e}") from e
    return text


def mutate_files(files: Dict[str, str], exercise: str, names: List[str]) -> Dict[str, str]:
    """The files of an exercise with the named bugs applied, each to the file it names."""
    out = dict(files)
    for name in names:
        try:
            bug = bugs.load(bug_path(exercise, name))
        except (OSError, bugs.BugError) as e:
            raise SystemExit(f"make_class: {e}") from e
        if bug.file not in out:
            raise SystemExit(f"make_class: {bug.path} changes {bug.file}, which {exercise} does not hand in")
        out[bug.file] = mutate(out[bug.file], exercise, [name])
    return out


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
# name: (layout, {exercise: work}, extra files, why); an exercise written "chat/chat_client.c"
# hands in only that file of it (a part graded on its own)
Student = Tuple[str, Dict[str, Work], Dict[str, str], str]
STUDENTS: Dict[str, Student] = {
    "ada_perfect": ("kit", {"mpsc": "reference", "oneshot": "reference", "broadcast": "reference",
                            "chat": "reference"}, {},
                    "the reference solutions: every point"),
    "ben_lost_waker": ("flat", {"mpsc": ["lost_waker"]}, {}, "poll returns PENDING without storing the waker"),
    "cleo_no_wake_on_drop": ("flat", {"mpsc": ["no_wake_on_drop"]}, {},
                             "dropping the last sender drops the waker instead of waking it"),
    "dan_double_free": ("flat", {"mpsc": ["double_free"]}, {},
                        "a failed send frees the message and also hands it back"),
    "eve_race_no_lock": ("flat", {"mpsc": ["no_lock_in_send"]}, {},
                         "send touches the queue without the lock: the threaded tests fail under ThreadSanitizer, on every run"),
    "finn_wake_under_lock": ("flat", {"mpsc": ["wake_under_lock"]}, {},
                             "send wakes the receiver with the lock held"),
    "gus_compile_error": ("flat", {"mpsc": ["syntax_error"]}, {}, "a missing semicolon"),
    "hana_hangs": ("flat", {"mpsc": ["busy_wait"]}, {}, "poll spins until a message arrives instead of PENDING"),
    "ivy_only_mpsc": ("kit", {"mpsc": "reference", "oneshot": "stub"}, {},
                      "mpsc done, oneshot untouched stub: the stub fails fast, mpsc is unaffected"),
    "zoe_zip": ("zip", {"mpsc": "reference", "oneshot": "reference", "chat": "reference"}, {},
                "the references, handed in as a .zip with a top folder"),
    # ---- the chat: two parts graded on their own ----
    "kai_chat_rebroadcast": ("kit", {"chat": ["rebroadcasts_client_chat"]}, {},
                             "the server broadcasts a client's Chat as it is (a broken variant the "
                             "server's tests catch); the client is the reference: full client points"),
    "lea_chat_client_only": ("kit", {"chat/chat_client.c": "reference"}, {},
                             "only the client handed in: graded against the reference server, the "
                             "server part missing"),
    "max_chat_server_typo": ("flat", {"chat": ["syntax_error"]}, {},
                             "the server does not compile, the client is the reference: only the server "
                             "part is lost"),
    "x_chat_harness_fds": ("kit", {"chat": ["harness_descriptors"]}, {},
                           "the server writes forged records into descriptors it guesses (the runtime's "
                           "descriptor-level calls) and listens on every interface: the server part is "
                           "refused by the symbol check, the client graded"),
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
    # ---- verdicts no submission can forge ----
    "x_shadow_symbol": ("flat", {"mpsc": ["shadow_symbol"]}, {},
                        "defines the runtime's rt_watchdog_arm and a global helper: refused (only the "
                        "header's functions may be defined)"),
    "x_descriptor_frames": ("flat", {"mpsc": ["descriptor_frames"]}, {},
                            "writes forged pass records through stdout pointed at inherited descriptors: "
                            "the system-call filter stops every test (0)"),
    "x_asm_syscall": ("flat", {"mpsc": ["asm_syscall"]}, {},
                      "exit_group(0) hidden in overlapping instructions behind a macro: refused (inline "
                      "assembly, found after the preprocessor)"),
    "x_init_array_section": ("flat", {"mpsc": ["init_array_section"]}, {},
                             "a constructor in a data-named section of type INIT_ARRAY: refused by type"),
    "x_computed_exit": ("flat", {"mpsc": ["computed_exit"]}, {},
                        "_exit(0) through a computed pointer: ends without the runner's record (0)"),
    "x_computed_ptrace": ("flat", {"mpsc": ["computed_ptrace"]}, {},
                          "ptrace, process_vm_writev and unshare through a computed pointer to syscall(): "
                          "stopped by the system-call filter (0)"),
    "x_kill_runner": ("flat", {"mpsc": ["kill_runner"]}, {},
                      "kills every process it can reach through a computed pointer to syscall(), the "
                      "grader's runner among them: each test is run alone again, and fails (0)"),
    "x_hidden_probe": ("flat", {"mpsc": ["lost_waker", "hidden_probe"]}, {},
                       "the lost-waker bug, printing a marker: scores as ben_lost_waker, and no hidden "
                       "test's output reaches the feedback"),
    # ---- one submission never harms another ----
    "x_huge_object": ("flat", {"mpsc": ["huge_object"]}, {},
                      "a 48 MiB object file: the compiler's file-size limit stops it (compile error)"),
    "x_zip_encrypted": ("zip-encrypted", {"mpsc": "reference"}, {},
                        "an encrypted .zip: the member cannot be read (a note), nothing graded"),
    "x_zip_bad_name": ("zip-bad-name", {"mpsc": "reference"}, {},
                       "a .zip that says its names are UTF-8 and they are not: unreadable, a note"),
    "x_zip_corrupt": ("zip-corrupt", {"mpsc": "reference"}, {},
                      "a .zip whose deflate data is damaged: a note, nothing graded"),
    "x_tar_raw_names": ("tar-raw-names", {"mpsc": "reference"}, {},
                        "a .tar.gz with file and folder names that are not UTF-8: the rest graded"),
    "x_zip_many": ("zip-many", {"mpsc": "reference"}, {},
                   f"a .zip with more members than the limit: refused before it is read"),
    "x_tar_huge": ("tar-huge", {"mpsc": "reference"}, {},
                   "a .tar.gz larger than the archive size limit: refused before it is read"),
    "=HYPERLINK(\"http:evil\")": ("flat", {"mpsc": "reference"}, {},
                                   "a name that is a spreadsheet formula: a text cell in gradebook.csv"),
    "<img src=x onerror=alert(1)>": ("flat", {"mpsc": "reference"}, {},
                                     "a name that is HTML: shown as text in every report"),
    "\x1b[2J\x1b[31mterminal": ("flat", {"mpsc": "reference"}, {},
                                "a name with terminal control sequences: escaped on the console"),
    "jürgen": ("flat", {"mpsc": ["lost_waker"]}, {}, "scores as ben_lost_waker, in a folder of its own"),
    "j_rgen": ("flat", {"mpsc": "reference"}, {},
               "the reference; its feedback folder is not jürgen's (names map to folders one to one)"),
    "ctl\x01char": ("flat", {"mpsc": "reference"}, {},
                    "a name with a character XML forbids: junit.xml stays valid"),
    # ---- caught only by the grader's AddressSanitizer + LeakSanitizer run ----
    "una_use_after_free": ("flat", {"mpsc": ["use_after_free"]}, {},
                           "the receiver's drop reads its handle after freeing it: every plain run passes "
                           "(the freed block still holds its bytes), AddressSanitizer fails the tests that "
                           "drop a receiver"),
}

# How the sample class is graded by `make check` (tight limits: the hostile students).
SAMPLE_OPTIONS = ["--max-test-seconds", "10", "--memory-mb", "1024", "--reruns", "0"]


def libc_offsets() -> Dict[str, int]:
    """Where each function lies in this machine's C library (for the computed-pointer students)."""
    path = subprocess.run(["cc", "-print-file-name=libc.so.6"], capture_output=True, text=True,
                          check=True).stdout.strip()
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True,
                         check=True).stdout
    offsets: Dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            offsets.setdefault(parts[2].split("@")[0], int(parts[0], 16))
    return offsets


def fill_offsets(text: str) -> str:
    if "LIBC_OFFSET(" not in text:
        return text
    offsets = libc_offsets()
    return re.sub(r"LIBC_OFFSET\((\w+)\)", lambda m: f"{offsets[m.group(1)]:#x}L", text)


def files_of(spec: Student) -> Tuple[str, Dict[str, str]]:
    """(layout, {path in the submission: text}) of one sample student."""
    layout, exercises, extra, _ = spec
    files = {}
    for handed, work in exercises.items():
        ex, _, only = handed.partition("/")
        if work == "reference":
            texts = solution_files(ex)
        elif work == "stub":
            texts = stub_files(ex)
        else:
            texts = {name: fill_offsets(text)
                     for name, text in mutate_files(solution_files(ex), ex, list(work)).items()}
        for name, text in texts.items():
            if not only or name == only:
                files[f"exercises/{ex}/{name}" if layout != "flat" else name] = text
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
    elif layout.startswith(("zip-", "tar-")):
        broken_upload(folder, name, layout, files)
    else:
        # A fixed gzip time too, so that regenerating gives the same bytes.
        with gzip.GzipFile(os.path.join(folder, name + ".tar.gz"), "wb", mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w") as t:  # type: ignore[arg-type]
            for rel, text in sorted(files.items()):
                data = text.encode()
                info = tarfile.TarInfo(rel if rel.startswith(("/", "..")) else f"{name}/{rel}")
                info.size, info.mtime = len(data), 1704067200
                t.addfile(info, io.BytesIO(data))


def broken_upload(folder: str, name: str, layout: str, files: Dict[str, str]) -> None:
    """The uploads that break an unpacker: each must become its student's row, nothing more."""
    members = sorted((f"{name}-main/{rel}".encode(), text.encode()) for rel, text in files.items())
    if layout == "tar-huge":
        with open(os.path.join(folder, name + ".tar.gz"), "wb") as f:
            f.truncate(65 << 20)  # sparse: larger than the limit, costs no disk
        return
    if layout == "tar-raw-names":
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                          errors="surrogateescape") as t:
            extra = [(b"caf\xe9-latin1/notes.txt", b"not UTF-8\n"), (b"\xff\xfe.c", b"int x;\n")]
            for raw, data in members + extra:
                info = tarfile.TarInfo(raw.decode("utf-8", errors="surrogateescape"))
                info.size, info.mtime = len(data), 1704067200
                t.addfile(info, io.BytesIO(data))
        with gzip.GzipFile(os.path.join(folder, name + ".tar.gz"), "wb", mtime=0) as gz:
            gz.write(buf.getvalue())
        return
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if layout == "zip-corrupt" else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as z:
        if layout == "zip-many":
            for i in range(10001):
                z.writestr(zipfile.ZipInfo(f"{name}-main/empty/{i}", date_time=(2024, 1, 1, 0, 0, 0)), b"")
        for raw, data in members:
            entry = zipfile.ZipInfo(raw.decode().replace("mpsc.c", "mpsc.c" if layout != "zip-bad-name"
                                                         else "mpsc.c\u00e9"), date_time=(2024, 1, 1, 0, 0, 0))
            entry.compress_type = method
            z.writestr(entry, data)
    data = bytearray(buf.getvalue())
    if layout == "zip-encrypted":  # the "encrypted" flag bit, in the local header and the directory
        for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(sig)
            while at >= 0:
                data[at + flag_at] |= 1
                at = data.find(sig, at + 4)
    elif layout == "zip-bad-name":  # says UTF-8 (bit 11), holds a Latin-1 byte
        data = bytearray(bytes(data).replace("mpsc.c\u00e9".encode(), b"mpsc.c\xe9\xe9"[:len("mpsc.c\u00e9".encode())]))
        for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(sig)
            while at >= 0:
                data[at + flag_at + 1] |= 0x08
                at = data.find(sig, at + 4)
    elif layout == "zip-corrupt":  # the deflate stream of the first member overwritten
        at = data.find(b"PK\x03\x04")
        start = at + 30 + int.from_bytes(data[at + 26:at + 28], "little") + int.from_bytes(data[at + 28:at + 30], "little")
        data[start:start + 32] = b"\xff" * 32
    with open(os.path.join(folder, name + ".zip"), "wb") as f:
        f.write(bytes(data))


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
        json.dump(expected, f, indent=2, sort_keys=True, ensure_ascii=False)
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
