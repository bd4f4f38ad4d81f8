"""Workflow input, signals and query results."""

from dataclasses import dataclass, field
from typing import Literal

from engine.activities.messages import BonusOutcome, OrderSnapshot, RefundOutcome, ShopifyReturnRef
from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.refunds import RefundPlan


def workflow_id(brand: str, rebound_return_id: str) -> str:
    """One workflow per Rebound return order, stable across pushes, pulls and operators."""
    return f"return-{brand}-{rebound_return_id}"


@dataclass
class ReturnStart:
    """Pinned at start: the flow and mapping (by value and hash) this return runs on to the end."""

    brand: str
    rebound_return_id: str
    flow: FlowDef
    mapping: MappingDef
    activity_timeout_seconds: int = 30
    max_activity_attempts: int = 8
    search_attributes: bool = True  # the time-skipping test server has no custom search attributes
    # How the return shows itself and keeps its SLAs (each changes the workflow's commands, so it is pinned at start:
    # a running return keeps its own). 0: an upsert per state change before each command, a durable timer per SLA
    # wait. 1: search attributes given at start, one upsert per rest of what changed, and (with search attributes)
    # the SLA's due time in SlaDueAt, where the SLA sweep finds it: no timer per state.
    visibility: int = 0

    @property
    def workflow_id(self) -> str:
        return workflow_id(self.brand, self.rebound_return_id)


@dataclass
class OperatorAction:
    operator: str
    reason: str


@dataclass
class DispositionOverride:
    """Set one SKU's disposition by hand (before restock reaches Shopify), e.g. after a re-inspection."""

    operator: str
    reason: str
    sku: str
    disposition: str  # restock | not_restocked | processing_required | missing
    location: str | None = None  # a location key of the return's mapping, required for restock
    refund_percent: str | None = None  # default: keep the grade's percent


@dataclass
class ParcelLost:
    """Give up on a parcel of a multi-parcel return (the carrier lost it): its items count as missing and the
    return goes on with what arrived."""

    operator: str
    reason: str
    tracking_number: str


@dataclass
class OverrideResult:
    message: str
    state: str
    needs_attention: bool


HoldKind = Literal["step_failed", "interpreter", "operator", "sla", "parcel", "finance", "rebound", "cx"]


@dataclass
class Hold:
    """Why a return needs a person, as a value: overrides, drift and the UI read `kind` and `step`; `detail` is
    the sentence people read. A blocking hold stops the return until an override; the others flag it while it
    goes on (a missed SLA, a late parcel, a refund someone made first, an event Rebound should not have sent)."""

    kind: HoldKind
    detail: str
    step: str | None = None  # the catalog step that failed (step_failed)
    blocking: bool = True


AuditKind = Literal[
    "event", "duplicate", "transition", "step", "sla", "hold", "operator", "refused", "ignored", "parcel"
]
Disposition = Literal["restock", "not_restocked", "processing_required", "missing"]
# An exchange wished: opened on the Shopify return, released by processing it (awaiting the customer's payment when
# the wanted variant is dearer), or settled as a refund instead (not offered, dearer and the brand refunds instead,
# out of stock, the item not refunded in full at inspection).
ExchangeState = Literal["requested", "released", "awaiting_payment", "refunded_instead"]


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
    exchange_sku: str | None = None  # the variant the customer wants instead (None: settled as a refund)
    exchange: ExchangeState | None = None  # where that exchange stands (None: no exchange wished)


@dataclass
class ParcelStatus:
    """One parcel of a multi-parcel return: its tracking, its items, when it arrived, which round settled it."""

    tracking_number: str
    item_ids: list[str] = field(default_factory=list)
    tracking_url: str | None = None
    arrived_at: str | None = None  # Rebound's timestamp of the arrival scan
    attached: bool = False  # its tracking is on a Shopify reverse delivery
    lost: bool = False  # declared lost by an operator: its items count as missing
    round: int | None = None  # acting per parcel: the round that settled it (0 the first)
    reached: int = -1  # the furthest milestone (its rank in the flow) this parcel's own events imply


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
    refused: dict[str, str] = field(default_factory=dict)  # final-sale items not taken back: item id -> "SKU: why"
    order: OrderSnapshot | None = None
    shopify_return: ShopifyReturnRef | None = None
    tracking_number: str | None = None
    refund_plan: RefundPlan | None = None
    refund: RefundOutcome | None = None
    bonus: BonusOutcome | None = None
    restocked: dict[str, int] = field(default_factory=dict)  # "sku@location" -> quantity made available
    steps_done: list[str] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    finished: bool = False
    budget_waits: int = 0  # times a Shopify step handed back its attempt to wait for the shop's budget
    parcels: list[ParcelStatus] = field(default_factory=list)  # when the return order has several
    refunds: list[RefundOutcome] = field(default_factory=list)  # each parcel's refund, when acting per parcel
    hold: Hold | None = None  # what needs a person: the blocking hold first, else the flag (None: nothing)
    ending: Literal["settled", "unsettled"] | None = None  # in a terminal state: does it settle stock or money?
