"""Traces and metrics through the real pipeline (engine.telemetry.setup with its OTLP JSON lines files): one trace per
Rebound push, from the receiver through signal-with-start, the workflow and each activity to each Shopify call; the
metrics on-call reads (Shopify points, refunds, restocked units, returns by state, queue backlog, SDK metrics)."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from emulators.demo import apply_plans, seed_shopify
from emulators.rebound.scenarios import ScenarioBuilder
from emulators.shopify.server import ShopifyEmulator
from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.ingest.receiver import Receiver
from engine.ingest.store import open_event_store
from engine.shopify.plans import shop_limits, shop_task_queue
from engine.telemetry.gauges import Gauges
from engine.telemetry.setup import METRICS_FILE, TRACES_FILE, Telemetry, configure
from engine.telemetry.trace_view import SpanRecord, read_spans, render, traces_of
from engine.workers.build import build_worker
from engine.workers.starter import handle_for
from engine.workflow.return_workflow import ReturnWorkflow
from tests.conftest import shopify_settings


@pytest.fixture(scope="module")
async def telemetry(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Telemetry, Path]]:
    """The process's providers (set once per process), writing files as the demo does."""
    files = tmp_path_factory.mktemp("telemetry")
    installed = configure("rebound-returns-test", files_dir=files, environ={})
    await installed.start()
    try:
        yield installed, files
    finally:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().uninstrument()
        await installed.shutdown()


def walk(spans: list[SpanRecord]) -> list[SpanRecord]:
    out = []
    for span in spans:
        out.append(span)
        out += walk(span.children)
    return out


def chain_to_root(span: SpanRecord, by_id: dict[str, SpanRecord]) -> list[str]:
    names = [span.name]
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        names.append(span.name)
    return names[::-1]


def metric_points(path: Path) -> dict[str, list[tuple[dict[str, Any], float]]]:
    """Every data point in the metrics file, by metric name: (attributes, value), the last export last."""
    found: dict[str, list[tuple[dict[str, Any], float]]] = {}
    for line in path.read_text().splitlines():
        for resource in json.loads(line).get("resourceMetrics", []):
            for scope in resource.get("scopeMetrics", []):
                for metric in scope.get("metrics", []):
                    kind = next(k for k in ("sum", "gauge", "histogram") if k in metric)
                    for point in metric[kind].get("dataPoints", []):
                        attrs = {a["key"]: next(iter(a["value"].values())) for a in point.get("attributes", [])}
                        value = point.get("asInt", point.get("asDouble", point.get("count", 0)))
                        found.setdefault(metric["name"], []).append((attrs, float(value)))
    return found


