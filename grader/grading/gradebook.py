"""gradebook.py - gradebook.csv: one row per student, points per exercise (or part), total.

Plain RFC 4180 CSV with a header row, which spreadsheets and LMS grade
imports (Canvas, Moodle) take as it is. The last row names the maximum.
"""

import csv
import io
from typing import Any, Dict, List

from .status import StudentResult
from .text import csv_cell


def fmt(x: float) -> str:
    return f"{x:g}"


def render(results: List[StudentResult], meta: Dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    exercises = meta["exercises"]
    w.writerow(["student"] + exercises + ["total", "max"])
    for r in results:
        by = {e["exercise"]: e for e in r["exercises"]}
        w.writerow([csv_cell(r["student"])] + [fmt(by[e]["total"]) for e in exercises]
                   + [fmt(r["total"]), fmt(r["max"])])
    return buf.getvalue()
