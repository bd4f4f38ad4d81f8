"""Replaying recorded Shopify return flows step by step: seed the recorded orders, send each recorded document with
its variables (recorded ids swapped for the emulator's), compare the answer with Shopify's.

Ids are paired as they appear: the seeded ones up front, the ones the emulator mints when a response shows them
(a recorded id must always pair with the same emulator id). Timestamps and cursors are compared for presence
only (null or not); every other value, the key sets of every object and the errors must match exactly.

Deliberate difference: the emulator's simplified cost model multiplies nested connection sizes, so a few recorded
hydration documents (Shopify priced them under 1,000 points) would be refused on cost alone. Such a step is
resent with the 1,000-point limit lifted; pricing parity is ``test_shopify_emu_cost``'s business, not this one's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from emulators.shopify import OrderLineSeed
from emulators.shopify.cost import SINGLE_QUERY_MAX

from .conftest import TOKEN, Shop
from .parity import swap_ids

GID = "gid://shopify/"
_PRESENCE_ONLY = ("startCursor", "endCursor")


def step_body(step: dict[str, Any]) -> dict[str, Any]:
    """A recorded step's response body (``response.payload`` or ``response`` itself)."""
    response: dict[str, Any] = step["response"]
    body: dict[str, Any] = response.get("payload", response)
    return body


