"""What the settings catalog says to people: docs/deploy.md's reference table, each command's `--help` epilog, and
`returns settings` (what this environment sets, secrets shown only as set or unset)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from engine.settings.catalog import CLIENTS, SETTINGS, Reader, Setting
from engine.settings.environment import current, set_members

PARSED_BY = {"temporalio": "`temporalio.envconfig`", "opentelemetry": "the OpenTelemetry SDK"}
HELP_WIDTH = 100


def for_reader(reader: Reader) -> list[Setting]:
    return [s for s in SETTINGS if reader in s.readers]


def _default_cell(s: Setting) -> str:
    if s.shown_default or s.default is None:
        return s.default_text
    return f"`{s.default}`"


def _readers_cell(s: Setting) -> str:
    """`clients` for every command that connects to Temporal, then the others."""
    names = ["clients"] if set(CLIENTS) <= set(s.readers) else []
    names += [r for r in s.readers if not names or r not in CLIENTS]
    cell = ", ".join(f"`{name}`" for name in names)
    return cell + (f"; parsed by {PARSED_BY[s.read_by]}" if s.read_by in PARSED_BY else "")


def reference_table() -> str:
    """The catalog as docs/deploy.md shows it (a test keeps the page in step with this)."""
    rows = ["| variable | default | secret | read by | meaning |", "| --- | --- | --- | --- | --- |"]
    for s in SETTINGS:
        readers = _readers_cell(s)
        meaning = s.meaning + (f" Option: `{s.flag}`." if s.flag else "")
        secret = "yes" if s.secret else ""
        rows.append(f"| `{s.name}` | {_default_cell(s)} | {secret} | {readers} | {meaning} |")
    return "\n".join(rows)


def help_epilog(reader: Reader) -> str:
    """The settings a command reads, for its `--help` (already laid out: the CLI prints it as is)."""
    lines = [
        "environment (declared in engine/settings/catalog.py, all of them in docs/deploy.md;",
        f"`returns settings {reader}` shows what this environment sets):",
    ]
    for s in for_reader(reader):
        notes = [f"default: {s.default_text}" if _has_default(s) else "unset by default"]
        if s.secret:
            notes.append("secret")
        if s.flag:
            notes.append(f"option {s.flag}")
        if s.read_by in PARSED_BY:
            notes.append(f"read by {PARSED_BY[s.read_by]}")
        lines.append(f"  {s.name} ({'; '.join(notes)})")
        lines.extend(textwrap.wrap(s.meaning, HELP_WIDTH, initial_indent="      ", subsequent_indent="      "))
    return "\n".join(lines)


def _has_default(s: Setting) -> bool:
    return s.default is not None or bool(s.shown_default)


def _shown(s: Setting, environ: Mapping[str, str]) -> list[str]:
    if s.family is not None:
        members = set_members(s, environ)
        if not members:
            return [f"{s.name:<38} none set"]
        return [f"{name:<38} {'set' if s.secret else environ[name]}" for name in members]
    if s.name not in environ:
        return [f"{s.name:<38} unset" + (f" (default: {s.default_text})" if _has_default(s) else "")]
    return [f"{s.name:<38} {'set' if s.secret else repr(environ[s.name])}"]


def describe(reader: Reader | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """Each setting (of one reader, or every one the engine's commands read) as the environment has it; a
    secret's value is never shown, only whether it is set."""
    environ = current(environ)
    chosen = for_reader(reader) if reader else [s for s in SETTINGS if s.read_by != "compose"]
    return [line for s in chosen for line in _shown(s, environ)]
