"""The shop's state as plain dataclasses: what Shopify stores, not how GraphQL shows it (see ``views``).

IDs are full GID strings. Money is ``Decimal`` in the shop currency. Inventory keeps only the base quantity
names; ``on_hand`` is derived (available + committed + damaged + quality_control + reserved + safety_stock),
which is how Shopify mirrors adjustments of those names into ``on_hand``.

Customers own store credit accounts (one per currency); an account's balance is the sum of its signed
transactions. A refund to store credit is an order REFUND transaction on the ``shopify_store_credit`` gateway
(so it counts in ``refunded``/``net_payment`` like any refund) plus a credit on the customer's account.

Exchanges (``exchanges``): a return's ``ExchangeLine``s are priced when the return is created; processing them adds
``LineItem``s to the order (``exchange_line_id`` set) and one ``ExchangeFulfillmentOrder`` per processing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

QUANTITY_NAMES = (
    "available",
    "committed",
    "damaged",
    "incoming",
    "on_hand",
    "quality_control",
    "reserved",
    "safety_stock",
)
ON_HAND_PARTS = ("available", "committed", "damaged", "quality_control", "reserved", "safety_stock")

ReturnStatus = Literal["REQUESTED", "OPEN", "CLOSED", "CANCELED", "DECLINED"]
RfoStatus = Literal["OPEN", "CLOSED", "CANCELED"]
DispositionType = Literal["RESTOCKED", "NOT_RESTOCKED", "PROCESSING_REQUIRED", "MISSING"]
StoreCreditKind = Literal["CREDIT", "DEBIT", "EXPIRATION"]
# ``StoreCreditSystemEvent`` values the emulator produces (the schema has more: ORDER_PAYMENT, ...).
StoreCreditEvent = Literal["ADJUSTMENT", "ORDER_REFUND"]
STAFF_MEMBER_ID = "gid://shopify/StaffMember/1"  # the shop owner: who refunds "by hand in the admin"
STORE_CREDIT_GATEWAY = "shopify_store_credit"  # gateway of the REFUND transaction of a refund to store credit


@dataclass
class Location:
    id: str
    name: str


@dataclass
class InventoryLevel:
    """Quantities of one item at one location, keyed by base quantity name (never ``on_hand``)."""

    location_id: str
    quantities: dict[str, int] = field(default_factory=dict)
    updated_at: datetime | None = None
    # When each base name last changed (a None value: "when the level last changed"); names never written show
    # ``updatedAt: null`` like Shopify's, and so does the derived ``on_hand``.
    changed_at: dict[str, datetime | None] = field(default_factory=dict)

    def get(self, name: str) -> int:
        if name == "on_hand":
            return sum(self.quantities.get(part, 0) for part in ON_HAND_PARTS)
        return self.quantities.get(name, 0)

    def add(self, name: str, delta: int, at: datetime | None = None, *, level_at: datetime | None = None) -> None:
        """Add ``delta`` to ``name``; ``at`` stamps that name's own change (None: it reads the level's time) and
        ``level_at``, when given, the level's ``updated_at`` (writers set both; a name-only stamp stays possible)."""
        self.quantities[name] = self.quantities.get(name, 0) + delta
        self.changed_at[name] = at
        if level_at is not None:
            self.updated_at = level_at

    def name_updated_at(self, name: str) -> datetime | None:
        if name not in self.changed_at:
            return None
        return self.changed_at[name] or self.updated_at


@dataclass
class InventoryItem:
    id: str
    sku: str
    variant_id: str
    levels: dict[str, InventoryLevel] = field(default_factory=dict)  # by location id
    product_id: str | None = None  # each seeded SKU is the single (default) variant of its own product
    # The variant's price in the shop's currency (``ProductVariant.price``); None: never set (reads as 0.00, as a
    # variant created without a price; the first seeded order line of the SKU sets it).
    price: Decimal | None = None

    def level(self, location_id: str) -> InventoryLevel:
        """The level at a location, created (stocked) on first use as Shopify's restock does."""
        if location_id not in self.levels:
            self.levels[location_id] = InventoryLevel(location_id)
        return self.levels[location_id]


