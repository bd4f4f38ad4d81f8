"""The drift monitor end to end: each drift type seeded into the emulators and workflows, reported once with its
owner by the brand's scheduled reconciliation; a second run keeps first-seen and alerts nothing again; a clean
world reports nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from emulators.rebound.scenarios import Scenario
from emulators.rebound.server import ReboundEmulator
from emulators.shopify import returns as shopify_returns
from emulators.shopify import reverse_logistics
from engine.cli import main
from engine.definitions.mapping import MappingDef, load_mapping
from engine.drift.activities import DriftActivities
from engine.drift.schedule import ensure_drift_schedule, run_now, schedule_id
from engine.drift.worker import build_drift_worker
from engine.drift.workflow import DriftInput, DriftResult
from engine.ingest.serve import AppServer
from engine.registry.client import deploy
from engine.settings import token_env_name
from engine.workers.build import build_registry_worker
from tests.conftest import Harness
from tests.paths import REPO_ROOT

TOKEN = "rebound-api-token"
CASTORE = REPO_ROOT / "mappings" / "castore.yaml"


@dataclass
class DriftRig:
    harness: Harness
    rebound: ReboundEmulator
    alerts: list[dict[str, Any]] = field(default_factory=list)
    alert_url: str = ""
    alert_answer: int = 200
    task_queue: str = ""
    prefix: str = ""

    def publish(self, *scenarios: Scenario) -> None:
        for sc in scenarios:
            for payload in sc.pushes:
                self.rebound.publish(sc.brand, payload)

    async def run(self, brand: str) -> DriftResult:
        client = self.harness.client
        inp = DriftInput(brand, workflow_task_queue=self.harness.settings.task_queue)
        sid = await ensure_drift_schedule(
            client, self.harness.mappings[brand], inp, task_queue=self.task_queue, sid=f"{self.prefix}-{brand}"
        )
        return await run_now(client, sid, timeout=45)


@pytest.fixture
async def rig(harness: Harness) -> AsyncIterator[DriftRig]:
    rebound = ReboundEmulator(api_token=TOKEN, secrets={})
    rebound_url = await rebound.start()
    rig = DriftRig(harness, rebound, task_queue=f"drift-{uuid.uuid4()}", prefix=f"drift-test-{uuid.uuid4().hex[:8]}")

    async def hook(request: Request) -> JSONResponse:
        rig.alerts.append(await request.json())
        return JSONResponse({"ok": rig.alert_answer == 200}, status_code=rig.alert_answer)

    alert_server = AppServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
    rig.alert_url = f"{await alert_server.start()}/hook?token=s3cr3t-{uuid.uuid4().hex}"  # a webhook's secret URL

    async def mapping(brand: str) -> MappingDef:
        m = harness.mappings[brand]
        return dataclasses.replace(m, sla_seconds={**m.sla_seconds, "close_after_refund": 0})

    async with httpx.AsyncClient(timeout=10) as http:
        activities = DriftActivities(
            harness.client, harness.settings, http, rebound_api_url=rebound_url, rebound_api_token=TOKEN,
            mappings=mapping, token_lookup=harness.tokens.__getitem__, bulk_poll_seconds=0.02, alert_url=rig.alert_url,
        )  # fmt: skip
        async with build_drift_worker(harness.client, activities, task_queue=rig.task_queue):
            try:
                yield rig
            finally:
                for brand in harness.mappings:
                    try:
                        await harness.client.get_schedule_handle(f"{rig.prefix}-{brand}").delete()
                    except Exception:  # noqa: BLE001 - not created in this test
                        pass
                await alert_server.stop()
                await rebound.stop()


def full(h: Harness, name: str, brand: str, grade: str) -> Scenario:
    return h.new_return(name, brand, (grade,), seed=False)


async def push(h: Harness, sc: Scenario, count: int | None = None) -> None:
    for payload in sc.pushes[:count]:
        await h.push(sc, payload)


async def test_each_drift_type_reported_once_with_its_owner_and_first_seen_kept(rig: DriftRig) -> None:
    h = rig.harness
    store = h.shopify.store
    clean = full(h, "clean", "castore", "A")
    clean_app = full(h, "clean, Rebound app refunds", "lounge", "S")
    not_restocked = full(h, "inspection push lost", "cult", h.builder._grade("cult", "restock"))
    restock_failed = full(h, "restock refused", "castore", "A")
    overdue = full(h, "refund never issued", "castore", "C")  # C: quarantined, refunded in full
    manual = h.builder.new("staff refund in transit", "castore", lines=1)
    h.builder.returned(manual, 0, 1, "A")
    h.builder.lifecycle(manual, until="postalIncoming")
    duplicate = full(h, "refunded twice", "castore", "A")
    mismatch = full(h, "app refunded less", "lounge", "S")
    left_open = full(h, "Shopify return reopened", "castore", "A")
    unknown = full(h, "never reached the engine", "castore", "A")
    everything = [clean, clean_app, not_restocked, restock_failed, overdue, manual, duplicate, mismatch]
    everything += [left_open, unknown]
    h.seed(*everything)
    rig.publish(*everything)  # Rebound knows every milestone, whatever reached the engine

    # Rebound's app refunds less than the mapping's rules give, before the engine looks.
    lines, amount = mismatch.app_refund()
    mismatch_order = h.order_id(mismatch)
    store.refund_by_hand(h.domain(mismatch), mismatch_order, lines, amount - Decimal("5.00"), note="ReBound app")

    await asyncio.gather(
        push(h, clean), push(h, clean_app), push(h, not_restocked, 3), push(h, restock_failed, 3),
        push(h, overdue, 3), push(h, manual), push(h, duplicate), push(h, mismatch), push(h, left_open),
    )  # fmt: skip

    # Restock refused: someone disposed the parcel in Shopify before the inspection reached the engine.
    await h.wait_state(restock_failed, "received")
    shop = store.shop(h.domain(restock_failed))
    rfo_lines = [
        {"reverseFulfillmentOrderLineItemId": line.id, "quantity": line.total_quantity, "dispositionType": "MISSING"}
        for rfo in shop.rfos.values()
        if rfo.order_id == h.order_id(restock_failed)
        for line in rfo.lines
    ]
    assert rfo_lines and reverse_logistics.dispose(store, shop, rfo_lines).ok
    await h.push(restock_failed, restock_failed.pushes[3])

    await h.wait_state(manual, "in_transit")
    sku = manual.order_lines[0].sku
    store.refund_by_hand(h.domain(manual), h.order_id(manual), {sku: 1}, manual.order_lines[0].unit_price, "goodwill")

    for sc in (clean, duplicate, left_open):
        assert (await h.wait_state(sc, "refunded")).state == "refunded"
    dup_refund = store.refunds(h.domain(duplicate), h.order_id(duplicate))[0]
    store.refund_by_hand(
        h.domain(duplicate), h.order_id(duplicate), {}, Decimal("1.00"),
        note=f"retry {dup_refund['note']}",  # the same marker: a second refund of ours
    )  # fmt: skip
    ret = store.returns(h.domain(left_open), h.order_id(left_open))[0]
    assert shopify_returns.reopen_return(store, store.shop(h.domain(left_open)), ret["id"]).ok
    assert (await h.wait_state(clean_app, "refunded")).state == "refunded"
    assert (await h.wait_state(mismatch, "refunded")).state == "refunded"
    assert (await h.wait_state(not_restocked, "received")).refund is not None
    assert (await h.wait_state(overdue, "received")).state == "received"
    await h.wait_state(restock_failed, "restocked")
    held = await h.wait_for(restock_failed, lambda s: s.needs_attention)
    assert held.needs_attention, held.state

    first = {brand: await rig.run(brand) for brand in ("castore", "cult", "lounge")}
    findings = [f for result in first.values() for f in result.findings]
    got = sorted((f.kind, f.rebound_return_id, f.owner) for f in findings)
    expected = sorted(
        [
            ("received_not_restocked", not_restocked.rebound_return_id, "ops"),
            ("restock_failed", restock_failed.rebound_return_id, "ops"),
            ("refund_overdue", overdue.rebound_return_id, "finance"),
            ("manual_refund", manual.rebound_return_id, "finance"),
            ("duplicate_refund", duplicate.rebound_return_id, "finance"),
            ("amount_mismatch", mismatch.rebound_return_id, "finance"),
            ("return_left_open", left_open.rebound_return_id, "cx"),
            ("unknown_to_engine", unknown.rebound_return_id, "ops"),
        ]
    )
    assert got == expected, "\n".join(f"{f.kind} {f.rebound_return_id} {f.summary} {f.evidence}" for f in findings)
    assert all(f.new and f.first_seen and f.evidence for f in findings)
    assert first["castore"].counts == {"rebound_returns": 7, "shopify_orders": 6, "workflows": 6}
    assert sorted(a["text"].split(":")[0] for a in rig.alerts) == [
        "Returns drift (castore)", "Returns drift (cult)", "Returns drift (lounge)",
    ]  # fmt: skip

    second = {brand: await rig.run(brand) for brand in ("castore", "cult", "lounge")}
    again = [f for result in second.values() for f in result.findings]
    assert sorted((f.kind, f.rebound_return_id, f.owner) for f in again) == expected
    before = {f.key: f.first_seen for f in findings}
    assert {f.key: f.first_seen for f in again} == before
    assert not any(f.new for f in again) and all(r.new == 0 for r in second.values())
    assert len(rig.alerts) == 3, "a drift already reported is not alerted again"


async def test_clean_run_reports_nothing(rig: DriftRig) -> None:
    h = rig.harness
    castore = full(h, "clean", "castore", "A")
    partial = h.builder.new("partial", "castore", lines=3)
    h.builder.returned(partial, 1, 1, "B")
    h.builder.lifecycle(partial)
    h.builder.expect(partial)
    lounge = full(h, "clean app refund", "lounge", "S")
    h.seed(castore, partial, lounge)
    rig.publish(castore, partial, lounge)
    await asyncio.gather(push(h, castore), push(h, partial), push(h, lounge))
    for sc in (castore, partial, lounge):
        assert (await h.wait_state(sc, "refunded")).state == "refunded"

    for brand in ("castore", "lounge"):
        result = await rig.run(brand)
        assert result.findings == [], [(f.kind, f.summary, f.evidence) for f in result.findings]
        assert result.counts["workflows"] == result.counts["rebound_returns"] > 0
    assert rig.alerts == []


async def test_returns_drift_command_runs_from_a_workers_environment(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`returns drift --brand castore --format json`, configured only by the environment a worker has: a Rebound
    return whose pushes never reached the engine is reported, and the command exits 1 (findings). The brand is
    judged by its deployed mapping, not its file: the deployed version hands that exception to CX."""
    h = harness
    rebound = ReboundEmulator(api_token=TOKEN, secrets={})
    rebound_url = await rebound.start()
    unknown = full(h, "never pushed", "castore", "A")
    h.seed(unknown)
    rebound.publish("castore", unknown.pushes[0])
    domain = h.mappings["castore"].shop_domain
    environment = {
        "TEMPORAL_ADDRESS": h.client.service_client.config.target_host,
        "RETURNS_TASK_QUEUE": h.settings.task_queue,
        "SHOPIFY_ENDPOINT": h.settings.shopify_endpoint,
        token_env_name(domain): h.tokens[domain],
        "REBOUND_API_URL": rebound_url,
        "REBOUND_API_TOKEN": TOKEN,
        "DRIFT_TASK_QUEUE": f"drift-cli-{uuid.uuid4()}",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    shipped = h.mappings["castore"]
    variant = tmp_path / "castore.yaml"
    variant.write_text(CASTORE.read_text().replace("  unknown_to_engine: ops", "  unknown_to_engine: cx"))
    deployed = load_mapping(variant)
    assert deployed.owners["unknown_to_engine"] == "cx"
    try:
        async with build_registry_worker(h.client):
            await deploy(h.client, deployed, operator="test", note="unknown returns go to CX")
        code = await asyncio.to_thread(main, ["drift", "--brand", "castore", "--format", "json"])
    finally:
        async with build_registry_worker(h.client):
            await deploy(h.client, shipped, operator="test", note="back to the shipped mapping")
        await rebound.stop()
        await h.client.get_schedule_handle(schedule_id("castore")).delete()

    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(f["kind"], f["rebound_return_id"], f["owner"]) for f in report["findings"]] == [
        ("unknown_to_engine", unknown.rebound_return_id, "cx")
    ]
    assert report["by_kind"] == {"unknown_to_engine": 1}


