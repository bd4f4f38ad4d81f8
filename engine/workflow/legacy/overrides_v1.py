"""The first workflow's operator overrides (frozen; see the package docstring)."""

from decimal import Decimal
from typing import cast

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.workflow.legacy.facts_v1 import LegacyFacts
    from engine.workflow.legacy.steps_v1 import SHOPIFY_DISPOSITION
    from engine.workflow.legacy.types_v1 import (
        Disposition,
        DispositionOverride,
        OperatorAction,
        OverrideResult,
        RefundOutcome,
        ReturnEvent,
    )


class LegacyOverrides(LegacyFacts):
    @workflow.signal(name="retry")
    def on_retry(self, action: OperatorAction) -> None:
        """Fire-and-forget form of the `retry_step` update (an invalid one is recorded and ignored)."""
        if self.hold_reason is None:
            self._log("operator", f"retry ignored: not held ({action.reason})", actor=action.operator)
            return
        self._release(action, "retry")

    # -- operator overrides: updates whose validators reject what the return's state does not allow -------

    def _require(self, action: OperatorAction) -> None:
        if not action.operator.strip() or not action.reason.strip():
            raise ValueError("operator and reason are required")
        if self.finished_at is not None:
            raise ValueError(f"the return is finished ({self.state}); nothing can be overridden")

    def _require_no_refund(self) -> None:
        """Refund overrides make sense only before a refund outcome exists (validators: not in history)."""
        if self.refund is not None:
            raise ValueError(f"refund already {self.refund.status} ({self.refund.refund_id or self.refund.detail})")

    def _release(self, action: OperatorAction, verb: str) -> OverrideResult:
        was = self.hold_reason or self.sla_reason
        self._log("operator", f"{verb}: {action.reason} (was: {was})", actor=action.operator)
        self.hold_reason = None
        self.sla_reason = None
        self.wake = True
        self._upsert()
        return self._result(f"{verb}: steps of {self.state} continue")

    def _result(self, message: str) -> OverrideResult:
        return OverrideResult(message, self.state, self.needs_attention)

    @workflow.update(name="hold")
    def hold(self, action: OperatorAction) -> OverrideResult:
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
        return self._release(action, "resume")

    @resume.validator
    def _check_resume(self, action: OperatorAction) -> None:
        self._require(action)
        if not self.needs_attention:
            raise ValueError("the return is not in needs_attention")

    @workflow.update(name="retry_step")
    def retry_step(self, action: OperatorAction) -> OverrideResult:
        return self._release(action, "retry")

    @retry_step.validator
    def _check_retry(self, action: OperatorAction) -> None:
        self._require(action)
        if self.hold_reason is None or self.hold_reason.startswith("held by "):
            raise ValueError("no failed step to retry (use resume for an operator hold)")

    @workflow.update(name="override_disposition")
    def override_disposition(self, change: DispositionOverride) -> OverrideResult:
        location_id = self.mapping.location_id(change.location)
        for item in self.items.values():
            if item.sku == change.sku:
                item.disposition = cast(Disposition, change.disposition)  # the validator checked it
                item.location_id = location_id if change.disposition == "restock" else None
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
        if "restock_items" in self.steps_done:
            raise ValueError("dispositions are already applied in Shopify; they cannot change")
        if not any(item.sku == change.sku for item in self.items.values()):
            raise ValueError(
                f"no item {change.sku!r} in this return (items: {sorted({i.sku for i in self.items.values()})})"
            )
        if change.disposition not in SHOPIFY_DISPOSITION:
            raise ValueError(f"unknown disposition {change.disposition!r} (use {', '.join(SHOPIFY_DISPOSITION)})")
        if change.disposition == "restock" and change.location not in self.mapping.locations:
            raise ValueError(f"restock needs a location: one of {', '.join(self.mapping.locations)}")
        if change.refund_percent is not None and not 0 <= Decimal(change.refund_percent) <= 100:
            raise ValueError("refund_percent must be between 0 and 100")

    @workflow.update(name="force_refund")
    def force_refund(self, action: OperatorAction) -> OverrideResult:
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
        self.refund = RefundOutcome(status="skipped", detail=f"by {action.operator}: {action.reason}")
        self.steps_done.extend(["issue_refund", "credit_store_credit_bonus", "verify_refund"])
        self._log("operator", f"skip refund: {action.reason}", actor=action.operator)
        self.wake = True
        return self._result("no refund will be issued for this return")

    @skip_refund.validator
    def _check_skip_refund(self, action: OperatorAction) -> None:
        self._require(action)
        self._require_no_refund()

    @workflow.update(name="mark_received")
    def mark_received(self, action: OperatorAction) -> OverrideResult:
        self._operator_event("received", action)
        return self._result("marked received; the return moves on")

    @mark_received.validator
    def _check_mark_received(self, action: OperatorAction) -> None:
        self._require(action)
        if self.flow.rank(self.state) >= self.flow.rank("received") or self.target_rank >= self.flow.rank("received"):
            raise ValueError(f"already {self.state}: receipt is known")
        if self.state in self.flow.states and self.flow.is_terminal(self.state):
            raise ValueError(f"the return is {self.state}")

    @workflow.update(name="cancel")
    def cancel(self, action: OperatorAction) -> OverrideResult:
        self._operator_event("cancelled", action)
        return self._result("cancelling: the Shopify return is cancelled")

    @cancel.validator
    def _check_cancel(self, action: OperatorAction) -> None:
        self._require(action)
        allowed = self.flow.states["cancelled"].allowed_from or []
        if self.state not in allowed and self.state != "new":
            raise ValueError(f"cannot cancel a return that is {self.state} (only from {', '.join(allowed)})")

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
