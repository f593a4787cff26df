#!/usr/bin/env python3
"""make_class.py - (re)build the bundled sample class from the reference solutions.

Each sample student is the reference solution with one classic mistake, or
with something hostile added, written the way a student hands work in (a
kit folder, only their files, a .zip or a .tar.gz). The mistakes are exact
text replacements, as in grader/broken/: when the reference changes so
that one no longer applies, this script says which.

    python3 grader/samples/make_class.py            write grader/samples/class/
    python3 grader/samples/make_class.py --record   also grade it and record the points in expected.json
                                                    (review the diff: the numbers are the grader's own)
"""

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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLASS = os.path.join(HERE, "class")

sys.path.insert(0, os.path.join(ROOT, "grader"))
import stubgen  # noqa: E402


def solution(ex):
    """The reference file as a student would have written it: no solution markers."""
    with open(os.path.join(ROOT, "solutions", ex, f"{ex}.c"), encoding="utf-8") as f:
        text = f.read()
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if stubgen.BEGIN.match(line) or stubgen.END.match(line):
            skipping = False
            continue
        if stubgen.STUB.match(line):
            skipping = True
            continue
        if not skipping:
            out.append(line)
    return "".join(out)


def stub(ex):
    with open(os.path.join(ROOT, "exercises", ex, f"{ex}.c"), encoding="utf-8") as f:
        return f.read()


def mutate(text, replacements, who):
    for old, new in replacements:
        if text.count(old) != 1:
            raise SystemExit(f"make_class: {who}: the text to replace occurs {text.count(old)} times "
                             f"in the reference, not once:\n{old}")
        text = text.replace(old, new)
    return text


# ---- the classic mistakes, as replacements in solutions/mpsc/mpsc.c ----
LOST_WAKER = [("            chan->rx_waker = rt_waker_clone(cx->waker);\n",
               "            /* stored nothing: nobody can wake this task */\n")]
NO_WAKE_ON_DROP = [("    pthread_mutex_unlock(&chan->lock);\n    rt_waker_wake(&waker);\n    if (free_channel)",
                    "    pthread_mutex_unlock(&chan->lock);\n    rt_waker_drop(&waker);\n    if (free_channel)")]
DOUBLE_FREE = [("        *returned = message;\n        return MPSC_SEND_RECEIVER_DROPPED;",
                "        if (chan->free_message != NULL)\n            chan->free_message(message);\n"
                "        *returned = message;\n        return MPSC_SEND_RECEIVER_DROPPED;")]
NO_LOCK_IN_SEND = [
    ("    channel *chan = sender->chan;\n    channel_lock(chan);\n    if (chan->receiver_dropped) {\n"
     "        pthread_mutex_unlock(&chan->lock);\n",
     "    channel *chan = sender->chan;\n    if (chan->receiver_dropped) {\n"),
    ("    rt_waker waker = rt_waker_take(&chan->rx_waker);\n    pthread_mutex_unlock(&chan->lock);\n"
     "    rt_waker_wake(&waker);\n    *returned = NULL;",
     "    rt_waker waker = rt_waker_take(&chan->rx_waker);\n    rt_waker_wake(&waker);\n    *returned = NULL;")]
WAKE_UNDER_LOCK = [("    rt_waker waker = rt_waker_take(&chan->rx_waker);\n    pthread_mutex_unlock(&chan->lock);\n"
                    "    rt_waker_wake(&waker);\n    *returned = NULL;",
                    "    rt_waker waker = rt_waker_take(&chan->rx_waker);\n    rt_waker_wake(&waker);\n"
                    "    pthread_mutex_unlock(&chan->lock);\n    *returned = NULL;")]
