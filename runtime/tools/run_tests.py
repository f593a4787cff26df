#!/usr/bin/env python3
"""run_tests.py - `make test EX=...`: run an exercise's tests, print each outcome as one block.

    run_tests.py --bin TEST_BINARY [--filter PATTERN] [--timeouts FILE] [--summary FILE]
                 [--title TEXT] [--work DIR] SOURCE.c... [-- CRITERION_ARGS...]

(--work: the folder for the test processes' files, emptied first; default a
temporary one)

Tests run in parallel, so what they print would interleave. Each test
process writes its output to a file of its own instead (runtime/testing/
kt_loop.h), and this script prints, once the run is over:

  - each failing test as one block: its name and one-line description, then
    what it said, the runtime's diagnosis first;
  - the blocks in the course's order (the order of the tests in their
    source files, which is the order the stub recommends), except that a
    lost-waker diagnosis, which names the cause itself, comes first, and a
    plain timeout (which says what waits, not why) last;
  - a closing summary: how many pass, which test to start with and why,
    which tests were not run because an earlier one hung, and Criterion's
    "Synthesis" line (which scripts read).

With --timeouts (the student loop) each test is stopped at its fitted
timeout (exercises/<ex>/tests/timeouts) instead of its Criterion .timeout,
and once a threaded test hung the threaded tests that have not started yet
are skipped: the same cause would cost a timeout again. A --filter that
matches no test is an error that lists the test names.
"""

import fnmatch
import json
import os
import re
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

import kit_info  # the shared reader of test sources and timeouts files (beside this script)

