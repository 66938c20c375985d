"""Benchmarks that print ratios and budgets as JSON: `make bench`, `python -m bench --json`."""