@dataclass
class LineItem:
    id: str
    sku: str | None
    title: str
    quantity: int
    unit_price: Decimal  # after all discounts, in the order's presentment currency
    inventory_item_id: str | None  # None: custom line item
    tax_rate: Decimal = Decimal("0")  # its one tax line (UK VAT 0.2, a US sales tax 0.08875)
    exchange_line_id: str | None = None  # added by processing this ExchangeLineItem (it ships on its own FO)


@dataclass
class FulfillmentLineItem:
    id: str
    line_item_id: str
    quantity: int


@dataclass
class Fulfillment:
    id: str
    created_at: datetime
    line_items: list[FulfillmentLineItem]
    status: str = "SUCCESS"


@dataclass
class Transaction:
    id: str
    kind: str  # SALE, REFUND, ...
    amount: Decimal
    gateway: str
    created_at: datetime
    parent_id: str | None = None
    status: str = "SUCCESS"


@dataclass
class RefundLine:
    id: str
    line_item_id: str
    quantity: int
    restock_type: str
    location_id: str | None
    restocked: bool
    subtotal: Decimal
    total_tax: Decimal = Decimal("0")


@dataclass
class Refund:
    id: str
    note: str | None
    created_at: datetime
    lines: list[RefundLine]
    transaction_ids: list[str]
    amount: Decimal
    shipping: Decimal = Decimal("0")
    return_id: str | None = None  # made by ``returnProcess`` for this return (``Refund.return``)
    staff_member_id: str | None = None  # made by a person in the admin (``Refund.staffMember``); None: an app


@dataclass
class StoreCreditTransaction:
    """One entry of an account's history. ``amount`` is signed: credits positive, debits/expirations negative.

    ``origin_transaction_id`` is the order's REFUND transaction for a refund to store credit (``origin``);
    ``expired_by`` links a credit to the EXPIRATION entry that removed what was left of it.
    """

    id: str
    account_id: str
    kind: StoreCreditKind
    amount: Decimal
    balance_after: Decimal
    created_at: datetime
    event: StoreCreditEvent
    expires_at: datetime | None = None
    order_id: str | None = None
    origin_transaction_id: str | None = None
    credit_id: str | None = None  # EXPIRATION: the credit it expired
    expired: bool = False  # CREDIT: its remainder has been expired


@dataclass
class StoreCreditAccount:
    """A balance in one currency for one owner (Shopify: one account per owner and currency)."""

    id: str
    owner_id: str
    currency: str
    transactions: list[StoreCreditTransaction] = field(default_factory=list)

    def balance(self) -> Decimal:
        return sum((t.amount for t in self.transactions), Decimal("0"))


@dataclass
class Customer:
    id: str
    created_at: datetime
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    account_ids: list[str] = field(default_factory=list)  # store credit accounts, in creation order

    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or "Customer"