async def test_the_alert_url_is_in_no_schedule_history_or_failure_and_old_schedules_are_scrubbed(
    rig: DriftRig,
) -> None:
    """The webhook URL is a secret: the worker holds it. A failing endpoint is reported by status only; a schedule
    an older version created with the URL in its arguments loses it when the worker ensures it."""
    from google.protobuf import json_format
    from temporalio.client import Schedule, ScheduleActionStartWorkflow, ScheduleIntervalSpec, ScheduleSpec

    from engine.drift.workflow import DriftWorkflow

    h = rig.harness
    unknown = full(h, "never reached the engine", "castore", "A")
    h.seed(unknown)
    rig.publish(unknown)
    rig.alert_answer = 500
    result = await rig.run("castore")
    assert result.new >= 1 and result.alert.startswith("alert failed"), result.alert
    assert "answered 500" in result.alert and rig.alert_url not in result.alert

    secret = rig.alert_url.split("token=")[1]
    sid = f"{rig.prefix}-castore"
    described = await h.client.get_schedule_handle(sid).describe()
    texts = [str(described.schedule.action), str(described.raw_description)]
    for action in [*described.info.recent_actions]:
        run = h.client.get_workflow_handle(action.action.workflow_id)  # type: ignore[attr-defined]
        texts += [json_format.MessageToJson(e) async for e in run.fetch_history_events()]
    assert len(texts) > 2 and not [t for t in texts if secret in t or "/hook" in t]

    old = f"{rig.prefix}-old-castore"  # as a version before this one left it
    legacy = DriftInput("castore", alert_url=rig.alert_url, workflow_task_queue=h.settings.task_queue)
    await h.client.create_schedule(old, Schedule(
        action=ScheduleActionStartWorkflow(DriftWorkflow.run, legacy, id=f"{old}-run", task_queue=rig.task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
    ))  # fmt: skip
    try:
        assert secret in str((await h.client.get_schedule_handle(old).describe()).raw_description)
        await ensure_drift_schedule(h.client, h.mappings["castore"], DriftInput("castore"), task_queue=rig.task_queue,
                                    sid=old)  # fmt: skip
        after = await h.client.get_schedule_handle(old).describe()
        assert secret not in str(after.raw_description)
        [args] = await h.client.data_converter.decode(list(after.schedule.action.args), [DriftInput])  # type: ignore[attr-defined]
        assert args == DriftInput("castore", alert=True, workflow_task_queue=h.settings.task_queue)
    finally:
        await h.client.get_schedule_handle(old).delete()
