"""The engine's processes for a soak, each restartable: the Temporal dev server on its SQLite file, `returns worker`
processes and a `returns serve` receiver. Killing one is SIGKILL to its process group (nothing is flushed, as when
a machine dies); a restart is the same command with the same environment."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field
from pathlib import Path

from emulators.processes import Proc, free_port, spawn, wait_http
from engine.temporal.devserver import DevServer, start_dev_server
from engine.workflow import search


@dataclass
class Cluster:
    data: Path
    env: dict[str, str]  # the engine's environment (Temporal address, Shopify, Rebound, secrets, data dir)
    workers: int = 2
    temporal_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    receiver_port: int = field(default_factory=free_port)
    server: DevServer | None = None
    worker_procs: list[Proc] = field(default_factory=list)
    receiver: Proc | None = None
    starts: dict[str, int] = field(default_factory=dict)  # what was (re)started, how often

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def receiver_url(self) -> str:
        return f"http://127.0.0.1:{self.receiver_port}"

    def _count(self, what: str) -> None:
        self.starts[what] = self.starts.get(what, 0) + 1

    async def start_temporal(self) -> None:
        self.server = await start_dev_server(self.data / "temporal.db", search_attributes=search.ALL,
                                             port=self.temporal_port, ui_port=self.ui_port,
                                             log_file=self.data / "temporal.log")  # fmt: skip
        self._count("temporal")

    def stop_temporal(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    async def start_worker(self, index: int, attempts: int = 60) -> None:
        """Start it as an operator's supervisor would: again, a second later, while Temporal is not up."""
        for attempt in range(attempts):
            proc = spawn(["worker"], self.env, self.data / f"worker-{index}.log")
            if index < len(self.worker_procs):
                self.worker_procs[index] = proc
            else:
                self.worker_procs.append(proc)
            try:
                await proc.wait_for_line("ready;", timeout=120)
            except AssertionError:
                proc.kill()
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(1.0)
                continue
            self._count("worker")
            return

    def kill_worker(self, index: int) -> None:
        self.worker_procs[index].kill()

    async def start_receiver(self) -> None:
        self.receiver = spawn(["serve", "--port", str(self.receiver_port), "--no-access-log"], self.env,
                              self.data / "receiver.log")  # fmt: skip
        await wait_http(f"{self.receiver_url}/healthz", timeout=60)
        self._count("receiver")

    def kill_receiver(self) -> None:
        if self.receiver is not None:
            self.receiver.kill()

    async def start(self) -> None:
        await self.start_temporal()
        for index in range(self.workers):
            await self.start_worker(index)
        await self.start_receiver()

    async def stop(self) -> None:
        """Workers and receiver first (SIGTERM: their graceful stop), then the server."""
        for proc in [*self.worker_procs, *([self.receiver] if self.receiver else [])]:
            if proc.process.poll() is None:
                try:
                    await proc.interrupt(signal.SIGTERM, timeout=20)
                except Exception:  # noqa: BLE001 - a process that will not stop is killed
                    proc.kill()
            proc.kill()
        self.stop_temporal()

    async def restart_temporal(self, down_seconds: float) -> None:
        self.stop_temporal()
        await asyncio.sleep(down_seconds)
        await self.start_temporal()
