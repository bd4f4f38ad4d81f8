"""CPU time of processes, read from the OS (Linux /proc): what a process and its threads have spent, user and
system, in the kernel's clock ticks (`SC_CLK_TCK`, 100 a second here: 10 ms resolution per process and reading)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TICK = 1.0 / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rpartition(")")[2].split()  # after the command name, which may hold spaces: state, ppid, ...


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads; not its children's). 0 once it is gone."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) * TICK if fields else 0.0


def total(pids: Iterable[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def descendants(pid: int) -> list[int]:
    """The process and every process below it (uvicorn's worker processes under `returns serve --workers N`)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def threads(pid: int) -> dict[int, tuple[str, float]]:
    """Each thread of the process: its name (`comm`) and CPU seconds, by thread id."""
    found = {}
    try:
        tids = [int(entry.name) for entry in Path(f"/proc/{pid}/task").iterdir()]
    except FileNotFoundError:
        return {}
    for tid in tids:
        try:
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found[tid] = (name, (int(fields[11]) + int(fields[12])) * TICK)
    return found


def thread_kind(pid: int, tid: int, name: str) -> str:
    """A Python server's threads by what they do: its main thread runs the event loop; the Temporal client's
    runtime runs Rust (tokio) threads; the rest are Python's (asyncio.to_thread: the event store's SQLite calls)."""
    if tid == pid:
        return "event loop"
    if name.startswith("tokio"):
        return "Temporal client runtime"
    return "other threads"
