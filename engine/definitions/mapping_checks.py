"""What no schema can say about a mapping: expressions compile, references resolve, every rule is reachable, money
fits the currency. Run together with the schema, so a merchant sees every problem of a file at once: each check
runs on the parts of the file it reads, and one skipped because those parts have schema errors says so."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from engine.definitions.numbers import decimal_of, decimals_beyond
from engine.definitions.yamlfile import LoadedYaml, Path_, Problem

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
)  # Shopify's standard return reason definitions (ids 1-10 in every shop, API 2026-01+)


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


class _Checks:
    def __init__(self, doc: LoadedYaml) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.problems: list[Problem] = []

    def add(self, path: Path_, message: str, hint: str = "") -> None:
        self.problems.append(self.doc.problem(path, message, hint))

    # ---------------------------------------------------------------- shop and Rebound

    def locations(self) -> None:
        seen_ids: dict[str, str] = {}
        for key, loc in self.data["shop"]["locations"].items():
            if loc["id"] in seen_ids:
                self.add(("shop", "locations", key, "id"), f"same location id as {seen_ids[loc['id']]!r}")
            seen_ids[loc["id"]] = key

    def rebound(self) -> None:
        rebound = self.data["rebound"]
        for name, expr in (rebound.get("fields") or {}).items():
            try:
                jmespath.compile(expr)
            except JMESPathError as exc:
                self.add(("rebound", "fields", name), f"JMESPath does not compile: {exc}", "see jmespath.org")
        if "registered" not in rebound["statuses"].values():
            self.add(("rebound", "statuses"), "no status maps to 'registered'", "map Rebound's creation status")

    # ---------------------------------------------------------------- grades

    def grades(self) -> None:
        grades, locations = self.data["grades"], self.data["shop"]["locations"]
        scale: list[str] = grades["scale"]
        rules: dict[str, Any] = grades["rules"]
        for i, grade in enumerate(scale):
            if grade not in rules:
                self.add(("grades", "scale", i), f"grade {grade!r} has no rule", f"add grades.rules.{grade}")
        for grade in rules:
            if grade not in scale:
                hint = _suggest(grade, scale) + "or add it to grades.scale"
                self.add(("grades", "rules", grade), f"rule for {grade!r} is unreachable: not in grades.scale", hint)
        grade_rules: list[tuple[Path_, dict[str, Any]]] = [(("grades", "rules", g), r) for g, r in rules.items()]
        grade_rules += [(("grades", k), grades[k]) for k in ("missing", "unknown") if k in grades]
        for path, rule in grade_rules:
            loc = rule.get("location")
            if rule["disposition"] == "restock" and not loc:
                self.add(path, "restock needs a location", f"add location: one of {', '.join(locations)}")
            if loc and loc not in locations:
                hint = (
                    _suggest(loc, list(locations)) + f"use one of: {', '.join(locations)} (or add it to shop.locations)"
                )
                self.add(path + ("location",), f"unknown location {loc!r}", hint)
            if loc and rule["disposition"] != "restock":
                self.add(path + ("location",), f"location is only used by restock, not {rule['disposition']}")
            self.percent(path + ("refund_percent",), rule.get("refund_percent"))
        if grades["missing"]["disposition"] == "restock":
            self.add(("grades", "missing", "disposition"), "a missing item cannot be restocked")

    # ---------------------------------------------------------------- reasons

    def reasons(self) -> None:
        reasons = self.data["reasons"]
        known_handles = list(STANDARD_REASON_HANDLES) + list(reasons.get("shop_definitions") or [])
        targets: list[tuple[Path_, dict[str, Any]]] = [
            (("reasons", "codes", c), r) for c, r in reasons["codes"].items()
        ]
        targets.append((("reasons", "default"), reasons["default"]))
        for path, rule in targets:
            if rule["shopify"] not in known_handles:
                hint = (
                    _suggest(rule["shopify"], known_handles) + "list shop-specific ones under reasons.shop_definitions"
                )
                self.add(
                    path + ("shopify",), f"{rule['shopify']!r} is not a return reason definition of the shop", hint
                )
            self.percent(path + ("refund_percent",), rule.get("refund_percent"))
        folded: dict[str, str] = {}
        for code in reasons["codes"]:
            if code.casefold() in folded:
                first = folded[code.casefold()]
                self.add(
                    ("reasons", "codes", code), f"unreachable: same code as {first!r} (codes match case-insensitively)"
                )
            folded.setdefault(code.casefold(), code)
        for i, text_rule in enumerate(reasons.get("free_text") or []):
            try:
                re.compile(text_rule["pattern"])
            except re.error as exc:
                self.add(("reasons", "free_text", i, "pattern"), f"regular expression does not compile: {exc}")
            if text_rule["code"] not in reasons["codes"]:
                hint = _suggest(text_rule["code"], list(reasons["codes"])).strip()
                self.add(("reasons", "free_text", i, "code"), f"unknown reason code {text_rule['code']!r}", hint)

    # ---------------------------------------------------------------- products

    def products(self) -> None:
        """A rule must do something, and be reachable: the first matching pattern wins, so a rule whose pattern
        is an earlier one's, or a plain SKU an earlier pattern matches, never applies."""
        seen: list[tuple[int, str]] = []
        for i, rule in enumerate(self.data["products"]):
            pattern = rule["sku"]
            if rule.get("final_sale") is None and rule.get("restock", "as_graded") == "as_graded":
                self.add(("products", i), f"rule for {pattern!r} changes nothing", "add final_sale or restock: never")
            plain = not any(c in pattern for c in "*?[")
            shadow = next((j for j, p in seen if p == pattern or (plain and fnmatchcase(pattern, p))), None)
            if shadow is not None:
                self.add(("products", i, "sku"), f"unreachable: rule {shadow} ({seen[shadow][1]!r}) matches it first",
                         "move it above the broader pattern")  # fmt: skip
            seen.append((i, pattern))

    def exchanges(self) -> None:
        """The engine releases an exchange by processing the Shopify return: only when it settles the refund."""
        if self.data["exchanges"].get("offered") and self.data["refund"]["issuer"] != "engine":
            self.add(("exchanges", "offered"), "unreachable: Rebound's app settles this brand's returns",
                     "set refund.issuer: engine, or offered: false")  # fmt: skip

    # ---------------------------------------------------------------- money

    def refund(self) -> None:
        refund, currency = self.data["refund"], self.data["shop"]["currency"]
        fee = refund.get("return_shipping_fee")
        if fee is not None and decimals_beyond(fee, currency):
            rounded = decimal_of(fee).quantize(decimal_of("0.01"))
            self.add(("refund", "return_shipping_fee"), f"{fee} has more decimals than {currency} has",
                     f"write it to the {currency} minor unit, e.g. {rounded}")  # fmt: skip
        self.percent(("refund", "restocking_fee_percent"), refund.get("restocking_fee_percent"))
        bonus = decimal_of(refund.get("store_credit_bonus_percent", 0), percent=True)
        if bonus > 0 and refund.get("method", "original_payment") != "store_credit":
            self.add(("refund", "store_credit_bonus_percent"), "a bonus only applies to method: store_credit",
                     "set method: store_credit or remove the bonus")  # fmt: skip
        if refund["issuer"] == "rebound_app" and refund.get("method") == "store_credit" and bonus > 0:
            self.add(("refund", "store_credit_bonus_percent"),
                     "unreachable: Rebound's app issues this brand's refunds and bonuses")  # fmt: skip

    def percent(self, path: Path_, raw: Any) -> None:
        """A percentage written as text (`"150%"`) is out of the schema's reach: 0 to 100."""
        if raw is None or not isinstance(raw, str):
            return
        if not 0 <= decimal_of(raw, percent=True) <= 100:
            self.add(path, f"{raw} is not between 0 and 100 percent")


