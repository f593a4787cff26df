"""Checks of the kit's own material (run by `make check`)."""
