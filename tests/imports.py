"""What a source file imports, read with `ast` (never by importing it): for the tests of who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.paths import REPO_ROOT


def module_name(path: Path, root: Path = REPO_ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = REPO_ROOT) -> set[str]:
    """Every module the file (under `root`) imports anywhere in it (top level, inside functions, under
    TYPE_CHECKING), relative imports resolved; `from a import b` counts as `a` and `a.b` (b may be a module)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""  # `..x`: the package's parent
            module = ".".join(part for part in (base, node.module) if part)
            found.update([module, *(f"{module}.{alias.name}" for alias in node.names)])
    return found
