#!/usr/bin/env python3
"""deck.py - put the lecture's parts together into one Marp deck.

    deck.py build --out build/slides/deck.md [--deps FILE] [--diagrams DIR]
    deck.py puppeteer-config CHROME   a puppeteer launch config for mmdc

`build` reads the parts (slides/NN-name.md, in file-name order), expands
the directives below, checks that every slide has speaker notes, and writes
one Markdown file for Marp, plus a make dependency file naming every source
the deck was cut from (so a changed source rebuilds the deck, and nothing
else does).

Directives, each alone on a line of a part:

    <!-- snippet: solutions/mpsc/mpsc.c#mpsc-send-tail -->
        the lines between `//@slide mpsc-send-tail` and the next `//@end`
        in that file, dedented, as a fenced code block;
    <!-- snippet: solutions/mpsc/mpsc.c#mpsc-send stub -->
        the same region as the student's stub shows it (the STUB part of
        each solution block instead of the solution);
    <!-- snippet: slides/examples/countdown.c -->
        a whole file. The example files in slides/examples/ are complete
        programs that `make slides-check` compiles and runs, so they
        cannot rot either; they may carry markers too.

In a cut region, the solution markers (//# BEGIN SOLUTION, //# STUB,
//# END SOLUTION, //> ...) never show, nor do nested //@ markers.
A Markdown image whose target is diagrams/NAME.svg, ![alt w:800](diagrams/NAME.svg)
(w:/h: set its width or height in pixels), becomes an <img> of the SVG
that mmdc rendered from slides/diagrams/NAME.mmd, inlined as a data: URI,
so the HTML deck is one self-contained file.

Every failure names the part and line, and exits with status 1.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
SLIDES = os.path.dirname(HERE)
ROOT = os.path.dirname(SLIDES)

PART = re.compile(r"^\d\d-[a-z0-9-]+\.md$")
SNIPPET = re.compile(r"^<!--\s*snippet:\s*(?P<path>[^#\s]+)(?:#(?P<name>[\w-]+))?"
                     r"(?P<stub>\s+stub)?\s*-->\s*$")
DIAGRAM = re.compile(r"!\[(?P<alt>[^\]]*)\]\(diagrams/(?P<name>[\w-]+)\.svg\)")
SIZE = re.compile(r"\b(?P<key>w|h|width|height):(?P<value>\d+)(?:px)?\b")
# Slide markers: `//@slide name` ... `//@end` (C), `#@slide` ... `#@end` (make, shell).
MARK_BEGIN = re.compile(r"^\s*(?://|#)@slide\s+(?P<name>[\w-]+)\s*$")
MARK_END = re.compile(r"^\s*(?://|#)@end\s*$")
# The stub generator's markers (grader/stubgen.py).
SOL_BEGIN = re.compile(r"^\s*//# BEGIN SOLUTION\s*$")
SOL_STUB = re.compile(r"^\s*//# STUB\s*$")
SOL_END = re.compile(r"^\s*//# END SOLUTION\s*$")
STUB_LINE = re.compile(r"^(\s*)//>(?: (.*)|)$")
COMMENT = re.compile(r"<!--(.*?)-->", re.S)
# Marp's directives: a comment made only of `key: value` lines with these keys is not a note.
DIRECTIVES = {"theme", "paginate", "header", "footer", "class", "backgroundColor",
              "backgroundImage", "backgroundPosition", "backgroundRepeat", "backgroundSize",
              "color", "size", "style", "headingDivider", "math", "lang", "title",
              "description", "author", "image", "keywords", "url", "marp", "transition"}
LANGUAGES = {".c": "c", ".h": "c", ".py": "python", ".mk": "makefile", ".sh": "sh",
             ".json": "json", ".rs": "rust"}

FRONT_MATTER = """---
marp: true
theme: kit
paginate: true
size: 16:9
lang: en
title: Async channels in C
description: Futures, wakers and channels, from the Rust course, in C
---
"""


class DeckError(Exception):
    """A problem in a part or a source, with its place."""


@dataclass
class Region:
    begin: int  # index of the first line after the begin marker
    end: int = -1  # index of the end marker


@dataclass
class Source:
    path: str
    lines: list[str]
    regions: dict[str, Region] = field(default_factory=dict)


def read_source(rel: str, cache: dict[str, Source]) -> Source:
    if rel in cache:
        return cache[rel]
    full = os.path.join(ROOT, rel)
    if os.path.isabs(rel) or not os.path.normpath(full).startswith(ROOT + os.sep):
        raise DeckError(f"{rel}: a snippet must name a file inside the kit")
    try:
        with open(full, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise DeckError(f"{rel}: cannot read it ({e.strerror})") from None
    source = Source(rel, lines)
    open_regions: list[tuple[str, Region]] = []
    for i, line in enumerate(lines):
        begin, end = MARK_BEGIN.match(line), MARK_END.match(line)
        if begin:
            name = begin.group("name")
            if name in source.regions or any(n == name for n, _ in open_regions):
                raise DeckError(f"{rel}:{i + 1}: slide marker '{name}' is defined twice")
            open_regions.append((name, Region(i + 1)))
        elif end:
            if not open_regions:
                raise DeckError(f"{rel}:{i + 1}: //@end without a //@slide before it")
            name, region = open_regions.pop()
            region.end = i
            source.regions[name] = region
    if open_regions:
        raise DeckError(f"{rel}: slide marker '{open_regions[-1][0]}' is never closed by //@end")
    cache[rel] = source
    return source


def cut(lines: list[str], stub: bool) -> list[str]:
    """The lines a slide shows: solution markers and nested slide markers removed."""
    out, state = [], "shared"
    for line in lines:
        if MARK_BEGIN.match(line) or MARK_END.match(line):
            continue
        if SOL_BEGIN.match(line):
            state = "solution"
        elif SOL_STUB.match(line):
            state = "stub"
        elif SOL_END.match(line):
            state = "shared"
        elif state == "shared" or (state == "solution" and not stub):
            out.append(line)
        elif state == "stub" and stub:
            match = STUB_LINE.match(line)
            if match:
                out.append((match.group(1) + (match.group(2) or "")).rstrip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    indent = min((len(l) - len(l.lstrip()) for l in out if l.strip()), default=0)
    # A macro's continuation backslashes are aligned at column 100: bring them in.
    return [re.sub(r"\s+\\$", lambda _: " \\", l[indent:]) for l in out]


def snippet(rel: str, name: str | None, stub: bool, cache: dict[str, Source]) -> list[str]:
    source = read_source(rel, cache)
    if name is None:
        body = source.lines
    else:
        region = source.regions.get(name)
        if region is None:
            known = ", ".join(sorted(source.regions)) or "none"
            raise DeckError(f"{rel}: no slide marker '{name}' (//@slide {name} ... //@end); "
                            f"markers there: {known}")
        body = source.lines[region.begin:region.end]
    shown = cut(body, stub)
    if not shown:
        raise DeckError(f"{rel}#{name}: the marked region is empty")
    language = LANGUAGES.get(os.path.splitext(rel)[1], "")
    return [f"```{language}", *shown, "```"]


def is_note(comment: str) -> bool:
    body = comment.strip()
    if not body or body.startswith("snippet:"):
        return False
    keys = [re.match(r"^_?(\w+)\s*:", l.strip()) for l in body.splitlines() if l.strip()]
    return not all(k and k.group(1) in DIRECTIVES for k in keys)


def slides_of(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each slide of a part: `---` lines outside code fences split."""
    start, fenced = 1, False
    lines: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        if line.strip() == "---" and not fenced:
            yield start, "\n".join(lines)
            start, lines = number + 1, []
        else:
            lines.append(line)
    yield start, "\n".join(lines)


