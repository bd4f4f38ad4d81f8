"""Drift monitor data: the three snapshots and the findings. Plain dataclasses (times ISO 8601 strings, money
Decimal strings) so they cross Temporal unchanged; no I/O, so the reconciliation workflow can import them."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.definitions.mapping import EXCEPTION_TYPES as KINDS  # one list: the mapping's exception owners

# Canonical Rebound milestones in order: a later one implies the earlier ones.
MILESTONES = ("registered", "in_transit", "received", "inspected")


@dataclass
class ReboundItem:
    sku: str
    quantity: int
    grade: str | None = None


@dataclass
class ReboundReturn:
    """Rebound's view of one return (its pull API), its statuses mapped through the brand's mapping."""

    rebound_return_id: str
    brand: str
    order_name: str
    updated_at: str
    milestones: dict[str, str] = field(default_factory=dict)  # canonical kind -> first occurred_at
    graded_items: list[ReboundItem] = field(default_factory=list)  # from the inspection(s): one per parcel
    registered_items: list[ReboundItem] = field(default_factory=list)  # what the customer said they sent back

    def reached_at(self, milestone: str) -> str | None:
        """When Rebound first reported this milestone or any later one (None: not reached)."""
        if milestone not in MILESTONES:
            return self.milestones.get(milestone)
        later = MILESTONES[MILESTONES.index(milestone) :]
        times = [self.milestones[m] for m in later if m in self.milestones]
        return min(times) if times else None

    @property
    def last_event_at(self) -> str:
        return max(self.milestones.values(), default=self.updated_at)

    @property
    def status(self) -> str:
        if "cancelled" in self.milestones:
            return "cancelled"
        reached = [m for m in MILESTONES if m in self.milestones]
        return reached[-1] if reached else "unknown"


@dataclass
class ShopifyRefund:
    id: str
    note: str
    created_at: str
    amount: str
    currency: str = ""  # the order's presentment currency (the customer's), what refunds are made in
    return_id: str = ""  # the Shopify return whose processing made it ("": a refund beside any return)


@dataclass
class ShopifyReturn:
    id: str
    name: str
    status: str
    created_at: str | None = None
    closed_at: str | None = None
    processed: dict[str, int] | None = None  # order line item id -> units processed (None: not read)
    # The Rebound return its lines' notes name (their marker; "": none, or not read because a link names it)
    rebound_return_id: str = ""


@dataclass
class ShopifyOrder:
    """An order the engine may have touched (it has returns, or the tag rebound-return), as the bulk operation
    reported it; its Shopify returns linked to Rebound returns by the order's link metafields, or by the marker
    their lines' notes carry (before the link is written, at `received`)."""

    id: str
    name: str
    tags: list[str] = field(default_factory=list)
    created_at: str | None = None
    refunds: list[ShopifyRefund] = field(default_factory=list)
    returns: list[ShopifyReturn] = field(default_factory=list)
    links: dict[str, dict[str, object]] = field(default_factory=dict)  # rebound id -> the link metafield's JSON

    def rebound_ids(self) -> set[str]:
        ids = set(self.links)
        ids.update(t.split(":", 1)[1] for t in self.tags if t.startswith("rebound:"))
        ids.update(r.rebound_return_id for r in self.returns if r.rebound_return_id)
        return ids

    def linked_return_ids(self) -> set[str]:
        """The Shopify returns the order's link metafields name."""
        return {str(link.get("shopify_return_id")) for link in self.links.values() if link.get("shopify_return_id")}

    def return_of(self, rebound_return_id: str) -> str:
        """The Shopify return of a Rebound return: the one its link names, else the one its marker is on ("")."""
        linked = str((self.links.get(rebound_return_id) or {}).get("shopify_return_id") or "")
        marked = (r.id for r in self.returns if r.rebound_return_id == rebound_return_id)
        return linked or next(marked, "")

    def rebound_ids_of_return(self, return_id: str) -> list[str]:
        """The Rebound returns a Shopify return belongs to, by the links, else by its marker."""
        linked = [rid for rid, link in self.links.items() if str(link.get("shopify_return_id") or "") == return_id]
        marked = [r.rebound_return_id for r in self.returns if r.id == return_id and r.rebound_return_id]
        return linked or marked


@dataclass
class WorkflowReturn:
    """One return workflow, summarised from its `status` query (running) or its result (finished)."""

    workflow_id: str
    brand: str
    rebound_return_id: str
    run_status: str  # RUNNING | COMPLETED | FAILED | TERMINATED | ...
    state: str = ""
    order_name: str = ""
    needs_attention: bool = False
    attention_reason: str | None = None  # for people; the rules read hold_kind and hold_step
    hold_kind: str | None = None  # engine.workflow.messages.HoldKind: step_failed, sla, parcel, finance, ...
    hold_step: str | None = None  # the catalog step whose failure holds it
    ending: str | None = None  # in a terminal state of its flow: settled (stock, money) or unsettled (cancelled)
    refund_status: str | None = None
    refund_id: str | None = None
    refund_amount: str | None = None
    planned_refund: str | None = None
    shopify_return_id: str | None = None
    restocked: dict[str, int] = field(default_factory=dict)  # sku -> quantity made available
    sellable: dict[str, int] = field(default_factory=dict)  # sku -> quantity the mapping sends to stock
    dispositions_known: bool = False
    entered: dict[str, str] = field(default_factory=dict)  # state -> when the workflow entered it
    waiting_for_parcels: list[str] = field(default_factory=list)  # tracking numbers an all-parcels return awaits
    processed_units: dict[str, int] = field(default_factory=dict)  # line item -> units it refunded by processing
    refund_parts: int = 1  # refunds of ours it made (one per parcel when its brand refunds per parcel)
    # Exchanges its settlement did not release: wanted SKU -> requested (never processed) or awaiting_payment
    exchanges_unreleased: dict[str, str] = field(default_factory=dict)


@dataclass
class Finding:
    """One exception. `subject` is what it is about (a Rebound return id, or a Shopify refund id for a refund
    that belongs to no processed return); (brand, kind, subject) identifies it from run to run."""

    kind: str
    owner: str
    brand: str
    subject: str
    rebound_return_id: str
    order_name: str
    summary: str
    evidence: dict[str, str] = field(default_factory=dict)
    first_seen: str = ""
    last_seen: str = ""
    new: bool = True  # first seen in this run (alerted once, then only listed)

    @property
    def key(self) -> str:
        return f"{self.brand}|{self.kind}|{self.subject}"


def carry_forward(previous: list[Finding], current: list[Finding], now: str) -> tuple[list[Finding], list[Finding]]:
    """Keep each finding's first-seen time across runs; returns (open findings, findings resolved since)."""
    before = {f.key: f for f in previous}
    merged: list[Finding] = []
    for finding in current:
        seen = before.get(finding.key)
        finding.last_seen = now
        if seen is not None:
            finding.first_seen = seen.first_seen or now
            finding.new = False
        else:
            finding.first_seen = finding.first_seen or now
            finding.new = True
        merged.append(finding)
    open_keys = {f.key for f in merged}
    resolved = [f for f in previous if f.key not in open_keys]
    merged.sort(key=lambda f: (KINDS.index(f.kind) if f.kind in KINDS else 99, f.first_seen, f.subject))
    return merged, resolved
