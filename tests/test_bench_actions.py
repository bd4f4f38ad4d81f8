"""The formula `make bench` counts Temporal actions per return with (emulators.bench.actions.actions), over recorded
histories (tests/fixtures/histories) whose every event is known, and over a few events none of them holds."""

from __future__ import annotations

import json
from collections import Counter

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from emulators.bench.actions import KINDS, actions, formula
from tests.paths import REPO_ROOT

HISTORIES = REPO_ROOT / "tests" / "fixtures" / "histories"


def recorded(name: str) -> list[HistoryEvent]:
    return list(WorkflowHistory.from_json(name, json.loads((HISTORIES / f"{name}.json").read_text())).events)


def used(counts: Counter[str]) -> dict[str, int]:
    assert set(counts) == set(KINDS)
    return {kind: n for kind, n in counts.items() if n}


def test_a_standard_return_its_signal_with_start_once_and_every_upsert() -> None:
    events = recorded("v5-castore-processed")
    signalled = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
    assert len(signalled) == 5 and signalled[0].event_id == 2  # the start's signal, before the first task
    assert used(actions(events)) == {"workflow started": 1, "signals received": 4, "activities": 7, "timers": 1,
                                     "search attribute upserts": 8}  # fmt: skip
    assert sum(actions(events).values()) == 21


def test_a_patch_marker_counts_its_change_version_upsert_does_not() -> None:
    """9 upserts in the history, one of them TemporalChangeVersion alone (the patch's, exempt); the patch's marker
    is one action."""
    assert used(actions(recorded("castore-shop-queue-duplicates-reordered-damaged"))) == {
        "workflow started": 1, "signals received": 4, "activities": 10, "timers": 1, "search attribute upserts": 8,
        "markers": 1,
    }  # fmt: skip


def test_a_retried_activity_and_updates() -> None:
    assert actions(recorded("v4-castore-lost-refund-response"))["activity retries"] == 1
    counts = actions(recorded("v1-castore-hold-resume-force-refund"))
    assert counts["updates"] == 3 and counts["search attribute upserts"] == 10 and counts["markers"] == 1


def event(event_id: int, kind: int, **attributes: object) -> HistoryEvent:
    return HistoryEvent(event_id=event_id, event_type=kind, **attributes)  # type: ignore[arg-type]


def marker(event_id: int, name: str, task: int) -> HistoryEvent:
    from temporalio.api.history.v1 import MarkerRecordedEventAttributes

    attributes = MarkerRecordedEventAttributes(marker_name=name, workflow_task_completed_event_id=task)
    return event(event_id, EventType.EVENT_TYPE_MARKER_RECORDED, marker_recorded_event_attributes=attributes)


def test_markers_once_per_workflow_task_children_twice_and_a_plain_start() -> None:
    E = EventType
    events = [
        event(1, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        event(2, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
        event(3, E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),  # after the first task: a signal of its own
        event(4, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        *(marker(i, "core_local_activity", task=4) for i in (5, 6, 7)),
        event(8, E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED),
        event(9, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        marker(10, "core_patch", task=9),
        event(11, E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
    ]
    assert used(actions(events)) == {"workflow started": 1, "signals received": 1, "markers": 2,
                                     "child workflows": 2, "signals sent": 1}  # fmt: skip


def test_the_printed_formula_names_every_kind() -> None:
    text = formula()
    assert all(f"**{kind}**" in text for kind in KINDS)
