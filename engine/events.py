"""Canonical events: what every Rebound push, pull or operator action becomes before it reaches a workflow."""

from dataclasses import dataclass, field

EVENT_KINDS = ("registered", "in_transit", "received", "inspected", "cancelled")


@dataclass
class EventItem:
    """One returned unit group. Quantities are ints, money stays out: prices come from Shopify."""

    item_id: str
    sku: str
    quantity: int
    reason: str = ""
    grade: str | None = None
    exchange_sku: str | None = None  # the customer wishes to exchange it for this variant (None: a refund)


@dataclass
class ParcelRef:
    """One parcel of a return order: its tracking and the Rebound items packed in it."""

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
    parcels: list[ParcelRef] = field(default_factory=list)  # when the return order has several
