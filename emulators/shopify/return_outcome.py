"""What processing return lines settles: ``Return.suggestedFinancialOutcome``, and the same arithmetic for
``returnProcess`` (``settle``), so a suggestion and the processing that follows it agree to the cent.

No recording shows this field or a ``returnProcess`` with money; the rules follow the 2026-04/07 descriptions
(identical in both versions) and the emulator's ``Order.suggestedRefund``. All money is the order's presentment
money (shop money is converted at the order's rate, as everywhere in the emulator). Choices the schema leaves open:

* Lines: each ``{id, quantity}`` must be a line of this return (otherwise the field is a GraphQL error, as are
  duties and a tip line: emulated orders have none). The quantity is lowered to the units not yet processed and
  still refundable on the order's line (a second suggestion for processed lines is worth 0), as the REST
  ``calculate`` endpoint documents for refunds and ``Order.suggestedRefund`` does here.
* Exchange lines (``exchangeLineItems``, ``exchanges``): each must be an exchange line of this return (otherwise a
  GraphQL error); the quantity is lowered to its units not yet processed (nor removed). "The value of the returned
  items is applied to the exchange items" (shopify.dev, reading exchanges): their value (price, with tax when it is
  added on top) is taken off the transfer; ``discountedSubtotal`` and ``totalTax`` stay those of the returned
  lines (the items reimbursed; the emulator's choice).
* ``discountedSubtotal`` is the lines' price as the order charged it (after discounts; tax-inclusive where prices
  include tax), ``totalTax`` their tax. ``totalCartDiscountAmount``, ``totalDuties`` and ``refundDuties`` are 0/[]
  (no cart discounts or duties are emulated).
* ``totalAdditionalFees`` is, per its description, "the sum of all the additional fees being refunded": the
  order's additional fees (``Order.additionalFees``: duties, import fees), which emulated orders do not have, so
  it is 0. It is NOT the return's fees: the schema has no field for those in the outcome.
* The return's fees are netted out of ``financialTransfer.amount``: the restocking fees of the given lines (their
  share for the given units, ``fees.restocking_fee_due``) and the return shipping fee once per return (not when an
  earlier processing charged it, nor when no unit is settled). ``SuggestedReturnFinancialOutcome`` is "based on
  the items being reimbursed" and its transfer may be an ``InvoiceReturnOutcome`` ("a return outcome that
  results in an invoice"): only fees and exchanges can make a return owe money, so they are in it.
  Fees are not taxed.
* ``shipping``: ``refundShipping.shippingRefundAmount`` (it "overrides fullRefund") or, with ``fullRefund``, what
  is left of the order's shipping; capped at what is left (``maximumRefundable``); shipping tax is 0 (emulated
  shipping lines carry none).
* ``financialTransfer``: value = subtotal (+ tax when the order adds it on top) + shipping; net = value - fees -
  the exchange lines' value.
  net < 0: an ``InvoiceReturnOutcome`` of ``-net``; otherwise a ``RefundReturnOutcome`` of
  ``min(net, what the order can still refund)`` (never null, even for 0). ``maximumRefundable`` is what the
  order can still refund (its net payment), as in ``Order.suggestedRefund``.
* ``ORIGINAL_PAYMENT_METHODS`` (default): ``suggestedTransactions`` split the amount across the order's payments
  as ``Order.suggestedRefund`` does (``suggested_refund.suggested_transactions``: in the order they were taken,
  gift card first when it was taken first), with ``maximumRefundableSet`` null ("Only available within
  SuggestedRefund"); no refund methods. ``STORE_CREDIT``: no transactions, one ``SuggestedStoreCreditRefund`` of
  the amount (``expiresAt`` null, ``maximumRefundable`` the order's net payment); none for a guest order or 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from .exchanges import exchange_value
from .fees import ZERO, order_line, restocking_fee_due, shipping_fee_due
from .model import ExchangeLine, LineItem, Order, Return, ReturnLine
from .money import format_amount, to_decimal
from .suggested_refund import suggested_transactions

if TYPE_CHECKING:
    from .model import Shop
    from .views import View, Views

LINE_NOT_FOUND = "Return line item was not found."
EXCHANGE_NOT_FOUND = "Exchange line item was not found."


@dataclass
class Settlement:
    """Units of return lines (with their order lines) and shipping, and what settling them is worth."""

    order: Order
    lines: list[tuple[ReturnLine, LineItem, int]]
    shipping: Decimal = ZERO
    restocking_fees: dict[str, Decimal] = field(default_factory=dict)  # return line id -> fee due now
    shipping_fee: Decimal = ZERO
    exchanges: list[tuple[ExchangeLine, int]] = field(default_factory=list)  # exchange units the customer gets

    @property
    def subtotal(self) -> Decimal:
        return sum((item.unit_price * units for _, item, units in self.lines), ZERO)

    @property
    def tax(self) -> Decimal:
        return sum((self.order.line_tax(item, units) for _, item, units in self.lines), ZERO)

    @property
    def fees(self) -> Decimal:
        return sum(self.restocking_fees.values(), ZERO) + self.shipping_fee

    @property
    def value(self) -> Decimal:
        """What the units and shipping are worth to the customer: with their tax when it was added on top."""
        return self.subtotal + (ZERO if self.order.taxes_included else self.tax) + self.shipping

    @property
    def exchange_value(self) -> Decimal:
        """What the exchange units cost the customer (with their tax when it is added on top)."""
        return sum((exchange_value(self.order, line, units) for line, units in self.exchanges), ZERO)

    @property
    def net(self) -> Decimal:
        """The customer's balance: positive is owed to them, negative is what they owe."""
        return self.value - self.fees - self.exchange_value


