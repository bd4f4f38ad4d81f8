"""A permanent Shopify error holds the return in needs_attention (searchable); the operator's retry via the
`temporal` CLI resumes it without repeating what was done."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess

from temporalio.testing import WorkflowEnvironment

from engine.definitions.mapping import GradeRule, Location
from engine.temporal.binaries import temporal_cli
from engine.workflow.messages import workflow_id
from tests.conftest import Harness

POPUP = "gid://shopify/Location/79999"


async def test_unknown_location_holds_then_cli_retry_completes(
    temporal_env: WorkflowEnvironment, harness: Harness
) -> None:
    b = harness.builder
    sc = b.new("popup", "castore", lines=1)
    b.returned(sc, 0, 1, "B")
    b.lifecycle(sc)
    harness.seed(sc)  # the shop knows the mapping's DC and outlet, not the pop-up
    castore = harness.mappings["castore"]
    popup_mapping = dataclasses.replace(
        castore,
        locations={**castore.locations, "popup": Location("popup", POPUP, "Pop-up store")},
        grades={**castore.grades, "B": GradeRule("restock", "100", "popup")},
        version="popup-test",
    )
    harness.mappings = {**harness.mappings, "castore": popup_mapping}
    store, domain = harness.shopify.store, harness.domain(sc)

    await harness.push_all(sc)
    for _ in range(200):
        held = await harness.status(sc)
        if held.needs_attention:
            break
        await asyncio.sleep(0.1)
    assert held.state == "restocked" and held.needs_attention
    assert held.attention_reason is not None and "Location not found" in held.attention_reason
    assert held.refund is not None and held.refund.status == "issued"  # refund and restock are separate steps
    wf_id = workflow_id("castore", sc.rebound_return_id)
    query = f"NeedsAttention = true AND Brand = 'castore' AND ReturnState = 'restocked' AND WorkflowId = '{wf_id}'"
    for _ in range(50):
        if [w.id async for w in harness.client.list_workflows(query)]:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("held return not found by NeedsAttention search")

    store.add_location(domain, POPUP, "Pop-up store")
    address = temporal_env.client.service_client.config.target_host
    args = [str(temporal_cli()), "workflow", "signal", "--address", address, "-w", wf_id, "--name", "retry",
            "--input", json.dumps({"operator": "ana@castore", "reason": "pop-up location activated"})]  # fmt: skip
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr

    status = await harness.wait_state(sc, "refunded")
    assert status.state == "refunded" and not status.needs_attention
    assert store.stock(domain, sc.order_lines[0].sku)[POPUP]["available"] == 1
    assert len(store.refunds(domain, harness.order_id(sc))) == 1
    retry = [a for a in status.audit if a.kind == "operator"]
    assert len(retry) == 1 and retry[0].actor == "ana@castore" and "pop-up location activated" in retry[0].detail
