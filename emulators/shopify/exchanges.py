"""Exchanges: exchange line items on a return (``returnCreate``'s ``exchangeLineItems``), their prices, and the
value arithmetic ``suggestedFinancialOutcome`` and ``returnProcess`` share. Processing them (the fulfillment order,
stock, the hold for payment) is ``exchange_processing``; removing them, ``return_processing``.

No recording shows an exchange. What Shopify documents, and the emulator relies on:

* The return's new items: ``ReturnInput.exchangeLineItems: [ExchangeLineItemInput!]``, "new line items to be added
  to the order as part of an exchange", each ``{variantId, quantity!, appliedDiscount, giftCardCodes}``
  (schema 2026-07, since 2024-07). ``ExchangeLineItem``: ``variantId`` "The ID of the variant at time of return
  creation", ``quantity`` "The number of units ordered, including refunded and removed units",
  ``processableQuantity``, ``processedQuantity``, ``unprocessedQuantity``, ``lineItems`` "The order line items for
  the exchange" (``lineItem``, deprecated: "If the exchange line has been processed multiple times, this will be
  the first associated line item") (schema). ``Return.exchangeLineItems(includeRemovedItems = false,
  processingStatus)`` (schema).
* ``returnProcess`` "confirms the quantities for ReturnLineItem and ExchangeLineItem objects previously created on
  the Return ... creates FulfillmentOrder objects for exchange items and records all transactions" (schema).
* shopify.dev "Reading exchange data for integrations" (apps/build/orders-fulfillment/returns-apps/read-exchanges):
  "When a return with an exchange is created and processed: 1. New items are added to the return as
  ExchangeLineItem objects. 2. A new FulfillmentOrder is created on the original order for the exchange items.
  3. The value of the returned items is applied to the exchange items. If there is a balance due, the fulfillment
  order might be held until payment is captured." and "Native exchanges do not create a separate new order.
  They're updates to the existing order."
* shopify.dev "Creating and managing exchanges" (.../returns-apps/manage-exchanges), its steps: calculate the
  return's financials with exchanges (optional), create a return with exchanges, "process the return to confirm
  exchanges", "collect payment for the exchange", "query for the ID of the fulfillment order on hold".
* ``FulfillmentHoldReason.AWAITING_PAYMENT`` "The fulfillment hold is applied because payment is pending."
  (schema). ``AWAITING_RETURN_ITEMS`` ("return items not yet received during an exchange", changelog
  "awaiting-return-items-fulfillment-hold-reason", 2024-01: applied "when a return is created with exchange
  items") belongs to the model before returns processing, where the exchange's fulfillment order existed from
  ``returnCreate`` on (``ReturnInput.unprocessed``, now deprecated "to support the transition to Returns Processing
  APIs"): with ``returnProcess`` the fulfillment order is created when the exchange is processed, so the emulator
  never applies it.
* ``Return.suggestedFinancialOutcome(exchangeLineItems: [SuggestedOutcomeExchangeLineItemInput!]!)``: "The exchange
  line items from the return to include in the outcome"; its transfer is a ``RefundReturnOutcome`` or an
  ``InvoiceReturnOutcome`` ("a return outcome that results in an invoice") (schema).
* ``ProductVariant.price: Money!`` "The price of the product variant in the default shop currency"; ``Money``
  "A monetary value string ... Example value: "100.57"" (schema).

Where the documents are silent, the emulator chooses (and says so):

* Price: the variant's price (shop currency) at ``returnCreate``, at the order's rate, in its presentment currency,
  rounded to its minor units. ``appliedDiscount`` takes a ``percentage`` (0..100) or an ``amount`` (presentment
  currency, at most the price) off each unit (``CalculatedExchangeLineItem`` reports a discounted *unit* price).
  Tax: the order's own rate (seeded orders carry one), inside the price where the order's prices include tax, on
  top otherwise, as for the order's lines.
* Refusals at ``returnCreate`` (nothing is created), each at ``["returnInput", "exchangeLineItems", i, ...]``: no
  ``variantId`` ``BLANK``; an unknown variant ``NOT_FOUND``; a quantity below 1 ``GREATER_THAN`` (the wording of
  the recorded return-line refusal); ``giftCardCodes`` ``INVALID`` (emulated shops sell no gift cards, and the codes
  are for "physical gift cards"); a discount with both or neither of amount and percentage, or an amount in another
  currency, ``INVALID``; a percentage or amount out of range ``GREATER_THAN_OR_EQUAL_TO``/``LESS_THAN_OR_EQUAL_TO``.
  Stock is not checked here: it is reserved when the exchange is processed (``exchange_processing``).
* Value: an exchange unit is worth its price, with its tax where the tax is added on top. The settlement nets it
  against the returned lines' value less the fees (``return_outcome``): ``net = returned - fees - exchanges``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .model import ExchangeLine, InventoryItem, Order, Shop
from .money import minor_units, to_decimal
from .outcome import UserError

if TYPE_CHECKING:
    from .store import ShopifyStore

ZERO = Decimal("0")
NO_VARIANT = "Variant can't be blank."
VARIANT_NOT_FOUND = "Product variant does not exist."
QUANTITY_TOO_LOW = "Quantity must be greater than 0."
GIFT_CARDS = "Gift card codes can only be given for a gift card variant."
DISCOUNT_ONE_VALUE = "Applied discount must have either an amount or a percentage."
DISCOUNT_CURRENCY = "Applied discount amount currency must be the presentment currency of the order."
DISCOUNT_PERCENT_LOW = "Applied discount percentage must be greater than or equal to 0."
DISCOUNT_PERCENT_HIGH = "Applied discount percentage must be less than or equal to 100."
DISCOUNT_AMOUNT_LOW = "Applied discount amount must be greater than or equal to 0."
DISCOUNT_AMOUNT_HIGH = "Applied discount amount must be less than or equal to the price of the item."


def variant_price(item: InventoryItem) -> Decimal:
    """``ProductVariant.price`` in the shop's currency (a variant never given a price costs 0.00)."""
    return item.price if item.price is not None else ZERO


