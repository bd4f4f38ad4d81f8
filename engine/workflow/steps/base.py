"""What a step is to the interpreter: two plain functions over the return's record. `prepare` says which activity
calls the step needs now (none: nothing to do yet, or the step decides inside the workflow); `record` applies one
call's result to the record and may name an outcome the flow routes (`on_<outcome>:`) or ask to look again later.
The interpreter runs the calls on the catalog's activity (engine.definitions.catalog); a step never calls Temporal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import OrderSnapshot, ShopifyReturnRef
    from engine.definitions.flow import StepCall
    from engine.errors import StepFailed
    from engine.workflow.state import ReturnState


@dataclass(frozen=True)
class Request:
    """One activity call: its input, the result's type, and the line the UI shows for it (no customer data)."""

    arg: Any
    summary: str
    result_type: type | None = None
    part: str = ""  # which part of the step the call is for (a parcel's tracking number)
    items: tuple[str, ...] = ()  # the item ids the call settles, as they were when it was asked


@dataclass(frozen=True)
class Again:
    """Look again after a pause (a durable timer): prepare runs again, then its calls."""

    seconds: float


Outcome = str | Again | None
Prepare = Callable[[ReturnState, StepCall], list[Request]]
Record = Callable[[ReturnState, StepCall, Request, Any], Outcome]


def nothing_to_record(r: ReturnState, call: StepCall, request: Request, result: Any) -> Outcome:
    return None


@dataclass(frozen=True)
class Step:
    prepare: Prepare
    record: Record = nothing_to_record


def need_order(r: ReturnState, step: str) -> OrderSnapshot:
    if r.order is None:
        raise StepFailed(step, f"{step}: the order is not known (validate_order has not run)")
    return r.order


def need_return(r: ReturnState, step: str) -> ShopifyReturnRef:
    if r.shopify_return is None:
        raise StepFailed(step, f"{step}: there is no Shopify return (create_shopify_return has not run)")
    return r.shopify_return
