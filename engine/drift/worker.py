"""A worker for the drift monitor: its workflow and activities on their own task queue."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from engine.drift.activities import DriftActivities
from engine.drift.workflow import DriftWorkflow
from engine.settings.environment import default_of
from engine.temporal.sandbox import workflow_runner

DRIFT_TASK_QUEUE = default_of("DRIFT_TASK_QUEUE")  # returns-drift


def build_drift_worker(client: Client, activities: DriftActivities, *, task_queue: str = DRIFT_TASK_QUEUE) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[DriftWorkflow],
        activities=activities.all(),
        workflow_runner=workflow_runner(),
    )
