"""Returns sent in several parcels. Rebound lists a return order's parcels (tracking and items); each arrives on
its own day, or never. The brand's mapping chooses: `all_parcels` holds the return before its arrival milestone
until every parcel is in; `each_parcel` acts on each parcel's items as it arrives, in rounds (the first at the
arrival milestone, then one more walk from it per late parcel, with its own step keys and its own refund). A
parcel still missing `parcel_lost_after` the first one arrived is an SLA exception that names its tracking.

Functions over the return's record (engine.workflow.state); the interpreter calls them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.definitions.durations import show_duration
    from engine.definitions.mapping import DEFAULT_SLA_SECONDS
    from engine.events import ReturnEvent
    from engine.workflow.messages import ItemStatus, ParcelStatus
    from engine.workflow.state import ReturnState

ARRIVAL_KINDS = ("received", "inspected")  # an inspected parcel has arrived


def _at(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def per_parcel(r: ReturnState) -> bool:
    return r.mapping.parcels_act_on == "each_parcel" and len(r.parcels) > 1


def outstanding(r: ReturnState) -> list[ParcelStatus]:
    return [p for p in r.parcels.values() if p.arrived_at is None and not p.lost]


def merge_parcels(r: ReturnState, event: ReturnEvent) -> None:
    for ref in event.parcels:
        known = r.parcels.get(ref.tracking_number)
        if known is None:
            r.parcels[ref.tracking_number] = ParcelStatus(ref.tracking_number, list(ref.item_ids), ref.tracking_url)
        else:
            known.item_ids = known.item_ids or list(ref.item_ids)
            known.tracking_url = known.tracking_url or ref.tracking_url
    number = event.tracking_number
    if number and r.parcels and number not in r.parcels:  # a parcel Rebound did not list
        r.parcels[number] = ParcelStatus(number, [], event.tracking_url)
    if not r.parcels:
        return
    # Without a tracking number (an operator, a scan of the whole return) the event is every parcel's.
    concerned = [r.parcels[number]] if number in r.parcels else list(r.parcels.values())
    target = r.flow.events.get(event.kind)
    rank = r.flow.rank(target) if target in r.flow.milestones else -1
    r.parcel_seen_rank = max(r.parcel_seen_rank, rank)
    for parcel in concerned:
        parcel.reached = max(parcel.reached, rank)
        if event.kind in ARRIVAL_KINDS and parcel.arrived_at is None and not parcel.lost:
            parcel.arrived_at = event.occurred_at
            waiting = ", ".join(p.tracking_number for p in outstanding(r)) or "none"
            r.log("parcel", f"parcel {parcel.tracking_number} arrived; still to come: {waiting}")


def parcels_changed(r: ReturnState) -> None:
    """After an event or a parcel declared lost: clear a late parcel's exception, and let a held return go as far
    as its slowest parcel now allows."""
    if r.parcel_overdue and r.parcel_overdue not in {p.tracking_number for p in outstanding(r)}:
        if r.flag is not None and r.flag.kind == "parcel":
            r.flag = None
        r.parcel_overdue = None
        r.publish()
    allowed = gate_for_parcels(r, r.parcel_seen_rank)
    if allowed > r.target_rank:
        r.log("parcel", f"every parcel has reached {r.flow.milestones[allowed]}: the return goes on")
        r.target_rank = allowed


def _arrival_rank(r: ReturnState) -> int:
    arrival = r.flow.events.get("received")
    return r.flow.rank(arrival) if arrival in r.flow.milestones else -1


def gate_for_parcels(r: ReturnState, rank: int) -> int:
    """All-parcels brands: from the arrival milestone on, the return goes only as far as its slowest parcel (one
    not yet in holds it just before arrival; one in but not graded holds it at arrival)."""
    arrival = _arrival_rank(r)
    if r.mapping.parcels_act_on != "all_parcels" or len(r.parcels) < 2 or arrival < 0 or rank < arrival:
        return rank
    slowest = min((p.reached for p in r.parcels.values() if not p.lost), default=rank)
    return max(arrival - 1, min(rank, slowest))


def log_held(r: ReturnState, rank: int, gated: int) -> None:
    waiting = [p.tracking_number for p in r.parcels.values() if not p.lost and p.reached < rank]
    r.log("parcel", f"held before {r.flow.milestones[gated + 1]}: waiting for parcel(s) {', '.join(waiting)}")


def mark_lost(r: ReturnState, tracking_number: str) -> None:
    """An operator gave up on a parcel: its items count as missing (the mapping's rule decides stock and money)."""
    parcel = r.parcels[tracking_number]
    parcel.lost = True
    for item in r.items.values():
        if item.item_id in parcel.item_ids:
            item.grade = None
    parcels_changed(r)


# ---------------------------------------------------------------- which items a step acts on


def parcel_of(r: ReturnState, item: ItemStatus) -> ParcelStatus | None:
    return next((p for p in r.parcels.values() if item.item_id in p.item_ids), None)


def in_hand(r: ReturnState, item: ItemStatus) -> bool:
    """Acting per parcel, an item counts once its parcel is in (or, before any parcel is, for work due on drop-off);
    otherwise always."""
    if not per_parcel(r) or not any(p.arrived_at for p in r.parcels.values()):
        return True
    parcel = parcel_of(r, item)
    return parcel is None or parcel.arrived_at is not None or parcel.lost


def items_in_hand(r: ReturnState) -> list[ItemStatus]:
    return [item for item in r.items.values() if in_hand(r, item)]


def items_to_refund(r: ReturnState) -> list[ItemStatus]:
    return [item for item in items_in_hand(r) if item.item_id not in r.refunded_items]


# ---------------------------------------------------------------- rounds (each_parcel)


def awaiting_parcels(r: ReturnState) -> bool:
    """A per-parcel return that reached its end with parcels still to come stays open for them."""
    return per_parcel(r) and bool(outstanding(r)) and r.state in r.flow.milestones


def round_key(r: ReturnState, key: str) -> str:
    return f"round{r.parcel_round}:{key}" if r.parcel_round else key


def round_part(r: ReturnState) -> str:
    """What tells this round's refund apart from the others' (the parcels it settles); '' for the first."""
    if not r.parcel_round:
        return ""
    return "+".join(sorted(p.tracking_number for p in r.parcels.values() if p.round == r.parcel_round))


def settle_round(r: ReturnState) -> None:
    for item in items_in_hand(r):
        r.settled_items.add(item.item_id)
    for parcel in r.parcels.values():
        if (parcel.arrived_at or parcel.lost) and parcel.round is None:
            parcel.round = r.parcel_round


def next_round(r: ReturnState) -> str | None:
    """A late parcel of a per-parcel return that had settled: the milestone to walk again from (the one before
    arrival, done in the first round), with the round's target set; None when no round is due."""
    if not per_parcel(r) or not r.flow.is_terminal(r.state) or r.state not in r.flow.milestones:
        return None
    fresh = [p for p in r.parcels.values() if p.arrived_at and p.round is None]
    if not fresh or not r.state_complete:
        return None
    arrival = r.flow.events.get("received")
    if arrival not in r.flow.milestones:
        return None
    r.parcel_round += 1
    for parcel in fresh:
        parcel.round = r.parcel_round
    r.finished_at = None
    start = r.flow.rank(arrival)
    r.target_rank = start
    graded = r.flow.events.get("inspected")
    new_items = [i for i in items_in_hand(r) if i.item_id not in r.settled_items]
    if graded in r.flow.milestones and new_items and all(i.grade is not None for i in new_items):
        r.target_rank = max(start, r.flow.rank(graded))
    r.log("parcel", f"round {r.parcel_round}: parcel(s) {round_part(r)} arrived after the others")
    return r.flow.milestones[start - 1]


# ---------------------------------------------------------------- lost parcels


def parcel_deadline(r: ReturnState) -> datetime | None:
    arrivals = [_at(p.arrived_at) for p in r.parcels.values() if p.arrived_at]
    if not arrivals or not outstanding(r) or r.parcel_overdue:
        return None
    after = r.mapping.sla_seconds.get("parcel_lost_after", DEFAULT_SLA_SECONDS["parcel_lost_after"])
    return min(arrivals) + timedelta(seconds=after)


def parcel_sla_due(r: ReturnState, now: datetime) -> bool:
    deadline = parcel_deadline(r)
    return deadline is not None and now >= deadline


def flag_lost_parcel(r: ReturnState) -> None:
    first = min((p for p in r.parcels.values() if p.arrived_at), key=lambda p: _at(p.arrived_at or ""))
    missing = outstanding(r)
    r.parcel_overdue = missing[0].tracking_number
    numbers = ", ".join(p.tracking_number for p in missing)
    after = r.mapping.sla_seconds.get("parcel_lost_after", DEFAULT_SLA_SECONDS["parcel_lost_after"])
    detail = (
        f"SLA: parcel {numbers} not arrived {show_duration(after)} after parcel {first.tracking_number} did"
        f" ({(first.arrived_at or '')[:10]}): chase the carrier or declare it lost"
    )
    r.log("sla", detail)
    r.flag_for("parcel", detail)
