"""The first workflow's state, declared once for its parts (core, overrides, steps)."""

from datetime import datetime
from typing import Any

from engine.workflow.legacy.definitions_v1 import FlowDef, MappingDef, ReturnStart
from engine.workflow.legacy.types_v1 import (
    AuditEntry,
    AuditKind,
    BonusOutcome,
    ItemStatus,
    OperatorAction,
    OrderSnapshot,
    RefundOutcome,
    RefundPlan,
    ReturnEvent,
    ShopifyReturnRef,
    ShopRef,
)


class LegacyFacts:
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
    finished_at: Any
    forced_refund: OperatorAction | None
    overridden_skus: set[str]
    operator_events: int
    budget_waits: int

    @property
    def needs_attention(self) -> bool:
        return self.hold_reason is not None or self.sla_reason is not None

    def _log(self, kind: AuditKind, detail: str, actor: str = "engine") -> None:
        raise NotImplementedError

    def _upsert(self) -> None:
        raise NotImplementedError

    def _enter_hold(self, reason: str) -> None:
        raise NotImplementedError

    def _transition(self, state: str) -> None:
        raise NotImplementedError

    async def _step_issue_refund(self) -> None:
        raise NotImplementedError
