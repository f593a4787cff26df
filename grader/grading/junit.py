"""junit.py - junit.xml for CI dashboards: a suite per student and exercise (or part), a case per test."""

from typing import List
from xml.sax.saxutils import escape, quoteattr

from .status import CRASH, FAIL, FLAKY, NOT_RUN, PASS, TIMEOUT, StudentResult
from .text import xml_text


def render(results: List[StudentResult]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>"]
    for r in results:
        for e in r["exercises"]:
            tests = e["tests"]
            failures = sum(t["status"] in (FAIL, FLAKY, TIMEOUT) for t in tests)
            errors = sum(t["status"] in (CRASH, NOT_RUN) for t in tests)
            student = xml_text(r["student"])
            out.append(f"  <testsuite name={quoteattr(student + '.' + e['exercise'])} "
                       f"tests=\"{len(tests)}\" failures=\"{failures}\" errors=\"{errors}\">")
            for t in tests:
                suite, name = t["id"].split("/", 1)
                head = f"    <testcase classname={quoteattr(student + '.' + suite)} name={quoteattr(name)}"
                st = t["status"]
                if st == PASS:
                    out.append(head + "/>")
                    continue
                tag = "error" if st in (CRASH, NOT_RUN) else "failure"
                msg = xml_text(t["message"] or (e["status"] if st == NOT_RUN else st))
                out.append(head + ">")
                out.append(f"      <{tag} type={quoteattr(st)} message={quoteattr(msg[:200])}>"
                           f"{escape(msg)}</{tag}>")
                out.append("    </testcase>")
            out.append("  </testsuite>")
    out.append("</testsuites>\n")
    return "\n".join(out)
