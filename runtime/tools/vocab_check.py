#!/usr/bin/env python3
"""vocab_check.py - every channel spells the same idea the same way.

Reads the vocabulary table of CONTRIBUTING.md (the rows under the heading
"One vocabulary": idea | kind | spelling), then parses the declarations of
each channel's public headers (exercises/<ch>/<ch>.h and, when it exists,
exercises/<ch>/kit/<ch>_recv_future.h) and fails when one of them declares
a type, function, enum value, field or parameter whose name the table does
not allow, when a function the table marks `const` takes a handle that is
not const, or when a header lacks a paragraph the table requires.

A channel is an exercise whose exercise.mk says `EX_KIND = channel`.

    vocab_check.py                          check every channel of the kit
    vocab_check.py --channel NAME HEADER... check these headers as channel NAME
    vocab_check.py --table FILE ...         read the table from FILE
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KINDS = ("type", "function", "constant", "field", "parameter", "const", "paragraph")


@dataclass
class Table:
    """The allowed spellings, by kind, with <ch>/<CH>/<WORD> placeholders."""

    spellings: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})
    # Paragraph openings whose whole paragraph must read the same in every header.
    same_everywhere: list[str] = field(default_factory=list)

    def patterns(self, kind: str, channel: str) -> list[re.Pattern[str]]:
        return [spelling_pattern(s, channel) for s in self.spellings[kind]]

    def allows(self, kind: str, channel: str, name: str) -> bool:
        return any(p.fullmatch(name) for p in self.patterns(kind, channel))


@dataclass
class Declaration:
    kind: str  # "type", "function", "constant", "field" or "parameter"
    name: str
    line: int
    owner: str = ""  # the function or type a parameter or field belongs to
    const: bool = True  # parameters: a pointer to const, or no pointer at all


def spelling_pattern(spelling: str, channel: str) -> re.Pattern[str]:
    """`<ch>_send_result` -> mpsc_send_result; `<CH>_SEND_<WHY>` -> MPSC_SEND_[A-Z][A-Z0-9_]*."""
    out, pos = [], 0
    for m in re.finditer(r"<(\w+)>", spelling):
        out.append(re.escape(spelling[pos:m.start()]))
        word = m.group(1)
        if word == "ch":
            out.append(re.escape(channel))
        elif word == "CH":
            out.append(re.escape(channel.upper()))
        elif word.isupper():
            out.append("[A-Z][A-Z0-9_]*")
        else:
            out.append("[a-z][a-z0-9_]*")
        pos = m.end()
    out.append(re.escape(spelling[pos:]))
    return re.compile("".join(out))


def read_table(text: str) -> Table:
    """The rows of the table under the "One vocabulary" heading."""
    table = Table()
    in_section, in_table = False, False
    for line in text.splitlines():
        if line.startswith("#"):
            in_section = "one vocabulary" in line.lower()
            in_table = False
            continue
        if not in_section:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) >= 3 and [c.lower() for c in cells[:3]] == ["idea", "kind", "spelling"]:
            in_table = True
            continue
        if not in_table or not cells or set(cells[0]) <= set("-: "):
            continue
        kind = cells[1].lower()
        if kind not in KINDS:
            raise ValueError(f"vocabulary table: unknown kind '{cells[1]}' (one of {', '.join(KINDS)})")
        spellings = re.findall(r"`([^`]+)`", "|".join(cells[2:]))
        table.spellings[kind] += spellings
        if kind == "paragraph" and "same words" in cells[0].lower():
            table.same_everywhere += spellings
    if not table.spellings["type"] or not table.spellings["function"]:
        raise ValueError("vocabulary table: no 'One vocabulary' table with type and function rows")
    return table


def strip_comments(source: str) -> str:
    """Comments and preprocessor lines become blanks; line numbers are kept."""
    def blank(m: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    source = re.sub(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\])*\"", blank, source, flags=re.S)
    return re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", blank, source, flags=re.M)


def top_level_statements(code: str) -> list[tuple[str, int]]:
    """The declarations at file scope, each with the line it starts on."""
    out, depth, start = [], 0, 0
    for i, c in enumerate(code):
        if c in "{(":
            depth += 1
        elif c in "})":
            depth -= 1
        elif c == ";" and depth == 0:
            text = code[start:i]
            if text.strip():
                lead = len(text) - len(text.lstrip())
                out.append((text.strip(), code.count("\n", 0, start + lead) + 1))
            start = i + 1
    return out


def split_commas(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for c in text:
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def matching_paren(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced parentheses in: {text}")


def parameters(text: str, owner: str, line: int) -> list[Declaration]:
    out = []
    for param in split_commas(text):
        if param in ("void", "..."):
            continue
        pointer = re.search(r"\(\s*\*\s*(\w+)\s*\)", param)  # a function pointer parameter
        name = pointer.group(1) if pointer else re.findall(r"\w+", param)[-1]
        const = "*" not in param or bool(re.match(r"const\b", param)) or pointer is not None
        out.append(Declaration("parameter", name, line, owner, const))
    return out


def declarations(source: str) -> list[Declaration]:
    """What a header declares: types, functions, enum values, fields and parameters."""
    found: list[Declaration] = []
    for text, line in top_level_statements(strip_comments(source)):
        text = " ".join(text.split())
        if text.startswith("typedef "):
            body = text[len("typedef "):]
            pointer = re.match(r".*?\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)$", body)
            if pointer:  # typedef ret (*name)(params)
                found.append(Declaration("type", pointer.group(1), line))
                found += parameters(pointer.group(2), pointer.group(1), line)
                continue
            name = re.findall(r"\w+", body)[-1]
            found.append(Declaration("type", name, line))
            braces = re.search(r"\{(.*)\}", body)
            if braces and body.startswith("enum"):
                for item in split_commas(braces.group(1)):
                    found.append(Declaration("constant", item.split("=")[0].strip(), line, name))
            elif braces:
                for member in braces.group(1).split(";"):
                    if member.strip():
                        words = re.findall(r"\w+", member)
                        found.append(Declaration("field", words[-1], line, name))
            continue
        if text.startswith(("struct ", "enum ")) and "(" not in text:
            tag = re.findall(r"\w+", text)[1]
            found.append(Declaration("type", tag, line))
            continue
        paren = text.find("(")
        if paren < 0:
            raise ValueError(f"line {line}: a declaration that is neither a type nor a function: {text}")
        name = re.findall(r"\w+", text[:paren])[-1]
        found.append(Declaration("function", name, line))
        found += parameters(text[paren + 1:matching_paren(text, paren)], name, line)
    return found


def paragraphs(source: str) -> list[str]:
    """The paragraphs of the header's first comment, each on one line."""
    m = re.search(r"/\*(.*?)\*/", source, re.S)
    lines = [re.sub(r"^\s*\* ?", "", l) for l in (m.group(1).splitlines() if m else [])]
    paras, cur = [], []
    for l in lines + [""]:
        if l.strip():
            cur.append(l.strip())
        elif cur:
            paras.append(" ".join(cur))
            cur = []
    return paras


