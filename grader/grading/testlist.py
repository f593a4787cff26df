"""testlist.py - the tests of an exercise: ids, descriptions, timeouts.

Criterion's `--list` gives the ids but not the descriptions, so those are
read from the KT_TEST(...) declarations in the kit's test sources, which
are trusted (the student's copies of them are never used).
"""

import re
from dataclasses import dataclass

DECL = re.compile(r"\b(?:KT_TEST|Test)\s*\(\s*(\w+)\s*,\s*(\w+)\s*((?:,[^{;]*?)?)\)\s*\{", re.S)
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
    def id(self):
        return f"{self.suite}/{self.name}"


def _unescape(s):
    return s.replace('\\"', '"').replace("\\\\", "\\").replace("\\n", " ")


def parse_declarations(text, hidden=False):
    """TestInfo for each KT_TEST/Test declaration of a C source."""
    tests = []
    for match in DECL.finditer(text):
        args = match.group(3)
        desc = ""
        at = args.find(".description")
        if at >= 0:
            rest = args[at:]
            parts, pos = [], rest.find("=") + 1
            # Adjacent string literals are one string in C.
            while True:
                m = STRING.match(rest, pos + len(rest[pos:]) - len(rest[pos:].lstrip()))
                if not m:
                    break
                parts.append(_unescape(m.group(1)))
                pos = m.end()
            desc = "".join(parts)
        timeout = TIMEOUT.search(args)
        tests.append(TestInfo(match.group(1), match.group(2), desc,
                              float(timeout.group(1)) if timeout else 0.0, hidden))
    return tests


def parse_list(output):
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
