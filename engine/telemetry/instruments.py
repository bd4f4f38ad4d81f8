"""The engine's own metrics and spans. The OpenTelemetry API answers with no-op instruments until a provider is
configured (engine.telemetry.setup), so recording costs nothing when telemetry is off. Attributes name shops,
brands, operations and states: never a customer."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from opentelemetry import metrics, trace
from temporalio import activity

from engine.money import minor_units

NAME = "rebound-returns"


def tracer() -> trace.Tracer:
    return trace.get_tracer(NAME)


@cache
def _instruments() -> dict[str, Any]:
    meter = metrics.get_meter(NAME)
    return {
        "points_spent": meter.create_counter("shopify.points.spent", unit="{point}",
                                             description="Shopify GraphQL cost charged, per shop, step and operation"),
        "points_available": meter.create_gauge("shopify.points.available", unit="{point}",
                                               description="The shop's bucket after the last call"),
        "calls": meter.create_counter("shopify.calls", description="Shopify GraphQL calls, per shop and operation"),
        "throttled": meter.create_counter("shopify.throttled", description="THROTTLED answers, retried in place"),
        "budget_waits": meter.create_counter("shopify.budget.waits",
                                             description="Calls that waited for the shop's cost budget"),
        "budget_wait_time": meter.create_histogram("shopify.budget.wait", unit="s",
                                                   description="How long a call waited for the shop's budget"),
        "refunds": meter.create_counter("returns.refunds.issued", description="Refunds the engine issued, per brand"),
        "refunded": meter.create_counter("returns.refunds.amount", unit="{minor unit}",
                                         description="Refunded money in the currency's minor units, per brand and "
                                         "currency"),
        "restocked": meter.create_counter("returns.restocked.units", unit="{unit}",
                                          description="Units made available again, per brand and location"),
        "refused": meter.create_counter("receiver.refused", unit="{request}",
                                        description="Requests the push receiver refused before authentication "
                                        "(nothing stored), per reason"),
    }  # fmt: skip


def _step() -> str:
    """The activity (the flow's step) a call is made for, so points can be read per step."""
    try:
        return activity.info().activity_type
    except RuntimeError:  # outside an activity: the drift monitor's reads, a command
        return ""


def shopify_call(shop: str, operation: str, cost: dict[str, Any] | None, *, throttled: bool) -> None:
    tags = {"shop": shop, "operation": operation, "step": _step()}
    found = _instruments()
    found["calls"].add(1, tags)
    if throttled:
        found["throttled"].add(1, {"shop": shop})
    if cost:
        found["points_spent"].add(float(cost.get("actualQueryCost") or 0), tags)
        available = (cost.get("throttleStatus") or {}).get("currentlyAvailable")
        if available is not None:
            found["points_available"].set(float(available), {"shop": shop})


def budget_wait(shop: str, seconds: float) -> None:
    if seconds > 0:
        _instruments()["budget_waits"].add(1, {"shop": shop})
        _instruments()["budget_wait_time"].record(seconds, {"shop": shop})


def refund_issued(brand: str, currency: str, amount: str) -> None:
    minor = int(Decimal(amount).scaleb(minor_units(currency)))
    _instruments()["refunds"].add(1, {"brand": brand, "currency": currency})
    _instruments()["refunded"].add(minor, {"brand": brand, "currency": currency})


def restocked(brand: str, location_id: str, units: int) -> None:
    if units > 0:
        _instruments()["restocked"].add(units, {"brand": brand, "location": location_id})


def push_refused(reason: str) -> None:
    _instruments()["refused"].add(1, {"reason": reason})


def annotate(**attributes: str | int | float | bool | None) -> None:
    """Put attributes on the current span (the activity's, the request's); None values are left out."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({k.replace("__", "."): v for k, v in attributes.items() if v is not None})
