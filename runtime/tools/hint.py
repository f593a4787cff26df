#!/usr/bin/env python3
"""hint.py - `make hint EX=<ex> [N=<n>]`: one hint at a time, from exercises/<ex>/hints.md.

Without N, shows the hint after the last one shown, and remembers it in
exercises/<ex>/.hints-seen (the student's folder, so it survives a
rebuild and `make clean`); with N, shows that hint. The hints are the
`## Hint <n>: <title>` sections of hints.md, the one place they live.
"""

import os
import re
import sys
from typing import List, Tuple

import kit_info


def read_hints(path: str) -> List[Tuple[int, str, str]]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    parts = re.split(r"^## Hint (\d+): (.*)$", text, flags=re.M)
    return [(int(parts[i]), parts[i + 1].strip(), parts[i + 2].strip())
            for i in range(1, len(parts) - 2, 3)]


def main(argv: List[str]) -> int:
    if len(argv) < 2:
        print("usage: make hint EX=<exercise> [N=<hint number>]", file=sys.stderr)
        return 2
    ex, wanted = argv[1], argv[2] if len(argv) > 2 and argv[2] else ""
    folder = os.path.join(kit_info.ROOT, "exercises", ex)
    path = os.path.join(folder, "hints.md")
    if not os.path.exists(path):
        print(f"make hint: {ex} has no hints (no {os.path.relpath(path, kit_info.ROOT)})",
              file=sys.stderr)
        return 1
    hints = read_hints(path)
    seen_file = os.path.join(folder, ".hints-seen")
    try:
        with open(seen_file, encoding="utf-8") as f:
            seen = int(f.read().strip() or 0)
    except (OSError, ValueError):
        seen = 0
    if wanted:
        if not wanted.isdigit() or not 1 <= int(wanted) <= len(hints):
            print(f"make hint: N={wanted} is not a hint of {ex}: N=1 to N={len(hints)}",
                  file=sys.stderr)
            return 2
        number = int(wanted)
    elif seen >= len(hints):
        print(f"You have seen all {len(hints)} hints of {ex}. Again: make hint EX={ex} N=<n>")
        for n, title, _ in hints:
            print(f"  {n}. {title}")
        return 0
    else:
        number = seen + 1
    n, title, body = hints[number - 1]
    print(f"Hint {n} of {len(hints)} ({ex}): {title}\n")
    print(body + "\n")
    if number > seen:
        with open(seen_file, "w", encoding="utf-8") as f:
            f.write(f"{number}\n")
    if number < len(hints):
        print(f"(next time: make hint EX={ex} shows hint {max(number, seen) + 1})")
    else:
        print("(that was the last hint)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
