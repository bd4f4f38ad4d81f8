"""Operator overrides, declared once. Each entry of OVERRIDES names the override, its argument, when it fits (its
check) and what it does to the return's record; `with_overrides` makes of each a Temporal update whose validator
refuses what the return's state does not allow (nothing reaches history then), and the same override as a signal,
the tctl way (`temporal workflow signal --name hold --input '{"operator": ..., "reason": ...}'`): checked alike, and
a refused or unknown signal is written in the audit trail, never dropped. Overrides read holds by kind and know
effects (refund, stock) and canonical events (received, cancelled) from the catalog and the flow, never a state's
or a step's name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import RefundOutcome
    from engine.definitions.catalog import CATALOG
    from engine.events import ReturnEvent
    from engine.workflow import parcels
    from engine.workflow.messages import DispositionOverride, OperatorAction, OverrideResult, ParcelLost
    from engine.workflow.state import NOT_STARTED, ReturnState
    from engine.workflow.steps.stock import SHOPIFY_DISPOSITION, set_disposition

A = TypeVar("A", OperatorAction, DispositionOverride, ParcelLost)
REFUND_STEPS = [spec.name for spec in CATALOG.values() if spec.effect == "refund"]
STOCK_STEPS = {spec.name for spec in CATALOG.values() if spec.effect == "stock"}
FORCEABLE = [spec for spec in CATALOG.values() if spec.forced_by]


def _forced_step(r: ReturnState, override: str) -> str | None:
    """The step the override runs at once: the one the return's flow lists (the refund beside the return, or by
    processing it)."""
    listed = {call.step for state in r.flow.states.values() for call in state.steps}
    return next((spec.name for spec in FORCEABLE if spec.forced_by == override and spec.name in listed), None)


@dataclass(frozen=True)
class Override(Generic[A]):
    name: str
    arg: type[A]
    fits: str  # when it is accepted, in words (docs/engineer.md's table)
    check: Callable[[ReturnState, A], None]  # raises ValueError with what is wrong
    apply: Callable[[ReturnState, A], str]  # changes the record; returns what the operator is told
    aliases: tuple[str, ...] = ()  # more signal names for it (the first workflow's)


# ---------------------------------------------------------------- shared checks and effects


def _require(r: ReturnState, arg: OperatorAction | DispositionOverride | ParcelLost) -> None:
    if not str(arg.operator).strip() or not str(arg.reason).strip():
        raise ValueError("operator and reason are required")
    if r.finished:
        raise ValueError(f"the return is finished ({r.state}); nothing can be overridden")


def _require_no_refund(r: ReturnState) -> None:
    if r.refund is not None:
        raise ValueError(f"refund already {r.refund.status} ({r.refund.refund_id or r.refund.detail})")


def _done(r: ReturnState, step: str) -> bool:
    return any(key == step or key.startswith(f"{step}:") or f":{step}" in key for key in r.steps_done)


def _release(r: ReturnState, action: OperatorAction, verb: str) -> str:
    attention = r.hold or r.flag
    was = attention.detail if attention else None
    r.log("operator", f"{verb}: {action.reason} (was: {was})", actor=action.operator)
    r.hold = None
    r.flag = None
    r.wake = True
    r.publish()
    return f"{verb}: steps of {r.state} continue"


def _operator_event(r: ReturnState, kind: str, action: OperatorAction) -> None:
    """A canonical event on a person's word, applied like Rebound's; it ends an operator's own hold."""
    r.log("operator", f"{kind}: {action.reason}", actor=action.operator)
    r.operator_events += 1
    r.inbox.append(
        ReturnEvent(
            event_id=f"operator-{kind}-{r.operator_events}",
            kind=kind,
            brand=r.start.brand,
            rebound_return_id=r.start.rebound_return_id,
            order_name=r.order_name,
            occurred_at=workflow.now().isoformat(),
            source=f"operator:{action.operator}",
        )
    )
    if r.hold is not None and r.hold.kind == "operator":
        r.hold = None


# ---------------------------------------------------------------- hold, resume, retry


def _check_hold(r: ReturnState, action: OperatorAction) -> None:
    if r.hold is not None:
        raise ValueError(f"already held: {r.hold.detail}")


def _hold(r: ReturnState, action: OperatorAction) -> str:
    r.log("operator", f"hold: {action.reason}", actor=action.operator)
    r.hold_for("operator", f"held by {action.operator}: {action.reason}")
    return "held in needs_attention; resume to continue"


def _check_resume(r: ReturnState, action: OperatorAction) -> None:
    if not r.needs_attention:
        raise ValueError("the return is not in needs_attention")


