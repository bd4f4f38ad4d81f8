"""What a mapping does to a return's items: disposition, location and refund. Pure, so the workflow, the
preview and the diff all compute it the same way."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from engine.definitions.mapping import MappingDef, RefundRules
from engine.refunds import RefundLineInput, RefundPlan, plan_refund

if TYPE_CHECKING:
    from engine.activities.messages import OrderSnapshot
    from engine.workflow.messages import Disposition, ItemStatus


@dataclass
class ItemFacts:
    sku: str
    quantity: int
    reason: str
    grade: str | None
    line_item_id: str
    unit_price: str
    refund_percent: str | None = None  # set by an operator's override; wins over the rules
    exchange: bool = False  # the customer wished an exchange for it (its fees follow the exchange rules)


def item_facts(
    items: Iterable["ItemStatus"], order: "OrderSnapshot", overrides: Collection[str] = ()
) -> list[ItemFacts]:
    """The return's items that are on the order, priced from its lines; an operator's refund percent counts only
    for the SKUs in ``overrides``. Shared by the workflow's refund and the preview's samples."""
    facts = []
    for item in items:
        line = order.line_for_sku(item.sku)
        if line is not None:
            override = item.refund_percent if item.sku in overrides else None
            facts.append(
                ItemFacts(
                    item.sku,
                    item.quantity,
                    item.reason,
                    item.grade,
                    line.line_item_id,
                    line.unit_price,
                    override,
                    exchange=item.exchange_sku is not None,
                )
            )
    return facts


@dataclass
class ItemOutcome:
    disposition: "Disposition"
    location_id: str | None
    refund_percent: str
    refused: str | None = None  # a final-sale product: why it is not taken back


def item_outcome(mapping: MappingDef, grade: str | None, reason: str, *, graded: bool, sku: str = "") -> ItemOutcome:
    """Before inspection (refund on drop-off or receipt) every registered item counts in full. The product's rule
    comes first: a final-sale item is refused (nothing restocked or refunded), a never-restock one is not resold."""
    product = mapping.product_rule(sku) if sku else None
    if product is not None and product.final_sale:
        return ItemOutcome("not_restocked", None, "0", refused=product.final_sale)
    rule = mapping.grade_for(grade)
    grade_percent = Decimal(rule.refund_percent) if graded else Decimal(100)
    percent = grade_percent * Decimal(mapping.reason_for(reason).refund_percent) / 100
    disposition = cast("Disposition", rule.disposition)  # the mapping's schema allows these four only
    location = mapping.location_id(rule.location)
    if product is not None and product.restock == "never" and disposition == "restock":
        disposition, location = "not_restocked", None
    return ItemOutcome(disposition, location, format(percent.normalize(), "f"))


def grades_set_the_refund(mapping: MappingDef) -> bool:
    """Only a brand that refunds on inspection refunds by grade. Refunding on drop-off or receipt covers every
    registered item in full, even when an inspection has already come in by the time the refund is computed:
    the amount must not depend on which push arrived first (a missing item is the drift monitor's to report)."""
    return mapping.refund.trigger == "inspected"


def fees_waived_for_exchanges(mapping: MappingDef) -> bool:
    """An item the customer wished to exchange pays no return fee (the brand's rule), whatever comes of it."""
    return mapping.exchanges.offered and mapping.exchanges.fees == "waived"


def fault_of(mapping: MappingDef, reason: str, grade: str | None, *, graded: bool) -> str:
    """Whose fault an item is: what the inspection found (a grade rule's `fault`) when the refund is by grade,
    otherwise what the customer's reason says."""
    found = mapping.grade_for(grade).fault if graded else None
    return found or mapping.reason_for(reason).fault


def refund_lines(mapping: MappingDef, items: list[ItemFacts], *, graded: bool) -> list[RefundLineInput]:
    """What the mapping refunds of each item: the line, the quantity, the percent and who is at fault."""
    lines: dict[str, RefundLineInput] = {}
    for item in items:
        outcome = item_outcome(mapping, item.grade, item.reason, graded=graded, sku=item.sku)
        if outcome.refused:
            continue  # final sale: not taken back, nothing refunded
        if item.refund_percent is not None:
            outcome.refund_percent = item.refund_percent
        opened = mapping.reason_for(item.reason).fault
        fault = fault_of(mapping, item.reason, item.grade, graded=graded)
        if item.exchange and fees_waived_for_exchanges(mapping):
            fault = opened = "exchange"  # no fee was put on the Shopify return for it, and none is taken
        key = f"{item.line_item_id}|{outcome.refund_percent}|{fault}|{opened}"
        if key in lines:
            lines[key].quantity += item.quantity
        else:
            lines[key] = RefundLineInput(
                item.line_item_id, item.sku, item.quantity, item.unit_price, outcome.refund_percent, fault, opened
            )
    return list(lines.values())


def refund_for(
    mapping: MappingDef,
    items: list[ItemFacts],
    *,
    currency: str,
    graded: bool,
    cap: str | None,
    rules: RefundRules | None = None,
) -> RefundPlan:
    """`rules`: the mapping's, unless the caller adjusted them (a later parcel's refund charges no second fee)."""
    rules = rules or mapping.refund
    return plan_refund(
        refund_lines(mapping, items, graded=graded),
        currency=currency,
        return_shipping_fee=rules.return_shipping_fee,
        restocking_fee_percent=rules.restocking_fee_percent,
        rounding=rules.rounding,
        refundable_cap=cap,
        method=rules.method,
        store_credit_bonus_percent=rules.store_credit_bonus_percent,
    )
