"""Strict YAML reading that remembers where every value came from, so errors can name file:line:col."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from engine.errors import DefinitionError

MAX_BYTES = 1_000_000  # a mapping or flow is a few KB; anything larger is a mistake or an attack
MAX_NODES = 50_000  # bounds alias expansion ("billion laughs")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition file, located precisely enough for an editor to jump to it."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str = ""
    skipped: bool = False  # a check that did not run (its inputs have problems of their own), not a problem itself

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        text = f"{where}: {self.path or '<document>'}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "skipped": self.skipped,
        }


@dataclass
class LoadedYaml:
    """A parsed document plus the source position of every node, keyed by its path."""

    file: str
    data: Any
    text: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path_) -> tuple[int, int]:
        """Closest known position for a path (falls back to the parent when the key is missing)."""
        p = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, path: Path_, message: str, hint: str = "", *, skipped: bool = False) -> Problem:
        line, col = self.where(path)
        return Problem(self.file, line, col, format_path(path), message, hint, skipped)

    @property
    def content_hash(self) -> str:
        """Hash of the parsed content, so formatting or comment edits do not create new versions."""
        canonical = json.dumps(self.data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first defined on line {first})", key_node.start_mark
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def _exact_number(loader: _StrictLoader, node: yaml.ScalarNode) -> Decimal | float:
    """A YAML float becomes the Decimal its text says (`0.1` stays 0.1, `2.950` keeps its value): money and
    percentages are never read through a binary float. `.inf`/`.nan` stay floats (the schema refuses them)."""
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return float(loader.construct_yaml_float(node))
    return value if value.is_finite() else float(loader.construct_yaml_float(node))


_StrictLoader.add_constructor("tag:yaml.org,2002:float", _exact_number)


def _record_positions(node: yaml.Node, path: Path_, out: dict[Path_, tuple[int, int]], budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise yaml.YAMLError("document expands to too many nodes (alias bomb?)")
    out.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            out[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _record_positions(value_node, path + (key,), out, budget)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record_positions(item, path + (i,), out, budget)


def parse_yaml(text: str, file: str) -> LoadedYaml:
    """Parse one YAML document strictly; every failure becomes a located Problem."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise DefinitionError([Problem(file, 1, 1, "", f"file is larger than {MAX_BYTES} bytes")])
    if not text.strip() or all(ln.lstrip().startswith("#") or not ln.strip() for ln in text.splitlines()):
        raise DefinitionError([Problem(file, 1, 1, "", "file is empty", "start from a shipped example")])
    try:
        node = yaml.compose(text, Loader=_StrictLoader)
        positions: dict[Path_, tuple[int, int]] = {}
        if node is not None:
            _record_positions(node, (), positions, [MAX_NODES])
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - strict SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = str(exc.problem or exc.context or exc)
        hint = "YAML indents with spaces, never tabs" if "\t" in message or "tab" in message else ""
        raise DefinitionError([Problem(file, line, col, "", f"invalid YAML: {message}", hint)]) from None
    except yaml.YAMLError as exc:
        raise DefinitionError([Problem(file, 1, 1, "", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise DefinitionError([Problem(file, 1, 1, "", "document nests too deeply")]) from None
    return LoadedYaml(file=file, data=data, text=text, positions=positions)


def read_yaml(path: Path) -> LoadedYaml:
    """Read a file as UTF-8 YAML; a non-UTF-8 file is a located error, not a UnicodeDecodeError."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DefinitionError([Problem(str(path), 1, 1, "", f"cannot read file: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DefinitionError(
            [Problem(str(path), line, 1, "", "file is not valid UTF-8", "save the file as UTF-8")]
        ) from None
    return parse_yaml(text, str(path))
