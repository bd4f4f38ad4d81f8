"""What Shopify's record must show for a return the engine settled by processing its Shopify return: every refunded
unit processed, the refund linked to the return, the fees the mapping charges recorded on it. Read by the demo's
checks and the chaos soak's invariants."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from emulators.rebound.scenarios import Scenario
from emulators.shopify.store import ShopifyStore
from engine.definitions.catalog import CATALOG
from engine.definitions.mapping import MappingDef
from engine.workflow.messages import ReturnStatus

PROCESSING_STEPS = {spec.name for spec in CATALOG.values() if spec.activity == "process_return"}


STOCK_PER_LOCATION = 20  # every seeded SKU's available units at each of its brand's locations


def processed_record(store: ShopifyStore, domain: str, order_id: str | None, status: ReturnStatus) -> dict | None:
    """The Shopify return of a return the engine settled by processing it (None: refunded beside it, or not)."""
    if order_id is None or status.shopify_return is None:
        return None
    if not any(name in key for key in status.steps_done for name in PROCESSING_STEPS):
        return None
    return next((r for r in store.returns(domain, order_id) if r["id"] == status.shopify_return.return_id), None)


def settled_by_processing(status: ReturnStatus) -> tuple[dict[str, int], Decimal]:
    """The units the engine's refunds covered (by SKU) and the fees they took, as the workflow recorded them."""
    units: dict[str, int] = defaultdict(int)
    fees = Decimal(0)
    for refund in status.refunds:
        if refund.status in ("issued", "already_issued") and refund.plan is not None:
            for line in refund.plan.lines:
                units[line.sku] += line.quantity
            # Shopify keeps the fees recorded when the return opened, those the refund gave back included
            fees += sum(map(Decimal, (refund.plan.shipping_fee, refund.plan.restocking_fee, refund.plan.fees_waived)))
    return dict(units), fees


def processing_problems(record: dict[str, Any], status: ReturnStatus, refunds: list[dict[str, Any]]) -> list[str]:
    """What Shopify's record of a processed return gets wrong (none: all right)."""
    units, fees = settled_by_processing(status)
    problems = []
    short = {sku: q for sku, q in units.items() if record["processed"].get(sku, 0) < q}
    if short:
        problems.append(f"refunded {units}, Shopify shows processed {record['processed']}")
    if record["fees_charged"] != fees:
        problems.append(f"Shopify recorded fees of {record['fees_charged']}, the mapping's are {fees}")
    unlinked = [r["id"] for r in refunds if r.get("return_id") != record["id"]]
    if unlinked:
        problems.append(f"refund(s) {', '.join(unlinked)} not made by processing {record['name']}")
    return problems


def exchange_problems(store: ShopifyStore, domain: str, order_id: str, sc: Scenario, status: ReturnStatus) -> list[str]:
    """Each wish as expected in the workflow and in Shopify: a released exchange processed once, its fulfillment
    order free to ship (paid when it was dearer); one refunded instead never processed as an exchange."""
    problems = []
    states = {item.exchange_sku: item.exchange for item in status.items if item.exchange_sku}
    if states != sc.expected_exchanges:
        problems.append(f"exchanges {states}, expected {sc.expected_exchanges}")
    in_shopify = {e["sku"]: e for e in store.exchanges(domain, order_id)}
    for wanted, state in sc.expected_exchanges.items():
        line = in_shopify.get(wanted)
        processed = line["processed"] if line else 0
        orders = line["fulfillment_orders"] if line else []
        if state == "released" and (processed != 1 or len(orders) != 1 or orders[0]["status"] != "OPEN"):
            problems.append(f"exchange {wanted}: Shopify shows {processed} processed, fulfillment orders "
                            f"{[(o['id'], o['status']) for o in orders]}")  # fmt: skip
        if state == "refunded_instead" and (processed or orders):
            problems.append(f"exchange {wanted} refunded instead, yet Shopify shows it processed")
    return problems


def stock_problems(store: ShopifyStore, mappings: dict[str, MappingDef], scenarios: list[Scenario],
                   statuses: dict[str, ReturnStatus]) -> tuple[int, list[str]]:  # fmt: skip
    """Shopify's available stock against the seed plus exactly what the scenarios restocked, less a unit of each
    exchange the workflow released (one pre-empted by staff releases none), per SKU and location (in total for a
    SKU some exchange took from: Shopify picks where it ships from): how many checked, what is wrong."""
    expected: dict[tuple[str, str, str], int] = {}
    for sc in scenarios:
        for key, qty in sc.expected_restock.items():
            sku, location = key.split("@")
            k = (mappings[sc.brand].shop_domain, sku, location)
            expected[k] = expected.get(k, 0) + qty
    exchanged: dict[tuple[str, str], int] = {}  # a released exchange takes a unit of the wanted variant from stock
    for sc in scenarios:
        status = statuses.get(sc.rebound_return_id)
        for item in status.items if status else []:
            if item.exchange_sku and item.exchange in ("released", "awaiting_payment"):
                where = (mappings[sc.brand].shop_domain, item.exchange_sku)
                exchanged[where] = exchanged.get(where, 0) + item.quantity
    problems: list[str] = []
    checked = 0
    for mapping in mappings.values():
        skus = {line.sku for sc in scenarios if sc.brand == mapping.brand for line in sc.order_lines}
        for sku in sorted(skus):
            levels = store.stock(mapping.shop_domain, sku)
            wants = {loc.id: STOCK_PER_LOCATION + expected.get((mapping.shop_domain, sku, loc.id), 0)
                     for loc in mapping.locations.values()}  # fmt: skip
            haves = {loc.id: levels.get(loc.id, {}).get("available", 0) for loc in mapping.locations.values()}
            taken = exchanged.get((mapping.shop_domain, sku), 0)
            checked += 1 if taken else len(wants)
            if taken:  # Shopify picks the location an exchange ships from: the total is what is certain
                if sum(haves.values()) != sum(wants.values()) - taken:
                    problems.append(f"{mapping.brand} {sku}: available {sum(haves.values())}, expected "
                                    f"{sum(wants.values()) - taken} ({taken} sent in exchange)")  # fmt: skip
                continue
            for loc in mapping.locations.values():
                if haves[loc.id] != wants[loc.id]:
                    problems.append(f"{mapping.brand} {sku} at {loc.name}: available {haves[loc.id]}, "
                                    f"expected {wants[loc.id]}")  # fmt: skip
    return checked, problems