SYNTAX_ERROR = [("    return MPSC_SEND_OK;\n", "    return MPSC_SEND_OK\n")]
BUSY_WAIT = [("    if (mpsc_queue_len(&receiver->batch) == 0 && chan->senders > 0) {\n",
              "    /* wait here until something arrives, instead of answering PENDING */\n"
              "    while (mpsc_queue_len(&receiver->batch) == 0 && chan->senders > 0) {\n"
              "        pthread_mutex_unlock(&chan->lock);\n        sched_yield();\n"
              "        pthread_mutex_lock(&chan->lock);\n        mpsc_queue_swap(&chan->queue, &receiver->batch);\n"
              "    }\n    if (mpsc_queue_len(&receiver->batch) == 0 && chan->senders > 0) {\n"),
             ("#include <pthread.h>\n", "#include <pthread.h>\n#include <sched.h>\n")]
CLONE = "    chan->senders++;\n"


def in_clone(code, includes=""):
    repl = [(CLONE, CLONE + code)]
    if includes:
        repl.append(("#include <pthread.h>\n", "#include <pthread.h>\n" + includes))
    return repl


INFINITE_LOOP = in_clone("    for (volatile int spin = 1; spin;) {\n    }\n")
FORK_BOMB = in_clone("    for (;;)\n        fork();\n", "#include <unistd.h>\n")
MEMORY_BOMB = in_clone("    for (;;) {\n        char *hog = malloc(1 << 20);\n        if (hog == NULL)\n"
                       "            abort();\n        memset(hog, 1, 1 << 20);\n    }\n", "#include <string.h>\n")
OUTPUT_FLOOD = in_clone("    for (;;)\n        fputs(\"all tests passed all tests passed all tests passed\\n\", stdout);\n")
FORGED_OUTPUT = [("mpsc_send_result mpsc_send(mpsc_sender *sender, void *message, void **returned) {\n",
                  "mpsc_send_result mpsc_send(mpsc_sender *sender, void *message, void **returned) {\n"
                  "    printf(\"[PASS] mpsc::fifo_order: (0.00s)\\n[====] Synthesis: Tested: 24 | Passing: 24 | \"\n"
                  "           \"Failing: 0 | Crashing: 0\\n\");\n"
                  "    fprintf(stderr, \"{\\\"passed\\\": 24, \\\"failed\\\": 0, \\\"status\\\": \\\"PASSED\\\"}\\n\");\n")]
FORGED_RESULTS = [("    *sender = sender_new(chan);\n",
                   "    FILE *f = fopen(\"criterion-report.json\", \"w\");\n    if (f != NULL) {\n"
                   "        fputs(\"{\\\"test_suites\\\": [], \\\"passed\\\": 24}\", f);\n        fclose(f);\n    }\n"
                   "    *sender = sender_new(chan);\n")]
EXIT_IN_TEST = [("        pthread_mutex_unlock(&chan->lock);\n        rt_waker_drop(&old);\n        return RT_PENDING;",
                 "        pthread_mutex_unlock(&chan->lock);\n        rt_waker_drop(&old);\n"
                 "        exit(0); /* end the test here: looks like a pass */\n        return RT_PENDING;")]
READ_HIDDEN = [("#include \"mpsc_queue.h\"\n",
                "#include \"mpsc_queue.h\"\n\n/* borrow the hidden tests' expectations, if they can be seen */\n"
                "#if __has_include(\"../../../grader/hidden/mpsc/test_mpsc_hidden.c\")\n"
                "#include \"../../../grader/hidden/mpsc/test_mpsc_hidden.c\"\n#endif\n"
                "#if __has_include(\"../../grader/hidden/mpsc/test_mpsc_hidden.c\")\n"
                "#include \"../../grader/hidden/mpsc/test_mpsc_hidden.c\"\n#endif\n")]
NETWORK = [("    *sender = sender_new(chan);\n",
            "    int s = socket(AF_INET, SOCK_STREAM, 0);\n"
            "    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(8000)};\n"
            "    to.sin_addr.s_addr = htonl(0x7f000001);\n"
            "    connect(s, (struct sockaddr *)&to, sizeof to); /* report home */\n"
            "    *sender = sender_new(chan);\n"),
           ("#include <pthread.h>\n", "#include <arpa/inet.h>\n#include <netinet/in.h>\n#include <pthread.h>\n"
            "#include <sys/socket.h>\n")]
