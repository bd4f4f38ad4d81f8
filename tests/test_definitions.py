"""Flows and mappings are validated before use; errors name file, line, column and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main
from engine.definitions.mapping import load_mapping
from engine.definitions.schema_check import load_schema as load_json_schema
from engine.errors import DefinitionError
from tests.paths import REPO_ROOT

CASTORE = (REPO_ROOT / "mappings" / "castore.yaml").read_text()


def write(tmp_path: Path, text: str, name: str = "f.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(loader, path: Path) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(DefinitionError) as err:
        loader(path)
    return [str(p) for p in err.value.problems]


def test_shipped_mappings_are_valid_and_name_their_schema() -> None:
    brands = []
    for path in sorted((REPO_ROOT / "mappings").glob("*.yaml")):
        assert path.read_text().startswith("# yaml-language-server: $schema=../schemas/mapping.schema.json")
        brands.append(load_mapping(path).brand)
    assert len(brands) == len(set(brands)), brands  # one file per brand
    assert {"castore", "cult", "lounge", "oliver"} <= set(brands)  # the demo's and the tests' brands


def test_mapping_unknown_location_suggests_the_fix(tmp_path: Path) -> None:
    text = CASTORE.replace("location: outlet", "location: outlett")
    (msg,) = problems(load_mapping, write(tmp_path, text))
    assert "grades.rules.B.location" in msg and "unknown location 'outlett'" in msg and "dc, outlet" in msg


def test_mapping_unknown_field_names_allowed_keys(tmp_path: Path) -> None:
    text = CASTORE.replace("  trigger: inspected", "  triger: inspected")
    path = write(tmp_path, text)
    first, *_ = problems(load_mapping, path)
    line = next(i + 1 for i, row in enumerate(text.splitlines()) if "triger:" in row)
    assert first.startswith(f"{path}:{line}:3: refund.triger: ") and "'triger' was unexpected" in first, first
    assert "allowed keys here: gift_cards, issuer, method," in first and ", trigger)" in first, first


def test_cli_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mappings", "validate", str(REPO_ROOT / "mappings" / "castore.yaml")]) == 0
    bad = write(tmp_path, CASTORE.replace("currency: GBP", "currency: pounds"))
    assert main(["mappings", "validate", "--format", "json", str(bad)]) == 1
    out = capsys.readouterr().out
    assert '"valid": false' in out and "shop.currency" in out


def _walk_properties(schema: dict, node: dict, path: str = ""):  # type: ignore[no-untyped-def]
    def resolve(n: dict) -> dict:
        while "$ref" in n:
            n = schema["definitions"][n["$ref"].split("/")[-1]]
        return n

    node = resolve(node)
    for key, sub in (node.get("properties") or {}).items():
        yield f"{path}.{key}", sub, resolve(sub)
        yield from _walk_properties(schema, sub, f"{path}.{key}")
    for child in ("additionalProperties", "items"):
        if isinstance(node.get(child), dict):
            yield from _walk_properties(schema, node[child], f"{path}.*")


def test_every_mapping_field_has_a_description_and_an_example() -> None:
    schema = load_json_schema("mapping.schema.json")  # checked against the draft-07 meta-schema on load
    assert schema["$schema"].startswith("http://json-schema.org/draft-07/")
    missing = [
        path
        for path, raw, resolved in _walk_properties(schema, schema)
        if not (raw.get("description") or resolved.get("description"))
        or not (raw.get("examples") or resolved.get("examples"))
    ]
    assert missing == []
