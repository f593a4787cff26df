"""classroom.py - the handout's GitHub Classroom workflow: visible-test points on every push.

`make dist` writes .github/workflows/classroom.yml into the handout, so the
handout can be a GitHub Classroom template as it is. The workflow has
GitHub Classroom's usual shape: one step per exercise with
`classroom-resources/autograding-command-grader@v1`, worth the points of
the exercise's visible tests (the bonus ones, where an exercise has
visible bonus tests, in a step of their own), then
`classroom-resources/autograding-grading-reporter@v1` with every step's
result. A step's command is the student's own `make test EX=<exercise>`:
all its tests pass, or the step scores nothing.

These points are feedback. The grade is the instructor's: `make grade`
over the cloned repositories runs the hidden tests too (grader/README.md).

    python3 -m grader.release.classroom      print the workflow
"""

import fnmatch
import glob
import json
import os
import sys
from dataclasses import dataclass
from typing import List

from grader import kit
from grader.grading import testlist

PATH = os.path.join(".github", "workflows", "classroom.yml")
GRADER_ACTION = "classroom-resources/autograding-command-grader@v1"
REPORTER_ACTION = "classroom-resources/autograding-grading-reporter@v1"
SETUP = "sudo make deps"  # the kit's own installer (apt-get), as a student runs it
TIMEOUT_MINUTES = 10


@dataclass
class Step:
    """One autograding step: a command that passes or fails, worth `points`."""

    id: str  # the step's id, also the reporter's runner name
    name: str
    command: str
    points: float


def _visible_tests(root: str, ex: kit.Exercise) -> List[testlist.TestInfo]:
    tests: List[testlist.TestInfo] = []
    for path in sorted(glob.glob(os.path.join(root, "exercises", ex.name, "tests", "*.c"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            tests += testlist.parse_declarations(f.read(), False)
    return tests


def _filter(patterns: List[str], keep: bool) -> str:
    # Criterion's --filter takes extended globs over suite/name: @(a|b) keeps, !(a|b) leaves out.
    return f"{'@' if keep else '!'}({'|'.join(patterns)})"


def steps(root: str = kit.ROOT) -> List[Step]:
    """The workflow's grading steps, in the kit's exercise order."""
    out = []
    for name in kit.exercise_names(root):
        ex = kit.load_exercise(name, root)
        tests = _visible_tests(root, ex)
        bonus = [t for t in tests if ex.is_bonus(t.id)]
        required = sum(ex.test_points(t.id) for t in tests if not ex.is_bonus(t.id))
        command = f"make test EX={name}"
        if not bonus:
            out.append(Step(name, f"{name}: {ex.title}", command, required))
            continue
        # Only the bonus patterns that name visible tests (hidden ones are not in the handout).
        patterns = [p for p in ex.bonus if any(fnmatch.fnmatchcase(t.id, p) for t in bonus)]
        out.append(Step(name, f"{name}: {ex.title}",
                        f"{command} \"CRITERION_FLAGS=--filter='{_filter(patterns, False)}'\"", required))
        out.append(Step(f"{name}-bonus", f"{name}: bonus",
                        f"{command} \"CRITERION_FLAGS=--filter='{_filter(patterns, True)}'\"",
                        sum(ex.test_points(t.id) for t in bonus)))
    return out


def _q(text: str) -> str:
    # A JSON string is a YAML double-quoted scalar: no YAML quoting rules to get wrong.
    return json.dumps(text)


def _points(x: float) -> str:
    return f"{x:g}"


def render(root: str = kit.ROOT) -> str:
    """The workflow file's text."""
    all_steps = steps(root)
    lines = [
        "# GitHub Classroom autograding: on every push, the visible tests of each exercise.",
        "# Written by `make dist`; a step scores its points when all its tests pass. The grade",
        "# itself is the instructor's, with the hidden tests too.",
        "name: Autograding Tests",
        "\"on\":",
        "  - push",
        "  - repository_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v4",
    ]
    for s in all_steps:
        lines += [
            f"      - name: {_q(s.name)}",
            f"        id: {s.id}",
            f"        uses: {GRADER_ACTION}",
            "        with:",
            f"          test-name: {_q(s.name)}",
            f"          setup-command: {_q(SETUP)}",
            f"          command: {_q(s.command)}",
            f"          timeout: {TIMEOUT_MINUTES}",
            f"          max-score: {_points(s.points)}",
        ]
    lines += [
        "      - name: Autograding Reporter",
        f"        uses: {REPORTER_ACTION}",
        "        env:",
    ]
    lines += [f"          {s.id.upper()}_RESULTS: \"${{{{steps.{s.id}.outputs.result}}}}\"" for s in all_steps]
    lines += [
        "        with:",
        f"          runners: {','.join(s.id for s in all_steps)}",
    ]
    return "\n".join(lines) + "\n"


def write(target: str, root: str = kit.ROOT) -> str:
    """Writes the workflow into the handout folder `target`; returns its path inside the handout."""
    path = os.path.join(target, PATH)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(root))
    return PATH


if __name__ == "__main__":
    sys.stdout.write(render())
