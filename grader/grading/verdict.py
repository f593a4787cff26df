"""verdict.py - a test's verdict from Criterion's report file and the exit status.

The report is written by Criterion's runner process, after the test's own
process ended, to a path in the scratch folder that student code cannot
open (it may call no file functions). stdout and stderr are never parsed
for a verdict: they are only shown, trimmed, as feedback.
"""

import json
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from .status import CRASH, FAIL, FLAKY, NOT_RUN, PASS, TIMEOUT

__all__ = ["PASS", "FAIL", "CRASH", "TIMEOUT", "FLAKY", "NOT_RUN", "Verdict", "parse_report",
           "from_batch", "from_report"]

# What a Criterion report says of each test that ran: {test id: (Criterion's status, messages)}.
Ran = Dict[str, Tuple[Optional[str], str]]


@dataclass
class Verdict:
    status: str
    message: str = ""


def parse_report(report_text: str) -> Ran:
    """{test id: (status, message)} of every test a Criterion JSON report says ran."""
    report = json.loads(report_text)
    ran: Ran = {}
    for s in report["test_suites"]:
        for t in s["tests"]:
            if t.get("status") != "SKIPPED":
                messages = [m for m in t.get("messages", []) if isinstance(m, str)]
                ran[s["name"] + "/" + t["name"]] = (t.get("status"), "\n".join(messages))
    return ran


def from_batch(ran: Ran, test_id: str) -> Optional[Verdict]:
    """A test's verdict from a whole-suite run, or None when it must be run alone.

    Only a pass is taken from the batch; anything else is decided by running
    the test alone, where its process, limits and clock are its own.
    """
    status, _ = ran.get(test_id, (None, ""))
    return Verdict(PASS) if status == "PASSED" else None


def from_report(report_text: Optional[str], test_id: str, returncode: Optional[int],
                timed_out: bool) -> Verdict:
    """Verdict of one test run alone with --filter=<test_id> and --json."""
    if timed_out:
        return Verdict(TIMEOUT, "the test did not finish within the wall-clock limit")
    if report_text is None:
        return Verdict(CRASH, _status_text(returncode) + "; the test runner wrote no report")
    try:
        report = json.loads(report_text)
        ran = [(s["name"] + "/" + t["name"], t) for s in report["test_suites"] for t in s["tests"]
               if t.get("status") != "SKIPPED"]
    except (ValueError, KeyError, TypeError):
        return Verdict(CRASH, _status_text(returncode) + "; the runner's report is unreadable")
    if len(ran) != 1 or ran[0][0] != test_id:
        return Verdict(CRASH, f"expected a report on {test_id} alone, got {[r[0] for r in ran]}")
    test = ran[0][1]
    messages = [m for m in test.get("messages", []) if isinstance(m, str)]
    text = "\n".join(messages)
    status = test.get("status")
    if status == "PASSED":
        if returncode != 0:
            return Verdict(CRASH, _status_text(returncode) + " after a passing report")
        return Verdict(PASS)
    if status == "FAILED":
        return Verdict(FAIL, text)
    if "timed out" in text.lower():
        return Verdict(TIMEOUT, text)
    return Verdict(CRASH, text or _status_text(returncode))


def _status_text(returncode: Optional[int]) -> str:
    if returncode is None:
        return "the runner did not end"
    if returncode < 0:
        return f"the runner was killed by signal {-returncode}"
    return f"the runner exited with status {returncode}"