def shipping_left(order: Order) -> Decimal:
    return max(order.shipping - order.refunded_shipping(), ZERO)


def settle(
    order: Order,
    ret: Return,
    units: list[tuple[ReturnLine, int]],
    shipping: Decimal,
    exchanges: list[tuple[ExchangeLine, int]] | None = None,
) -> Settlement:
    """The settlement of ``units`` more processed units of each line (already checked), ``shipping`` and
    ``exchanges`` (units of exchange lines the customer gets)."""
    settlement = Settlement(order, [], shipping)
    settlement.exchanges = [(line, count) for line, count in exchanges or [] if count > 0]
    for line, count in units:
        item = order_line(order, line)
        if item is None or count <= 0:
            continue
        settlement.lines.append((line, item, count))
        fee = restocking_fee_due(order, ret, line, count)
        if fee > 0:
            settlement.restocking_fees[line.id] = settlement.restocking_fees.get(line.id, ZERO) + fee
    settlement.shipping_fee = shipping_fee_due(ret, sum(count for _, _, count in settlement.lines))
    return settlement


def _settleable(order: Order, line: ReturnLine, wanted: int) -> int:
    item = order_line(order, line)
    left = line.quantity - line.processed_quantity
    refundable = order.refundable_quantity(item.id) if item else 0
    return max(0, min(wanted, left, refundable))


def _requested_shipping(order: Order, refund_shipping: dict[str, Any] | None) -> Decimal:
    if not refund_shipping:
        return ZERO
    money = refund_shipping.get("shippingRefundAmount")
    if money is not None:
        return max(min(to_decimal(money["amount"]), shipping_left(order)), ZERO)
    return shipping_left(order) if refund_shipping.get("fullRefund") else ZERO


def _exchange_units(ret: Return, wanted: list[dict[str, Any]]) -> list[tuple[ExchangeLine, int]]:
    """Each asked exchange line with its units, lowered to what it has left to process."""
    asked: dict[str, int] = {}
    lines: dict[str, ExchangeLine] = {}
    for item in wanted:
        line = next((el for el in ret.exchange_lines if el.id == item["id"]), None)
        if line is None:
            raise GraphQLError(EXCHANGE_NOT_FOUND)
        lines[line.id] = line
        asked[line.id] = asked.get(line.id, 0) + int(item["quantity"])
    return [(lines[i], max(0, min(count, lines[i].unprocessed_quantity))) for i, count in asked.items()]


def suggested_financial_outcome(views: Views, shop: Shop, ret: Return, args: dict[str, Any]) -> View:
    order = shop.orders[ret.order_id]
    exchanges = _exchange_units(ret, args.get("exchangeLineItems") or [])
    if args.get("refundDuties"):
        raise GraphQLError("Duty was not found.")
    if args.get("tipLineId"):
        raise GraphQLError("Tip line was not found.")
    asked: dict[str, int] = {}
    lines: dict[str, ReturnLine] = {}
    for wanted in args.get("returnLineItems") or []:
        line = next((rl for rl in ret.lines if rl.id == wanted["id"]), None)
        if line is None:
            raise GraphQLError(LINE_NOT_FOUND)
        lines[line.id] = line
        asked[line.id] = asked.get(line.id, 0) + int(wanted["quantity"])
    units = [(lines[line_id], _settleable(order, lines[line_id], count)) for line_id, count in asked.items()]
    settlement = settle(order, ret, units, _requested_shipping(order, args.get("refundShipping")), exchanges)

    money = views.order_money
    zero = money(order, ZERO)
    maximum = max(order.net_payment(), ZERO)
    transfer: View
    if settlement.net < 0:
        transfer = {"__typename": "InvoiceReturnOutcome", "amount": money(order, -settlement.net)}
    else:
        amount = min(settlement.net, maximum)
        to_store_credit = args.get("refundMethodAllocation") == "STORE_CREDIT"
        methods = []
        if to_store_credit and amount > 0 and order.customer_id is not None:
            methods.append(
                {
                    "__typename": "SuggestedStoreCreditRefund",
                    "amount": money(order, amount),
                    "expiresAt": None,
                    "maximumRefundable": money(order, maximum),
                }
            )
        transfer = {
            "__typename": "RefundReturnOutcome",
            "amount": money(order, amount),
            "suggestedTransactions": []
            if to_store_credit
            else suggested_transactions(views, order, amount, with_maximum=False),
            "suggestedRefundMethods": methods,
        }
    left = shipping_left(order)
    return {
        "__typename": "SuggestedReturnFinancialOutcome",
        "discountedSubtotal": money(order, settlement.subtotal),
        "totalTax": money(order, settlement.tax),
        "totalAdditionalFees": zero,
        "totalCartDiscountAmount": zero,
        "totalDuties": zero,
        "refundDuties": [],
        "maximumRefundable": money(order, maximum),
        "shipping": {
            "__typename": "ShippingRefund",
            "amount": format_amount(order.shop_amount(settlement.shipping)),  # deprecated ``Money``: shop money
            "amountSet": money(order, settlement.shipping),
            "tax": format_amount(ZERO),
            "taxSet": zero,
            "maximumRefundable": format_amount(order.shop_amount(left)),
            "maximumRefundableSet": money(order, left),
        },
        "financialTransfer": transfer,
    }
