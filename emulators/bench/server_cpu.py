"""CPU time of this process and of the Temporal dev server (read from /proc by emulators.bench.proc_cpu) that
`WorkflowEnvironment.start_local` spawned as a child of this process (the `temporal` binary), so a bench can report
what the server spends per return beside what the worker spends."""

from __future__ import annotations

import os
import time
from pathlib import Path

from emulators.bench.proc_cpu import cpu_seconds, descendants
from engine.temporal.binaries import temporal_cli

__all__ = ["TICKS", "CpuMeter", "cpu_seconds", "descendants", "temporal_server_pid"]

TICKS = os.sysconf("SC_CLK_TCK")


def temporal_server_pid(parent: int | None = None) -> int:
    """The dev server's pid: the process under this one running the `temporal` binary."""
    binary = temporal_cli().resolve()
    for pid in descendants(parent or os.getpid())[1:]:  # below it, not itself
        try:
            if Path(f"/proc/{pid}/exe").resolve() == binary:
                return pid
        except OSError:
            continue
    raise LookupError(f"no {binary} process under pid {parent or os.getpid()}: was the dev server started here?")


class CpuMeter:
    """CPU seconds of this process and of the dev server between `start()` and `stop()`, and the wall time."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.worker = self.server = self.seconds = self.started = 0.0
        self._at = (0.0, 0.0)

    def start(self) -> CpuMeter:
        self._at = (time.process_time(), cpu_seconds(self.server_pid))
        self.started = time.monotonic()
        return self

    def stop(self) -> CpuMeter:
        worker, server = self._at
        self.worker = time.process_time() - worker
        self.server = cpu_seconds(self.server_pid) - server
        self.seconds = time.monotonic() - self.started
        return self

    def per_return_ms(self, n: int) -> dict[str, float]:
        """Milliseconds per return: this process (worker, emulator and client alike), the server, both."""
        return {"worker_cpu_ms": round(self.worker * 1000 / n, 1), "server_cpu_ms": round(self.server * 1000 / n, 1),
                "total_cpu_ms": round((self.worker + self.server) * 1000 / n, 1)}  # fmt: skip
