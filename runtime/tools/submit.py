#!/usr/bin/env python3
"""submit.py - `make submit [STUDENT=<name>]`: check your work and pack it for hand-in.

    submit.py [--student NAME] -- <make command>

For every exercise: builds it and runs its visible tests, and says how
many pass. Then packs exactly the files the grader takes (each exercise's
EX_STUDENT_FILES, read from its exercise.mk as the grader reads it) into
<NAME>.tar.gz in the kit's top folder, and lists what it holds. The name
is STUDENT, else your login name. Nothing else goes in: the grader takes
tests, headers, the runtime and the Makefile from its own copy of the kit.
An exercise that does not build is packed too (the others still count),
and the run ends with exit 1 so that you notice.
"""

import argparse
import getpass
import gzip
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from typing import List, Tuple

import kit_info


def run_exercise(make: List[str], ex: str) -> Tuple[bool, str]:
    """(builds, what its visible tests say)."""
    build = subprocess.run(make + ["-s", "build-test", f"EX={ex}"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace", close_fds=False)
    if build.returncode != 0:
        first = next((l for l in build.stdout.splitlines() if "error" in l), build.stdout[-300:])
        return False, f"does not compile: {first.strip()}"
    with tempfile.TemporaryDirectory(prefix="submit-") as tmp:
        summary = os.path.join(tmp, "summary.json")
        subprocess.run(make + ["-s", "test", f"EX={ex}", f"SUMMARY={summary}"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=False)
        try:
            with open(summary, encoding="utf-8") as f:
                result = json.load(f)
        except (OSError, ValueError):
            return True, "builds; the tests did not run (see make test EX=" + ex + ")"
    return True, f"{result['passed']}/{result['total']} visible tests pass"


def pack(name: str, files: List[str]) -> str:
    """Writes <name>.tar.gz (same files, same bytes) and returns its path."""
    archive = os.path.join(kit_info.ROOT, f"{name}.tar.gz")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in files:
            info = tar.gettarinfo(os.path.join(kit_info.ROOT, rel), arcname=rel)
            info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, "", "", 0o644
            with open(os.path.join(kit_info.ROOT, rel), "rb") as f:
                tar.addfile(info, f)
    with open(archive, "wb") as out:
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
            gz.write(buf.getvalue())
    return archive


def main(argv: List[str]) -> int:
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="submit.py")
    parser.add_argument("--student", default=os.environ.get("STUDENT", ""))
    args = parser.parse_args(argv[1:split])
    make = argv[split + 1:]
    name = args.student.strip()
    if not name:
        name = getpass.getuser()
        print(f"submit: named for your login '{name}' (make submit STUDENT=<name> for another)")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    if not safe:
        print(f"submit: '{name}' cannot name a file: use letters, digits, '.', '_' or '-'",
              file=sys.stderr)
        return 2

    files, all_build = [], True
    for ex in kit_info.course_order():
        decl = kit_info.read_declaration(ex)
        builds, said = run_exercise(make, ex)
        all_build &= builds
        print(f"  {ex:<10} {said}")
        for f in decl.get("EX_STUDENT_FILES", "").split():
            rel = os.path.join("exercises", ex, f)
            if os.path.isfile(os.path.join(kit_info.ROOT, rel)):
                files.append(rel)
            else:
                print(f"submit: {rel} is missing: {ex} is handed in without it", file=sys.stderr)
    archive = pack(safe, files)
    print(f"\nsubmit: wrote {os.path.relpath(archive)}, holding:")
    for rel in files:
        print(f"  {rel}  ({os.path.getsize(os.path.join(kit_info.ROOT, rel))} bytes)")
    print("Hand in that one file as your course says (README.md, 'Handing in').")
    if not all_build:
        print("submit: an exercise above does not compile: it will score nothing until it does",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
