"""cache.py - graded results kept per submission content, so a killed run resumes.

The key of one (student, exercise) result hashes everything the verdicts
depend on: the student's files, the kit's sources for that exercise (tests,
hidden tests, headers, runtime, the references it links with), the
grader's own code and the grading options. A result is written atomically
the moment it is complete, so a run killed at any point loses at most the
exercises in flight. Same input, same key, same result: two runs give the
same gradebook.
"""

import hashlib
import json
import os
import tempfile
from typing import Any, Dict, Iterable, Optional

from grader.kit import Exercise

HERE = os.path.dirname(os.path.abspath(__file__))


def _hash_tree(h: "hashlib._Hash", root: str, rel_folders: Iterable[str],
               suffixes: tuple[str, ...] = (".c", ".h", ".mk", ".py", ".txt")) -> None:
    for rel in rel_folders:
        base = os.path.join(root, rel)
        if os.path.isfile(base):
            files = [base]
        else:
            files = []
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames.sort()
                files += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(suffixes)]
        for path in files:
            h.update(os.path.relpath(path, root).encode() + b"\0")
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())


def kit_fingerprint(root: str, decl: Exercise) -> str:
    """A hash of what grading `decl` depends on, besides the student's files."""
    h = hashlib.sha256()
    folders = ["Makefile", "runtime", f"exercises/{decl.name}", f"grader/hidden/{decl.name}",
               f"solutions/{decl.name}"]
    folders += [f"exercises/{d}" for d in decl.depends] + [f"solutions/{d}" for d in decl.depends]
    _hash_tree(h, root, [f for f in folders if os.path.exists(os.path.join(root, f))])
    # The grader's code that decides verdicts (not the report writers: a change
    # in how feedback looks must not regrade a class).
    _hash_tree(h, HERE, VERDICT_CODE)
    return h.hexdigest()


def kit_sources_fingerprint(root: str) -> str:
    """A hash of what the kit's compiled objects depend on: the kit's sources and the test header.

    Not the grader's Python nor its runner (compiled on every run, it is
    small): a change in how verdicts are decided needs new verdicts, not
    newly compiled kit objects.
    """
    h = hashlib.sha256()
    _hash_tree(h, root, [f for f in ("Makefile", "runtime", "exercises", "solutions", "grader/hidden")
                         if os.path.exists(os.path.join(root, f))])
    _hash_tree(h, HERE, ["harness/criterion"])  # the header the kit's tests compile against
    return h.hexdigest()


VERDICT_CODE = ["allow", "harness", "build.py", "cache.py", "canary.py", "core.py", "kitbuild.py",
                "policy.py", "runner.py", "sandbox.py", "status.py", "testlist.py"]


def key(fingerprint: str, files: Dict[str, bytes], options: Dict[str, Any]) -> str:
    h = hashlib.sha256(fingerprint.encode())
    h.update(json.dumps(options, sort_keys=True).encode())
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


class Cache:
    def __init__(self, folder: str) -> None:
        self.folder = folder
        os.makedirs(folder, exist_ok=True)

    def _path(self, k: str) -> str:
        return os.path.join(self.folder, k[:2], k + ".json")

    def get(self, k: str) -> Optional[Dict[str, Any]]:
        try:
            with open(self._path(k), encoding="utf-8") as f:
                value = json.load(f)
                return value if isinstance(value, dict) else None
        except (OSError, ValueError):
            return None

    def put(self, k: str, value: Dict[str, Any]) -> None:
        path = self._path(k)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f, sort_keys=True)
        os.replace(tmp, path)
