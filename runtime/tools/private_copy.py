"""private_copy.py - a test binary copied away from the build folder, with the programs it runs.

A long soak or exploration runs a private copy, so that a rebuild meanwhile
does not swap the binary under it. The exercise's programs (EX_PROGRAMS:
the chat's server and client) sit beside the test binary, where its
process-level tests look for them, so they are copied along.
"""

import os
import shutil


def copy_test_binary(built: str, scratch: str) -> str:
    """Copies `built` and the programs beside it into `scratch`; returns the copy's path."""
    binary = os.path.join(scratch, os.path.basename(built))
    shutil.copy2(built, binary)
    folder = os.path.dirname(built) or "."
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if (name != os.path.basename(built) and os.path.isfile(path)
                and os.access(path, os.X_OK) and not name.endswith((".o", ".a", ".d"))):
            shutil.copy2(path, os.path.join(scratch, name))
    return binary
