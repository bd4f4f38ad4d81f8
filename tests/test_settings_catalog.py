"""One source for configuration: every environment variable the code reads is declared in the settings catalog
(engine/settings/catalog.py), read through its one door, listed by the `--help` of each command that reads it and
in docs/deploy.md's table, both generated from the catalog; the code's defaults are the declared ones; secrets are
never printed."""

from __future__ import annotations

import argparse
import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.cli import parser
from engine.settings import Settings
from engine.settings.catalog import FAMILIES, READERS, SETTINGS
from engine.settings.environment import UndeclaredSetting, declared, default_of, env_given, env_value
from engine.settings.reference import describe, for_reader, help_epilog, reference_table
from tests.paths import REPO_ROOT

# A whole string literal shaped like one of our variables: it names a setting, so it must be declared.
OURS = re.compile(r"^(RETURNS|REBOUND|SHOPIFY|TEMPORAL|DRIFT|OTEL)_[A-Z0-9_]*$")
ACCESSORS = {"env_value", "env_given", "env_flag", "env_int", "default_of", "declared"}
CATALOG = REPO_ROOT / "engine" / "settings" / "catalog.py"  # the declarations, not reads
# Variables only the test doubles read, never the product: the benchmark's push sender gets its secret from the
# benchmark that starts it.
EMULATOR_ONLY = {"BENCH_SECRET"}


@dataclass(frozen=True)
class Found:
    where: str
    name: str
    how: str

    def __str__(self) -> str:
        return f"{self.where}: {self.name} ({self.how})"


def _is_os_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and _named(node.value, "os")


def _named(node: ast.AST, *names: str) -> bool:
    return isinstance(node, ast.Name) and node.id in names


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def environment_reads(path: Path, root: Path = REPO_ROOT) -> list[Found]:
    """Each place the file reads a variable named by a literal: os.environ / os.getenv, the catalog's accessors,
    `.get()` on a mapping named env or environ (one passed in for tests), and any whole literal shaped like ours."""
    where = str(path.relative_to(root))
    found: list[Found] = []
    for node in ast.walk(ast.parse(path.read_text())):
        name: str | None = None
        how = ""
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            first = _literal(node.args[0])
            if isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "setdefault"):
                if _is_os_environ(func.value) or _named(func.value, "env", "environ"):
                    name, how = first, f"{func.attr}()"
            elif isinstance(func, ast.Attribute) and func.attr == "getenv":
                name, how = first, "getenv()"
            elif isinstance(func, ast.Name) and func.id in ACCESSORS:
                name, how = first, f"{func.id}()"
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
            name, how = _literal(node.slice), "os.environ[...]"
        elif isinstance(node, ast.Compare) and any(_is_os_environ(c) for c in node.comparators):
            name, how = _literal(node.left), "in os.environ"
        elif (text := _literal(node)) is not None and OURS.match(text):
            name, how = text, "literal"
        if name is not None:
            found.append(Found(where, name, how))
    return found


def direct_environment_access(path: Path, root: Path = REPO_ROOT) -> list[str]:
    """os.environ or os.getenv used at all (the engine goes through engine.settings.environment)."""
    where = str(path.relative_to(root))
    tree = ast.parse(path.read_text())
    hits = [node.lineno for node in ast.walk(tree) if _is_os_environ(node)]
    hits += [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "getenv" and isinstance(node.value, ast.Name)
    ]
    hits += [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module == "os"
        and {"environ", "getenv"} & {a.name for a in node.names}
    ]
    return [f"{where}:{line}" for line in sorted(hits)]


def is_declared(name: str) -> bool:
    if name in FAMILIES:  # the family's prefix itself (`"SHOPIFY_TOKEN__" + ...`)
        return True
    try:
        declared(name)
    except UndeclaredSetting:
        return False
    return True


def sources(folder: str) -> list[Path]:
    return sorted((REPO_ROOT / folder).rglob("*.py"))


# ------------------------------------------------------------------------------------------ the code reads declared


def test_every_variable_the_engine_reads_is_declared() -> None:
    reads = [found for path in sources("engine") if path != CATALOG for found in environment_reads(path)]
    assert len(reads) > 50  # the scan sees the reads (see also the probe below)
    assert [str(f) for f in reads if not is_declared(f.name)] == []


def test_the_engine_reads_the_environment_only_through_the_catalog() -> None:
    door = REPO_ROOT / "engine" / "settings"
    outside = [hit for path in sources("engine") if door not in path.parents for hit in direct_environment_access(path)]
    assert outside == []


