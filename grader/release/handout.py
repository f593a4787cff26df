"""handout.py - build the student handout: what students get, and nothing else.

    python3 -m grader.release.handout [--out DIR]     (default: dist/)

Writes DIR/async-channels-handout/ and DIR/async-channels-handout.tar.gz
from the kit's files (those git tracks, or those on disk outside a git
checkout): the runtime, the exercises (stubs, headers, READMEs, visible
tests, benchmarks), the slides (built: HTML and PDF, `make slides`), the
Makefile and a student README. The Makefile's instructor part
(grader/instructor.mk) stays out with the rest of grader/, so the
handout's `make help` lists only what a student can run. Solutions, hidden tests, the grader and the kit's own
tests stay out. It also writes .github/workflows/classroom.yml, GitHub
Classroom's autograding of the visible tests (classroom.py). The build fails if anything that looks like a solution
slipped in (a solution marker, a hidden test), so a handout is safe to
publish. The tarball is reproducible: same inputs, same bytes.
"""

import argparse
import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
from typing import List, Tuple

from grader.kit import ROOT
from runtime.tools import kit_info
from grader.release import classroom

NAME = "async-channels-handout"
INCLUDE = ("runtime/", "exercises/", "Makefile", ".clang-format", ".gitignore")
# The lecture goes in built, as slides/index.html and slides/slides.pdf:
# students need none of its tool chain.
DECK = ("index.html", "slides.pdf")
EXCLUDE = ("runtime/__init__.py", "runtime/tools/__init__.py")  # the kit's Python packages
FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION")


def tracked_files() -> List[str]:
    """The kit's files: those git tracks in a checkout, else every file on disk but build outputs."""
    return kit_info.kit_files(ROOT)


def select(paths: List[str]) -> List[str]:
    return [p for p in paths
            if p.startswith(INCLUDE) and not p.startswith(EXCLUDE) and os.path.isfile(os.path.join(ROOT, p))]


def verify(root: str, files: List[str]) -> List[str]:
    problems = []
    for rel in files:
        with open(os.path.join(root, rel), "rb") as f:
            data = f.read()
        for marker in FORBIDDEN:
            if marker.encode() in data:
                problems.append(f"{rel} contains a solution marker ({marker})")
        if rel.startswith(("solutions/", "grader/")):
            problems.append(f"{rel} is instructor material")
    return problems


def build(out_dir: str) -> Tuple[str, str, int]:
    files = select(tracked_files())
    target = os.path.join(out_dir, NAME)
    shutil.rmtree(target, ignore_errors=True)
    for rel in files:
        dest = os.path.join(target, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), dest)
    shutil.copy2(os.path.join(ROOT, "grader", "release", "handout_README.md"), os.path.join(target, "README.md"))
    files.append("README.md")
    subprocess.run(["make", "-s", "slides"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    os.makedirs(os.path.join(target, "slides"), exist_ok=True)
    for name in DECK:
        shutil.copy2(os.path.join(ROOT, "build", "slides", name), os.path.join(target, "slides", name))
        files.append(f"slides/{name}")
    files.append(classroom.write(target))  # GitHub Classroom's autograding workflow (classroom.py)
    problems = verify(target, files)
    if problems:
        for p in problems:
            print(f"handout: {p}", file=sys.stderr)
        raise SystemExit(1)

    archive = os.path.join(out_dir, NAME + ".tar.gz")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in sorted(files):
            info = tar.gettarinfo(os.path.join(target, rel), arcname=f"{NAME}/{rel}")
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o755 if info.mode & 0o111 else 0o644
            with open(os.path.join(target, rel), "rb") as f:
                tar.addfile(info, f)
    with open(archive, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
            gz.write(buf.getvalue())
    return target, archive, len(files)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description="Build the student handout.")
    parser.add_argument("--out", default=os.path.join(ROOT, "dist"))
    args = parser.parse_args(argv[1:])
    target, archive, count = build(args.out)
    print(f"handout: {count} files in {os.path.relpath(target)}")
    print(f"handout: {os.path.relpath(archive)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
