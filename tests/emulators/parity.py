"""Shared by the parity tests: where the recorded Shopify captures live and how to replay them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "shopify" / "captures"
H = "harry-test-heelo.myshopify.com"
PARITY = "replayed here"
# The recordings live beside the repository (CI lays shared/ there); without them there is nothing to compare.
needs_captures = pytest.mark.skipif(not CAPTURES.is_dir(), reason=f"no recorded Shopify captures at {CAPTURES}")


def capture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CAPTURES / name).read_text())
    return data


def remap(value: Any, ids: dict[str, str]) -> Any:
    """Recorded ids -> seeded ids, everywhere in a JSON value."""
    text = json.dumps(value)
    for old, new in ids.items():
        text = text.replace(old, new)
    return json.loads(text)
