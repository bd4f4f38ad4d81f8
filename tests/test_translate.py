"""Rebound's documented push -> canonical event, through the brand mapping."""

from __future__ import annotations

import pytest

from engine.definitions.mapping import MappingDef
from engine.errors import PayloadError
from engine.rebound.translate import translate

PUSH = {
    "order": {
        "clientOrderId": "#CA1001",
        "reboundOrderId": "(00)687000000000088888",
        "location": "DE_ASC_Nettetall",
        "trackingNumber": "ZZ123456789GB",
        "statusDescription": "postalIncoming",
        "timestamp": "2024-01-29T11:22:09.815479Z",
    },
    "items": [
        {"reboundItemId": "(00)987000000000012345", "clientItemId": "AB0001231", "ean": "4000000479888",
         "sku": "336_SHIRT_3", "reasonCode": "Too large", "articleDescription": "Nice organic cotton blue shirt",
         "commercialValue": "49.90", "commercialValueCurrency": "EUR", "quantity": "1"}
    ],
}  # fmt: skip


def test_documented_push_becomes_a_canonical_event(mappings: dict[str, MappingDef]) -> None:
    event = translate(PUSH, mappings["castore"]).event
    assert event is not None
    assert (event.kind, event.rebound_return_id, event.order_name) == (
        "in_transit",
        "(00)687000000000088888",
        "#CA1001",
    )
    assert event.tracking_number == "ZZ123456789GB"
    assert [(i.sku, i.quantity, i.reason) for i in event.items] == [("336_SHIRT_3", 1, "Too large")]


def test_event_id_is_stable_and_distinguishes_milestones(mappings: dict[str, MappingDef]) -> None:
    a = translate(PUSH, mappings["castore"]).event
    b = translate(PUSH, mappings["castore"]).event
    other = {**PUSH, "order": {**PUSH["order"], "statusDescription": "arrivedAtHub"}}
    c = translate(other, mappings["castore"]).event
    assert a and b and c and a.event_id == b.event_id != c.event_id


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["order"].pop("reboundOrderId"), "return_id"),
        (lambda p: p["order"].update(statusDescription="teleported"), "'teleported' is not mapped"),
        (lambda p: p["items"][0].update(quantity="two"), "items[0].quantity"),
        (lambda p: p["items"][0].update(quantity="0"), "must be positive"),
        (lambda p: p["items"][0].pop("sku"), "items[0].item_sku"),
    ],
)
def test_bad_payloads_name_the_field(mappings: dict[str, MappingDef], mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    import copy

    payload = copy.deepcopy(PUSH)
    mutate(payload)
    with pytest.raises(PayloadError, match=message.replace("[", r"\[").replace("]", r"\]")):
        translate(payload, mappings["castore"])
