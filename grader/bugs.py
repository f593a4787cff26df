"""bugs.py - "the reference with one mistake", in one format.

A `.bug` file describes one plausible mistake (or one hostile addition) as
exact text replacements in a reference solution:

    # dropping the last sender does not wake the receiver
    file: mpsc.c
    <<<<<<< replace
            rt_waker_wake(&waker);
    =======
            rt_waker_drop(&waker);
    >>>>>>>

The first `#` line describes it; every replaced text must occur exactly
once in the file it names, so a reference that changed under a variant is
reported instead of silently producing a different program. The variants
the tests must catch live in grader/broken/<exercise>/, the sample class's
in grader/samples/bugs/<exercise>/; both are read here.
"""

import os
import re
from dataclasses import dataclass, field
from typing import List, Tuple

BLOCK = re.compile(r"^<<<<<<< replace\n(.*?)^=======\n(.*?)^>>>>>>>\s*$", re.S | re.M)


class BugError(Exception):
    """A .bug file that cannot be read or no longer applies."""


@dataclass
class Bug:
    path: str  # where it was read from, for messages
    description: str
    file: str  # the student file it changes
    blocks: List[Tuple[str, str]] = field(default_factory=list)  # (old, new) texts

    @property
    def name(self) -> str:
        return os.path.basename(self.path)[: -len(".bug")]


def parse(text: str, path: str) -> Bug:
    """A Bug from a .bug file's text (path only names it in messages)."""
    description = next((line[1:].strip() for line in text.splitlines() if line.startswith("#")), "")
    match = re.search(r"^file:\s*(\S+)\s*$", text, re.M)
    if not description or not match:
        raise BugError(f"{path}: needs a '# description' line and a 'file:' line")
    blocks = BLOCK.findall(text)
    if not blocks:
        raise BugError(f"{path}: no <<<<<<< replace / ======= / >>>>>>> block")
    return Bug(path, description, match.group(1), blocks)


def load(path: str) -> Bug:
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), path)


def apply(source: str, bug: Bug) -> str:
    """The source with the bug's replacements made, each of which must match exactly once."""
    for old, new in bug.blocks:
        count = source.count(old)
        if count != 1:
            raise BugError(f"{bug.path}: a replaced text occurs {count} times in the solution "
                           f"(must be exactly once):\n{old}")
        source = source.replace(old, new)
    return source
