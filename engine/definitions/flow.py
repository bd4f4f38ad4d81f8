"""Flow definitions: the lifecycle as data, validated before a workflow ever sees it."""

from dataclasses import dataclass, field
from pathlib import Path

import jmespath
from jmespath.exceptions import JMESPathError

from engine.definitions.durations import parse_duration
from engine.definitions.schema_check import schema_problems
from engine.definitions.yamlfile import DefinitionError, LoadedYaml, Problem, read_yaml

TERMINAL_KINDS = ("terminal",)


@dataclass
class StepDef:
    name: str
    when: str | None = None


@dataclass
class SlaDef:
    within_seconds: int
    reason: str


@dataclass
class StateDef:
    name: str
    kind: str = "milestone"
    steps: list[StepDef] = field(default_factory=list)
    then: str | None = None
    allowed_from: list[str] | None = None
    sla: SlaDef | None = None


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

    def rank(self, state: str) -> int:
        return self.milestones.index(state) if state in self.milestones else -1

    def is_terminal(self, state: str) -> bool:
        return self.states[state].kind == "terminal"

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}#{self.content_hash[:12]}"


def _semantic_problems(doc: LoadedYaml) -> list[Problem]:
    data = doc.data
    problems: list[Problem] = []
    states: dict[str, dict] = data["states"]
    for i, m in enumerate(data["milestones"]):
        if m not in states:
            problems.append(doc.problem(("milestones", i), f"milestone {m!r} has no entry under states"))
    for kind, target in data["events"].items():
        if target not in states:
            problems.append(doc.problem(("events", kind), f"event {kind!r} targets unknown state {target!r}"))
    for name, st in states.items():
        for key in ("then",):
            if st.get(key) and st[key] not in states:
                problems.append(doc.problem(("states", name, key), f"unknown state {st[key]!r}"))
        for j, src in enumerate(st.get("allowed_from") or []):
            if src not in states:
                problems.append(doc.problem(("states", name, "allowed_from", j), f"unknown state {src!r}"))
        for j, step in enumerate(st.get("steps") or []):
            if isinstance(step, dict) and step.get("when"):
                try:
                    jmespath.compile(step["when"])
                except JMESPathError as exc:
                    problems.append(
                        doc.problem(("states", name, "steps", j, "when"), f"JMESPath does not compile: {exc}")
                    )
    if not any(st.get("kind") == "hold" for st in states.values()):
        problems.append(doc.problem(("states",), "no hold state (kind: hold) for needs_attention"))
    return problems


def flow_from_yaml(doc: LoadedYaml) -> FlowDef:
    problems = schema_problems(doc, "flow.schema.json")
    if not problems:
        problems = _semantic_problems(doc)
    if problems:
        raise DefinitionError(problems)
    data = doc.data
    states: dict[str, StateDef] = {}
    for name, st in data["states"].items():
        steps = [StepDef(s) if isinstance(s, str) else StepDef(s["step"], s.get("when")) for s in st.get("steps", [])]
        sla = st.get("sla")
        states[name] = StateDef(
            name=name,
            kind=st.get("kind", "milestone"),
            steps=steps,
            then=st.get("then"),
            allowed_from=st.get("allowed_from"),
            sla=SlaDef(parse_duration(sla["within"]), sla["reason"]) if sla else None,
        )
    return FlowDef(
        name=data["name"],
        version=data["version"],
        content_hash=doc.content_hash,
        milestones=list(data["milestones"]),
        events=dict(data["events"]),
        states=states,
        linger_seconds=parse_duration(data.get("linger", "30d")),
    )


def load_flow(path: Path) -> FlowDef:
    return flow_from_yaml(read_yaml(path))
