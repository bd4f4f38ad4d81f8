"""``refundCreate`` rules: quantities, transactions, over-refund guard, restock and money movement.

Money moves only through ``transactions`` (a refund without them records lines/restock and refunds 0.0), the
refund transaction's gateway is the parent's whatever the input says, and ``allowOverRefunding`` does not lift
the "greater than net payment received" guard (all as captured on real stores). Idempotency is handled by the
caller (``idempotency``), not here.

``shipping`` (``amount`` or ``fullRefund``) is kept on the refund (``Order.totalRefundedShippingSet``, the shipping
line's current price); like line items it moves no money by itself. ``RefundLineItem.subtotalSet`` is the units'
price, except as ``_line_subtotal`` says. Refunding units of an exchange item not shipped yet releases the stock its
processing committed (``exchange_processing.release_committed``): back to ``available`` when restocked.

``refundMethods: [{storeCreditRefund: {amount, expiresAt}}]`` refunds to the order customer's store credit
account in that currency instead of the original payment: each becomes an order REFUND transaction on the
``shopify_store_credit`` gateway (no parent) and a credit (event ORDER_REFUND, origin that transaction) on the
account, opened if needed. Store credit counts against the same "net payment received" guard as
``transactions`` (the sum of both is checked), and earlier store-credit refunds reduce net payment too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import store_credit
from .exchange_processing import release_committed
from .model import STORE_CREDIT_GATEWAY, LineItem, Order, Refund, RefundLine, Shop, Transaction
from .money import format_with_symbol, to_decimal
from .outcome import Outcome, UserError

if TYPE_CHECKING:
    from .store import ShopifyStore

_RESTOCKING_TYPES = ("RETURN", "CANCEL", "LEGACY_RESTOCK")
NO_CUSTOMER_MESSAGE = "A store credit refund requires the order to have a customer."
NEGATIVE_STORE_CREDIT_MESSAGE = "Store credit refund amount must be greater than 0."
STORE_CREDIT_CURRENCY_MESSAGE = "Store credit refund currency must match the order currency."


@dataclass(frozen=True)
class StoreCreditRefund:
    amount: Decimal
    currency: str
    expires_at: datetime | None


def store_credit_refunds(
    store: ShopifyStore,
    order: Order,
    method_inputs: list[dict[str, Any]],
    *,
    currency: str | None = None,
    prefix: tuple[str, ...] = ("refundMethods",),
    code: str | None = None,
) -> Outcome[list[StoreCreditRefund]]:
    """The ``storeCreditRefund`` entries of ``refundMethods``, validated (empty entries are ignored). Their currency
    must be ``currency`` (refundCreate: the order's ``currency``); errors sit under ``prefix`` with ``code``."""
    now = store.clock.now()
    wanted_currency = currency or order.currency
    found: list[StoreCreditRefund] = []
    errors: list[UserError] = []
    for index, method in enumerate(method_inputs):
        wanted = method.get("storeCreditRefund")
        if wanted is None:
            continue
        path = [*prefix, str(index), "storeCreditRefund"]
        amount = to_decimal(wanted["amount"]["amount"])
        money_currency = str(wanted["amount"]["currencyCode"])
        if amount < 0:
            errors.append(UserError([*path, "amount", "amount"], NEGATIVE_STORE_CREDIT_MESSAGE, code))
        if money_currency != wanted_currency:
            errors.append(UserError([*path, "amount", "currencyCode"], STORE_CREDIT_CURRENCY_MESSAGE, code))
        bad_expiry = store_credit.expiry_error(wanted.get("expiresAt"), now, [*path, "expiresAt"], code)
        if bad_expiry is not None:
            errors.append(bad_expiry)
        found.append(StoreCreditRefund(amount, money_currency, store_credit.parse_expiry(wanted.get("expiresAt"))))
    if found and order.customer_id is None:
        errors.append(UserError(list(prefix), NO_CUSTOMER_MESSAGE, code))
    return Outcome(errors=errors) if errors else Outcome(found)


def _line_subtotal(order: Order, line: LineItem, quantity: int, restock_type: str) -> Decimal:
    """``RefundLineItem.subtotalSet``: the units' price, except NO_RESTOCK of a line nothing of which was fulfilled,
    which Shopify reports as 0.0 (2025-01 captures: NO_RESTOCK of an unfulfilled line -> 0.0, RETURN of an
    unfulfilled line -> its price). Inferred from those two recordings; the money refunded is unaffected."""
    if restock_type == "NO_RESTOCK" and order.fulfilled_quantity(line.id) == 0:
        return Decimal("0")
    return line.unit_price * quantity


def line_value(order: Order, line: LineItem, quantity: int) -> Decimal:
    """What `quantity` units of a line cost the customer: the price, plus its tax when taxes were added on top."""
    price = line.unit_price * quantity
    return price if order.taxes_included else price + order.line_tax(line, quantity)


# Not in any recording: worded from RefundInput.currency's description in the 2026-04/07 schemas ("This must be
# the presentment currency, which is the currency used by the customer. This is a required field for orders where
# the currency and presentment currency differ.") and, for a payment refunded beyond what it can give back, from
# the recorded net-payment message and OrderTransaction.maximumRefundableV2 ("the maximum amount that can be
# refunded").
CURRENCY_REQUIRED_MESSAGE = "Currency is required for orders where the currency and presentment currency differ"
CURRENCY_MISMATCH_MESSAGE = "Currency must be the presentment currency, which is the currency used by the customer"


def _over_a_payment(order: Order, inputs: list[dict[str, Any]], parents: list[Transaction]) -> UserError | None:
    """A split refund giving one payment back more than it took (the total may still be within the order's)."""
    taken: dict[str, Decimal] = {}
    for index, (tx, parent) in enumerate(zip(inputs, parents, strict=True)):
        taken[parent.id] = taken.get(parent.id, Decimal("0")) + to_decimal(tx["amount"])
        if taken[parent.id] > order.refundable_from(parent):
            asked = format_with_symbol(to_decimal(tx["amount"]), order.presentment)
            cap = format_with_symbol(order.refundable_from(parent), order.presentment)
            message = f"Refund amount {asked} is greater than the maximum refundable {cap} of transaction {parent.id}"
            return UserError(["transactions", str(index), "amount"], message)
    return None


def _currency_error(order: Order, currency: object) -> UserError | None:
    if currency is None:
        return UserError(["currency"], CURRENCY_REQUIRED_MESSAGE) if order.presentment != order.currency else None
    if currency != order.presentment:
        return UserError(["currency"], CURRENCY_MISMATCH_MESSAGE)
    return None


def create_refund(
    store: ShopifyStore, shop: Shop, refund_input: dict[str, Any], *, staff_member_id: str | None = None
) -> Outcome[Refund]:
    """``refundCreate`` (by an app: no staff member unless a person made it in the admin)."""
    order = shop.orders.get(refund_input.get("orderId") or "")
    if order is None:
        return Outcome(errors=[UserError(["orderId"], "Order does not exist")])

    errors: list[UserError] = []
    line_inputs: list[dict[str, Any]] = list(refund_input.get("refundLineItems") or [])
    asked: dict[str, int] = {}
    for index, line_input in enumerate(line_inputs):
        path = ["refundLineItems", str(index)]
        line = order.line(line_input["lineItemId"])
        if line is None:
            errors.append(UserError([*path, "lineItemId"], "Line item does not exist"))
            continue
        quantity = int(line_input["quantity"])
        asked[line.id] = asked.get(line.id, 0) + quantity
        if quantity < 0 or asked[line.id] > order.refundable_quantity(line.id):
            errors.append(UserError([*path, "quantity"], "Quantity cannot refund more items than were purchased"))
            continue
        location_id = line_input.get("locationId")
        if location_id is not None and location_id not in shop.locations:
            errors.append(UserError([*path, "locationId"], "Location not found"))
    if errors:
        return Outcome(errors=errors)

    currency_error = _currency_error(order, refund_input.get("currency"))
    if currency_error is not None:
        return Outcome(errors=[currency_error])
    transaction_inputs: list[dict[str, Any]] = list(refund_input.get("transactions") or [])
    amount = Decimal("0")
    parents: list[Transaction] = []
    for tx in transaction_inputs:
        if tx["kind"] != "REFUND":
            return Outcome(errors=[UserError(None, f"Kind {str(tx['kind']).lower()} is not a valid transaction")])
        parent = order.transaction(tx.get("parentId") or "")
        if parent is None or parent.kind not in ("SALE", "CAPTURE"):
            message = "Transactions require a parent_id associated with the order"
            return Outcome(errors=[UserError(["transactions"], message)])
        parents.append(parent)
        amount += to_decimal(tx["amount"])
    credits = store_credit_refunds(store, order, list(refund_input.get("refundMethods") or []))
    if credits.value is None:
        return Outcome(errors=credits.errors)
    amount += sum((c.amount for c in credits.value), Decimal("0"))
    if amount > order.net_payment():
        message = (
            f"Refund amount {format_with_symbol(amount, order.presentment)} is greater than "
            f"net payment received {format_with_symbol(order.net_payment(), order.presentment)}"
        )
        return Outcome(errors=[UserError(None, message)])

    over = _over_a_payment(order, transaction_inputs, parents)  # after the order-level check, as Shopify words it
    if over is not None:
        return Outcome(errors=[over])

    now = store.clock.now()
    refund_lines: list[RefundLine] = []
    for line_input in line_inputs:
        line = order.line(line_input["lineItemId"])
        assert line is not None
        quantity = int(line_input["quantity"])
        restock_type = line_input.get("restockType") or "NO_RESTOCK"
        location_id = line_input.get("locationId")
        restocked = restock_type in _RESTOCKING_TYPES and line.inventory_item_id is not None and quantity > 0
        if restocked:
            location_id = location_id or next(iter(shop.locations), None)
            if location_id is None:
                restocked = False
        if restocked and line.inventory_item_id is not None and location_id is not None:
            level = shop.inventory[line.inventory_item_id].level(location_id)
            level.add("available", quantity, level_at=now)
        if line.exchange_line_id is not None:
            release_committed(shop, order, line, quantity, now)
        refund_lines.append(
            RefundLine(
                id=store.new_id("RefundLineItem"),
                line_item_id=line.id,
                quantity=quantity,
                restock_type=restock_type,
                location_id=location_id,
                restocked=restocked,
                subtotal=_line_subtotal(order, line, quantity, restock_type),
                total_tax=order.line_tax(line, quantity),
            )
        )
    shipping = refund_input.get("shipping") or {}
    shipping_amount = to_decimal(shipping["amount"]) if shipping.get("amount") is not None else Decimal("0")
    if shipping.get("fullRefund"):
        shipping_amount = order.shipping - order.refunded_shipping()  # what is left of it
    payments = [(to_decimal(tx["amount"]), parent) for tx, parent in zip(transaction_inputs, parents, strict=True)]
    refund = record_refund(
        store,
        shop,
        order,
        refund_lines,
        payments,
        credits.value,
        shipping_amount,
        refund_input.get("note"),
        staff_member_id=staff_member_id,
    )
    return Outcome(refund)


def record_refund(
    store: ShopifyStore,
    shop: Shop,
    order: Order,
    refund_lines: list[RefundLine],
    payments: list[tuple[Decimal, Transaction]],
    credits: list[StoreCreditRefund],
    shipping: Decimal,
    note: str | None,
    return_id: str | None = None,
    *,
    staff_member_id: str | None = None,
) -> Refund:
    """Move the money of a validated refund and add it to the order: one REFUND transaction per (amount, parent)
    on the parent's gateway, one per store credit refund (gateway ``shopify_store_credit``, no parent) with its
    credit on the customer's account in that currency (opened if needed). ``refundCreate`` and ``returnProcess``
    both end here."""
    now = store.clock.now()
    transaction_ids = []
    for amount, parent in payments:
        refund_tx = Transaction(
            id=store.new_id("OrderTransaction"),
            kind="REFUND",
            amount=amount,
            gateway=parent.gateway,
            created_at=now,
            parent_id=parent.id,
        )
        order.transactions.append(refund_tx)
        transaction_ids.append(refund_tx.id)
    for wanted in credits:
        if wanted.amount == 0:
            continue
        credit_tx = Transaction(
            id=store.new_id("OrderTransaction"),
            kind="REFUND",
            amount=wanted.amount,
            gateway=STORE_CREDIT_GATEWAY,
            created_at=now,
        )
        order.transactions.append(credit_tx)
        transaction_ids.append(credit_tx.id)
        assert order.customer_id is not None
        customer = store_credit.ensure_customer(store, shop, order.customer_id)
        account = store_credit.account_for(store, shop, customer, wanted.currency)
        store_credit.credit(
            store,
            account,
            wanted.amount,
            "ORDER_REFUND",
            expires_at=wanted.expires_at,
            order_id=order.id,
            origin_transaction_id=credit_tx.id,
        )
    refund = Refund(
        id=store.new_id("Refund"),
        note=note,
        created_at=now,
        lines=refund_lines,
        transaction_ids=transaction_ids,
        amount=sum((amount for amount, _ in payments), Decimal("0")) + sum((c.amount for c in credits), Decimal("0")),
        shipping=shipping,
        return_id=return_id,
        staff_member_id=staff_member_id,
    )
    order.refunds.append(refund)
    order.updated_at = now
    return refund


def find_refund(shop: Shop, refund_id: str) -> Refund | None:
    for order in shop.orders.values():
        for refund in order.refunds:
            if refund.id == refund_id:
                return refund
    return None
