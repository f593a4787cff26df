"""markers.py - the solution markers of a reference file, read in one place.

Each exercise is written once, in solutions/<name>/, with the parts a
student writes between markers (the way nbgrader makes a student release
from a source notebook):

        //# BEGIN SOLUTION
        ... the reference code ...
        //# STUB
        //> TODO("what the student does here");
        //# END SOLUTION

Two texts come from one such file: the stub (every block replaced by the
`//>` lines of its STUB part, uncommented, kept at their indentation) and
the reference as a student would have written it (the markers and STUB
parts gone). Everything outside the markers is shared by both.
"""

import re
from typing import Iterator, Tuple

BEGIN = re.compile(r"^\s*//# BEGIN SOLUTION\s*$")
STUB = re.compile(r"^\s*//# STUB\s*$")
END = re.compile(r"^\s*//# END SOLUTION\s*$")
STUB_LINE = re.compile(r"^(\s*)//>(?: (.*)|)$")
# The slides' snippet markers (slides/README.md): the deck's, not the student's,
# so stubs leave them out.
SLIDE_MARK = re.compile(r"^\s*//@(?:slide\s+[\w-]+|end)\s*$")

# Where a line is: outside any block, in a block's solution part, or in its STUB part.
SHARED, SOLUTION, STUB_PART = "shared", "solution", "stub"


class MarkerError(Exception):
    """A marker out of place, named by file and line."""


def classify(source: str, filename: str = "<source>") -> Iterator[Tuple[str, str]]:
    """(part, line) for every line that is not a marker, checking the markers' order."""
    state = SHARED
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        where = f"{filename}:{number}"
        if BEGIN.match(line):
            if state != SHARED:
                raise MarkerError(f"{where}: BEGIN SOLUTION inside another solution block")
            state = SOLUTION
        elif STUB.match(line):
            if state != SOLUTION:
                raise MarkerError(f"{where}: STUB outside a solution block")
            state = STUB_PART
        elif END.match(line):
            if state == SHARED:
                raise MarkerError(f"{where}: END SOLUTION without BEGIN SOLUTION")
            state = SHARED
        else:
            if state == STUB_PART and not STUB_LINE.match(line.rstrip("\n")):
                raise MarkerError(f"{where}: a line of a STUB part must start with '//>'")
            yield state, line
    if state != SHARED:
        raise MarkerError(f"{filename}: solution block not closed with END SOLUTION")


def make_stub(source: str, filename: str = "<source>") -> str:
    """The stub text of a solution text."""
    out = []
    for part, line in classify(source, filename):
        if SLIDE_MARK.match(line):
            continue
        if part == SHARED:
            out.append(line)
        elif part == STUB_PART:
            match = STUB_LINE.match(line.rstrip("\n"))
            assert match is not None  # classify() checked it
            indent, text = match.group(1), match.group(2) or ""
            out.append((indent + text).rstrip() + "\n")
    return "".join(out)


def make_reference(source: str, filename: str = "<source>") -> str:
    """The solution text as a student would have written it: no markers, no STUB parts."""
    return "".join(line for part, line in classify(source, filename) if part != STUB_PART)
