"""Benchmarks: each module is a command (``python -m bench.<name>``) printing ops/s and latency percentiles."""
