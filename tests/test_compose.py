"""docker-compose.temporal.yml (production Temporal): there is no Docker engine here, so check it against the
Compose specification (tests/fixtures/compose-spec.json, compose-spec/compose-spec at 170098b) and against what
the engine needs of its Temporal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

from engine.workflow import search
from tests.paths import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.temporal.yml"
SPEC = Path(__file__).parent / "fixtures" / "compose-spec.json"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_the_file_is_valid_compose() -> None:
    schema = json.loads(SPEC.read_text())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft7Validator(schema).iter_errors(compose())
    ]
    assert errors == []


def test_every_search_attribute_the_engine_writes_is_created_with_its_type() -> None:
    setup = "\n".join(compose()["services"]["temporal-namespace"]["command"])
    created = dict(re.findall(r"(\w+)=(Keyword|Bool|Int|Datetime|Text|Double)", setup))
    kinds = {"KEYWORD": "Keyword", "BOOL": "Bool"}
    wanted = {key.name: kinds[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")] for key in search.ALL}
    assert created == wanted


def test_ports_are_published_on_loopback_only() -> None:
    published = [port for service in compose()["services"].values() for port in service.get("ports", [])]
    assert published and all(str(port).startswith("127.0.0.1:") for port in published)


def test_no_password_is_written_in_the_file() -> None:
    services = compose()["services"]
    for name, service in services.items():
        env = service.get("environment") or {}
        for key, value in env.items():
            if re.search(r"PASSWORD|PWD|SECRET|TOKEN", key):
                assert str(value).startswith("${") and ":?" in str(value), (
                    f"{name}.{key} must come from the environment"
                )


def test_the_dynamic_config_is_yaml_the_server_reads() -> None:
    data = compose()
    content = yaml.safe_load(data["configs"]["temporal-dynamic-config"]["content"])
    assert all(isinstance(v, list) and all("value" in c for c in v) for v in content.values())
    server = data["services"]["temporal"]
    [mount] = server["configs"]
    assert server["environment"]["DYNAMIC_CONFIG_FILE_PATH"] == mount["target"]
