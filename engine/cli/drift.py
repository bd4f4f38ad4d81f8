"""`returns drift`: each brand's reconciliation of Rebound, Shopify and the workflows, now."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from engine.cli.common import reads


def _drift(args: argparse.Namespace) -> int:
    """Run each brand's drift reconciliation now, through its schedule (created if missing), and print it."""
    from engine.drift.report import table, to_csv, to_json
    from engine.drift.runner import run_drift

    try:
        results = asyncio.run(run_drift(brand=args.brand, alert_url=args.alert_url))
    except (LookupError, RuntimeError) as err:
        print(f"drift: {err}", file=sys.stderr)
        return 2
    findings = [f for r in results for f in r.findings]
    if args.format == "csv":
        print(to_csv(findings), end="")
    elif args.format == "json":
        print(to_json(findings, runs=[{"brand": r.brand, "ran_at": r.ran_at, "counts": r.counts} for r in results]))
    else:
        for r in results:
            print(f"{r.brand}: {r.counts}, {r.new} new, {len(r.resolved)} resolved since last run {r.alert}".rstrip())
        print(table(findings))
    return 1 if findings else 0


def add_commands(sub: Any) -> None:
    drift = sub.add_parser(
        "drift",
        help="compare Rebound, Shopify and the workflows now; exit 1 if there is drift",
        description="Runs each brand's drift reconciliation now through its Temporal Schedule (created if missing; "
        "a scheduled or earlier run's first-seen times are kept) and prints the exceptions.",
        **reads("drift"),
    )
    drift.add_argument(
        "--brand", help="one brand (default: every deployed brand, or every file in RETURNS_MAPPINGS_DIR)"
    )
    drift.add_argument("--format", choices=("table", "csv", "json"), default="table")
    drift.add_argument(
        "--alert-url",
        help="POST new exceptions here (Slack-compatible JSON); posted from this "
        "process, never stored in Temporal. Prefer DRIFT_ALERT_URL: arguments are visible in ps",
    )
    drift.set_defaults(func=_drift)
