"""submissions.py - one entry per student: a folder, a .zip or a .tar.gz, read safely.

A submission is untrusted data. Archives are unpacked by hand, member by
member: no absolute paths, no `..`, no links or devices, bounded sizes and
counts; what is refused is listed so the feedback can say so. Folders are
walked without following symbolic links, so a link to the reference
solution or the hidden tests is never read.

Whatever an upload is (an encrypted or corrupt zip, a name that is not
UTF-8, a million members), reading it either gives that student's files
and notes or raises SubmissionError, their problem alone: never another
exception that would stop the class run.
"""

import hashlib
import io
import os
import posixpath
import stat
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .text import display

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
MAX_FILE = 2 << 20  # a single file
MAX_TOTAL = 64 << 20  # a whole submission, unpacked, and an archive file as handed in
MAX_FILES = 20000  # files taken from a folder
MAX_MEMBERS = 10000  # members of an archive, whatever they are
MAX_SCANNED = 256 << 20  # bytes of archive members read or skipped (a compressed stream is read through)
MAX_NOTES = 30  # refused members named in the feedback; the rest are counted
SKIP_DIRS = {".git", "build", "node_modules", "__MACOSX"}


class SubmissionError(Exception):
    pass


@dataclass
class Submission:
    name: str
    path: str
    files: Dict[str, bytes] = field(default_factory=dict)  # relative posix path -> bytes
    notes: List[str] = field(default_factory=list)  # what was refused or ignored, for the feedback
    more_notes: int = 0  # notes beyond MAX_NOTES, only counted

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(display(text))
        else:
            self.more_notes += 1


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


def duplicates(entries: List[Tuple[str, str]]) -> List[List[str]]:
    """Groups of entries graded under one name, or sharing a feedback folder (each group sorted)."""
    from .text import folder_name
    groups: Dict[str, List[str]] = {}
    for name, path in entries:
        groups.setdefault(folder_name(name), []).append(path)
    return [sorted(g) for g in groups.values() if len(g) > 1]


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


def zip_member_count(path: str) -> int:
    """The member count a zip's end record declares, read before anything else of it."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - (1 << 16) - 22))
        tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) < at + 22:
            raise SubmissionError("the .zip file is damaged (no end of central directory)")
        count = struct.unpack("<H", tail[at + 10:at + 12])[0]
        locator = tail.rfind(b"PK\x06\x07", 0, at)
        if count == 0xFFFF and locator >= 0:  # zip64: the count is in the zip64 end record
            offset = struct.unpack("<Q", tail[locator + 8:locator + 16])[0]
            f.seek(offset)
            record = f.read(56)
            if record[:4] != b"PK\x06\x06":
                raise SubmissionError("the .zip file is damaged (bad zip64 end record)")
            count = struct.unpack("<Q", record[32:40])[0]
    return int(count)


def read_zip(path: str, sub: Submission) -> None:
    budget = _Budget()
    if zip_member_count(path) > MAX_MEMBERS:
        raise SubmissionError(f"the .zip holds more than {MAX_MEMBERS} members: refused")
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        if len(infos) > MAX_MEMBERS:
            raise SubmissionError(f"the .zip holds more than {MAX_MEMBERS} members: refused")
        for info in infos:
            mode = info.external_attr >> 16
            if info.is_dir():
                continue
            rel = safe_member_name(info.filename)
            if rel is None:
                sub.note(f"refused archive member `{info.filename}`: its path leaves the folder")
                continue
            if stat.S_ISLNK(mode):
                sub.note(f"refused archive member `{rel}`: links are not unpacked")
                continue
            if _skipped_dir(rel):
                continue
            if info.file_size > MAX_FILE:
                sub.note(f"skipped `{rel}`: larger than {MAX_FILE >> 20} MiB")
                continue
            budget.take(info.file_size)
            try:
                with z.open(info) as f:
                    data = f.read(MAX_FILE + 1)  # the header's size may lie
            except RuntimeError as e:  # zipfile's word for an encrypted member
                sub.note(f"could not read `{rel}`: it is encrypted ({e}); hand it in without a password")
                continue
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, OSError) as e:
                sub.note(f"could not read `{rel}`: the archive is damaged there ({type(e).__name__}: {e})")
                continue
            if len(data) > MAX_FILE:
                sub.note(f"skipped `{rel}`: larger than {MAX_FILE >> 20} MiB")
                continue
            sub.files[rel] = data


def read_tar(path: str, sub: Submission) -> None:
    budget = _Budget()
    members = scanned = 0
    with tarfile.open(path, "r:*") as t:
        for member in t:
            members += 1
            scanned += max(0, member.size)
            if members > MAX_MEMBERS:
                raise SubmissionError(f"the archive holds more than {MAX_MEMBERS} members: refused")
            if scanned > MAX_SCANNED:
                raise SubmissionError(f"the archive unpacks to more than {MAX_SCANNED >> 20} MiB: refused")
            if member.isdir():
                continue
            rel = safe_member_name(member.name)
            if rel is None:
                sub.note(f"refused archive member `{member.name}`: its path leaves the folder")
                continue
            if not member.isreg():
                sub.note(f"refused archive member `{rel}`: only regular files are unpacked")
                continue
            if _skipped_dir(rel):
                continue
            if member.size > MAX_FILE:
                sub.note(f"skipped `{rel}`: larger than {MAX_FILE >> 20} MiB")
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
                sub.note(f"refused `{rel}`: symbolic links are not followed")
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE:
                continue
            budget.take(st.st_size)
            fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW)
            with io.open(fd, "rb") as f:
                sub.files[rel] = f.read(MAX_FILE + 1)


def load(name: str, path: str) -> Submission:
    """The submission at path; SubmissionError (only) when it cannot be read at all."""
    sub = Submission(name=name, path=path)
    try:
        if os.path.isdir(path):
            read_folder(path, sub)
        else:
            size = os.path.getsize(path)
            if size > MAX_TOTAL:
                raise SubmissionError(f"the archive is larger than {MAX_TOTAL >> 20} MiB: refused")
            if path.endswith(".zip"):
                read_zip(path, sub)
            else:
                read_tar(path, sub)
    except SubmissionError:
        raise
    except UnicodeDecodeError as e:
        raise SubmissionError("could not read the submission: a file name in it is not valid UTF-8 "
                              f"although the archive says it is ({e.reason})") from e
    except RuntimeError as e:
        raise SubmissionError(f"could not read the submission: it is encrypted ({e})") from e
    except Exception as e:  # noqa: BLE001 - any other damage is this student's problem alone
        raise SubmissionError(f"could not read the submission: {type(e).__name__}: {e}") from e
    if sub.more_notes:
        sub.notes.append(f"... and {sub.more_notes} more refused or skipped members")
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
