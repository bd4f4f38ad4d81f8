"""`python -m emulators.chaos [--returns N] [--seed S] [--plan P] [--write]`: run the soak, print the invariants'
table and the faults that ran, end with `invariant violations: N` and exit 1 when N > 0."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from emulators.bench.report import write_result, write_section
from emulators.chaos.invariants import table as invariant_table
from emulators.chaos.invariants import violations
from emulators.chaos.soak import Result, Settings, soak, timedelta_text

SECTION = "Chaos soak: invariants under faults"


def render(r: Result) -> str:
    s, p = r.settings, r.pushes
    faults = ", ".join(f"{kind} {n}" for kind, n in sorted(r.shopify_faults.items())) or "none"
    plan = f"every shop on {s.plan}" if s.plan else "each brand's own plan"
    held = ", ".join(f"{k} {v}" for k, v in sorted(r.held.items())) or "none"
    lines = [
        f"{r.scenarios} returns (every kind the demo has), seed **{s.seed}**, {s.workers} worker processes, "
        f"{plan}; {timedelta_text(r.seconds)} on this machine. `python -m emulators.chaos --returns {s.returns} "
        f"--seed {s.seed}{' --plan ' + s.plan if s.plan else ''}` reproduces the schedule.",
        "",
        "| fault | count |",
        "|---|---|",
        f"| worker processes SIGKILLed and restarted | {r.kills} |",
        f"| Temporal dev server stopped and restarted (SQLite kept) | {r.restarts.get('temporal', 1) - 1} |",
        f"| receiver SIGKILLed and restarted | {r.restarts.get('receiver', 1) - 1} |",
        f"| Shopify faults injected ({faults}) | {sum(r.shopify_faults.values())} |",
        f"| Rebound pushes duplicated / sent out of order | {p.duplicated} / {p.reordered} |",
        f"| Rebound pushes dropped (the workers' pull, every minute, and a last pull catch them) | {p.dropped} |",
        f"| push sends retried by Rebound (5xx, refused) / given up | {p.retried} / {p.undelivered} |",
        f"| staff refunds by hand before the engine's | {r.staff_refunds} |",
        f"| held pushes (by status, after the operator's replay) | {held} |",
        "",
        invariant_table(r.invariants),
        "",
        f"returns held for a person that no scenario expected (accounted for, listed below): {len(r.unexpected_holds)}",
    ]
    lines += [f"- held: {hold}" for hold in r.unexpected_holds[:10]]
    for inv in r.invariants:
        lines += [f"- {inv.name}: {problem}" for problem in inv.violations[:5]]
    lines += ["", f"invariant violations: {violations(r.invariants)}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=1000, help="at least this many returns (default 1000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--plan", default=None, help="put every shop on this Shopify plan (default: each brand's)")
    parser.add_argument("--data", type=Path, default=Path(".data/chaos"))
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args(argv)
    settings = Settings(returns=args.returns, seed=args.seed, workers=args.workers, data=args.data, plan=args.plan)
    result = asyncio.run(soak(settings, say=lambda line: print(line, flush=True)))
    text = render(result)
    print(text)
    if args.write:
        write_section(SECTION, text)
        write_result(
            "chaos",
            {
                "returns": result.scenarios,
                "seed": settings.seed,
                "plan": settings.plan,
                "violations": violations(result.invariants),
                "seconds": round(result.seconds),
            },
        )
    return 1 if violations(result.invariants) else 0


if __name__ == "__main__":
    sys.exit(main())