@dataclass
class Metafield:
    id: str
    namespace: str
    key: str
    type: str
    value: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Order:
    id: str
    name: str
    currency: str
    processed_at: datetime
    created_at: datetime
    line_items: list[LineItem]
    fulfillments: list[Fulfillment]
    transactions: list[Transaction]
    shipping: Decimal
    refunds: list[Refund] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    metafields: dict[tuple[str, str], Metafield] = field(default_factory=dict)
    return_ids: list[str] = field(default_factory=list)
    cancelled_at: datetime | None = None
    updated_at: datetime | None = None
    customer_id: str | None = None  # None: a guest order (store credit refunds are then refused)
    exchange_fulfillment_orders: list[ExchangeFulfillmentOrder] = field(default_factory=list)  # see exchanges
    closed_at: datetime | None = None  # set by orderCancel (see order_cancel)
    cancel_reason: str | None = None  # OrderCancelReason
    cancel_staff_note: str | None = None
    note: str | None = None  # the staff-visible order note (orderUpdate overwrites it)
    # Money on an order (prices, shipping, transactions, refunds) is in the customer's presentment currency;
    # `currency` is the shop's. Shop money is presentment money / `exchange_rate`, rounded to the cent.
    presentment_currency: str | None = None  # None: the shop's currency
    exchange_rate: Decimal = Decimal("1")
    taxes_included: bool = True  # UK/EU prices include VAT; US and some markets add tax on top

    def line(self, line_item_id: str) -> LineItem | None:
        return next((li for li in self.line_items if li.id == line_item_id), None)

    def fulfillment_line(self, fli_id: str) -> FulfillmentLineItem | None:
        for fulfillment in self.fulfillments:
            for fli in fulfillment.line_items:
                if fli.id == fli_id:
                    return fli
        return None

    def transaction(self, transaction_id: str) -> Transaction | None:
        return next((t for t in self.transactions if t.id == transaction_id), None)

    def refunded_quantity(self, line_item_id: str) -> int:
        return sum(rl.quantity for r in self.refunds for rl in r.lines if rl.line_item_id == line_item_id)

    def refundable_quantity(self, line_item_id: str) -> int:
        line = self.line(line_item_id)
        return 0 if line is None else max(0, line.quantity - self.refunded_quantity(line_item_id))

    def received(self) -> Decimal:
        return sum(
            (t.amount for t in self.transactions if t.status == "SUCCESS" and t.kind in ("SALE", "CAPTURE")),
            Decimal("0"),
        )

    def refunded(self) -> Decimal:
        return sum(
            (t.amount for t in self.transactions if t.status == "SUCCESS" and t.kind == "REFUND"),
            Decimal("0"),
        )

    def net_payment(self) -> Decimal:
        return self.received() - self.refunded()

    def financial_status(self) -> str:
        refunded = self.refunded()
        if refunded <= 0:
            return "PAID"
        return "REFUNDED" if refunded >= self.received() else "PARTIALLY_REFUNDED"

    def fulfilled_quantity(self, line_item_id: str) -> int:
        return sum(f.quantity for ff in self.fulfillments for f in ff.line_items if f.line_item_id == line_item_id)

    def refunded_shipping(self) -> Decimal:
        return sum((r.shipping for r in self.refunds), Decimal("0"))

    @property
    def presentment(self) -> str:
        return self.presentment_currency or self.currency

    def line_tax(self, line: LineItem, quantity: int) -> Decimal:
        """Tax on `quantity` units of a line: inside the price when taxes are included, on top otherwise."""
        total = line.unit_price * quantity
        if self.taxes_included:
            tax = total - total / (1 + line.tax_rate)
        else:
            tax = total * line.tax_rate
        return tax.quantize(Decimal("0.01"))

    def total_tax(self) -> Decimal:
        return sum((self.line_tax(li, li.quantity) for li in self.line_items), Decimal("0"))

    def total_price(self) -> Decimal:
        lines = sum((li.unit_price * li.quantity for li in self.line_items), Decimal("0"))
        return lines + (Decimal("0") if self.taxes_included else self.total_tax()) + self.shipping

    def shop_amount(self, amount: Decimal) -> Decimal:
        """Presentment money in the shop's currency, at the order's rate."""
        return (amount / self.exchange_rate).quantize(Decimal("0.01"))

    def refunded_from(self, transaction_id: str) -> Decimal:
        return sum(
            (t.amount for t in self.transactions if t.kind == "REFUND" and t.status == "SUCCESS"
             and t.parent_id == transaction_id),
            Decimal("0"),
        )  # fmt: skip

    def refundable_from(self, tx: Transaction) -> Decimal:
        """What a payment can still give back: its amount less the refunds made against it."""
        return max(tx.amount - self.refunded_from(tx.id), Decimal("0"))

    def payments(self) -> list[Transaction]:
        return [t for t in self.transactions if t.kind in ("SALE", "CAPTURE") and t.status == "SUCCESS"]

    def outstanding(self) -> Decimal:
        """What the customer still owes: the unpaid balances of processed exchanges (``totalOutstandingSet``)."""
        return sum((fo.balance_due for fo in self.exchange_fulfillment_orders), Decimal("0"))


