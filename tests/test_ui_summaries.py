"""What the Temporal UI shows of a return, read the way the UI reads it: the workflow's static summary and details
(describe), its current details (the `__temporal_workflow_metadata` query) and each activity's summary (history)."""

from __future__ import annotations

from decimal import Decimal

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client

from engine.money import show
from engine.workers.starter import handle_for
from tests.conftest import Harness


async def current_details(client: Client, brand: str, rebound_id: str) -> str:
    handle = handle_for(client, brand, rebound_id)
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def test_a_finished_return_reads_like_the_business_in_the_ui(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("ui", "castore", lines=2, quantity=1)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, "D")
    b.lifecycle(sc)
    b.expect(sc)
    harness.seed(sc)
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")
    assert status.finished, status.attention_reason

    handle = handle_for(harness.client, sc.brand, sc.rebound_return_id)
    described = await handle.describe()
    reasons = ", ".join(sorted({unit.reason for unit in sc.units}))
    assert await described.static_summary() == f"CASTORE {sc.order_name} · 2 items · {reasons}"
    details = await described.static_details()
    assert details is not None and sc.rebound_return_id in details and "pinned for the life of this return" in details

    current = await current_details(harness.client, sc.brand, sc.rebound_return_id)
    kept, damaged = sc.order_lines
    assert "**State:** refunded (finished)" in current
    assert f"| {kept.sku} | 1 |" in current and "| A | restock | Castore DC (Manchester) |" in current
    assert f"| {damaged.sku} | 1 |" in current and "| D | not_restocked | – |" in current
    assert f"**Restocked:** 1× {kept.sku} → Castore DC (Manchester)" in current
    refund = show(sc.expected_refund, "GBP")
    assert f"**Refund:** issued {refund}" in current
    assert "customer" not in current.lower()

    summaries = []
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes") and event.HasField("user_metadata"):
            summaries.append(harness.client.data_converter.payload_converter.from_payload(
                event.user_metadata.summary, str))  # fmt: skip
    assert f"validate order {sc.order_name}" in summaries
    assert "returnCreate 2 unit(s) on " + sc.order_name in summaries
    assert "dispose 1 → Castore DC (Manchester), 1 not restocked" in summaries
    assert f"returnProcess {refund}" in summaries
    assert sc.expected_refund == kept.unit_price - Decimal("2.95")


async def test_a_return_waiting_says_what_it_waits_for(harness: Harness) -> None:
    sc = harness.new_return("ui waiting", grades=("A",), until="arrivedAtHub")
    await harness.push_all(sc)
    await harness.wait_for(sc, lambda s: s.state == "received" and "received:sync_order_status" in s.steps_done)
    current = await current_details(harness.client, sc.brand, sc.rebound_return_id)
    assert "**State:** received" in current
    assert "**Awaiting:** inspected; SLA " in current and "(received but not inspected within 7 days)" in current
