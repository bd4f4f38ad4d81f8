"""How a return reads in the Temporal UI: a one-line summary and details fixed at start, and current details (Markdown)
the workflow keeps up to date. Pure text from the return's facts; no customer data (no names, addresses, e-mails)."""

from __future__ import annotations

from decimal import Decimal

from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.events import ReturnEvent
from engine.money import show
from engine.workflow.messages import ReturnStatus


def start_summary(event: ReturnEvent) -> str:
    """`CASTORE #CA1001 · 2 items · Too large`: the row a person scans in the workflow list."""
    units = sum(item.quantity for item in event.items)
    reasons = sorted({item.reason for item in event.items if item.reason})
    parts = [f"{event.brand.upper()} {event.order_name}".strip()]
    if units:
        parts.append(f"{units} item{'s' if units != 1 else ''}")
    exchanges = sum(item.quantity for item in event.items if item.exchange_sku)
    if exchanges:
        parts.append(f"{exchanges} exchange{'s' if exchanges != 1 else ''}")
    if reasons:
        parts.append(", ".join(reasons))
    return " · ".join(parts)


def start_details(event: ReturnEvent, flow: FlowDef, mapping: MappingDef) -> str:
    return (
        f"Rebound return `{event.rebound_return_id}` for Shopify order **{event.order_name}** "
        f"({mapping.shop_domain}).\n\n"
        f"Flow `{flow.ref}`, mapping `{mapping.brand}@{mapping.version}`: pinned for the life of this return.\n\n"
        "State, items, refund and what is awaited: see *Current Details*; the full record: the `status` query."
    )


def _cell(text: object) -> str:
    return str(text if text not in (None, "") else "–").replace("|", "/")


def current_details(status: ReturnStatus, mapping: MappingDef, *, awaiting: str | None) -> str:
    """The return as operations and finance read it: state, what is awaited, items, stock, money, parcels."""
    lines = [f"**State:** {status.state}" + (" (finished)" if status.finished else "")]
    if status.needs_attention:
        lines.append(f"**Needs attention:** {status.attention_reason}")
    if awaiting and not status.finished:
        lines.append(f"**Awaiting:** {awaiting}")
    if status.shopify_return:
        lines.append(f"**Shopify return:** {status.shopify_return.name}")
    names = {loc.id: loc.name for loc in mapping.locations.values()}
    if status.items:
        lines += ["", "| item | qty | reason | grade | disposition | location | exchange |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for item in status.items:
            where = names.get(item.location_id or "", item.location_id)
            exchange = f"{item.exchange_sku}: {(item.exchange or 'requested').replace('_', ' ')}" if (
                item.exchange_sku) else None  # fmt: skip
            lines.append(
                f"| {_cell(item.sku)} | {item.quantity} | {_cell(item.reason)} | {_cell(item.grade)} | "
                f"{_cell(item.disposition)} | {_cell(where)} | {_cell(exchange)} |"
            )
        lines.append("")
    if status.restocked:
        restocked = ", ".join(
            f"{qty}× {key.split('@')[0]} → {names.get(key.split('@')[1], key.split('@')[1])}"
            for key, qty in sorted(status.restocked.items())
        )
        lines.append(f"**Restocked:** {restocked}")
    plan = status.refund_plan
    if plan is not None:
        fees = Decimal(plan.shipping_fee) + Decimal(plan.restocking_fee)
        lines.append(
            f"**Refund plan:** {show(plan.subtotal, plan.currency)} less fees {show(fees, plan.currency)} = "
            f"{show(plan.total, plan.currency)} ({plan.method.replace('_', ' ')})"
            + (" capped at what is left" if plan.capped else "")
        )
    for refund in status.refunds or ([status.refund] if status.refund else []):
        currency = refund.currency or (plan.currency if plan else mapping.currency)
        tenders = " + ".join(f"{show(t.amount, currency)} {t.gateway}" for t in refund.tenders)
        lines.append(
            f"**Refund:** {refund.status} {show(refund.amount, currency)}"
            + (f" ({tenders})" if len(refund.tenders) > 1 else "")
            + (f" `{refund.refund_id}`" if refund.refund_id else "")
        )
    if status.refused:
        lines.append(f"**Refused (final sale):** {'; '.join(sorted(set(status.refused.values())))}")
    if status.parcels:
        parcels = "; ".join(
            f"{p.tracking_number} " + ("lost" if p.lost else f"in {p.arrived_at[:10]}" if p.arrived_at else "awaited")
            for p in status.parcels
        )
        lines.append(f"**Parcels:** {parcels}")
    return "\n".join(lines)
