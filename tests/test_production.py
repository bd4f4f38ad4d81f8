"""The production shape: `returns worker` and two `returns serve` processes sharing one PostgreSQL, configured by
the environment alone, as a deployment runs them. Duplicated pushes split between the receivers are accepted once;
held pushes replayed from two processes at once are replayed once; SIGINT and SIGTERM stop every process cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from emulators.processes import Proc, free_port, spawn, wait_http
from emulators.rebound.server import ReboundEmulator
from engine.definitions.mapping import load_mapping
from engine.ingest.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, secret_env_name, sign
from engine.registry.client import deploy
from engine.registry.flows import deploy_flow
from engine.settings import token_env_name
from engine.workers.build import build_registry_worker
from engine.workflow.messages import workflow_id
from engine.workflow.return_workflow import ReturnWorkflow
from tests.conftest import Harness
from tests.paths import REPO_ROOT


async def send(http: httpx.AsyncClient, port: int, brand: str, secret: str, body: bytes) -> tuple[int, int]:
    """Post as Rebound does, retrying a 503 that asks for it (Retry-After); (final status, 503s seen)."""
    retried = 0
    while True:
        stamp = int(time.time())
        headers = {SIGNATURE_HEADER: sign(secret, stamp, body), TIMESTAMP_HEADER: str(stamp)}
        response = await http.post(f"http://127.0.0.1:{port}/rebound/{brand}/events", content=body, headers=headers)
        if response.status_code == 503 and "retry-after" in response.headers and retried < 20:
            retried += 1
            await asyncio.sleep(float(response.headers["retry-after"]))
            continue
        return response.status_code, retried


async def stop_all(procs: list[tuple[Proc, signal.Signals]]) -> None:
    for proc, sig in procs:
        code, took = await proc.interrupt(sig)
        assert code == 0, (sig, code, proc.output)
        assert took < 10, (sig, took)
        assert not proc.group_alive()


async def test_a_worker_and_two_receivers_on_postgres_complete_a_return_accepting_each_push_once(
    harness: Harness, temporal_env: WorkflowEnvironment, postgres_url: str, tmp_path: Path
) -> None:
    h = harness
    sc = h.new_return("production shape", "castore", ("A", "B"))
    domain = h.domain(sc)
    async with build_registry_worker(h.client):
        await deploy_flow(h.client, h.flow, operator="test", note="production shape")
        await deploy(h.client, h.mappings["castore"], operator="test", note="production shape")
    secret = uuid.uuid4().hex
    common = {
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "RETURNS_TASK_QUEUE": f"production-{uuid.uuid4()}",
        "RETURNS_DATABASE_URL": postgres_url,
        "RETURNS_DATA_DIR": str(tmp_path / "data"),
    }
    worker = spawn(
        ["worker", "--roles", "returns,shops,registry"],
        {**common, "SHOPIFY_ENDPOINT": h.settings.shopify_endpoint, token_env_name(domain): h.tokens[domain]},
        tmp_path / "worker.log",
    )
    ports = [free_port(), free_port()]
    receivers = [
        spawn(["serve", "--port", str(port)], {**common, secret_env_name("castore"): secret}, tmp_path / f"{port}.log")
        for port in ports
    ]
    try:
        await worker.wait_for_line("ready;")
        assert f"shops: {domain} (plus, 71.4 activities/s)" in worker.output, worker.output
        for port in ports:
            ready = await wait_http(f"http://127.0.0.1:{port}/readyz")
            assert ready.json() == {"status": "ready"}
            assert (await wait_http(f"http://127.0.0.1:{port}/healthz")).json() == {"status": "ok"}

        finals, in_flight = [], 0
        async with httpx.AsyncClient(timeout=30) as http:
            for payload in sc.pushes:  # each push sent twice at once, one copy to each receiver
                body = json.dumps(payload).encode()
                pair = await asyncio.gather(*(send(http, port, "castore", secret, body) for port in ports))
                finals.append(sorted(status for status, _ in pair))
                in_flight += sum(retried for _, retried in pair)
        assert finals == [[200, 202]] * len(sc.pushes), finals  # one hand-off, one acknowledged duplicate

        status = await h.wait_state(sc, "refunded", timeout=60)
        assert status.state == "refunded" and not status.needs_attention, status.attention_reason
        refunds = h.shopify.store.refunds(domain, h.order_id(sc))
        assert len(refunds) == 1 and Decimal(str(refunds[0]["amount"])) == sc.expected_refund
        with psycopg.connect(postgres_url) as conn:
            accepted = conn.execute("SELECT event_id, state, workflow_id FROM accepted_events").fetchall()
            held = conn.execute("SELECT count(*) FROM held_events").fetchone()
        assert len(accepted) == len(sc.pushes) == len({row[0] for row in accepted})
        assert {(row[1], row[2]) for row in accepted} == {("accepted", workflow_id("castore", sc.rebound_return_id))}
        assert held == (0,)
        access = receivers[0].output + receivers[1].output
        assert '"POST /rebound/castore/events HTTP/1.1" 202' in access and secret not in access

        # Ctrl-C reaches a whole process group; orchestrators send SIGTERM.
        await stop_all([(receivers[0], signal.SIGTERM), (receivers[1], signal.SIGINT), (worker, signal.SIGINT)])
        assert "WARN" not in worker.output and "Traceback" not in worker.output + access
    finally:
        for proc in (worker, *receivers):
            proc.kill()


async def test_held_pushes_replayed_from_two_processes_at_once_are_each_replayed_once(
    harness: Harness, temporal_env: WorkflowEnvironment, postgres_url: str, tmp_path: Path
) -> None:
    """Pushes for a brand whose mapping is not deployed yet are held (authenticated, replayable); once it is,
    two operators replaying the same ids at once hand each to Temporal exactly once."""
    h = harness
    brand = f"replay{uuid.uuid4().hex[:8]}"
    variant = tmp_path / f"{brand}.yaml"
    variant.write_text(
        (REPO_ROOT / "mappings" / "castore.yaml").read_text().replace("brand: castore", f"brand: {brand}")
    )
    mapping = load_mapping(variant)
    secret = uuid.uuid4().hex
    env = {
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "RETURNS_TASK_QUEUE": h.settings.task_queue,
        "RETURNS_DATABASE_URL": postgres_url,
        secret_env_name(brand): secret,
    }
    port = free_port()
    receiver = spawn(["serve", "--port", str(port)], env, tmp_path / "serve.log")
    try:
        await wait_http(f"http://127.0.0.1:{port}/readyz")
        scenarios = [h.new_return(f"held {i}", "castore", ("A",), seed=False) for i in range(3)]
        async with httpx.AsyncClient(timeout=30) as http:
            statuses = [await send(http, port, brand, secret, json.dumps(sc.pushes[0]).encode()) for sc in scenarios]
        assert statuses == [(404, 0)] * 3
        with psycopg.connect(postgres_url) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM held_events WHERE authenticated ORDER BY id")]
        assert len(ids) == 3

        async with build_registry_worker(h.client):
            await deploy_flow(h.client, h.flow, operator="test", note="brand goes live")
            await deploy(h.client, mapping, operator="test", note="brand goes live")
        replays = [spawn(["events", "replay", *map(str, ids)], env, tmp_path / f"replay-{i}.log") for i in (1, 2)]
        codes = [await asyncio.to_thread(p.process.wait, 120) for p in replays]
        output = replays[0].output + replays[1].output
        assert codes == [0, 0], output
        for held_id in ids:
            assert output.count(f"{held_id}: 202 accepted") == 1, output
        with psycopg.connect(postgres_url) as conn:
            rows = conn.execute("SELECT status, replay_result FROM held_events ORDER BY id").fetchall()
        assert rows == [("replayed", "202 accepted")] * 3
        for sc in scenarios:  # each return's workflow was handed its push once, by one of the two replays
            history = await h.client.get_workflow_handle(workflow_id(brand, sc.rebound_return_id)).fetch_history()
            signals = [e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")]
            assert len(signals) == 1, (sc.name, len(signals))
        await stop_all([(receiver, signal.SIGINT)])
    finally:
        receiver.kill()


async def test_two_workers_starting_at_once_serve_every_role_and_their_pull_catches_lost_pushes(
    harness: Harness, temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """`returns worker` with no --roles runs everything: both processes create the brand's pull and drift schedules
    (one of each, whichever starts first), and the pull catches a return none of whose pushes arrived."""
    h = harness
    brand = f"w{uuid.uuid4().hex[:8]}"  # a brand of this test's own, so its schedules are too
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    castore = (REPO_ROOT / "mappings" / "castore.yaml").read_text()
    (mappings / f"{brand}.yaml").write_text(castore.replace("brand: castore", f"brand: {brand}"))
    async with build_registry_worker(h.client):
        await deploy_flow(h.client, h.flow, operator="test", note="worker roles")
        await deploy(h.client, load_mapping(mappings / f"{brand}.yaml"), operator="test", note="worker roles")
    rebound = ReboundEmulator(api_token=uuid.uuid4().hex, secrets={})
    rebound_url = await rebound.start()
    sc = h.new_return("pushes lost", "castore", ("A",))
    for payload in sc.pushes:  # it all happened at Rebound; no push ever arrived
        rebound.publish(brand, payload)
    domain = h.domain(sc)
    env = {
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "RETURNS_TASK_QUEUE": f"roles-{uuid.uuid4()}",
        "RETURNS_MAPPINGS_DIR": str(mappings),
        "RETURNS_DATA_DIR": str(tmp_path / "data"),
        "SHOPIFY_ENDPOINT": h.settings.shopify_endpoint,
        token_env_name(domain): h.tokens[domain],
        "REBOUND_API_URL": rebound_url,
        "REBOUND_API_TOKEN": rebound.api_token,
    }
    workers = [spawn(["worker"], env, tmp_path / f"worker-{i}.log") for i in (1, 2)]
    pull, drift = h.client.get_schedule_handle(f"rebound-pull-{brand}"), h.client.get_schedule_handle(f"drift-{brand}")
    try:
        for worker in workers:
            await worker.wait_for_line("ready;")
            out = worker.output
            assert "roles: returns, shops, registry, pull, drift" in out, out
            assert f"pull: every 5m; schedules rebound-pull-{brand}" in out and f"drift: drift-{brand} every 1h" in out
        assert (await pull.describe()).schedule.spec.intervals[0].every == timedelta(minutes=5)
        assert (await drift.describe()).schedule.spec.intervals[0].every == timedelta(hours=1)

        await pull.trigger()
        handle = h.client.get_workflow_handle_for(ReturnWorkflow.run, workflow_id(brand, sc.rebound_return_id))
        for _ in range(600):
            try:
                status = await handle.query(ReturnWorkflow.status)
            except RPCError:  # not started yet
                await asyncio.sleep(0.2)
                continue
            if status.finished or status.needs_attention:
                break
            await asyncio.sleep(0.2)
        assert status.state == "refunded" and not status.needs_attention, status.attention_reason
        assert len(h.shopify.store.refunds(domain, h.order_id(sc))) == 1
        await stop_all([(workers[0], signal.SIGTERM), (workers[1], signal.SIGINT)])
    finally:
        for worker in workers:
            worker.kill()
        await rebound.stop()
        for handle in (pull, drift):
            await handle.delete()


def test_a_worker_asked_for_the_pull_without_rebound_s_api_refuses_to_start(tmp_path: Path) -> None:
    env = {**os.environ, "REBOUND_API_URL": "", "REBOUND_API_TOKEN": "", "TEMPORAL_ADDRESS": "127.0.0.1:1"}
    done = subprocess.run([sys.executable, "-m", "engine", "worker"], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "pull, drift need Rebound's API: set REBOUND_API_URL and REBOUND_API_TOKEN" in done.stderr
