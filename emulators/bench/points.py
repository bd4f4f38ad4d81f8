"""Shopify points per return, by step and operation: what one return of the standard flow costs the shop's bucket.

    python -m emulators.bench.points                 # 20 CASTORE returns, one unit each, graded A
    python -m emulators.bench.points --write         # and its section in docs/benchmarks.md

The engine records every call's actual cost under ``shopify.points.spent`` with the step (the activity) and the
operation; this reads them back from an in-memory metric reader, and checks the total against what the Shopify
emulator's bucket charged. The shop is on Plus here so nothing waits: points do not depend on the plan.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import uuid
from collections import defaultdict
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from temporalio.testing import WorkflowEnvironment

from emulators.bench.report import write_result, write_section
from emulators.demo import seed_shopify
from emulators.paths import REPO_ROOT
from emulators.progress import Progress
from emulators.rebound.scenarios import ScenarioBuilder
from emulators.shopify.cost import plan_named
from emulators.shopify.server import ShopifyEmulator
from engine.definitions.flow import load_flows
from engine.definitions.mapping import load_mappings
from engine.rebound.translate import translate
from engine.settings import Settings
from engine.shopify.plans import shop_limits
from engine.temporal.binaries import temporal_cli
from engine.temporal.converter import DATA_CONVERTER
from engine.workers.build import build_worker
from engine.workers.starter import deliver, handle_for
from engine.workflow import search
from engine.workflow.return_workflow import ReturnWorkflow

BRAND = "castore"
MINIMUM = 80  # the five writes a return needs (returnCreate with its fee, reverse delivery, dispose, returnProcess,
# returnClose: 21 + 12 + 12 + 13 + 10) plus one read of the order (12): the floor the issue measures against

# The standard flow's steps in the order they run, and why each call is worth its points (first attempts; a
# retried step also reads what an earlier attempt may have written).
STEPS = ["validate_order", "create_return", "attach_tracking", "sync_order_status", "dispose_items",
         "process_return", "issue_refund", "credit_bonus", "close_return"]  # fmt: skip
WHY: dict[tuple[str, str], str] = {
    ("validate_order", "OrderByName"): "the one order read (in the minimum): Rebound names the order, Shopify needs "
    "its id; lines, payments and shipped units come with it and the workflow carries them to every later step",
    ("create_return", "ReturnCreate"): "required write: CX sees the return on the order from the start; each line's "
    "note carries the Rebound id and its marker `[rebound-return:<id>]`, the link a retry adopts the return by and "
    "the drift monitor reads, so registering writes nothing on the order",
    ("create_return", "ReturnReasonDefinitions"): "the shop's reason ids, looked up once per worker process",
    ("create_return", "OrderStatusSet"): "only when lines are refused (final sale): the order's link with the "
    "refusal, which CX reads on the order from registration",
    ("attach_tracking", "ReverseDeliveryCreate"): "required write: CX sees the tracking on the return",
    ("sync_order_status", "OrderStatusSet"): "the one order write: at `received`, the milestone nothing of "
    "Shopify's own shows, the order's Rebound metafield (state, Shopify return id, tracking, refused lines); "
    "requested is the open return, transit its tracking, the end the refund and the closed return",
    ("dispose_items", "ReverseFulfillmentOrderDispose"): "required write: sellable units back in stock",
    ("issue_refund", "OrderPayments"): "a staff refund, or this return's refund from an earlier attempt, must be "
    "seen before refunding; each payment's refundable amount as it is now",
    ("issue_refund", "SuggestedRefund"): "Shopify values the lines (tax, discounts, the customer's currency)",
    ("issue_refund", "RefundCreate"): "required write",
    ("close_return", "ReturnClose"): "required write",
    ("process_return", "OrderPayments"): "a staff refund, or this return's refund from an earlier attempt, must be "
    "seen before refunding; each payment's refundable amount as it is now",
    ("process_return", "SuggestedRefund"): "only when a grade refunds part of a unit or a fee is given back: "
    "Shopify values each line (tax, discounts, the customer's currency) for the mapping's percentages",
    ("process_return", "ReturnFinancialOutcome"): "Shopify's own figure for processing these lines "
    "(`suggestedFinancialOutcome`: their value with tax and discounts, less the fees on the return, within what the "
    "order can give back) and their worth: with every unit refunded in full and no fee given back it is the refund "
    "and values the lines, no suggestedRefund asked; the split across payments is the mapping's",
    ("process_return", "ReturnProcess"): "required write: confirms the lines, issues the refund and counts the "
    "return in the merchant's reports, in one call",
}


def spent_points(reader: InMemoryMetricReader) -> dict[tuple[str, str], tuple[float, float]]:
    """(step, operation) -> (calls, points) summed over every shop."""
    out: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                index = {"shopify.calls": 0, "shopify.points.spent": 1}.get(metric.name)
                if index is None:
                    continue
                for point in metric.data.data_points:
                    attrs = dict(point.attributes or {})
                    out[(str(attrs.get("step", "")), str(attrs.get("operation", "")))][index] += float(
                        getattr(point, "value", 0)
                    )
    return {key: (calls, points) for key, (calls, points) in out.items()}


async def run(returns: int) -> dict[str, Any]:
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    flows = load_flows(REPO_ROOT / "flows")
    mappings = load_mappings(REPO_ROOT / "mappings")
    mapping = mappings[BRAND]
    builder = ScenarioBuilder(mappings, now=datetime.now(UTC), seed=secrets.randbelow(10**8))
    scenarios = []
    for i in range(returns):
        sc = builder.new(f"points-{i}", BRAND, lines=1)
        builder.returned(sc, 0, 1, "A")
        builder.lifecycle(sc)
        builder.expect(sc)
        scenarios.append(sc)
    async with AsyncExitStack() as stack:
        env = await WorkflowEnvironment.start_local(
            data_converter=DATA_CONVERTER,
            dev_server_existing_path=str(temporal_cli()),
            search_attributes=search.ALL,
            dev_server_log_level="error",
        )
        stack.push_async_callback(env.shutdown)
        emulator = ShopifyEmulator()
        await emulator.start()
        stack.push_async_callback(emulator.stop)
        tokens: dict[str, str] = {}
        seed_shopify(emulator.store, mappings, scenarios, tokens)
        emulator.set_plan(mapping.shop_domain, plan_named("plus"))
        settings = Settings(temporal_address="", task_queue=f"points-{uuid.uuid4()}",
                            shopify_endpoint=f"{emulator.base_url}/shops/{{shop}}")  # fmt: skip
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)))
        shops = shop_limits(mappings.values())
        await stack.enter_async_context(
            build_worker(env.client, settings, http, token_lookup=tokens.__getitem__, shops=shops)
        )
        with Progress("pushes", sum(len(sc.pushes) for sc in scenarios)) as progress:
            for sc in scenarios:
                for payload in sc.pushes:
                    event = translate(payload, mapping).event
                    assert event is not None
                    await deliver(env.client, event, flow=flows[mapping.flow], mapping=mapping,
                                  task_queue=settings.task_queue)  # fmt: skip
                    progress.advance()
        finished = 0
        with Progress("returns settled", returns) as progress:
            for sc in scenarios:
                handle = handle_for(env.client, sc.brand, sc.rebound_return_id)
                for _ in range(600):
                    status = await handle.query(ReturnWorkflow.status)
                    if status.needs_attention or (status.finished and status.state == "refunded"):
                        break
                    progress.update()
                    await asyncio.sleep(0.1)
                finished += int(status.finished and not status.needs_attention)
                progress.advance()
        charged = emulator.bucket(mapping.shop_domain).charged
    table = spent_points(reader)
    return {
        "returns": returns,
        "finished": finished,
        "charged_by_emulator": round(charged),
        "by_step": {
            f"{step}/{op}": [calls / returns, points / returns] for (step, op), (calls, points) in table.items()
        },  # fmt: skip
    }


def render(r: dict[str, Any]) -> str:
    order = {step: i for i, step in enumerate(STEPS)}
    rows = sorted(r["by_step"].items(), key=lambda kv: (order.get(kv[0].split("/")[0], 99), kv[0]))
    total = sum(points for _, (_, points) in rows)
    calls = sum(c for _, (c, _) in rows)
    lines = [
        f"{r['returns']} CASTORE returns on the standard flow (one unit, graded A, every milestone pushed once), "
        f"{r['finished']} finished. Actual cost per return, from the engine's `shopify.points.spent` by step and "
        f"operation; the Shopify emulator's bucket charged {r['charged_by_emulator']} in all "
        f"({r['charged_by_emulator'] / r['returns']:.1f} per return). `python -m emulators.bench.points --write`.",
        "",
        "| step | operation | calls | points | why |",
        "|---|---|---|---|---|",
    ]
    for key, (c, points) in rows:
        step, op = key.split("/", 1)
        lines.append(f"| {step} | {op} | {c:g} | {points:g} | {WHY.get((step, op), '')} |")
    lines.append(f"| **total** | | {calls:g} | **{total:g}** | minimum {MINIMUM}; {total - MINIMUM:g} above it |")
    return "\n".join(lines)


def points_per_return(r: dict[str, Any]) -> float:
    return round(sum(points for _, points in r["by_step"].values()), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=20)
    parser.add_argument("--write", action="store_true", help="write the section into docs/benchmarks.md")
    args = parser.parse_args()
    result = asyncio.run(run(args.returns))
    print(json.dumps({"points_per_return": points_per_return(result), **result}))
    print(render(result))
    if args.write:
        write_section("Shopify points per return, by step", render(result))
        write_result("points", {"points_per_return": points_per_return(result), **result})


if __name__ == "__main__":
    main()
