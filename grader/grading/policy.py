"""policy.py - what a student's object file may contain, checked before linking.

A test's verdict must not be something the student's code can arrange, so
the object is read with binutils (readelf, objdump) before it is linked
into a test binary:

* undefined symbols (what it calls) must match the allowlist in allow/ —
  the functions a channel needs; exit, fork, exec, open, sockets, raw
  system calls, signals, setjmp/longjmp and the like are refused, each with
  the reason;
* the global symbols it defines are exactly what the exercise's public
  header declares: a helper of its own must be `static`, because any other
  global name could replace a function something else calls (a library's,
  the runtime's, the test runner's), whatever library that is;
* only ordinary sections, checked by name and by type and flags (a
  data-named section of type INIT_ARRAY is still a constructor): no
  constructors or destructors, no test-framework sections, no executable
  code outside .text, no ifuncs;
* no system-call instructions in its machine code (inline assembly is
  refused in the source already: build.py).
"""

import fnmatch
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Set, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))

REASONS = [
    (("exit", "_exit", "_Exit", "quick_exit", "pthread_exit", "abort_*"),
     "ends the process or thread: a test must end by returning, so exit() could fake a pass"),
    (("fork", "vfork", "clone", "clone3", "posix_spawn*", "exec*", "system", "popen", "daemon",
      "pthread_create", "thrd_create"),
     "starts processes or threads: the tests create the threads they need"),
    (("open", "open64", "openat*", "fopen*", "fdopen", "freopen*", "creat*", "tmpfile*", "mkstemp*",
      "opendir", "fdopendir", "unlink*", "remove", "rename*", "mkdir*", "rmdir", "chdir", "chmod*",
      "truncate*", "ftruncate*", "link*", "symlink*", "stat*", "lstat*", "fstat*", "access",
      "readlink*", "__open*", "__xstat*", "__lxstat*", "__fxstat*", "realpath", "getcwd"),
     "touches files: a channel needs none, and results files must stay out of reach"),
    (("write", "read", "pread*", "pwrite*", "writev", "readv", "send*", "recv*", "dup", "dup2",
      "dup3", "close", "ioctl", "fcntl*", "lseek*", "pipe*", "__read_chk", "fileno"),
     "reads or writes raw file descriptors, such as the test runner's own channel"),
    (("socket", "connect", "bind", "listen", "accept*", "getaddrinfo", "gethostbyname*",
      "socketpair"),
     "uses the network, which this exercise does not need"),
    (("dlopen", "dlsym", "dlvsym", "dlmopen"), "loads code at run time"),
    (("syscall", "__syscall*", "mprotect", "mmap*", "munmap", "mremap", "brk", "sbrk", "ptrace",
      "prctl", "arch_prctl", "personality", "unshare", "setns", "chroot"),
     "makes raw system calls or changes memory protection"),
    (("kill", "raise", "signal", "sigaction", "sigprocmask", "pthread_sigmask", "pthread_kill",
      "pthread_cancel", "alarm", "setitimer", "timer_*", "sigset*", "sigaltstack"),
     "sends or catches signals, which the test runner relies on"),
    (("atexit", "on_exit", "at_quick_exit", "__cxa_atexit", "__cxa_thread_atexit*",
      "pthread_atfork"),
     "runs code when the process ends, after the test"),
    (("setjmp", "_setjmp", "__sigsetjmp", "sigsetjmp", "longjmp", "_longjmp", "siglongjmp",
      "__longjmp_chk", "setcontext", "swapcontext", "makecontext", "getcontext"),
     "jumps out of the test without returning"),
    (("getenv", "secure_getenv", "setenv", "putenv", "unsetenv", "environ", "__environ"),
     "reads or changes the environment"),
    (("cr_*", "criterion_*", "__real_*", "__wrap_*", "kt_*"),
     "reaches into the test framework, which a submission must not touch"),
]

