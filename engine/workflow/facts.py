"""What a return knows about itself, declared once for the interpreter, its steps and its operator overrides
(each a part of the one workflow class), with the helpers they share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import BonusOutcome, OrderSnapshot, RefundOutcome, ShopifyReturnRef, ShopRef
    from engine.definitions.flow import FlowDef
    from engine.definitions.mapping import MappingDef
    from engine.events import ReturnEvent
    from engine.money import show
    from engine.refunds import RefundPlan
    from engine.workflow.messages import (
        AuditEntry,
        AuditKind,
        ItemStatus,
        OperatorAction,
        ParcelStatus,
        ReturnStart,
        ReturnStatus,
    )

NOT_STARTED = "new"  # before the first event: no state of the flow yet (flows may not name a state so)


class ReturnFacts:
    start: ReturnStart
    flow: FlowDef
    mapping: MappingDef
    shop: ShopRef
    state: str
    state_complete: bool
    state_entered_at: datetime
    target_rank: int
    pending_terminal: str | None
    inbox: list[ReturnEvent]
    seen_events: set[str]
    audit: list[AuditEntry]
    steps_done: list[str]
    hold_reason: str | None
    sla_reason: str | None
    sla_breached_state: str | None
    wake: bool
    order_name: str
    registered_at: str | None
    items: dict[str, ItemStatus]
    graded: bool
    order: OrderSnapshot | None
    shopify_return: ShopifyReturnRef | None
    tracking_number: str | None
    tracking_url: str | None
    refund_plan: RefundPlan | None
    refund: RefundOutcome | None
    bonus: BonusOutcome | None
    restocked: dict[str, int]
    finished_at: datetime | None
    forced_refund: OperatorAction | None
    overridden_skus: set[str]
    operator_events: int
    budget_waits: int
    details_stale: bool
    called_activities: set[str]  # activities this return has called: a later call may find its writes
    mapping_context: dict[str, Any]
    parcels: dict[str, ParcelStatus]  # by tracking number, when Rebound lists several
    parcel_seen_rank: int  # the furthest milestone any parcel's events imply (-1: none)
    parcel_overdue: str | None  # the tracking number of a parcel flagged late
    parcel_round: int  # acting per parcel: 0, then one more per late parcel
    settled_items: set[str]  # item ids a finished round has restocked and refunded
    refunded_items: set[str]  # item ids a refund of ours covers
    refunds: list[RefundOutcome]  # every refund of ours, one per round

    def init_facts(self, start: ReturnStart) -> None:
        self.start = start
        self.flow = start.flow
        self.mapping = start.mapping
        self.shop = ShopRef(start.brand, self.mapping.shop_domain, self.mapping.api_version)
        self.state = NOT_STARTED
        self.state_complete = True
        self.state_entered_at = workflow.now()
        self.target_rank = -1
        self.pending_terminal = None
        self.inbox = []
        self.seen_events = set()
        self.audit = []
        self.steps_done = []
        self.hold_reason = None
        self.sla_reason = None
        self.sla_breached_state = None
        self.wake = False
        self.order_name = ""
        self.registered_at = None
        self.items = {}
        self.graded = False
        self.order = None
        self.shopify_return = None
        self.tracking_number = None
        self.tracking_url = None
        self.refund_plan = None
        self.refund = None
        self.bonus = None
        self.restocked = {}
        self.finished_at = None
        self.forced_refund = None
        self.overridden_skus = set()
        self.operator_events = 0
        self.budget_waits = 0
        self.details_stale = False
        self.called_activities = set()
        self.mapping_context = _as_dict(self.mapping)
        self.parcels = {}
        self.parcel_seen_rank = -1
        self.parcel_overdue = None
        self.parcel_round = 0
        self.settled_items = set()
        self.refunded_items = set()
        self.refunds = []

    @property
    def needs_attention(self) -> bool:
        return self.hold_reason is not None or self.sla_reason is not None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def expression_context(self) -> dict[str, Any]:
        """What `when:` and `on_reaching:` read (engine.definitions.expressions.RETURN_FACTS)."""
        facts = {
            "state": self.state,
            "graded": self.graded,
            "refunded": self.refund is not None,
            "items": sum(item.quantity for item in self.items.values()),
            "order_name": self.order_name,
        }
        return {"mapping": self.mapping_context, "return": facts}

    def template_facts(self) -> dict[str, str]:
        """What a step's template may say (engine.definitions.catalog.TEMPLATE_FIELDS); no personal data."""
        currency = self.order.currency if self.order else self.mapping.currency
        return {
            "brand": self.start.brand,
            "rebound_return_id": self.start.rebound_return_id,
            "order_name": self.order_name,
            "state": self.state,
            "flow": f"{self.flow.name}@{self.flow.version}",
            "items": str(sum(item.quantity for item in self.items.values())),
            "skus": ", ".join(sorted({item.sku for item in self.items.values()})),
            "refund": show(self.refund.amount, currency) if self.refund and self.refund.refund_id else "none",
            "shopify_return": self.shopify_return.name if self.shopify_return else "none",
        }

    def _log(self, kind: AuditKind, detail: str, actor: str = "engine") -> None:
        self.audit.append(AuditEntry(workflow.now().isoformat(), kind, detail, actor))
        self.details_stale = True  # the UI's details are rebuilt once, before the workflow next waits

    def _flush_details(self) -> None:
        """Rebuild the UI's Current Details if anything was logged since: once per wait, not once per log line
        (the Markdown is built from the whole status)."""
        if self.details_stale:
            self.details_stale = False
            self._show()

    def current_status(self) -> ReturnStatus:
        return ReturnStatus(
            brand=self.start.brand,
            rebound_return_id=self.start.rebound_return_id,
            order_name=self.order_name,
            state=self.state,
            needs_attention=self.needs_attention,
            attention_reason=self.hold_reason or self.sla_reason,
            flow=self.flow.ref,
            mapping_version=self.mapping.version,
            items=list(self.items.values()),
            order=self.order,
            shopify_return=self.shopify_return,
            tracking_number=self.tracking_number,
            refund_plan=self.refund_plan,
            refund=self.refund,
            bonus=self.bonus,
            restocked=dict(self.restocked),
            steps_done=list(self.steps_done),
            audit=list(self.audit),
            finished=self.finished,
            budget_waits=self.budget_waits,
            parcels=list(self.parcels.values()),
            refunds=list(self.refunds),
        )

    # Provided by the other parts of the workflow class.
    def _upsert(self) -> None:
        raise NotImplementedError

    def _show(self) -> None:
        raise NotImplementedError

    def _enter_hold(self, reason: str) -> None:
        raise NotImplementedError

    def _transition(self, state: str) -> None:
        raise NotImplementedError


def _as_dict(mapping: MappingDef) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(mapping)