def test_the_emulators_read_declared_variables_or_their_own_knobs() -> None:
    reads = [found for path in sources("emulators") for found in environment_reads(path)]
    assert {f.name for f in reads} >= {"RETURNS_MAPPINGS_DIR", "RETURNS_CODEC_TOKEN", "BENCH_SECRET"}
    assert [str(f) for f in reads if not is_declared(f.name) and f.name not in EMULATOR_ONLY] == []
    assert not any(is_declared(name) for name in EMULATOR_ONLY)


def test_the_scan_finds_an_undeclared_read(tmp_path: Path) -> None:
    probe = tmp_path / "engine" / "probe.py"
    probe.parent.mkdir()
    probe.write_text(
        "import os\nfrom engine.settings.environment import env_value\n"
        "def f(env):\n"
        "    return (os.environ.get('RETURNS_NOPE_A'), os.getenv('SOME_KNOB'), os.environ['RETURNS_NOPE_B'],\n"
        "            'RETURNS_NOPE_C' in os.environ, env_value('RETURNS_NOPE_D'), env.get('PLAIN'), 'DRIFT_NOPE_E',\n"
        "            env_value('RETURNS_TASK_QUEUE'))\n"
    )
    names = [f.name for f in environment_reads(probe, tmp_path) if not is_declared(f.name)]
    assert names.count("RETURNS_NOPE_A") == 2  # as a read, and as a literal shaped like ours
    assert {"SOME_KNOB", "RETURNS_NOPE_B", "RETURNS_NOPE_C", "RETURNS_NOPE_D", "PLAIN", "DRIFT_NOPE_E"} <= set(names)
    assert "RETURNS_TASK_QUEUE" not in names
    assert len(direct_environment_access(probe, tmp_path)) == 4


def test_the_door_refuses_an_undeclared_name_and_knows_the_families() -> None:
    with pytest.raises(UndeclaredSetting, match="RETURNS_NOPE"):
        env_value("RETURNS_NOPE", {})
    assert declared("REBOUND_SECRET__CASTORE").name == "REBOUND_SECRET__<BRAND>"
    assert declared("SHOPIFY_TOKEN__CASTORE_DEMO_MYSHOPIFY_COM").name == "SHOPIFY_TOKEN__<SHOP>"
    assert env_value("REBOUND_SECRET__CASTORE", {"REBOUND_SECRET__CASTORE": "s"}) == "s"
    assert env_value("TEMPORAL_NAMESPACE", {"TEMPORAL_NAMESPACE": ""}) == ""  # as set
    assert env_given("RETURNS_HELD_RETENTION", {"RETURNS_HELD_RETENTION": ""}) == "30d"  # empty counts as unset


def test_every_declaration_the_engine_parses_is_read_somewhere() -> None:
    """No stale declaration: each variable the engine parses appears in its code; the compose file's in it."""
    literals = {f.name for path in sources("engine") if path != CATALOG for f in environment_reads(path)}
    compose = (REPO_ROOT / "docker-compose.temporal.yml").read_text()
    engine_read = [s for s in SETTINGS if s.read_by == "engine"]
    named = [s for s in engine_read if s.name in literals or any(n.startswith(s.family or "<") for n in literals)]
    assert [s.name for s in engine_read if s not in named] == []
    assert [s.name for s in SETTINGS if s.read_by == "compose" and s.name not in compose] == []


def test_every_declaration_is_well_formed() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    for s in SETTINGS:
        assert s.readers and set(s.readers) <= set(READERS), s.name
        assert s.meaning.endswith("."), s.name
        assert not (s.secret and s.default), s.name  # a secret has no default worth printing
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*(<[A-Z]+>)?", s.name), s.name


# ------------------------------------------------------------------------------------------ docs and --help


def test_the_settings_table_in_deploy_md_is_the_catalog() -> None:
    page = (REPO_ROOT / "docs" / "deploy.md").read_text()
    start = page.index("| variable | default |")
    end = page.index("<!-- end of settings table -->")
    assert page[start:end].strip() == reference_table()


def _subparser(*path: str) -> argparse.ArgumentParser:
    current = parser()
    for name in path:
        action = next(a for a in current._actions if isinstance(a, argparse._SubParsersAction))
        current = action.choices[name]
    return current


COMMANDS = {"serve": ("serve",), "worker": ("worker",), "drift": ("drift",), "events": ("events",),
            "flows": ("flows",), "mappings": ("mappings",), "legacy": ("legacy", "status"), "trace": ("trace",),
            "codec-server": ("codec-server",), "devserver": ("devserver",), "demo": ("demo",)}  # fmt: skip


@pytest.mark.parametrize("reader", sorted(COMMANDS))
def test_each_command_s_help_lists_every_setting_it_reads(reader: str) -> None:
    text = _subparser(*COMMANDS[reader]).format_help()
    assert help_epilog(reader) in text  # type: ignore[arg-type]
    listed = re.findall(r"^  ([A-Z][A-Z0-9_]*(?:<[A-Z]+>)?) \(", text, flags=re.MULTILINE)
    assert listed == [s.name for s in for_reader(reader)]  # type: ignore[arg-type]


