"""Benchmarks: each bench_*.py compares linernotes with the plain library call, same run."""
