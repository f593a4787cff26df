#!/usr/bin/env python3
"""build.py - turn the slides/*.md files into one self-contained HTML deck.

    build.py [--out DIR]      (default: build/slides) -> DIR/index.html

Each Markdown file is a part of the lecture, taken in file-name order; a
line holding only `---` starts a new slide. The Markdown understood is the
small part slides need: headings, paragraphs, bullet and numbered lists,
fenced code blocks, tables, `code`, **bold** and *italics*. The deck has no
external assets: arrow keys or space move between slides, `p` shows all
slides for printing to PDF from the browser.
"""

import argparse
import html
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

STYLE = """
body { margin: 0; font: 24px/1.4 system-ui, sans-serif; background: #222; }
section { display: none; box-sizing: border-box; width: 100vw; height: 100vh; padding: 5vh 7vw;
          background: #fdfdf8; color: #1b1b1b; overflow: auto; }
section.current, body.print section { display: block; }
body.print section { height: auto; min-height: 100vh; page-break-after: always; }
h1 { font-size: 1.9em; color: #8a2b0e; } h2 { font-size: 1.4em; color: #8a2b0e; }
pre { background: #f0ede4; padding: .6em 1em; font-size: .72em; line-height: 1.35; overflow-x: auto; }
code { font-family: ui-monospace, monospace; background: #f0ede4; padding: 0 .2em; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; font-size: .8em; } td, th { border: 1px solid #bbb; padding: .2em .6em; }
.counter { position: fixed; right: 1em; bottom: .5em; font-size: .6em; color: #888; }
@media print { section { display: block !important; height: auto; page-break-after: always; } .counter { display: none; } }
"""

SCRIPT = """
const slides = [...document.querySelectorAll('section')];
let at = Math.max(0, Math.min(slides.length - 1, parseInt(location.hash.slice(1) || '1') - 1));
function show(i) {
  at = Math.max(0, Math.min(slides.length - 1, i));
  slides.forEach((s, k) => s.classList.toggle('current', k === at));
  document.querySelector('.counter').textContent = (at + 1) + ' / ' + slides.length;
  history.replaceState(null, '', '#' + (at + 1));
}
document.addEventListener('keydown', e => {
  if (['ArrowRight', 'PageDown', ' '].includes(e.key)) show(at + 1);
  if (['ArrowLeft', 'PageUp'].includes(e.key)) show(at - 1);
  if (e.key === 'p') document.body.classList.toggle('print');
});
document.addEventListener('click', e => show(at + (e.clientX > innerWidth / 3 ? 1 : -1)));
show(at);
"""


def inline(text):
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
        else:
            part = html.escape(part)
            part = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part)
            part = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", part)
            out.append(part)
    return "".join(out)


def render(markdown):
    """HTML for one slide's Markdown."""
    lines, out, i = markdown.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            i += 1
            code = []
            while i < len(lines) and not lines[i].startswith("```"):
                code.append(lines[i])
                i += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(code))}</code></pre>")
            i += 1
        elif re.match(r"^#{1,3} ", line):
            level = len(line.split(" ")[0])
            out.append(f"<h{level}>{inline(line[level + 1:])}</h{level}>")
            i += 1
        elif re.match(r"^\s*([-*]|\d+\.) ", line):
            ordered = bool(re.match(r"^\s*\d+\. ", line))
            items = []
            while i < len(lines) and re.match(r"^\s*([-*]|\d+\.) ", lines[i]):
                item = re.sub(r"^\s*([-*]|\d+\.) ", "", lines[i])
                i += 1
                while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                    item += " " + lines[i].strip()
                    i += 1
                items.append(f"<li>{inline(item)}</li>")
            tag = "ol" if ordered else "ul"
            out.append(f"<{tag}>{''.join(items)}</{tag}>")
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.match(r"^:?-+:?$", c) for c in cells):
                    tag = "th" if not rows else "td"
                    rows.append("<tr>" + "".join(f"<{tag}>{inline(c)}</{tag}>" for c in cells) + "</tr>")
                i += 1
            out.append(f"<table>{''.join(rows)}</table>")
        elif line.strip():
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"^(#|```|\||\s*[-*] |\s*\d+\. )", lines[i]):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{inline(' '.join(para))}</p>")
        else:
            i += 1
    return "\n".join(out)


def slides_of(folder):
    for name in sorted(os.listdir(folder)):
        if name.endswith(".md") and name != "README.md":
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                for chunk in re.split(r"^---\s*$", f.read(), flags=re.M):
                    if chunk.strip():
                        yield name, chunk


def build(folder, out_dir):
    sections = [f"<section data-source=\"{html.escape(name)}\">{render(chunk)}</section>"
                for name, chunk in slides_of(folder)]
    page = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Async channels in C</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(sections)
            + f"\n<div class=\"counter\"></div><script>{SCRIPT}</script></body></html>\n")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path, len(sections)


def main(argv):
    parser = argparse.ArgumentParser(description="Build the slides into one HTML file.")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "build", "slides"))
    args = parser.parse_args(argv[1:])
    path, count = build(HERE, args.out)
    print(f"slides: {count} slides in {os.path.relpath(path)} (arrow keys to move, p to print)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
