"""The definitions the first workflow was started with (flow format 1), as its histories carry them."""

from dataclasses import dataclass, field

from engine.definitions.mapping import MappingDef


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


@dataclass
class ReturnStart:
    brand: str
    rebound_return_id: str
    flow: FlowDef
    mapping: MappingDef
    activity_timeout_seconds: int = 30
    max_activity_attempts: int = 8
    search_attributes: bool = True
