"""Declarative inputs (flows, mappings): loaded and validated at the edge, passed to workflows as plain data."""
