"""Benchmarks, run by hand: ``python -m bench`` (see docs/benchmarks.md)."""