def presentment_price(order: Order, item: InventoryItem) -> Decimal:
    """The variant's price in the order's presentment currency, at the order's rate."""
    return minor_units(variant_price(item) * order.exchange_rate, order.presentment)


def order_tax_rate(order: Order) -> Decimal:
    """The tax rate an exchange item takes: the order's (its lines share one)."""
    return next((li.tax_rate for li in order.line_items), ZERO)


def tax_on(order: Order, unit_price: Decimal, rate: Decimal, units: int) -> Decimal:
    """Tax on ``units`` at ``unit_price``, the way ``Order.line_tax`` counts it."""
    total = unit_price * units
    tax = total - total / (1 + rate) if order.taxes_included else total * rate
    return tax.quantize(Decimal("0.01"))


def exchange_subtotal(line: ExchangeLine, units: int) -> Decimal:
    return line.unit_price * units


def exchange_value(order: Order, line: ExchangeLine, units: int) -> Decimal:
    """What ``units`` of the exchange line cost the customer: with their tax when it is added on top."""
    subtotal = exchange_subtotal(line, units)
    return subtotal if order.taxes_included else subtotal + tax_on(order, line.unit_price, line.tax_rate, units)


def _discounted(order: Order, price: Decimal, discount: dict[str, Any] | None, path: list[str]) -> Decimal | UserError:
    """The unit price after ``appliedDiscount``, or why the discount is refused."""
    if not discount:
        return price
    value = discount.get("value") or {}
    amount: dict[str, Any] | None = value.get("amount")
    percentage: float | None = value.get("percentage")
    at = [*path, "appliedDiscount", "value"]
    if amount is None:
        if percentage is None:
            return UserError(at, DISCOUNT_ONE_VALUE, "INVALID")
        if percentage < 0:
            return UserError([*at, "percentage"], DISCOUNT_PERCENT_LOW, "GREATER_THAN_OR_EQUAL_TO")
        if percentage > 100:
            return UserError([*at, "percentage"], DISCOUNT_PERCENT_HIGH, "LESS_THAN_OR_EQUAL_TO")
        off = price * to_decimal(repr(float(percentage))) / 100
        return price - minor_units(off, order.presentment)
    if percentage is not None:
        return UserError(at, DISCOUNT_ONE_VALUE, "INVALID")
    if amount.get("currencyCode") != order.presentment:
        return UserError([*at, "amount", "currencyCode"], DISCOUNT_CURRENCY, "INVALID")
    off = to_decimal(amount["amount"])
    if off < 0:
        return UserError([*at, "amount", "amount"], DISCOUNT_AMOUNT_LOW, "GREATER_THAN_OR_EQUAL_TO")
    if off > price:
        return UserError([*at, "amount", "amount"], DISCOUNT_AMOUNT_HIGH, "LESS_THAN_OR_EQUAL_TO")
    return price - off


def _priced(shop: Shop, order: Order, index: int, line: dict[str, Any]) -> tuple[InventoryItem, Decimal] | UserError:
    """The variant and unit price of one ``ExchangeLineItemInput``, or the first reason it is refused."""
    path = ["returnInput", "exchangeLineItems", str(index)]
    if line.get("giftCardCodes"):
        return UserError([*path, "giftCardCodes"], GIFT_CARDS, "INVALID")
    variant_id = line.get("variantId")
    if not variant_id:
        return UserError([*path, "variantId"], NO_VARIANT, "BLANK")
    item = shop.item_by_variant(str(variant_id))
    if item is None:
        return UserError([*path, "variantId"], VARIANT_NOT_FOUND, "NOT_FOUND")
    if int(line["quantity"]) < 1:
        return UserError([*path, "quantity"], QUANTITY_TOO_LOW, "GREATER_THAN")
    price = _discounted(order, presentment_price(order, item), line.get("appliedDiscount"), path)
    if isinstance(price, UserError):
        return price
    return item, price


def exchange_line_errors(shop: Shop, order: Order, lines_in: list[dict[str, Any]]) -> list[UserError]:
    """Why ``returnCreate``'s exchange lines cannot be created (one error per refused line)."""
    errors: list[UserError] = []
    for index, line in enumerate(lines_in):
        priced = _priced(shop, order, index, line)
        if isinstance(priced, UserError):
            errors.append(priced)
    return errors


def build_exchange_lines(
    store: ShopifyStore, shop: Shop, order: Order, lines_in: list[dict[str, Any]]
) -> list[ExchangeLine]:
    """The exchange lines of a validated ``returnCreate``, priced now ("at time of return creation")."""
    built: list[ExchangeLine] = []
    for index, line in enumerate(lines_in):
        priced = _priced(shop, order, index, line)
        assert not isinstance(priced, UserError)  # checked by exchange_line_errors
        item, price = priced
        built.append(
            ExchangeLine(
                id=store.new_id("ExchangeLineItem"),
                variant_id=item.variant_id,
                inventory_item_id=item.id,
                quantity=int(line["quantity"]),
                unit_price=price,
                original_unit_price=presentment_price(order, item),
                tax_rate=order_tax_rate(order),
            )
        )
    return built
