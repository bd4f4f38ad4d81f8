"""`returns legacy status` against a real Temporal: exit 1 listing the returns still on the first workflow, 0 once
none runs (the first workflow can then be retired)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from engine.cli.legacy import RUNNING
from engine.workflow.legacy.definitions_v1 import ReturnStart
from engine.workflow.legacy.workflow_v1 import LegacyReturnWorkflow
from tests.paths import REPO_ROOT

RECORDED = REPO_ROOT / "tests" / "fixtures" / "histories" / "v1-castore-refunded-lingering.json"


def recorded_start() -> ReturnStart:
    """The start input a return on the first workflow was recorded with."""
    events = WorkflowHistory.from_json("recorded", json.loads(RECORDED.read_text())).events
    payload = events[0].workflow_execution_started_event_attributes.input.payloads[0]
    return DataConverter.default.payload_converter.from_payload(payload, ReturnStart)


async def legacy_status(client: Client) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TEMPORAL_ADDRESS": client.service_client.config.target_host,
           "TEMPORAL_NAMESPACE": client.namespace, "RETURNS_PAYLOAD_ENCRYPTION": "optional"}  # fmt: skip
    command = [sys.executable, "-m", "engine", "legacy", "status", "--show", "3"]
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, env=env, timeout=60)


async def visible(client: Client, count: int) -> None:
    """Visibility lags the start and the end of a workflow a little: wait until it shows `count` running."""
    deadline = time.monotonic() + 20
    while (await client.count_workflows(RUNNING)).count != count:
        assert time.monotonic() < deadline, f"visibility never showed {count} running"
        await asyncio.sleep(0.2)


async def test_legacy_status_counts_the_returns_still_on_the_first_workflow(temporal_env: WorkflowEnvironment) -> None:
    client = temporal_env.client
    await visible(client, 0)
    none = await legacy_status(client)
    assert none.returncode == 0, none.stdout + none.stderr
    assert "no ReturnWorkflow running; the first workflow can be retired" in none.stdout

    # Started on a queue no worker polls: it stays running, as a return lingering on an old worker's queue would.
    wf_id = f"return-castore-legacy-{uuid.uuid4()}"
    handle = await client.start_workflow(LegacyReturnWorkflow.run, recorded_start(), id=wf_id,
                                         task_queue=f"legacy-{uuid.uuid4()}")  # fmt: skip
    try:
        await visible(client, 1)
        some = await legacy_status(client)
        assert some.returncode == 1, some.stdout + some.stderr
        assert "1 ReturnWorkflow still running; keep it registered" in some.stdout and f"  {wf_id}\n" in some.stdout
    finally:
        await handle.terminate("test cleanup")
    await visible(client, 0)
    assert (await legacy_status(client)).returncode == 0
