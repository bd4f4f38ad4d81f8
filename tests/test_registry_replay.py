"""The registries of both kinds are one implementation: each keeps the Temporal interface its running workflows
have (type name, handlers, argument types), and histories recorded before they were one still replay."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.workflow import _Definition

from engine.definitions.flow import load_flow
from engine.definitions.mapping import load_mapping
from engine.registry.client import MAPPINGS, active, deploy, history, rollback
from engine.registry.flow_workflow import FlowRegistryWorkflow
from engine.registry.flows import FLOWS, active_flow, deploy_flow, rollback_flow
from engine.registry.messages import (
    ActiveFlow,
    ActiveMapping,
    DeployRequest,
    FlowDeployRequest,
    FlowRegistryState,
    RegistryHistory,
    RegistryState,
    RollbackRequest,
    flow_version,
)
from engine.registry.workflow import MappingRegistryWorkflow
from engine.temporal.sandbox import workflow_runner
from engine.workers.build import build_registry_worker
from tests.paths import REPO_ROOT

HISTORIES = Path(__file__).parent / "fixtures" / "registry-histories"


def replayer() -> Replayer:
    return Replayer(workflows=[MappingRegistryWorkflow, FlowRegistryWorkflow], workflow_runner=workflow_runner())


@pytest.mark.parametrize(
    ("cls", "name", "state", "request_type", "active_type"),
    [
        (MappingRegistryWorkflow, "MappingRegistry", RegistryState, DeployRequest, ActiveMapping),
        (FlowRegistryWorkflow, "FlowRegistry", FlowRegistryState, FlowDeployRequest, ActiveFlow),
    ],
)
def test_each_kind_keeps_its_workflow_interface(
    cls: type, name: str, state: type, request_type: type, active_type: type
) -> None:
    """The converter builds each argument from the handler's annotation: inherited handlers must still name the
    kind's own types, or a deploy would arrive as a dict."""
    definition = _Definition.from_class(cls)
    assert definition is not None and definition.name == name and definition.arg_types == [state]
    assert set(definition.updates) == {"deploy", "rollback"} and set(definition.queries) == {"active", "history"}
    assert not definition.signals
    assert definition.updates["deploy"].arg_types == [request_type]
    assert definition.updates["deploy"].validator is not None
    assert definition.updates["rollback"].arg_types == [RollbackRequest]
    assert definition.updates["rollback"].validator is not None
    assert definition.queries["active"].ret_type == active_type | None
    assert definition.queries["history"].ret_type == RegistryHistory


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_registry_history_replays(path: Path) -> None:
    """Recorded by the two registries before they shared their code: deploys, a re-deploy, rollbacks."""
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def test_there_are_recorded_registry_histories_of_both_kinds() -> None:
    names = {p.stem for p in HISTORIES.glob("*.json")}
    assert any(n.startswith(MAPPINGS.workflow_id("")) for n in names)
    assert any(n.startswith(FLOWS.workflow_id("")) for n in names)


async def test_fresh_registry_histories_replay(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    client = temporal_env.client
    brand = "replay-brand"
    (tmp_path / "m.yaml").write_text(
        (REPO_ROOT / "mappings" / "castore.yaml").read_text().replace("brand: castore", f"brand: {brand}")
    )
    (tmp_path / "m2.yaml").write_text(
        (tmp_path / "m.yaml").read_text().replace("refund_percent: 100}", "refund_percent: 50}", 1)
    )
    m1, m2 = load_mapping(tmp_path / "m.yaml"), load_mapping(tmp_path / "m2.yaml")
    flow_name = "replay-flow"
    text = (REPO_ROOT / "flows" / "return.yaml").read_text().replace("name: return\n", f"name: {flow_name}\n")
    (tmp_path / "f1.yaml").write_text(text)
    (tmp_path / "f2.yaml").write_text(text.replace("within: 7d", "within: 8d", 1))
    f1, f2 = load_flow(tmp_path / "f1.yaml"), load_flow(tmp_path / "f2.yaml")
    async with build_registry_worker(client):
        for m in (m1, m2, m2):
            await deploy(client, m, operator="test", note="replay")
        await rollback(client, brand, "v1", operator="test", reason="replay")
        for f in (f1, f2, f1):
            await deploy_flow(client, f, operator="test", note="replay")
        await rollback_flow(client, flow_name, "v2", operator="test", reason="replay")
        assert (await active(client, brand)).version == m1.version
        assert (await history(client, brand)).log[-1].endswith("test: rolled back to v1 (replay)")
        assert (await active_flow(client, flow_name)).version == flow_version(f2)
    for workflow_id in (MAPPINGS.workflow_id(brand), FLOWS.workflow_id(flow_name)):
        recorded = await client.get_workflow_handle(workflow_id).fetch_history()
        # Record a new fixture after a change to the registries (keep the old ones: running registries replay them):
        #   RECORD_REGISTRY_HISTORIES=1 pytest tests/test_registry_replay.py -k fresh
        if os.environ.get("RECORD_REGISTRY_HISTORIES"):
            (HISTORIES / f"{workflow_id}.json").write_text(recorded.to_json())
        result = await replayer().replay_workflow(recorded, raise_on_replay_failure=False)
        assert result.replay_failure is None, result.replay_failure
