"""How long the event store keeps what it holds, and what a purge removed.

- Rejected, late and replayed held events: `RETURNS_HELD_RETENTION` (default 30d), counted from when the push was
  held, or for a replayed one from its replay. A replayed event's body is cleared when it is replayed (it is only
  kept to replay it); the row stays as the record of what happened until it is purged.
- Failed held events: `RETURNS_FAILED_RETENTION`, unset by default: never purged, because a failed push not yet
  replayed is the only copy of an event Rebound sent. A duration opts in.
- Accepted events' dedupe keys (`state = 'accepted'`): `RETURNS_ACCEPTED_RETENTION` (default 30d), counted from the
  hand-off. A copy of a purged event that arrives later is handed to Temporal again; the return workflow dedupes by
  event id too, so it changes nothing there.

Each accepts a duration ("30d", "12h", "2w") or `never`. No I/O here: workflow code imports this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from engine.definitions.durations import duration_setting, show_duration
from engine.settings.environment import env_given

# Rows deleted per statement (SQLite: per write transaction): a big purge never holds SQLite's write lock or a
# PostgreSQL transaction for long, and pushes arriving meanwhile are written between batches.
PURGE_BATCH = 1000


def _retention(env: Mapping[str, str] | None, name: str) -> int | None:
    return duration_setting(name, str(env_given(name, env)), never=True)


@dataclass(frozen=True)
class RetentionPolicy:
    """Seconds each kind is kept; None: never purged."""

    held_seconds: int | None = _retention({}, "RETURNS_HELD_RETENTION")  # the declared defaults: 30d,
    failed_seconds: int | None = _retention({}, "RETURNS_FAILED_RETENTION")  # never,
    accepted_seconds: int | None = _retention({}, "RETURNS_ACCEPTED_RETENTION")  # 30d

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionPolicy:
        return cls(
            held_seconds=_retention(env, "RETURNS_HELD_RETENTION"),
            failed_seconds=_retention(env, "RETURNS_FAILED_RETENTION"),
            accepted_seconds=_retention(env, "RETURNS_ACCEPTED_RETENTION"),
        )

    def describe(self) -> str:
        """For the worker's startup line: `held 30d, failed kept, accepted 30d`."""
        return ", ".join(f"{kind} {_shown(seconds)}" for kind, seconds in self.by_kind().items())

    def by_kind(self) -> dict[str, int | None]:
        return {"held": self.held_seconds, "failed": self.failed_seconds, "accepted": self.accepted_seconds}


@dataclass
class PurgeResult:
    """Rows a purge deleted (or, for a dry run, would delete), per kind."""

    rejected: int = 0
    late: int = 0
    replayed: int = 0
    failed: int = 0
    accepted: int = 0

    def counts(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @property
    def total(self) -> int:
        return sum(self.counts().values())


@dataclass(frozen=True)
class PurgeRule:
    """What one kind's purge deletes, for both stores to render in their SQL: rows of `table` whose `column` is
    `value`, older than `seconds` counted from `since`, leaving those a replay has claimed when `unclaimed`."""

    kind: str  # a PurgeResult field
    table: str
    key: str
    column: str
    since: str  # an SQL expression both stores understand
    unclaimed: bool
    seconds: int

    @property
    def value(self) -> str:
        return "accepted" if self.kind == "accepted" else self.kind


# The kinds a purge goes through, and which policy figure applies to each.
PURGED_KINDS: tuple[tuple[str, str], ...] = (
    ("rejected", "held"),
    ("late", "held"),
    ("replayed", "held"),
    ("failed", "failed"),
    ("accepted", "accepted"),
)


def purge_rules(policy: RetentionPolicy) -> list[PurgeRule]:
    """One rule per kind the policy purges (a kind kept forever has none)."""
    rules = []
    for kind, figure in PURGED_KINDS:
        seconds = policy.by_kind()[figure]
        if seconds is None:
            continue
        if kind == "accepted":
            rules.append(PurgeRule(kind, "accepted_events", "event_id", "state", "accepted_at", False, seconds))
        elif kind == "replayed":  # counted from the replay: the row records what happened
            rules.append(PurgeRule(kind, "held_events", "id", "status", "COALESCE(replayed_at, received_at)", False,
                                   seconds))  # fmt: skip
        else:
            rules.append(PurgeRule(kind, "held_events", "id", "status", "received_at", True, seconds))
    return rules


def _shown(seconds: int | None) -> str:
    return "kept" if seconds is None else show_duration(seconds)
