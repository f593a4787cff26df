"""gradescope.py - Gradescope's results.json, and the autograder bundle that makes it.

Gradescope unpacks the bundle into /autograder/source. The bundle is the kit itself (what the grader needs: Makefile, runtime,
exercises, solutions, grader) plus `setup.sh` and `run_autograder`, which
run this same grader on the one submission Gradescope hands over.
"""

import os
import stat
import zipfile
from typing import Any, Dict, List

from runtime.tools import kit_info

from .status import GRADED, NOT_RUN, PASS, StudentResult

# Gradescope's visibilities of a test; hidden tests show `after_published` unless the instructor says otherwise.
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
HIDDEN_DEFAULT = "after_published"


def results(r: StudentResult, hidden: str = HIDDEN_DEFAULT) -> Dict[str, Any]:
    """Gradescope's results.json shape for one student; `hidden` is the visibility of hidden tests."""
    tests = []
    for e in r["exercises"]:
        if e["status"] != GRADED:
            tests.append({"name": f"{e['exercise']}: {e['status']}", "score": 0, "max_score": 0,
                          "status": "failed", "output": "\n".join(e["messages"])[:8000],
                          "visibility": "visible"})
        for t in e["tests"]:
            out = t["description"] or ""
            if t["status"] not in (PASS, NOT_RUN):
                out += f"\n{t['status']}: {t['message']}\n{t.get('diagnosis', '')}".rstrip()
            tests.append({"name": t["id"] + (" (bonus)" if t.get("bonus") else ""),
                          "score": t.get("points", 0),
                          "max_score": 0 if t.get("bonus") else t.get("points_possible", 0),
                          "status": "passed" if t["status"] == PASS else "failed",
                          "visibility": hidden if t.get("hidden") else "visible",
                          "output": out.strip()[:8000]})
    return {"score": r["total"], "tests": tests, "output": "\n".join(r["notes"]),
            "visibility": "visible", "stdout_visibility": "hidden"}


def write_results(path: str, r: StudentResult, hidden: str = HIDDEN_DEFAULT) -> None:
    import json
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results(r, hidden), f, indent=2, sort_keys=True)


SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -eu
# GRADER_SKIP_INSTALL=1: the tools are already there (a prepared image, the kit's own test of this bundle).
if [ -n "${GRADER_SKIP_INSTALL:-}" ]; then echo "setup.sh: GRADER_SKIP_INSTALL is set: installing nothing"; exit 0; fi
apt-get update -qq
apt-get install -y -qq gcc make pkg-config libcriterion-dev libnanopb-dev python3 bubblewrap binutils libseccomp-dev
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this per submission: the submission is in /autograder/submission.
# AUTOGRADER_ROOT puts Gradescope's folders under another root (the kit's own test
# of this bundle); GRADER_SANDBOX chooses the sandbox (default: the strongest that works:
# Gradescope's containers may lack namespaces, and then the fallback is used).
set -u
root=${AUTOGRADER_ROOT:-}
kit=$root/autograder/source
results=$root/autograder/results/results.json
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/class"
cp -r "$root/autograder/submission" "$work/class/student"
mkdir -p "$root/autograder/results"
rm -f "$results"
"$kit/grader/grade" "$work/class" --out "$work/out" --no-cache --quiet --sandbox "${GRADER_SANDBOX:-auto}" \\
    --gradescope-results "$results" --gradescope-hidden @HIDDEN@
status=$?
if [ ! -s "$results" ]; then  # the grader itself failed: say so to the student, score nothing
    printf '{"score": 0, "output": "The autograder failed (exit status %s); tell your instructor.", "tests": []}\\n' \\
        "$status" >"$results"
fi
"""


def kit_files(root: str) -> List[str]:
    """The files of the kit the bundle carries: the kit's files (runtime/tools/kit_info.py says
    which, with or without git) that the grader needs to build and grade, not the sample class."""
    keep = ("Makefile", "runtime/", "exercises/", "solutions/", "grader/")
    return [p for p in kit_info.kit_files(root)
            if p.startswith(keep) and not p.startswith(("grader/out/", "grader/samples/"))]


def bundle(root: str, dest: str, hidden: str = HIDDEN_DEFAULT) -> str:
    """Writes the autograder zip; `hidden` is the visibility the hidden tests get in results.json."""
    if hidden not in VISIBILITIES:
        raise ValueError(f"visibility {hidden!r} is not one of {', '.join(VISIBILITIES)}")
    dest = os.path.join(root, dest) if not os.path.isabs(dest) else dest
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN.replace("@HIDDEN@", hidden))):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            z.writestr(info, text)
        for rel in kit_files(root):
            z.write(os.path.join(root, rel), rel)
    return dest
