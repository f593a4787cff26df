"""progress.py - one line of progress: students done / total, elapsed, ETA."""

import sys
import threading
import time
from typing import TextIO

from .text import display


def clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


class Progress:
    def __init__(self, total: int, stream: TextIO = sys.stderr, quiet: bool = False) -> None:
        self.total, self.done, self.stream, self.quiet = total, 0, stream, quiet
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def step(self, name: str) -> None:
        with self.lock:
            self.done += 1
            if self.quiet:
                return
            elapsed = time.monotonic() - self.start
            eta = elapsed / self.done * (self.total - self.done)
            line = (f"[grade] {self.done}/{self.total} students, {clock(elapsed)} elapsed, "
                    f"ETA {clock(eta)}  ({display(name)})")
            if self.tty:
                self.stream.write("\r\033[K" + line + ("\n" if self.done == self.total else ""))
            else:
                self.stream.write(line + "\n")
            self.stream.flush()

    def elapsed(self) -> float:
        return time.monotonic() - self.start
