"""Immutable, numbered, content-hashed versions and which one is active: the bookkeeping both registries (brand
mappings, flows) share. Pure and deterministic: it runs inside their workflows."""

from __future__ import annotations

from typing import Any, Protocol

from engine.registry.messages import DeployResult, VersionRecord


class Versioned(Protocol):
    versions: list[VersionRecord]
    active: str | None
    log: list[str]


def find(state: Versioned, ref: str) -> VersionRecord | None:
    """`v3`, `3` or a version hash prefix (6 characters at least)."""
    text = ref.strip().lower().removeprefix("v")
    for record in state.versions:
        if text.isdigit() and record.number == int(text):
            return record
        if not text.isdigit() and len(text) >= 6 and record.version.startswith(text):
            return record
    return None


def deploy(state: Versioned, documents: dict[str, Any], version: str, document: Any, *, operator: str, note: str,
           source_file: str, now: str) -> DeployResult:  # fmt: skip
    """Store a new version and make it active; the same content again re-activates the version it already is."""
    existing = next((r for r in state.versions if r.version == version), None)
    if existing is not None:
        if state.active == version:
            return DeployResult(existing.number, version, False, f"v{existing.number} is already active")
        state.active = version
        state.log.append(f"{now} {operator}: re-activated v{existing.number} ({note})")
        return DeployResult(existing.number, version, False, f"re-activated v{existing.number}")
    record = VersionRecord(len(state.versions) + 1, version, operator, now, note, source_file)
    state.versions.append(record)
    documents[version] = document
    state.active = version
    state.log.append(f"{now} {operator}: deployed v{record.number} {version} ({note})")
    return DeployResult(record.number, version, True, f"deployed v{record.number}")


def rollback(state: Versioned, record: VersionRecord, *, operator: str, reason: str, now: str) -> DeployResult:
    state.active = record.version
    state.log.append(f"{now} {operator}: rolled back to v{record.number} ({reason})")
    return DeployResult(record.number, record.version, False, f"v{record.number} is active again")


def check_rollback(state: Versioned, to: str, *, operator: str, reason: str, what: str) -> None:
    record = find(state, to)
    if record is None:
        known = ", ".join(f"v{r.number}" for r in state.versions) or "none"
        raise ValueError(f"no version {to!r} for {what} (known: {known})")
    if record.version == state.active:
        raise ValueError(f"v{record.number} is already active")
    if not operator.strip() or not reason.strip():
        raise ValueError("operator and reason are required")


def active_record(state: Versioned) -> VersionRecord | None:
    return next((r for r in state.versions if r.version == state.active), None)