# Lines of a test's output that name a cause, most telling first.
CAUSES = [
    (0, re.compile(r"^lost waker:")),
    (1, re.compile(r"^not implemented:")),
    (1, re.compile(r"^\[kit\] (?!explorer)")),
    (1, re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:")),
    # The C library's own word when it finds its heap damaged (then it aborts).
    (1, re.compile(r"^(?:free|malloc|realloc|calloc|munmap_chunk|double free)\b.*"
                   r"(?:invalid|corrupt|double free|unaligned)")),
    (1, re.compile(r"^timeout: .* stopped early:")),
    (2, re.compile(r"^timeout:")),
]
HANG = 2  # a plain timeout: what waits, not why; a test that says why goes first
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:")


class Outcome:
    def __init__(self, test: kit_info.Test, status: str = "NOT RUN",
                 messages: Optional[List[str]] = None) -> None:
        self.test = test
        self.status = status  # PASSED, FAILED, ERRORED, SKIPPED, NOT RUN
        self.messages = messages or []
        self.log: List[str] = []

    @property
    def failed(self) -> bool:
        return self.status in ("FAILED", "ERRORED") or (
            self.status == "PASSED" and any(SANITIZER.search(l) for l in self.log))

    @property
    def stopped(self) -> Optional[str]:
        """The test that hung before this one was skipped, or None."""
        for line in self.messages + self.log:
            match = re.search(r"stopped: (\S+) hung before it started", line)
            if match:
                return match.group(1)
        return None

    def cause(self) -> Tuple[int, str]:
        """(rank, line): the line that says best what went wrong; rank 0 names the cause itself."""
        for rank, pattern in CAUSES:
            for i, line in enumerate(self.log):
                if pattern.search(line):
                    if rank == HANG:  # "timeout: ... Still waiting:" then what waits, and how
                        waits = [l.strip() for l in self.log[i + 1:i + 3] if l.strip()]
                        return rank, " ".join([line.strip().rstrip(":") + ":"] + waits[:1])
                    return rank, line.strip()
        said = [m for m in self.messages if m and "The test crashed" not in m]
        if said:
            # The first assertion's message, with its continuation lines (those that do not
            # start with another file:line:), on one line.
            first = [said[0].strip()]
            for more in said[1:]:
                if re.match(r"^[\w.-]+\.c:\d+:", more.strip()):
                    break
                first.append(more.strip())
            return 3, " ".join(first)
        if self.status == "ERRORED":
            return 3, "the test crashed (run it under gdb, or with SAN=address, to see where)"
        return 3, "failed"


ASSERTION = re.compile(r"^(?:[\w.-]+/)*([\w.-]+\.c:\d+): Assertion Failed$")


def clean_log(text: str) -> Tuple[List[str], List[str]]:
    """A test's own output without empty lines, and the assertion messages in it (the stand-in
    runner of SAN=thread prints them there as "file:line: Assertion Failed", the expression,
    then the message; they become "file:line: message")."""
    lines: List[str] = []
    said: List[str] = []
    raw = [re.sub(r"^\[----\]\s?", "", line).rstrip() for line in text.splitlines()]
    i = 0
    while i < len(raw):
        match = ASSERTION.match(raw[i].strip())
        if match:
            expression = raw[i + 1].strip() if i + 1 < len(raw) else ""
            message = raw[i + 2].strip() if i + 2 < len(raw) and not ASSERTION.match(
                raw[i + 2].strip()) else ""
            said.append(f"{match.group(1)}: {message or expression + ' is false'}")
            i += 3 if message else 2
            continue
        if raw[i].strip():
            lines.append(raw[i])
        i += 1
    return lines, said


def short(message: str) -> str:
    return re.sub(r"^(?:[\w.-]+/)+([\w.-]+\.c:\d+:)", r"\1", message)


def repair_report(text: str) -> str:
    """Criterion 2.4 writes each line of a message as a JSON string without escaping it (a
    message that quotes JSON breaks the file): escape the lines of every "messages" list."""
    out, inside = [], False
    for line in text.splitlines():
        if inside and re.match(r"^\s*\]", line):
            inside = False
        elif inside:
            match = re.match(r'^(\s*)"(.*)"(,?)\s*$', line)
            if match:
                line = match.group(1) + json.dumps(match.group(2)) + match.group(3)
        elif re.search(r'"messages":\s*\[\s*$', line):
            inside = True
        out.append(line)
    return "\n".join(out)


def read_report(path: str) -> Dict[str, Tuple[str, List[str]]]:
    """{suite/name: (status, messages)} from a Criterion (or stand-in) JSON report."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = json.loads(repair_report(text))
        except ValueError:
            return {}
    found = {}
    for suite in data.get("test_suites", []):
        for test in suite.get("tests", []):
            messages = [short(m) for m in test.get("messages", []) if m.strip()]
            found[f"{suite['name']}/{test['name']}"] = (test.get("status", "ERRORED"), messages)
    return found


def same_cause(out: Outcome) -> str:
    """The cause without where it was seen: tests failing the same way print one block."""
    text = re.sub(r"^(?:[\w.-]+\.c:\d+: |\[kit\] [\w/]+: )", "", out.cause()[1])
    return re.sub(r"\b0x[0-9a-f]+\b|\+0x[0-9a-f]+", "", text)


def print_block(out: Outcome, same: Optional[List[Outcome]] = None) -> None:
    label = "FAIL" if out.status != "PASSED" else "FAIL (after it passed)"
    print(f"{label}  {out.test.name}: {out.test.description}")
    rank, first = out.cause()
    shown = [first]
    messages = [m for m in out.messages if not (out.log and "The test crashed" in m)]
    for line in out.log + messages:
        if line.strip() != first and line.strip() not in (s.strip() for s in shown):
            shown.append(line)
    for line in shown:
        print(f"      {line}")
    if same:
        print(f"      The same failure in {len(same)} more: "
              + ", ".join(o.test.name for o in same))
    print()


class Args:
    def __init__(self, opts: Dict[str, str], sources: List[str]) -> None:
        self.bin, self.filter, self.timeouts = opts["--bin"], opts["--filter"], opts["--timeouts"]
        self.summary, self.title, self.work = opts["--summary"], opts["--title"], opts["--work"]
        self.sources = sources


def fresh_folder(work: str) -> str:
    """An empty folder for the test processes' files: `work` emptied, or a new one."""
    if not work:
        import tempfile

        return tempfile.mkdtemp(prefix="kt-loop-")
    work = os.path.abspath(work)  # the test processes may change their folder
    os.makedirs(work, exist_ok=True)
    for name in os.listdir(work):
        os.unlink(os.path.join(work, name))
    return work


def main(argv: List[str]) -> int:
    extra: List[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, extra = argv[:split], argv[split + 1:]
    # By hand, not argparse: this runs on every `make test`, and argparse costs more to import
    # than the rest of this script takes to run.
    opts = {"--bin": "", "--filter": "", "--timeouts": "", "--summary": "", "--title": "",
            "--work": ""}
    sources: List[str] = []
    rest = argv[1:]
    while rest:
        word = rest.pop(0)
        if word in opts and rest:
            opts[word] = rest.pop(0)
        elif word.startswith("--"):
            print(f"run_tests.py: unknown option {word}\n{__doc__}", file=sys.stderr)
            return 2
        else:
            sources.append(word)
    if not opts["--bin"]:
        print(__doc__, file=sys.stderr)
        return 2
    args = Args(opts, sources)

    tests = kit_info.read_tests(args.sources)
    chosen = tests
    if args.filter:
        pattern = f"*/*{args.filter}*"
        chosen = [t for t in tests if fnmatch.fnmatchcase(t.id, pattern)]
        if not chosen:
            print(f"make test: no test matches T={args.filter}. The tests are:", file=sys.stderr)
            for t in tests:
                print(f"  {t.name:<44} {t.description}", file=sys.stderr)
            return 2
    if args.title:
        print(f"== {args.title}", flush=True)

    env = dict(os.environ)
    tmp = fresh_folder(args.work)
    try:
        env["KT_LOOP_DIR"] = tmp
        if args.timeouts and os.path.exists(args.timeouts):
            fitted = kit_info.read_timeouts(args.timeouts)
            env["KT_LOOP_TIMEOUTS"] = " ".join(
                f"{tid}={secs:g}{':threaded' if threaded else ''}"
                for tid, (secs, threaded) in fitted.items())
        report = os.path.join(tmp, "report.json")
        cmd = [args.bin, "--short-filename", f"--json={report}"] + extra
        if args.filter:
            cmd.append(f"--filter=*/*{args.filter}*")
        try:
            proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, errors="replace")
        except OSError as e:
            print(f"make test: cannot run {args.bin}: {e}", file=sys.stderr)
            return 2
        results = read_report(report)
        hung = ["", "", ""]  # the first test that hung, how ("hang" or "stuck-poll"), its report
        try:
            with open(os.path.join(tmp, "hung"), encoding="utf-8", errors="replace") as f:
                hung = (f.read().splitlines() + ["", "", ""])[:3]
        except OSError:
            pass
        outcomes = []
        def with_log(out: Outcome) -> Outcome:
            log = os.path.join(tmp, f"{out.test.suite}.{out.test.name}.log")
            if os.path.exists(log):
                with open(log, encoding="utf-8", errors="replace") as f:
                    out.log, said = clean_log(f.read())
                out.messages = out.messages or said
            return out

        for t in chosen:
            out = Outcome(t)
            if t.id in results:
                out.status, out.messages = results[t.id]
            outcomes.append(with_log(out))
        # Tests the sources do not show (declared another way): as the report has them.
        known = {t.id for t in chosen}
        for tid, (status, messages) in results.items():
            if tid not in known:
                suite, name = tid.split("/", 1)
                outcomes.append(with_log(Outcome(kit_info.Test(suite, name, ""), status, messages)))
    finally:
        if not args.work:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)

    if not results:
        # No report at all: the binary itself failed (a crash before any test, a bad option).
        sys.stdout.write(proc.stdout)
        print(f"make test: the test program ended without a report (exit {proc.returncode})")
        return 1

    failing = [o for o in outcomes if o.failed]
    stopped = [o for o in outcomes if o.status == "SKIPPED" and o.stopped]
    # A lost-waker diagnosis names the cause itself: it goes first; then the course's order,
    # with plain timeouts last (they say what waits; another test may say why).
    order = {id(o): i for i, o in enumerate(outcomes)}

    def rank(o: Outcome) -> Tuple[int, int]:
        cause = o.cause()[0]
        return (0 if cause == 0 else 2 if cause == HANG else 1, order[id(o)])

    groups: Dict[str, List[Outcome]] = {}
    for out in sorted(failing, key=rank):
        groups.setdefault(same_cause(out), []).append(out)
    for first, *same in groups.values():
        print_block(first, same)

    passed = [o for o in outcomes if o.status == "PASSED" and not o.failed]
    ran = [o for o in outcomes if o.status != "NOT RUN" and not (o.status == "SKIPPED")]
    if passed and failing:
        print("pass: " + ", ".join(o.test.name for o in passed))
    name = os.path.basename(args.bin)
    print(f"{len(passed)} of {len(ran)} tests pass" + (f" ({name})" if not args.title else "")
          + (f"; {len(stopped)} not run" if stopped else "") + ".")
    if stopped:
        who = (stopped[0].stopped or hung[0]).split("/")[-1]
        how = ("a poll that never returns: every later test would call it again"
               if hung[1] == "stuck-poll" else
               "the threaded tests after it would most likely hang the same way")
        print(f"Stopped after {who} hung ({how}). Not run: "
              f"{', '.join(o.test.name for o in stopped)}. Fix that hang, then run again.")
    skipped = [o for o in outcomes if o.status == "SKIPPED" and not o.stopped]
    for o in skipped:
        print(f"skipped: {o.test.name}: {' '.join(o.messages) or 'skipped by the test'}")
    if failing:
        first = sorted(failing, key=rank)[0]
        print(f"Start with {first.test.name}: {first.cause()[1]}")
    crashing = sum(1 for o in failing if o.status == "ERRORED")
    print(f"[====] Synthesis: Tested: {len(ran)} | Passing: {len(passed)} | "
          f"Failing: {len(failing)} | Crashing: {crashing} ")
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as f:
            json.dump({"passed": len(passed), "total": len(ran) + len(stopped),
                       "next": (first.test.id, first.test.description) if failing else None}, f)
    return 1 if failing or (not passed and not stopped) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
