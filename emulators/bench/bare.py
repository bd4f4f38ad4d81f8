"""The engine's own ceiling: a hand-written return workflow with no interpreter, no flow, no audit trail, summaries,
search attributes or current details. It takes the same four events and calls the same activities with the same
inputs as the standard flow (validate, create, tracking, status at the hub, process with the refund, dispose,
close), so the gap between it and the engine is what the engine's own machinery costs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import (
        CreateReturnInput,
        Disposal,
        DisposeInput,
        DisposeResult,
        IssueRefundInput,
        OrderStatusInput,
        ProcessReturnInput,
        RefundOutcome,
        ReturnLineRequest,
        ReturnRefInput,
        ShopifyDisposition,
        ShopifyReturnRef,
        ShopRef,
        TrackingInput,
        ValidateOrderInput,
        ValidateOrderResult,
    )
    from engine.definitions.mapping import MappingDef
    from engine.events import ReturnEvent
    from engine.outcomes import item_facts, item_outcome, refund_for, refund_lines
    from engine.workflow.messages import ItemStatus


@dataclass
class BareStart:
    brand: str
    rebound_return_id: str
    mapping: MappingDef
    shop_queue: str


@dataclass
class BareResult:
    refund: RefundOutcome | None = None
    steps: list[str] = field(default_factory=list)


@workflow.defn(name="BareReturn")
class BareReturn:
    @workflow.init
    def __init__(self, start: BareStart) -> None:
        self.events: list[ReturnEvent] = []

    @workflow.signal(name="event")
    def on_event(self, event: ReturnEvent) -> None:
        self.events.append(event)

    async def _call(self, start: BareStart, name: str, arg: object, result_type: type | None = None) -> object:
        return await workflow.execute_activity(
            name, arg, result_type=result_type, task_queue=start.shop_queue,
            start_to_close_timeout=timedelta(seconds=30), retry_policy=RetryPolicy(maximum_attempts=8),
        )  # fmt: skip

    @workflow.run
    async def run(self, start: BareStart) -> BareResult:
        m = start.mapping
        shop = ShopRef(start.brand, m.shop_domain, m.api_version)
        await workflow.wait_condition(lambda: len(self.events) >= 1)
        registered = self.events[0]
        items = registered.items
        valid = await self._call(start, "validate_order", ValidateOrderInput(
            shop, start.rebound_return_id, registered.order_name, items, m.return_window_days,
            registered.occurred_at), ValidateOrderResult)  # fmt: skip
        assert isinstance(valid, ValidateOrderResult) and valid.order is not None
        order = valid.order
        lines = []
        for item in items:
            line = order.line_for_sku(item.sku)
            assert line is not None
            reason = m.reason_for(item.reason).shopify
            note = f"Rebound {start.rebound_return_id}"
            lines.append(ReturnLineRequest(line.fulfillment_line_item_id, item.quantity, reason, note))
        create = CreateReturnInput(shop, start.rebound_return_id, order.order_id, lines, registered.occurred_at)
        ref = await self._call(start, "create_return", create, ShopifyReturnRef)
        assert isinstance(ref, ShopifyReturnRef)
        await workflow.wait_condition(lambda: len(self.events) >= 2)
        tracking = self.events[1].tracking_number or "none"
        await self._call(start, "attach_tracking", TrackingInput(shop, ref.return_id, ref.rfo_id, tracking))
        await workflow.wait_condition(lambda: len(self.events) >= 3)
        await self._call(start, "sync_order_status", OrderStatusInput(
            shop, order.order_id, start.rebound_return_id, "received", ref.return_id, tracking))  # fmt: skip
        await workflow.wait_condition(lambda: len(self.events) >= 4)
        graded = [ItemStatus(i.item_id, i.sku, i.quantity, i.reason, i.grade) for i in self.events[3].items]
        disposals = []
        for unit in graded:
            line = order.line_for_sku(unit.sku)
            assert line is not None
            outcome = item_outcome(m, unit.grade, unit.reason, graded=True, sku=unit.sku)
            kind: ShopifyDisposition = "RESTOCKED" if outcome.disposition == "restock" else "NOT_RESTOCKED"
            disposals.append(Disposal(ref.rfo_lines[line.fulfillment_line_item_id], unit.quantity, kind,
                                      outcome.location_id))  # fmt: skip
        facts = item_facts(graded, order)
        plan = refund_for(m, facts, currency=order.currency, graded=True, cap=order.net_payment)
        request = IssueRefundInput(shop, start.rebound_return_id, order.order_id, plan,
                                   f"bare-{start.rebound_return_id}", registered.occurred_at,
                                   refund_lines(m, facts, graded=True), m.refund, "", order)  # fmt: skip
        # Settled as the engine settles it: Shopify's returnProcess, the refund in the same call.
        process = ProcessReturnInput(request, ref.return_id, return_lines=dict(ref.return_lines))
        refund = await self._call(start, "process_return", process, RefundOutcome)
        assert isinstance(refund, RefundOutcome)
        dispose = await self._call(start, "dispose_items", DisposeInput(shop, ref.return_id, disposals), DisposeResult)
        assert isinstance(dispose, DisposeResult)
        await self._call(start, "close_return", ReturnRefInput(shop, ref.return_id))
        return BareResult(refund)
