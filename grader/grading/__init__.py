"""The kit's grader: one module per concern (see grader/README.md)."""