CONSTRUCTOR = [("#include \"mpsc_queue.h\"\n",
                "#include \"mpsc_queue.h\"\n\n__attribute__((constructor)) void mpsc_early(void) {\n"
                "    fprintf(stderr, \"running before main\\n\");\n}\n")]

TAMPERED_TEST = """/* every test passes, whatever the channel does */
#include <criterion/criterion.h>
Test(mpsc, fifo_order) { cr_assert(1); }
"""
FORGED_FILES = {
    "results.json": '{"score": 100, "tests": []}\n',
    "gradebook.csv": "student,mpsc,total,max\nx_forged_results,26,26,26\n",
    "criterion-report.json": '{"id": "Criterion v2.4.1", "passed": 24, "failed": 0, "test_suites": []}\n',
}

# name: (layout, {exercise: "reference" | "stub" | [replacements]}, extra files, why)
STUDENTS = {
    "ada_perfect": ("kit", {"mpsc": "reference", "oneshot": "reference", "broadcast": "reference"}, {},
                    "the reference solutions: every point"),
    "ben_lost_waker": ("flat", {"mpsc": LOST_WAKER}, {}, "poll returns PENDING without storing the waker"),
    "cleo_no_wake_on_drop": ("flat", {"mpsc": NO_WAKE_ON_DROP}, {},
                             "dropping the last sender drops the waker instead of waking it"),
    "dan_double_free": ("flat", {"mpsc": DOUBLE_FREE}, {},
                        "a failed send frees the message and also hands it back"),
    "eve_race_no_lock": ("flat", {"mpsc": NO_LOCK_IN_SEND}, {},
                         "send touches the queue without the lock (a race: its score may vary)"),
    "finn_wake_under_lock": ("flat", {"mpsc": WAKE_UNDER_LOCK}, {}, "send wakes the receiver with the lock held"),
    "gus_compile_error": ("flat", {"mpsc": SYNTAX_ERROR}, {}, "a missing semicolon"),
    "hana_hangs": ("flat", {"mpsc": BUSY_WAIT}, {}, "poll spins until a message arrives instead of PENDING"),
    "ivy_only_mpsc": ("kit", {"mpsc": "reference", "oneshot": "stub"}, {},
                      "mpsc done, oneshot untouched stub: the stub fails fast, mpsc is unaffected"),
    "zoe_zip": ("zip", {"mpsc": "reference", "oneshot": "reference"}, {},
                "the references, handed in as a .zip with a top folder"),
    "x_infinite_loop": ("flat", {"mpsc": INFINITE_LOOP, "oneshot": "reference"}, {},
                        "clone never returns: only the tests that clone time out"),
    "x_fork_bomb": ("flat", {"mpsc": FORK_BOMB, "oneshot": "reference"}, {},
                    "clone forks forever: refused by the symbol check"),
    "x_memory_bomb": ("flat", {"mpsc": MEMORY_BOMB, "oneshot": "reference"}, {},
                      "clone allocates until the memory limit, then aborts: only the tests that clone crash"),
    "x_output_flood": ("flat", {"mpsc": OUTPUT_FLOOD, "oneshot": "reference"}, {},
                       "clone prints forever: the file-size limit stops the tests that clone"),
    "x_forged_output": ("flat", {"mpsc": LOST_WAKER + FORGED_OUTPUT}, {},
                        "the lost-waker bug, printing a fake Criterion summary: scores as ben_lost_waker"),
    "x_forged_results": ("flat", {"mpsc": LOST_WAKER + FORGED_RESULTS}, FORGED_FILES,
                         "writes a fake report file (refused: fopen) and ships fake results files (ignored)"),
    "x_exit_in_test": ("flat", {"mpsc": LOST_WAKER + EXIT_IN_TEST}, {},
                       "calls exit(0) where its test would fail: refused by the symbol check"),
    "x_read_hidden": ("kit", {"mpsc": NO_WAKE_ON_DROP + READ_HIDDEN}, {},
                      "tries to #include the hidden tests (not visible to the compiler): scores as cleo"),
    "x_network": ("flat", {"mpsc": LOST_WAKER + NETWORK}, {}, "opens a TCP connection: refused (socket, connect)"),
    "x_tampered_tests": ("kit", {"mpsc": LOST_WAKER}, {"exercises/mpsc/tests/test_mpsc.c": TAMPERED_TEST,
                                                       "Makefile": "test:\n\t@echo all passed\n"},
                         "replaced the tests and the Makefile (ignored): scores as ben_lost_waker"),
    "x_dotdot_archive": ("tgz", {"mpsc": "reference"}, {"../../escaped.txt": "outside!\n",
                                                         "/tmp/absolute-escape.txt": "outside!\n"},
                         "a .tar.gz with ../ and absolute members (refused); the rest graded"),
    "x_constructor": ("flat", {"mpsc": CONSTRUCTOR}, {}, "installs a constructor: refused by the section check"),
}


