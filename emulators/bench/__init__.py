"""Benchmarks, one module each: ``python -m emulators.bench.<name>``."""