def test_every_reader_but_the_compose_file_is_a_command_with_that_help() -> None:
    assert set(COMMANDS) == set(READERS) - {"compose"}


def _options(command: argparse.ArgumentParser) -> set[str]:
    """The command's options and its subcommands'."""
    found = set()
    for action in command._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def test_each_declared_option_is_an_option_of_a_command_that_reads_it() -> None:
    for s in SETTINGS:
        if s.flag:
            assert s.flag in {o for r in s.readers for o in _options(_subparser(*COMMANDS[r]))}, s.name


# ------------------------------------------------------------------------------------------ the declared defaults


def test_the_code_s_defaults_are_the_declared_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.ingest.limits import Limits
    from engine.ingest.retention import RetentionPolicy
    from engine.roles.worker import WorkerConfig
    from engine.shopify.plans import DEFAULT_POINTS_PER_ACTIVITY

    for s in SETTINGS:
        monkeypatch.delenv(s.name, raising=False)
    assert Settings() == Settings.from_env()
    assert (Settings().temporal_address, Settings().namespace, Settings().task_queue) == (
        "127.0.0.1:7233", "default", "returns")  # fmt: skip
    assert Limits() == Limits.from_env({}) and Limits().max_body == 512 * 1024
    assert (Limits().per_client.per_second, Limits().per_client.burst) == (100.0, 1000)
    assert RetentionPolicy() == RetentionPolicy.from_env({})
    assert RetentionPolicy().describe() == "held 30d, failed kept, accepted 30d"
    assert WorkerConfig.from_env("returns", {}) == WorkerConfig(roles=("returns",))
    assert (WorkerConfig().pull_every.total_seconds(), WorkerConfig().purge_every.total_seconds()) == (300, 3600)
    assert DEFAULT_POINTS_PER_ACTIVITY == 14 == float(default_of("RETURNS_SHOPIFY_POINTS_PER_ACTIVITY"))
    serve = _subparser("serve").parse_args([])
    assert (serve.host, serve.port, serve.workers, serve.proxy_headers, serve.forwarded_allow_ips) == (
        "127.0.0.1", 8000, 1, True, "127.0.0.1")  # fmt: skip
    assert (serve.access_log, serve.graceful_timeout, serve.log_level) == (True, 20, "info")
    codec = _subparser("codec-server").parse_args([])
    assert (codec.host, codec.port) == ("127.0.0.1", 8899)


def test_an_option_defaults_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNS_SERVE_PORT", "8123")
    monkeypatch.setenv("RETURNS_SERVE_PROXY_HEADERS", "0")
    serve = _subparser("serve").parse_args([])
    assert (serve.port, serve.proxy_headers) == (8123, False)


# ------------------------------------------------------------------------------------------ secrets


def test_secrets_are_shown_as_set_or_unset_only() -> None:
    environ = {s.name: "s3cr3t-value" for s in SETTINGS if s.secret and not s.family}
    environ |= {"REBOUND_SECRET__CASTORE": "s3cr3t-value", "SHOPIFY_TOKEN__A_MYSHOPIFY_COM": "s3cr3t-value"}
    environ["TEMPORAL_NAMESPACE"] = "returns-prod"
    shown = "\n".join(describe(None, environ))
    assert "s3cr3t" not in shown
    assert re.search(r"^REBOUND_API_TOKEN +set$", shown, flags=re.MULTILINE)
    assert re.search(r"^REBOUND_SECRET__CASTORE +set$", shown, flags=re.MULTILINE)
    assert re.search(r"^TEMPORAL_NAMESPACE +'returns-prod'$", shown, flags=re.MULTILINE)
    assert re.search(r"^RETURNS_TASK_QUEUE +unset \(default: returns\)$", shown, flags=re.MULTILINE)
    assert "s3cr3t" not in repr(Settings(database_url="postgresql://u:s3cr3t@h/db"))


def test_returns_settings_prints_what_the_environment_sets(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from engine.cli import main

    monkeypatch.setenv("RETURNS_DATABASE_URL", "postgresql://u:s3cr3t@h/db")
    monkeypatch.setenv("RETURNS_SERVE_WORKERS", "4")
    assert main(["settings", "serve"]) == 0
    out = capsys.readouterr().out
    assert "s3cr3t" not in out and re.search(r"^RETURNS_DATABASE_URL +set$", out, flags=re.MULTILINE)
    assert re.search(r"^RETURNS_SERVE_WORKERS +'4'$", out, flags=re.MULTILINE)
    assert "DRIFT_TASK_QUEUE" not in out  # not read by serve
