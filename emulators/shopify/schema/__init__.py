"""Shopify's real Admin GraphQL schemas (SDL captured by introspection), vendored gzipped per API version.

``load_schema`` builds once per process and version (about 3 s each), never at import time.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

from graphql import GraphQLSchema, build_schema

SUPPORTED_VERSIONS: tuple[str, ...] = ("2026-04", "2026-07")


class UnsupportedVersion(LookupError):
    """The emulator has no schema for this API version."""


def schema_sdl(version: str) -> str:
    """The SDL text for an API version, decompressed from the package data."""
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersion(version)
    data = resources.files(__package__).joinpath(f"admin-{version}.graphql.gz").read_bytes()
    return gzip.decompress(data).decode("utf-8")


@cache
def load_schema(version: str) -> GraphQLSchema:
    """The built schema. Shopify's SDL is trusted: its self-check (strict in graphql-core 3.3) is skipped."""
    schema = build_schema(schema_sdl(version), assume_valid=True, assume_valid_sdl=True, no_location=True)
    schema._validation_errors = []  # mark as validated: document validation should not re-check Shopify's SDL
    return schema
