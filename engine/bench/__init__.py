"""Benchmarks (`make bench`): measured, never asserted in tests. Each module is runnable on its own and
updates its section of docs/benchmarks.md."""
