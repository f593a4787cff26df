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

HERE = os.path.dirname(os.path.abspath(__file__))


def _hash_tree(h, root, rel_folders, suffixes=(".c", ".h", ".mk", ".py", ".txt")):
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


def kit_fingerprint(root, decl):
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


VERDICT_CODE = ["allow", "guard.c", "build.py", "cache.py", "core.py", "kitbuild.py", "policy.py",
                "runner.py", "sandbox.py", "testlist.py", "verdict.py"]


def key(fingerprint, files, options):
    h = hashlib.sha256(fingerprint.encode())
    h.update(json.dumps(options, sort_keys=True).encode())
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


class Cache:
    def __init__(self, folder):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)

    def _path(self, k):
        return os.path.join(self.folder, k[:2], k + ".json")

    def get(self, k):
        try:
            with open(self._path(k), encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def put(self, k, value):
        path = self._path(k)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f, sort_keys=True)
        os.replace(tmp, path)
