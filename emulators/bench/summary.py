"""The summary table at the top of docs/benchmarks.md, computed from the figures each benchmark wrote into
docs/benchmarks.json (a figure no benchmark has measured yet shows as `not measured`).

    python -m emulators.bench.summary
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulators.bench.report import REPORT, read_results

START, END = "<!-- bench:summary -->", "<!-- /bench:summary -->"

# (row, benchmark, how to read the value from its figures)
ROWS: list[tuple[str, str, Callable[[dict[str, Any]], Any]]] = [
    ("points per return", "points", lambda r: r["points_per_return"]),
    ("drain / ceiling", "backlog", lambda r: round(r["points_per_second"] / r["restore_rate"], 2)),
    # bare's CPU per return over the engine's, worker process and Temporal server together (1.0: as cheap as bare)
    ("engine / bare", "engine_vs_bare", lambda r: r["engine_over_bare"]),
    ("receiver / bare", "receiver_vs_bare", lambda r: r["receiver_over_bare"]),
    ("receiver CPU per push (ms)", "receiver_vs_bare", lambda r: r.get("receiver_cpu_ms_per_push")),
    ("Temporal actions per return", "actions", lambda r: r["actions_per_return"]),
    ("p99 push to refund (ms)", "engine_vs_bare", lambda r: r["latency"]["p99_ms"]),
    (
        "worker RSS at 10000 open (MiB)",
        "worker_memory",
        lambda r: r["rss_mib"] if r["open_returns"] == 10000 else None,
    ),  # fmt: skip
    ("chaos invariant violations", "chaos", lambda r: r["violations"] if r["returns"] >= 1000 else None),
]


def table(results: dict[str, Any]) -> str:
    lines = ["| measure | value |", "|---|---|"]
    for row, bench, read in ROWS:
        value = read(results[bench]) if bench in results else None
        lines.append(f"| {row} | {'not measured' if value is None else value} |")
    return "\n".join(lines)


def write(path: Path = REPORT) -> str:
    text = path.read_text(encoding="utf-8")
    block = f"{START}\n{table(read_results())}\n{END}\n"
    if START in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END) + r"\n", lambda _m: block, text, flags=re.S)
    else:
        title, _, rest = text.partition("\n")
        text = f"{title}\n\n{block}{rest}"
    path.write_text(text, encoding="utf-8")
    return block


def main() -> None:
    print(write())


if __name__ == "__main__":
    main()
