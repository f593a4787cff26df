"""submissions.py - one entry per student: a folder, a .zip or a .tar.gz, read safely.

A submission is untrusted data. Archives are unpacked by hand, member by
member: no absolute paths, no `..`, no links or devices, bounded sizes and
counts; what is refused is listed so the feedback can say so. Folders are
walked without following symbolic links, so a link to the reference
solution or the hidden tests is never read.
"""

import hashlib
import io
import os
import posixpath
import stat
import tarfile
import zipfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
MAX_FILE = 2 << 20  # a single file
MAX_TOTAL = 64 << 20  # a whole submission
MAX_FILES = 20000
SKIP_DIRS = {".git", "build", "node_modules", "__MACOSX"}


class SubmissionError(Exception):
    pass


@dataclass
class Submission:
    name: str
    path: str
    files: Dict[str, bytes] = field(default_factory=dict)  # relative posix path -> bytes
    notes: List[str] = field(default_factory=list)  # what was refused or ignored, for the feedback


def student_name(entry: str) -> str:
    for suffix in ARCHIVE_SUFFIXES:
        if entry.endswith(suffix):
            return entry[: -len(suffix)]
    return entry


def discover(folder: str) -> List[Tuple[str, str]]:
    """(name, path) of every submission in a folder, sorted by name."""
    entries = []
    for entry in sorted(os.listdir(folder)):
        path = os.path.join(folder, entry)
        if entry.startswith("."):
            continue
        if os.path.islink(path):
            continue  # a link can point anywhere; instructors submit real entries
        if os.path.isdir(path) or entry.endswith(ARCHIVE_SUFFIXES):
            entries.append((student_name(entry), path))
    return entries


def safe_member_name(name: str) -> Optional[str]:
    """The normalised relative path of an archive member, or None if it escapes."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    norm = posixpath.normpath(name)
    if norm in (".", "") or norm.startswith("../") or norm == ".." or "/../" in f"/{norm}/":
        return None
    return norm


class _Budget:
    def __init__(self) -> None:
        self.total = 0
        self.count = 0

    def take(self, size: int) -> None:
        self.total += size
        self.count += 1
        if self.total > MAX_TOTAL or self.count > MAX_FILES:
            raise SubmissionError(f"the submission is larger than {MAX_TOTAL >> 20} MiB "
                                  f"or {MAX_FILES} files")


def _skipped_dir(rel: str) -> bool:
    return any(part in SKIP_DIRS for part in rel.split("/")[:-1])


def read_zip(path: str, sub: Submission) -> None:
    budget = _Budget()
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            mode = info.external_attr >> 16
            if info.is_dir():
                continue
            rel = safe_member_name(info.filename)
            if rel is None:
                sub.notes.append(f"refused archive member `{info.filename}`: its path leaves the folder")
                continue
            if stat.S_ISLNK(mode):
                sub.notes.append(f"refused archive member `{rel}`: links are not unpacked")
                continue
            if _skipped_dir(rel):
                continue
            if info.file_size > MAX_FILE:
                sub.notes.append(f"skipped `{rel}`: larger than {MAX_FILE >> 20} MiB")
                continue
            budget.take(info.file_size)
            with z.open(info) as f:
                data = f.read(MAX_FILE + 1)  # the header's size may lie
            if len(data) > MAX_FILE:
                sub.notes.append(f"skipped `{rel}`: larger than {MAX_FILE >> 20} MiB")
                continue
            sub.files[rel] = data


def read_tar(path: str, sub: Submission) -> None:
    budget = _Budget()
    with tarfile.open(path, "r:*") as t:
        for member in t:
            if member.isdir():
                continue
            rel = safe_member_name(member.name)
            if rel is None:
                sub.notes.append(f"refused archive member `{member.name}`: its path leaves the folder")
                continue
            if not member.isreg():
                sub.notes.append(f"refused archive member `{rel}`: only regular files are unpacked")
                continue
            if _skipped_dir(rel):
                continue
            if member.size > MAX_FILE:
                sub.notes.append(f"skipped `{rel}`: larger than {MAX_FILE >> 20} MiB")
                continue
            budget.take(member.size)
            f = t.extractfile(member)
            sub.files[rel] = f.read(MAX_FILE + 1) if f else b""


def read_folder(path: str, sub: Submission) -> None:
    budget = _Budget()
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, path).replace(os.sep, "/")
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                sub.notes.append(f"refused `{rel}`: symbolic links are not followed")
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE:
                continue
            budget.take(st.st_size)
            fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW)
            with io.open(fd, "rb") as f:
                sub.files[rel] = f.read(MAX_FILE + 1)


def load(name: str, path: str) -> Submission:
    sub = Submission(name=name, path=path)
    try:
        if os.path.isdir(path):
            read_folder(path, sub)
        elif path.endswith(".zip"):
            read_zip(path, sub)
        else:
            read_tar(path, sub)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
        raise SubmissionError(f"could not read the submission: {e}") from e
    return sub


def find_student_file(sub: Submission, exercise: str, filename: str) -> Tuple[Optional[str], Optional[bytes]]:
    """The submission's copy of exercises/<exercise>/<filename>, by its path.

    Accepted, in order: the kit layout (at any depth, e.g. inside a top
    folder an archive added), <exercise>/<filename>, then the bare file name
    when only one file has it. Returns (relative path, bytes) or (None, None).
    """
    paths = sorted(sub.files)
    for suffix in (f"exercises/{exercise}/{filename}", f"{exercise}/{filename}"):
        hits = [p for p in paths if p == suffix or p.endswith("/" + suffix)]
        hits = [p for p in hits if "/solutions/" not in "/" + p]
        if hits:
            best = min(hits, key=lambda p: (p.count("/"), p))
            return best, sub.files[best]
    bare = [p for p in paths if posixpath.basename(p) == filename and "/solutions/" not in "/" + p
            and "/tests/" not in "/" + p]
    if len(bare) == 1:
        return bare[0], sub.files[bare[0]]
    return None, None


def ignored_kit_files(sub: Submission, root: str, exercise: str) -> List[str]:
    """Files of the submission that replace kit files (tests, Makefile, headers): ignored."""
    notes = []
    for rel in sorted(sub.files):
        parts = rel.split("/")
        for i in range(len(parts)):
            tail = "/".join(parts[i:])
            kit_path = os.path.join(root, tail)
            relevant = tail == "Makefile" or tail.startswith((f"exercises/{exercise}/", "runtime/"))
            if relevant and os.path.isfile(kit_path):
                with open(kit_path, "rb") as f:
                    if f.read() != sub.files[rel]:
                        notes.append(tail)
                break
    return notes


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
