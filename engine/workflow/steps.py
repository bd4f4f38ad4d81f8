"""What each catalog step does inside the workflow: build the activity's input from the return's facts, call it
on the shop's queue, record what came back. The interpreter finds a step's body here by the catalog's name; the
Shopify work itself is in the activities (engine.activities)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import (
        CreateReturnInput,
        Disposal,
        DisposeInput,
        DisposeResult,
        NotifyInput,
        OrderNoteInput,
        OrderStatusInput,
        OrderTagInput,
        ReturnLineRequest,
        ReturnRefInput,
        ShopifyDisposition,
        ShopifyReturnRef,
        TrackingInput,
        ValidateOrderInput,
        ValidateOrderResult,
    )
    from engine.definitions.catalog import CATALOG, StepSpec, render_template
    from engine.definitions.flow import StepCall
    from engine.errors import StepFailed
    from engine.events import EventItem
    from engine.outcomes import item_outcome
    from engine.shopify.plans import shop_task_queue
    from engine.workflow.parcels import ParcelTracking

SHOPIFY_DISPOSITION: dict[str, ShopifyDisposition] = {
    "restock": "RESTOCKED",
    "not_restocked": "NOT_RESTOCKED",
    "processing_required": "PROCESSING_REQUIRED",
    "missing": "MISSING",
}
NOT_SHOPIFY = {"notify"}  # activities that do not call Shopify run on the return's own queue
Body = Callable[[StepCall], Awaitable[str | None]]


class StepBodies(ParcelTracking):
    def step_body(self, name: str) -> Body:
        body: Body = getattr(self, f"step_{name}")
        return body

    async def _call(self, spec: StepSpec, arg: Any, result_type: type | None = None, summary: str = "") -> Any:
        """Run the step's activity. Waiting for the shop's cost budget is not a failure: the activity gives up its
        attempt (ShopifyThrottled, with how long to wait) and the workflow sleeps on a durable timer, so a backlog
        drains at the bucket's rate instead of exhausting retries into needs_attention."""
        assert spec.activity is not None
        own_queue = workflow.info().task_queue
        queue = own_queue if spec.activity in NOT_SHOPIFY else shop_task_queue(own_queue, self.shop.domain)
        # Called before (a retry of the step, another parcel, another round): it may have written already, so the
        # activity looks in Shopify first. A first call writes without looking (a server retry looks again too).
        repeat = spec.activity in self.called_activities
        self.called_activities.add(spec.activity)
        self._flush_details()
        while True:
            if repeat and hasattr(arg, "repeat"):
                arg = dataclasses.replace(arg, repeat=True)
            try:
                return await workflow.execute_activity(
                    spec.activity,
                    arg,
                    result_type=result_type,
                    task_queue=queue,
                    summary=summary or spec.activity,  # the UI's line for this call (no customer data)
                    priority=Priority(priority_key=spec.priority),
                    start_to_close_timeout=timedelta(seconds=self.start.activity_timeout_seconds),
                    retry_policy=RetryPolicy(
                        initial_interval=timedelta(seconds=1),
                        backoff_coefficient=2.0,
                        maximum_interval=timedelta(seconds=60),
                        maximum_attempts=self.start.max_activity_attempts,
                        non_retryable_error_types=["ShopifyUserError", "ShopifyRejected", "ShopifyThrottled"],
                    ),
                )
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == "ShopifyThrottled":
                    self.budget_waits += 1
                    repeat = True  # the attempt may have written before it gave up waiting for the budget
                    await workflow.sleep(cause.next_retry_delay or timedelta(seconds=5))
                    continue
                message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
                raise StepFailed(f"{spec.activity} failed: {message}") from None

    def _need_order(self, step: str) -> Any:
        if self.order is None:
            raise StepFailed(f"{step}: the order is not known (validate_order has not run)")
        return self.order

    def _need_return(self, step: str) -> ShopifyReturnRef:
        if self.shopify_return is None:
            raise StepFailed(f"{step}: there is no Shopify return (create_shopify_return has not run)")
        return self.shopify_return

    # ---------------------------------------------------------------- order and return

    async def step_validate_order(self, call: StepCall) -> str | None:
        result: ValidateOrderResult = await self._call(
            CATALOG["validate_order"],
            ValidateOrderInput(
                shop=self.shop,
                rebound_return_id=self.start.rebound_return_id,
                order_name=self.order_name,
                items=[EventItem(i.item_id, i.sku, i.quantity, i.reason) for i in self.items.values()],
                return_window_days=self.mapping.return_window_days,
                registered_at=self.registered_at or workflow.now().isoformat(),
                check_refundable=self.mapping.refund.issuer == "engine",
            ),
            ValidateOrderResult,
            f"validate order {self.order_name}",
        )
        self.order = result.order
        if not result.valid:
            self._log("step", "validate_order: invalid: " + "; ".join(result.problems))
            return "invalid"
        self._log("step", f"validate_order: {self.order_name} ok")
        return None

    async def step_create_shopify_return(self, call: StepCall) -> str | None:
        order = self._need_order("create_shopify_return")
        quantities: dict[str, int] = {}
        reasons: dict[str, str] = {}
        for item in self.items.values():
            line = order.line_for_sku(item.sku)
            if line is None:
                raise StepFailed(f"create_shopify_return: {item.sku} is not on {order.name}")
            quantities[line.fulfillment_line_item_id] = quantities.get(line.fulfillment_line_item_id, 0) + item.quantity
            reasons.setdefault(line.fulfillment_line_item_id, item.reason)
        lines = [
            ReturnLineRequest(
                fulfillment_line_item_id=fli,
                quantity=qty,
                reason_handle=self.mapping.reason_for(reasons[fli]).shopify,
                note=f"Rebound {self.start.rebound_return_id}: {reasons[fli]}"[:255],
            )
            for fli, qty in quantities.items()
        ]
        requested_at = self.registered_at or workflow.now().isoformat()
        ref: ShopifyReturnRef = await self._call(
            CATALOG["create_shopify_return"],
            CreateReturnInput(self.shop, self.start.rebound_return_id, order.order_id, lines, requested_at),
            ShopifyReturnRef,
            f"returnCreate {sum(line.quantity for line in lines)} unit(s) on {order.name}",
        )
        self.shopify_return = ref
        self._log("step", f"create_shopify_return: {'adopted existing' if ref.adopted else 'created'} {ref.name}")
        self._upsert()
        return None

    async def step_attach_tracking(self, call: StepCall) -> str | None:
        ret = self._need_return("attach_tracking")
        if self.parcels:
            await self._attach_parcels(ret)
            return None
        if not self.tracking_number:
            self._log("step", "attach_tracking: no tracking number yet")
            return None
        await self._call(
            CATALOG["attach_tracking"],
            TrackingInput(self.shop, ret.return_id, ret.rfo_id, self.tracking_number, self.tracking_url),
            None,
            f"tracking {self.tracking_number}",
        )
        self._log("step", f"attach_tracking: {self.tracking_number}")
        return None

    async def _attach_parcels(self, ret: ShopifyReturnRef) -> None:
        """One reverse delivery per parcel, with the lines packed in it (all of them when Rebound did not say)."""
        order = self._need_order("attach_tracking")
        for parcel in self.parcels.values():
            if parcel.attached:
                continue
            lines: dict[str, int] = {}
            for item in self.items.values():
                line = order.line_for_sku(item.sku) if item.item_id in parcel.item_ids else None
                rfo_line = ret.rfo_lines.get(line.fulfillment_line_item_id) if line else None
                if rfo_line:
                    lines[rfo_line] = lines.get(rfo_line, 0) + item.quantity
            request = TrackingInput(self.shop, ret.return_id, ret.rfo_id, parcel.tracking_number, parcel.tracking_url,
                                    lines)  # fmt: skip
            await self._call(CATALOG["attach_tracking"], request, None, f"tracking {parcel.tracking_number}")
            parcel.attached = True
            self._log("step", f"attach_tracking: parcel {parcel.tracking_number} ({sum(lines.values())} unit(s))")

    async def step_sync_order_status(self, call: StepCall) -> str | None:
        if self.order is None:
            return None  # nothing to write on before the order is known (a return cancelled at once)
        await self._call(
            CATALOG["sync_order_status"],
            OrderStatusInput(
                shop=self.shop,
                order_id=self.order.order_id,
                rebound_return_id=self.start.rebound_return_id,
                state=self.state,
                return_id=self.shopify_return.return_id if self.shopify_return else None,
                tracking_number=self.tracking_number,
                refund_id=self.refund.refund_id if self.refund else None,
            ),
            None,
            f"order status: {self.state}",
        )
        return None

    async def step_close_shopify_return(self, call: StepCall) -> str | None:
        if self.shopify_return is None:
            self._log("step", "close_shopify_return: no Shopify return to close")
            return None
        if self.awaiting_parcels():
            waiting = ", ".join(p.tracking_number for p in self.outstanding_parcels())
            self._log("step", f"close_shopify_return: left open for parcel(s) {waiting}")
            return None
        ret = self.shopify_return
        await self._call(CATALOG["close_shopify_return"], ReturnRefInput(self.shop, ret.return_id), None,
                         f"returnClose {ret.name}")  # fmt: skip
        self._log("step", f"close_shopify_return: {ret.name} closed")
        return None

    async def step_cancel_shopify_return(self, call: StepCall) -> str | None:
        if self.shopify_return is None:
            return None
        await self._call(CATALOG["cancel_shopify_return"], ReturnRefInput(self.shop, self.shopify_return.return_id),
                         None, f"returnCancel {self.shopify_return.name}")  # fmt: skip
        self._log("step", f"cancel_shopify_return: {self.shopify_return.name} cancelled")
        return None

    # ---------------------------------------------------------------- stock

    async def step_assign_dispositions(self, call: StepCall) -> str | None:
        scale = self.mapping.grade_scale or list(self.mapping.grades)
        best = scale[0] if scale else None
        for item in self.items_in_hand():
            if item.sku in self.overridden_skus or item.item_id in self.settled_items:
                continue  # an operator decided this one, or an earlier parcel's round did
            grade = item.grade if item.grade is not None or call.params.get("ungraded") != "best_grade" else best
            outcome = item_outcome(self.mapping, grade, item.reason, graded=True)
            item.disposition = outcome.disposition
            item.location_id = outcome.location_id
            item.refund_percent = outcome.refund_percent
        summary = ", ".join(f"{i.sku}:{i.grade or '-'}->{i.disposition}" for i in self.items_in_hand())
        self._log("step", f"assign_dispositions: {summary}")
        return None

    async def step_restock_items(self, call: StepCall) -> str | None:
        order, ret = self._need_order("restock_items"), self._need_return("restock_items")
        grouped: dict[tuple[str, ShopifyDisposition, str | None], int] = {}
        for item in self.items_in_hand():  # every item in hand, each time: Shopify's dispositions make it once
            line = order.line_for_sku(item.sku)
            rfo_line = ret.rfo_lines.get(line.fulfillment_line_item_id) if line else None
            if rfo_line is None or item.disposition is None:
                raise StepFailed(f"restock_items: no reverse fulfillment line or disposition for {item.sku}")
            key = (rfo_line, SHOPIFY_DISPOSITION[item.disposition], item.location_id)
            grouped[key] = grouped.get(key, 0) + item.quantity
        disposals = [Disposal(rfo, qty, kind, loc) for (rfo, kind, loc), qty in grouped.items()]
        result: DisposeResult = await self._call(
            CATALOG["restock_items"],
            DisposeInput(self.shop, ret.return_id, disposals),
            DisposeResult,
            self._dispose_summary(disposals),
        )
        by_rfo_line = {
            ret.rfo_lines[line.fulfillment_line_item_id]: line.sku
            for line in order.lines
            if line.fulfillment_line_item_id in ret.rfo_lines
        }
        self.restocked = {}
        for disposal in result.applied + result.already_done:
            if disposal.disposition == "RESTOCKED":
                where = f"{by_rfo_line.get(disposal.rfo_line_id, '?')}@{disposal.location_id}"
                self.restocked[where] = self.restocked.get(where, 0) + disposal.quantity
        applied, already = len(result.applied), len(result.already_done)
        self._log("step", f"restock_items: {applied} disposition(s) applied, {already} already in Shopify")
        return None

    def _dispose_summary(self, disposals: list[Disposal]) -> str:
        """`dispose 2 → Castore DC (Manchester), 1 not restocked`."""
        names = {loc.id: loc.name for loc in self.mapping.locations.values()}
        parts: dict[str, int] = {}
        for d in disposals:
            where = f"→ {names.get(d.location_id or '', d.location_id)}" if d.disposition == "RESTOCKED" else (
                d.disposition.lower().replace("_", " "))  # fmt: skip
            parts[where] = parts.get(where, 0) + d.quantity
        return "dispose " + ", ".join(f"{qty} {where}" for where, qty in parts.items())

    # ---------------------------------------------------------------- tags, notes, notifications

    async def step_tag_order(self, call: StepCall) -> str | None:
        order = self._need_order("tag_order")
        await self._call(CATALOG["tag_order"], OrderTagInput(self.shop, order.order_id, str(call.params["tag"])), None,
                         f"tagsAdd {call.params['tag']}")  # fmt: skip
        self._log("step", f"tag_order: {call.params['tag']}")
        return None

    async def step_untag_order(self, call: StepCall) -> str | None:
        order = self._need_order("untag_order")
        await self._call(CATALOG["untag_order"], OrderTagInput(self.shop, order.order_id, str(call.params["tag"])),
                         None, f"tagsRemove {call.params['tag']}")  # fmt: skip
        self._log("step", f"untag_order: {call.params['tag']}")
        return None

    async def step_add_order_note(self, call: StepCall) -> str | None:
        order = self._need_order("add_order_note")
        text = render_template(str(call.params["text"]), self.template_facts())
        marker = f"[rebound {self.start.rebound_return_id} {self.state}]"
        await self._call(CATALOG["add_order_note"], OrderNoteInput(self.shop, order.order_id, marker, text))
        self._log("step", f"add_order_note: {text}")
        return None

    async def step_notify(self, call: StepCall) -> str | None:
        facts = self.template_facts()
        message = render_template(str(call.params["message"]), facts)
        request = NotifyInput(str(call.params["url_env"]), str(call.params.get("format", "json")), message, facts)
        await self._call(CATALOG["notify"], request, None, f"notify {call.params['url_env']}")
        self._log("step", f"notify {call.params['url_env']}: {message}")
        return None