ALLOWED_SECTIONS = [
    "", ".text", ".text.*", ".data", ".data.*", ".bss", ".bss.*", ".rodata", ".rodata.*",
    ".tdata", ".tdata.*", ".tbss", ".tbss.*", ".comment", ".note.GNU-stack", ".note.gnu.property",
    ".eh_frame", ".debug_*", ".zdebug_*", ".symtab", ".strtab", ".shstrtab", ".group",
    ".gcc_except_table*", ".rela.text*", ".rela.data*", ".rela.rodata*", ".rela.eh_frame",
    ".rela.debug_*", ".rela.tdata*", ".rela.gcc_except_table*", ".llvm_addrsig", ".note.gnu.build-id",
    ".symtab_shndx", ".data.rel.ro*", ".rela.data.rel.ro*",
]
# Section types an object of plain C has (readelf's names); anything else is refused.
ALLOWED_TYPES = {"NULL", "PROGBITS", "NOBITS", "NOTE", "RELA", "REL", "SYMTAB", "STRTAB", "GROUP",
                 "X86_64_UNWIND", "LLVM_ADDRSIG", "SYMTAB SECTION INDICIES", "SYMTAB_SHNDX"}
SYSCALL_INSN = re.compile(r"\t(syscall|sysenter|int\s+\$0x80)\b")


KIT = os.path.dirname(os.path.dirname(HERE))
# What allow/*.txt's `@runtime` line stands for: the runtime's public header, whose functions it lists.
RUNTIME_HEADER = "rt.h"
RUNTIME_REFUSED = ("is the runtime's own (raw descriptors, or the hooks and schedule the tests "
                   "set), not for a submission: use the runtime's sockets, lines and readers")


