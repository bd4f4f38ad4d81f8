"""GraphQL documents live in .graphql files (one named operation each), validated against the real schema in tests."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def document(name: str) -> str:
    return (resources.files("engine.shopify") / "operations" / f"{name}.graphql").read_text(encoding="utf-8")


def all_documents() -> dict[str, str]:
    folder = resources.files("engine.shopify") / "operations"
    return {
        entry.name.removesuffix(".graphql"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".graphql")
    }
