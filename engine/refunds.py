"""The refund amount as a pure function of the order lines, the returned items and the brand's rules.

Rounding happens once per line, in the order's currency, with the mapping's rounding mode. Fees are
taken from the subtotal and can never make it negative; the total is capped at what Shopify still allows.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from engine.money import fmt, to_money


@dataclass
class RefundLineInput:
    line_item_id: str
    sku: str
    quantity: int
    unit_price: str
    refund_percent: str
    fault: str = "customer"
    opened_fault: str = ""  # whose fault it was when the Shopify return was opened (its fees); '': as `fault`

    @property
    def fault_at_opening(self) -> str:
        return self.opened_fault or self.fault


@dataclass
class RefundLine:
    line_item_id: str
    sku: str
    quantity: int
    amount: str


@dataclass
class RefundPlan:
    currency: str
    lines: list[RefundLine] = field(default_factory=list)
    subtotal: str = "0"
    shipping_fee: str = "0"
    restocking_fee: str = "0"
    # Fees recorded on the Shopify return when it opened that this refund gives back: the inspection found the
    # merchant (or carrier) at fault where the customer's reason said otherwise.
    fees_waived: str = "0"
    total: str = "0"
    capped: bool = False
    method: str = "original_payment"
    store_credit_bonus: str = "0"


def fee_at_rate(fee: str, rate: Decimal, currency: str, rounding: str = "ROUND_HALF_UP") -> Decimal:
    """A fee the mapping writes in the shop's currency, in the customer's: at the order's rate, rounded as the
    mapping says. One conversion for the fee on the Shopify return, the workflow's estimate and the priced plan."""
    return to_money(Decimal(fee) * rate, currency, rounding)


def line_amount(line: RefundLineInput, currency: str, rounding: str) -> Decimal:
    """What the mapping refunds of one line: its units at their price and percent, rounded once; never below 0."""
    if line.quantity <= 0:
        return Decimal(0)
    gross = Decimal(line.unit_price) * line.quantity * Decimal(line.refund_percent) / 100
    return max(to_money(gross, currency, rounding), Decimal(0))


def plan_refund(
    lines: list[RefundLineInput],
    *,
    currency: str,
    return_shipping_fee: str = "0",
    restocking_fee_percent: str = "0",
    rounding: str = "ROUND_HALF_UP",
    refundable_cap: str | None = None,
    method: str = "original_payment",
    store_credit_bonus_percent: str = "0",
) -> RefundPlan:
    plan = RefundPlan(currency=currency, method=method)
    amounts = [line_amount(line, currency, rounding) for line in lines]
    for line, amount in zip(lines, amounts, strict=True):
        if amount > 0:
            plan.lines.append(RefundLine(line.line_item_id, line.sku, line.quantity, fmt(amount, currency)))
    subtotal = sum(amounts, Decimal(0))

    def fees(fault_of: Callable[[RefundLineInput], str]) -> tuple[Decimal, Decimal]:
        """The return shipping fee (once, when a line is the customer's fault) and the restocking fee (a percent
        of the customer-fault lines), neither ever more than the refund."""
        refunded = [(line, amount) for line, amount in zip(lines, amounts, strict=True) if line.quantity > 0]
        customer = [amount for line, amount in refunded if fault_of(line) == "customer"]
        shipping = to_money(return_shipping_fee, currency, rounding) if customer and plan.lines else Decimal(0)
        restock = to_money(sum(customer, Decimal(0)) * Decimal(restocking_fee_percent) / 100, currency, rounding)
        shipping = min(shipping, subtotal)
        return shipping, min(restock, subtotal - shipping)

    shipping_fee, restocking = fees(lambda line: line.fault)
    at_opening = sum(fees(lambda line: line.fault_at_opening), Decimal(0))
    plan.fees_waived = fmt(max(at_opening - shipping_fee - restocking, Decimal(0)), currency)
    total = subtotal - shipping_fee - restocking
    if refundable_cap is not None and total > Decimal(refundable_cap):
        total = to_money(refundable_cap, currency, "ROUND_DOWN")
        plan.capped = True
    plan.subtotal = fmt(subtotal, currency)
    plan.shipping_fee = fmt(shipping_fee, currency)
    plan.restocking_fee = fmt(restocking, currency)
    total = max(total, Decimal(0))
    plan.total = fmt(total, currency)
    if method == "store_credit":
        # The bonus is extra store credit, not a refund: it is not capped by what the order can refund.
        plan.store_credit_bonus = fmt(
            to_money(total * Decimal(store_credit_bonus_percent) / 100, currency, rounding), currency
        )
    return plan


GIFT_CARD_GATEWAY = "gift_card"


@dataclass(frozen=True)
class Tender:
    """A payment a refund can go back to, and what it can still give back."""

    parent_id: str
    gateway: str
    refundable: str

    @property
    def gift_card(self) -> bool:
        return self.gateway == GIFT_CARD_GATEWAY


def split_refund(total: str, tenders: list[Tender], *, gift_cards: str = "first") -> list[tuple[Tender, str]]:
    """Which payments a refund goes back to and how much each: gift cards first (or last), the others in the order
    they were taken, each up to what it can still give back. Raises ValueError when they cannot cover the total."""
    left = Decimal(total)
    order = sorted(tenders, key=lambda t: t.gift_card != (gift_cards == "first"))  # stable: keeps payment order
    split = []
    for tender in order:
        take = min(left, Decimal(tender.refundable))
        if take > 0:
            split.append((tender, str(take)))
            left -= take
    if left > 0:
        raise ValueError(f"the order's payments can give back {Decimal(total) - left} of the {total} to refund")
    return split
