"""Parity with recorded Shopify, inventory: see test_shopify_emu_parity for the method.

Each test seeds the recorded items and locations (the emulator mints its own ids; recorded ids are remapped to
them), sends the recorded document and variables, and compares the whole payload: exact key sets, userErrors
(field, message, code where selected), change lists and quantities. Group ids, ``createdAt`` and ``updatedAt``
are compared as "present or null" (they are the recording's clock).

Deliberate differences, said where they apply:

* the emulator serves 2026-04 and later, so captures recorded on the 2025-01 contract are sent with the 2026-04
  shape: ``@idempotent(key:)`` and ``changeFromQuantity`` (the quantity before, from the seeded state) added,
  ``ignoreCompareQuantity`` dropped;
* Shopify recomputes ``Product.totalInventory`` asynchronously, and several recordings read it before it caught
  up (e.g. ``totalInventory: 0`` beside ``inventoryQuantity: 1``); the emulator's total is always the sum of its
  variants' ``inventoryQuantity``, which is asserted instead;
* ``InventoryAdjustmentGroup.app`` is the emulator's own app, not the recording app.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import TOKEN, Shop
from .parity import PARITY, REQUESTS, H, capture, needs_captures, remap, request

pytestmark = needs_captures

_V25 = "2025-01 contract replayed on 2026-04 (@idempotent + changeFromQuantity added)"
_LAG = "Product.totalInventory asserted as the variants' sum (Shopify's aggregate lagged)"

COVERAGE: dict[str, str] = {
    f"{H}__2025-01__products__inventory-adjust-then-has-out-of-stock-variants-parity.json": (
        PARITY + f" (adjust payload, hasOutOfStockVariants/variant/levels read; {_V25}; {_LAG})"
    ),
    f"{H}__2025-01__products__inventory-quantity-roots-parity.json": (
        PARITY + " (inventoryItems empty read, inventoryProperties, set at two locations, move available->damaged,"
        f" moves between locations refused; {_V25}; {_LAG}. The 2025-01-only compareQuantity/ignoreCompareQuantity"
        " branch has no 2026-04 input to send: its successor is the missing-changeFromQuantity error replayed from"
        " inventory-quantity-contracts-2026-04)"
    ),
    f"{H}__2025-01__products__inventorySetQuantities-name-validation.json": PARITY + f" (every case; {_V25})",
    f"{H}__2026-04__products__inventory-activate-on-hand.json": PARITY + " (every case, in recorded order)",
    f"{H}__2026-04__products__inventory-adjust-name-allowlist.json": (
        PARITY + " (adjust/move name allow-list, set on hand, levels read after each)"
    ),
    f"{H}__2026-04__products__inventory-adjust-on-hand-name-mirrors.json": (
        PARITY + " (each name's on_hand mirror, downstream product/variant/item read after each)"
    ),
    f"{H}__2026-04__products__inventory-adjust-zero-delta-noop.json": PARITY + " (no group, no write; mixed batch)",
    f"{H}__2026-04__products__inventory-existence-validation.json": PARITY,
    f"{H}__2026-04__products__inventory-quantity-contracts-2026-04.json": (
        PARITY + " (every case in recorded order: set, adjust, set on hand, missing @idempotent, missing"
        " changeFromQuantity, legacy input shape, unknown ids/bounds/reason, downstream read)"
    ),
    f"{H}__2026-04__products__inventory-reason-validation.json": (
        PARITY + " (17 accepted reasons, 5 rejected on set/adjust/move/set-on-hand, levels after)"
    ),
    f"{H}__2026-04__products__inventorySetQuantities-name-validation.json": PARITY + " (every case)",
    f"{H}__2026-04__products__inventorySetQuantities-quantity-bounds.json": PARITY + " (every case)",
    "very-big-test-store.myshopify.com__2025-01__products__inventory-adjust-quantities-parity.json": (
        PARITY + f" (adjust payload incl. staffMember ACCESS_DENIED, non-available adjust + levels read, name/ledger"
        f" errors, unknown ids, missing required fields; {_V25}; {_LAG}; app is the emulator's)"
    ),
}

_GROUP_ID = re.compile(r"gid://shopify/InventoryAdjustmentGroup/\d+")


# ---- seeding and comparison ------------------------------------------------------------------------------
class Seeded:
    """A fresh shop holding the recorded locations and items; ``ids`` maps recorded ids to seeded ones."""

    def __init__(self, shop: Shop, locations: dict[str, str]) -> None:
        self.shop = shop
        self.store = shop.store
        self.domain = f"inv-{shop.domain}"
        self.ids: dict[str, str] = {}
        self.store.add_shop(self.domain, access_token=TOKEN, currency="CAD")
        for recorded, name in locations.items():
            self.ids[recorded] = self.store.add_location(self.domain, self.store.new_id("Location"), name)
        shop.domain = self.domain

    def item(
        self,
        item_id: str,
        stock: dict[str, int],
        *,
        variant_id: str | None = None,
        product_id: str | None = None,
        level_ids: dict[str, str] | None = None,
    ) -> str:
        """Seed one item; ``stock`` is ``available`` by recorded location id (a level at each)."""
        sku = f"SKU-{len(self.ids)}"
        new = self.store.add_product(self.domain, sku, stock={self.ids[loc]: q for loc, q in stock.items()})
        seeded = self.store.shop(self.domain).inventory[new]
        self.ids[item_id] = new
        if variant_id:
            self.ids[variant_id] = seeded.variant_id
        if product_id:
            self.ids[product_id] = seeded.product_id
        for recorded_location, recorded_level in (level_ids or {}).items():
            self.ids[recorded_level] = level_id(self.ids[recorded_location], new)
        return new

    def level(self, recorded_level: str, recorded_location: str, recorded_item: str) -> None:
        self.ids[recorded_level] = level_id(self.ids[recorded_location], self.ids[recorded_item])

    async def send(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = (await self.shop.post({"query": query, "variables": remap(variables, self.ids)})).json()
        return body


def level_id(location_id: str, item_id: str) -> str:
    return (
        f"gid://shopify/InventoryLevel/{location_id.rsplit('/', 1)[-1]}?inventory_item_id={item_id.rsplit('/', 1)[-1]}"
    )


def _clocks(value: Any) -> Any:
    """Times and group ids -> whether they are set (they are the recording's clock and sequence)."""
    if isinstance(value, dict):
        return {k: (v is not None) if k in ("createdAt", "updatedAt") else _clocks(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clocks(v) for v in value]
    if isinstance(value, str):
        return _GROUP_ID.sub("GROUP", value)
    return value


def assert_same(got: dict[str, Any], want: dict[str, Any], ids: dict[str, str]) -> None:
    """Same top-level errors (message, code, path) and the same data, ids remapped, clocks as presence."""
    want = remap(want, ids)
    got_errors = [(e["message"], e.get("extensions", {}).get("code"), e.get("path")) for e in got.get("errors", [])]
    want_errors = [(e["message"], e.get("extensions", {}).get("code"), e.get("path")) for e in want.get("errors", [])]
    assert got_errors == want_errors
    assert ("data" in got) == ("data" in want)
    assert _clocks(got.get("data")) == _clocks(want.get("data"))


def without_idempotency(document: str) -> str:
    """The same document without ``@idempotent`` (and its now unused variable)."""
    document = document.replace(" @idempotent(key: $idempotencyKey)", "")
    return re.sub(r",?\s*\$idempotencyKey: String!", "", document)


def with_2026_contract(document: str) -> str:
    """A 2025-01 mutation document with the key variable and field directive 2026-04 requires."""
    document = re.sub(r"\(\$input: (\w+!)\)", r"($input: \1, $idempotencyKey: String!)", document, count=1)
    return re.sub(r"(\w+)\(input: \$input\)", r"\1(input: $input) @idempotent(key: $idempotencyKey)", document, count=1)


def variables_2026(variables: dict[str, Any], key: str, change_from: list[int], lines: str) -> dict[str, Any]:
    """2025-01 variables in the 2026-04 shape: key, no ``ignoreCompareQuantity``, ``changeFromQuantity`` per line."""
    adapted = copy.deepcopy(variables)
    adapted["idempotencyKey"] = key
    adapted["input"].pop("ignoreCompareQuantity", None)
    for line, before in zip(adapted["input"][lines], change_from, strict=True):
        line["changeFromQuantity"] = before
    return adapted


def _selection(value: Any) -> str:
    """The selection set that produced a recorded JSON value (empty ``userErrors`` select all three fields)."""
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for entry in value:
            if isinstance(entry, dict):
                merged.update({k: v for k, v in entry.items() if k not in merged or merged[k] is None})
        return _selection(merged) if merged else ""
    if not isinstance(value, dict):
        return ""
    parts = []
    for key, sub in value.items():
        inner = _selection(sub) or ("{ field message code }" if key == "userErrors" else "")
        parts.append(f"{key} {inner}".strip())
    return "{ " + " ".join(parts) + " }"


def recorded_document(document: str, response: dict[str, Any]) -> str:
    """``document`` with its root field selecting exactly what the recorded response holds (the request files
    beside the captures do not always match the document that was recorded)."""
    [(root, value)] = response["data"].items()
    head = re.match(rf"(?s)(.*?\b{root}\([^)]*\)[^{{]*)\{{", document)
    assert head is not None, root
    return f"{head.group(1)}{_selection(value)}\n}}\n"


def _doc_of(rec: dict[str, Any], operation: str) -> str:
    return next(c["query"] for c in rec["upstreamCalls"] if c.get("operationName") == operation)


# ---- 2026-04 captures --------------------------------------------------------------------------------------
async def test_quantity_contracts_2026_04(shop: Shop) -> None:
    rec = capture(f"{H}__2026-04__products__inventory-quantity-contracts-2026-04.json")
    setup = rec["setup"]
    seeded = Seeded(shop, {setup["location"]["id"]: setup["location"]["name"]})
    product = setup["product"]
    seeded.item(
        product["inventoryItemId"],
        {setup["location"]["id"]: 0},
        variant_id=product["variantId"],
        product_id=product["productId"],
    )
    [level] = rec["downstreamRead"]["data"]["inventoryItem"]["inventoryLevels"]["nodes"]
    seeded.level(level["id"], setup["location"]["id"], product["inventoryItemId"])
    documents = {
        "inventorySetQuantities": request("inventory-quantity-contracts-2026-set"),
        "missingSetIdempotency": without_idempotency(request("inventory-quantity-contracts-2026-set")),
        "missingSetChangeFromQuantity": request("inventory-quantity-contracts-2026-missing-set-change-from"),
        "legacySetShape": request("inventory-quantity-contracts-2026-set"),
        "inventoryAdjustQuantities": request("inventory-quantity-contracts-2026-adjust"),
        "inventorySetOnHandQuantities": request("inventory-quantity-contracts-2026-set-on-hand"),
        "missingSetOnHandIdempotency": request("inventory-quantity-contracts-2026-set-on-hand-missing-idempotency"),
        "missingSetOnHandChangeFromQuantity": request(
            "inventory-quantity-contracts-2026-missing-set-on-hand-change-from"
        ),
        "missingAdjustIdempotency": without_idempotency(request("inventory-quantity-contracts-2026-adjust")),
        "missingAdjustChangeFromQuantity": request("inventory-quantity-contracts-2026-missing-adjust-change-from"),
    }
    for case, document in documents.items():
        variables = rec[case]["variables"]
        if "idempotencyKey" not in document:
            variables = {k: v for k, v in variables.items() if k != "idempotencyKey"}
        if rec[case]["response"].get("data", {}).get(next(iter(rec[case]["response"].get("data") or {"": 0}))):
            document = recorded_document(document, rec[case]["response"])
        got = await seeded.send(document, variables)
        assert_same(got, rec[case]["response"], seeded.ids)
    validation = rec["unknownIdValidation"]
    for case, name in [
        ("setUnknownInventoryItem", "set-unknown-id-validation"),
        ("setUnknownLocation", "set-unknown-id-validation"),
        ("setOnHandUnknownInventoryItem", "set-on-hand-validation"),
        ("setOnHandUnknownLocation", "set-on-hand-validation"),
        ("setOnHandNegativeQuantity", "set-on-hand-validation"),
        ("setOnHandTooHighQuantity", "set-on-hand-validation"),
        ("setOnHandInvalidReason", "set-on-hand-validation"),
        ("adjustUnknownInventoryItem", "adjust-unknown-id-validation"),
        ("adjustUnknownLocation", "adjust-unknown-id-validation"),
        ("moveUnknownInventoryItem", "move-unknown-id-validation"),
        ("moveUnknownLocation", "move-unknown-id-validation"),
    ]:
        got = await seeded.send(request(f"inventory-quantity-contracts-2026-{name}"), validation[case]["variables"])
        assert_same(got, validation[case]["response"], seeded.ids)
    read = await seeded.send(
        request("inventory-quantity-contracts-2026-downstream-read"),
        {"productId": product["productId"], "inventoryItemId": product["inventoryItemId"]},
    )
    assert_same(read, rec["downstreamRead"], seeded.ids)  # totalInventory 9: Shopify had caught up here


async def test_existence_validation(shop: Shop) -> None:
    rec = capture(f"{H}__2026-04__products__inventory-existence-validation.json")
    seeded = Seeded(shop, {})
    case = rec["adjustUnknownInventoryItem"]
    assert_same(await seeded.send(case["query"], case["variables"]), case["response"], seeded.ids)


async def test_adjust_zero_delta_noop(shop: Shop) -> None:
    rec = capture(f"{H}__2026-04__products__inventory-adjust-zero-delta-noop.json")
    setup = rec["setup"]
    location = setup["zeroProduct"]["location"]
    seeded = Seeded(shop, {location["id"]: location["name"]})
    for name in ("zeroProduct", "nonzeroProduct"):
        seeded.item(setup[name]["inventoryItemId"], {location["id"]: 0})
    document = request("inventory-adjust-zero-delta-noop")

    got = await seeded.send(document, rec["allZero"]["variables"])
    assert_same(got, rec["allZero"]["response"], seeded.ids)
    assert seeded.store.shop(seeded.domain).adjustment_groups == {}  # nothing written
    got = await seeded.send(document, rec["mixedZeroAndNonzero"]["variables"])
    assert_same(got, rec["mixedZeroAndNonzero"]["response"], seeded.ids)
    stock = {item.id: item.levels[seeded.ids[location["id"]]].get("available") for item in
             seeded.store.shop(seeded.domain).inventory.values()}  # fmt: skip
    assert stock == {seeded.ids[setup["zeroProduct"]["inventoryItemId"]]: 0,
                     seeded.ids[setup["nonzeroProduct"]["inventoryItemId"]]: 3}  # fmt: skip


async def test_adjust_on_hand_name_mirrors(shop: Shop) -> None:
    rec = capture(f"{H}__2026-04__products__inventory-adjust-on-hand-name-mirrors.json")
    product = rec["setup"]["product"]
    seeded = Seeded(shop, {product["location"]["id"]: product["location"]["name"]})
    seeded.item(
        product["inventoryItemId"],
        {product["location"]["id"]: 0},
        variant_id=product["variantId"],
        product_id=product["productId"],
    )
    read_variables = {k: product[k] for k in ("productId", "variantId", "inventoryItemId")}
    for case in ("damaged", "reserved", "qualityControl", "safetyStock", "incoming"):
        recorded = rec["cases"][case]
        got = await seeded.send(request("inventory-adjust-on-hand-name-mirrors-adjust"), recorded["variables"])
        assert_same(got, recorded["response"], seeded.ids)
        read = await seeded.send(request("inventory-adjust-on-hand-name-mirrors-read"), read_variables)
        assert_same(read, recorded["downstreamRead"], seeded.ids)  # no available change: totals agree


_LEVEL_READ = """
query Levels($id: ID!) {
  inventoryItem(id: $id) {
    id
    inventoryLevels(first: 5) {
      nodes { id location { id name } quantities(names: NAMES) { name quantity updatedAt } }
    }
  }
}
"""


def _level_read(recorded: dict[str, Any]) -> str:
    """A read selecting what the recorded levels read selected (its document was not recorded)."""
    level = recorded["data"]["inventoryItem"]["inventoryLevels"]["nodes"][0]
    names = "[" + ", ".join(f'"{q["name"]}"' for q in level["quantities"]) + "]"
    document = _LEVEL_READ.replace("NAMES", names)
    if "updatedAt" not in level["quantities"][0]:
        document = document.replace(" updatedAt", "")
    if "id" not in level:
        document = document.replace("nodes { id location { id name }", "nodes { location { id }")
    return document


async def test_adjust_name_allowlist(shop: Shop) -> None:
    rec = capture(f"{H}__2026-04__products__inventory-adjust-name-allowlist.json")
    setup = rec["setup"]
    [level] = setup["baselineRead"]["data"]["inventoryItem"]["inventoryLevels"]["nodes"]
    seeded = Seeded(shop, {setup["locationId"]: level["location"]["name"]})
    seeded.item(setup["inventoryItemId"], {setup["locationId"]: 0}, level_ids={setup["locationId"]: level["id"]})
    read = _level_read(setup["baselineRead"])
    assert_same(await seeded.send(read, {"id": setup["inventoryItemId"]}), setup["baselineRead"], seeded.ids)
    for case in ("adjustOnHand", "adjustCommitted", "moveOnHand", "moveCommitted"):
        recorded = rec["cases"][case]
        assert_same(await seeded.send(recorded["query"], recorded["variables"]), recorded["response"], seeded.ids)
    assert_same(await seeded.send(read, {"id": setup["inventoryItemId"]}), rec["afterInvalidsRead"], seeded.ids)
    recorded = rec["cases"]["setOnHand"]
    assert_same(await seeded.send(recorded["query"], recorded["variables"]), recorded["response"], seeded.ids)
    assert_same(await seeded.send(read, {"id": setup["inventoryItemId"]}), rec["afterSetOnHandRead"], seeded.ids)


async def test_reason_validation(shop: Shop) -> None:
    rec = capture(f"{H}__2026-04__products__inventory-reason-validation.json")
    setup = rec["setup"]
    [variant] = setup["setup"]["data"]["productSet"]["product"]["variants"]["nodes"]
    [level] = variant["inventoryItem"]["inventoryLevels"]["nodes"]
    seeded = Seeded(shop, {setup["locationId"]: level["location"]["name"]})
    seeded.item(setup["inventoryItemId"], {setup["locationId"]: 1})
    for group in ("acceptedReasonCases", "invalidReasonCases"):
        for recorded in rec[group].values():  # accepted: setting 1 -> 1 is valid and writes nothing
            assert_same(await seeded.send(recorded["query"], recorded["variables"]), recorded["response"], seeded.ids)
    assert set(rec["acceptedReasonCases"]) == set(rec["candidateReasons"])
    after = rec["downstreamAfterRejected"]
    assert_same(await seeded.send(_level_read(after), {"id": setup["inventoryItemId"]}), after, seeded.ids)
    assert seeded.store.shop(seeded.domain).adjustment_groups == {}


@pytest.mark.parametrize("version", ["2025-01", "2026-04"])
@pytest.mark.parametrize("case", ["damaged", "committed", "onHand", "availableTooHigh", "duplicatePair"])
async def test_set_quantities_name_validation(shop: Shop, version: str, case: str) -> None:
    rec = capture(f"{H}__{version}__products__inventorySetQuantities-name-validation.json")
    recorded = rec["cases"][case]
    setup = recorded["setup"]
    [level] = setup["inventoryLevel"]["data"]["inventoryItem"]["inventoryLevels"]["nodes"]
    seeded = Seeded(shop, {setup["locationId"]: level["location"]["name"]})
    seeded.item(setup["inventoryItemId"], {setup["locationId"]: level["quantities"][0]["quantity"]})
    document, variables = recorded["query"], recorded["variables"]
    if version == "2025-01":
        lines = variables["input"]["quantities"]
        document = with_2026_contract(document)
        variables = variables_2026(variables, f"name-validation-{case}", [0] * len(lines), "quantities")
    assert_same(await seeded.send(document, variables), recorded["response"], seeded.ids)


@pytest.mark.parametrize("case", ["onHandNegative", "availableTooLow", "availableNegativeWithinBounds"])
async def test_set_quantities_bounds(shop: Shop, case: str) -> None:
    rec = capture(f"{H}__2026-04__products__inventorySetQuantities-quantity-bounds.json")
    recorded = rec["cases"][case]
    setup = recorded["setup"]
    [level] = setup["inventoryLevel"]["data"]["inventoryItem"]["inventoryLevels"]["nodes"]
    seeded = Seeded(shop, {setup["locationId"]: level["location"]["name"]})
    item = seeded.item(setup["inventoryItemId"], {setup["locationId"]: 0})
    assert_same(await seeded.send(recorded["query"], recorded["variables"]), recorded["response"], seeded.ids)
    stock = seeded.store.stock(seeded.domain, seeded.store.shop(seeded.domain).inventory[item].sku)
    expected = -5 if case == "availableNegativeWithinBounds" else 0
    assert stock[seeded.ids[setup["locationId"]]]["available"] == expected


async def test_activate_on_hand(shop: Shop) -> None:
    rec = capture(f"{H}__2026-04__products__inventory-activate-on-hand.json")
    primary, secondary = rec["locations"]["primary"], rec["locations"]["secondary"]
    seeded = Seeded(shop, {primary["id"]: primary["name"], secondary["id"]: secondary["name"]})
    for product in rec["setup"].values():  # stocked at the primary location only, like a new product
        seeded.item(product["inventoryItemId"], {primary["id"]: 0})
    created = rec["cases"]["activateOnHand"]["response"]["data"]["inventoryActivate"]["inventoryLevel"]["id"]
    seeded.level(created, secondary["id"], rec["setup"]["activateProduct"]["inventoryItemId"])
    for case, recorded in rec["cases"].items():
        got = await seeded.send(recorded["query"], recorded["variables"])
        assert_same(got, recorded["response"], seeded.ids)
        if case == "alreadyActiveOnHand":  # the error leaves the level as it was
            level = got["data"]["inventoryActivate"]["inventoryLevel"]
            assert [q["quantity"] for q in level["quantities"]] == [50, 50]


# ---- 2025-01 captures (old contract, replayed in the 2026-04 shape) -----------------------------------------
async def test_quantity_roots(shop: Shop) -> None:
    rec = capture(f"{H}__2025-01__products__inventory-quantity-roots-parity.json")
    evidence = rec["mutationEvidence"]
    setup = evidence["setup"]
    set_case = evidence["inventorySetQuantitiesAvailable"]
    locations = [line["locationId"] for line in set_case["variables"]["input"]["quantities"]]
    set_group = set_case["response"]["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]
    names = {c["location"]["id"]: c["location"]["name"] for c in set_group["changes"]}
    seeded = Seeded(shop, {loc: names[loc] for loc in locations})
    seeded.item(setup["inventoryItemId"], dict.fromkeys(locations, 0), product_id=setup["productId"])

    for operation, path in [("InventoryItemsEmptyRead", "inventoryItemsEmptyByImpossibleId"),
                            ("InventoryPropertiesRead", "inventoryProperties")]:  # fmt: skip
        want = rec["safeReadEvidence"][path]
        got = await seeded.send(_doc_of(rec, operation), {})
        assert got["data"] == want["data"]

    set_document = with_2026_contract(
        "mutation Set($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) {"
        " inventoryAdjustmentGroup { reason referenceDocumentUri changes { name delta quantityAfterChange"
        " ledgerDocumentUri location { id name } } } userErrors { field message } } }"
    )
    got = await seeded.send(set_document, variables_2026(set_case["variables"], "roots-set", [0, 0], "quantities"))
    assert_same(got, set_case["response"], seeded.ids)
    await _assert_roots_read(seeded, rec, set_case["downstreamRead"])

    move_case = evidence["inventoryMoveQuantitiesAvailableToDamaged"]
    move_document = with_2026_contract(
        "mutation Move($input: InventoryMoveQuantitiesInput!) { inventoryMoveQuantities(input: $input) {"
        " inventoryAdjustmentGroup { reason referenceDocumentUri changes { name delta quantityAfterChange"
        " ledgerDocumentUri location { id name } } } userErrors { field message } } }"
    )
    move_variables = copy.deepcopy(move_case["variables"])
    move_variables["idempotencyKey"] = "roots-move"
    [change] = move_variables["input"]["changes"]
    change["from"]["changeFromQuantity"], change["to"]["changeFromQuantity"] = 7, 0
    assert_same(await seeded.send(move_document, move_variables), move_case["response"], seeded.ids)
    await _assert_roots_read(seeded, rec, move_case["downstreamRead"])

    # Moving between two locations is refused (the recording kept the userErrors only).
    change["to"]["locationId"], change["from"]["changeFromQuantity"] = locations[1], 4
    move_variables["idempotencyKey"] = "roots-move-between-locations"
    got = await seeded.send(move_document, move_variables)
    want = evidence["blockedBranches"]["moveBetweenDifferentLocations"]["userErrors"]
    assert got["data"]["inventoryMoveQuantities"] == {"inventoryAdjustmentGroup": None, "userErrors": want}


async def _assert_roots_read(seeded: Seeded, rec: dict[str, Any], want: dict[str, Any]) -> None:
    setup = rec["mutationEvidence"]["setup"]
    got = await seeded.send(
        _doc_of(rec, "InventoryQuantityDownstreamRead"),
        {"inventoryItemId": setup["inventoryItemId"], "productId": setup["productId"]},
    )
    item = got["data"]["inventoryItem"]
    levels = [
        {"locationId": node["location"]["id"], **{q["name"]: q["quantity"] for q in node["quantities"]}}
        for node in item["inventoryLevels"]["nodes"]
    ]
    assert item["variant"]["inventoryQuantity"] == want["inventoryQuantity"]
    assert levels == remap(want["levels"], seeded.ids)
    # Shopify's productTotalInventory was still 0 (asynchronous aggregate); the emulator's is the sum.
    assert got["data"]["product"]["totalInventory"] == want["inventoryQuantity"]


_ADJUST_OUT_OF_STOCK = """
mutation Adjust($input: InventoryAdjustQuantitiesInput!, $idempotencyKey: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup {
      reason referenceDocumentUri
      changes { name delta item { id } location { id name } }
    }
    userErrors { field message }
  }
}
"""
_PRODUCT_READ = """
query Product($id: ID!) {
  product(id: $id) {
    id totalVariants hasOnlyDefaultVariant hasOutOfStockVariants tracksInventory totalInventory
    variants(first: 5) {
      nodes {
        inventoryQuantity
        inventoryItem {
          tracked
          inventoryLevels(first: 5) {
            nodes { location { id name } quantities(names: ["available", "on_hand"]) { name quantity } }
          }
        }
      }
    }
  }
}
"""


async def test_adjust_then_has_out_of_stock_variants(shop: Shop) -> None:
    rec = capture(f"{H}__2025-01__products__inventory-adjust-then-has-out-of-stock-variants-parity.json")
    created = rec["setup"]["response"]["data"]["productSet"]["product"]
    [variant] = created["variants"]["nodes"]
    [level] = variant["inventoryItem"]["inventoryLevels"]["nodes"]
    location = level["location"]
    seeded = Seeded(shop, {location["id"]: location["name"]})
    seeded.item(variant["inventoryItem"]["id"], {location["id"]: 1}, product_id=created["id"])

    before = await seeded.send(_PRODUCT_READ, {"id": created["id"]})
    assert before["data"]["product"]["hasOutOfStockVariants"] is False
    assert before["data"]["product"]["totalInventory"] == created["totalInventory"] == 1
    variables = variables_2026(rec["adjust"]["variables"], "out-of-stock", [1], "changes")
    assert_same(await seeded.send(_ADJUST_OUT_OF_STOCK, variables), rec["adjust"]["response"], seeded.ids)

    got = await seeded.send(_PRODUCT_READ, {"id": created["id"]})
    want = remap(rec["downstreamRead"], seeded.ids)
    assert want["data"]["product"]["totalInventory"] == 1  # Shopify's aggregate had not caught up yet
    want["data"]["product"]["totalInventory"] = 0  # the emulator's: the sum of its variants' inventoryQuantity
    assert got["data"] == want["data"]


async def test_adjust_quantities_parity_very_big_store(shop: Shop) -> None:
    rec = capture("very-big-test-store.myshopify.com__2025-01__products__inventory-adjust-quantities-parity.json")
    location = rec["setup"]["locationId"]
    name = rec["mutation"]["response"]["data"]["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]["changes"][0]
    seeded = Seeded(shop, {location: name["location"]["name"]})
    seeds = [3, 7]  # the recorded seed adjustment
    for available, product in zip(seeds, rec["setup"]["products"], strict=True):
        seeded.item(
            product["inventoryItemId"],
            {location: available},
            variant_id=product["variantId"],
            product_id=product["productId"],
        )
    first = rec["setup"]["products"][0]
    non_available_read = rec["nonAvailableMutation"]["downstreamRead"]["data"]
    read_level = non_available_read["firstInventoryItem"]["inventoryLevels"]["nodes"][0]
    seeded.level(read_level["id"], location, first["inventoryItemId"])

    mutation = rec["mutation"]
    document = with_2026_contract(
        "mutation Adjust($input: InventoryAdjustQuantitiesInput!) { inventoryAdjustQuantities(input: $input) {"
        " inventoryAdjustmentGroup { id createdAt reason referenceDocumentUri app { id title apiKey handle }"
        " staffMember { id } changes { name delta quantityAfterChange ledgerDocumentUri item { id }"
        " location { id name } } } userErrors { field message } } }"
    )
    got = await seeded.send(document, variables_2026(mutation["variables"], "very-big", [3, 7], "changes"))
    [denied] = got["errors"]
    assert denied["message"] == mutation["response"]["errors"][0]["message"]
    assert denied["path"] == mutation["response"]["errors"][0]["path"]
    assert denied["extensions"]["code"] == "ACCESS_DENIED"
    want = remap(mutation["response"]["data"], seeded.ids)
    group = got["data"]["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]
    want_group = want["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]
    assert set(group["app"]) == set(want_group["app"])  # the emulator's own app, not the recording's
    group["app"] = want_group["app"]
    assert _clocks(got["data"]) == _clocks(want)

    read = await seeded.send(
        request("inventoryAdjustQuantities-downstream-read").split("  matching:")[0] + "}",
        {
            "firstProductId": first["productId"],
            "secondProductId": rec["setup"]["products"][1]["productId"],
            "firstVariantId": first["variantId"],
            "secondVariantId": rec["setup"]["products"][1]["variantId"],
            "firstInventoryItemId": first["inventoryItemId"],
            "secondInventoryItemId": rec["setup"]["products"][1]["inventoryItemId"],
        },
    )
    want_read = remap(rec["downstreamRead"]["data"], seeded.ids)
    del want_read["matching"], want_read["matchingCount"]  # the recording store's whole catalogue: not seeded
    for key, total in (("firstProduct", 1), ("secondProduct", 11)):  # Shopify's totals still read 0 (lag)
        want_read[key]["totalInventory"] = total
        want_read[key.replace("Product", "InventoryItem")]["variant"]["product"]["totalInventory"] = total
    assert read["data"] == want_read

    non_available = rec["nonAvailableMutation"]
    document = with_2026_contract(request("inventoryAdjustQuantities-non-available"))
    variables = variables_2026(non_available["variables"], "very-big-incoming", [0], "changes")
    assert_same(await seeded.send(document, variables), non_available["response"], seeded.ids)
    read = await seeded.send(
        request("inventoryAdjustQuantities-non-available-downstream-read"),
        {
            k: first[v]
            for k, v in [
                ("firstProductId", "productId"),
                ("firstVariantId", "variantId"),
                ("firstInventoryItemId", "inventoryItemId"),
            ]
        },  # fmt: skip
    )
    want_read = remap(non_available["downstreamRead"]["data"], seeded.ids)
    want_read["firstProduct"]["totalInventory"] = 1  # lagging aggregate again (recorded 0)
    assert _clocks(read["data"]) == _clocks(want_read)

    probe = rec["invalidNameProbe"]
    variables = variables_2026(probe["variables"], "very-big-on-hand", [1], "changes")
    assert_same(await seeded.send(document, variables), probe["response"], seeded.ids)
    for case, recorded in rec["missingRequiredFieldProbes"].items():
        variables = {**recorded["variables"], "idempotencyKey": f"very-big-{case}"}
        got = await seeded.send(document, variables)
        if "errors" in recorded["response"]:  # variable coercion: the same message, no data
            assert [e["message"] for e in got["errors"]] == [e["message"] for e in recorded["response"]["errors"]]
            assert "data" not in got
            continue
        variables["input"]["changes"][0]["changeFromQuantity"] = 0
        assert_same(await seeded.send(document, variables), recorded["response"], seeded.ids)


def test_request_documents_exist() -> None:
    """The replayed documents come from the recording project's request files beside the captures."""
    assert isinstance(REQUESTS, Path) and (REQUESTS / "inventory-quantity-contracts-2026-set.graphql").is_file()
