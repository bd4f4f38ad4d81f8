"""The commands in docs/ are the ones the tests run: each override command names a real update of the workflow
and its JSON input fits that update's argument."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex

from temporalio.workflow import _Definition

from engine.workflow.messages import DispositionOverride, OperatorAction, ParcelLost
from engine.workflow.return_workflow import ReturnWorkflow
from tests.paths import REPO_ROOT

ARGUMENTS = {"override_disposition": DispositionOverride, "parcel_lost": ParcelLost}


def doc_commands() -> list[list[str]]:
    commands = []
    for path in sorted((REPO_ROOT / "docs").glob("*.md")):
        for line in path.read_text().splitlines():
            if line.startswith("temporal workflow update execute") or line.startswith("temporal workflow signal"):
                commands.append(shlex.split(line))
    return commands


def test_docs_show_every_override() -> None:
    names = {cmd[cmd.index("--name") + 1] for cmd in doc_commands()}
    assert names >= {"hold", "resume", "retry_step", "override_disposition", "force_refund", "skip_refund",
                     "mark_received", "cancel", "parcel_lost"}  # fmt: skip


def test_each_documented_command_matches_the_workflow() -> None:
    definition = _Definition.from_class(ReturnWorkflow)
    assert definition is not None
    updates, signals = set(definition.updates), set(definition.signals)
    for cmd in doc_commands():
        name = cmd[cmd.index("--name") + 1]
        payload = json.loads(cmd[cmd.index("--input") + 1])
        assert re.fullmatch(r"return-[a-z-]+-\(00\)[0-9]+", cmd[cmd.index("-w") + 1])
        assert name in (updates if cmd[2] == "update" else signals), name
        argument = ARGUMENTS.get(name, OperatorAction)
        fields = {f.name for f in dataclasses.fields(argument)}
        assert set(payload) <= fields and {"operator", "reason"} <= set(payload), (name, payload)
        argument(**payload)  # the converter builds the same dataclass from this JSON
