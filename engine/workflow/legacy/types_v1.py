"""The messages of the first workflow, as they were when it was sealed: the canonical event it is signalled, the
inputs and results of the live Shopify activities it calls by name, its operators' update arguments and its `status`
query result. Copied from `engine.events`, `engine.refunds`, `engine.activities.messages` and
`engine.workflow.messages`, so the live ones can change shape without changing what a draining return sends or
reads; each field, default and order is as it was, since the JSON of these is in running returns' histories."""

from dataclasses import dataclass, field
from typing import Literal

from engine.workflow.legacy.definitions_v1 import RefundRules


class StepFailed(Exception):
    """A step could not complete; the return is held for a person, with this message as the reason."""


# ---------------------------------------------------------------- the canonical event (signal `event`)


@dataclass
class EventItem:
    item_id: str
    sku: str
    quantity: int
    reason: str = ""
    grade: str | None = None


@dataclass
class ParcelRef:
    tracking_number: str
    item_ids: list[str] = field(default_factory=list)
    tracking_url: str | None = None


@dataclass
class ReturnEvent:
    event_id: str
    kind: str
    brand: str
    rebound_return_id: str
    order_name: str
    occurred_at: str
    items: list[EventItem] = field(default_factory=list)
    tracking_number: str | None = None
    tracking_url: str | None = None
    location: str | None = None
    raw_status: str = ""
    source: str = "push"
    parcels: list[ParcelRef] = field(default_factory=list)


# ---------------------------------------------------------------- the refund plan


@dataclass
class RefundLineInput:
    line_item_id: str
    sku: str
    quantity: int
    unit_price: str
    refund_percent: str
    fault: str = "customer"


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
    total: str = "0"
    capped: bool = False
    method: str = "original_payment"
    store_credit_bonus: str = "0"


# ---------------------------------------------------------------- activity inputs and results


@dataclass
class ShopRef:
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
    transaction_id: str
    gateway: str
    amount: str
    refundable: str


@dataclass
class OrderSnapshot:
    order_id: str
    name: str
    currency: str
    processed_at: str
    sale_transaction_id: str | None
    gateway: str | None
    net_payment: str
    lines: list[OrderLine] = field(default_factory=list)
    customer_id: str | None = None
    shop_currency: str = ""
    taxes_included: bool = True
    payments: list[Payment] = field(default_factory=list)
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
    check_refundable: bool = True


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
    repeat: bool = False


@dataclass
class ShopifyReturnRef:
    return_id: str
    name: str
    rfo_id: str
    rfo_lines: dict[str, str] = field(default_factory=dict)
    adopted: bool = False


@dataclass
class TrackingInput:
    shop: ShopRef
    return_id: str
    rfo_id: str
    number: str
    url: str | None = None
    lines: dict[str, int] = field(default_factory=dict)
    repeat: bool = False


@dataclass
class OrderStatusInput:
    shop: ShopRef
    order_id: str
    rebound_return_id: str
    state: str
    return_id: str | None = None
    tracking_number: str | None = None
    refund_id: str | None = None


ShopifyDisposition = Literal["RESTOCKED", "NOT_RESTOCKED", "PROCESSING_REQUIRED", "MISSING"]
RefundStatus = Literal["issued", "already_issued", "preempted", "not_found", "verified", "nothing_to_refund", "skipped"]


@dataclass
class Disposal:
    rfo_line_id: str
    quantity: int
    disposition: ShopifyDisposition
    location_id: str | None = None


@dataclass
class DisposeInput:
    shop: ShopRef
    return_id: str
    disposals: list[Disposal]
    repeat: bool = False


@dataclass
class DisposeResult:
    applied: list[Disposal] = field(default_factory=list)
    already_done: list[Disposal] = field(default_factory=list)


@dataclass
class IssueRefundInput:
    shop: ShopRef
    rebound_return_id: str
    order_id: str
    plan: RefundPlan
    idempotency_key: str
    registered_at: str
    lines: list[RefundLineInput] = field(default_factory=list)
    rules: RefundRules | None = None
    part: str = ""
    order: OrderSnapshot | None = None


@dataclass
class RefundTender:
    gateway: str
    amount: str
    parent_id: str | None = None


@dataclass
class RefundOutcome:
    status: RefundStatus
    refund_id: str | None = None
    amount: str = "0"
    detail: str = ""
    currency: str = ""
    tenders: list[RefundTender] = field(default_factory=list)
    plan: RefundPlan | None = None


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
    not_before: str = "1970-01-01T00:00:00+00:00"
    part: str = ""


@dataclass
class BonusOutcome:
    status: Literal["credited", "already_credited"]
    transaction_id: str | None = None
    amount: str = "0"


# ---------------------------------------------------------------- operators' arguments, the `status` query


@dataclass
class OperatorAction:
    operator: str
    reason: str


@dataclass
class DispositionOverride:
    operator: str
    reason: str
    sku: str
    disposition: str
    location: str | None = None
    refund_percent: str | None = None


@dataclass
class OverrideResult:
    message: str
    state: str
    needs_attention: bool


AuditKind = Literal[
    "event", "duplicate", "transition", "step", "sla", "hold", "operator", "refused", "ignored", "parcel"
]
Disposition = Literal["restock", "not_restocked", "processing_required", "missing"]


@dataclass
class AuditEntry:
    at: str
    kind: AuditKind
    detail: str
    actor: str = "engine"


@dataclass
class ItemStatus:
    item_id: str
    sku: str
    quantity: int
    reason: str
    grade: str | None = None
    disposition: Disposition | None = None
    location_id: str | None = None
    refund_percent: str | None = None


@dataclass
class ParcelStatus:
    tracking_number: str
    item_ids: list[str] = field(default_factory=list)
    tracking_url: str | None = None
    arrived_at: str | None = None
    attached: bool = False
    lost: bool = False
    round: int | None = None
    reached: int = -1


@dataclass
class ReturnStatus:
    brand: str
    rebound_return_id: str
    order_name: str
    state: str
    needs_attention: bool
    attention_reason: str | None
    flow: str
    mapping_version: str
    items: list[ItemStatus] = field(default_factory=list)
    order: OrderSnapshot | None = None
    shopify_return: ShopifyReturnRef | None = None
    tracking_number: str | None = None
    refund_plan: RefundPlan | None = None
    refund: RefundOutcome | None = None
    bonus: BonusOutcome | None = None
    restocked: dict[str, int] = field(default_factory=dict)
    steps_done: list[str] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    finished: bool = False
    budget_waits: int = 0
    parcels: list[ParcelStatus] = field(default_factory=list)  # always empty here: one parcel
    refunds: list[RefundOutcome] = field(default_factory=list)  # always empty here: one refund
