#!/usr/bin/env python3
"""watch.py - `make watch EX=<ex>`: rerun the tests whenever a student file is saved.

    watch.py <exercise> -- <make command and its variables>

Runs `make test EX=<ex>` at once, then again each time one of the
exercise's files (its EX_STUDENT_FILES, and its header) changes. It looks
at their modification times twice a second, which works everywhere; where
inotifywait (Linux, inotify-tools) or fswatch (macOS) is installed it waits
on that instead, and still compares the times, so an editor that saves by
renaming is seen too. Ctrl-C stops it.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Dict, List

import kit_info


def mtimes(paths: List[str]) -> Dict[str, float]:
    found = {}
    for p in paths:
        try:
            found[p] = os.stat(p).st_mtime
        except OSError:
            found[p] = 0.0  # being replaced right now: the next look sees it
    return found


def wait_for_event(folder: str, files: List[str]) -> None:
    """Returns when something may have changed (or after a while, to look anyway)."""
    if shutil.which("inotifywait"):
        subprocess.run(["inotifywait", "-qq", "-t", "5", "-e", "close_write,moved_to,create",
                        folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif shutil.which("fswatch"):
        try:
            subprocess.run(["fswatch", "-1", "-l", "0.2", *files], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=5)
        except subprocess.TimeoutExpired:
            pass
    else:
        time.sleep(0.5)


def main(argv: List[str]) -> int:
    if "--" not in argv or len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    ex, make = argv[1], argv[split + 1:]
    folder = os.path.join(kit_info.ROOT, "exercises", ex)
    decl = kit_info.read_declaration(ex)
    files = [os.path.join(folder, f) for f in decl.get("EX_STUDENT_FILES", "").split()]
    files += [os.path.join(folder, f"{ex}.h")] if os.path.exists(
        os.path.join(folder, f"{ex}.h")) else []
    names = ", ".join(os.path.relpath(f, kit_info.ROOT) for f in files)
    # Ctrl-C stops it even when started from a shell that had it ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while True:
            seen = mtimes(files)
            # close_fds=False: the child make shares the calling make's job slots.
            subprocess.run(make + ["test", f"EX={ex}"], close_fds=False)
            print(f"\nwatch: waiting for a change to {names} (Ctrl-C stops)", flush=True)
            while mtimes(files) == seen:
                wait_for_event(folder, files)
            time.sleep(0.1)  # let the editor finish writing
            print("\n" + "=" * 72 + f"\nwatch: changed, {time.strftime('%H:%M:%S')}", flush=True)
    except KeyboardInterrupt:
        print("\nwatch: stopped")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
