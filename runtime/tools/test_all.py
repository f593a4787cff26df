#!/usr/bin/env python3
"""test_all.py - `make test` without EX: every exercise, then one line each.

    test_all.py <exercise>... -- <make command and its variables>

Runs `<make command> test EX=<exercise>` for each exercise, showing its
output as it comes, then prints a summary line per exercise from
Criterion's synthesis line. Exits 1 when any exercise has a failing test.
"""

import re
import subprocess
import sys

SYNTHESIS = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    exercises, make = argv[1:split], argv[split + 1 :]
    summary, failed = [], False
    for name in exercises:
        # close_fds=False: the child make shares the calling make's job slots
        # (its jobserver pipe); closed, make warns and builds one file at a time.
        proc = subprocess.Popen(make + ["test", f"EX={name}"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace",
                                close_fds=False)
        found = None
        for line in proc.stdout:
            sys.stdout.write(line)
            match = SYNTHESIS.search(line)
            if match:
                found = tuple(int(g) for g in match.groups())
        proc.wait()
        if found is None:
            summary.append(f"  {name:<10} did not run (build error? see above)")
            failed = True
        else:
            tested, passing, failing, crashing = found
            ok = passing == tested
            failed |= not ok
            summary.append(f"  {name:<10} {passing:>3}/{tested:<3} passing"
                           + ("" if ok else f"  ({failing} failing, {crashing} crashing)"))
    print("\nSummary:")
    print("\n".join(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
