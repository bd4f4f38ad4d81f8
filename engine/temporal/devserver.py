"""The embedded default: `temporal server start-dev` with a SQLite file and the caller's search attributes."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.common import SearchAttributeKey

from engine.temporal.binaries import temporal_cli


@dataclass
class DevServer:
    process: subprocess.Popen[bytes]
    address: str
    ui_url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def dev_server_flags(keys: Sequence[SearchAttributeKey[Any]]) -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev` (Keyword, Bool, Int, ...)."""
    flags = []
    for key in keys:
        kind = key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_").title().replace("_", "")
        flags += ["--search-attribute", f"{key.name}={kind}"]
    return flags


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


async def start_dev_server(
    db_file: Path,
    *,
    search_attributes: Sequence[SearchAttributeKey[Any]],
    port: int = 7233,
    ui_port: int = 8233,
    log_file: Path | None = None,
    codec_endpoint: str | None = None,
) -> DevServer:
    """Start the dev server on loopback, with `search_attributes` registered (the caller's: plumbing knows no
    workflow), and wait until its frontend answers."""
    if port_open("127.0.0.1", port):
        raise RuntimeError(f"port {port} is already in use: is another Temporal server running?")
    db_file.parent.mkdir(parents=True, exist_ok=True)
    args = [
        str(temporal_cli()), "server", "start-dev",
        "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port),
        "--db-filename", str(db_file), "--log-level", "warn",
        *dev_server_flags(search_attributes),
        *(["--ui-codec-endpoint", codec_endpoint] if codec_endpoint else []),
    ]  # fmt: skip
    log = open(log_file or db_file.with_suffix(".log"), "ab")  # noqa: SIM115 - owned by the process
    # Its own session: a Ctrl-C in the terminal reaches our process only, which stops its workers first and then
    # the server; a server that died with the terminal's SIGINT would leave our workers retrying it for ever.
    process = subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"temporal dev server exited with {process.returncode}; see {log.name}")
        if port_open("127.0.0.1", port):
            break
        await asyncio.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("temporal dev server did not start within 30 s")
    return DevServer(process, f"127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}")
