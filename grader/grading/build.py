"""build.py - one student's exercise: compile in the sandbox, check, link.

The student's files are copied alone into a fresh folder; the compiler runs
in the sandbox and sees that folder and a folder of the kit's headers,
nothing else of the kit (no hidden tests, no solutions, no other student).
The objects are checked (policy.py) before the link, which uses the kit's
objects compiled once per run (kitbuild.py).
"""

import os
import subprocess
from dataclasses import dataclass, field

from . import policy
from .sandbox import Limits

COMPILE_LIMITS = Limits(cpu_seconds=60, wall_seconds=90, memory_bytes=4 << 30, processes=64,
                        file_bytes=64 << 20, output_bytes=16 << 10)


@dataclass
class BuildResult:
    ok: bool
    binary: str = ""
    stage: str = ""  # where it stopped: compile, check, link
    messages: list = field(default_factory=list)


def trim(text, lines=40):
    rows = text.strip().splitlines()
    if len(rows) > lines:
        rows = rows[:lines] + [f"[... {len(rows) - lines} more lines ...]"]
    return "\n".join(rows)


def build(kx, files, workdir, sandbox, taken, slot=0, allowlist=None):
    """kx: KitExercise; files: {filename: bytes} of the student's declared files."""
    src = os.path.join(workdir, "src")
    obj_dir = os.path.join(workdir, "obj")
    os.makedirs(src, exist_ok=True)
    os.makedirs(obj_dir, exist_ok=True)
    for d in (workdir, src):
        os.chmod(d, 0o755)
    objects = []
    for name, data in sorted(files.items()):
        path = os.path.join(src, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o644)
        obj = os.path.join(obj_dir, name[:-2] + ".o")
        cflags = [f for f in kx.cflags if not f.startswith("-I")]
        argv = [kx.cc, *cflags, "-I", kx.include_dir, "-c", path, "-o", obj]
        r = sandbox.run(argv, ro_dirs=[src, kx.include_dir], rw_dir=obj_dir, cwd=src,
                        limits=COMPILE_LIMITS, slot=slot)
        text = (r.stdout + r.stderr).replace(src + "/", "").replace(kx.include_dir + "/", "")
        if r.returncode != 0 or not os.path.exists(obj):
            why = "the compiler timed out" if r.timed_out else "it does not compile"
            return BuildResult(False, stage="compile", messages=[f"{name}: {why}", trim(text)])
        objects.append(obj)
    problems = []
    for obj in objects:
        try:
            problems += policy.check_object(obj, kx.name, taken, allowlist)
        except ValueError as e:
            problems.append(str(e))
    if problems:
        return BuildResult(False, stage="check", messages=problems)
    # Checked as written; now, as `make test` does, the student's calls to the allocator and the
    # locks go to the kit's leak count and schedule explorer (kt_student.syms).
    for obj in objects if kx.rename else []:
        r = subprocess.run([*kx.rename, obj], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            return BuildResult(False, stage="link", messages=["the object could not be prepared "
                                                              "for the tests", trim(r.stderr)])
    binary = os.path.join(workdir, f"test_{kx.name}")
    r = subprocess.run([kx.cc, *kx.link_objs[: len(kx.link_objs)], *objects, "-o", binary,
                        *kx.ldflags], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        text = r.stderr.replace(obj_dir + "/", "")
        return BuildResult(False, stage="link", messages=["the program does not link", trim(text)])
    os.chmod(binary, 0o755)
    return BuildResult(True, binary=binary)
