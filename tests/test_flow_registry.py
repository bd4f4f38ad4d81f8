"""Flows are deployed like mappings: immutable versions, history, rollback; new returns take the flow's active
version, a running return keeps the one it started with."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import uuid
from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from engine.cli import main
from engine.definitions.flow import load_flow
from engine.ingest.receiver import Receiver
from engine.ingest.store import open_event_store
from engine.registry.flows import ActiveFlows, active_flow, deploy_flow, flow_history, rollback_flow
from engine.registry.messages import flow_version
from engine.workers.build import build_registry_worker
from tests.conftest import Harness
from tests.paths import REPO_ROOT


async def test_new_returns_take_the_active_flow_and_running_ones_keep_theirs(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    name = f"return-{uuid.uuid4().hex[:8]}"
    standard = (REPO_ROOT / "flows" / "return.yaml").read_text().replace("name: return\n", f"name: {name}\n")
    (tmp_path / "v1.yaml").write_text(standard)
    tagged = standard.replace("      - step: sync_order_status\n    sla:\n      within: 7d",
                              "      - step: sync_order_status\n      - step: tag_order\n        with: {tag: at-hub}\n"
                              "    sla:\n      within: 7d")  # fmt: skip
    (tmp_path / "v2.yaml").write_text(tagged)
    v1, v2 = load_flow(tmp_path / "v1.yaml"), load_flow(tmp_path / "v2.yaml")
    mapping = dataclasses.replace(h.mappings["castore"], flow=name)

    async def mappings(_brand: str) -> object:
        return mapping

    store = await open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    receiver = Receiver(client=h.client, flows=ActiveFlows(h.client, ttl_seconds=0).get, mappings=mappings,  # type: ignore[arg-type]
                        store=store, task_queue=h.settings.task_queue, start_options=h.start_options)  # fmt: skip
    first = h.new_return("on v1", "castore", ("A",), until="arrivedAtHub", seed=False)
    second = h.new_return("on v2", "castore", ("A",), until="arrivedAtHub", seed=False)
    h.seed(first, second)
    async with build_registry_worker(h.client):
        assert (await deploy_flow(h.client, v1, operator="ana", note="first")).message == "deployed v1"
        registered = await receiver.ingest("castore", {}, json.dumps(first.pushes[0]).encode(), authenticated=True)
        assert registered.http_status == 202
        assert (await deploy_flow(h.client, v2, operator="ana", note="tag at the hub")).message == "deployed v2"
        for sc in (first, second):
            for payload in sc.pushes[1 if sc is first else 0 :]:
                await receiver.ingest("castore", {}, json.dumps(payload).encode(), authenticated=True)
        s1 = await h.wait_for(first, lambda s: s.state == "received" and "received:sync_order_status" in s.steps_done)
        s2 = await h.wait_for(second, lambda s: any(k.startswith("tag_order") for k in s.steps_done))
        assert s1.flow == v1.ref and s2.flow == v2.ref
        store_ = h.shopify.store
        assert "at-hub" not in store_.order_summary(h.domain(first), h.order_id(first))["tags"]
        assert "at-hub" in store_.order_summary(h.domain(second), h.order_id(second))["tags"]

        history = await flow_history(h.client, name)
        assert [r.number for r in history.versions] == [1, 2] and history.active == history.versions[1].version
        with pytest.raises(WorkflowUpdateFailedError):
            await rollback_flow(h.client, name, "v2", operator="ana", reason="already active")
        await rollback_flow(h.client, name, "v1", operator="ana", reason="tag not wanted yet")
        assert (await active_flow(h.client, name)).flow.ref == v1.ref
    await store.close()

    # The same through the CLI: diff against the active version, history.
    monkeypatch.setenv("TEMPORAL_ADDRESS", h.client.service_client.config.target_host)
    assert await asyncio.to_thread(main, ["flows", "diff", str(tmp_path / "v2.yaml")]) == 0
    out = capsys.readouterr().out
    assert (
        "state received: steps ['sync_order_status'] -> ['sync_order_status', 'tag_order:{\"tag\": \"at-hub\"}']" in out
    )
    assert await asyncio.to_thread(main, ["flows", "history", name]) == 0
    out = capsys.readouterr().out
    assert "* v1" in out and "  v2" in out and "ana: rolled back to v1 (tag not wanted yet)" in out


async def test_cli_deploys_and_rolls_back_a_flow_as_it_does_a_mapping(
    temporal_env: WorkflowEnvironment,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`returns flows deploy/history/rollback` are the mappings' commands: the same answers and exit codes."""
    name = f"return-{uuid.uuid4().hex[:8]}"
    standard = (REPO_ROOT / "flows" / "return.yaml").read_text().replace("name: return\n", f"name: {name}\n")
    (tmp_path / "v1.yaml").write_text(standard)
    (tmp_path / "v2.yaml").write_text(standard.replace("within: 7d", "within: 8d", 1))
    (tmp_path / "bad.yaml").write_text(f"name: {name}\n")
    v1, v2 = (flow_version(load_flow(tmp_path / f)) for f in ("v1.yaml", "v2.yaml"))
    assert v1 != v2
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_env.client.service_client.config.target_host)

    async def returns(*args: str) -> tuple[int, str]:
        code = await asyncio.to_thread(main, ["flows", *args])
        return code, capsys.readouterr().out

    assert await returns("history", name) == (1, f"flow {name!r} was never deployed\n")
    deploy = ("--operator", "ana", "--note", "first")
    assert await returns("deploy", str(tmp_path / "v1.yaml"), *deploy) == (
        0, f"flow {name}: deployed v1 (version {v1}) by ana\n")  # fmt: skip
    assert await returns("deploy", str(tmp_path / "v1.yaml"), *deploy) == (
        0, f"flow {name}: v1 is already active (version {v1}) by ana\n")  # fmt: skip
    code, out = await returns("deploy", str(tmp_path / "bad.yaml"), *deploy)
    assert code == 1 and out.endswith("refused: the flow is invalid; nothing was deployed\n")
    assert (await returns("deploy", str(tmp_path / "v2.yaml"), "--operator", "ben"))[0] == 0

    rollback = ("--operator", "ana", "--reason", "slower SLA not agreed")
    assert await returns("rollback", name, "--to", "v1", *rollback) == (
        0, f"flow {name}: v1 is active again (version {v1})\n")  # fmt: skip
    assert await returns("rollback", name, "--to", "1", *rollback) == (1, "refused: v1 is already active\n")
    assert await returns("rollback", name, "--to", "v9", *rollback) == (
        1, f"refused: no version 'v9' for flow {name} (known: v1, v2)\n")  # fmt: skip
    code, out = await returns("history", name)
    lines = [re.sub(r"\d{4}-\d\d-\d\dT[\d:+]+", "<at>", line) for line in out.splitlines()]
    assert code == 0
    assert lines[:2] == [f"* v1  {v1}  <at>  ana  first", f"  v2  {v2}  <at>  ben  "]
    assert lines[2:] == [f"  <at> ana: deployed v1 {v1} (first)", f"  <at> ben: deployed v2 {v2} ()",
                         "  <at> ana: rolled back to v1 (slower SLA not agreed)"]  # fmt: skip