@dataclass
class FulfillmentHold:
    """A hold on a fulfillment order (``FulfillmentHold``); ``reason`` is a ``FulfillmentHoldReason``."""

    id: str
    reason: str
    created_at: datetime
    reason_notes: str | None = None


@dataclass
class ExchangeFulfillmentOrder:
    """The fulfillment order one ``returnProcess`` created for the exchange items it processed (``exchanges``).

    ``balance_due`` is what that processing left the customer owing (presentment money; 0: nothing, or paid); while
    it is owed the order is held ``AWAITING_PAYMENT``.
    """

    id: str
    order_id: str
    return_id: str
    location_id: str | None
    line_item_ids: list[str]
    created_at: datetime
    holds: list[FulfillmentHold] = field(default_factory=list)
    balance_due: Decimal = Decimal("0")
    paid_by: str | None = None  # the SALE transaction that paid the balance
    updated_at: datetime | None = None


@dataclass
class ExchangeLine:
    """An ``ExchangeLineItem``: a variant the customer gets instead of what they return, priced at creation.

    ``unit_price`` is presentment money after its applied discount (``original_unit_price`` before it);
    ``quantity`` counts every unit asked for, removed ones included (its description), so what is left to process
    is ``quantity - processed_quantity - removed_quantity``. ``line_item_ids``: the order lines its processings
    added, in order.
    """

    id: str
    variant_id: str
    inventory_item_id: str
    quantity: int
    unit_price: Decimal
    original_unit_price: Decimal
    tax_rate: Decimal
    processed_quantity: int = 0
    removed_quantity: int = 0
    line_item_ids: list[str] = field(default_factory=list)

    @property
    def unprocessed_quantity(self) -> int:
        return self.quantity - self.processed_quantity - self.removed_quantity


@dataclass
class ReturnLine:
    id: str
    fulfillment_line_item_id: str
    quantity: int
    reason: str  # legacy ReturnReason enum value
    reason_definition_id: str | None
    reason_note: str
    customer_note: str | None = None
    processed_quantity: int = 0  # units handled by ``returnProcess`` (then the return can't be canceled)
    refunded_quantity: int = 0  # processed units a ``returnProcess`` refund covered
    restocking_fee: RestockingFee | None = None  # ``restockingFee`` of the returnCreate/returnRequest line


@dataclass(frozen=True)
class RestockingFee:
    """A return line's restocking fee: a ``Fee`` GID and a percentage; its amount is derived (see ``fees``)."""

    id: str
    percentage: float


@dataclass
class ReturnProcessing:
    """One accepted ``returnProcess``: the units it processed and the fees it charged (so none is charged twice)."""

    id: str
    created_at: datetime
    lines: dict[str, int]  # return line id -> units processed
    restocking_fees: dict[str, Decimal]  # return line id -> the part of its restocking fee charged here
    shipping_fee: Decimal  # the return shipping fee charged here (0: none, or charged by an earlier processing)
    refund_id: str | None = None  # the Refund it created, if it moved money or refunded shipping
    exchange_lines: dict[str, int] = field(default_factory=dict)  # exchange line id -> units processed
    fulfillment_order_id: str | None = None  # the exchange's fulfillment order it created
    balance: Decimal = Decimal("0")  # returned value less fees less exchanges: < 0 when the customer owes


@dataclass
class Disposition:
    id: str
    type: DispositionType
    quantity: int
    location_id: str | None
    created_at: datetime


@dataclass
class RfoLine:
    id: str
    return_line_id: str
    fulfillment_line_item_id: str
    total_quantity: int
    dispositions: list[Disposition] = field(default_factory=list)


@dataclass
class ReverseFulfillmentOrder:
    id: str
    return_id: str
    order_id: str
    lines: list[RfoLine]
    status: RfoStatus = "OPEN"
    delivery_ids: list[str] = field(default_factory=list)


@dataclass
class ReverseDeliveryLine:
    id: str
    rfo_line_id: str
    quantity: int