def _check_retry(r: ReturnState, action: OperatorAction) -> None:
    if r.hold is None or r.hold.kind == "operator":
        raise ValueError("no failed step to retry (use resume for an operator hold)")


# ---------------------------------------------------------------- stock and money


def _check_disposition(r: ReturnState, change: DispositionOverride) -> None:
    if any(_done(r, step) for step in STOCK_STEPS):
        raise ValueError("dispositions are already applied in Shopify; they cannot change")
    if not any(item.sku == change.sku for item in r.items.values()):
        raise ValueError(f"no item {change.sku!r} in this return (items: {sorted({i.sku for i in r.items.values()})})")
    if change.disposition not in SHOPIFY_DISPOSITION:
        raise ValueError(f"unknown disposition {change.disposition!r} (use {', '.join(SHOPIFY_DISPOSITION)})")
    if change.disposition == "restock" and change.location not in r.mapping.locations:
        raise ValueError(f"restock needs a location: one of {', '.join(r.mapping.locations)}")
    if change.refund_percent is not None:
        try:
            percent = Decimal(change.refund_percent)
        except InvalidOperation:
            raise ValueError(f"refund_percent {change.refund_percent!r} is not a number") from None
        if not 0 <= percent <= 100:
            raise ValueError("refund_percent must be between 0 and 100")


def _override_disposition(r: ReturnState, change: DispositionOverride) -> str:
    location_id = r.mapping.location_id(change.location) if change.disposition == "restock" else None
    set_disposition(r, change.sku, change.disposition, location_id, change.refund_percent)
    where = f" at {change.location}" if change.disposition == "restock" else ""
    r.log("operator", f"disposition of {change.sku} -> {change.disposition}{where}: {change.reason}",
          actor=change.operator)  # fmt: skip
    r.wake = True
    return f"{change.sku} will be {change.disposition}{where}"


def _check_force_refund(r: ReturnState, action: OperatorAction) -> None:
    _require_no_refund(r)
    if r.order is None:
        raise ValueError("the order has not been validated yet")
    if r.mapping.refund.issuer != "engine":
        raise ValueError("this brand's refunds are issued by Rebound's app")
    if _forced_step(r, "force_refund") is None:
        raise ValueError(f"flow {r.flow.name} has no refund step to run")


def _force_refund(r: ReturnState, action: OperatorAction) -> str:
    r.forced_step = _forced_step(r, "force_refund")
    r.log("operator", f"force refund: {action.reason}", actor=action.operator)
    r.wake = True
    return "the refund is issued now, by the mapping's rules"


def _check_skip_refund(r: ReturnState, action: OperatorAction) -> None:
    _require_no_refund(r)


def _skip_refund(r: ReturnState, action: OperatorAction) -> str:
    r.refund = RefundOutcome(status="skipped", detail=f"by {action.operator}: {action.reason}")
    r.steps_done.extend(REFUND_STEPS)
    r.log("operator", f"skip refund: {action.reason}", actor=action.operator)
    r.wake = True
    return "no refund will be issued for this return"


# ---------------------------------------------------------------- events on a person's word


def _check_mark_received(r: ReturnState, action: OperatorAction) -> None:
    target = r.flow.events.get("received")
    if target is None:
        raise ValueError(f"flow {r.flow.name} has no receipt event")
    if r.flow.rank(r.state) >= r.flow.rank(target) or r.target_rank >= r.flow.rank(target):
        raise ValueError(f"already {r.state}: receipt is known")
    if r.flow.is_terminal(r.state):
        raise ValueError(f"the return is {r.state}")


def _mark_received(r: ReturnState, action: OperatorAction) -> str:
    _operator_event(r, "received", action)
    return "marked received; the return moves on"


def _check_cancel(r: ReturnState, action: OperatorAction) -> None:
    target = r.flow.events.get("cancelled")
    if target is None:
        raise ValueError(f"flow {r.flow.name} has no cancellation")
    allowed = r.flow.states[target].allowed_from
    if allowed is not None and r.state not in allowed and r.state != NOT_STARTED:
        raise ValueError(f"cannot cancel a return that is {r.state} (only from {', '.join(allowed)})")


def _cancel(r: ReturnState, action: OperatorAction) -> str:
    _operator_event(r, "cancelled", action)
    return "cancelling: the Shopify return is cancelled"


def _check_parcel_lost(r: ReturnState, change: ParcelLost) -> None:
    parcel = r.parcels.get(change.tracking_number)
    if parcel is None:
        raise ValueError(
            f"no parcel {change.tracking_number!r} in this return (parcels: {', '.join(r.parcels) or 'none'})"
        )
    if parcel.arrived_at is not None or parcel.lost:
        raise ValueError(f"parcel {change.tracking_number} is {'lost' if parcel.lost else 'in'} already")


