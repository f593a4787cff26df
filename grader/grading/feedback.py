"""feedback.py - what one student reads: per exercise the score and, per test, why.

Hidden tests show their one-line description and verdict, never their
source. The output a test printed is shown trimmed: it may contain the
runtime's lost-waker diagnosis, which is the most useful line of all.
"""

import html
from typing import Any, Dict

from .status import CRASH, FAIL, FLAKY, GRADED, NOT_RUN, PASS, TIMEOUT, ExerciseResult, StudentResult
from .text import clean_unicode, md_code, md_fence, md_text

LABEL = {PASS: "pass", FAIL: "FAIL", CRASH: "CRASH", TIMEOUT: "TIMEOUT", FLAKY: "FLAKY",
         NOT_RUN: "not run"}


def fmt(x: float) -> str:
    return f"{x:g}"


def _header(e: ExerciseResult) -> str:
    line = f"{fmt(e['score'])} / {fmt(e['max'])}"
    if e["bonus"]:
        line += f" + {fmt(e['bonus'])} bonus"
    return line


def markdown(r: StudentResult, meta: Dict[str, Any]) -> str:
    """feedback.md; everything that came from the submission or its run is text, never Markdown."""
    out = [f"# Feedback for {md_text(r['student'])}", "",
           f"**Total: {fmt(r['total'])} / {fmt(r['max'])}**", ""]
    for note in r["notes"]:
        out.append(f"- Note: {md_text(note)}")
    for e in r["exercises"]:
        out += ["", f"## {md_text(e['exercise'])}: {_header(e)}", "", f"_{md_text(e['title'])}_", ""]
        if e["status"] != GRADED:
            out.append(f"**{md_text(e['status'])}**")
            for m in e["messages"]:
                out += ["", md_fence(m)] if "\n" in m else [f"- {md_text(m)}"]
            out.append("")
        for n in e.get("notes", []):
            out += [f"- Note: {md_text(n)}", ""]
        out += ["| result | points | test | what it checks |", "|---|---|---|---|"]
        for t in e["tests"]:
            kind = ("hidden " if t["hidden"] else "") + ("bonus" if t.get("bonus") else "")
            name = md_code(t["id"]) + (f" ({kind.strip()})" if kind.strip() else "")
            desc = md_text(t["description"] or "")
            out.append(f"| {LABEL.get(t['status'], t['status'])} | {fmt(t.get('points', 0))}/"
                       f"{fmt(t.get('points_possible', 0))} | {name} | {desc} |")
        details = [t for t in e["tests"] if t["status"] not in (PASS, NOT_RUN)]
        for t in details:
            out += ["", f"### {md_text(t['id'])}: {LABEL.get(t['status'], t['status'])}", ""]
            if t["status"] == FLAKY:
                out.append("This test failed, then passed when run again: a race or a lost wakeup "
                           "that only shows sometimes. It is graded as failed.")
            if t["message"]:
                out += [md_fence(t["message"].strip())]
            if t.get("diagnosis"):
                out += ["Output and runtime diagnosis (trimmed):", "", md_fence(t["diagnosis"].strip())]
    out.append("")
    return "\n".join(out)


STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
.pass{color:#1a7f37}.fail,.crash,.timeout{color:#c62828;font-weight:bold}.flaky{color:#b26a00;font-weight:bold}
pre{background:#f5f5f5;padding:.5rem;overflow-x:auto;white-space:pre-wrap}"""


def html_page(r: StudentResult, meta: Dict[str, Any]) -> str:
    def esc(text: str) -> str:
        return html.escape(clean_unicode(text))

    out = ["<!doctype html><html lang=en><meta charset=utf-8>",
           f"<title>Feedback for {esc(r['student'])}</title><style>{STYLE}</style><body>",
           f"<h1>Feedback for {esc(r['student'])}</h1>",
           f"<p><strong>Total: {fmt(r['total'])} / {fmt(r['max'])}</strong></p>"]
    for note in r["notes"]:
        out.append(f"<p>Note: {esc(note)}</p>")
    for e in r["exercises"]:
        out.append(f"<h2>{esc(e['exercise'])}: {esc(_header(e))}</h2><p><em>{esc(e['title'])}</em></p>")
        if e["status"] != GRADED:
            out.append(f"<p class=fail>{esc(e['status'])}</p>")
            out += [f"<pre>{esc(m)}</pre>" for m in e["messages"]]
        out += [f"<p>Note: {esc(n)}</p>" for n in e.get("notes", [])]
        out.append("<table><tr><th>result<th>points<th>test<th>what it checks<th>details</tr>")
        for t in e["tests"]:
            st = t["status"]
            detail = ""
            if st not in (PASS, NOT_RUN):
                detail = "".join(f"<pre>{esc(x.strip())}</pre>" for x in (t["message"], t.get("diagnosis", "")) if x)
            tag = (" (hidden)" if t["hidden"] else "") + (" (bonus)" if t.get("bonus") else "")
            out.append(f"<tr><td class='{esc(st.replace(' ', '-'))}'>{esc(LABEL.get(st, st))}"
                       f"<td>{fmt(t.get('points', 0))}/{fmt(t.get('points_possible', 0))}"
                       f"<td><code>{esc(t['id'])}</code>{tag}<td>{esc(t['description'] or '')}<td>{detail}</tr>")
        out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)