@dataclass
class ReverseDelivery:
    id: str
    rfo_id: str
    lines: list[ReverseDeliveryLine]
    created_at: datetime
    tracking_number: str | None = None
    tracking_url: str | None = None
    label_url: str | None = None


@dataclass
class Return:
    id: str
    order_id: str
    name: str
    status: ReturnStatus
    lines: list[ReturnLine]
    created_at: datetime
    rfo_ids: list[str] = field(default_factory=list)
    closed_at: datetime | None = None
    request_approved_at: datetime | None = None
    decline_reason: str | None = None  # ``returnDeclineRequest``: ReturnDeclineReason and the staff note
    decline_note: str | None = None
    shipping_fees: list[ReturnShippingFee] = field(default_factory=list)
    processings: list[ReturnProcessing] = field(default_factory=list)  # accepted ``returnProcess`` calls, in order
    exchange_lines: list[ExchangeLine] = field(default_factory=list)


@dataclass
class ReturnShippingFee:
    """What the customer pays to send the items back (``returnShippingFee`` input); a ``Fee`` GID."""

    id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class ReturnReasonDefinition:
    id: str
    handle: str
    name: str
    legacy_reason: str
    deleted: bool = False


@dataclass
class IdempotencyRecord:
    """A committed idempotent write: the request fingerprint and what it produced."""

    key: str
    mutation: str
    fingerprint: str
    created_at: datetime
    result_id: str


@dataclass
class Shop:
    domain: str
    access_token: str
    currency: str
    locations: dict[str, Location] = field(default_factory=dict)
    inventory: dict[str, InventoryItem] = field(default_factory=dict)  # by inventory item id
    orders: dict[str, Order] = field(default_factory=dict)
    returns: dict[str, Return] = field(default_factory=dict)
    rfos: dict[str, ReverseFulfillmentOrder] = field(default_factory=dict)
    deliveries: dict[str, ReverseDelivery] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)  # (mutation, key)
    customers: dict[str, Customer] = field(default_factory=dict)
    store_credit_accounts: dict[str, StoreCreditAccount] = field(default_factory=dict)
    bulk_operations: dict[str, Any] = field(default_factory=dict)  # by id; see bulk.py
    adjustment_groups: dict[str, Any] = field(default_factory=dict)  # by id; see inventory.py

    def accounts_of(self, owner_id: str) -> list[StoreCreditAccount]:
        customer = self.customers.get(owner_id)
        return [self.store_credit_accounts[a] for a in customer.account_ids] if customer else []

    def item_by_sku(self, sku: str) -> InventoryItem | None:
        return next((item for item in self.inventory.values() if item.sku == sku), None)

    def item_by_variant(self, variant_id: str) -> InventoryItem | None:
        return next((item for item in self.inventory.values() if item.variant_id == variant_id), None)

    def exchange_line(self, exchange_line_id: str) -> tuple[Return, ExchangeLine] | None:
        for ret in self.returns.values():
            for line in ret.exchange_lines:
                if line.id == exchange_line_id:
                    return ret, line
        return None

    def rfo_line(self, rfo_line_id: str) -> tuple[ReverseFulfillmentOrder, RfoLine] | None:
        for rfo in self.rfos.values():
            for line in rfo.lines:
                if line.id == rfo_line_id:
                    return rfo, line
        return None

    def return_line(self, return_line_id: str) -> tuple[Return, ReturnLine] | None:
        for ret in self.returns.values():
            for line in ret.lines:
                if line.id == return_line_id:
                    return ret, line
        return None

    def delivery_line(self, delivery_line_id: str) -> tuple[ReverseDelivery, ReverseDeliveryLine] | None:
        for delivery in self.deliveries.values():
            for line in delivery.lines:
                if line.id == delivery_line_id:
                    return delivery, line
        return None

    def order_of_fulfillment_line(self, fli_id: str) -> tuple[Order, FulfillmentLineItem] | None:
        for order in self.orders.values():
            fli = order.fulfillment_line(fli_id)
            if fli is not None:
                return order, fli
        return None
