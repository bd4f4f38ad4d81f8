"""The definitions the first workflow was started with (flow format 1), as its histories carry them: the flow, and
the brand's mapping as it was when the first workflow was sealed (copied from `engine.definitions.mapping`, so the
live mapping can change without changing what a draining return reads from its start input)."""

import re
from dataclasses import dataclass, field

DEFAULT_OWNERS = {
    "received_not_restocked": "ops",
    "restock_failed": "ops",
    "refund_overdue": "finance",
    "manual_refund": "finance",
    "duplicate_refund": "finance",
    "amount_mismatch": "finance",
    "refunded_not_returned": "finance",
    "return_left_open": "cx",
    "unknown_to_engine": "ops",
    "needs_attention": "ops",
}
DEFAULT_SLA_SECONDS = {
    "refund_after_trigger": 2 * 86400,
    "restock_after_inspection": 86400,
    "close_after_refund": 86400,
    "parcel_lost_after": 7 * 86400,
}


@dataclass
class Location:
    key: str
    id: str
    name: str = ""


@dataclass
class ReasonRule:
    canonical: str
    shopify: str
    fault: str = "customer"
    refund_percent: str = "100"
    enum: str | None = None


@dataclass
class FreeTextRule:
    pattern: str
    code: str


@dataclass
class GradeRule:
    disposition: str
    refund_percent: str
    location: str | None = None


@dataclass
class RefundRules:
    trigger: str
    issuer: str
    method: str = "original_payment"
    store_credit_bonus_percent: str = "0"
    return_shipping_fee: str = "0"
    restocking_fee_percent: str = "0"
    rounding: str = "ROUND_HALF_UP"
    gift_cards: str = "first"


@dataclass
class MappingDef:
    """A brand's mapping as plain data; `version` is the content hash that pins a running return to it."""

    brand: str
    version: str
    shop_domain: str
    api_version: str
    currency: str
    return_window_days: int
    locations: dict[str, Location]
    statuses: dict[str, str]
    fields: dict[str, str]
    reasons: dict[str, ReasonRule]
    default_reason: ReasonRule
    grades: dict[str, GradeRule]
    missing_grade: GradeRule
    unknown_grade: GradeRule
    refund: RefundRules
    free_text: list[FreeTextRule] = field(default_factory=list)
    grade_scale: list[str] = field(default_factory=list)
    sla_seconds: dict[str, int] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_OWNERS))
    source_file: str = ""
    plan: str = "standard"
    flow: str = "return"
    parcels_act_on: str = "all_parcels"

    def reason_for(self, code: str) -> ReasonRule:
        """Exact code, then case-insensitive, then the free-text patterns, then the default."""
        if code in self.reasons:
            return self.reasons[code]
        folded = code.strip().casefold()
        for key, rule in self.reasons.items():
            if key.casefold() == folded:
                return rule
        for text_rule in self.free_text:
            if re.search(text_rule.pattern, code, re.IGNORECASE):
                return self.reasons[text_rule.code]
        return self.default_reason

    def grade_for(self, grade: str | None) -> GradeRule:
        if grade is None:
            return self.missing_grade
        return self.grades.get(grade, self.unknown_grade)

    def location_id(self, key: str | None) -> str | None:
        return self.locations[key].id if key else None


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
