"""What Shopify's record must show for a return the engine settled by processing its Shopify return: every refunded
unit processed, the refund linked to the return, the fees the mapping charges recorded on it. Read by the demo's
checks and the chaos soak's invariants."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from emulators.shopify.store import ShopifyStore
from engine.definitions.catalog import CATALOG
from engine.workflow.messages import ReturnStatus

PROCESSING_STEPS = {spec.name for spec in CATALOG.values() if spec.activity == "process_return"}


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
