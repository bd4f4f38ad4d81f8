"""Brand mappings: validated at the edge, then carried by value (and version) into each return's workflow."""

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from engine.definitions.durations import parse_duration
from engine.definitions.numbers import money_text, percent_text
from engine.definitions.schema_check import schema_problems
from engine.definitions.yamlfile import LoadedYaml, read_yaml
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
    "item_wish": "wish",
    "item_exchange_sku": "exchangeSku",
    "parcels": "order.parcels",
    "parcel_tracking": "trackingNumber",
    "parcel_url": "trackingUrl",
    "parcel_items": "reboundItemIds",
}


DEFAULT_OWNERS = {
    "received_not_restocked": "ops",
    "restock_failed": "ops",
    "refund_overdue": "finance",
    "manual_refund": "finance",
    "duplicate_refund": "finance",
    "amount_mismatch": "finance",
    "refunded_not_returned": "finance",
    "return_unprocessed": "finance",
    "exchange_unreleased": "cx",
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
    "parcel_lost_after": 7 * 86400,
    "exchange_payment_within": 7 * 86400,
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
    fault: str | None = None  # whose fault the inspection found; None: the reason's


@dataclass
class ProductRule:
    """What the brand does with the products whose SKU matches `sku` (a glob, case-sensitive)."""

    sku: str
    final_sale: str | None = None  # not taken back: the reason CX reads; the return's other lines proceed
    restock: str = "as_graded"  # never: not put back into stock once returned (hygiene), whatever the grade

    def matches(self, sku: str) -> bool:
        return fnmatchcase(sku, self.sku)


@dataclass
class ExchangeRules:
    """Whether the brand exchanges, and what happens when the wanted variant is dearer or out of stock."""

    offered: bool = False
    dearer: str = "customer_pays"  # or refund_instead
    out_of_stock: str = "refund"  # or store_credit
    fees: str = "waived"  # or charged: the return's fees apply to exchanged items too


@dataclass
class RefundRules:
    trigger: str
    issuer: str
    method: str = "original_payment"
    store_credit_bonus_percent: str = "0"
    return_shipping_fee: str = "0"
    restocking_fee_percent: str = "0"
    rounding: str = "ROUND_HALF_UP"
    gift_cards: str = "first"  # a split payment's gift card is refunded first (or last) among its payments
    # When the order's shipping goes back too, on flows that settle by processing the Shopify return: never, when
    # the customer returns every unit of the order (full_return), or when a returned line is the merchant's fault.
    refund_shipping: str = "never"


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
    parcels_act_on: str = "all_parcels"  # or each_parcel: restock and refund each parcel's items as it arrives
    products: list[ProductRule] = field(default_factory=list)  # the first whose pattern matches a SKU applies
    exchanges: ExchangeRules = field(default_factory=ExchangeRules)

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

    def product_rule(self, sku: str) -> ProductRule | None:
        return next((rule for rule in self.products if rule.matches(sku)), None)

    def final_sale(self, sku: str) -> str | None:
        """Why an item of this SKU is not taken back (None: it is)."""
        rule = self.product_rule(sku)
        return rule.final_sale if rule else None

    def grade_for(self, grade: str | None) -> GradeRule:
        if grade is None:
            return self.missing_grade
        return self.grades.get(grade, self.unknown_grade)

    def location_id(self, key: str | None) -> str | None:
        return self.locations[key].id if key else None


def mapping_from_yaml(doc: LoadedYaml) -> MappingDef:
    from engine.definitions.mapping_checks import semantic_problems

    problems = schema_problems(doc, "mapping.schema.json")
    found, skipped = semantic_problems(doc, problems)
    if problems or found or skipped:  # a check that could not run is not a pass
        raise DefinitionError(sorted(problems + found, key=lambda p: (p.line, p.column)) + skipped)
    data = doc.data
    shop = data["shop"]

    def grade(raw: dict[str, Any]) -> GradeRule:
        return GradeRule(raw["disposition"], percent_text(raw["refund_percent"]), raw.get("location"), raw.get("fault"))

    def reason(raw: dict[str, Any]) -> ReasonRule:
        return ReasonRule(
            raw["canonical"],
            raw["shopify"],
            raw.get("fault", "customer"),
            percent_text(raw.get("refund_percent", 100)),
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
            store_credit_bonus_percent=percent_text(refund.get("store_credit_bonus_percent", 0)),
            return_shipping_fee=money_text(refund.get("return_shipping_fee", 0)),
            restocking_fee_percent=percent_text(refund.get("restocking_fee_percent", 0)),
            rounding=refund.get("rounding", "ROUND_HALF_UP"),
            gift_cards=refund.get("gift_cards", "first"),
            refund_shipping=refund.get("refund_shipping", "never"),
        ),
        free_text=[FreeTextRule(r["pattern"], r["code"]) for r in data["reasons"].get("free_text") or []],
        grade_scale=list(data["grades"]["scale"]),
        sla_seconds={**DEFAULT_SLA_SECONDS, **{k: parse_duration(v) for k, v in slas.items()}},
        owners={**DEFAULT_OWNERS, **(data.get("exceptions") or {})},
        source_file=doc.file,
        parcels_act_on=(data.get("parcels") or {}).get("act_on", "all_parcels"),
        exchanges=ExchangeRules(**(data.get("exchanges") or {})),
        products=[
            ProductRule(r["sku"], r.get("final_sale"), r.get("restock", "as_graded"))
            for r in data.get("products") or []
        ],
    )


def load_mapping(path: Path) -> MappingDef:
    return mapping_from_yaml(read_yaml(path))


def load_mappings(folder: Path) -> dict[str, MappingDef]:
    """All brands in a folder, keyed by brand; any invalid file fails the whole load."""
    mappings = [load_mapping(p) for p in sorted(folder.glob("*.yaml"))]
    return {m.brand: m for m in mappings}