# Each check, the parts of the file it reads: it runs only when they passed the schema.
SECTIONS: list[tuple[str, Callable[[_Checks], None], tuple[str, ...]]] = [
    ("location ids", _Checks.locations, ("shop.locations",)),
    ("Rebound fields and statuses", _Checks.rebound, ("rebound",)),
    ("grade rules", _Checks.grades, ("grades", "shop.locations")),
    ("reason codes", _Checks.reasons, ("reasons",)),
    ("refund rules", _Checks.refund, ("refund", "shop.currency")),
    ("product rules", _Checks.products, ("products",)),
    ("exchange rules", _Checks.exchanges, ("exchanges", "refund")),
]


def _present(data: Any, dotted: str) -> bool:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def semantic_problems(doc: LoadedYaml, schema_problems: list[Problem]) -> tuple[list[Problem], list[Problem]]:
    """The problems found, and a note for each check skipped because the parts it reads have schema problems."""
    if not isinstance(doc.data, dict):
        return [], []
    checks = _Checks(doc)
    skipped: list[Problem] = []
    for name, check, reads in SECTIONS:
        broken = [part for part in reads if not _present(doc.data, part) or any(
            p.path == part or p.path.startswith((f"{part}.", f"{part}[")) for p in schema_problems
        )]  # fmt: skip
        if broken:
            if _present(doc.data, broken[0]):  # a missing part is already its own schema problem
                where = tuple(broken[0].split("."))
                note = f"{name} not checked: fix the problems in {broken[0]} first"
                skipped.append(doc.problem(where, note, skipped=True))
            continue
        try:
            check(checks)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            skipped.append(doc.problem((reads[0],), f"{name} not checked: {type(exc).__name__} {exc}"))  # a bug: fails
    return checks.problems, skipped
