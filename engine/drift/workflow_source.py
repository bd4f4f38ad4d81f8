"""The engine's side: every return workflow of a brand (Temporal visibility), summarised from its `status`
query while it runs, or its result once it finished (no worker needed to read those)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from engine.definitions.catalog import CATALOG
from engine.drift.model import WorkflowReturn
from engine.refunds import RefundPlan
from engine.workflow import search
from engine.workflow.messages import ReturnStatus


def summarise(status: ReturnStatus, workflow_id: str, run_status: str = "RUNNING") -> WorkflowReturn:
    entered: dict[str, str] = {}
    for entry in status.audit:
        if entry.kind == "transition" and " -> " in entry.detail:
            entered[entry.detail.split(" -> ", 1)[1].strip()] = entry.at
    restocked: dict[str, int] = {}
    for where, qty in status.restocked.items():
        sku = where.split("@", 1)[0]
        restocked[sku] = restocked.get(sku, 0) + qty
    sellable: dict[str, int] = {}
    for item in status.items:
        if item.disposition == "restock":
            sellable[item.sku] = sellable.get(item.sku, 0) + item.quantity
    return WorkflowReturn(
        workflow_id=workflow_id,
        brand=status.brand,
        rebound_return_id=status.rebound_return_id,
        run_status=run_status,
        state=status.state,
        order_name=status.order_name,
        needs_attention=status.needs_attention,
        attention_reason=status.attention_reason,
        hold_kind=status.hold.kind if status.hold else None,
        hold_step=status.hold.step if status.hold else None,
        ending=status.ending or _ending_of_old_result(status),
        refund_status=status.refund.status if status.refund else None,
        refund_id=status.refund.refund_id if status.refund else None,
        refund_amount=(
            str(sum((Decimal(r.amount) for r in status.refunds), Decimal(0)))
            if status.refunds
            else (status.refund.amount if status.refund else None)
        ),
        planned_refund=_uncapped(status.refund_plan) if status.refund_plan else None,
        shopify_return_id=status.shopify_return.return_id if status.shopify_return else None,
        restocked=restocked,
        sellable=sellable,
        dispositions_known=any(i.disposition is not None for i in status.items),
        entered=entered,
        waiting_for_parcels=[
            p.tracking_number for p in status.parcels if p.arrived_at is None and not p.lost and not status.refunds
        ],
        processed_units=_processed_units(status),
        refund_parts=max(len(status.refunds), 1),
        exchanges_unreleased=_unreleased(status),
    )


def _unreleased(status: ReturnStatus) -> dict[str, str]:
    """Exchanges still requested once the return settled its refund (the trigger passed), or awaiting the customer's
    payment past the SLA (the workflow flagged CX)."""
    if status.refund is None:
        return {}
    overdue = status.hold is not None and status.hold.kind == "cx"
    return {item.exchange_sku: item.exchange for item in status.items if item.exchange_sku and (
        item.exchange == "requested" or (item.exchange == "awaiting_payment" and overdue))}  # fmt: skip


def _processed_units(status: ReturnStatus) -> dict[str, int]:
    """The units the return refunded by processing its Shopify return (a catalog step that does), per order line
    item: what Shopify's record must show processed."""
    processing = {spec.name for spec in CATALOG.values() if spec.activity == "process_return"}
    if not any(name in key for key in status.steps_done for name in processing):
        return {}
    units: dict[str, int] = {}
    for refund in status.refunds:
        if refund.status in ("issued", "already_issued") and refund.plan is not None:
            for line in refund.plan.lines:
                units[line.line_item_id] = units.get(line.line_item_id, 0) + line.quantity
    return units


def _ending_of_old_result(status: ReturnStatus) -> str | None:
    """A result recorded before the status said its ending: a finished return that neither refunded nor restocked
    closed without settling (cancelled, rejected)."""
    if not status.finished:
        return None
    return "settled" if status.refund is not None or status.restocked else "unsettled"


def _uncapped(plan: RefundPlan) -> str:
    """What the mapping's rules give, before the cap of what is still refundable (which another refund, e.g.
    Rebound's app's, has already lowered by the time the engine plans)."""
    if not plan.capped:
        return plan.total
    fees = Decimal(plan.shipping_fee) + Decimal(plan.restocking_fee)
    return str(max(Decimal(plan.subtotal) - fees, Decimal(0)))


def visibility_query(brand: str, task_queue: str | None = None) -> str:
    query = f"{search.RETURNS_QUERY} AND {search.BRAND.name} = '{brand}'"
    if task_queue:
        query += f" AND TaskQueue = '{task_queue}'"
    return query


async def fetch_workflows(
    client: Client,
    brand: str,
    *,
    task_queue: str | None = None,
    concurrency: int = 32,
    progress: Callable[[int], None] | None = None,
) -> list[WorkflowReturn]:
    executions = [e async for e in client.list_workflows(visibility_query(brand, task_queue))]
    semaphore = asyncio.Semaphore(concurrency)
    done = 0

    async def one(execution: WorkflowExecution) -> WorkflowReturn:
        nonlocal done
        async with semaphore:
            result = await _read(client, execution)
        done += 1
        if progress is not None and done % 100 == 0:
            progress(done)
        return result

    return list(await asyncio.gather(*(one(e) for e in executions)))


async def _read(client: Client, execution: WorkflowExecution) -> WorkflowReturn:
    run_status = execution.status.name if execution.status else "UNKNOWN"
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id, result_type=ReturnStatus)
    reader: Callable[[], Awaitable[ReturnStatus]] | None = None
    if execution.status == WorkflowExecutionStatus.RUNNING:
        reader = lambda: handle.query("status", result_type=ReturnStatus)  # noqa: E731
    elif execution.status == WorkflowExecutionStatus.COMPLETED:
        reader = handle.result
    if reader is not None:
        status = await reader()
        return summarise(status, execution.id, run_status)
    attrs = execution.typed_search_attributes
    return WorkflowReturn(
        workflow_id=execution.id,
        brand=attrs.get(search.BRAND) or "",
        rebound_return_id=attrs.get(search.REBOUND_RETURN_ID) or execution.id,
        run_status=run_status,
        state=attrs.get(search.RETURN_STATE) or "",
        order_name=attrs.get(search.SHOPIFY_ORDER) or "",
        needs_attention=True,
        attention_reason=f"workflow {run_status.lower()}",
        hold_kind="interpreter",
    )
