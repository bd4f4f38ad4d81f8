"""Fuzzing the receiver: whatever arrives, the answer is never a 5xx other than 503, and every push that is not
accepted is held, byte for byte."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.client import Client

from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.ingest.receiver import Receiver
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


bodies = st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()), mutated_payload())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=bodies, auth=st.sampled_from(["signed", "forged", "none", "stale"]), brand=st.sampled_from(["castore", "x"])
)
def test_receiver_never_fails_and_never_loses_a_push(
    tmp_path: Path, flows: dict[str, FlowDef], mappings: dict[str, MappingDef], body: bytes, auth: str, brand: str
) -> None:
    async def scenario() -> None:
        client = await Client.connect("127.0.0.1:1", lazy=True)  # Temporal down: valid pushes must get 503

        async def lookup(name: str) -> MappingDef:
            if name not in mappings:
                raise NoDeployedMapping(name)
            return mappings[name]

        store = await open_event_store(f"sqlite:///{tmp_path / f'fuzz-{time.monotonic_ns()}.sqlite'}")
        receiver = Receiver(client=client, flows=flows_from(flows), mappings=lookup,
                            store=store, task_queue="fuzz", secrets={"castore": SECRET, "x": SECRET}.get)  # fmt: skip
        now = int(time.time())
        headers = {
            "signed": {SIGNATURE_HEADER: sign(SECRET, now, body), TIMESTAMP_HEADER: str(now)},
            "forged": {SIGNATURE_HEADER: "sha256=" + "0" * 64, TIMESTAMP_HEADER: str(now)},
            "none": {},
            "stale": {SIGNATURE_HEADER: sign(SECRET, now - 10_000, body), TIMESTAMP_HEADER: str(now - 10_000)},
        }[auth]
        outcome = await receiver.ingest(brand, headers, body)
        assert outcome.http_status in (200, 202, 400, 401, 404, 413, 422, 503), outcome
        if auth != "signed":
            assert outcome.http_status in (401, 404)
        held = await store.list()
        if outcome.http_status >= 300:
            assert len(held) == 1 and held[0].body == body and held[0].http_status == outcome.http_status
        else:
            assert outcome.body["status"] in ("ignored", "duplicate")
        await store.close()

    asyncio.run(scenario())
