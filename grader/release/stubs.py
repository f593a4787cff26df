"""stubs.py - make the student stubs in exercises/ from the solutions.

Each exercise is written once, in solutions/<name>/, with the parts a
student writes between solution markers (grader/markers.py says how they
read); the stub is that file with every block replaced by its STUB lines.
Everything outside the markers is shared, so stubs and solutions cannot
drift apart.

    python3 -m grader.release.stubs write [exercise...]   regenerate the stubs
    python3 -m grader.release.stubs check [exercise...]   exit 1 and name the stale stubs
"""

import os
import sys
from typing import Iterable, Iterator, List, Tuple

from grader import kit
from grader.markers import MarkerError, make_stub

__all__ = ["MarkerError", "make_stub", "pairs", "main"]


def pairs(names: Iterable[str]) -> Iterator[Tuple[str, str]]:
    """(solution path, stub path) of every student file of the named exercises."""
    for name in names:
        ex = kit.load_exercise(name)
        for f in ex.student_files:
            yield (os.path.join(kit.ROOT, "solutions", name, f), os.path.join(ex.folder, f))


def main(argv: List[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("write", "check"):
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    names = argv[2:] or kit.exercise_names()
    stale = []
    for solution, stub in pairs(names):
        rel = os.path.relpath(stub, kit.ROOT)
        if not os.path.exists(solution):
            print(f"stubs: {os.path.relpath(solution, kit.ROOT)} is missing", file=sys.stderr)
            return 1
        with open(solution, encoding="utf-8") as f:
            try:
                text = make_stub(f.read(), os.path.relpath(solution, kit.ROOT))
            except MarkerError as e:
                print(f"stubs: {e}", file=sys.stderr)
                return 1
        current = None
        if os.path.exists(stub):
            with open(stub, encoding="utf-8") as f:
                current = f.read()
        if current == text:
            continue
        if argv[1] == "write":
            with open(stub, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"stubs: wrote {rel}")
        else:
            stale.append(rel)
    if stale:
        print("stubs: stale stubs (run 'make stubs' and commit them): " + " ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
