"""Operator overrides through the real `temporal` CLI, exactly as docs/operations.md shows them: each checked
against the return's state, rejected with a message when it does not fit, and recorded in the audit trail."""

from __future__ import annotations

import asyncio
import json
import subprocess
from decimal import Decimal

from temporalio.testing import WorkflowEnvironment

from emulators.rebound.scenarios import Scenario
from engine.temporal.binaries import temporal_cli
from engine.workflow.messages import ReturnStatus, workflow_id
from tests.conftest import Harness


async def update(
    env: WorkflowEnvironment, sc: Scenario, name: str, **payload: object
) -> subprocess.CompletedProcess[str]:
    """`temporal workflow update execute -w <id> --name <name> --input '<json>'`, in a thread: the worker
    answering it runs on this test's event loop."""
    args = [
        str(temporal_cli()), "workflow", "update", "execute",
        "--address", env.client.service_client.config.target_host,
        "-w", workflow_id(sc.brand, sc.rebound_return_id), "--name", name, "--input", json.dumps(payload),
    ]  # fmt: skip
    return await asyncio.to_thread(subprocess.run, args, capture_output=True, text=True, timeout=60)


async def until(h: Harness, sc: Scenario, check, timeout: float = 30) -> ReturnStatus:  # type: ignore[no-untyped-def]
    status = await h.wait_for(sc, check, timeout)
    assert check(status), f"condition not met; last status: {status.state} {status.attention_reason}"
    return status


def operator_entries(status: ReturnStatus) -> list[tuple[str, str]]:
    return [(a.actor, a.detail) for a in status.audit if a.kind == "operator"]


async def test_hold_then_resume(temporal_env: WorkflowEnvironment, harness: Harness) -> None:
    sc = harness.new_return("override")
    registered, in_transit, received, inspected = sc.pushes
    await harness.push(sc, registered)
    await until(harness, sc, lambda s: s.shopify_return is not None)

    held = await update(temporal_env, sc, "hold", operator="ana@castore", reason="customer says parcel lost")
    assert held.returncode == 0, held.stderr
    assert "held in needs_attention" in held.stdout
    for payload in (in_transit, received):
        await harness.push(sc, payload)
    # Both events are in the workflow (logged on arrival), and neither has moved it: events wait while held.
    status = await until(harness, sc, lambda s: [a.kind for a in s.audit].count("event") == 3)
    assert status.state == "requested" and status.needs_attention
    assert status.hold is not None and status.hold.kind == "operator"
    again = await update(temporal_env, sc, "hold", operator="ana@castore", reason="twice")
    assert again.returncode != 0 and "already held" in again.stderr

    resumed = await update(temporal_env, sc, "resume", operator="ana@castore", reason="parcel found")
    assert resumed.returncode == 0, resumed.stderr
    status = await until(harness, sc, lambda s: s.state == "received")
    assert not status.needs_attention
    assert operator_entries(status) == [
        ("ana@castore", "hold: customer says parcel lost"),
        ("ana@castore", "resume: parcel found (was: held by ana@castore: customer says parcel lost)"),
    ]


async def test_override_disposition_restocks_where_the_operator_says(
    temporal_env: WorkflowEnvironment, harness: Harness
) -> None:
    sc = harness.new_return("override", grades=("D",))  # graded D: normally not restocked, 0 % refund
    sku = sc.order_lines[0].sku
    store, domain = harness.shopify.store, harness.domain(sc)
    outlet = harness.mappings["castore"].locations["outlet"].id
    before = store.stock(domain, sku)[outlet]["available"]
    for payload in sc.pushes[:3]:
        await harness.push(sc, payload)
    await until(harness, sc, lambda s: s.state == "received")

    bad = await update(temporal_env, sc, "override_disposition", operator="ops@castore", reason="x", sku=sku,
                 disposition="restock", location="attic")  # fmt: skip
    assert bad.returncode != 0 and "restock needs a location: one of dc, outlet" in bad.stderr
    unknown = await update(temporal_env, sc, "override_disposition", operator="ops@castore", reason="x", sku="NOPE",
                     disposition="not_restocked")  # fmt: skip
    assert unknown.returncode != 0 and "no item 'NOPE'" in unknown.stderr
    reason = "re-inspected: only creased"
    ok = await update(temporal_env, sc, "override_disposition", operator="ops@castore", reason=reason,
                sku=sku, disposition="restock", location="outlet", refund_percent="100")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    await harness.push(sc, sc.pushes[3])
    status = await harness.wait_state(sc, "refunded")

    assert status.state == "refunded"
    assert store.stock(domain, sku)[outlet]["available"] == before + 1
    refunds = store.refunds(domain, harness.order_id(sc))
    assert len(refunds) == 1 and Decimal(str(refunds[0]["amount"])) == sc.order_lines[0].unit_price - Decimal("2.95")
    late = await update(temporal_env, sc, "override_disposition", operator="ops@castore", reason="too late", sku=sku,
                  disposition="not_restocked")  # fmt: skip
    assert late.returncode != 0 and ("already applied" in late.stderr or "finished" in late.stderr)
    assert (
        "ops@castore",
        f"disposition of {sku} -> restock at outlet: re-inspected: only creased",
    ) in operator_entries(status)


