"""build.py - one student's exercise: compile in the sandbox, check, link.

The student's files are copied alone into a fresh folder; the compiler runs
in the sandbox and sees that folder and a folder of the kit's headers,
nothing else of the kit (no hidden tests, no solutions, no other student).
Each file is preprocessed first and the preprocessed text is what gets
compiled, so the check for inline assembly (refused: it is how system
calls and instructions a disassembler does not show get in) reads exactly
what the compiler read. The objects are checked (policy.py) before the
link, which uses the kit's objects compiled once per run (kitbuild.py):
a visible-test and a hidden-test binary, plain, with ThreadSanitizer and
with AddressSanitizer (the sanitizer binaries only when a test needs them).
"""

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from . import policy
from .kitbuild import KitExercise
from .sandbox import Limits, Sandbox

COMPILE_LIMITS = Limits(cpu_seconds=60, wall_seconds=90, memory_bytes=4 << 30, processes=64,
                        file_bytes=32 << 20, output_bytes=16 << 10, tmp_bytes=64 << 20)
# What a compiler or linker says when the machine, not the student, ran out.
RESOURCE_TROUBLE = re.compile(r"No space left on device|Cannot allocate memory|out of memory|"
                              r"virtual memory exhausted|Disk quota exceeded", re.I)
ASM = re.compile(r"\b(?:asm|__asm|__asm__)\b")
LITERALS = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
LINE_MARKER = re.compile(r'^#\s*\d+\s+"((?:[^"\\]|\\.)*)"')


class GraderError(Exception):
    """The grader's or the machine's trouble (no space, no memory): retried, never cached."""


def machine_short(path: str) -> bool:
    """Whether the machine itself is short of disk (where the grader writes) or of memory.

    A sandbox's own /tmp and rlimits are small on purpose: a submission that
    fills them has only itself to blame, and that is its compile error. Only
    when the machine is short is a failure the grader's.
    """
    try:
        disk = os.statvfs(path)
        if disk.f_bavail * disk.f_frsize < (256 << 20):
            return True
        with open("/proc/meminfo", encoding="ascii") as f:
            info = dict(line.split(":", 1) for line in f)
        return int(info["MemAvailable"].split()[0]) < (256 << 10)
    except (OSError, KeyError, ValueError):
        return False


@dataclass
class BuildResult:
    ok: bool
    binaries: Dict[str, str] = field(default_factory=dict)  # "plain", "plain-hidden", "thread", ...
    stage: str = ""  # where it stopped: compile, check, link
    messages: List[str] = field(default_factory=list)
    stems: List[str] = field(default_factory=list)  # obj/<file> of each student file (.i, .plain.o...)
    # The files a failed compile or check is the fault of, with their own messages (an exercise
    # in parts fails only their parts); empty for a link, which no one file is to blame for.
    faults: Dict[str, List[str]] = field(default_factory=dict)
    # Whether the schedule explorer can change a run: the student's objects take a lock it
    # detours at (KitExercise.explorable). If not, every seed runs the same program as none.
    explorable: bool = False

    def binary(self, variant: str, hidden: bool) -> str:
        return self.binaries.get(variant + ("-hidden" if hidden else ""), "")


def trim(text: str, lines: int = 40) -> str:
    rows = text.strip().splitlines()
    if len(rows) > lines:
        rows = rows[:lines] + [f"[... {len(rows) - lines} more lines ...]"]
    return "\n".join(rows)


def inline_assembly(preprocessed: str, source: str) -> List[int]:
    """Lines of `source` where its preprocessed text uses inline assembly (after macros)."""
    lines, current, number = [], None, 0
    for row in preprocessed.splitlines():
        marker = LINE_MARKER.match(row)
        if marker:
            current = marker.group(1)
            number = int(row.split()[1]) - 1
            continue
        number += 1
        if current == source and ASM.search(LITERALS.sub('""', row)):
            lines.append(number)
    return lines


