"""A worker killed mid-return (refund written in Shopify, response never received): the return completes on a
new worker with exactly one refund and one restock."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from temporalio.testing import WorkflowEnvironment

from emulators.rebound.scenarios import Scenario
from emulators.shopify.server import ShopifyEmulator
from engine.definitions.flow import load_flow
from engine.settings import token_env_name
from engine.workflow.messages import ReturnStatus
from tests.conftest import Harness
from tests.paths import REPO_ROOT

PREVIOUS_FLOW = REPO_ROOT / "tests" / "fixtures" / "flows" / "return-v3.yaml"


async def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    lines = []
    while not lines or not lines[-1].startswith(b"ready"):
        line = await asyncio.get_running_loop().run_in_executor(None, process.stdout.readline)
        assert line, b"".join(lines)
        lines.append(line)
    assert any(b"shops: castore" in line for line in lines), lines
    return process


async def crash_after_commit(temporal_env: WorkflowEnvironment, shopify: ShopifyEmulator, harness: Harness,
                             domain: str, operation: str, sc: Scenario,
                             before_restart: Callable[[], None] = lambda: None) -> ReturnStatus:  # fmt: skip
    """Push the return to a worker process; SIGKILL it once Shopify committed `operation` (its answer held back);
    then a new worker carries the return to its end."""
    queue = f"crash-{uuid.uuid4()}"
    harness.settings = type(harness.settings)(task_queue=queue)  # the in-process worker does not poll this queue
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "RETURNS_TASK_QUEUE": queue,
        "RETURNS_WORKER_ROLES": "returns,shops",
        "RETURNS_MAPPINGS_DIR": str(REPO_ROOT / "mappings"),
        "SHOPIFY_ENDPOINT": f"{shopify.base_url}/shops/{{shop}}",
        token_env_name(domain): harness.tokens[domain],
    }
    shopify.faults.hold_after_commit(operation, 120)
    first = await start_worker(env)
    try:
        await harness.push_all(sc)
        for _ in range(300):
            if shopify.faults.commits.get(operation):
                break
            await asyncio.sleep(0.1)
        assert shopify.faults.commits.get(operation) == 1, f"{operation} never reached Shopify"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    before_restart()
    shopify.faults.hold_after_commit(operation, 0)
    second = await start_worker(env)
    try:
        return await harness.wait_state(sc, "refunded", timeout=90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)


# The refund beside the return that returns started on return@3 still finish with; settling by processing the
# Shopify return (return@5) is the exchange test below (a refund and an exchange in one processing).
SETTLEMENTS = {"refundCreate": (PREVIOUS_FLOW, "RefundCreate")}


@pytest.mark.parametrize("settlement", list(SETTLEMENTS))
async def test_worker_killed_after_refund_committed_completes_with_one_refund(
    temporal_env: WorkflowEnvironment, shopify: ShopifyEmulator, harness: Harness, settlement: str
) -> None:
    flow_file, operation = SETTLEMENTS[settlement]
    harness.flows = {**harness.flows, "return": load_flow(flow_file)}
    b = harness.builder
    sc = b.new("crash", "castore", lines=2)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, "D")
    b.lifecycle(sc)
    b.expect(sc)
    harness.seed(sc)
    store, domain = shopify.store, harness.domain(sc)
    dc = harness.mappings["castore"].locations["dc"].id
    before = store.stock(domain, sc.order_lines[0].sku)[dc]["available"]

    def before_restart() -> None:
        assert len(store.refunds(domain, harness.order_id(sc))) == 1
        assert store.stock(domain, sc.order_lines[0].sku)[dc]["available"] == before  # restock not reached yet

    status = await crash_after_commit(temporal_env, shopify, harness, domain, operation, sc, before_restart)
    assert status.state == "refunded" and not status.needs_attention, status.attention_reason
    refunds = store.refunds(domain, harness.order_id(sc))
    assert len(refunds) == 1
    assert Decimal(str(refunds[0]["amount"])) == sc.expected_refund
    assert status.refund is not None and status.refund.status == "already_issued"
    assert status.refund.refund_id == refunds[0]["id"]
    assert shopify.faults.commits[operation] == 1
    assert store.stock(domain, sc.order_lines[0].sku)[dc]["available"] == before + 1
    [ret] = store.returns(domain, harness.order_id(sc))
    assert ret["status"] == "CLOSED" and ret["processed"] == {}  # refunded beside the return, as return@3 does


async def test_worker_killed_after_processing_committed_refunds_and_exchanges_once(
    temporal_env: WorkflowEnvironment, shopify: ShopifyEmulator, harness: Harness
) -> None:
    """One processing settles a refund (the leggings, graded A) and a cheaper exchange (the hoodie for a tee):
    Shopify commits it and the worker dies before it hears; the next worker reads Shopify's record: one refund (the
    leggings less the fee, plus the difference), one exchange fulfillment order, the leggings restocked once."""
    b = harness.builder
    sc = b.new("crash exchange", "castore", skus=["CAS-HOOD-GRY-M", "CAS-LEG-BLK-M"], quantity=1)
    b.returned(sc, 0, 1, "A", exchange="CAS-TEE-BLK-S")
    b.returned(sc, 1, 1, "A")
    b.lifecycle(sc)
    b.expect(sc)
    harness.seed(sc)
    store, domain = shopify.store, harness.domain(sc)
    dc = harness.mappings["castore"].locations["dc"].id
    before = store.stock(domain, "CAS-LEG-BLK-M")[dc]["available"]
    status = await crash_after_commit(temporal_env, shopify, harness, domain, "ReturnProcess", sc)
    assert status.finished and not status.needs_attention, status.attention_reason
    [exchange] = store.exchanges(domain, harness.order_id(sc))
    assert (exchange["processed"], len(exchange["fulfillment_orders"])) == (1, 1)
    refunds = store.refunds(domain, harness.order_id(sc))
    assert [r["amount"] for r in refunds] == [Decimal("59.99") - Decimal("2.95") + Decimal("50.00")]
    assert refunds[0]["amount"] == sc.expected_refund
    assert status.refund is not None and status.refund.status == "already_issued"
    assert shopify.faults.commits["ReturnProcess"] == 1
    assert {i.exchange_sku: i.exchange for i in status.items if i.exchange_sku} == {"CAS-TEE-BLK-S": "released"}
    assert store.stock(domain, "CAS-LEG-BLK-M")[dc]["available"] == before + 1
    [ret] = store.returns(domain, harness.order_id(sc))
    assert ret["status"] == "CLOSED" and ret["processed"] == {"CAS-HOOD-GRY-M": 1, "CAS-LEG-BLK-M": 1}
