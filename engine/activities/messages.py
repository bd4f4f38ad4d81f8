"""Activity inputs and outputs. Plain dataclasses with money as strings: nothing secret, nothing float."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from engine.definitions.mapping import ExchangeRules, RefundRules
from engine.events import EventItem
from engine.refunds import RefundLineInput, RefundPlan


@dataclass
class ShopRef:
    """Which shop to talk to; the access token is looked up by the worker, never carried in history."""

    brand: str
    domain: str
    api_version: str


@dataclass
class OrderLine:
    line_item_id: str
    fulfillment_line_item_id: str
    sku: str
    unit_price: str
    inventory_item_id: str | None
    fulfilled_quantity: int
    refundable_quantity: int


@dataclass
class Payment:
    """One payment of an order (a card, a gift card), in the presentment currency."""

    transaction_id: str
    gateway: str
    amount: str
    refundable: str  # what it can still give back


@dataclass
class OrderSnapshot:
    order_id: str
    name: str
    currency: str  # the customer's presentment currency: prices, payments and refunds are in it
    processed_at: str
    sale_transaction_id: str | None
    gateway: str | None
    net_payment: str
    lines: list[OrderLine] = field(default_factory=list)
    customer_id: str | None = None
    shop_currency: str = ""  # the shop's, when it differs (a EUR order on a GBP shop)
    taxes_included: bool = True
    payments: list[Payment] = field(default_factory=list)
    # Presentment units per shop unit, as the order's own totals show them (its total in the customer's currency
    # over its total in the shop's): Shopify does not expose the rate itself. "" for orders seen before this.
    rate: str = ""

    def line_for_sku(self, sku: str) -> OrderLine | None:
        return next((line for line in self.lines if line.sku == sku), None)


@dataclass
class ValidateOrderInput:
    shop: ShopRef
    rebound_return_id: str
    order_name: str
    items: list[EventItem]
    return_window_days: int
    registered_at: str
    # False when Rebound's app refunds: its refund (maybe before we look) is expected, not a conflict.
    check_refundable: bool = True
    refused: list[str] = field(default_factory=list)  # final-sale items left out of `items` ("SKU: why")


@dataclass
class ValidateOrderResult:
    valid: bool
    problems: list[str] = field(default_factory=list)
    order: OrderSnapshot | None = None


@dataclass
class ReturnLineRequest:
    fulfillment_line_item_id: str
    quantity: int
    reason_handle: str
    note: str = ""


@dataclass
class CreateReturnInput:
    shop: ShopRef
    rebound_return_id: str
    order_id: str
    lines: list[ReturnLineRequest]
    requested_at: str
    repeat: bool = False  # an earlier call of this step may have written: look in Shopify before writing
    # Fees recorded on the Shopify return itself (flows that settle by processing it): the return shipping fee in the
    # order's presentment currency ("": none), and a restocking percentage per fulfillment line item.
    return_shipping_fee: str = ""
    restocking_fee_percent: dict[str, str] = field(default_factory=dict)
    currency: str = ""  # the order's presentment currency, the fee's
    exchanges: dict[str, int] = field(default_factory=dict)  # wanted variant SKU -> units: exchange line items
    refused: list[str] = field(default_factory=list)  # final-sale items not on the return: on the order's link, for CX


@dataclass
class ShopifyReturnRef:
    return_id: str
    name: str
    rfo_id: str
    rfo_lines: dict[str, str] = field(default_factory=dict)  # fulfillment line item id -> RFO line id
    adopted: bool = False
    return_lines: dict[str, str] = field(default_factory=dict)  # fulfillment line item id -> return line item id
    no_variant: list[str] = field(default_factory=list)  # wanted SKUs Shopify has no variant for: no exchange line


@dataclass
class TrackingInput:
    shop: ShopRef
    return_id: str
    rfo_id: str
    number: str
    url: str | None = None
    lines: dict[str, int] = field(default_factory=dict)  # RFO line id -> quantity in this parcel; {}: all
    repeat: bool = False  # an earlier call of this step may have written: look in Shopify before writing


@dataclass
class OrderStatusInput:
    shop: ShopRef
    order_id: str
    rebound_return_id: str
    state: str
    return_id: str | None = None
    tracking_number: str | None = None
    refund_id: str | None = None
    refused: list[str] = field(default_factory=list)  # final-sale items not taken back ("SKU: why")


ShopifyDisposition = Literal["RESTOCKED", "NOT_RESTOCKED", "PROCESSING_REQUIRED", "MISSING"]
RefundStatus = Literal["issued", "already_issued", "preempted", "not_found", "verified", "nothing_to_refund", "skipped"]


@dataclass
class Disposal:
    rfo_line_id: str
    quantity: int
    disposition: ShopifyDisposition  # Shopify's ReverseFulfillmentOrderDispositionType
    location_id: str | None = None


@dataclass
class DisposeInput:
    shop: ShopRef
    return_id: str
    disposals: list[Disposal]
    repeat: bool = False  # an earlier call of this step may have written: look in Shopify before writing


@dataclass
class DisposeResult:
    applied: list[Disposal] = field(default_factory=list)
    already_done: list[Disposal] = field(default_factory=list)


@dataclass
class IssueRefundInput:
    shop: ShopRef
    rebound_return_id: str
    order_id: str
    plan: RefundPlan  # the engine's own estimate, from the order's prices
    idempotency_key: str
    registered_at: str
    # What the mapping refunds (lines, quantities, percentages, fault) and its rules: the activity asks Shopify's
    # suggestedRefund what those lines are worth with tax and discounts, in presentment money, and prices them.
    lines: list[RefundLineInput] = field(default_factory=list)
    rules: RefundRules | None = None
    part: str = ""  # acting per parcel, a later round's parcels: a refund of its own, told apart by them
    order: OrderSnapshot | None = None  # the order as validate_order read it (none: read it again)


@dataclass
class ExchangeRequest:
    """Units of one returned order line the customer wants as another variant."""

    line_item_id: str
    sku: str  # returned
    wanted_sku: str
    quantity: int


@dataclass
class ExchangeResult:
    """What came of one exchange wish when the return was processed."""

    sku: str
    wanted_sku: str
    quantity: int
    state: Literal["released", "awaiting_payment", "refunded_instead"]
    detail: str = ""  # why refunded instead; what is owed
    fulfillment_order_id: str | None = None


@dataclass
class ExchangePaymentInput:
    shop: ShopRef
    order_id: str
    wanted_skus: list[str]


@dataclass
class ExchangePaymentStatus:
    awaiting: list[str] = field(default_factory=list)  # exchange fulfillment orders held AWAITING_PAYMENT
    fulfillment_orders: list[str] = field(default_factory=list)  # every exchange fulfillment order found


@dataclass
class ProcessReturnInput:
    """Settle a Shopify return in one call (returnProcess): the lines the refund covers, the refund, shipping."""

    refund: IssueRefundInput  # what is refunded and how (the plan, its lines, the mapping's rules, the order)
    return_id: str
    refund_shipping: bool = False  # the order's shipping goes back too (the mapping's rule)
    return_lines: dict[str, str] = field(default_factory=dict)  # fulfillment line item -> return line (none: read)
    repeat: bool = False  # an earlier call may have processed: Shopify's record is read before writing
    # Units to exchange rather than refund, released in the same call: their order line item is in `refund.lines`
    # (so a unit whose exchange cannot happen is refunded instead); the rules say what dearer and out of stock do.
    exchanges: list[ExchangeRequest] = field(default_factory=list)
    exchange_rules: ExchangeRules | None = None

    @property
    def shop(self) -> ShopRef:
        return self.refund.shop

    @property
    def rebound_return_id(self) -> str:
        return self.refund.rebound_return_id

    def covered(self) -> dict[str, int]:
        """The order's line items and units the refund covers (the mapping refunds something of each)."""
        units: dict[str, int] = {}
        for line in self.refund.lines:
            if line.quantity > 0 and Decimal(line.refund_percent) > 0:
                units[line.line_item_id] = units.get(line.line_item_id, 0) + line.quantity
        return units


