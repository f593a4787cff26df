"""testlist.py - the tests of an exercise: ids, descriptions, timeouts.

Criterion's `--list` gives the ids but not the descriptions, so those are
read from the KT_TEST(...) declarations in the kit's test sources, which
are trusted (the student's copies of them are never used).
"""

import re
from dataclasses import dataclass
from typing import List, Optional

DECL = re.compile(r"\b(?:KT_TEST|Test)\s*\(")
STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
TIMEOUT = re.compile(r"\.timeout\s*=\s*([0-9.]+)")


@dataclass
class TestInfo:
    suite: str
    name: str
    description: str = ""
    timeout: float = 0.0
    hidden: bool = False

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"


def _unescape(s: str) -> str:
    return s.replace('\\"', '"').replace("\\\\", "\\").replace("\\n", " ")


def _call_arguments(text: str, open_paren: int) -> Optional[str]:
    """The text between the parenthesis at open_paren and its match, skipping string literals."""
    depth, i, in_string = 0, open_paren, False
    while i < len(text):
        c = text[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return text[open_paren + 1:i]
        i += 1
    return None


def _description(args: str) -> str:
    """The .description string of a declaration's arguments (adjacent literals joined)."""
    at = args.find(".description")
    if at < 0:
        return ""
    rest = args[at + len(".description"):].lstrip()
    if not rest.startswith("="):
        return ""
    parts, pos = [], 1
    while True:
        while pos < len(rest) and rest[pos].isspace():
            pos += 1
        m = STRING.match(rest, pos)
        if not m:
            break
        parts.append(_unescape(m.group(1)))
        pos = m.end()
    return "".join(parts)


def parse_declarations(text: str, hidden: bool = False) -> List[TestInfo]:
    """TestInfo for each KT_TEST/Test declaration of a C source."""
    tests = []
    for match in DECL.finditer(text):
        args = _call_arguments(text, match.end() - 1)
        if args is None:
            continue
        head = re.match(r"\s*(\w+)\s*,\s*(\w+)\s*(.*)$", args, re.S)
        if not head:
            continue  # the macro's own definition, not a test
        rest = head.group(3)
        timeout = TIMEOUT.search(rest)
        tests.append(TestInfo(head.group(1), head.group(2), _description(rest),
                              float(timeout.group(1)) if timeout else 0.0, hidden))
    return tests


def parse_list(output: str) -> List[str]:
    """Test ids from a Criterion `--list` output, in its order."""
    ids, suite = [], None
    for line in output.splitlines():
        m = re.match(r"^(\S+): \d+ tests?$", line)
        if m:
            suite = m.group(1)
            continue
        m = re.match(r"^\S+\s+(\w+)\s*$", line)
        if m and suite and line[0] in "├└|`":
            ids.append(f"{suite}/{m.group(1)}")
    return ids
