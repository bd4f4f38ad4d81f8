"""docker-compose.temporal.yml (production Temporal, and the engine under the profile `engine`) and the engine's
Dockerfile: there is no Docker engine here, so check the compose file against the Compose specification
(tests/fixtures/compose-spec.json, compose-spec/compose-spec at 170098b) and both against what the engine needs."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

from engine import cli
from engine.workflow import search
from tests.paths import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.temporal.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
SPEC = Path(__file__).parent / "fixtures" / "compose-spec.json"
ENGINE = {"returns-db", "returns-receiver", "returns-worker"}
SECRET_KEY = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|API_KEY")
REQUIRED = re.compile(r"\$\{(\w+):\?[^}]*\}")  # ${NAME:?message}: compose refuses to start without NAME


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
    kinds = {"KEYWORD": "Keyword", "BOOL": "Bool", "DATETIME": "Datetime"}
    wanted = {key.name: kinds[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")] for key in search.ALL}
    assert created == wanted


def test_ports_are_published_on_loopback_only() -> None:
    published = [port for service in compose()["services"].values() for port in service.get("ports", [])]
    assert published and all(str(port).startswith("127.0.0.1:") for port in published)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def required(value: str) -> str | None:
    """The variable a `${NAME:?message}` value requires; None for anything else (a literal, `${NAME:-default}`)."""
    found = REQUIRED.fullmatch(value)
    return found.group(1) if found else None


def test_no_password_is_written_in_the_file() -> None:
    checked: set[tuple[str, str]] = set()
    for name, service in compose()["services"].items():
        for key, value in environment(service).items():
            if SECRET_KEY.search(key):
                assert required(value), f"{name}.{key} must be ${{VAR:?...}} from the environment"
                checked.add((name, key))
            credentials = re.search(r"://[^/:@\s]+:(.*)@[^@]*$", value)  # a URL's user:password@host
            if credentials:
                assert required(credentials.group(1)) == "POSTGRES_PASSWORD", f"{name}.{key}: a literal password"
                checked.add((name, key))
    database_urls = {("returns-receiver", "RETURNS_DATABASE_URL"), ("returns-worker", "RETURNS_DATABASE_URL")}
    assert checked >= {("postgresql", "POSTGRES_PASSWORD"), ("returns-db", "PGPASSWORD"), *database_urls}


def test_the_engine_reaches_its_held_events_database_with_the_postgres_password() -> None:
    services = compose()["services"]
    [created] = re.findall(r"createdb (\w+)", services["returns-db"]["command"][0])
    for name in ("returns-receiver", "returns-worker"):
        url = environment(services[name])["RETURNS_DATABASE_URL"]
        found = re.fullmatch(r"postgresql://temporal:(\$\{[^}]+\})@postgresql:5432/(\w+)", url)
        assert found, f"{name}: {url}"
        password, database = found.groups()
        assert required(password) == "POSTGRES_PASSWORD" and database == created
    job = services["returns-db"]
    assert job["image"] == services["postgresql"]["image"]
    assert job["depends_on"]["postgresql"]["condition"] == "service_healthy"
    assert "pg_database" in job["command"][0]  # created only when missing: the job can run on every `up`


def test_the_engine_runs_only_under_its_profile() -> None:
    services = compose()["services"]
    engine = {name for name, service in services.items() if service.get("profiles") == ["engine"]}
    assert engine == ENGINE
    temporal = {name: service for name, service in services.items() if name not in ENGINE}
    assert temporal and all("profiles" not in service for service in temporal.values())
    for name, service in temporal.items():  # `up` without the profile must not need an engine service
        assert not set(service.get("depends_on") or {}) & ENGINE, name


def test_the_receiver_and_the_worker_run_the_image_built_from_the_dockerfile() -> None:
    services = compose()["services"]
    receiver, worker = services["returns-receiver"], services["returns-worker"]
    for service in (receiver, worker):
        build = service["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == REPO_ROOT
        assert (REPO_ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
        assert service["image"] == receiver["image"]
        assert environment(service)["TEMPORAL_ADDRESS"] == "temporal:7233"
        conditions = {name: dep["condition"] for name, dep in service["depends_on"].items()}
        assert conditions == {
            "temporal": "service_healthy",
            "temporal-namespace": "service_completed_successfully",  # the search attributes the workflows write
            "returns-db": "service_completed_successfully",
        }
        assert all(str(path).startswith("${RETURNS_ENV_FILE") for path in service["env_file"])  # the operator's file
    assert receiver["command"] == ["serve", "--host", "0.0.0.0"]
    assert worker["command"] == ["worker"]
    serve = cli.parser().parse_args(receiver["command"])
    assert serve.command == "serve" and serve.host == "0.0.0.0"
    assert cli.parser().parse_args(worker["command"]).command == "worker"
    assert "ports" not in worker


def test_the_receiver_is_healthy_when_ready_and_the_worker_has_no_http_check() -> None:
    services = compose()["services"]
    receiver = services["returns-receiver"]
    test = receiver["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    compile(test[3], "healthcheck", "exec")
    [url] = re.findall(r"http://[^'\"]+", test[3])
    assert url == "http://127.0.0.1:8000/readyz"
    assert receiver["ports"] == ["127.0.0.1:8000:8000"]  # the port the check and the published port agree on
    assert services["returns-worker"]["healthcheck"] == {"disable": True}


def test_the_dynamic_config_is_yaml_the_server_reads() -> None:
    data = compose()
    content = yaml.safe_load(data["configs"]["temporal-dynamic-config"]["content"])
    assert all(isinstance(v, list) and all("value" in c for c in v) for v in content.values())
    server = data["services"]["temporal"]
    [mount] = server["configs"]
    assert server["environment"]["DYNAMIC_CONFIG_FILE_PATH"] == mount["target"]


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; comments dropped, continuation lines joined."""
    text = "\n".join(line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#"))
    instructions: list[tuple[str, str]] = []
    for line in text.replace("\\\n", " ").splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in dockerfile():
        if instruction[0] == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


def test_the_image_builds_the_wheel_then_installs_only_it() -> None:
    build, runtime = stages()
    base = r"python:3\.11-slim@sha256:[0-9a-f]{64}"  # pinned by digest (`make pin-base`), the same in both stages
    assert re.fullmatch(rf"{base} AS (\w+)", build[0][1], re.IGNORECASE)
    assert runtime[0][0] == "FROM" and re.fullmatch(base, runtime[0][1])
    assert build[0][1].split()[0] == runtime[0][1]
    stage = build[0][1].split()[-1]
    assert any(i == "RUN" and "pip wheel --no-deps" in args for i, args in build)
    copies = [shlex.split(args) for i, args in runtime if i == "COPY"]
    assert copies == [[f"--from={stage}", "/wheels/rebound_returns_engine-*.whl", "/tmp/wheels/"]]
    [install] = [args for i, args in runtime if i == "RUN" and "pip install" in args]
    installed = [w for w in shlex.split(install.split("&&")[0]) if not w.startswith("-")][2:]
    assert installed == ["/tmp/wheels/rebound_returns_engine-*.whl"]
    assert not [args for _, args in build + runtime if "emulators" in args]


def test_the_build_context_has_what_the_wheel_needs_and_no_local_state() -> None:
    ignored = [p for p in DOCKERIGNORE.read_text().splitlines() if p.strip() and not p.startswith("#")]
    [build, _] = stages()
    sources = [shlex.split(args)[:-1] for i, args in build if i == "COPY"]
    for source in (s.rstrip("/") for group in sources for s in group):
        assert (REPO_ROOT / source).exists(), source
        assert not [p for p in ignored if fnmatch.fnmatch(source, p)], f"{source} is excluded from the context"
    for kept_out in (".git", ".venv", ".data", "emulators", "tests", "docs", "returns.env", ".env"):
        assert [p for p in ignored if fnmatch.fnmatch(kept_out, p)], kept_out


def test_the_image_runs_returns_as_a_user_with_a_health_check() -> None:
    runtime = stages()[-1]
    last = dict(runtime)  # the last of each instruction wins
    user = last["USER"].split(":")[0]
    assert user not in ("", "root", "0")
    assert json.loads(last["ENTRYPOINT"]) == ["returns"]
    assert json.loads(last["CMD"]) == ["serve", "--host", "0.0.0.0"]
    assert last["EXPOSE"] == "8000" and last["STOPSIGNAL"] == "SIGTERM"
    env = dict(word.split("=", 1) for word in shlex.split(last["ENV"]))
    assert env["PYTHONUNBUFFERED"] == "1" and env["RETURNS_DATA_DIR"] == "/var/lib/returns"
    _, _, check = last["HEALTHCHECK"].partition("CMD ")
    command = json.loads(check)
    assert command[:2] == ["python", "-c"] and "/healthz" in command[2]
    compile(command[2], "healthcheck", "exec")
