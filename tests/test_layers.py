"""The engine reads top-down: a package imports the layers under it, never one above. Plumbing (`engine.temporal`:
connection, codec, dev server, sandbox, schedules) knows none of the engine's capabilities; the workers and the
return starter (`engine.workers`) sit above the capabilities they assemble and below those that use them; the
roles of `returns worker` (`engine.roles`) above all but the commands."""

from __future__ import annotations

from pathlib import Path

from tests.imports import imported_modules
from tests.paths import REPO_ROOT

ENGINE = REPO_ROOT / "engine"
LAYERS = [  # top first; packages not listed (definitions, shopify, settings, ...) are the ground everyone stands on
    {"cli"},
    {"roles"},
    {"ingest", "drift"},
    {"workers"},
    {"workflow", "registry", "activities"},
    {"temporal"},
]
PLUMBING_MAY_IMPORT = {"temporal", "errors", "settings", "telemetry"}


def engine_imports(package: str) -> list[tuple[str, str]]:
    """(file, engine package it imports) for every module of `engine.<package>`."""
    found = []
    for path in sorted((ENGINE / package).rglob("*.py")):
        where = str(path.relative_to(REPO_ROOT))
        for module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "engine" and len(parts) > 1:
                found.append((where, parts[1]))
    return found


def test_the_layers_named_are_the_engine_packages() -> None:
    assert [package for layer in LAYERS for package in layer if not (ENGINE / package).is_dir()] == []


def test_plumbing_imports_none_of_the_engine_capabilities() -> None:
    assert [f"{f} imports engine.{p}" for f, p in engine_imports("temporal") if p not in PLUMBING_MAY_IMPORT] == []


def test_no_package_imports_a_layer_above_it() -> None:
    rank = {package: i for i, layer in enumerate(LAYERS) for package in layer}
    upward = [
        f"{where} imports engine.{target}"
        for package in rank
        for where, target in engine_imports(package)
        if rank.get(target, len(LAYERS)) < rank[package]
    ]
    assert upward == []


def test_imports_inside_functions_relative_or_for_typing_count(tmp_path: Path) -> None:
    module = tmp_path / "engine" / "temporal" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from engine.workflow import search\n"
        "def f() -> None:\n    from .. import ingest\n    import engine.roles.worker\n"
    )
    found = imported_modules(module, tmp_path)
    assert {"engine.workflow.search", "engine.ingest", "engine.roles.worker"} <= found and "typing" in found
