#!/usr/bin/env python3
"""header_examples.py - the example at the top of each header compiles.

The first code a student reads is the example in a header's top comment, so
it must not drift from the API. For each header of the exercises
(exercises/<ex>/*.h and exercises/<ex>/kit/*.h) this takes the first block
of the top comment indented four spaces past the ` * `, compiles it as
file-scope C after an #include of the header, with the kit's flags and
warnings as errors (-fsyntax-only: it is checked, not run), and fails
naming the header and the compiler's message. A header without an example
fails too. The runtime's headers mostly open with tables (tokio's name beside
the kit's) and sketches; those whose top comment shows code to copy are
listed in RUNTIME_EXAMPLES and checked the same way (an example may
#include what it uses, an exercise's header among them).

    header_examples.py [header...]     (default: every exercise header, and RUNTIME_EXAMPLES)
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The runtime headers whose top comment shows code to copy, not a table or a sketch.
RUNTIME_EXAMPLES = ["rt_async.h", "rt_future.h", "rt_line_reader.h", "rt_stdin.h"]
CFLAGS = ["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]


def example(source: str) -> tuple[str, int] | None:
    """The first indented block of the top comment, and the line it starts on."""
    m = re.match(r"\s*/\*(.*?)\*/", source, re.S)
    if not m:
        return None
    lines = m.group(1).split("\n")
    block: list[str] = []
    first = 0
    for number, raw in enumerate(lines, 1):
        text = re.sub(r"^\s*\* ?", "", raw) if raw.strip() != "*" else ""
        if text.startswith("    ") or (block and not text.strip()):
            if not block:
                first = number
            block.append(text[4:])
        elif block:
            break
    while block and not block[-1].strip():
        block.pop()
    return ("\n".join(block) + "\n", first) if block else None


def include_dirs(header: str) -> list[str]:
    """The header's folder, its exercise's kit/, the exercise folders it may use, the runtime."""
    rel = os.path.relpath(header, ROOT).split(os.sep)
    dirs = [os.path.dirname(header)]
    if len(rel) >= 3 and rel[0] == "exercises":
        folder = os.path.join(ROOT, "exercises", rel[1])
        dirs += [folder, os.path.join(folder, "kit")]
        # ... and those of the exercises it builds on (EX_DEPENDS: the chat's broadcast).
        try:
            with open(os.path.join(folder, "exercise.mk"), encoding="utf-8") as f:
                m = re.search(r"^EX_DEPENDS\s*=(.*)$", f.read(), re.M)
        except OSError:
            m = None
        for dep in (m.group(1).split("#")[0].split() if m else []):
            dep_folder = os.path.join(ROOT, "exercises", dep)
            dirs += [dep_folder, os.path.join(dep_folder, "kit")]
    elif len(rel) == 2 and rel[0] == "runtime":  # may show an exercise's channel in use
        dirs += sorted(glob.glob(os.path.join(ROOT, "exercises", "*", "")))
    return dirs + [os.path.join(ROOT, "runtime")]


def check(header: str, cc: str) -> str | None:
    """None when the header's example compiles, else what went wrong."""
    rel = os.path.relpath(header, ROOT)
    with open(header, encoding="utf-8") as f:
        found = example(f.read())
    if found is None:
        return f"{rel}: no example (a block indented four spaces) in the top comment"
    code, line = found
    with tempfile.TemporaryDirectory(prefix="header-example-") as tmp:
        path = os.path.join(tmp, "example.c")
        with open(path, "w", encoding="utf-8") as f:
            # Compiler messages point into the header's comment.
            f.write(f'#include "{os.path.basename(header)}"\n#line {line} "{rel}"\n{code}')
        args = [cc, *CFLAGS, *[f"-I{d}" for d in include_dirs(header)], path]
        proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"{rel}: the example in the top comment does not compile:\n{proc.stderr.strip()}"
    return None


def main(argv: list[str]) -> int:
    headers = [os.path.abspath(h) for h in argv[1:]] or sorted(
        glob.glob(os.path.join(ROOT, "exercises", "*", "*.h"))
        + glob.glob(os.path.join(ROOT, "exercises", "*", "kit", "*.h"))) + [
            os.path.join(ROOT, "runtime", name) for name in RUNTIME_EXAMPLES]
    cc = os.environ.get("CC", "cc")
    problems = [p for p in (check(h, cc) for h in headers) if p]
    for p in problems:
        print(f"header_examples: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"header_examples: the examples of {len(headers)} headers compile")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
