"""The drift comparison over 10,000 returns: time and peak memory of the real comparison and rendering (table,
CSV, JSON, Slack payload) over synthesized snapshots, and of the Shopify side: the emulator's bulk operation
over 10,000 tagged orders (JSONL written, downloaded and parsed back into orders).

`python -m emulators.bench.drift_10k [--returns N]`. Measured, never asserted; written into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from emulators.bench.report import write_section
from emulators.paths import REPO_ROOT
from emulators.progress import Progress
from emulators.shopify.model import Metafield
from emulators.shopify.server import ShopifyEmulator
from emulators.shopify.store import OrderLineSeed
from engine.definitions.mapping import MappingDef, load_mappings
from engine.drift.compare import compare, iso
from engine.drift.model import (
    Finding,
    ReboundItem,
    ReboundReturn,
    ShopifyOrder,
    ShopifyRefund,
    ShopifyReturn,
    WorkflowReturn,
    carry_forward,
)
from engine.drift.report import slack_payload, table, to_csv, to_json
from engine.drift.shopify_source import run_bulk
from engine.shopify.client import ShopConnection, ShopifyClient

T = TypeVar("T")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DRIFTS = ("clean",) * 9 + ("overdue", "open", "manual", "unknown", "mismatch", "duplicate", "held", "restock")


def synthesize(mapping: MappingDef, n: int) -> tuple[list[ReboundReturn], list[ShopifyOrder], list[WorkflowReturn]]:
    """n returns of one brand; about 1 in 2 carries one kind of drift, the rest are clean."""
    rebound, orders, flows = [], [], []
    at = lambda days: iso(NOW - timedelta(days=days))  # noqa: E731
    for i in range(n):
        rid = f"(00)687{i:010d}"
        kind = DRIFTS[i % len(DRIFTS)]
        ret = ReboundReturn(rid, mapping.brand, f"#B{i}", at(1))
        for j, m in enumerate(("registered", "in_transit", "received", "inspected")):
            ret.milestones[m] = at(6 - j)
        ret.graded_items = [ReboundItem(f"SKU-{i % 50}", 1, "A")]
        rebound.append(ret)
        marker = f"Rebound return {rid} [rebound-return:{rid}]"
        refunds = [ShopifyRefund(f"gid://shopify/Refund/{i}", marker, at(2), "42.05")]
        if kind == "manual":
            refunds.append(ShopifyRefund(f"gid://shopify/Refund/m{i}", "goodwill", at(1), "10.00"))
        if kind == "duplicate":
            refunds.append(ShopifyRefund(f"gid://shopify/Refund/d{i}", marker, at(1), "42.05"))
        if kind == "overdue":
            refunds = []
        status = "OPEN" if kind == "open" else "CLOSED"
        links: dict[str, dict[str, object]] = {rid: {"rebound_return_id": rid, "shopify_return_id": f"R{i}"}}
        orders.append(
            ShopifyOrder(
                f"gid://shopify/Order/{i}", f"#B{i}", ["rebound-return", f"rebound:{rid}"], at(10), refunds,
                [ShopifyReturn(f"R{i}", f"#B{i}-R1", status, at(6))], links,
            )
        )  # fmt: skip
        if kind == "unknown":
            continue
        flows.append(
            WorkflowReturn(
                workflow_id=f"return-{mapping.brand}-{rid}", brand=mapping.brand, rebound_return_id=rid,
                run_status="RUNNING", state="refunded" if kind not in ("overdue", "restock") else "received",
                order_name=f"#B{i}", needs_attention=kind in ("held", "restock"),
                attention_reason={"held": "validate_order failed: x", "restock": "dispose_items failed: y"}.get(kind),
                hold_kind="step_failed" if kind in ("held", "restock") else None,
                hold_step={"held": "validate_order", "restock": "restock_items"}.get(kind),
                ending="settled" if kind not in ("overdue", "restock") else None,
                refund_status=None if kind == "overdue" else "issued", refund_id=f"gid://shopify/Refund/{i}",
                refund_amount="40.00" if kind == "mismatch" else "42.05", planned_refund="42.05",
                shopify_return_id=f"R{i}", restocked={} if kind == "restock" else {f"SKU-{i % 50}": 1},
                sellable={f"SKU-{i % 50}": 1}, dispositions_known=True,
                entered={"requested": at(6), "inspected": at(3), "refunded": at(2)},
            )
        )  # fmt: skip
    return rebound, orders, flows


def measured(work: Callable[[], T]) -> tuple[T, float, float]:
    """Result, seconds (a plain run), peak MiB (a second run under tracemalloc: Python allocations only)."""
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, elapsed, peak


def comparison(mapping: MappingDef, n: int) -> tuple[list[Finding], dict[str, Any]]:
    started = time.perf_counter()
    rebound, orders, flows = synthesize(mapping, n)
    build_s = time.perf_counter() - started

    def run() -> tuple[list[Finding], dict[str, int]]:
        findings = compare(mapping, rebound, orders, flows, now=NOW)
        merged, _ = carry_forward([], findings, iso(NOW))
        sizes = {
            "table": len(table(merged)),
            "csv": len(to_csv(merged)),
            "json": len(to_json(merged)),
            "slack": len(json.dumps(slack_payload(mapping.brand, [f for f in merged if f.new]))),
        }
        return merged, sizes

    (findings, sizes), seconds, peak = measured(run)
    return findings, {"seconds": seconds, "peak_mb": peak, "build_seconds": build_s, "sizes": sizes}


async def bulk(n: int) -> dict[str, Any]:
    domain = "bench.myshopify.com"
    async with ShopifyEmulator() as emu, httpx.AsyncClient(timeout=120) as http:
        store = emu.store
        store.add_shop(domain, access_token="t", currency="GBP", locations=[("gid://shopify/Location/1", "DC")])
        store.add_product(domain, "SKU", stock={"gid://shopify/Location/1": 1})
        processed = NOW - timedelta(days=5)
        seeding = Progress("orders seeded", n)
        for i in range(n):
            seeding.update(i)
            oid = store.add_order(
                domain, name=f"#B{i}", processed_at=processed, lines=[OrderLineSeed("SKU", 1, Decimal("45"))]
            )
            order = store.shop(domain).orders[oid]
            order.tags += ["rebound-return", f"rebound:R{i}"]
            value = json.dumps({"rebound_return_id": f"R{i}", "brand": "bench", "state": "refunded"})
            order.metafields[("rebound", f"return_R{i}")] = Metafield(
                store.new_id("Metafield"), "rebound", f"return_R{i}", "json", value, processed, processed
            )
            store.refund_by_hand(domain, oid, {"SKU": 1}, Decimal("42.05"), note=f"[rebound-return:R{i}]")
        seeding.close()
        client = ShopifyClient(ShopConnection(domain, "2026-04", "t", f"{emu.base_url}/shops/{domain}"), http)
        started = time.perf_counter()
        orders = await run_bulk(client, http, poll_seconds=0)
        seconds = time.perf_counter() - started
        tracemalloc.start()
        await run_bulk(client, http, poll_seconds=0)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        size = sum(len(o.refunds) for o in orders)
        assert len(orders) == n and size == n and all(o.links for o in orders)
        return {"seconds": seconds, "peak_mb": peak, "orders": len(orders)}


def main(n: int, with_bulk: bool) -> None:
    mapping = load_mappings(REPO_ROOT / "mappings")["castore"]
    findings, cmp = comparison(mapping, n)
    by_kind = Counter(f.kind for f in findings)
    print(f"comparison + rendering of {n} returns: {cmp['seconds']:.3f}s, peak {cmp['peak_mb']:.1f} MiB, "
          f"{len(findings)} findings {dict(by_kind)}")  # fmt: skip
    rows = [f"| comparison + carry-forward + table/CSV/JSON/Slack | {cmp['seconds']:.2f} | {cmp['peak_mb']:.1f} |"]
    if with_bulk:
        b = asyncio.run(bulk(n))
        print(
            f"bulk operation (emulator) of {n} orders, JSONL parsed: {b['seconds']:.2f}s, peak {b['peak_mb']:.1f} MiB"
        )
        rows.append(
            f"| Shopify bulk operation in the emulator: run, poll, download and parse the JSONL | "
            f"{b['seconds']:.2f} | {b['peak_mb']:.1f} |"
        )
    body = (
        f"{n} returns of one brand (castore's mapping): synthesized Rebound, Shopify and workflow snapshots, about "
        f"half with one kind of drift each, through the real comparison (`engine.drift.compare`) and every output "
        f"(`engine.drift.report`). Peak memory is Python's allocations during the step (tracemalloc), "
        f"the snapshots themselves excluded.\n\n"
        f"| step | seconds | peak MiB |\n|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"Findings: {len(findings)} ({', '.join(f'{k} {v}' for k, v in sorted(by_kind.items()))}); "
        f"outputs: table {cmp['sizes']['table'] // 1024} KiB, CSV {cmp['sizes']['csv'] // 1024} KiB, "
        f"JSON {cmp['sizes']['json'] // 1024} KiB."
    )
    write_section(f"Drift monitor: {n} returns", body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--returns", type=int, default=10_000)
    parser.add_argument("--no-bulk", action="store_true", help="skip the emulator's bulk operation")
    args = parser.parse_args()
    main(args.returns, not args.no_bulk)
