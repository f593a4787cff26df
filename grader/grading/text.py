"""text.py - untrusted text (names, paths, a test's output) made harmless for each output.

A student's name is a folder or file name they chose, and a test's output
is whatever their code printed: neither may be interpreted by what reads
the grader's outputs. One function per destination, each total (it never
raises, whatever the bytes):

* `display`: one line for a terminal or a note, control characters and
  undecodable bytes shown as escapes;
* `csv_cell`: a spreadsheet cell that is never a formula;
* `md_text` and `md_code`: Markdown that stays text (no raw HTML, no
  emphasis or links, no escaping an inline code span or a fence);
* `xml_text`: characters XML 1.0 allows (an escape for the rest);
* `folder_name`: a file-name component, injective (two names never share a
  folder) and harmless (no separators, no leading dot).
"""

import hashlib
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_XML_BAD = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SAFE = re.compile(r"[A-Za-z0-9._@+-]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def clean_unicode(text: str) -> str:
    """Undecodable bytes (surrogate escapes of file names) as \\xNN; never raises on encode."""
    if not any("\udc80" <= c <= "\udcff" or "\ud800" <= c <= "\udfff" for c in text):
        return text
    out = []
    for c in text:
        if "\udc80" <= c <= "\udcff":
            out.append(f"\\x{ord(c) - 0xdc00:02x}")
        elif "\ud800" <= c <= "\udfff":
            out.append("\ufffd")
        else:
            out.append(c)
    return "".join(out)


def display(text: str) -> str:
    """One line fit for a terminal: no control or direction-changing characters."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", clean_unicode(text))


def csv_cell(text: str) -> str:
    """A cell spreadsheets show as text: a leading =, +, -, @, tab or CR would start a formula.

    Control characters are escaped too: `cat gradebook.csv` is a terminal.
    """
    text = display(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def md_text(text: str) -> str:
    """Markdown that renders as the text itself: HTML escaped, Markdown's specials escaped."""
    text = display(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code(text: str) -> str:
    """An inline code span that contains text whatever backticks it holds."""
    text = display(text)
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def multiline(text: str) -> str:
    """Like display, but lines and tabs stay."""
    return "\n".join("\t".join(display(part) for part in line.split("\t"))
                     for line in clean_unicode(text).split("\n"))


def md_fence(text: str) -> str:
    """A fenced block that its content cannot close (the fence is longer than any run inside)."""
    text = multiline(text)
    run = max((len(m) for m in re.findall(r"`{3,}|~{3,}", text)), default=0)
    fence = "`" * max(3, run + 1)
    return f"{fence}text\n{text}\n{fence}"


def xml_text(text: str) -> str:
    """Only characters XML 1.0 allows; the rest as \\uNNNN (escape &, < and " still: saxutils)."""
    return _XML_BAD.sub(lambda m: f"\\u{ord(m.group()):04x}", clean_unicode(text))


def folder_name(name: str) -> str:
    """A student's name as one path component, different for different names.

    Letters, digits and ._@+- stay (a leading dot is encoded); every other
    byte of the UTF-8 name, % included, becomes %XX: percent-encoding is
    injective. Very long names keep a prefix and a hash of the whole name.
    """
    data = name.encode("utf-8", errors="surrogateescape")
    out = []
    for i, byte in enumerate(data):
        c = chr(byte)
        if byte < 0x80 and _SAFE.fullmatch(c) and not (i == 0 and c == "."):
            out.append(c)
        else:
            out.append(f"%{byte:02X}")
    folder = "".join(out) or "%"
    if len(folder) > 180:
        folder = folder[:150] + "~" + hashlib.sha256(data).hexdigest()[:24]
    return folder
