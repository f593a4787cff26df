"""reports.py - write every output of a grading run into the output folder."""

import json
import os
from typing import Any, Dict, List

from . import classreport, feedback, gradebook, gradescope, junit, text
from .status import StudentResult


class DuplicateNames(Exception):
    """Two students whose feedback would share a folder: nothing is written."""


def safe_name(name: str) -> str:
    """A student's name as a single, harmless path component, different for different names."""
    return text.folder_name(name)


def write_file(path: str, content: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    # errors="replace": a name's undecodable bytes must never stop the class's reports.
    with open(tmp, "w", encoding="utf-8", errors="replace", newline="") as f:
        f.write(content)
    os.replace(tmp, path)


def write_all(out: str, results: List[StudentResult], meta: Dict[str, Any]) -> None:
    results = sorted(results, key=lambda r: str(r["student"]))
    folders: Dict[str, str] = {}
    for r in results:
        other = folders.setdefault(safe_name(r["student"]), r["student"])
        if other != r["student"]:
            raise DuplicateNames(f"students {text.display(other)!r} and {text.display(r['student'])!r} "
                                 "would share a feedback folder")
    write_file(os.path.join(out, "gradebook.csv"), gradebook.render(results, meta))
    failed = []
    for r in results:
        folder = os.path.join(out, "students", safe_name(r["student"]))
        try:
            write_file(os.path.join(folder, "feedback.md"), feedback.markdown(r, meta))
            write_file(os.path.join(folder, "feedback.html"), feedback.html_page(r, meta))
            write_file(os.path.join(folder, "results.json"),
                       json.dumps(gradescope.results(r), indent=2, sort_keys=True) + "\n")
        except Exception as e:  # one student's feedback never stops the others' reports
            failed.append(f"{text.display(r['student'])}: {type(e).__name__}: {e}")
    write_file(os.path.join(out, "report.html"), classreport.render(results, meta))
    write_file(os.path.join(out, "junit.xml"), junit.render(results))
    write_file(os.path.join(out, "results.json"),
               json.dumps({"sandbox": meta["sandbox"], "students": results}, indent=1, sort_keys=True))
    if failed:
        raise ReportError("the feedback of some students could not be written (every other report "
                          "was):\n  " + "\n  ".join(failed))


class ReportError(Exception):
    """Some per-student outputs failed; everything else was written."""
