"""`returns drift`: run the brands' reconciliations now, from the environment, while polling the drift queue.

Each brand is judged by its *deployed* mapping (the registry's active version: the rules new returns get), as the
scheduled runs in the worker are; a brand never deployed falls back to its file, and the command says so."""

from __future__ import annotations

import sys

import httpx

from engine.definitions.mapping import MappingDef, load_mappings
from engine.drift.activities import DriftActivities
from engine.drift.schedule import ensure_drift_schedule, run_now
from engine.drift.worker import build_drift_worker
from engine.drift.workflow import DriftInput, DriftResult
from engine.registry.client import deployed_mappings
from engine.settings import Settings
from engine.settings.environment import env_given, env_value
from engine.temporal.connection import connect
from engine.workers.build import build_registry_worker


def _env(name: str) -> str:
    value = env_given(name)
    if not value:
        raise LookupError(f"set {name}")
    return value


async def run_drift(*, brand: str | None = None, alert_url: str | None = None) -> list[DriftResult]:
    settings = Settings.from_env()
    files = load_mappings(settings.mappings_dir) if settings.mappings_dir else {}
    rebound_url, rebound_token = _env("REBOUND_API_URL"), _env("REBOUND_API_TOKEN")
    alert_url = alert_url or env_given("DRIFT_ALERT_URL")
    task_queue = str(env_value("DRIFT_TASK_QUEUE"))
    client = await connect(settings)
    results = []
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0)) as http:
        async with build_registry_worker(client):
            deployed = await deployed_mappings(client)
            known = {**files, **deployed}
            brands = [brand] if brand else sorted(known)
            for name in brands:
                if name not in known:
                    raise LookupError(f"no deployed mapping for brand {name!r} (nor a file in RETURNS_MAPPINGS_DIR)")

            async def mapping(name: str) -> MappingDef:
                return deployed.get(name) or files[name]

            activities = DriftActivities(client, settings, http, rebound_api_url=rebound_url,
                                         rebound_api_token=rebound_token, mappings=mapping,
                                         alert_url=alert_url)  # fmt: skip
            async with build_drift_worker(client, activities, task_queue=task_queue):
                for name in brands:
                    judged_by = await mapping(name)
                    if name not in deployed:
                        print(f"drift: {name} has no deployed mapping; judging by {judged_by.source_file}",
                              file=sys.stderr)  # fmt: skip
                    inp = DriftInput(name, workflow_task_queue=settings.task_queue)
                    sid = await ensure_drift_schedule(client, judged_by, inp, task_queue=task_queue)
                    results.append(await run_now(client, sid, timeout=3600))
    return results
