"""Returns sent in several parcels. Rebound lists a return order's parcels (tracking and items); each arrives on
its own day, or never. The brand's mapping chooses: `all_parcels` holds the return before its arrival milestone
until every parcel is in; `each_parcel` acts on each parcel's items as it arrives, in rounds (the first at the
arrival milestone, then one more walk from it per late parcel, with its own step keys and its own refund). A
parcel still missing `parcel_lost_after` the first one arrived is an SLA exception that names its tracking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.definitions.durations import show_duration
    from engine.definitions.mapping import DEFAULT_SLA_SECONDS
    from engine.events import ReturnEvent
    from engine.workflow.facts import ReturnFacts
    from engine.workflow.messages import ItemStatus, ParcelStatus

ARRIVAL_KINDS = ("received", "inspected")  # an inspected parcel has arrived


def _at(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ParcelTracking(ReturnFacts):
    @property
    def per_parcel(self) -> bool:
        return self.mapping.parcels_act_on == "each_parcel" and len(self.parcels) > 1

    def outstanding_parcels(self) -> list[ParcelStatus]:
        return [p for p in self.parcels.values() if p.arrived_at is None and not p.lost]

    def _merge_parcels(self, event: ReturnEvent) -> None:
        for ref in event.parcels:
            known = self.parcels.get(ref.tracking_number)
            if known is None:
                self.parcels[ref.tracking_number] = ParcelStatus(ref.tracking_number, list(ref.item_ids),
                                                                 ref.tracking_url)  # fmt: skip
            else:
                known.item_ids = known.item_ids or list(ref.item_ids)
                known.tracking_url = known.tracking_url or ref.tracking_url
        number = event.tracking_number
        if number and self.parcels and number not in self.parcels:  # a parcel Rebound did not list
            self.parcels[number] = ParcelStatus(number, [], event.tracking_url)
        if not self.parcels:
            return
        # Without a tracking number (an operator, a scan of the whole return) the event is every parcel's.
        concerned = [self.parcels[number]] if number in self.parcels else list(self.parcels.values())
        target = self.flow.events.get(event.kind)
        rank = self.flow.rank(target) if target in self.flow.milestones else -1
        self.parcel_seen_rank = max(self.parcel_seen_rank, rank)
        for parcel in concerned:
            parcel.reached = max(parcel.reached, rank)
            if event.kind in ARRIVAL_KINDS and parcel.arrived_at is None and not parcel.lost:
                parcel.arrived_at = event.occurred_at
                waiting = ", ".join(p.tracking_number for p in self.outstanding_parcels()) or "none"
                self._log("parcel", f"parcel {parcel.tracking_number} arrived; still to come: {waiting}")

    def _parcels_changed(self) -> None:
        """After an event or a parcel declared lost: clear a late parcel's exception, and let a held return go as
        far as its slowest parcel now allows."""
        if self.parcel_overdue and self.parcel_overdue not in {p.tracking_number for p in self.outstanding_parcels()}:
            if self.sla_reason and self.parcel_overdue in self.sla_reason:
                self.sla_reason = None
            self.parcel_overdue = None
            self._upsert()
        allowed = self.gate_for_parcels(self.parcel_seen_rank)
        if allowed > self.target_rank:
            self._log("parcel", f"every parcel has reached {self.flow.milestones[allowed]}: the return goes on")
            self.target_rank = allowed

    def _arrival_rank(self) -> int:
        arrival = self.flow.events.get("received")
        return self.flow.rank(arrival) if arrival in self.flow.milestones else -1

    def gate_for_parcels(self, rank: int) -> int:
        """All-parcels brands: from the arrival milestone on, the return goes only as far as its slowest parcel
        (one not yet in holds it just before arrival; one in but not graded holds it at arrival)."""
        arrival = self._arrival_rank()
        if self.mapping.parcels_act_on != "all_parcels" or len(self.parcels) < 2 or arrival < 0 or rank < arrival:
            return rank
        slowest = min((p.reached for p in self.parcels.values() if not p.lost), default=rank)
        return max(arrival - 1, min(rank, slowest))

    def _log_held(self, rank: int, gated: int) -> None:
        waiting = [p.tracking_number for p in self.parcels.values() if not p.lost and p.reached < rank]
        self._log(
            "parcel", f"held before {self.flow.milestones[gated + 1]}: waiting for parcel(s) {', '.join(waiting)}"
        )

    # ---------------------------------------------------------------- which items a step acts on

    def parcel_of(self, item: ItemStatus) -> ParcelStatus | None:
        return next((p for p in self.parcels.values() if item.item_id in p.item_ids), None)

    def in_hand(self, item: ItemStatus) -> bool:
        """Acting per parcel, an item counts once its parcel is in (or, before any parcel is, for work due on
        drop-off); otherwise always."""
        if not self.per_parcel or not any(p.arrived_at for p in self.parcels.values()):
            return True
        parcel = self.parcel_of(item)
        return parcel is None or parcel.arrived_at is not None or parcel.lost

    def items_in_hand(self) -> list[ItemStatus]:
        return [item for item in self.items.values() if self.in_hand(item)]

    def items_to_refund(self) -> list[ItemStatus]:
        return [item for item in self.items_in_hand() if item.item_id not in self.refunded_items]

    # ---------------------------------------------------------------- rounds (each_parcel)

    def awaiting_parcels(self) -> bool:
        """A per-parcel return that reached its end with parcels still to come stays open for them."""
        return self.per_parcel and bool(self.outstanding_parcels()) and self.state in self.flow.milestones

    def round_key(self, key: str) -> str:
        return f"round{self.parcel_round}:{key}" if self.parcel_round else key

    def round_part(self) -> str:
        """What tells this round's refund apart from the others' (the parcels it settles); '' for the first."""
        if not self.parcel_round:
            return ""
        return "+".join(sorted(p.tracking_number for p in self.parcels.values() if p.round == self.parcel_round))

    def _settle_round(self) -> None:
        for item in self.items_in_hand():
            self.settled_items.add(item.item_id)
        for parcel in self.parcels.values():
            if (parcel.arrived_at or parcel.lost) and parcel.round is None:
                parcel.round = self.parcel_round

    def _start_round_if_due(self) -> bool:
        """A late parcel of a per-parcel return that had settled: walk again from the arrival milestone."""
        if not self.per_parcel or not self.flow.is_terminal(self.state) or self.state not in self.flow.milestones:
            return False
        fresh = [p for p in self.parcels.values() if p.arrived_at and p.round is None]
        if not fresh or not self.state_complete:
            return False
        arrival = self.flow.events.get("received")
        if arrival not in self.flow.milestones:
            return False
        self.parcel_round += 1
        for parcel in fresh:
            parcel.round = self.parcel_round
        self.finished_at = None
        start = self.flow.rank(arrival)
        self.target_rank = start
        graded = self.flow.events.get("inspected")
        new_items = [i for i in self.items_in_hand() if i.item_id not in self.settled_items]
        if graded in self.flow.milestones and new_items and all(i.grade is not None for i in new_items):
            self.target_rank = max(start, self.flow.rank(graded))
        self._log("parcel", f"round {self.parcel_round}: parcel(s) {self.round_part()} arrived after the others")
        self._transition(self.flow.milestones[start - 1])
        self.state_complete = True  # the milestone before arrival was done in the first round
        return True

    # ---------------------------------------------------------------- lost parcels

    def parcel_deadline(self) -> datetime | None:
        arrivals = [_at(p.arrived_at) for p in self.parcels.values() if p.arrived_at]
        if not arrivals or not self.outstanding_parcels() or self.parcel_overdue:
            return None
        after = self.mapping.sla_seconds.get("parcel_lost_after", DEFAULT_SLA_SECONDS["parcel_lost_after"])
        return min(arrivals) + timedelta(seconds=after)

    def parcel_sla_due(self) -> bool:
        deadline = self.parcel_deadline()
        return deadline is not None and workflow.now() >= deadline

    def _flag_lost_parcel(self) -> None:
        first = min((p for p in self.parcels.values() if p.arrived_at), key=lambda p: _at(p.arrived_at or ""))
        missing = self.outstanding_parcels()
        self.parcel_overdue = missing[0].tracking_number
        numbers = ", ".join(p.tracking_number for p in missing)
        after = self.mapping.sla_seconds.get("parcel_lost_after", DEFAULT_SLA_SECONDS["parcel_lost_after"])
        self.sla_reason = (
            f"SLA: parcel {numbers} not arrived {show_duration(after)} after parcel {first.tracking_number} did"
            f" ({(first.arrived_at or '')[:10]}): chase the carrier or declare it lost"
        )
        self._log("sla", self.sla_reason)
        self._upsert()