async def test_force_refund_before_inspection_then_no_second_refund(
    temporal_env: WorkflowEnvironment, harness: Harness
) -> None:
    sc = harness.new_return("override")
    for payload in sc.pushes[:2]:
        await harness.push(sc, payload)
    await until(harness, sc, lambda s: s.state == "in_transit" and "in_transit:attach_tracking" in s.steps_done)

    forced = await update(
        temporal_env, sc, "force_refund", operator="cx@castore", reason="VIP goodwill, parcel scanned"
    )
    assert forced.returncode == 0, forced.stderr
    status = await until(harness, sc, lambda s: s.refund is not None)
    assert status.state == "in_transit" and status.refund is not None and status.refund.status == "issued"
    refused = await update(temporal_env, sc, "force_refund", operator="cx@castore", reason="again")
    assert refused.returncode != 0 and "refund already issued" in refused.stderr
    for payload in sc.pushes[2:]:
        await harness.push(sc, payload)
    final = await harness.wait_state(sc, "refunded")
    assert final.state == "refunded"
    assert len(harness.shopify.store.refunds(harness.domain(sc), harness.order_id(sc))) == 1


async def test_skip_refund_leaves_shopify_untouched(temporal_env: WorkflowEnvironment, harness: Harness) -> None:
    sc = harness.new_return("override")
    await harness.push(sc, sc.pushes[0])
    await until(harness, sc, lambda s: s.shopify_return is not None)
    skipped = await update(temporal_env, sc, "skip_refund", operator="finance@castore", reason="exchanged in store")
    assert skipped.returncode == 0, skipped.stderr
    for payload in sc.pushes[1:]:
        await harness.push(sc, payload)
    status = await harness.wait_state(sc, "refunded")
    assert status.state == "refunded" and status.refund is not None and status.refund.status == "skipped"
    assert harness.shopify.store.refunds(harness.domain(sc), harness.order_id(sc)) == []
    assert sum(status.restocked.values()) == 1  # stock still comes back


async def test_mark_received_and_cancel_rules(temporal_env: WorkflowEnvironment, harness: Harness) -> None:
    sc = harness.new_return("override")
    for payload in sc.pushes[:2]:
        await harness.push(sc, payload)
    await until(harness, sc, lambda s: s.state == "in_transit" and "in_transit:attach_tracking" in s.steps_done)

    marked = await update(temporal_env, sc, "mark_received", operator="ops@castore", reason="scanned at the DC by hand")
    assert marked.returncode == 0, marked.stderr
    status = await until(harness, sc, lambda s: s.state == "received")
    assert ("ops@castore", "received: scanned at the DC by hand") in operator_entries(status)
    refused = await update(temporal_env, sc, "cancel", operator="cx@castore", reason="customer changed mind")
    assert refused.returncode != 0 and "cannot cancel a return that is received" in refused.stderr
    twice = await update(temporal_env, sc, "mark_received", operator="ops@castore", reason="again")
    assert twice.returncode != 0 and "receipt is known" in twice.stderr

    other = harness.new_return("override")
    await harness.push(other, other.pushes[0])
    await until(harness, other, lambda s: s.shopify_return is not None)
    cancelled = await update(temporal_env, other, "cancel", operator="cx@castore", reason="customer kept it")
    assert cancelled.returncode == 0, cancelled.stderr
    done = await harness.wait_state(other, "cancelled")
    assert done.state == "cancelled"
    returns = harness.shopify.store.returns(harness.domain(other), harness.order_id(other))
    assert [r["status"] for r in returns] == ["CANCELED"]


async def test_invalid_overrides_are_rejected(temporal_env: WorkflowEnvironment, harness: Harness) -> None:
    sc = harness.new_return("override")
    await harness.push(sc, sc.pushes[0])
    await until(harness, sc, lambda s: s.shopify_return is not None)
    no_reason = await update(temporal_env, sc, "hold", operator="ana", reason="")
    assert no_reason.returncode != 0 and "operator and reason are required" in no_reason.stderr
    not_held = await update(temporal_env, sc, "resume", operator="ana", reason="x")
    assert not_held.returncode != 0 and "not in needs_attention" in not_held.stderr
    nothing = await update(temporal_env, sc, "retry_step", operator="ana", reason="x")
    assert nothing.returncode != 0 and "no failed step to retry" in nothing.stderr
    status = await harness.status(sc)
    assert operator_entries(status) == []  # rejected updates leave no trace