def _parcel_lost(r: ReturnState, change: ParcelLost) -> str:
    r.log("operator", f"parcel {change.tracking_number} lost: {change.reason}", actor=change.operator)
    parcels.mark_lost(r, change.tracking_number)
    r.wake = True
    return f"parcel {change.tracking_number} lost: its items count as missing"


def _nothing_more(r: ReturnState, arg: Any) -> None:
    return None


OVERRIDES: tuple[Override[Any], ...] = (
    Override("hold", OperatorAction, "not held already", _check_hold, _hold),
    Override("resume", OperatorAction, "held or flagged", _check_resume, lambda r, a: _release(r, a, "resume")),
    Override(
        "retry_step",
        OperatorAction,
        "held by a failed step or an engine error (not by a person)",
        _check_retry,
        lambda r, a: _release(r, a, "retry"),
        aliases=("retry",),
    ),  # fmt: skip
    Override(
        "override_disposition",
        DispositionOverride,
        "before stock reaches Shopify",
        _check_disposition,
        _override_disposition,
    ),  # fmt: skip
    Override(
        "force_refund",
        OperatorAction,
        "no refund yet, order known, the engine refunds",
        _check_force_refund,
        _force_refund,
    ),  # fmt: skip
    Override("skip_refund", OperatorAction, "no refund yet", _check_skip_refund, _skip_refund),
    Override(
        "mark_received",
        OperatorAction,
        "the flow has a receipt event not yet reached",
        _check_mark_received,
        _mark_received,
    ),  # fmt: skip
    Override("cancel", OperatorAction, "the flow's cancellation allows the current state", _check_cancel, _cancel),
    Override("parcel_lost", ParcelLost, "a parcel of the return not yet in", _check_parcel_lost, _parcel_lost),
)
KNOWN_SIGNALS = ", ".join(o.name for o in OVERRIDES)


def override_table() -> str:
    """The overrides as docs/operations.md shows them (a test keeps the page in step with this)."""
    rows = ["| override | input | accepted when | also a signal named |", "| --- | --- | --- | --- |"]
    for o in OVERRIDES:
        fields = ", ".join(f"`{f.name}`" for f in dataclasses.fields(o.arg))
        rows.append(f"| `{o.name}` | {fields} | {o.fits} | " + ", ".join(f"`{n}`" for n in (o.name, *o.aliases)) + " |")
    return "\n".join(rows)


def check(o: Override[Any], r: ReturnState, arg: Any) -> None:
    _require(r, arg)
    o.check(r, arg)


def parse(o: Override[Any], payload: Any) -> Any:
    """A signal's JSON as the override's argument; a malformed one is refused with what is wrong."""
    if isinstance(payload, o.arg):
        return payload
    if not isinstance(payload, dict):
        raise ValueError(f"the input must be a JSON object with operator and reason, not {type(payload).__name__}")
    try:
        return o.arg(**payload)
    except TypeError as exc:
        raise ValueError(f"input does not fit: {exc}") from None


# ---------------------------------------------------------------- the handlers, generated


class OverrideHost(Protocol):
    """What the workflow provides to the generated handlers."""

    def run_override(self, o: Override[Any], arg: Any) -> OverrideResult: ...

    def check_override(self, o: Override[Any], arg: Any) -> None: ...

    def signal_override(self, o: Override[Any], name: str, payload: Any) -> None: ...

    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None: ...


def _update(o: Override[Any]) -> Any:
    def handler(self: OverrideHost, arg: Any) -> OverrideResult:
        return self.run_override(o, arg)

    def validator(self: OverrideHost, arg: Any) -> None:
        self.check_override(o, arg)

    for fn in (handler, validator):  # the SDK converts the update's payload by these hints
        fn.__annotations__ = {"arg": o.arg, "return": OverrideResult if fn is handler else None}
        fn.__name__ = fn.__qualname__ = f"{o.name}_{fn.__name__}"
    update = workflow.update(name=o.name)(handler)
    update.validator(validator)
    return update


def _signal(o: Override[Any], name: str) -> Any:
    def handler(self: OverrideHost, payload: Any) -> None:
        self.signal_override(o, name, payload)

    handler.__name__ = handler.__qualname__ = f"{name}_signal"
    return workflow.signal(name=name)(handler)


T = TypeVar("T")


def with_overrides(cls: type[T]) -> type[T]:
    """Give a workflow class every override as an update and a signal (apply before @workflow.defn)."""
    for o in OVERRIDES:
        setattr(cls, f"{o.name}_update", _update(o))
        for name in (o.name, *o.aliases):
            setattr(cls, f"{name}_signal", _signal(o, name))
    return cls
