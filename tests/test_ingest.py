"""Rebound pushes through the authenticated receiver: nothing lost, duplicates ignored, failures held and
replayable, dropped pushes caught by the pull."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio import client as interceptor
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from emulators.rebound.server import PushFaults, ReboundEmulator
from engine.definitions.mapping import MappingDef
from engine.ingest.pull import PullInput, PullResult, ReboundPullActivities, ReboundPullWorkflow
from engine.ingest.receiver import Receiver
from engine.ingest.serve import AppServer
from engine.ingest.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from engine.ingest.store import EventStore, open_event_store
from engine.registry.client import NoDeployedMapping, deploy
from engine.registry.flows import deploy_flow, flows_from
from engine.temporal.sandbox import workflow_runner
from engine.workers.build import build_registry_worker
from engine.workflow.messages import workflow_id
from tests.conftest import Harness

SECRETS = {"castore": "castore-secret-" + uuid.uuid4().hex, "cult": "cult-secret-" + uuid.uuid4().hex,
           "ghost": "ghost-secret-" + uuid.uuid4().hex}  # ghost: a secret, but no mapping deployed  # fmt: skip


@dataclass
class Ingest:
    harness: Harness
    receiver: Receiver
    store: EventStore
    url: str
    rebound: ReboundEmulator

    async def post(self, brand: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.post(f"{self.url}/rebound/{brand}/events", content=body, headers=headers or {})

    def signed(self, brand: str, body: bytes, stamp: int | None = None) -> dict[str, str]:
        stamp = int(time.time()) if stamp is None else stamp
        return {SIGNATURE_HEADER: sign(SECRETS[brand], stamp, body), TIMESTAMP_HEADER: str(stamp)}


def receiver_for(client: Client, h: Harness, store: EventStore) -> Receiver:
    async def lookup(brand: str) -> MappingDef:
        if brand not in h.mappings:
            raise NoDeployedMapping(brand)
        return h.mappings[brand]

    return Receiver(client=client, flows=flows_from(h.flows), mappings=lookup, store=store,
                    task_queue=h.settings.task_queue, secrets=SECRETS.get, start_options=h.start_options)  # fmt: skip


@pytest.fixture
async def ingest(harness: Harness, tmp_path: Path) -> AsyncIterator[Ingest]:
    store = await open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    receiver = receiver_for(harness.client, harness, store)
    server = AppServer(receiver.app())
    url = await server.start()
    rebound = ReboundEmulator(api_token="rebound-api-token", secrets=SECRETS)
    await rebound.start()
    try:
        yield Ingest(harness, receiver, store, url, rebound)
    finally:
        await rebound.stop()
        await server.stop()
        await store.close()


async def no_workflow(client: Client, brand: str, rebound_id: str) -> bool:
    """Temporal, reached, knows no workflow for the return (any other error is raised, not taken for "none")."""
    try:
        await client.get_workflow_handle(workflow_id(brand, rebound_id)).describe()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        return True
    return False


async def test_signed_pushes_drive_a_return_duplicates_and_reordering_included(ingest: Ingest) -> None:
    h = ingest.harness
    sc = h.builder.new("pushed", "castore", lines=1)
    h.builder.returned(sc, 0, 1, "A")
    h.builder.lifecycle(sc)
    h.seed(sc)
    pushes = [("castore", p) for p in sc.pushes]
    stats = await ingest.rebound.push_all(ingest.url, pushes, PushFaults(duplicate_rate=1.0, reorder_window=3, seed=3))
    status = await h.wait_state(sc, "refunded")
    assert status.state == "refunded"
    assert stats.sent == 8 and stats.duplicated == 4
    assert stats.statuses[202] == 4 and stats.statuses[200] == 4  # four accepted, four acknowledged duplicates
    assert len(h.shopify.store.refunds(h.domain(sc), h.order_id(sc))) == 1
    assert await ingest.store.list() == []


@pytest.mark.parametrize(
    ("case", "expected_status"),
    [("bad-signature", 401), ("stale-timestamp", 401), ("missing-signature", 401), ("unknown-brand", 401),
     ("not-a-brand-name", 404), ("malformed-json", 400), ("schema-violation", 422), ("no-deployed-mapping", 404),
     ("unmapped-status", 422)],
)  # fmt: skip
async def test_bad_pushes_are_refused_authenticated_ones_held_without_touching_a_workflow(
    ingest: Ingest, case: str, expected_status: int
) -> None:
    h = ingest.harness
    sc = h.builder.new(case, "castore", lines=1)
    h.builder.returned(sc, 0, 1, "A")
    h.builder.lifecycle(sc, until="returnOrderCreated")
    payload = sc.pushes[0]
    brand = "castore"
    body = json.dumps(payload).encode()
    headers = ingest.signed(brand, body)
    if case == "bad-signature":
        headers[SIGNATURE_HEADER] = sign("wrong-secret", int(headers[TIMESTAMP_HEADER]), body)
    elif case == "stale-timestamp":
        headers = ingest.signed(brand, body, stamp=int(time.time()) - 3600)
    elif case == "missing-signature":
        headers = {}
    elif case == "malformed-json":
        body = body[:-7]
        headers = ingest.signed(brand, body)
    elif case == "schema-violation":
        del payload["order"]["reboundOrderId"]
        body = json.dumps(payload).encode()
        headers = ingest.signed(brand, body)
    elif case == "unknown-brand":  # no secret: answered exactly as a bad signature, so brands are not revealed
        brand = "nosuchbrand"
    elif case == "not-a-brand-name":  # would read REBOUND_SECRET__CASTORE were names normalised
        brand = "CASTORE"
    elif case == "no-deployed-mapping":
        brand = "ghost"
        headers = ingest.signed(brand, body)
    elif case == "unmapped-status":
        payload["order"]["statusDescription"] = "teleported"
        body = json.dumps(payload).encode()
        headers = ingest.signed(brand, body)

    response = await ingest.post(brand, body, headers)

    assert response.status_code == expected_status, response.text
    if expected_status == 401 or case == "not-a-brand-name":  # a stranger's request leaves nothing behind
        assert await ingest.store.list() == []
        assert response.json() == {"status": "refused", "reason": "not authenticated" if expected_status == 401
                                   else "not found"}  # fmt: skip
        assert await no_workflow(h.client, "castore", sc.rebound_return_id)
        return
    [held] = await ingest.store.list()
    assert held.http_status == expected_status and held.body == body and held.brand == brand
    assert held.id == response.json()["held_id"]
    assert held.authenticated
    if case == "schema-violation":
        assert "reboundOrderId" in held.reason
    assert await no_workflow(h.client, "castore", sc.rebound_return_id)


async def test_temporal_down_gives_503_holds_the_push_and_replay_completes_the_return(
    ingest: Ingest, temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    h = ingest.harness
    unreachable = await Client.connect("127.0.0.1:1", lazy=True)
    down = receiver_for(unreachable, h, ingest.store)
    sc = h.builder.new("temporal down", "castore", lines=1)
    h.builder.returned(sc, 0, 1, "A")
    h.builder.lifecycle(sc)
    h.seed(sc)
    first = json.dumps(sc.pushes[0]).encode()
    outcome = await down.ingest("castore", ingest.signed("castore", first), first)
    assert outcome.http_status == 503 and outcome.held_id is not None
    [held] = await ingest.store.list(status="failed")
    assert held.authenticated and "Temporal unavailable" in held.reason
    for payload in sc.pushes[1:]:
        body = json.dumps(payload).encode()
        assert (await ingest.post("castore", body, ingest.signed("castore", body))).status_code == 202

    # Operators replay with the CLI, against the brand's deployed mapping.
    async with build_registry_worker(temporal_env.client):
        await deploy_flow(temporal_env.client, h.flow, operator="test", note="ingest test")
        await deploy(temporal_env.client, h.mappings["castore"], operator="test", note="ingest test")
    env = {**os.environ, "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "RETURNS_DATA_DIR": str(tmp_path), "RETURNS_TASK_QUEUE": h.settings.task_queue}  # fmt: skip
    listing = subprocess.run([sys.executable, "-m", "engine", "events", "list", "--status", "failed"],
                             capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert f"{held.id:>6}" in listing.stdout and "503" in listing.stdout
    replay = subprocess.run([sys.executable, "-m", "engine", "events", "replay"], capture_output=True, text=True,
                            env=env, timeout=120)  # fmt: skip
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert f"{held.id}: 202 accepted" in replay.stdout

    status = await h.wait_state(sc, "refunded")
    assert status.state == "refunded"
    assert await ingest.store.list(status="failed") == []
    assert [e.status for e in await ingest.store.list()] == ["replayed"]


async def test_dropped_push_is_caught_by_the_scheduled_pull(ingest: Ingest, temporal_env: WorkflowEnvironment) -> None:
    h = ingest.harness
    sc = h.builder.new("dropped", "castore", lines=1)
    h.builder.returned(sc, 0, 1, "A")
    h.builder.lifecycle(sc)
    h.seed(sc)
    registered, in_transit, received, inspected = sc.pushes
    await ingest.rebound.push_all(ingest.url, [("castore", registered), ("castore", in_transit)])
    ingest.rebound.publish("castore", received)  # happened at Rebound, push lost on the way
    ingest.rebound.publish("castore", inspected)
    status = await h.wait_state(sc, "in_transit")
    assert status.state == "in_transit"

    queue = f"pull-{uuid.uuid4()}"
    async with httpx.AsyncClient(timeout=30) as http:
        activities = ReboundPullActivities(ingest.receiver, ingest.rebound.base_url, "rebound-api-token", http)
        async with Worker(temporal_env.client, task_queue=queue, workflows=[ReboundPullWorkflow],
                          activities=[activities.pull_rebound], workflow_runner=workflow_runner()):  # fmt: skip
            first = await temporal_env.client.execute_workflow(
                ReboundPullWorkflow.run, PullInput("castore"), id=f"pull-{uuid.uuid4()}", task_queue=queue
            )
    assert first.returns_seen >= 1 and first.accepted == 2  # the two lost milestones
    assert first.duplicates >= 2  # the two that had arrived by push
    status = await h.wait_state(sc, "refunded")
    assert status.state == "refunded"
    assert len(h.shopify.store.refunds(h.domain(sc), h.order_id(sc))) == 1


async def test_burst_of_1000_pushes_loses_nothing(ingest: Ingest, temporal_env: WorkflowEnvironment) -> None:
    """1,000 signed pushes (250 returns x 4 milestones) at 25 in flight; no worker polls the queue, so this
    measures the hand-off only: every push must be answered 202 and be in its workflow's history."""
    h = ingest.harness
    queue = f"burst-{uuid.uuid4()}"
    ingest.receiver.task_queue = queue
    scenarios = []
    for n in range(250):
        sc = h.builder.new(f"burst {n}", "castore", lines=1)
        h.builder.returned(sc, 0, 1, "A")
        h.builder.lifecycle(sc)
        scenarios.append(sc)
    pushes = [p for sc in scenarios for p in sc.pushes]
    assert len(pushes) == 1000
    semaphore = asyncio.Semaphore(25)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=25)) as http:

        async def send(payload: dict) -> int:  # type: ignore[type-arg]
            async with semaphore:
                return await ingest.rebound.push(http, ingest.url, "castore", payload)

        statuses = await asyncio.gather(*(send(p) for p in pushes))
    assert statuses.count(202) == 1000, {s: statuses.count(s) for s in set(statuses)}
    assert await ingest.store.list() == []
    for sc in scenarios[::25]:  # every push is in the workflow's history as a signal
        history = await temporal_env.client.get_workflow_handle(
            workflow_id("castore", sc.rebound_return_id)
        ).fetch_history()
        signals = [e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")]
        assert len(signals) == 4
    for sc in scenarios:
        await temporal_env.client.get_workflow_handle(workflow_id("castore", sc.rebound_return_id)).terminate(
            "test cleanup"
        )


async def test_bearer_mode_accepts_the_shared_token_only(ingest: Ingest) -> None:
    from engine.ingest.signatures import AuthPolicy

    ingest.receiver.policy = AuthPolicy(mode="bearer")
    h = ingest.harness
    sc = h.builder.new("bearer", "castore", lines=1)
    h.builder.returned(sc, 0, 1, "A")
    h.builder.lifecycle(sc, until="returnOrderCreated")
    h.seed(sc)
    body = json.dumps(sc.pushes[0]).encode()
    token = {"Authorization": f"Bearer {SECRETS['castore']}"}
    wrong = await ingest.post("castore", body, {"Authorization": "Bearer nope"})
    right = await ingest.post("castore", body, token)
    assert (wrong.status_code, right.status_code) == (401, 202)
    assert await ingest.store.list() == []  # the wrong token's request left nothing
    held_response = await ingest.post("castore", body[:-3], token)  # authenticated, not JSON: held
    assert held_response.status_code == 400
    [held] = await ingest.store.list()
    assert "authorization" not in {k.lower() for k in held.headers}  # the token is never stored


async def test_schedule_runs_continue_from_the_previous_cursor(
    ingest: Ingest, temporal_env: WorkflowEnvironment
) -> None:
    from datetime import timedelta

    from engine.ingest.pull import ensure_pull_schedule

    h = ingest.harness
    first, second = (h.builder.new(f"pull {n}", "castore", lines=1) for n in range(2))
    for sc in (first, second):
        h.builder.returned(sc, 0, 1, "A")
        h.builder.lifecycle(sc, until="returnOrderCreated")
        ingest.rebound.publish("castore", sc.pushes[0])
    h.seed(first, second)
    queue = f"sched-{uuid.uuid4()}"
    client = temporal_env.client
    async with httpx.AsyncClient(timeout=30) as http:
        activities = ReboundPullActivities(ingest.receiver, ingest.rebound.base_url, "rebound-api-token", http)
        async with Worker(client, task_queue=queue, workflows=[ReboundPullWorkflow],
                          activities=[activities.pull_rebound], workflow_runner=workflow_runner()):  # fmt: skip
            sid = await ensure_pull_schedule(client, "castore", every=timedelta(hours=1), task_queue=queue,
                                             overlap_seconds=0)  # the cursor alone decides the window  # fmt: skip
            handle = client.get_schedule_handle(sid)

            async def run_once(expected_runs: int):  # type: ignore[no-untyped-def]
                await handle.trigger()
                for _ in range(150):
                    desc = await handle.describe()
                    done = [a for a in desc.info.recent_actions]
                    if len(done) >= expected_runs:
                        run = client.get_workflow_handle(
                            done[-1].action.workflow_id, run_id=done[-1].action.first_execution_run_id
                        )
                        try:
                            return PullResult(**await asyncio.wait_for(run.result(), 30))
                        except (TimeoutError, RPCError):  # not done yet; a failed pull raises, with its cause
                            pass
                    await asyncio.sleep(0.2)
                raise AssertionError("schedule did not run")

            one = await run_once(1)
            h.builder.lifecycle(second, until="postalIncoming")
            ingest.rebound.publish("castore", second.pushes[-1])  # only `second` changes at Rebound
            two = await run_once(2)
            await handle.delete()
    assert one.returns_seen == 2 and one.accepted == 2
    assert two.returns_seen == 1 and two.accepted == 1 and two.cursor > one.cursor


async def test_a_push_for_a_closed_return_is_acknowledged_and_kept_not_retried(ingest: Ingest) -> None:
    """Rebound re-sends an old event after the return's workflow closed (an operator terminated it, or its
    30-day linger ended): the receiver answers 200 so Rebound stops retrying, keeps the push as late, and starts
    no second workflow for the return."""
    h = ingest.harness
    sc = h.builder.new("closed", "castore", lines=1)
    h.builder.returned(sc, 0, 1, "A")
    h.builder.lifecycle(sc)
    h.seed(sc)
    registered, in_transit, *_ = sc.pushes
    body = json.dumps(registered).encode()
    assert (await ingest.post("castore", body, ingest.signed("castore", body))).status_code == 202
    handle = h.client.get_workflow_handle(workflow_id("castore", sc.rebound_return_id))
    first_run = (await handle.describe()).run_id
    await handle.terminate(reason="test: operator closed the return")

    late = json.dumps(in_transit).encode()
    response = await ingest.post("castore", late, ingest.signed("castore", late))

    assert response.status_code == 200, response.text
    [held] = await ingest.store.list()
    assert held.status == "late" and held.http_status == 200 and held.body == late
    description = await h.client.get_workflow_handle(workflow_id("castore", sc.rebound_return_id)).describe()
    assert description.run_id == first_run  # still the terminated run: nothing new started


class _Counting(interceptor.OutboundInterceptor):
    def __init__(self, next: interceptor.OutboundInterceptor, calls: Counter[str]) -> None:
        super().__init__(next)
        self.calls = calls

    async def start_workflow(self, input: interceptor.StartWorkflowInput) -> Any:
        self.calls["signal-with-start"] += 1
        return await super().start_workflow(input)

    async def signal_workflow(self, input: interceptor.SignalWorkflowInput) -> None:
        self.calls["signal"] += 1
        await super().signal_workflow(input)


class CountCalls(interceptor.Interceptor):
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def intercept_client(self, next: interceptor.OutboundInterceptor) -> interceptor.OutboundInterceptor:
        return _Counting(next, self.calls)


async def test_pushes_to_a_running_return_are_plain_signals_without_the_start_input(
    harness: Harness, tmp_path: Path
) -> None:
    """The flow and mapping travel once, in the start; a return this receiver saw running gets the event alone."""
    h, counter = harness, CountCalls()
    client = await Client.connect(h.client.service_client.config.target_host, interceptors=[counter])
    store = await open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    server = AppServer(receiver_for(client, h, store).app())
    url = await server.start()
    rebound = ReboundEmulator(api_token="t", secrets=SECRETS)
    try:
        sc = h.builder.new("signal-first", "castore", lines=1)
        h.builder.returned(sc, 0, 1, "A")
        h.builder.lifecycle(sc)
        h.seed(sc)
        stats = await rebound.push_all(url, [("castore", p) for p in sc.pushes])
        assert stats.statuses[202] == 4
        assert (await h.wait_state(sc, "refunded")).state == "refunded"
        assert counter.calls == {"signal-with-start": 1, "signal": 3}
    finally:
        await server.stop()
        await store.close()


async def test_one_brand_s_push_never_counts_as_a_duplicate_of_another_s(ingest: Ingest) -> None:
    """The event id (and so the dedupe key) includes the brand: the same body pushed for two brands is two events."""
    h = ingest.harness
    sc = h.builder.new("twin", "castore", lines=1)
    h.builder.returned(sc, 0, 1, "A")
    h.builder.lifecycle(sc, until="returnOrderCreated")
    body = json.dumps(sc.pushes[0]).encode()
    first = await ingest.post("castore", body, ingest.signed("castore", body))
    second = await ingest.post("cult", body, ingest.signed("cult", body))
    again = await ingest.post("cult", body, ingest.signed("cult", body))
    assert (first.status_code, second.status_code, again.status_code) == (202, 202, 200), second.text
    assert first.json()["event_id"] != second.json()["event_id"] == again.json()["event_id"]
    assert again.json()["status"] == "duplicate"
    for brand in ("castore", "cult"):
        await h.client.get_workflow_handle(workflow_id(brand, sc.rebound_return_id)).terminate("test cleanup")
