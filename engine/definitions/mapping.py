"""Brand mappings: validated at the edge, then carried by value (and version) into each return's workflow."""

from dataclasses import dataclass, field
from pathlib import Path

import jmespath
from jmespath.exceptions import JMESPathError

from engine.definitions.schema_check import schema_problems
from engine.definitions.yamlfile import DefinitionError, LoadedYaml, Problem, read_yaml

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


@dataclass
class GradeRule:
    disposition: str
    refund_percent: str
    location: str | None = None


@dataclass
class RefundRules:
    trigger: str
    issuer: str
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
    source_file: str = field(default="")

    def reason_for(self, code: str) -> ReasonRule:
        return self.reasons.get(code) or self.reasons.get(code.strip().lower()) or self.default_reason

    def grade_for(self, grade: str | None) -> GradeRule:
        if grade is None:
            return self.missing_grade
        return self.grades.get(grade, self.unknown_grade)

    def location_id(self, key: str | None) -> str | None:
        return self.locations[key].id if key else None


def _semantic_problems(doc: LoadedYaml) -> list[Problem]:
    data = doc.data
    problems: list[Problem] = []
    locations = data["shop"]["locations"]
    for name, expr in (data["rebound"].get("fields") or {}).items():
        try:
            jmespath.compile(expr)
        except JMESPathError as exc:
            problems.append(
                doc.problem(("rebound", "fields", name), f"JMESPath does not compile: {exc}", "see jmespath.org")
            )
    grade_rules: list[tuple[tuple[str, ...], dict]] = [
        (("grades", "rules", g), r) for g, r in data["grades"]["rules"].items()
    ]
    grade_rules += [(("grades", k), data["grades"][k]) for k in ("missing", "unknown") if k in data["grades"]]
    for path, rule in grade_rules:
        loc = rule.get("location")
        if rule["disposition"] == "restock" and not loc:
            problems.append(
                doc.problem(path, "restock needs a location", f"add location: one of {', '.join(locations)}")
            )
        if loc and loc not in locations:
            problems.append(
                doc.problem(
                    path + ("location",),
                    f"unknown location {loc!r}",
                    f"use one of: {', '.join(locations)} (or add it under shop.locations)",
                )
            )
        if loc and rule["disposition"] != "restock":
            problems.append(
                doc.problem(path + ("location",), f"location is only used by restock, not {rule['disposition']}")
            )
    if data["grades"]["missing"]["disposition"] == "restock":
        problems.append(doc.problem(("grades", "missing", "disposition"), "a missing item cannot be restocked"))
    return problems


def mapping_from_yaml(doc: LoadedYaml) -> MappingDef:
    problems = schema_problems(doc, "mapping.schema.json")
    if not problems:
        problems = _semantic_problems(doc)
    if problems:
        raise DefinitionError(problems)
    data = doc.data
    shop = data["shop"]

    def grade(raw: dict) -> GradeRule:
        return GradeRule(raw["disposition"], str(raw["refund_percent"]), raw.get("location"))

    def reason(raw: dict) -> ReasonRule:
        return ReasonRule(raw["canonical"], raw["shopify"], raw.get("fault", "customer"))

    refund = data["refund"]
    return MappingDef(
        brand=data["brand"],
        version=doc.content_hash[:16],
        shop_domain=shop["domain"],
        api_version=shop["api_version"],
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
            return_shipping_fee=str(refund.get("return_shipping_fee", "0")),
            restocking_fee_percent=str(refund.get("restocking_fee_percent", "0")),
            rounding=refund.get("rounding", "ROUND_HALF_UP"),
        ),
        source_file=doc.file,
    )


def load_mapping(path: Path) -> MappingDef:
    return mapping_from_yaml(read_yaml(path))


def load_mappings(folder: Path) -> dict[str, MappingDef]:
    """All brands in a folder, keyed by brand; any invalid file fails the whole load."""
    mappings = [load_mapping(p) for p in sorted(folder.glob("*.yaml"))]
    return {m.brand: m for m in mappings}
