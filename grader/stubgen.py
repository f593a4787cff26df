#!/usr/bin/env python3
"""stubgen.py - make the student stubs in exercises/ from the solutions.

Each exercise is written once, in solutions/<name>/, with the parts a
student writes between markers (the way nbgrader makes a student release
from a source notebook):

        //# BEGIN SOLUTION
        ... the reference code ...
        //# STUB
        //> TODO("what the student does here");
        //# END SOLUTION

In the stub, everything from BEGIN SOLUTION to END SOLUTION is replaced by
the `//>` lines of the STUB part, uncommented and kept at their indentation.
Everything outside the markers is shared, so stubs and solutions cannot
drift apart. The slides' snippet markers (`//@slide name`, `//@end`) are
left out of the stub.

    stubgen.py write [exercise...]   regenerate the stubs
    stubgen.py check [exercise...]   exit 1 and name the stale stubs
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kit  # noqa: E402

BEGIN = re.compile(r"^\s*//# BEGIN SOLUTION\s*$")
STUB = re.compile(r"^\s*//# STUB\s*$")
END = re.compile(r"^\s*//# END SOLUTION\s*$")
STUB_LINE = re.compile(r"^(\s*)//>(?: (.*)|)$")
# The slides' snippet markers (slides/README.md): the deck's, not the student's.
SLIDE_MARK = re.compile(r"^\s*//@(?:slide\s+[\w-]+|end)\s*$")


class MarkerError(Exception):
    pass


def make_stub(source, filename="<source>"):
    """The stub text for a solution text."""
    out, state = [], "shared"
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        where = f"{filename}:{number}"
        if BEGIN.match(line):
            if state != "shared":
                raise MarkerError(f"{where}: BEGIN SOLUTION inside another solution block")
            state = "solution"
        elif STUB.match(line):
            if state != "solution":
                raise MarkerError(f"{where}: STUB outside a solution block")
            state = "stub"
        elif END.match(line):
            if state == "shared":
                raise MarkerError(f"{where}: END SOLUTION without BEGIN SOLUTION")
            state = "shared"
        elif SLIDE_MARK.match(line):
            continue
        elif state == "shared":
            out.append(line)
        elif state == "stub":
            match = STUB_LINE.match(line.rstrip("\n"))
            if not match:
                raise MarkerError(f"{where}: a line of a STUB part must start with '//>'")
            indent, text = match.group(1), match.group(2) or ""
            out.append((indent + text).rstrip() + "\n")
    if state != "shared":
        raise MarkerError(f"{filename}: solution block not closed with END SOLUTION")
    return "".join(out)


def pairs(names):
    for name in names:
        ex = kit.load_exercise(name)
        for f in ex.student_files:
            yield (os.path.join(kit.ROOT, "solutions", name, f), os.path.join(ex.folder, f))


def main(argv):
    if len(argv) < 2 or argv[1] not in ("write", "check"):
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    names = argv[2:] or kit.exercise_names()
    stale = []
    for solution, stub in pairs(names):
        rel = os.path.relpath(stub, kit.ROOT)
        if not os.path.exists(solution):
            print(f"stubgen: {os.path.relpath(solution, kit.ROOT)} is missing", file=sys.stderr)
            return 1
        with open(solution, encoding="utf-8") as f:
            try:
                text = make_stub(f.read(), os.path.relpath(solution, kit.ROOT))
            except MarkerError as e:
                print(f"stubgen: {e}", file=sys.stderr)
                return 1
        current = open(stub, encoding="utf-8").read() if os.path.exists(stub) else None
        if current == text:
            continue
        if argv[1] == "write":
            with open(stub, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"stubgen: wrote {rel}")
        else:
            stale.append(rel)
    if stale:
        print("stubgen: stale stubs (run 'make stubs' and commit them): " + " ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
