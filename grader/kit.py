"""kit.py - the kit's exercises as their declarations describe them.

Each exercise is a folder exercises/<name>/ with an exercise.mk file of
`FIELD = value` lines that make(1) includes and this module parses:

    EX_TITLE          one line, shown in reports
    EX_STARS          difficulty, 1 to 5
    EX_STUDENT_FILES  the files a student edits (and the grader takes)
    EX_KIT_FILES      the exercise's other sources, always taken from the kit
    EX_DEPENDS        exercises this one builds on (graded against their reference)
    EX_BENCH_DEPENDS  exercises only its benchmark uses
    EX_POINTS_DEFAULT points of a test not named in EX_POINTS (default 1)
    EX_POINTS         suite/test:points pairs, shell-style patterns allowed
    EX_BONUS          suite/test patterns whose points are extra credit
    EX_SANDBOX        'net' when the tests need loopback sockets and child processes
    EX_PARTS          name:file:suite-pattern items: parts graded on their own, each a
                      gradebook column (default: one part named after the exercise)
"""

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

# One reader of exercise.mk for the grader and the student's tools (the handout has no grader/).
from runtime.tools.kit_info import Part, parse_declaration, parse_parts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Exercise:
    name: str
    title: str = ""
    stars: int = 0
    student_files: List[str] = field(default_factory=list)
    kit_files: List[str] = field(default_factory=list)
    depends: List[str] = field(default_factory=list)
    bench_depends: List[str] = field(default_factory=list)
    points_default: float = 1.0
    points: List[Tuple[str, float]] = field(default_factory=list)  # [(pattern, points)]
    bonus: List[str] = field(default_factory=list)  # [pattern]
    sandbox: str = ""  # EX_SANDBOX: "net" widens the test processes' system-call filter
    parts: List[Part] = field(default_factory=list)  # EX_PARTS, or the one part of the whole

    def __post_init__(self) -> None:
        if not self.parts:  # built by hand (the tests do): the one part of the whole
            self.parts = [Part(self.name, list(self.student_files), ["*"])]

    def part_of(self, test_id: str) -> Optional[Part]:
        """The part a test grades (by its suite), or None when no part claims it."""
        suite = test_id.split("/", 1)[0]
        return next((p for p in self.parts if any(fnmatch.fnmatchcase(suite, s) for s in p.suites)),
                    None)

    def part_title(self, part: Part) -> str:
        """What reports call a part: the exercise's title, and the part's files when it has several."""
        return self.title if len(self.parts) == 1 else f"{self.title} ({', '.join(part.files)})"

    def test_points(self, test_id: str) -> float:
        """Points of one test, by its 'suite/name' id."""
        for pattern, points in self.points:
            if fnmatch.fnmatchcase(test_id, pattern):
                return points
        return self.points_default

    def is_bonus(self, test_id: str) -> bool:
        return any(fnmatch.fnmatchcase(test_id, p) for p in self.bonus)

    @property
    def folder(self) -> str:
        return os.path.join(ROOT, "exercises", self.name)


def load_exercise(name: str, root: str = ROOT) -> Exercise:
    path = os.path.join(root, "exercises", name, "exercise.mk")
    if "_" in name:
        # Suites are named <exercise>_<part>_hidden: the kit finds the exercise before the first "_".
        raise ValueError(f"{path}: an exercise's name has no underscore (its suites' names add parts)")
    with open(path, encoding="utf-8") as f:
        fields = parse_declaration(f.read())
    ex = Exercise(name=name)
    ex.title = fields.get("EX_TITLE", name)
    ex.stars = int(fields.get("EX_STARS", "0") or 0)
    ex.student_files = fields.get("EX_STUDENT_FILES", "").split()
    ex.kit_files = fields.get("EX_KIT_FILES", "").split()
    ex.depends = fields.get("EX_DEPENDS", "").split()
    ex.bench_depends = fields.get("EX_BENCH_DEPENDS", "").split()
    ex.points_default = float(fields.get("EX_POINTS_DEFAULT", "1") or 1)
    for item in fields.get("EX_POINTS", "").split():
        pattern, _, points = item.rpartition(":")
        if not pattern:
            raise ValueError(f"{path}: EX_POINTS item '{item}' is not suite/test:points")
        ex.points.append((pattern, float(points)))
    ex.bonus = fields.get("EX_BONUS", "").split()
    ex.sandbox = fields.get("EX_SANDBOX", "").strip()
    try:
        ex.parts = parse_parts(fields, name)  # replaces the default __post_init__ made
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from e
    return ex


def exercise_names(root: str = ROOT) -> List[str]:
    base = os.path.join(root, "exercises")
    if not os.path.isdir(base):
        return []
    return sorted(
        name for name in os.listdir(base) if os.path.isfile(os.path.join(base, name, "exercise.mk"))
    )


def load_all(root: str = ROOT) -> Dict[str, Exercise]:
    return {name: load_exercise(name, root) for name in exercise_names(root)}
