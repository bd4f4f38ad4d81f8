"""Deployed mappings: immutable, content-hashed versions per brand, one active, kept in Temporal."""
