"""Flow definitions (format 2): the lifecycle as data, validated before a workflow ever sees it.

A flow names its states, each of a *kind* (`start`, `milestone`, `terminal`); the order of its milestones; which
canonical event moves a return to which state; and the steps each state runs, every one a `{step, with, when}`
from the catalog (`engine.definitions.catalog`). The interpreter knows kinds and declared transitions, never a
state's or a step's name.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from engine.definitions.catalog import CATALOG
from engine.definitions.durations import parse_duration
from engine.definitions.schema_check import schema_problems
from engine.definitions.yamlfile import LoadedYaml, read_yaml
from engine.errors import DefinitionError

StateKind = Literal["start", "milestone", "terminal"]
EVENT_KINDS = ("registered", "in_transit", "received", "inspected", "cancelled")  # canonical events (translate)
FORMAT = 2


@dataclass
class StepCall:
    """One step as a flow lists it."""

    step: str
    params: dict[str, Any] = field(default_factory=dict)  # the YAML's `with:`
    when: str | None = None  # JMESPath over {mapping, return}: the step runs only when it is truthy
    on_reaching: str | None = None  # JMESPath naming a milestone: run there already (once per return)
    outcomes: dict[str, str] = field(default_factory=dict)  # outcome -> state (the YAML's `on_<outcome>:`)

    @property
    def key(self) -> str:
        """Identity for "once": the step with its parameters (two tags are two steps)."""
        return self.step if not self.params else f"{self.step}:{json.dumps(self.params, sort_keys=True)}"


@dataclass
class SlaDef:
    within_seconds: int
    reason: str


@dataclass
class StateDef:
    name: str
    kind: StateKind = "milestone"
    steps: list[StepCall] = field(default_factory=list)
    then: str | None = None
    allowed_from: list[str] | None = None  # terminals: the states it may be entered from (None: any)
    sla: SlaDef | None = None
    description: str = ""


@dataclass
class FlowDef:
    """What a workflow interprets. Carried in the workflow's start input, hence pinned in its history."""

    name: str
    version: int
    content_hash: str
    milestones: list[str]
    events: dict[str, str]
    states: dict[str, StateDef]
    linger_seconds: int = 30 * 86400
    format: int = FORMAT
    description: str = ""
    source_file: str = ""

    def rank(self, state: str) -> int:
        return self.milestones.index(state) if state in self.milestones else -1

    def is_terminal(self, state: str) -> bool:
        st = self.states.get(state)
        return st is not None and st.kind == "terminal"

    def settles(self, state: str) -> bool:
        """A terminal state that settles (it lists a step moving stock or money), unlike one that closes the return
        without either (cancelled, rejected): what drift checks for stock and refunds, read from the catalog."""
        st = self.states.get(state)
        return st is not None and any(CATALOG[call.step].effect for call in st.steps if call.step in CATALOG)

    @property
    def start(self) -> str:
        return self.milestones[0]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}#{self.content_hash[:12]}"

    def later_steps(self) -> list[tuple[StateDef, StepCall]]:
        """Steps a mapping may bring forward (`on_reaching`), in flow order."""
        return [(st, call) for st in self.states.values() for call in st.steps if call.on_reaching]


def flow_changes(current: FlowDef, proposed: FlowDef) -> list[str]:
    """What a proposed flow changes, state by state, in words (`returns flows diff`)."""
    changes = []
    for key in ("milestones", "events", "linger_seconds"):
        if getattr(current, key) != getattr(proposed, key):
            changes.append(f"{key}: {getattr(current, key)} -> {getattr(proposed, key)}")
    for name in sorted(set(current.states) | set(proposed.states)):
        old, new = current.states.get(name), proposed.states.get(name)
        if old is None or new is None:
            changes.append(f"state {name}: {'added' if old is None else 'removed'}")
            continue
        old_steps, new_steps = [c.key for c in old.steps], [c.key for c in new.steps]
        if old_steps != new_steps:
            changes.append(f"state {name}: steps {old_steps} -> {new_steps}")
        for attr in ("kind", "then", "allowed_from", "sla"):
            if getattr(old, attr) != getattr(new, attr):
                changes.append(f"state {name}: {attr} {getattr(old, attr)} -> {getattr(new, attr)}")
        for before, after in zip(old.steps, new.steps, strict=False):
            if before.key == after.key and (before.when, before.on_reaching, before.outcomes) != (
                after.when, after.on_reaching, after.outcomes
            ):  # fmt: skip
                changes.append(f"state {name}: {after.step} conditions changed")
    return changes


def step_call(raw: dict[str, Any]) -> StepCall:
    outcomes = {key.removeprefix("on_"): str(value) for key, value in raw.items() if key.startswith("on_")}
    outcomes.pop("reaching", None)
    return StepCall(raw["step"], dict(raw.get("with") or {}), raw.get("when"), raw.get("on_reaching"), outcomes)


def flow_from_yaml(doc: LoadedYaml) -> FlowDef:
    from engine.definitions.flow_checks import semantic_problems

    schema = schema_problems(doc, "flow.schema.json")
    semantic = semantic_problems(doc, schema_failed=bool(schema))
    # An unknown `with:` key is said once, by the check that knows the step (the schema says it to editors).
    owned = {p.path for p in semantic if ".with." in p.path}
    problems = [p for p in schema if p.path not in owned] + semantic
    if problems:
        raise DefinitionError(sorted(problems, key=lambda p: (p.line, p.column)))
    data = doc.data
    states: dict[str, StateDef] = {}
    for name, st in data["states"].items():
        sla = st.get("sla")
        states[name] = StateDef(
            name=name,
            kind=st.get("kind", "milestone"),
            steps=[step_call(raw) for raw in st.get("steps") or []],
            then=st.get("then"),
            allowed_from=st.get("allowed_from"),
            sla=SlaDef(parse_duration(sla["within"]), sla["reason"]) if sla else None,
            description=st.get("description", ""),
        )
    return FlowDef(
        name=data["name"],
        version=data["version"],
        content_hash=doc.content_hash,
        milestones=list(data["milestones"]),
        events=dict(data["events"]),
        states=states,
        linger_seconds=parse_duration(data.get("linger", "30d")),
        description=data.get("description", ""),
        source_file=doc.file,
    )


def load_flow(path: Path) -> FlowDef:
    return flow_from_yaml(read_yaml(path))


def load_flows(folder: Path) -> dict[str, FlowDef]:
    """Every flow in a folder, by name; the first problem file stops the load with all its problems."""
    flows = {}
    for path in sorted(folder.glob("*.yaml")):
        flow = load_flow(path)
        flows[flow.name] = flow
    return flows
