"""Fuzzing the receiver with hostile bodies: whatever arrives, a signed push is never answered 5xx while Temporal
is up (503 only when it is down), every signed push that is not accepted is held byte for byte, and nothing is
stored for a request that is not signed by the brand."""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
import time
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.ingest.receiver import Outcome, Receiver
from engine.ingest.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from engine.ingest.store import open_event_store
from engine.registry.client import NoDeployedMapping
from engine.registry.flows import flows_from

SECRET = "fuzz-secret"
VALID = {
    "order": {"clientOrderId": "#CA1001", "reboundOrderId": "(00)1", "statusDescription": "returnOrderCreated",
              "timestamp": "2026-11-20T10:00:00Z", "trackingNumber": "ZZ1GB"},
    "items": [{"reboundItemId": "(00)9", "sku": "CAS-TEE-BLK-M", "reasonCode": "Too large", "quantity": "1",
               "commercialValue": "45.00", "commercialValueCurrency": "GBP"}],
}  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated_payload(draw: st.DrawFn) -> bytes:
    payload = copy.deepcopy(VALID)
    payload["order"]["reboundOrderId"] = f"(00)fuzz-{uuid.uuid4().hex[:12]}"  # its own return, if it starts one
    for _ in range(draw(st.integers(0, 3))):
        section = draw(st.sampled_from(["order", "item", "top"]))
        target: object = payload
        if section == "order":
            target = payload.get("order")
        elif section == "item" and isinstance(payload.get("items"), list) and payload["items"]:
            target = payload["items"][0]
        if not isinstance(target, dict):
            target = payload
        key = draw(st.sampled_from(sorted(target) + ["extra"]))
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(json_values)
    return json.dumps(payload).encode()


def _in_a_field(raw: str) -> bytes:
    """A valid push with `raw` (JSON text, not necessarily valid) as its SKU."""
    text = json.dumps(VALID).replace('"CAS-TEE-BLK-M"', raw)
    return text.replace('"(00)1"', json.dumps(f"(00)fuzz-{uuid.uuid4().hex[:12]}")).encode()


hostile = st.one_of(
    st.integers(2, 60_000).map(lambda n: b"[" * n + b"]" * n),  # nested far past any parser's recursion
    st.integers(2, 5_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(2, 40).map(lambda n: _in_a_field("[" * n + '"x"' + "]" * n)),
    st.sampled_from(
        [
            "NaN",
            "Infinity",
            "-Infinity",
            "1e999",
            "-1e400",
            "1" * 5000,
            '"\\ud800"',
            '"a\\udfffb"',
            "true",
            "null",
            "{}",
            "[]",
            '"\\u0000"',
            "12.5",
        ]
    ).map(_in_a_field),  # fmt: skip
    st.binary(min_size=1, max_size=40).map(lambda b: _in_a_field('"x"').replace(b'"x"', b'"' + b + b'"')),
    st.sampled_from([b"\xff\xfe{}", b'{"order": "\xc3\x28"}', b"\xed\xa0\x80", "{}".encode("utf-16")]),
)
bodies = st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()), mutated_payload(),
                   hostile)  # fmt: skip


def receiver_for(client: Client, flows: dict[str, FlowDef], mappings: dict[str, MappingDef], store: object) -> Receiver:
    async def lookup(name: str) -> MappingDef:
        if name not in mappings:
            raise NoDeployedMapping(name)
        return mappings[name]

    return Receiver(client=client, flows=flows_from(flows), mappings=lookup, store=store,  # type: ignore[arg-type]
                    task_queue="fuzz", secrets={"castore": SECRET, "ghost": SECRET}.get)  # fmt: skip


def headers_for(auth: str, body: bytes) -> dict[str, str]:
    now = int(time.time())
    return {
        "signed": {SIGNATURE_HEADER: sign(SECRET, now, body), TIMESTAMP_HEADER: str(now)},
        "forged": {SIGNATURE_HEADER: "sha256=" + "0" * 64, TIMESTAMP_HEADER: str(now)},
        "none": {},
        "stale": {SIGNATURE_HEADER: sign(SECRET, now - 10_000, body), TIMESTAMP_HEADER: str(now - 10_000)},
        "other brand's secret": {SIGNATURE_HEADER: sign("not-" + SECRET, now, body), TIMESTAMP_HEADER: str(now)},
    }[auth]


def rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def check(receiver: Receiver, path: Path, auth: str, brand: str, body: bytes, outcome: Outcome) -> None:
    held = await receiver.store.list()
    if auth != "signed" or brand not in ("castore", "ghost"):  # a stranger's request leaves nothing behind
        assert outcome.http_status in (401, 404, 413), outcome
        assert held == [] and rows(path, "accepted_events") == 0
        return
    if outcome.http_status >= 300:
        assert len(held) == 1 and held[0].body == body and held[0].http_status == outcome.http_status, outcome
        assert held[0].authenticated and held[0].reason
    else:
        assert outcome.body["status"] in ("accepted", "ignored", "duplicate"), outcome


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=bodies,
    auth=st.sampled_from(["signed", "forged", "none", "stale", "other brand's secret"]),
    brand=st.sampled_from(["castore", "ghost", "x", "CASTORE", "cas..tore"]),
)
def test_temporal_down_signed_pushes_are_held_and_strangers_leave_nothing(
    tmp_path: Path, flows: dict[str, FlowDef], mappings: dict[str, MappingDef], body: bytes, auth: str, brand: str
) -> None:
    async def scenario() -> None:
        client = await Client.connect("127.0.0.1:1", lazy=True)  # Temporal down: valid pushes must get 503
        path = tmp_path / f"fuzz-{time.monotonic_ns()}.sqlite"
        store = await open_event_store(f"sqlite:///{path}")
        receiver = receiver_for(client, flows, mappings, store)
        outcome = await receiver.ingest(brand, headers_for(auth, body), body)
        assert outcome.http_status in (200, 202, 400, 401, 404, 413, 422, 503), outcome
        await check(receiver, path, auth, brand, body, outcome)
        await store.close()

    asyncio.run(scenario())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=hostile | mutated_payload(), auth=st.sampled_from(["signed", "signed", "signed", "forged", "none"]))
def test_hostile_signed_bodies_are_held_with_a_reason_never_a_5xx_while_temporal_is_up(
    tmp_path: Path, temporal_env: WorkflowEnvironment, flows: dict[str, FlowDef], mappings: dict[str, MappingDef],
    body: bytes, auth: str,
) -> None:  # fmt: skip
    address = temporal_env.client.service_client.config.target_host

    async def scenario() -> None:
        client = await Client.connect(address)
        path = tmp_path / f"hostile-{time.monotonic_ns()}.sqlite"
        store = await open_event_store(f"sqlite:///{path}")
        receiver = receiver_for(client, flows, mappings, store)
        outcome = await receiver.ingest("castore", headers_for(auth, body), body)
        assert outcome.http_status < 500, outcome
        await check(receiver, path, auth, "castore", body, outcome)
        if outcome.http_status == 202:  # started a return on a queue no worker serves: end it
            await client.get_workflow_handle(outcome.body["workflow_id"]).terminate("fuzz cleanup")
        await receiver.drain()
        await store.close()

    asyncio.run(scenario())
