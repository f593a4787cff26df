"""classreport.py - report.html: the class at a glance, with inline SVG charts.

A score histogram, the pass rate of every test (lowest first: the test most
of the class failed is the lecture to give again) and the average per
exercise. One self-contained file, no scripts, no external assets.
"""

import html
import urllib.parse
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .status import GRADED, PASS, StudentResult
from .text import clean_unicode



def esc(text: str) -> str:
    """HTML text or attribute: escaped, undecodable bytes shown as escapes."""
    return html.escape(clean_unicode(text))


def fmt(x: float) -> str:
    return f"{x:g}"


def bars(rows: Sequence[Tuple[str, float]], width: int = 640, label_w: int = 260, bar_h: int = 18,
         max_value: Optional[float] = None, suffix: str = "") -> str:
    """A horizontal bar chart of (label, value) rows as an SVG string."""
    max_value = max_value or max([v for _, v in rows] + [1])
    h = bar_h * len(rows) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" role="img">']
    for i, (label, value) in enumerate(rows):
        y = 5 + i * bar_h
        w = (width - label_w - 60) * (value / max_value if max_value else 0)
        color = "#c62828" if value / max_value < 0.5 else "#1a7f37"
        out.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12">{esc(label)}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 4}" fill="{color}"/>')
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="12">{fmt(round(value, 1))}{suffix}</text>')
    out.append("</svg>")
    return "".join(out)


def histogram(values: Sequence[float], maximum: float, buckets: int = 10, width: int = 640,
              height: int = 200) -> str:
    counts = [0] * buckets
    for v in values:
        i = min(buckets - 1, int(buckets * v / maximum)) if maximum else 0
        counts[i] += 1
    top = max(counts + [1])
    bw = (width - 40) / buckets
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" role="img">']
    for i, c in enumerate(counts):
        h = height * c / top
        x = 20 + i * bw
        out.append(f'<rect x="{x:.1f}" y="{height - h + 10:.1f}" width="{bw - 4:.1f}" height="{h:.1f}" fill="#3465a4"/>')
        if c:
            out.append(f'<text x="{x + bw / 2 - 2:.1f}" y="{height - h + 6:.1f}" font-size="11" text-anchor="middle">{c}</text>')
        out.append(f'<text x="{x + bw / 2 - 2:.1f}" y="{height + 25}" font-size="10" text-anchor="middle">'
                   f'{round(100 * i / buckets)}%</text>')
    out.append("</svg>")
    return "".join(out)


def render(results: List[StudentResult], meta: Dict[str, Any]) -> str:
    n = len(results)
    maximum = max([r["max"] for r in results] + [0])
    out = ["<!doctype html><html lang=en><meta charset=utf-8><title>Class report</title>",
           "<style>body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem}</style><body>",
           "<h1>Class report</h1>",
           f"<p>{n} students; exercises: {esc(', '.join(meta['exercises']))}. "
           f"Sandbox: {esc(meta['sandbox'])}.</p>"]
    if n:
        avg = sum(r["total"] for r in results) / n
        out.append(f"<p>Average total: {avg:.1f} / {fmt(maximum)}</p>")
        out += ["<h2>Scores</h2>", histogram([r["total"] for r in results], maximum)]
        rows = []
        for ex in meta["exercises"]:
            scores = [e["score"] for r in results for e in r["exercises"] if e["exercise"] == ex]
            mx = next((e["max"] for r in results for e in r["exercises"] if e["exercise"] == ex), 0)
            rows.append((ex, 100 * sum(scores) / (len(scores) * mx) if mx else 0))
        out += ["<h2>Average per exercise</h2>", bars(rows, max_value=100, suffix="%")]
        for ex in meta["exercises"]:
            rate = []
            for t in meta["tests"][ex]:
                tid = f"{t['suite']}/{t['name']}"
                passed = sum(1 for r in results for e in r["exercises"] if e["exercise"] == ex
                             for x in e["tests"] if x["id"] == tid and x["status"] == PASS)
                rate.append((tid, 100 * passed / n))
            rate.sort(key=lambda p: (p[1], p[0]))
            out += [f"<h2>Pass rate per test: {esc(ex)}</h2>",
                    "<p>Lowest first: the top test is the one most of the class failed.</p>",
                    bars(rate, max_value=100, suffix="%")]
        flagged = [(r["student"], t["id"], t["flagged"]) for r in results for e in r["exercises"]
                   for t in e["tests"] if t.get("flagged")]
        if flagged:
            out += ["<h2>Flagged for review</h2>",
                    "<p>Results that ended like a pass but did not look like the reference solution's "
                    "run of the same test (graded as failed). Read the student's code.</p><ul>"]
            out += [f"<li>{esc(s)}: <code>{esc(t)}</code>: {esc(why)}</li>" for s, t, why in flagged]
            out.append("</ul>")
        out += ["<h2>Students</h2>", "<table><tr><th>student"
                + "".join(f"<th>{esc(e)}" for e in meta["exercises"]) + "<th>total</tr>"]
        for r in results:
            by = {e["exercise"]: e for e in r["exercises"]}
            from .reports import safe_name  # the folder the feedback was written to
            link = f"students/{esc(urllib.parse.quote(safe_name(r['student'])))}/feedback.html"
            out.append(f"<tr><td><a href='{link}'>{esc(r['student'])}</a>"
                       + "".join(f"<td>{fmt(by[e]['total'])}" + (f" ({esc(by[e]['status'])})"
                                 if by[e]["status"] != GRADED else "") for e in meta["exercises"])
                       + f"<td>{fmt(r['total'])}</tr>")
        out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)
