"""Broken mappings are rejected with a message that names the file, the line and the field; none is deployed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from engine.cli import definitions, main
from engine.definitions.mapping import load_mapping
from engine.errors import DefinitionError
from tests.paths import REPO_ROOT

BASE = (REPO_ROOT / "mappings" / "castore.yaml").read_text()


def sub(old: str, new: str) -> Callable[[str], str | bytes]:
    def apply(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return apply


BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)

# (case id, transformation of the valid CASTORE mapping, text the first message must contain, line or None)
CASES: list[tuple[str, Callable[[str], str | bytes], str, int | None]] = [
    ("wrong-type", sub("return_window_days: 30", "return_window_days: thirty"), "shop.return_window_days", 11),
    ("unknown-location", sub("location: outlet", "location: outlett"), "did you mean 'outlet'", None),
    (
        "bad-jmespath",
        sub("rebound:\n", "rebound:\n  fields:\n    return_id: order.[reboundOrderId\n"),
        "rebound.fields.return_id",
        21,
    ),
    ("duplicate-key", sub("brand: castore\n", "brand: castore\nbrand: lounge\n"), "duplicate key 'brand'", 5),
    ("tab-indent", sub("  currency: GBP", "\tcurrency: GBP"), "invalid YAML", None),
    ("unknown-field", sub("brand: castore\n", "brand: castore\ncolour: blue\n"), "'colour' was unexpected", 5),
    ("alias-bomb", lambda _t: BOMB, "too many nodes", 1),
    ("huge-file", lambda t: t + "# " + "x" * 1_100_000 + "\n", "larger than", 1),
    ("not-utf8", lambda t: t.encode("utf-8").replace(b"Cheshire", b"Ch\xe9shire"), "not valid UTF-8", 18),
    ("empty", lambda _t: "", "file is empty", 1),
    (
        "only-comments",
        lambda _t: "# yaml-language-server: $schema=../schemas/mapping.schema.json\n# nothing\n",
        "file is empty",
        1,
    ),
    ("missing-refund", lambda t: t[: t.index("refund:\n")], "'refund' is a required property", None),
    ("bad-trigger", sub("trigger: inspected", "trigger: delivered"), "refund.trigger", None),
    ("bad-currency", sub("currency: GBP", "currency: pounds"), "shop.currency", 10),
    ("bad-domain", sub("domain: castore-demo.myshopify.com", "domain: castore.com"), "shop.domain", 7),
    ("location-not-gid", sub("id: gid://shopify/Location/71001", "id: 71001"), "shop.locations.dc.id", 14),
    (
        "restock-without-location",
        sub("C: {disposition: processing_required", "C: {disposition: restock"),
        "restock needs a location",
        None,
    ),
    (
        "location-on-not-restocked",
        sub("D: {disposition: not_restocked,", "D: {disposition: not_restocked, location: dc,"),
        "only used by restock",
        None,
    ),
    ("grade-without-rule", sub("scale: [A, B, C, D, F]", "scale: [A, B, C, D, F, E]"), "grade 'E' has no rule", None),
    (
        "unknown-grade-fault",
        sub("refund_percent: 100, fault: merchant}", "refund_percent: 100, fault: supplier}"),
        "grades.rules.F.fault: 'supplier' is not one of",
        48,
    ),
    (
        "product-rule-changing-nothing",
        sub("refund:\n", 'products:\n  - {sku: "CAS-TEE-*"}\nrefund:\n'),
        "rule for 'CAS-TEE-*' changes nothing",
        None,
    ),
    (
        "product-rule-shadowed",
        sub(
            "refund:\n",
            'products:\n  - {sku: "CAS-*", restock: never}\n  - {sku: CAS-TEE-BLK-M, final_sale: worn}\nrefund:\n',
        ),
        "unreachable: rule 0 ('CAS-*') matches it first",
        None,
    ),
    ("unreachable-grade-rule", sub("scale: [A, B, C, D, F]", "scale: [A, B, C, D]"), "unreachable", None),
    ("unknown-reason-target", sub("shopify: too-big,", "shopify: too-bigg,"), "did you mean 'too-big'", None),
    (
        "bad-free-text-regex",
        sub('pattern: "too (big|large|long)"', 'pattern: "too (big|large"'),
        "does not compile",
        None,
    ),
    ("free-text-unknown-code", sub("code: Faulty}", "code: Faulti}"), "unknown reason code 'Faulti'", None),
    (
        "bonus-without-store-credit",
        sub("  method: original_payment\n", '  method: original_payment\n  store_credit_bonus_percent: "10"\n'),
        "only applies to method: store_credit",
        None,
    ),
    (
        "duplicate-location-ids",
        sub("id: gid://shopify/Location/71002", "id: gid://shopify/Location/71001"),
        "same location id",
        None,
    ),
    (
        "missing-restocked",
        sub("missing: {disposition: missing,", "missing: {disposition: restock, location: dc,"),
        "cannot be restocked",
        None,
    ),
    (
        "percent-out-of-range",
        sub(
            "A: {disposition: restock, location: dc, refund_percent: 100}",
            "A: {disposition: restock, location: dc, refund_percent: 150}",
        ),
        "150 is greater than the maximum of 100",
        None,
    ),
    # The plan sets how fast every worker calls the shop: a typo must not deploy (nor silently mean standard).
    ("unknown-plan", sub("  plan: plus", "  plan: shopify-plus"), "shop.plan", 9),
    ("unsupported-api-version", sub('api_version: "2026-07"', 'api_version: "2025-01"'), "shop.api_version", 8),
    ("no-registered-status", sub("    returnOrderCreated: registered\n", ""), "no status maps to 'registered'", None),
    ("yaml-syntax", sub("scale: [A, B, C, D, F]", "scale: [A, B, C, D, F"), "invalid YAML", None),
    ("top-level-list", lambda _t: "- brand: castore\n", "is not of type 'object'", 1),
    (
        "case-duplicate-reason",
        sub("    Faulty: {", "    faulty: {canonical: defective, shopify: damaged-or-defective}\n    Faulty: {"),
        "same code as 'faulty'",
        None,
    ),
    (
        "negative-fee",
        sub("return_shipping_fee: 2.95", 'return_shipping_fee: "-1"'),
        "refund.return_shipping_fee",
        None,
    ),
    (
        "bad-duration",
        sub("refund_after_trigger: 1d", "refund_after_trigger: 2 days"),
        "slas.refund_after_trigger",
        None,
    ),
    ("bad-brand", sub("brand: castore", "brand: Castore!"), "brand", 4),
    (
        "bad-exception-owner",
        sub("return_left_open: cx", "return_left_open: marketing"),
        "exceptions.return_left_open",
        None,
    ),
]


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "castore.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_at_least_thirty_different_mistakes_are_each_refused_for_their_own_reason(tmp_path: Path) -> None:
    """Thirty ways to break a mapping, not one mistake thirty times: no two cases are refused alike."""
    refusals = {}
    for case, transform, _, _ in CASES:
        with pytest.raises(DefinitionError) as err:
            load_mapping(write(tmp_path, transform(BASE)))
        refusals[case] = frozenset(p.message for p in err.value.problems)
    alike = {a: b for a in refusals for b in refusals if a < b and refusals[a] == refusals[b]}
    assert alike == {"empty": "only-comments"}  # a file of comments alone is as empty as an empty one
    assert len(set(refusals.values())) >= 30


@pytest.mark.parametrize(("case", "transform", "expected", "line"), CASES, ids=[c[0] for c in CASES])
def test_broken_mapping_is_rejected_precisely(
    tmp_path: Path, case: str, transform: Callable[[str], str | bytes], expected: str, line: int | None
) -> None:
    path = write(tmp_path, transform(BASE))
    with pytest.raises(DefinitionError) as err:
        load_mapping(path)
    first = err.value.problems[0]
    assert str(first).startswith(f"{path}:"), str(first)
    assert first.line >= 1 and first.column >= 1
    assert any(expected in str(p) for p in err.value.problems), [str(p) for p in err.value.problems]
    if line is not None:
        assert first.line == line, str(first)


@pytest.mark.parametrize(("case", "transform", "expected", "line"), CASES, ids=[c[0] for c in CASES])
def test_broken_mapping_is_never_deployed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, case: str,
    transform: Callable[[str], str | bytes], expected: str, line: int | None,
) -> None:  # fmt: skip
    path = write(tmp_path, transform(BASE))
    registry = RegistrySpy()
    monkeypatch.setattr(definitions, "with_registry", registry)
    assert main(["mappings", "deploy", str(path), "--operator", "test"]) == 1
    out = capsys.readouterr().out
    assert registry.calls == 0  # refused before Temporal and the registry were reached
    assert expected in out and out.rstrip().endswith("refused: the mapping is invalid; nothing was deployed"), out
    assert "Traceback" not in out


class RegistrySpy:
    """Stands in for `returns mappings deploy`'s connection to the registry: counts the deploys that reach it."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, work: Callable[[object], Awaitable[int]]) -> int:
        self.calls += 1
        return 0


def test_a_valid_mapping_is_handed_to_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The other side of the refusals above: the same command with the shipped mapping does reach the registry."""
    registry = RegistrySpy()
    monkeypatch.setattr(definitions, "with_registry", registry)
    assert main(["mappings", "deploy", str(REPO_ROOT / "mappings" / "castore.yaml"), "--operator", "test"]) == 0
    assert registry.calls == 1
