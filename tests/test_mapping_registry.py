"""Deployed mappings: versions, rollback, preview and diff from the CLI; running returns keep their version."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from engine.definitions.mapping import load_mapping
from engine.registry.client import ActiveMappings, deploy
from engine.workers.build import build_registry_worker
from engine.workers.starter import deliver
from engine.workflow.messages import workflow_id
from tests.conftest import Harness
from tests.paths import REPO_ROOT

CASTORE = REPO_ROOT / "mappings" / "castore.yaml"
# v2 sends grade A to the outlet and refunds grade C at 50 %.
V2_CHANGES = [
    ("A: {disposition: restock, location: dc,", "A: {disposition: restock, location: outlet,"),
    ("processing_required, refund_percent: 100}", "processing_required, refund_percent: 50}"),
]


def v2_file(tmp_path: Path) -> Path:
    text = CASTORE.read_text()
    for old, new in V2_CHANGES:
        text = text.replace(old, new)
    path = tmp_path / "castore.yaml"
    path.write_text(text)
    return path


def cli(env: WorkflowEnvironment, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "TEMPORAL_ADDRESS": env.client.service_client.config.target_host}
    return subprocess.run(
        [sys.executable, "-m", "engine", "mappings", *args], capture_output=True, text=True, env=environ, timeout=120
    )


@pytest.fixture
async def registry_worker(temporal_env: WorkflowEnvironment):  # type: ignore[no-untyped-def]
    async with build_registry_worker(temporal_env.client):
        yield


async def test_return_started_under_v1_finishes_under_v1(
    temporal_env: WorkflowEnvironment, harness: Harness, registry_worker: None, tmp_path: Path
) -> None:
    client = temporal_env.client
    v1 = load_mapping(CASTORE)
    v2 = load_mapping(v2_file(tmp_path))
    await deploy(client, v1, operator="test", note="v1")
    active = ActiveMappings(client, ttl_seconds=0)
    b = harness.builder
    old = b.new("started under v1", "castore", lines=1)
    b.returned(old, 0, 1, "A")
    b.lifecycle(old)
    new = b.new("started under v2", "castore", lines=1)
    b.returned(new, 0, 1, "A")
    b.lifecycle(new)
    harness.seed(old, new)

    async def push(sc, payload) -> None:  # type: ignore[no-untyped-def]
        mapping = await active.get(sc.brand)
        from engine.rebound.translate import translate

        event = translate(payload, mapping).event
        assert event is not None
        await deliver(client, event, flow=harness.flow, mapping=mapping, task_queue=harness.settings.task_queue,
                      start_options=harness.start_options)  # fmt: skip

    await push(old, old.pushes[0])  # registered under v1
    await harness.wait_state(old, "requested")
    result = await deploy(client, v2, operator="test", note="grade A to the outlet")
    assert result.created and result.version == v2.version
    for payload in old.pushes[1:]:
        await push(old, payload)
    for payload in new.pushes:
        await push(new, payload)
    finished_old = await harness.wait_state(old, "refunded")
    finished_new = await harness.wait_state(new, "refunded")

    dc, outlet = v1.locations["dc"].id, v1.locations["outlet"].id
    assert finished_old.mapping_version == v1.version
    assert finished_old.restocked == {f"{old.order_lines[0].sku}@{dc}": 1}
    assert finished_new.mapping_version == v2.version
    assert finished_new.restocked == {f"{new.order_lines[0].sku}@{outlet}": 1}
    query = f"MappingVersion = '{v1.version}' AND WorkflowId = '{workflow_id('castore', old.rebound_return_id)}'"
    for _ in range(50):
        if [w async for w in client.list_workflows(query)]:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("MappingVersion search attribute does not show v1")
    await deploy(client, v1, operator="test", note="back to the shipped mapping")


async def test_cli_deploy_history_rollback_diff_preview(
    temporal_env: WorkflowEnvironment, harness: Harness, tmp_path: Path
) -> None:
    v1 = load_mapping(CASTORE)
    v2_path = v2_file(tmp_path)
    v2 = load_mapping(v2_path)

    first = cli(temporal_env, "deploy", str(CASTORE), "--operator", "ana", "--note", "shipped")
    assert first.returncode == 0, first.stderr
    assert "castore:" in first.stdout and v1.version in first.stdout
    second = cli(temporal_env, "deploy", str(v2_path), "--operator", "ben", "--note", "grade A to outlet")
    assert second.returncode == 0, second.stderr
    assert f"(version {v2.version}) by ben" in second.stdout
    again = cli(temporal_env, "deploy", str(v2_path), "--operator", "ben")
    assert "already active" in again.stdout

    history = cli(temporal_env, "history", "castore")
    assert history.returncode == 0
    active_lines = [line for line in history.stdout.splitlines() if line.startswith("*")]
    assert len(active_lines) == 1 and v2.version in active_lines[0]
    assert "ben: deployed" in history.stdout or "ben: re-activated" in history.stdout  # the audit log
    assert v1.version in history.stdout

    # a sample inspection push: grade A and C items
    b = harness.builder
    sc = b.new("preview sample", "castore", lines=2)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, "C")
    b.lifecycle(sc)
    event_file = tmp_path / "inspection.json"
    event_file.write_text(json.dumps(sc.pushes[-1]))
    diff = cli(temporal_env, "diff", "castore", str(CASTORE), "--event", str(event_file))
    assert diff.returncode == 0, diff.stderr
    assert "grades.A.location: outlet -> dc" in diff.stdout
    assert "grades.C.refund_percent: 50 -> 100" in diff.stdout
    assert "CHANGED" in diff.stdout and "1 of 1 return(s) would change" in diff.stdout

    rollback = cli(
        temporal_env, "rollback", "castore", "--to", v1.version, "--operator", "ana", "--reason", "outlet closed"
    )
    history = cli(temporal_env, "history", "castore")
    number = next(
        line.split()[1] for line in history.stdout.splitlines() if v1.version in line and line.startswith("*")
    )
    assert rollback.returncode == 0 and "is active again" in rollback.stdout, rollback.stdout + rollback.stderr
    refused = cli(temporal_env, "rollback", "castore", "--to", number, "--operator", "ana", "--reason", "again")
    assert refused.returncode == 1 and "already active" in refused.stdout
    unknown = cli(temporal_env, "rollback", "castore", "--to", "v999", "--operator", "ana", "--reason", "typo")
    assert unknown.returncode == 1 and "no version 'v999'" in unknown.stdout

    preview = cli(temporal_env, "preview", str(v2_path), "--event", str(event_file))
    assert preview.returncode == 0, preview.stderr
    rows = preview.stdout.splitlines()
    a_row = next(r for r in rows if sc.order_lines[0].sku in r)
    assert (
        "restock @ Castore DC (Manchester), 100%" in a_row and "restock @ Castore Outlet (Cheshire Oaks), 100%" in a_row
    )
    c_row = next(r for r in rows if sc.order_lines[1].sku in r)
    assert "processing_required, 100%" in c_row and "processing_required, 50%" in c_row


async def test_a_brand_that_would_share_another_s_push_secret_is_refused_at_deploy(
    temporal_env: WorkflowEnvironment, registry_worker: None, tmp_path: Path
) -> None:
    """Brand names are one pattern, one secret each: a name outside the pattern, or one that would read the push
    secret of a brand deployed before the pattern was enforced, is refused and nothing is deployed."""
    import dataclasses

    from temporalio.common import WorkflowIDConflictPolicy

    from engine.registry.client import BrandRefused, deployed_brands
    from engine.registry.messages import RegistryState, registry_id
    from engine.registry.workflow import MappingRegistryWorkflow

    client = temporal_env.client
    castore = load_mapping(CASTORE)
    with pytest.raises(BrandRefused, match="does not match"):
        await deploy(client, dataclasses.replace(castore, brand="ACME.CO"), operator="test")
    assert "ACME.CO" not in await deployed_brands(client)

    legacy = await client.start_workflow(  # a registry from before names were checked, as an old deploy left it
        MappingRegistryWorkflow.run, RegistryState(brand="acme_co"), id=registry_id("acme_co"),
        task_queue="mapping-registry", id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )  # fmt: skip
    try:
        for _ in range(100):
            if "acme_co" in await deployed_brands(client):
                break
            await asyncio.sleep(0.1)
        with pytest.raises(BrandRefused, match="REBOUND_SECRET__ACME_CO.*'acme_co'"):
            await deploy(client, dataclasses.replace(castore, brand="acme-co"), operator="test")
        file = tmp_path / "acme-co.yaml"
        file.write_text(CASTORE.read_text().replace("brand: castore", "brand: acme-co"))
        refused = await asyncio.to_thread(cli, temporal_env, "deploy", str(file), "--operator", "test")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert f"{file}: brand:" in refused.stdout and "REBOUND_SECRET__ACME_CO" in refused.stdout
        assert "refused: nothing was deployed" in refused.stdout
        assert "acme-co" not in await deployed_brands(client)
    finally:
        await legacy.terminate("test cleanup")
