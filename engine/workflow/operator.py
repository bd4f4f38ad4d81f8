"""Operator overrides: each a Temporal update whose validator refuses what the return's state does not allow
(nothing reaches history then), and the same override as a signal, the tctl way (`temporal workflow signal
--name hold --input '{"operator": ..., "reason": ...}'`): validated alike, and a refused or unknown signal is
written in the audit trail, never dropped. The overrides know effects (refund, stock) and canonical events
(received, cancelled) from the catalog and the flow, never a state's name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import RefundOutcome
    from engine.definitions.catalog import CATALOG
    from engine.events import ReturnEvent
    from engine.workflow.facts import NOT_STARTED
    from engine.workflow.messages import (
        Disposition,
        DispositionOverride,
        OperatorAction,
        OverrideResult,
        ParcelLost,
    )
    from engine.workflow.parcels import ParcelTracking
    from engine.workflow.steps import SHOPIFY_DISPOSITION

A = TypeVar("A", OperatorAction, DispositionOverride, ParcelLost)
REFUND_STEPS = [spec.name for spec in CATALOG.values() if spec.effect == "refund"]
STOCK_STEPS = {spec.name for spec in CATALOG.values() if spec.effect == "stock"}


def _parse(kind: type[A], payload: Any) -> A:
    """A signal's JSON as the override's argument; a malformed one is refused with what is wrong."""
    if isinstance(payload, kind):
        return payload
    if not isinstance(payload, dict):
        raise ValueError(f"the input must be a JSON object with operator and reason, not {type(payload).__name__}")
    try:
        return kind(**payload)
    except TypeError as exc:
        raise ValueError(f"input does not fit: {exc}") from None


class OperatorOverrides(ParcelTracking):
    # ---------------------------------------------------------------- shared checks

    def _require(self, action: OperatorAction) -> None:
        if not str(action.operator).strip() or not str(action.reason).strip():
            raise ValueError("operator and reason are required")
        if self.finished:
            raise ValueError(f"the return is finished ({self.state}); nothing can be overridden")

    def _require_no_refund(self) -> None:
        if self.refund is not None:
            raise ValueError(f"refund already {self.refund.status} ({self.refund.refund_id or self.refund.detail})")

    def _done(self, step: str) -> bool:
        return any(key == step or key.startswith(f"{step}:") or f":{step}" in key for key in self.steps_done)

    def _release(self, action: OperatorAction, verb: str) -> OverrideResult:
        was = self.hold_reason or self.sla_reason
        self._log("operator", f"{verb}: {action.reason} (was: {was})", actor=action.operator)
        self.hold_reason = None
        self.sla_reason = None
        self.wake = True
        self._upsert()
        return self._result(f"{verb}: steps of {self.state} continue")

    def _result(self, message: str) -> OverrideResult:
        self._flush_details()  # an override shows at once, even while the return waits
        return OverrideResult(message, self.state, self.needs_attention)

    def _by_signal(self, name: str, kind: type[A], payload: Any, check: Callable[[A], None],
                   apply: Callable[[A], OverrideResult]) -> None:  # fmt: skip
        try:
            arg = _parse(kind, payload)
            check(arg)
        except ValueError as err:
            actor = str(payload.get("operator") or "unknown") if isinstance(payload, dict) else "unknown"
            self._log("refused", f"signal {name} refused: {err}", actor=actor)
            return
        apply(arg)

    # ---------------------------------------------------------------- hold, resume, retry

    @workflow.update(name="hold")
    def hold(self, action: OperatorAction) -> OverrideResult:
        return self._hold(action)

    def _hold(self, action: OperatorAction) -> OverrideResult:
        self._log("operator", f"hold: {action.reason}", actor=action.operator)
        self._enter_hold(f"held by {action.operator}: {action.reason}")
        return self._result("held in needs_attention; resume to continue")

    @hold.validator
    def _check_hold(self, action: OperatorAction) -> None:
        self._require(action)
        if self.hold_reason is not None:
            raise ValueError(f"already held: {self.hold_reason}")

    @workflow.update(name="resume")
    def resume(self, action: OperatorAction) -> OverrideResult:
        return self._resume(action)

    def _resume(self, action: OperatorAction) -> OverrideResult:
        return self._release(action, "resume")

    @resume.validator
    def _check_resume(self, action: OperatorAction) -> None:
        self._require(action)
        if not self.needs_attention:
            raise ValueError("the return is not in needs_attention")

    @workflow.update(name="retry_step")
    def retry_step(self, action: OperatorAction) -> OverrideResult:
        return self._retry_step(action)

    def _retry_step(self, action: OperatorAction) -> OverrideResult:
        return self._release(action, "retry")

    @retry_step.validator
    def _check_retry(self, action: OperatorAction) -> None:
        self._require(action)
        if self.hold_reason is None or self.hold_reason.startswith("held by "):
            raise ValueError("no failed step to retry (use resume for an operator hold)")

    # ---------------------------------------------------------------- stock and money

    @workflow.update(name="override_disposition")
    def override_disposition(self, change: DispositionOverride) -> OverrideResult:
        return self._override_disposition(change)

    def _override_disposition(self, change: DispositionOverride) -> OverrideResult:
        location_id = self.mapping.location_id(change.location) if change.disposition == "restock" else None
        for item in self.items.values():
            if item.sku == change.sku:
                item.disposition = cast(Disposition, change.disposition)  # the validator checked it
                item.location_id = location_id
                if change.refund_percent is not None:
                    item.refund_percent = change.refund_percent
        self.overridden_skus.add(change.sku)
        where = f" at {change.location}" if change.disposition == "restock" else ""
        self._log("operator", f"disposition of {change.sku} -> {change.disposition}{where}: {change.reason}",
                  actor=change.operator)  # fmt: skip
        self.wake = True
        return self._result(f"{change.sku} will be {change.disposition}{where}")

    @override_disposition.validator
    def _check_disposition(self, change: DispositionOverride) -> None:
        self._require(OperatorAction(change.operator, change.reason))
        if any(self._done(step) for step in STOCK_STEPS):
            raise ValueError("dispositions are already applied in Shopify; they cannot change")
        if not any(item.sku == change.sku for item in self.items.values()):
            raise ValueError(
                f"no item {change.sku!r} in this return (items: {sorted({i.sku for i in self.items.values()})})"
            )
        if change.disposition not in SHOPIFY_DISPOSITION:
            raise ValueError(f"unknown disposition {change.disposition!r} (use {', '.join(SHOPIFY_DISPOSITION)})")
        if change.disposition == "restock" and change.location not in self.mapping.locations:
            raise ValueError(f"restock needs a location: one of {', '.join(self.mapping.locations)}")
        if change.refund_percent is not None:
            try:
                percent = Decimal(change.refund_percent)
            except InvalidOperation:
                raise ValueError(f"refund_percent {change.refund_percent!r} is not a number") from None
            if not 0 <= percent <= 100:
                raise ValueError("refund_percent must be between 0 and 100")

    @workflow.update(name="force_refund")
    def force_refund(self, action: OperatorAction) -> OverrideResult:
        return self._force_refund(action)

    def _force_refund(self, action: OperatorAction) -> OverrideResult:
        self.forced_refund = action
        self._log("operator", f"force refund: {action.reason}", actor=action.operator)
        self.wake = True
        return self._result("the refund is issued now, by the mapping's rules")

    @force_refund.validator
    def _check_force_refund(self, action: OperatorAction) -> None:
        self._require(action)
        self._require_no_refund()
        if self.order is None:
            raise ValueError("the order has not been validated yet")
        if self.mapping.refund.issuer != "engine":
            raise ValueError("this brand's refunds are issued by Rebound's app")

    @workflow.update(name="skip_refund")
    def skip_refund(self, action: OperatorAction) -> OverrideResult:
        return self._skip_refund(action)

    def _skip_refund(self, action: OperatorAction) -> OverrideResult:
        self.refund = RefundOutcome(status="skipped", detail=f"by {action.operator}: {action.reason}")
        self.steps_done.extend(REFUND_STEPS)
        self._log("operator", f"skip refund: {action.reason}", actor=action.operator)
        self.wake = True
        return self._result("no refund will be issued for this return")

    @skip_refund.validator
    def _check_skip_refund(self, action: OperatorAction) -> None:
        self._require(action)
        self._require_no_refund()

    # ---------------------------------------------------------------- events on a person's word

    @workflow.update(name="mark_received")
    def mark_received(self, action: OperatorAction) -> OverrideResult:
        return self._mark_received(action)

    def _mark_received(self, action: OperatorAction) -> OverrideResult:
        self._operator_event("received", action)
        return self._result("marked received; the return moves on")

    @mark_received.validator
    def _check_mark_received(self, action: OperatorAction) -> None:
        self._require(action)
        target = self.flow.events.get("received")
        if target is None:
            raise ValueError(f"flow {self.flow.name} has no receipt event")
        if self.flow.rank(self.state) >= self.flow.rank(target) or self.target_rank >= self.flow.rank(target):
            raise ValueError(f"already {self.state}: receipt is known")
        if self.flow.is_terminal(self.state):
            raise ValueError(f"the return is {self.state}")

    @workflow.update(name="cancel")
    def cancel(self, action: OperatorAction) -> OverrideResult:
        return self._cancel(action)

    def _cancel(self, action: OperatorAction) -> OverrideResult:
        self._operator_event("cancelled", action)
        return self._result("cancelling: the Shopify return is cancelled")

    @cancel.validator
    def _check_cancel(self, action: OperatorAction) -> None:
        self._require(action)
        target = self.flow.events.get("cancelled")
        if target is None:
            raise ValueError(f"flow {self.flow.name} has no cancellation")
        allowed = self.flow.states[target].allowed_from
        if allowed is not None and self.state not in allowed and self.state != NOT_STARTED:
            raise ValueError(f"cannot cancel a return that is {self.state} (only from {', '.join(allowed)})")

    @workflow.update(name="parcel_lost")
    def parcel_lost(self, change: ParcelLost) -> OverrideResult:
        return self._parcel_lost(change)

    def _parcel_lost(self, change: ParcelLost) -> OverrideResult:
        parcel = self.parcels[change.tracking_number]
        parcel.lost = True
        for item in self.items.values():
            if item.item_id in parcel.item_ids:
                item.grade = None  # missing: the mapping's rule for missing items decides stock and money
        self._log("operator", f"parcel {change.tracking_number} lost: {change.reason}", actor=change.operator)
        self._parcels_changed()
        self.wake = True
        return self._result(f"parcel {change.tracking_number} lost: its items count as missing")

    @parcel_lost.validator
    def _check_parcel_lost(self, change: ParcelLost) -> None:
        self._require(OperatorAction(change.operator, change.reason))
        parcel = self.parcels.get(change.tracking_number)
        if parcel is None:
            known = ", ".join(self.parcels) or "none"
            raise ValueError(f"no parcel {change.tracking_number!r} in this return (parcels: {known})")
        if parcel.arrived_at is not None or parcel.lost:
            raise ValueError(f"parcel {change.tracking_number} is {'lost' if parcel.lost else 'in'} already")

    def _operator_event(self, kind: str, action: OperatorAction) -> None:
        self._log("operator", f"{kind}: {action.reason}", actor=action.operator)
        self.operator_events += 1
        self.inbox.append(
            ReturnEvent(
                event_id=f"operator-{kind}-{self.operator_events}",
                kind=kind,
                brand=self.start.brand,
                rebound_return_id=self.start.rebound_return_id,
                order_name=self.order_name,
                occurred_at=workflow.now().isoformat(),
                source=f"operator:{action.operator}",
            )
        )
        self.hold_reason = None if self.hold_reason and self.hold_reason.startswith("held by ") else self.hold_reason

    # ---------------------------------------------------------------- the same overrides as signals

    @workflow.signal(name="hold")
    def hold_signal(self, payload: Any) -> None:
        self._by_signal("hold", OperatorAction, payload, self._check_hold, self._hold)

    @workflow.signal(name="resume")
    def resume_signal(self, payload: Any) -> None:
        self._by_signal("resume", OperatorAction, payload, self._check_resume, self._resume)

    @workflow.signal(name="retry_step")
    def retry_step_signal(self, payload: Any) -> None:
        self._by_signal("retry_step", OperatorAction, payload, self._check_retry, self._retry_step)

    @workflow.signal(name="retry")
    def retry_signal(self, payload: Any) -> None:
        """The name the first workflow used for retry_step's signal."""
        self._by_signal("retry", OperatorAction, payload, self._check_retry, self._retry_step)

    @workflow.signal(name="override_disposition")
    def override_disposition_signal(self, payload: Any) -> None:
        self._by_signal("override_disposition", DispositionOverride, payload, self._check_disposition,
                        self._override_disposition)  # fmt: skip

    @workflow.signal(name="force_refund")
    def force_refund_signal(self, payload: Any) -> None:
        self._by_signal("force_refund", OperatorAction, payload, self._check_force_refund, self._force_refund)

    @workflow.signal(name="skip_refund")
    def skip_refund_signal(self, payload: Any) -> None:
        self._by_signal("skip_refund", OperatorAction, payload, self._check_skip_refund, self._skip_refund)

    @workflow.signal(name="mark_received")
    def mark_received_signal(self, payload: Any) -> None:
        self._by_signal("mark_received", OperatorAction, payload, self._check_mark_received, self._mark_received)

    @workflow.signal(name="cancel")
    def cancel_signal(self, payload: Any) -> None:
        self._by_signal("cancel", OperatorAction, payload, self._check_cancel, self._cancel)

    @workflow.signal(name="parcel_lost")
    def parcel_lost_signal(self, payload: Any) -> None:
        self._by_signal("parcel_lost", ParcelLost, payload, self._check_parcel_lost, self._parcel_lost)

    @workflow.signal(dynamic=True)
    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        known = ("hold, resume, retry_step, override_disposition, force_refund, skip_refund, mark_received, cancel,"
                 " parcel_lost")  # fmt: skip
        self._log("refused", f"unknown signal {name!r} ignored (overrides: {known})")
