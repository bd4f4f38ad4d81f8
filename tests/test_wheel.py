"""The engine as a deployment installs it: the built wheel in a fresh virtualenv outside the repository. It carries
what it needs to validate and run (schemas, the shipped flows) and none of the emulators or their dependencies."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT


def run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with only the engine's wheel (and its declared dependencies) installed."""
    root = tmp_path_factory.mktemp("wheel")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root), str(REPO_ROOT)], root)
    assert built.returncode == 0, built.stderr
    [wheel] = root.glob("rebound_returns_engine-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "engine/shipped/schemas/mapping.schema.json" in names and "engine/shipped/flows/return.yaml" in names
    assert not [n for n in names if n.startswith("emulators/") or "/emulators/" in n], "emulators in the wheel"
    venv = root / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)], root).returncode == 0
    done = run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], root, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


def test_the_installed_engine_validates_a_mapping_kept_anywhere(installed: Path, tmp_path: Path) -> None:
    good = tmp_path / "castore.yaml"
    good.write_text((REPO_ROOT / "mappings" / "castore.yaml").read_text())
    bad = tmp_path / "broken.yaml"
    bad.write_text(good.read_text().replace("plan: plus", "plan: platinum"))
    returns = str(installed / "bin" / "returns")
    ok = run([returns, "mappings", "validate", str(good)], tmp_path)
    assert ok.returncode == 0 and "1 file(s) checked, 0 problem(s)" in ok.stdout, ok.stdout + ok.stderr
    refused = run([returns, "mappings", "validate", str(bad)], tmp_path)
    assert refused.returncode == 1
    assert f"{bad}:9:3: shop.plan:" in refused.stdout and "platinum" in refused.stdout, refused.stdout


def test_the_installed_engine_serves_and_works_with_no_source_tree(installed: Path, tmp_path: Path) -> None:
    returns = str(installed / "bin" / "returns")
    for command in ("serve", "worker"):
        shown = run([returns, command, "--help"], tmp_path)
        assert shown.returncode == 0 and f"usage: returns {command}" in shown.stdout, shown.stderr
    python = str(installed / "bin" / "python")
    flow = run([python, "-c", "from engine.shipped import flows_dir; print(flows_dir() / 'return.yaml')"], tmp_path)
    shipped = Path(flow.stdout.strip())
    assert shipped.is_file() and str(REPO_ROOT) not in str(shipped)
    assert run([returns, "flows", "validate", str(shipped)], tmp_path).returncode == 0


def test_production_install_carries_no_emulator_or_its_dependencies(installed: Path, tmp_path: Path) -> None:
    python = str(installed / "bin" / "python")
    for module in ("graphql", "emulators"):
        probe = run([python, "-c", f"import {module}"], tmp_path)
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, module
    production_path = "engine.ingest.app, engine.roles.worker, engine.cli, engine.drift.runner"
    imported = run([python, "-c", f"import {production_path}"], tmp_path)
    assert imported.returncode == 0, imported.stderr
    demo = run([str(installed / "bin" / "returns"), "demo"], tmp_path)
    assert demo.returncode == 2 and "returns demo needs the emulators" in demo.stderr


def test_no_engine_module_imports_the_emulators_but_the_commands_that_drive_them() -> None:
    """Only `returns demo` and `returns flows test` (inside their functions, with a hint when missing)."""
    importers = []
    for path in sorted((REPO_ROOT / "engine").rglob("*.py")):
        tree = ast.parse(path.read_text())
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        owner = {id(inner): fn.name for fn in functions for inner in ast.walk(fn)}
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name == "emulators" or name.startswith("emulators.") for name in names):
                importers.append(f"{path.relative_to(REPO_ROOT)}:{owner.get(id(node), '<module>')}")
    assert sorted(importers) == ["engine/cli/definitions.py:_flows_test", "engine/cli/run.py:_demo"]
