"""kit_info.py - what the student-side tools read: declarations, tests, timeouts, files.

Shared by the student's targets (runtime/tools/*.py: test, status, hint,
submit) and by the grader (grader/kit.py takes parse_declaration from here),
so that the handout, which has no grader/, reads an exercise the way the
grader does:

  - an exercise's declaration, exercises/<ex>/exercise.mk: `FIELD = value`
    lines (grader/kit.py lists the fields);
  - its tests, in the course's order: every KT_TEST(suite, name, ...,
    .description = "...") of its test sources, file by file (sorted), in
    the order they are written;
  - its fitted timeouts, exercises/<ex>/tests/timeouts: lines
    `suite/name seconds [threaded]` (grader/release/timeouts.py writes them).
"""

import os
import re
from typing import Dict, List, Tuple

# Imports are kept few and cheap: `make test` starts this on every run.

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_declaration(text: str) -> Dict[str, str]:
    """The FIELD = value lines of an exercise.mk, as a dict (comments and blanks skipped)."""
    fields = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.match(r"^([A-Z_]+)\s*[:+]?=\s*(.*)$", line)
        if match:
            fields[match.group(1)] = match.group(2).strip()
    return fields


class Part:
    """One part of an exercise graded on its own (EX_PARTS): a name, its files, its suites."""

    def __init__(self, name: str, files: List[str], suites: List[str]) -> None:
        self.name, self.files, self.suites = name, files, suites

    def __repr__(self) -> str:
        return f"Part({self.name!r}, {self.files!r}, {self.suites!r})"


def parse_parts(fields: Dict[str, str], exercise: str) -> List[Part]:
    """The parts of an exercise, from its declaration's fields.

    EX_PARTS = name:file[,file...]:suite-pattern[,pattern...] ... names
    parts graded on their own (the chat's server and client): each is a
    column of the gradebook, with the student files it takes and the test
    suites (shell-style patterns) that grade it. Without EX_PARTS the
    exercise is one part, named after it, with every student file and
    every suite. Every student file belongs to exactly one part.
    """
    files = fields.get("EX_STUDENT_FILES", "").split()
    items = fields.get("EX_PARTS", "").split()
    if not items:
        return [Part(exercise, files, ["*"])]
    parts: List[Part] = []
    for item in items:
        pieces = item.split(":")
        if len(pieces) != 3 or not all(pieces):
            raise ValueError(f"{exercise}: EX_PARTS item '{item}' is not name:file[,file]:suite-pattern")
        name, own, suites = pieces[0], pieces[1].split(","), pieces[2].split(",")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or any(p.name == name for p in parts):
            raise ValueError(f"{exercise}: EX_PARTS name '{name}' is not a new lowercase identifier")
        parts.append(Part(name, own, suites))
    claimed = [f for p in parts for f in p.files]
    if sorted(claimed) != sorted(files):
        raise ValueError(f"{exercise}: EX_PARTS must give each of EX_STUDENT_FILES ({' '.join(files)}) "
                         f"to exactly one part (they give: {' '.join(claimed)})")
    return parts


def read_declaration(name: str, root: str = ROOT) -> Dict[str, str]:
    with open(os.path.join(root, "exercises", name, "exercise.mk"), encoding="utf-8") as f:
        return parse_declaration(f.read())


def exercise_names(root: str = ROOT) -> List[str]:
    base = os.path.join(root, "exercises")
    if not os.path.isdir(base):
        return []
    return sorted(n for n in os.listdir(base)
                  if os.path.isfile(os.path.join(base, n, "exercise.mk")))


class Test:
    def __init__(self, suite: str, name: str, description: str, source: str = "",
                 body: str = "") -> None:
        self.suite, self.name, self.description = suite, name, description
        self.source = source
        self.body = body  # the test's text, up to the next test (for the threaded guess)

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"


KT_TEST = re.compile(r"^KT_TEST\(\s*(\w+)\s*,\s*(\w+)\s*,(.*?)\)\s*\{", re.S | re.M)
STRINGS = re.compile(r'"((?:[^"\\]|\\.)*)"')


def read_tests(sources: List[str]) -> List[Test]:
    """The KT_TESTs of `sources`, the files in sorted order, each file's tests as written."""
    tests = []
    for path in sorted(sources, key=os.path.basename):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        found = list(KT_TEST.finditer(text))
        for i, match in enumerate(found):
            options = match.group(3)
            described = re.search(r"\.description\s*=\s*((?:\"(?:[^\"\\]|\\.)*\"\s*)+)", options)
            description = "".join(STRINGS.findall(described.group(1))) if described else ""
            end = found[i + 1].start() if i + 1 < len(found) else len(text)
            tests.append(Test(match.group(1), match.group(2), description.replace('\\"', '"'),
                              path, text[match.end():end]))
    return tests


def read_timeouts(path: str) -> Dict[str, Tuple[float, bool]]:
    """{suite/name: (seconds, threaded)} from a timeouts file."""
    fitted = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            try:
                fitted[words[0]] = (float(words[1]), words[2:3] == ["threaded"])
            except (IndexError, ValueError):
                raise ValueError(f"{path}:{number}: expected 'suite/name seconds [threaded]'")
    return fitted


# Never part of the kit: build outputs, grades, caches, another tool's folders.
NOT_KIT = {".git", "build", "dist", "__pycache__", "node_modules", ".mypy_cache"}


def kit_files(root: str = ROOT) -> List[str]:
    """The kit's files, relative to root: those git tracks in a git checkout of the kit, else
    (a release archive, the handout) every file on disk but build outputs and caches."""
    if os.path.exists(os.path.join(root, ".git")):
        import subprocess

        try:
            out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True,
                                 check=True).stdout
            return sorted(p for p in out.decode().split("\0")
                          if p and os.path.isfile(os.path.join(root, p)))
        except (OSError, subprocess.CalledProcessError):
            pass  # no git program: read the disk as below
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames if d not in NOT_KIT
                             and os.path.join(rel_dir, d) not in ("grader/out", "./grader/out"))
        found += [os.path.normpath(os.path.join(rel_dir, f)) for f in filenames
                  if not f.endswith((".pyc", ".o", ".d"))]
    return sorted(found)


def course_order(root: str = ROOT) -> List[str]:
    """The exercises in the order a course takes them: by difficulty (EX_STARS), each after
    the exercises it builds on (EX_DEPENDS)."""
    decls = {name: read_declaration(name, root) for name in exercise_names(root)}

    def stars(name: str) -> int:
        text = decls[name].get("EX_STARS", "")
        return int(text) if text.isdigit() else 0

    done: List[str] = []
    waiting = sorted(decls, key=lambda n: (stars(n), n))
    while waiting:
        ready = next((n for n in waiting
                      if all(d in done or d not in decls
                             for d in decls[n].get("EX_DEPENDS", "").split())), waiting[0])
        done.append(ready)
        waiting.remove(ready)
    return done