def build(kx: KitExercise, files: Dict[str, bytes], workdir: str, sandbox: Sandbox,
          allowlist: Optional[List[str]] = None) -> BuildResult:
    """Compiles, checks and links the plain binaries of a student's declared files ({name: bytes}).

    The ThreadSanitizer binaries are built later, only when a threaded test
    passed (build_thread), from the same preprocessed text.
    """
    src = os.path.join(workdir, "src")
    obj_dir = os.path.join(workdir, "obj")
    os.makedirs(src, exist_ok=True)
    os.makedirs(obj_dir, exist_ok=True)
    for d in (workdir, src):
        os.chmod(d, 0o755)
    result = BuildResult(True)
    problems: List[str] = []
    for name, data in sorted(files.items()):
        path = os.path.join(src, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o644)
        stem = os.path.join(obj_dir, name[:-2])
        pre = stem + ".i"
        plain = kx.variants["plain"].cflags
        # One sandbox for the file: preprocess, then compile what was preprocessed.
        steps = [[kx.cc, *plain, "-I", kx.include_dir, "-E", path, "-o", pre],
                 [kx.cc, *plain, "-fpreprocessed", "-c", pre, "-o", f"{stem}.plain.o"]]
        failed = _compile(kx, sandbox, steps, src, obj_dir, workdir, name, [f"{stem}.plain.o"])
        if failed is not None:
            failed.faults = {name: failed.messages}
            return failed
        with open(pre, encoding="utf-8", errors="replace") as f:
            asm_lines = inline_assembly(f.read(), path)
        if asm_lines:
            result.faults.setdefault(name, []).append(
                f"{name}: uses inline assembly (line {', '.join(map(str, asm_lines[:5]))}): "
                "not allowed in a submission (it can hide system calls from every check)")
        result.stems.append(stem)
    for name, stem in zip(sorted(files), result.stems):
        try:
            syms = policy.symbols(f"{stem}.plain.o")
            found = policy.check_object(f"{stem}.plain.o", kx.name, kx.api, allowlist, syms)
            result.explorable = result.explorable or kx.explorable(syms[0])
        except ValueError as e:
            found = [str(e)]
        if found:
            result.faults.setdefault(name, []).extend(found)
    # In the order of the files, each file's inline assembly before its symbols (as always).
    problems += [p for name in sorted(files) for p in result.faults.get(name, [])]
    if problems:
        return BuildResult(False, stage="check", messages=problems, faults=result.faults)
    # The exercise's programs (the chat's server and client): the kit's main
    # linked with the student's (renamed) plain objects, copied by _link into
    # each test binary's folder, where the process-level tests start them.
    plain_objects = [f"{stem}.plain.o" for stem in result.stems]
    _rename(kx, plain_objects)
    programs = os.path.join(workdir, "programs")
    os.makedirs(programs, exist_ok=True)
    for name, objs in kx.programs:
        program = os.path.join(programs, name)
        link = subprocess.run([kx.cc, *objs, *plain_objects, "-o", program,
                               *kx.program_ldflags], capture_output=True, text=True, timeout=120)
        if link.returncode != 0:
            text = link.stderr.replace(os.path.join(workdir, "obj") + "/", "")
            if RESOURCE_TROUBLE.search(text) or machine_short(workdir):
                raise GraderError(f"linking: the machine ran out of space or memory:\n{trim(text, 5)}")
            return BuildResult(False, stage="link",
                               messages=[f"the program {name} does not link", trim(text)])
        os.chmod(program, 0o755)
    for with_hidden in (False, True):
        failed = _link(kx, workdir, result, "plain", with_hidden)
        if failed is not None:
            return failed
    return result


def build_thread(kx: KitExercise, workdir: str, sandbox: Sandbox, result: BuildResult,
                 visible: bool, hidden: bool) -> bool:
    """Adds the ThreadSanitizer binaries the caller needs to a successful build; False if they fail."""
    return build_variant(kx, workdir, sandbox, result, "thread", visible, hidden)


