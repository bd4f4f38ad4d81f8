"""Brand mappings: validated at the edge, then carried by value (and version) into each return's workflow."""

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from engine.definitions.durations import parse_duration
from engine.definitions.schema_check import schema_problems
from engine.definitions.yamlfile import LoadedYaml, Problem, read_yaml
from engine.errors import DefinitionError

DEFAULT_FIELDS = {
    "return_id": "order.reboundOrderId",
    "order_name": "order.clientOrderId",
    "status": "order.statusDescription",
    "occurred_at": "order.timestamp",
    "tracking_number": "order.trackingNumber",
    "tracking_url": "order.trackingUrl",
    "location": "order.location",
    "items": "items",
    "item_id": "reboundItemId",
    "item_sku": "sku",
    "item_quantity": "quantity",
    "item_reason": "reasonCode",
    "item_grade": "grade",
}

# Shopify's standard return reason definitions (ids 1-10 in every shop, API 2026-01+).
STANDARD_REASON_HANDLES = (
    "unknown",
    "changed-my-mind",
    "item-not-as-described",
    "received-the-wrong-item",
    "other-reason",
    "damaged-or-defective",
    "too-small",
    "too-big",
    "style",
    "color",
)

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
EXCEPTION_TYPES = tuple(DEFAULT_OWNERS)
# The one place the SLA defaults live: the mapping, the workflow's refund wait and drift all read these.
DEFAULT_SLA_SECONDS = {
    "refund_after_trigger": 2 * 86400,
    "restock_after_inspection": 86400,
    "close_after_refund": 86400,
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
    plan: str = "standard"  # the shop's Shopify plan: its API rate (engine.shopify.plans)
    flow: str = "return"  # the flow (by name) this brand's returns run on

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


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _semantic_problems(doc: LoadedYaml) -> list[Problem]:
    """What no schema can say: expressions compile, references resolve, every rule is reachable."""
    data = doc.data
    problems: list[Problem] = []
    add = problems.append
    locations = data["shop"]["locations"]
    seen_ids: dict[str, str] = {}
    for key, loc in locations.items():
        if loc["id"] in seen_ids:
            add(doc.problem(("shop", "locations", key, "id"), f"same location id as {seen_ids[loc['id']]!r}"))
        seen_ids[loc["id"]] = key
    for name, expr in (data["rebound"].get("fields") or {}).items():
        try:
            jmespath.compile(expr)
        except JMESPathError as exc:
            add(doc.problem(("rebound", "fields", name), f"JMESPath does not compile: {exc}", "see jmespath.org"))
    if "registered" not in data["rebound"]["statuses"].values():
        add(doc.problem(("rebound", "statuses"), "no status maps to 'registered'", "map Rebound's creation status"))

    grades = data["grades"]
    scale: list[str] = grades["scale"]
    rules: dict[str, Any] = grades["rules"]
    for i, grade in enumerate(scale):
        if grade not in rules:
            add(doc.problem(("grades", "scale", i), f"grade {grade!r} has no rule", f"add grades.rules.{grade}"))
    for grade in rules:
        if grade not in scale:
            hint = _suggest(grade, scale) + "or add it to grades.scale"
            add(
                doc.problem(("grades", "rules", grade), f"rule for {grade!r} is unreachable: not in grades.scale", hint)
            )
    grade_rules: list[tuple[tuple[str, ...], dict[str, Any]]] = [(("grades", "rules", g), r) for g, r in rules.items()]
    grade_rules += [(("grades", k), grades[k]) for k in ("missing", "unknown") if k in grades]
    for path, rule in grade_rules:
        loc = rule.get("location")
        if rule["disposition"] == "restock" and not loc:
            add(doc.problem(path, "restock needs a location", f"add location: one of {', '.join(locations)}"))
        if loc and loc not in locations:
            hint = _suggest(loc, list(locations)) + f"use one of: {', '.join(locations)} (or add it to shop.locations)"
            add(doc.problem(path + ("location",), f"unknown location {loc!r}", hint))
        if loc and rule["disposition"] != "restock":
            add(doc.problem(path + ("location",), f"location is only used by restock, not {rule['disposition']}"))
    if grades["missing"]["disposition"] == "restock":
        add(doc.problem(("grades", "missing", "disposition"), "a missing item cannot be restocked"))

    reasons = data["reasons"]
    known_handles = list(STANDARD_REASON_HANDLES) + list(reasons.get("shop_definitions") or [])
    targets = [(("reasons", "codes", c), r) for c, r in reasons["codes"].items()] + [
        (("reasons", "default"), reasons["default"])
    ]
    for path, rule in targets:
        if rule["shopify"] not in known_handles:
            hint = _suggest(rule["shopify"], known_handles) + "list shop-specific ones under reasons.shop_definitions"
            add(
                doc.problem(
                    path + ("shopify",), f"{rule['shopify']!r} is not a return reason definition of the shop", hint
                )
            )
    folded: dict[str, str] = {}
    for code in reasons["codes"]:
        if code.casefold() in folded:
            add(
                doc.problem(
                    ("reasons", "codes", code),
                    f"unreachable: same code as {folded[code.casefold()]!r} (codes match case-insensitively)",
                )
            )
        folded.setdefault(code.casefold(), code)
    for i, text_rule in enumerate(reasons.get("free_text") or []):
        try:
            re.compile(text_rule["pattern"])
        except re.error as exc:
            add(doc.problem(("reasons", "free_text", i, "pattern"), f"regular expression does not compile: {exc}"))
        if text_rule["code"] not in reasons["codes"]:
            hint = _suggest(text_rule["code"], list(reasons["codes"]))
            add(
                doc.problem(
                    ("reasons", "free_text", i, "code"), f"unknown reason code {text_rule['code']!r}", hint.strip()
                )
            )

    refund = data["refund"]
    if (
        float(refund.get("store_credit_bonus_percent", "0")) > 0
        and refund.get("method", "original_payment") != "store_credit"
    ):
        add(
            doc.problem(
                ("refund", "store_credit_bonus_percent"),
                "a bonus only applies to method: store_credit",
                "set method: store_credit or remove the bonus",
            )
        )
    if (
        refund["issuer"] == "rebound_app"
        and refund.get("method") == "store_credit"
        and float(refund.get("store_credit_bonus_percent", "0")) > 0
    ):
        add(
            doc.problem(
                ("refund", "store_credit_bonus_percent"),
                "unreachable: Rebound's app issues this brand's refunds and bonuses",
            )
        )
    return problems


def mapping_from_yaml(doc: LoadedYaml) -> MappingDef:
    problems = schema_problems(doc, "mapping.schema.json")
    if not problems:
        problems = _semantic_problems(doc)
    if problems:
        raise DefinitionError(problems)
    data = doc.data
    shop = data["shop"]

    def grade(raw: dict[str, Any]) -> GradeRule:
        return GradeRule(raw["disposition"], str(raw["refund_percent"]), raw.get("location"))

    def reason(raw: dict[str, Any]) -> ReasonRule:
        return ReasonRule(
            raw["canonical"],
            raw["shopify"],
            raw.get("fault", "customer"),
            str(raw.get("refund_percent", 100)),
            raw.get("enum"),
        )

    refund = data["refund"]
    slas = data.get("slas") or {}
    return MappingDef(
        brand=data["brand"],
        flow=data.get("flow", "return"),
        version=doc.content_hash[:16],
        shop_domain=shop["domain"],
        api_version=shop["api_version"],
        plan=shop.get("plan", "standard"),
        currency=shop["currency"],
        return_window_days=shop.get("return_window_days", 30),
        locations={k: Location(k, v["id"], v.get("name", k)) for k, v in shop["locations"].items()},
        statuses=dict(data["rebound"]["statuses"]),
        fields={**DEFAULT_FIELDS, **(data["rebound"].get("fields") or {})},
        reasons={code: reason(r) for code, r in data["reasons"]["codes"].items()},
        default_reason=reason(data["reasons"]["default"]),
        grades={g: grade(r) for g, r in data["grades"]["rules"].items()},
        missing_grade=grade(data["grades"]["missing"]),
        unknown_grade=grade(
            data["grades"].get("unknown", {"disposition": "processing_required", "refund_percent": 100})
        ),
        refund=RefundRules(
            trigger=refund["trigger"],
            issuer=refund["issuer"],
            method=refund.get("method", "original_payment"),
            store_credit_bonus_percent=str(refund.get("store_credit_bonus_percent", "0")),
            return_shipping_fee=str(refund.get("return_shipping_fee", "0")),
            restocking_fee_percent=str(refund.get("restocking_fee_percent", "0")),
            rounding=refund.get("rounding", "ROUND_HALF_UP"),
        ),
        free_text=[FreeTextRule(r["pattern"], r["code"]) for r in data["reasons"].get("free_text") or []],
        grade_scale=list(data["grades"]["scale"]),
        sla_seconds={**DEFAULT_SLA_SECONDS, **{k: parse_duration(v) for k, v in slas.items()}},
        owners={**DEFAULT_OWNERS, **(data.get("exceptions") or {})},
        source_file=doc.file,
    )


def load_mapping(path: Path) -> MappingDef:
    return mapping_from_yaml(read_yaml(path))


def load_mappings(folder: Path) -> dict[str, MappingDef]:
    """All brands in a folder, keyed by brand; any invalid file fails the whole load."""
    mappings = [load_mapping(p) for p in sorted(folder.glob("*.yaml"))]
    return {m.brand: m for m in mappings}
