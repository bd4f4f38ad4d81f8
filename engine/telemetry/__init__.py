"""Traces and metrics (OpenTelemetry): configured from the standard OTEL_* variables, off (and free) when unset."""
