"""Everything a return knows, in one record the workflow owns. The interpreter, the steps, the parcel rules and the
overrides read and change this record and nothing else; the `status` query and the UI's current details are
derived from it. Workflow code: `log` reads workflow.now(), so the record is changed inside a workflow only."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

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
        Hold,
        HoldKind,
        ItemStatus,
        ParcelStatus,
        ReturnStart,
        ReturnStatus,
    )

NOT_STARTED = "new"  # before the first event: no state of the flow yet (flows may not name a state so)


@dataclass(frozen=True)
class Visible:
    """What the search attributes show at one moment; each is published as one upsert, in order."""

    state: str
    needs_attention: bool
    order_name: str


@dataclass
class ReturnState:
    # -- pinned at start: the flow and mapping this return runs on to the end
    start: ReturnStart
    flow: FlowDef
    mapping: MappingDef
    shop: ShopRef
    mapping_context: dict[str, Any]
    # -- where the return is in its flow
    state: str = NOT_STARTED
    state_complete: bool = True  # the state's steps have all run
    state_entered_at: datetime | None = None
    target_rank: int = -1  # the furthest milestone the events imply
    pending_terminal: str | None = None
    inbox: list[ReturnEvent] = field(default_factory=list)
    seen_events: set[str] = field(default_factory=set)
    steps_done: list[str] = field(default_factory=list)
    finished_at: datetime | None = None
    wake: bool = False  # an override asks the loop to look again
    # -- what needs a person: a blocking hold stops the steps; a flag does not
    hold: Hold | None = None
    flag: Hold | None = None
    sla_breached_state: str | None = None
    # -- what Rebound and Shopify said
    order_name: str = ""
    registered_at: str | None = None
    items: dict[str, ItemStatus] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # final-sale items (by item id): "SKU: why", never items
    graded: bool = False
    order: OrderSnapshot | None = None
    shopify_return: ShopifyReturnRef | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    # -- money
    refund_plan: RefundPlan | None = None
    refund: RefundOutcome | None = None
    refunds: list[RefundOutcome] = field(default_factory=list)  # every refund of ours, one per round
    refunded_items: set[str] = field(default_factory=set)  # item ids a refund of ours covers
    bonus: BonusOutcome | None = None
    forced_step: str | None = None  # a step an operator asked to run at once (force_refund)
    verify_deadline: datetime | None = None  # verify_refund looks for Rebound's app refund until then
    verify_pause: float = 30.0  # seconds before verify_refund looks again
    exchange_deadline: datetime | None = None  # await_exchange_payment looks for the customer's payment until then
    exchange_pause: float = 5.0  # seconds before it looks again
    # -- stock
    restocked: dict[str, int] = field(default_factory=dict)
    overridden_skus: set[str] = field(default_factory=set)
    settled_items: set[str] = field(default_factory=set)  # item ids a finished round has restocked and refunded
    # -- parcels, when Rebound lists several (by tracking number)
    parcels: dict[str, ParcelStatus] = field(default_factory=dict)
    parcel_seen_rank: int = -1  # the furthest milestone any parcel's events imply (-1: none)
    parcel_overdue: str | None = None  # the tracking number of a parcel flagged late
    parcel_round: int = 0  # acting per parcel: 0, then one more per late parcel
    # -- bookkeeping
    audit: list[AuditEntry] = field(default_factory=list)
    operator_events: int = 0
    budget_waits: int = 0
    called_activities: set[str] = field(default_factory=set)  # a later call may find its earlier writes
    details_stale: bool = False  # the UI's details are rebuilt once, before the workflow next waits
    to_publish: list[Visible] = field(default_factory=list)  # search attribute upserts not yet issued

    @classmethod
    def begin(cls, start: ReturnStart) -> ReturnState:
        mapping = start.mapping
        return cls(
            start=start,
            flow=start.flow,
            mapping=mapping,
            shop=ShopRef(start.brand, mapping.shop_domain, mapping.api_version),
            mapping_context=dataclasses.asdict(mapping),
            state_entered_at=workflow.now(),
        )

    # ---------------------------------------------------------------- attention

    @property
    def needs_attention(self) -> bool:
        return self.hold is not None or self.flag is not None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def hold_for(self, kind: HoldKind, detail: str, step: str | None = None) -> None:
        """Stop the return's steps until a person overrides."""
        self.hold = Hold(kind, detail, step)
        self.log("hold", f"needs_attention in {self.state}: {detail}")
        self.publish()

    def flag_for(self, kind: HoldKind, detail: str) -> None:
        """Ask a person to look while the return goes on."""
        self.flag = Hold(kind, detail, blocking=False)
        self.publish()

    # ---------------------------------------------------------------- records of what happened

    def log(self, kind: AuditKind, detail: str, actor: str = "engine") -> None:
        self.audit.append(AuditEntry(workflow.now().isoformat(), kind, detail, actor))
        self.details_stale = True

    def publish(self) -> None:
        """The search attributes as they are now, to be upserted before the workflow's next command."""
        self.to_publish.append(Visible(self.state, self.needs_attention, self.order_name))

    # ---------------------------------------------------------------- what expressions and templates read

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

    # ---------------------------------------------------------------- the status query

    def ending(self) -> Literal["settled", "unsettled"] | None:
        if not self.flow.is_terminal(self.state):
            return None
        return "settled" if self.flow.settles(self.state) else "unsettled"

    def status(self) -> ReturnStatus:
        attention = self.hold or self.flag
        return ReturnStatus(
            brand=self.start.brand,
            rebound_return_id=self.start.rebound_return_id,
            order_name=self.order_name,
            state=self.state,
            needs_attention=self.needs_attention,
            attention_reason=attention.detail if attention else None,
            flow=self.flow.ref,
            mapping_version=self.mapping.version,
            items=list(self.items.values()),
            refused=dict(self.refused),
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
            hold=attention,
            ending=self.ending(),
        )
