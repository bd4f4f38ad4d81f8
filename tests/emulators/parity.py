"""Shared by the parity tests: where the recorded Shopify captures live and how to replay them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import shared_path

CAPTURES = shared_path("shopify", "captures")
# The recording project's request documents, for captures that recorded responses but not every document.
REQUESTS = shared_path("shopify", "draft-proxy-notes", "parity-requests")
H = "harry-test-heelo.myshopify.com"
PARITY = "replayed here"
# The recordings live beside the repository (CI lays shared/ there); without them there is nothing to compare.
needs_captures = pytest.mark.skipif(not CAPTURES.is_dir(), reason=f"no recorded Shopify captures at {CAPTURES}")


def capture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CAPTURES / name).read_text())
    return data


def request(name: str) -> str:
    return (REQUESTS / f"{name}.graphql").read_text()


def swap_ids(text: str, ids: dict[str, str]) -> str:
    """Recorded ids -> seeded ids in a text, longest first so no id rewrites another's prefix."""
    for old in sorted(ids, key=len, reverse=True):
        text = text.replace(old, ids[old])
    return text


def remap(value: Any, ids: dict[str, str]) -> Any:
    """Recorded ids -> seeded ids, everywhere in a JSON value."""
    return json.loads(swap_ids(json.dumps(value), ids))
