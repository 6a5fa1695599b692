"""Benchmarks of the outsourcing crawler: `python -m bench` (see bench/run.py)."""
