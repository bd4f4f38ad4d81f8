"""The source checkout the emulators, the demo and the benches run from (they are never installed elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def mappings_dir() -> Path:
    """RETURNS_MAPPINGS_DIR, else the checkout's example brands."""
    return Path(os.environ.get("RETURNS_MAPPINGS_DIR") or REPO_ROOT / "mappings")


def flows_dir() -> Path:
    """RETURNS_FLOWS_DIR, else the checkout's flows."""
    return Path(os.environ.get("RETURNS_FLOWS_DIR") or REPO_ROOT / "flows")
