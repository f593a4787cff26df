"""claims.py - every "the tests catch X" in a README or a slide is backed by a broken variant.

    python3 -m grader.checks.claims [--report FILE]

A sentence or heading that says the tests catch (or look for, or find)
mistakes is a claim. Each claim needs, in the same section (up to the next
heading or slide break), a tag naming the broken variants
(grader/broken/<ex>/<name>.bug) that stand for the mistakes it names:

    ## Bugs the tests look for
    <!-- caught: mpsc/no_waker_stored mpsc/last_drop_no_wake mpsc/wake_before_push -->

`caught:` variants must be caught by the visible tests (those a student
has), `caught-graded:` ones by the visible and hidden tests together (for
a claim about grading). The check fails on a claim without a tag, a tag
naming a variant that does not exist, and a variant the tests named do
not catch. Whether they catch it comes from the broken-variant check's
report (`python3 -m grader.checks.broken --json FILE`, which make check
writes first); without --report the variants named are checked here.

Read: README.md, CONTRIBUTING.md is not (it speaks of the kit's tests),
runtime/README.md, exercises/*/README.md, exercises/*/hints.md and
whatever slides/*.md exist.
"""

import glob
import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from grader import kit

CLAIM = re.compile(r"(?i)\b(tests?|suite)\s+(catch(es)?|caught|look(s)? for|find(s)?)\b")
TAG = re.compile(r"<!--\s*(caught|caught-graded):\s*(.*?)\s*-->", re.S)
BREAK = re.compile(r"^(#{1,6}\s|---\s*$)")


@dataclass
class Section:
    path: str
    line: int  # of the first claim
    claim: str
    tags: List[Tuple[str, List[str]]] = field(default_factory=list)  # (kind, [ex/variant])


def documents(root: str) -> List[str]:
    found = [os.path.join(root, p) for p in ("README.md", "runtime/README.md")]
    found += sorted(glob.glob(os.path.join(root, "exercises", "*", "README.md")))
    found += sorted(glob.glob(os.path.join(root, "exercises", "*", "hints.md")))
    found += sorted(glob.glob(os.path.join(root, "slides", "*.md")))
    return [p for p in found if os.path.isfile(p)]


def claims_in(path: str) -> List[Section]:
    """The sections of `path` that make a claim, with the tags they carry."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    sections, current, text = [], None, []  # type: ignore[var-annotated]

    def close() -> None:
        if current is not None:
            for match in TAG.finditer("\n".join(text)):
                current.tags.append((match.group(1), match.group(2).split()))
            sections.append(current)

    in_code = False
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and BREAK.match(line):
            close()
            current, text = None, []
        text.append(line)
        if not in_code and current is None and CLAIM.search(line) and "<!--" not in line:
            current = Section(os.path.relpath(path, kit.ROOT), number, line.strip())
    close()
    return sections


def variant_exists(ex_variant: str) -> bool:
    ex, _, name = ex_variant.partition("/")
    return os.path.isfile(os.path.join(kit.ROOT, "grader", "broken", ex, name + ".bug"))


def caught_from_report(path: str) -> Dict[str, Tuple[bool, bool]]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return {f"{row['exercise']}/{row['variant']}": (row["visible"], row["graded"]) for row in data}


def caught_by_running(names: List[str]) -> Dict[str, Tuple[bool, bool]]:
    from grader.checks import broken

    found: Dict[str, Tuple[bool, bool]] = {}
    for ex in sorted({n.split("/")[0] for n in names}):
        rows, _ = broken.check_exercise(ex, runs=3, only=[n.split("/")[1] for n in names
                                                          if n.startswith(ex + "/")])
        for variant, _, visible, both, _, _ in rows:
            found[f"{ex}/{variant}"] = (visible, both)
    return found


def main(argv: List[str]) -> int:
    report = ""
    if argv[1:2] == ["--report"] and len(argv) > 2:
        report = argv[2]
    sections = [s for path in documents(kit.ROOT) for s in claims_in(path)]
    problems = []
    named = sorted({v for s in sections for _, vs in s.tags for v in vs})
    for s in sections:
        if not s.tags:
            problems.append(f"{s.path}:{s.line}: a claim with no '<!-- caught: ex/variant ... -->' "
                            f"tag in its section: {s.claim}")
    for v in named:
        if not variant_exists(v):
            problems.append(f"a tag names {v}, which is not a broken variant "
                            f"(grader/broken/{v}.bug)")
    existing = [v for v in named if variant_exists(v)]
    if report and not os.path.exists(report):
        print(f"claims: no report {report}: checking the variants named here", file=sys.stderr)
        report = ""
    caught = caught_from_report(report) if report else caught_by_running(existing)
    for s in sections:
        for kind, variants in s.tags:
            for v in variants:
                if v not in caught:
                    continue
                visible, graded = caught[v]
                if kind == "caught" and not visible:
                    problems.append(f"{s.path}:{s.line}: says the tests catch {v}, but the "
                                    f"visible tests do not: {s.claim}")
                elif kind == "caught-graded" and not graded:
                    problems.append(f"{s.path}:{s.line}: says grading catches {v}, but the "
                                    f"visible and hidden tests do not")
    for p in problems:
        print(f"claims: {p}", file=sys.stderr)
    tagged = sum(len(vs) for s in sections for _, vs in s.tags)
    print(f"claims: {len(sections)} claims in {len(documents(kit.ROOT))} documents, "
          f"{tagged} variants named, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