def build_variant(kx: KitExercise, workdir: str, sandbox: Sandbox, result: BuildResult, variant: str,
                  visible: bool, hidden: bool) -> bool:
    """Adds the sanitizer binaries ("thread", "address") the caller needs; False if they fail.

    Their sources are the preprocessed text the checks already read.
    """
    obj_dir = os.path.join(workdir, "obj")
    flags = kx.variants[variant].cflags
    steps = [[kx.cc, *flags, "-fpreprocessed", "-c", f"{stem}.i", "-o", f"{stem}.{variant}.o"]
             for stem in result.stems]
    outputs = [f"{stem}.{variant}.o" for stem in result.stems]
    if _compile(kx, sandbox, steps, obj_dir, obj_dir, workdir, "the files", outputs) is not None:
        return False
    for with_hidden, wanted in ((False, visible), (True, hidden)):
        if wanted and _link(kx, workdir, result, variant, with_hidden) is not None:
            return False
    return True


def _compile(kx: KitExercise, sandbox: Sandbox, steps: List[List[str]], src: str, obj_dir: str,
             workdir: str, name: str, outputs: List[str]) -> Optional[BuildResult]:
    """Runs compiler steps in one sandbox; a failed BuildResult, or None when every output is there."""
    script = " && ".join(shlex.join(s) for s in steps)
    ro = [src, kx.include_dir] if src != obj_dir else [kx.include_dir]
    r = sandbox.run(["/bin/sh", "-c", script], ro_dirs=ro, rw_dir=obj_dir, cwd=src, limits=COMPILE_LIMITS)
    text = (r.stdout + r.stderr).replace(src + "/", "").replace(kx.include_dir + "/", "")
    text = text.replace(obj_dir + "/", "")
    if RESOURCE_TROUBLE.search(text) and not r.timed_out and machine_short(workdir):
        raise GraderError(f"compiling {name}: the machine ran out of space or memory:\n{trim(text, 5)}")
    if r.returncode != 0 or not all(os.path.exists(o) for o in outputs):
        why = "the compiler timed out" if r.timed_out else "it does not compile"
        return BuildResult(False, stage="compile", messages=[f"{name}: {why}", trim(text)])
    return None


def _link(kx: KitExercise, workdir: str, result: BuildResult, variant: str,
          with_hidden: bool) -> Optional[BuildResult]:
    key = variant + ("-hidden" if with_hidden else "")
    # A folder each: a test run sees only its own binary's folder, never the hidden binary.
    folder = os.path.join(workdir, "bin-" + key)
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o755)
    binary = os.path.join(folder, f"test_{kx.name}")
    v = kx.variants[variant]
    objects = [f"{stem}.{variant}.o" for stem in result.stems]
    # Checked as written; now, as `make test` does, the student's calls to the allocator and the
    # locks go to the kit's leak count and schedule explorer (kt_student.syms). Renaming twice
    # changes nothing: the second pass finds no name left to rename.
    _rename(kx, objects)
    link = subprocess.run([kx.cc, *v.link_objs(with_hidden), *objects, "-o", binary, *v.ldflags],
                          capture_output=True, text=True, timeout=120)
    if link.returncode != 0:
        text = link.stderr.replace(os.path.join(workdir, "obj") + "/", "")
        if RESOURCE_TROUBLE.search(text) or machine_short(workdir):
            raise GraderError(f"linking: the machine ran out of space or memory:\n{trim(text, 5)}")
        return BuildResult(False, stage="link", messages=["the program does not link", trim(text)])
    os.chmod(binary, 0o755)
    for name, _ in kx.programs:
        shutil.copy2(os.path.join(workdir, "programs", name), os.path.join(folder, name))
    result.binaries[key] = binary
    return None


def _rename(kx: KitExercise, objects: List[str]) -> None:
    """Sends the student's allocator and lock calls to the kit's leak count and explorer.

    Renaming twice changes nothing: the second pass finds no name left to rename.
    """
    for obj in objects if kx.rename else []:
        renamed = subprocess.run([*kx.rename, obj], capture_output=True, text=True, timeout=60)
        if renamed.returncode != 0:
            raise GraderError(f"preparing {os.path.basename(obj)} for the tests: {trim(renamed.stderr, 5)}")
