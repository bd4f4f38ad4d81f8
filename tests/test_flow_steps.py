"""The generic steps a brand asks for on day two, written in a flow alone: tag and untag the order, a line in its
note, a message to the team (a Slack-style webhook whose URL only the worker's environment holds)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.definitions.flow import StepCall
from engine.ingest.serve import AppServer
from tests.conftest import Harness


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[str, list[dict[str, object]]]]:
    received: list[dict[str, object]] = []

    async def hook(request: Request) -> JSONResponse:
        received.append(json.loads(await request.body()))
        return JSONResponse({"ok": True})

    server = AppServer(Starlette(routes=[Route("/hooks/ops", hook, methods=["POST"])]))
    url = await server.start()
    try:
        yield f"{url}/hooks/ops", received
    finally:
        await server.stop()


async def test_tags_note_and_notification_from_the_flow_alone(
    harness: Harness, webhook: tuple[str, list[dict[str, object]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = webhook
    monkeypatch.setenv("RETURNS_NOTIFY_OPS", url)
    standard = harness.flows["return"]
    states = dict(standard.states)
    states["in_transit"] = dataclasses.replace(
        states["in_transit"], steps=[*states["in_transit"].steps, StepCall("tag_order", {"tag": "return-in-transit"})]
    )
    states["received"] = dataclasses.replace(states["received"], steps=[
        *states["received"].steps,
        StepCall("untag_order", {"tag": "return-in-transit"}),
        StepCall("tag_order", {"tag": "return-received"}),
        StepCall("add_order_note", {"text": "Rebound {rebound_return_id}: {items} item(s) at the hub"}),
        StepCall("notify", {"url_env": "RETURNS_NOTIFY_OPS", "format": "slack",
                            "message": "{brand} {order_name}: parcel at the hub ({skus})"}),
    ])  # fmt: skip
    harness.flows = {**harness.flows, "return": dataclasses.replace(standard, states=states, content_hash="day-two")}
    sc = harness.new_return("day two", "castore", ("A",), until="arrivedAtHub")
    await harness.push_all(sc)
    status = await harness.wait_for(sc, lambda s: "notify" in "".join(s.steps_done), timeout=30)
    assert status.state == "received" and not status.needs_attention, status.attention_reason

    order = harness.shopify.store.order_summary(harness.domain(sc), harness.order_id(sc))
    assert "return-received" in order["tags"] and "return-in-transit" not in order["tags"]
    assert (
        order["note"]
        == f"[rebound {sc.rebound_return_id} received] Rebound {sc.rebound_return_id}: 1 item(s) at the hub"
    )
    sku = sc.order_lines[0].sku
    assert received == [{"text": f"castore {sc.order_name}: parcel at the hub ({sku})"}]