def header_functions(cc: str, header: str, folder: str, flags: Iterable[str] = ()) -> Set[str]:
    """The functions `header` (in `folder`) and the headers of `folder` it includes declare.

    GCC's -aux-info lists every function a translation unit declares with the
    file that declares it: no parsing of C by hand. Only declarations made in
    `folder` count, and never a name with two underscores after its prefix
    (the runtime's internal convention).
    """
    with tempfile.TemporaryDirectory(prefix="grader-api-") as tmp:
        probe, aux = os.path.join(tmp, "probe.c"), os.path.join(tmp, "aux.txt")
        with open(probe, "w", encoding="utf-8") as f:
            f.write(f'#include "{header}"\n')
        r = _run([cc, "-std=c11", "-D_POSIX_C_SOURCE=200809L", f"-I{folder}", *flags, "-fsyntax-only",
                  f"-aux-info={aux}", probe])
        if r.returncode != 0:
            raise ValueError(f"listing what {header} declares failed: {r.stderr.strip()[:1000]}")
        names = set()
        where = re.compile(r"^/\* (\S+):\d+:\w+ \*/ (.*)$")
        with open(aux, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = where.match(line)
                if not m or os.path.dirname(os.path.abspath(os.path.join(folder, m.group(1)))) \
                        != os.path.abspath(folder):
                    continue
                name = re.search(r"(\w+)\s*\((?!\*)", m.group(2))
                if name and "__" not in name.group(1):
                    names.add(name.group(1))
    return names


_runtime_api: Dict[Tuple[str, str], List[str]] = {}


def runtime_api(root: str = KIT, cc: str = "cc") -> List[str]:
    """Every function the runtime's public header (rt.h, and what it includes) declares, sorted."""
    if (root, cc) not in _runtime_api:
        _runtime_api[(root, cc)] = sorted(header_functions(cc, RUNTIME_HEADER, os.path.join(root, "runtime")))
    return _runtime_api[(root, cc)]


def load_allowlist(exercise: str, root: str = KIT, cc: str = "cc") -> List[str]:
    """The patterns of allow/base.txt and allow/<exercise>.txt: names a student object may call.

    A line `@runtime` stands for every function the runtime's public header
    declares; a line `!pattern` refuses what it matches, whatever allows it.
    """
    patterns = []
    for name in ("base.txt", f"{exercise}.txt"):
        path = os.path.join(HERE, "allow", name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for ln in f:
                    ln = ln.split("#", 1)[0].strip()
                    if ln == "@runtime":
                        patterns += runtime_api(root, cc)
                    elif ln:
                        patterns.append(ln)
    return patterns


def allowed(symbol: str, allowlist: List[str]) -> bool:
    """Whether an allowlist lets a student object call `symbol`."""
    if any(fnmatch.fnmatchcase(symbol, p[1:]) for p in allowlist if p.startswith("!")):
        return False
    return any(fnmatch.fnmatchcase(symbol, p) for p in allowlist if not p.startswith("!"))


def reason_for(symbol: str) -> str:
    for names, why in REASONS:
        if any(fnmatch.fnmatchcase(symbol, n) for n in names):
            return why
    if symbol.startswith("rt_"):
        return RUNTIME_REFUSED
    return "is not on this exercise's list of allowed functions"


def _run(argv: List[str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


# One symbol of `readelf -s -W`: number, value, size, type, binding, visibility, section index, name
# (a dynamic symbol's name carries its version, "printf@GLIBC_2.2.5 (2)").
ELF_SYMBOL = re.compile(r"^\s*\d+:\s+[0-9a-fA-F]+\s+\S+\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(\S+))?")


@dataclass
class Symbol:
    name: str  # without a version
    kind: str  # readelf's type: FUNC, OBJECT, NOTYPE, TLS, IFUNC, ...
    binding: str  # LOCAL, GLOBAL, WEAK, UNIQUE
    section: str  # UND when undefined, ABS, COM, or the section's index

    @property
    def undefined(self) -> bool:
        return self.section == "UND"


def elf_symbols(paths: List[str], dynamic: bool = False) -> Dict[str, List[Symbol]]:
    """Every named symbol of each ELF file ({path: [Symbol]}), read by readelf in one process.

    readelf, not nm: nm loads every plugin of bfd-plugins first (LLVM's gold plugin among them,
    40 ms a call), readelf reads the file alone (1 ms). Raises ValueError for a file it cannot read.
    """
    out = _run(["readelf", "--dyn-syms" if dynamic else "--syms", "-W", *paths])
    if out.returncode != 0 or "Error:" in out.stderr:
        raise ValueError(f"readelf could not read the symbols: {out.stderr.strip()[:500]}")
    found: Dict[str, List[Symbol]] = {p: [] for p in paths}
    current = paths[0] if len(paths) == 1 else ""
    for line in out.stdout.splitlines():
        if line.startswith("File: ") and len(paths) > 1:
            current = line[len("File: "):].strip()
            found.setdefault(current, [])
            continue
        m = ELF_SYMBOL.match(line)
        if m is None or not m.group(5):
            continue
        found.setdefault(current, []).append(Symbol(m.group(5).split("@", 1)[0], m.group(1), m.group(2),
                                                    m.group(4)))
    return found


def symbols(obj: str) -> Tuple[Set[str], Set[str], Set[str]]:
    """(undefined, defined_globals, ifuncs) of an object file."""
    undefined: Set[str] = set()
    defined: Set[str] = set()
    ifuncs: Set[str] = set()
    for sym in elf_symbols([obj])[obj]:
        if sym.undefined:
            undefined.add(sym.name)
        elif sym.kind == "IFUNC":
            ifuncs.add(sym.name)
        elif sym.binding != "LOCAL":  # GLOBAL, WEAK, UNIQUE: a name the link sees
            defined.add(sym.name)
    return undefined, defined, ifuncs


@dataclass
class Section:
    name: str
    type: str
    flags: str  # readelf's letters: W write, A alloc, X execute, ...


SECTION_ROW = re.compile(r"^\s*\[\s*\d+\]\s+(\S*)\s+(\S+(?: SECTION INDICIES)?)\s+[0-9a-f]+\s+[0-9a-f]+"
                         r"\s+[0-9a-f]+\s+[0-9a-f]+\s+(\S*)")


def sections(obj: str) -> List[Section]:
    """Every section of an object with its type and flags (readelf -S -W)."""
    out = _run(["readelf", "-S", "-W", obj])
    found = []
    for line in out.stdout.splitlines():
        m = SECTION_ROW.match(line)
        if m:
            name, kind, flags = m.group(1), m.group(2), m.group(3)
            if name == "NULL":  # the null section has no name: readelf shows its type there
                name, kind, flags = "", "NULL", ""
            found.append(Section(name, kind, flags if re.fullmatch(r"[A-Za-z]*", flags) else ""))
    return found


def section_problems(s: Section) -> List[str]:
    """Why one section is refused (empty: it is an ordinary section of plain C)."""
    problems = []
    if s.type not in ALLOWED_TYPES:
        problems.append(f"has a section `{s.name}` of type {s.type}: constructors, destructors and "
                        "test-framework hooks run outside the tests and are not allowed")
    elif not any(fnmatch.fnmatchcase(s.name, p) for p in ALLOWED_SECTIONS):
        problems.append(f"has a section `{s.name}`: constructors, destructors and test-framework "
                        "hooks run outside the tests and are not allowed")
    elif "X" in s.flags and not fnmatch.fnmatchcase(s.name, ".text*"):
        problems.append(f"has executable code in section `{s.name}`: only .text may hold code")
    elif "X" in s.flags and "W" in s.flags:
        problems.append(f"has a section `{s.name}` that is both writable and executable")
    return problems


def check_object(obj: str, exercise: str, api: Set[str],
                 allowlist: Optional[List[str]] = None,
                 found: Optional[Tuple[Set[str], Set[str], Set[str]]] = None) -> List[str]:
    """Problems found in one student object, as sentences for the student (empty: ok).

    api: the names the exercise's public header declares, the only global
    names the object may define. found: the object's symbols() when the
    caller has them already.
    """
    allowlist = allowlist if allowlist is not None else load_allowlist(exercise)
    problems = []
    undefined, defined, ifuncs = found if found is not None else symbols(obj)
    for sym in sorted(undefined):
        if not allowed(sym, allowlist) or _explicitly_refused(sym):
            problems.append(f"uses `{sym}`, which {reason_for(sym)}")
    for sym in sorted(defined - api):
        problems.append(f"defines `{sym}`, which {exercise}'s header does not declare: make it "
                        "`static` (a submission may define only the header's functions; any other "
                        "global name could replace code the tests rely on)")
    for sym in sorted(ifuncs):
        problems.append(f"defines `{sym}` as an ifunc, whose resolver would run before any test")
    for section in sections(obj):
        problems += section_problems(section)
    dis = _run(["objdump", "-d", "--no-show-raw-insn", obj])
    for line in dis.stdout.splitlines():
        if SYSCALL_INSN.search(line):
            problems.append("contains a system-call instruction (inline assembly): "
                            "not allowed in a submission")
            break
    return problems


def _explicitly_refused(sym: str) -> bool:
    # The allowlist uses patterns (str*, mem*); a few names they match are refused anyway.
    return sym in ("strfry", "memfd_create", "stdin")


def taken_names(kit_objects: Iterable[str], libraries: Iterable[str]) -> Set[str]:
    """Global names defined by the kit's own objects and the shared libraries linked."""
    names: Set[str] = set()
    for obj in kit_objects:
        names |= symbols(obj)[1]
    for lib in libraries:
        names |= {sym.name for sym in elf_symbols([lib], dynamic=True)[lib] if not sym.undefined}
    return names


def shared_libraries(cc: str) -> List[str]:
    """The shared libraries every test binary links with."""
    libs = []
    for name in ("libcriterion.so", "libc.so.6", "libpthread.so.0", "libm.so.6"):
        out = _run([cc, f"-print-file-name={name}"])
        path = out.stdout.strip()
        if path and os.path.isabs(path) and os.path.exists(path):
            libs.append(os.path.realpath(path))
    return libs
