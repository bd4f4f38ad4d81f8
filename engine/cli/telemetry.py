"""`returns trace <rebound id>`: print a return's traces from the telemetry files (what `make demo` writes)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.cli.common import reads


def _trace(args: argparse.Namespace) -> int:
    from engine.settings import Settings
    from engine.telemetry.trace_view import render

    files = Path(args.dir) if args.dir else Settings.from_env().data_dir / "telemetry"
    text = render(files, args.rebound_id)
    print(text)
    return 0 if text.startswith("trace ") else 1


def add_commands(sub: Any) -> None:
    trace = sub.add_parser(
        "trace",
        help="print a return's traces (push -> workflow -> activities -> Shopify calls) from the telemetry files",
        description="Reads OTLP JSON lines (traces.jsonl) from --dir, default <RETURNS_DATA_DIR>/telemetry, "
        "where `returns demo` writes them; in production send traces to your tracing backend instead "
        "(OTEL_TRACES_EXPORTER=otlp).",
        **reads("trace"),
    )
    trace.add_argument("rebound_id", help="the Rebound return id, e.g. '(00)687000000000088888'")
    trace.add_argument("--dir", default=None, help="the folder holding traces.jsonl")
    trace.set_defaults(func=_trace)