def svg_uri(path: str) -> str:
    """The rendered diagram as a data: URI, with its size from the viewBox (mmdc writes 100%)."""
    with open(path, encoding="utf-8") as f:
        svg = f.read()
    box = re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"', svg)
    if box:
        width, height = box.groups()
        svg = re.sub(r'^<svg([^>]*?) width="100%"',
                     lambda m: f'<svg{m.group(1)} width="{width}" height="{height}"', svg, count=1)
        svg = re.sub(r"max-width: *[\d.]+px;? *", "", svg, count=1)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def parts() -> list[str]:
    names = sorted(n for n in os.listdir(SLIDES) if PART.match(n))
    if not names:
        raise DeckError("slides/: no parts (NN-name.md files)")
    return names


def build(out: str, deps: str | None, diagrams: str) -> int:
    cache: dict[str, Source] = {}
    used_diagrams: set[str] = set()
    problems: list[str] = []
    chunks: list[str] = []
    count = 0
    for name in parts():
        rel = f"slides/{name}"
        with open(os.path.join(SLIDES, name), encoding="utf-8") as f:
            text = f.read()
        for first, slide in slides_of(text):
            count += 1
            notes = [c for c in COMMENT.findall(slide) if is_note(c)]
            if not notes:
                problems.append(f"{rel}:{first}: this slide has no speaker notes (<!-- ... -->)")
        expanded: list[str] = []
        for number, line in enumerate(text.splitlines(), 1):
            match = SNIPPET.match(line.strip())
            if match:
                try:
                    expanded += snippet(match.group("path"), match.group("name"),
                                        bool(match.group("stub")), cache)
                except DeckError as e:
                    problems.append(f"{rel}:{number}: {e}")
                continue
            if "<!-- snippet" in line:
                problems.append(f"{rel}:{number}: a snippet directive must be alone on its line: "
                                "<!-- snippet: path#marker -->")

            def inline(m: re.Match[str]) -> str:
                svg = os.path.join(diagrams, m.group("name") + ".svg")
                used_diagrams.add(m.group("name"))
                if not os.path.exists(svg):
                    problems.append(f"{rel}:{number}: diagram {m.group('name')} was not rendered "
                                    f"(is there a slides/diagrams/{m.group('name')}.mmd?)")
                    return m.group(0)
                # An <img>, not Markdown: markdown-it refuses data: URIs of SVGs.
                style = "".join(f"{'width' if s.group('key')[0] == 'w' else 'height'}:"
                                f"{s.group('value')}px;" for s in SIZE.finditer(m.group("alt")))
                alt = html.escape(SIZE.sub("", m.group("alt")).strip(), quote=True)
                return (f'<img class="diagram" alt="{alt}" src="{svg_uri(svg)}"'
                        + (f' style="{style}"' if style else "") + ">")

            expanded.append(DIAGRAM.sub(inline, line))
        chunks.append("\n".join(expanded).strip("\n"))
    unused = sorted(n[:-4] for n in os.listdir(os.path.join(SLIDES, "diagrams"))
                    if n.endswith(".mmd") and n[:-4] not in used_diagrams)
    for n in unused:
        problems.append(f"slides/diagrams/{n}.mmd: no slide shows it")
    if problems:
        for p in problems:
            print(f"slides: {p}", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write(FRONT_MATTER + "\n" + "\n\n---\n\n".join(chunks) + "\n")
    os.replace(out + ".tmp", out)
    with open(os.path.splitext(out)[0] + ".count", "w", encoding="utf-8") as f:
        f.write(f"{count}\n")
    if deps:
        sources = sorted(cache)
        with open(deps, "w", encoding="utf-8") as f:
            f.write(f"{out}: {' '.join(sources)}\n")
            # A source that goes away must not break the next run (as gcc -MP does).
            f.writelines(f"{s}:\n" for s in sources)
    return 0


def puppeteer_config(chrome: str) -> int:
    # Root (CI) cannot use Chromium's sandbox; the other flags keep a closed
    # network from slowing the browser down with connections it never needs.
    config = {"executablePath": chrome,
              "args": ["--no-sandbox", "--disable-gpu", "--no-first-run",
                       "--disable-background-networking", "--disable-component-update",
                       "--disable-sync"]}
    print(json.dumps(config, indent=2))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Put the lecture's parts together.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--out", required=True)
    b.add_argument("--deps")
    b.add_argument("--diagrams", default=os.path.join(ROOT, "build", "slides", "diagrams"))
    p = sub.add_parser("puppeteer-config")
    p.add_argument("chrome")
    args = parser.parse_args(argv[1:])
    try:
        if args.command == "build":
            return build(args.out, args.deps, args.diagrams)
        return puppeteer_config(args.chrome)
    except DeckError as e:
        print(f"slides: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
