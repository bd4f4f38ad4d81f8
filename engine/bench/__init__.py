"""Benchmarks, one module each: ``python -m engine.bench.<name>``."""