def check_header(table: Table, channel: str, path: str, source: str) -> list[str]:
    """The problems of one header, each 'path:line: what'."""
    problems = []
    decls = declarations(source)
    for d in decls:
        if d.kind == "type" and d.name.startswith(("struct ", "enum ")):
            continue
        if not table.allows(d.kind, channel, d.name):
            where = f" (in {d.owner})" if d.owner else ""
            allowed = ", ".join(s.replace("<ch>", channel).replace("<CH>", channel.upper())
                                for s in table.spellings[d.kind])
            problems.append(f"{path}:{d.line}: {d.kind} '{d.name}'{where} is not in the kit's "
                            f"vocabulary (CONTRIBUTING.md allows: {allowed})")
    const_functions = [d.name for d in decls
                       if d.kind == "function" and table.allows("const", channel, d.name)]
    for d in decls:
        if d.kind == "parameter" and d.owner in const_functions and not d.const:
            problems.append(f"{path}:{d.line}: {d.owner} must take '{d.name}' as a pointer to "
                            "const (the vocabulary table's const row)")
    if os.path.basename(path) == f"{channel}.h":
        paras = paragraphs(source)
        for opening in table.spellings["paragraph"]:
            if not any(p.startswith(opening) for p in paras):
                problems.append(f"{path}: the top comment has no paragraph starting "
                                f"\"{opening}\" (the vocabulary table's paragraph rows)")
    return problems


def same_paragraphs(table: Table, headers: dict[str, str]) -> list[str]:
    """Paragraphs whose row says "same words" must read the same in every channel's header."""
    problems = []
    for opening in table.same_everywhere:
        texts = {}
        for path, source in headers.items():
            for p in paragraphs(source):
                if p.startswith(opening):
                    texts[path] = p
        if len(set(texts.values())) > 1:
            problems.append(f"the paragraph \"{opening}...\" differs between "
                            f"{', '.join(sorted(texts))}: use the same words in every header")
    return problems


def kit_channels(root: str) -> dict[str, list[str]]:
    """Channel name -> its public headers, for every exercise declared a channel."""
    channels = {}
    base = os.path.join(root, "exercises")
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        decl = os.path.join(base, name, "exercise.mk")
        if not os.path.isfile(decl):
            continue
        with open(decl, encoding="utf-8") as f:
            if not re.search(r"^EX_KIND\s*=\s*channel\s*$", f.read(), re.M):
                continue
        headers = [os.path.join(base, name, f"{name}.h")]
        future = os.path.join(base, name, "kit", f"{name}_recv_future.h")
        if os.path.isfile(future):
            headers.append(future)
        channels[name] = headers
    return channels


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Check the channels' headers against the vocabulary table.")
    parser.add_argument("--table", default=os.path.join(ROOT, "CONTRIBUTING.md"))
    parser.add_argument("--channel", nargs="+", metavar=("NAME", "HEADER"),
                        help="check these headers as channel NAME")
    args = parser.parse_args(argv[1:])
    try:
        with open(args.table, encoding="utf-8") as f:
            table = read_table(f.read())
    except (OSError, ValueError) as e:
        print(f"vocab_check: {e}", file=sys.stderr)
        return 2
    if args.channel:
        if len(args.channel) < 2:
            parser.error("--channel needs a name and at least one header")
        channels = {args.channel[0]: args.channel[1:]}
    else:
        channels = kit_channels(ROOT)
        if not channels:
            print("vocab_check: no exercise says EX_KIND = channel", file=sys.stderr)
            return 2
    problems, main_headers, count = [], {}, 0
    for channel, headers in channels.items():
        for path in headers:
            rel = os.path.relpath(path, ROOT) if os.path.isabs(path) else path
            try:
                with open(path, encoding="utf-8") as f:
                    source = f.read()
                problems += check_header(table, channel, rel, source)
            except (OSError, ValueError) as e:
                problems.append(f"{rel}: {e}")
                continue
            count += 1
            if os.path.basename(path) == f"{channel}.h":
                main_headers[rel] = source
    problems += same_paragraphs(table, main_headers)
    for p in problems:
        print(f"vocab_check: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"vocab_check: {count} headers of {len(channels)} channels follow the vocabulary")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
