"""Security regression tests: one module per finding of a probe (issue 11). The next probe adds
its findings here, each with the test that would have caught it."""
