"""The kit's own tests: `make check` (python3 -m tests.check) and the unit tests it runs."""
