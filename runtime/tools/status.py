#!/usr/bin/env python3
"""status.py - `make status`: every exercise, its stars, its tests passing, and what to do next.

    status.py -- <make command>

Runs each exercise's visible tests (`make test EX=<ex>`, quietly) and
prints one table; the next step is the description of the first failing
test, in the course's order (the test `make test` says to start with).
"""

import json
import os
import subprocess
import sys
import tempfile
from typing import List

import kit_info


def stars(text: str) -> str:
    return "\u2605" * int(text) if text.isdigit() else "?"


def main(argv: List[str]) -> int:
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    make = argv[argv.index("--") + 1:]
    rows = [("exercise", "stars", "tests", "next step")]
    for ex in kit_info.course_order():
        decl = kit_info.read_declaration(ex)
        with tempfile.TemporaryDirectory(prefix="status-") as tmp:
            summary = os.path.join(tmp, "summary.json")
            # close_fds=False: the child make shares the calling make's job slots.
            proc = subprocess.run(make + ["-s", "test", f"EX={ex}", f"SUMMARY={summary}"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  errors="replace", close_fds=False)
            try:
                with open(summary, encoding="utf-8") as f:
                    result = json.load(f)
            except (OSError, ValueError):
                result = None
        if result is None:
            error = next((l for l in proc.stdout.splitlines() if "error" in l), "see make test")
            rows.append((ex, stars(decl.get("EX_STARS", "")), "-",
                         f"does not build: {error.strip()} (make test EX={ex})"))
            continue
        tests = f"{result['passed']}/{result['total']}"
        if result["next"]:
            test_id, description = result["next"]
            step = f"{test_id.split('/', 1)[1]}: {description}"
        else:
            step = f"done: every visible test passes (make bench EX={ex}, make submit)"
        rows.append((ex, stars(decl.get("EX_STARS", "")), tests, step))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