async def test_one_trace_per_push_from_the_receiver_to_shopify_and_the_metrics_on_call_reads(
    telemetry: tuple[Telemetry, Path],
    temporal_env: WorkflowEnvironment,
    shopify: ShopifyEmulator,
    flows: dict[str, FlowDef],
    mappings: dict[str, MappingDef],
    tmp_path: Path,
) -> None:
    installed, files = telemetry
    assert shopify.base_url
    target = temporal_env.client.service_client.config.target_host
    client = await Client.connect(target, interceptors=installed.interceptors(), runtime=installed.runtime)
    settings = shopify_settings(shopify.base_url, f"traced-{uuid.uuid4()}", target)
    tokens: dict[str, str] = {}
    builder = ScenarioBuilder(mappings, now=datetime.now(UTC), seed=secrets.randbelow(10**8))
    sc = builder.new("traced", "castore", lines=2, quantity=1)
    builder.returned(sc, 0, 1, "A")
    builder.returned(sc, 1, 1, "B")
    builder.lifecycle(sc)
    builder.expect(sc)
    seed_shopify(shopify.store, mappings, [sc], tokens)
    apply_plans(shopify, mappings)
    store = await open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")

    async def mapping_of(brand: str) -> MappingDef:
        return mappings[brand]

    async def flow_of(name: str) -> FlowDef:
        return flows[name]

    receiver = Receiver(client=client, flows=flow_of, mappings=mapping_of, store=store,
                        task_queue=settings.task_queue, start_options={"activity_timeout_seconds": 5})  # fmt: skip
    async with httpx.AsyncClient(timeout=10) as http:
        limits = shop_limits(mappings.values())
        async with build_worker(client, settings, http, token_lookup=tokens.__getitem__, shops=limits):
            for payload in sc.pushes:
                outcome = await receiver.ingest("castore", {}, json.dumps(payload).encode(), authenticated=True)
                assert outcome.http_status == 202, outcome.body
            handle = handle_for(client, sc.brand, sc.rebound_return_id)
            for _ in range(300):
                status = await handle.query(ReturnWorkflow.status)
                if status.finished:
                    break
                await asyncio.sleep(0.1)
            assert status.state == "refunded" and status.finished, status.attention_reason
            queue = shop_task_queue(settings.task_queue, mappings["castore"].shop_domain)
            gauges = Gauges(
                client, ["castore"], flows["return"].states, {mappings["castore"].shop_domain: queue}, store
            )
            await gauges.refresh()
    await store.close()
    assert installed.tracer_provider is not None and installed.meter_provider is not None
    installed.tracer_provider.force_flush()

    # ---- traces: each push is the root of its own trace, down to the HTTP call to Shopify
    spans = list(read_spans(files / TRACES_FILE))
    ours = traces_of(spans, sc.rebound_return_id)
    roots = [r for roots in ours for r in roots if r.name == "rebound push"]
    assert len(roots) == len(sc.pushes) == 4
    by_id = {s.span_id: s for s in spans}
    registered, _in_transit, _received, inspected = roots
    assert (
        registered.attributes["rebound.event"] == "registered" and inspected.attributes["rebound.event"] == "inspected"
    )
    first = {s.name for s in walk([registered])}
    assert {
        "SignalWithStartWorkflow:Return", "RunWorkflow:Return", "HandleSignal:event", "StartActivity:validate_order",
        "RunActivity:validate_order", "shopify OrderByName",
    } <= first  # fmt: skip
    refund = next(s for s in walk([inspected]) if s.name == "shopify ReturnProcess")
    assert chain_to_root(refund, by_id) == [
        "rebound push", "SignalWorkflow:event", "StartActivity:process_return", "RunActivity:process_return",
        "shopify ReturnProcess",
    ]  # fmt: skip
    assert any(c.name.startswith("POST") for c in refund.children)  # httpx's own span under ours
    assert refund.attributes["shopify.shop"] == "castore-demo.myshopify.com"
    assert refund.attributes["shopify.cost.actual"] > 0 and "shopify.throttle.available" in refund.attributes
    activity = by_id[refund.parent_id]
    assert activity.attributes["rebound.return_id"] == sc.rebound_return_id
    assert activity.attributes["rebound.brand"] == "castore"
    assert by_id[activity.parent_id].attributes["shopify.order"] == sc.order_name
    assert "shopify ReturnProcess" not in {s.name for s in walk([registered])}  # the refund is the inspection's work
    text = json.dumps([s.attributes for s in walk([r for roots in ours for r in roots])])
    assert "@" not in text and "customer" not in text.lower()  # no personal data on spans

    tree = render(files, sc.rebound_return_id)
    assert tree.count("\ntrace ") + tree.startswith("trace ") >= 4
    assert "      shopify ReturnProcess" in tree and "[cost " in tree

    # ---- metrics (Temporal's SDK metrics reach the provider when its buffer is next drained, about every second)
    for _ in range(40):
        installed.meter_provider.force_flush()
        points = metric_points(files / METRICS_FILE)
        if any(name.startswith("temporal_") for name in points):
            break
        await asyncio.sleep(0.5)
    refunds = [v for a, v in points["returns.refunds.issued"] if a == {"brand": "castore", "currency": "GBP"}]
    amount = [v for a, v in points["returns.refunds.amount"] if a == {"brand": "castore", "currency": "GBP"}]
    assert refunds[-1] >= 1 and amount[-1] >= float(sc.expected_refund * 100)
    assert Decimal(int(amount[-1])) % 1 == 0  # minor units: an integer
    spent = {(a["step"], a["operation"]): v for a, v in points["shopify.points.spent"]
             if a.get("shop") == "castore-demo.myshopify.com"}  # fmt: skip
    assert spent[("process_return", "ReturnProcess")] >= 10  # points read per step and operation
    assert any(a.get("brand") == "castore" for a, _ in points["returns.restocked.units"])
    by_state = {a["state"]: v for a, v in points["returns.by_state"] if a.get("brand") == "castore"}
    assert by_state.get("refunded", 0) >= 1
    assert any(a == {"shop": "castore-demo.myshopify.com"} for a, _ in points["shopify.queue.backlog"])
    assert any(name.startswith("temporal_") for name in points), sorted(points)[:20]  # the SDK's own metrics
