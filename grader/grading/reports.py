"""reports.py - write every output of a grading run into the output folder."""

import json
import os
import re
from typing import Any, Dict, List

from . import classreport, feedback, gradebook, gradescope, junit
from .status import StudentResult


def safe_name(name: str) -> str:
    """A student's name as a single, harmless path component."""
    name = re.sub(r"[^A-Za-z0-9._@+-]", "_", name).lstrip(".")
    return name or "_"


def write_file(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def write_all(out: str, results: List[StudentResult], meta: Dict[str, Any]) -> None:
    results = sorted(results, key=lambda r: str(r["student"]))
    write_file(os.path.join(out, "gradebook.csv"), gradebook.render(results, meta))
    for r in results:
        folder = os.path.join(out, "students", safe_name(r["student"]))
        write_file(os.path.join(folder, "feedback.md"), feedback.markdown(r, meta))
        write_file(os.path.join(folder, "feedback.html"), feedback.html_page(r, meta))
        write_file(os.path.join(folder, "results.json"),
                   json.dumps(gradescope.results(r), indent=2, sort_keys=True) + "\n")
    write_file(os.path.join(out, "report.html"), classreport.render(results, meta))
    write_file(os.path.join(out, "junit.xml"), junit.render(results))
    write_file(os.path.join(out, "results.json"),
               json.dumps({"sandbox": meta["sandbox"], "students": results}, indent=1, sort_keys=True))
