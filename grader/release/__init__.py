"""The student release: stubs made from the solutions, and the handout."""
