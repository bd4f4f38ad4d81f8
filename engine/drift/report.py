"""Findings for people and machines: a terminal table, CSV for finance, JSON, and a Slack-compatible alert."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from engine.drift.model import KINDS, Finding

COLUMNS = ("first_seen", "brand", "owner", "kind", "rebound_return_id", "order_name", "summary", "evidence")


def _evidence(finding: Finding) -> str:
    return "; ".join(f"{k}={v}" for k, v in sorted(finding.evidence.items()))


def table(findings: Sequence[Finding], *, width: int = 60) -> str:
    if not findings:
        return "no drift: Rebound, Shopify and the workflows agree"
    rows = [
        (
            f.first_seen[:19].replace("T", " "),
            f.brand,
            f.owner,
            f.kind + (" *" if f.new else ""),
            f.rebound_return_id or "-",
            f.order_name or "-",
            (f.summary if len(f.summary) <= width else f.summary[: width - 1] + "…"),
        )
        for f in findings
    ]
    head = ("first seen", "brand", "owner", "exception", "rebound return", "order", "what")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    line = "  ".join("{:<" + str(w) + "}" for w in widths)
    out = [line.format(*head), line.format(*("-" * w for w in widths))]
    out += [line.format(*r) for r in rows]
    counts = Counter(f.owner for f in findings)
    new = sum(1 for f in findings if f.new)
    out.append("")
    out.append(
        f"{len(findings)} exception(s), {new} new (*); by owner: "
        + ", ".join(f"{owner} {n}" for owner, n in sorted(counts.items()))
    )
    return "\n".join(out)


def to_csv(findings: Sequence[Finding]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*COLUMNS, "last_seen", "new"])
    for f in findings:
        writer.writerow(
            [f.first_seen, f.brand, f.owner, f.kind, f.rebound_return_id, f.order_name, f.summary, _evidence(f)]
            + [f.last_seen, "yes" if f.new else "no"]
        )
    return buffer.getvalue()


def to_json(findings: Sequence[Finding], **extra: Any) -> str:
    counts = Counter(f.kind for f in findings)
    body = {
        **extra,
        "count": len(findings),
        "by_kind": {k: counts[k] for k in KINDS if counts[k]},
        "findings": [asdict(f) for f in findings],
    }
    return json.dumps(body, indent=2, sort_keys=False)


def slack_payload(brand: str, findings: Sequence[Finding], *, limit: int = 20) -> dict[str, Any]:
    """An incoming-webhook message (`text` for notifications, `blocks` for the body)."""
    owners = Counter(f.owner for f in findings)
    text = f"Returns drift ({brand}): {len(findings)} new exception(s) — " + ", ".join(
        f"{owner}: {n}" for owner, n in sorted(owners.items())
    )
    lines = [
        f"• *{f.kind}* ({f.owner}) `{f.rebound_return_id or f.subject}` {f.order_name}: {f.summary}"
        for f in findings[:limit]
    ]
    if len(findings) > limit:
        lines.append(f"… and {len(findings) - limit} more (`returns drift --brand {brand}`)")
    return {
        "text": text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"Returns drift: {brand}"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines) or "-"}},
        ],
    }