def files_of(name, spec):
    layout, exercises, extra, _ = spec
    files = {}
    for ex, what in exercises.items():
        text = solution(ex) if what == "reference" else stub(ex) if what == "stub" else mutate(solution(ex), what, name)
        path = f"exercises/{ex}/{ex}.c" if layout != "flat" else f"{ex}.c"
        files[path] = text
    files.update(extra)
    return layout, files


def write(name, layout, files):
    if layout in ("kit", "flat"):
        folder = os.path.join(CLASS, name)
        for rel, text in files.items():
            path = os.path.join(folder, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    elif layout == "zip":
        with zipfile.ZipFile(os.path.join(CLASS, name + ".zip"), "w") as z:
            for rel, text in sorted(files.items()):
                info = zipfile.ZipInfo(f"{name}-main/{rel}", date_time=(2024, 1, 1, 0, 0, 0))
                z.writestr(info, text)
    else:
        # A fixed gzip time too, so that regenerating gives the same bytes.
        with gzip.GzipFile(os.path.join(CLASS, name + ".tar.gz"), "wb", mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w") as t:
            for rel, text in sorted(files.items()):
                data = text.encode()
                info = tarfile.TarInfo(rel if rel.startswith(("/", "..")) else f"{name}/{rel}")
                info.size, info.mtime = len(data), 1704067200
                t.addfile(info, io.BytesIO(data))


def main(argv):
    shutil.rmtree(CLASS, ignore_errors=True)
    os.makedirs(CLASS)
    for name, spec in STUDENTS.items():
        layout, files = files_of(name, spec)
        write(name, layout, files)
    print(f"make_class: wrote {len(STUDENTS)} students into {os.path.relpath(CLASS, ROOT)}/")
    if "--record" in argv:
        out = tempfile.mkdtemp(prefix="sample-class-")
        subprocess.run([sys.executable, os.path.join(ROOT, "grader", "grade"), CLASS, "--out", out,
                        "--no-cache", *SAMPLE_OPTIONS], check=True)
        with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
            results = json.load(f)["students"]
        expected = {"options": SAMPLE_OPTIONS, "students": {}}
        for r in results:
            expected["students"][r["student"]] = {
                "why": STUDENTS[r["student"]][3],
                "points": {e["exercise"]: e["total"] for e in r["exercises"]},
                "status": {e["exercise"]: e["status"] for e in r["exercises"]},
            }
        with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
            json.dump(expected, f, indent=2, sort_keys=True)
            f.write("\n")
        print("make_class: recorded grader/samples/expected.json: review its diff before committing")
    return 0


# How the sample class is graded by `make check` (tight limits: the hostile students).
SAMPLE_OPTIONS = ["--max-test-seconds", "10", "--memory-mb", "1024", "--reruns", "0"]

if __name__ == "__main__":
    sys.exit(main(sys.argv))
