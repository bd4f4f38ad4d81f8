"""Registry requests and records."""

from dataclasses import dataclass, field

from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef


def registry_id(brand: str) -> str:
    return f"mapping-registry-{brand}"


@dataclass
class VersionRecord:
    number: int
    version: str
    deployed_by: str
    deployed_at: str
    note: str
    source_file: str


@dataclass
class RegistryState:
    """Everything the registry holds; carried across continue-as-new."""

    brand: str
    versions: list[VersionRecord] = field(default_factory=list)
    mappings: dict[str, MappingDef] = field(default_factory=dict)
    active: str | None = None
    log: list[str] = field(default_factory=list)


@dataclass
class DeployRequest:
    mapping: MappingDef
    operator: str
    note: str = ""


@dataclass
class RollbackRequest:
    to: str  # "v3", "3" or a version hash (prefix)
    operator: str
    reason: str


@dataclass
class DeployResult:
    number: int
    version: str
    created: bool
    message: str


@dataclass
class ActiveMapping:
    number: int
    version: str
    mapping: MappingDef
    deployed_by: str
    deployed_at: str


@dataclass
class RegistryHistory:
    brand: str
    active: str | None
    versions: list[VersionRecord]
    log: list[str]


def flow_registry_id(name: str) -> str:
    return f"flow-registry-{name}"


@dataclass
class FlowRegistryState:
    """Every deployed version of one flow; carried across continue-as-new."""

    name: str
    versions: list[VersionRecord] = field(default_factory=list)
    flows: dict[str, FlowDef] = field(default_factory=dict)
    active: str | None = None
    log: list[str] = field(default_factory=list)


@dataclass
class FlowDeployRequest:
    flow: FlowDef
    operator: str
    note: str = ""


@dataclass
class ActiveFlow:
    number: int
    version: str
    flow: FlowDef
    deployed_by: str
    deployed_at: str


def flow_version(flow: FlowDef) -> str:
    """A flow's version is its content (the hash), as a mapping's is."""
    return flow.content_hash[:16]
