"""Run the engine's commands as separate processes, as production does: each in its own process group (so a test
can send the terminal's Ctrl-C to the whole group, and the chaos soak can SIGKILL a worker), output to a file, and
helpers to wait for them."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_for_line(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode} before {text!r}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout}s:\n{self.output}")
            await asyncio.sleep(0.1)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    async def interrupt(self, sig: signal.Signals = signal.SIGINT, timeout: float = 15) -> tuple[int, float]:
        """Send `sig` to the process group, as a terminal's Ctrl-C does; the exit status and how long it took."""
        started = time.monotonic()
        os.killpg(self.process.pid, sig)
        code = await asyncio.to_thread(self.process.wait, timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None or self.group_alive():
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)


# The engine's processes the test doubles start are local use: payload encryption optional unless keys are given.
LOCAL_USE = {"RETURNS_PAYLOAD_ENCRYPTION": "optional"}


def spawn(args: list[str], env: dict[str, str], log: Path) -> Proc:
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", *args],
        env={**LOCAL_USE, **os.environ, **env},
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    handle.close()
    return Proc(process, log)


async def wait_http(url: str, timeout: float = 30, status: int = 200) -> httpx.Response:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            try:
                response = await http.get(url)
                if response.status_code == status:
                    return response
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer {status} within {timeout}s")
            await asyncio.sleep(0.1)