@dataclass
class RefundTender:
    """Part of a refund going back to one payment."""

    gateway: str
    amount: str
    parent_id: str | None = None


@dataclass
class RefundOutcome:
    status: RefundStatus
    refund_id: str | None = None
    amount: str = "0"
    detail: str = ""
    currency: str = ""  # the amount's (the order's presentment currency)
    tenders: list[RefundTender] = field(default_factory=list)
    plan: RefundPlan | None = None  # the plan as priced by Shopify's suggestedRefund, when the engine refunded
    exchanges: list[ExchangeResult] = field(default_factory=list)  # the exchanges processing settled
    owed: str = "0"  # what the customer owes for a dearer exchange (Shopify holds its fulfillment order until paid)


@dataclass
class ReturnRefInput:
    shop: ShopRef
    return_id: str


@dataclass
class BonusInput:
    shop: ShopRef
    rebound_return_id: str
    order_id: str
    customer_id: str | None
    amount: str
    currency: str
    not_before: str = "1970-01-01T00:00:00+00:00"  # a bonus credit of this amount since then is ours
    part: str = ""  # a later parcel round's bonus: recorded apart from the first's


@dataclass
class BonusOutcome:
    status: Literal["credited", "already_credited"]
    transaction_id: str | None = None
    amount: str = "0"


@dataclass
class OrderTagInput:
    shop: ShopRef
    order_id: str
    tag: str


@dataclass
class OrderNoteInput:
    """One line for the order's note; `marker` (the Rebound id and the step) makes the append happen once."""

    shop: ShopRef
    order_id: str
    marker: str
    text: str


@dataclass
class NotifyInput:
    """A message about a return; the URL is read by the worker from `url_env`, never carried in history."""

    url_env: str
    format: str  # json | slack
    message: str
    facts: dict[str, str] = field(default_factory=dict)
