"""What `returns worker` prints when it starts, one function per line: the worker prints these lines, and the sample
in docs/engineer.md is made of the same functions (`sample()`; tests/test_docs_output.py keeps the page in step),
so the page cannot quote a line, or a figure, the worker no longer prints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from engine.settings import Settings
from engine.shopify.plans import ShopLimit

NO_BRANDS = "  no brands yet: deploy a mapping (returns mappings deploy), then restart the worker"
READY = "ready; SIGINT or SIGTERM to stop"
STOPPING = "stopping: finishing the activities in flight ..."


def human(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def connected(settings: Settings, roles: Sequence[str]) -> str:
    return f"worker on {settings.temporal_address} ({settings.namespace}), roles: {', '.join(roles)}"


def returns(task_queue: str) -> str:
    return f"  returns: workflows on {task_queue!r}"


def sla_sweep(every: timedelta, schedule_id: str) -> str:
    return f"  returns: SLAs swept every {human(every)}; schedule {schedule_id}"


def shop(limit: ShopLimit, queue: str) -> str:
    return f"  shops: {limit.domain} ({limit.plan}, {limit.activities_per_second:.1f} activities/s) on {queue}"


def registry(task_queue: str) -> str:
    return f"  registry: {task_queue!r}"


def pull(every: timedelta, schedule_ids: Sequence[str]) -> str:
    return f"  pull: every {human(every)}; schedules {', '.join(schedule_ids) or 'none'}"


def drift(schedule_id: str, every: timedelta) -> str:
    return f"  drift: {schedule_id} every {human(every)}"


def events(every: timedelta, retention: str, schedule_id: str) -> str:
    return f"  events: purge every {human(every)} ({retention}); schedule {schedule_id}"


def sample() -> list[str]:
    """What a worker with every role prints for one brand (castore, a `plus` shop) on a cluster, every other
    setting at its declared default: the sample docs/engineer.md shows."""
    from engine.drift import schedule as drift_schedule
    from engine.ingest import pull as rebound_pull
    from engine.ingest.purge import PURGE_SCHEDULE_ID
    from engine.registry.client import REGISTRY_TASK_QUEUE
    from engine.roles.worker import ROLES, WorkerConfig
    from engine.shopify.plans import shop_task_queue
    from engine.workers.sla_sweep import SWEEP_SCHEDULE_ID

    settings, config = Settings(temporal_address="temporal.internal:7233"), WorkerConfig()
    domain = "castore-uk.myshopify.com"
    return [
        connected(settings, tuple(ROLES)),
        returns(settings.task_queue),
        sla_sweep(config.sla_sweep_every, SWEEP_SCHEDULE_ID),
        shop(ShopLimit(domain, "plus"), shop_task_queue(settings.task_queue, domain)),
        registry(REGISTRY_TASK_QUEUE),
        pull(config.pull_every, [rebound_pull.schedule_id("castore")]),
        drift(drift_schedule.schedule_id("castore"), timedelta(seconds=drift_schedule.DEFAULT_EVERY_SECONDS)),
        events(config.purge_every, config.retention.describe(), PURGE_SCHEDULE_ID),
        READY,
    ]
