"""What the package carries to validate and run on its own: the JSON Schemas and the shipped flows.

`schemas` and `flows` here are links to the repository's top-level folders (one source of truth); a built
wheel holds copies, so an installed engine needs no source checkout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _shipped(folder: str) -> Path:
    return Path(str(resources.files("engine.shipped") / folder))


def schemas_dir() -> Path:
    return _shipped("schemas")


def flows_dir() -> Path:
    return _shipped("flows")