@dataclass
class Replay:
    shop: Shop
    ids: dict[str, str] = field(default_factory=dict)  # recorded GID -> emulator GID

    # ---- seeding ---------------------------------------------------------------------------------------
    def use_shop(self, currency: str, locations: list[tuple[str, str]]) -> None:
        """A fresh shop in the recording's currency with the recorded locations (same GIDs)."""
        domain = f"returns-{self.shop.domain}"
        self.shop.store.add_shop(domain, access_token=TOKEN, currency=currency, locations=locations)
        self.shop.domain = domain
        for location_id, _ in locations:
            self.ids[location_id] = location_id

    def seed_order(self, setup: dict[str, Any]) -> str:
        """The order of a recorded ``orderCreate`` (+ ``fulfillmentCreate``) setup: same name, titles, prices and
        fulfilled quantities; custom line items (the recorded reads show ``variant: null``)."""
        created = step_body(setup["orderCreate"])["data"]["orderCreate"]["order"]
        inputs = setup["orderCreate"]["variables"]["order"]["lineItems"]
        fulfillment = (
            step_body(setup["fulfillmentCreate"])["data"]["fulfillmentCreate"]["fulfillment"]
            if "fulfillmentCreate" in setup
            else {"id": None, "fulfillmentLineItems": {"nodes": []}}
        )
        shipped = fulfillment["fulfillmentLineItems"]["nodes"]
        recorded_lines = [_line_id(created, shipped, item["title"]) for item in inputs]
        fulfilled = {fli["lineItem"]["id"]: fli for fli in shipped}
        seeds = [
            OrderLineSeed(
                sku=item["title"],
                quantity=item["quantity"],
                unit_price=Decimal(item["priceSet"]["shopMoney"]["amount"]),
                fulfilled=fulfilled[line_id]["quantity"] if line_id in fulfilled else 0,
                title=item["title"],
                custom=True,
            )
            for item, line_id in zip(inputs, recorded_lines, strict=True)
        ]
        order_id = self.shop.store.add_order(
            self.shop.domain,
            name=created["name"],
            lines=seeds,
            processed_at=datetime(2026, 7, 1, tzinfo=UTC),
            currency=setup["orderCreate"]["variables"]["order"].get("currency"),
        )
        order = self.shop.store.shop(self.shop.domain).orders[order_id]
        self.ids[created["id"]] = order_id
        for line, recorded in zip(order.line_items, recorded_lines, strict=True):
            self.ids[recorded] = line.id
        if order.fulfillments:
            self.ids[fulfillment["id"]] = order.fulfillments[0].id
            for fli in order.fulfillments[0].line_items:
                recorded_line = next(r for r, e in self.ids.items() if e == fli.line_item_id)
                self.ids[fulfilled[recorded_line]["id"]] = fli.id
        return order_id

    # ---- replay ----------------------------------------------------------------------------------------
    async def send(self, step: dict[str, Any]) -> dict[str, Any]:
        """Send a recorded step; returns the emulator's body."""
        document = sent_document(step.get("document") or step["query"])
        body = {"query": document, "variables": self.swap(step["variables"])}
        response = await self.shop.post(body)
        assert response.status_code == 200, response.text
        got: dict[str, Any] = response.json()
        if _refused_on_cost(got) and _shopify_cost(step) <= SINGLE_QUERY_MAX:
            state = self.shop.emu.state
            state.enforce_max_cost = False
            try:
                response = await self.shop.post(body)
            finally:
                state.enforce_max_cost = True
            got = response.json()
        return got

    async def check(self, step: dict[str, Any], *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """Send a recorded step and compare data and errors with Shopify's; ``skip`` names keys left out."""
        got = await self.send(step)
        want = step_body(step)
        if want.get("data") is not None:
            assert got.get("data") is not None, got
        self.match(got.get("data"), want.get("data"), "data", skip)
        if want.get("errors") or got.get("errors"):
            assert "errors" in got, got
            self.match_errors(got["errors"], want["errors"])
        return got

    def match(self, got: Any, want: Any, path: str, skip: tuple[str, ...] = ()) -> None:
        if isinstance(want, dict):
            assert isinstance(got, dict), f"{path}: {got!r} is not an object"
            wanted = {k for k in want if k not in skip}
            assert {k for k in got if k not in skip} == wanted, f"{path}: keys {sorted(got)} != {sorted(want)}"
            for key in wanted:
                self._value(got[key], want[key], f"{path}.{key}", key, skip)
        elif isinstance(want, list):
            assert isinstance(got, list) and len(got) == len(want), f"{path}: {got!r} != {want!r}"
            for index, (g, w) in enumerate(zip(got, want, strict=True)):
                self.match(g, w, f"{path}[{index}]", skip)
        else:
            self._value(got, want, path, path.rsplit(".", 1)[-1], skip)

    def _value(self, got: Any, want: Any, path: str, key: str, skip: tuple[str, ...]) -> None:
        if isinstance(want, (dict, list)):
            self.match(got, want, path, skip)
        elif isinstance(want, str) and want.startswith(GID):
            self._pair(got, want, path)
        elif key.endswith("At") or key in _PRESENCE_ONLY:
            assert (got is None) == (want is None), f"{path}: {got!r} vs {want!r}"
        else:
            assert got == want, f"{path}: {got!r} != {want!r}"

    def _pair(self, got: Any, want: str, path: str) -> None:
        assert isinstance(got, str) and got.startswith(GID), f"{path}: {got!r} is not a GID ({want})"
        if want in self.ids:
            assert got == self.ids[want], f"{path}: {got} is not the pair of {want} ({self.ids[want]})"
            return
        assert got.split("/")[3] == want.split("/")[3], f"{path}: {got} vs {want}"
        assert got not in self.ids.values(), f"{path}: {got} already pairs with another recorded id"
        self.ids[want] = got

    def match_errors(self, got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
        """Top-level errors: message (ids swapped), locations, path and extensions must be Shopify's."""
        expected = json.loads(self.swap_text(json.dumps(want)))
        assert expected == got, f"errors differ:\n got  {json.dumps(got)}\n want {json.dumps(expected)}"

    # ---- ids ---------------------------------------------------------------------------------------------
    def swap(self, value: Any) -> Any:
        """Recorded ids -> emulator ids, exact values only (one id may be a prefix of another)."""
        if isinstance(value, dict):
            return {k: self.swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.swap(v) for v in value]
        if isinstance(value, str):
            return self.ids.get(value, value)
        return value

    def swap_text(self, text: str) -> str:
        return swap_ids(text, self.ids)


def sent_document(stored: str) -> str:
    """The document as it was sent. The recording project wrote its documents as template literals starting with
    a newline and two spaces and stored them trimmed: a body indented by four spaces under an unindented first
    line gives it away. Only error ``locations`` depend on this (Shopify's point one line, two columns further)."""
    lines = stored.split("\n")
    if len(lines) > 1 and not stored.startswith((" ", "\n", "#")) and lines[1].startswith("    "):
        return "\n  " + stored
    return stored


def _refused_on_cost(body: dict[str, Any]) -> bool:
    return any((e.get("extensions") or {}).get("code") == "MAX_COST_EXCEEDED" for e in body.get("errors") or [])


def _shopify_cost(step: dict[str, Any]) -> int:
    cost: int = step_body(step).get("extensions", {}).get("cost", {}).get("requestedQueryCost", SINGLE_QUERY_MAX + 1)
    return cost


def _line_id(created: dict[str, Any], shipped: list[dict[str, Any]], title: str) -> str:
    """The recorded LineItem id of the input line with this title (from the order or its fulfillment)."""
    lines = (created.get("lineItems") or {}).get("nodes") or [fli["lineItem"] for fli in shipped]
    line_id: str = next((li["id"] for li in lines if li["title"] == title), f"unrecorded line {title}")
    return line_id
