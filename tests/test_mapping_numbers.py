"""Mappings as a merchant writes them: money and percentages as plain numbers or quoted, read exactly (never
through a binary float), and every problem of a file reported in one run."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.definitions.mapping import load_mapping
from engine.definitions.yamlfile import parse_yaml
from engine.errors import DefinitionError
from tests.paths import REPO_ROOT

CASTORE = (REPO_ROOT / "mappings" / "castore.yaml").read_text()
money = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2, allow_nan=False, allow_infinity=False)


@given(amount=money)
@settings(max_examples=200, deadline=None)
def test_a_fee_written_as_a_number_or_a_string_is_the_same_decimal(amount: Decimal) -> None:
    text = format(amount, "f")
    plain = parse_yaml(f"fee: {text}\n", "f.yaml").data["fee"]
    quoted = parse_yaml(f'fee: "{text}"\n', "f.yaml").data["fee"]
    assert Decimal(str(plain)) == Decimal(quoted) == amount


def test_yaml_numbers_are_read_from_their_text_never_a_binary_float() -> None:
    data = parse_yaml("a: 0.1\nb: 12345678901234567.89\nc: 2.950\n", "f.yaml").data
    assert data == {"a": Decimal("0.1"), "b": Decimal("12345678901234567.89"), "c": Decimal("2.950")}


@pytest.mark.parametrize(
    ("fee", "bonus", "percent"),
    [("2.95", "10", "50"), ('"2.95"', '"10"', '"50"'), ("2.95", "10%", "50%"), ("2.950", '"10.0%"', "50.0")],
)
def test_the_same_mapping_whichever_way_its_numbers_are_written(
    tmp_path: Path, fee: str, bonus: str, percent: str
) -> None:
    text = CASTORE.replace("return_shipping_fee: 2.95", f"return_shipping_fee: {fee}")
    text = text.replace("C: {disposition: processing_required, refund_percent: 100}",
                        f"C: {{disposition: processing_required, refund_percent: {percent}}}")  # fmt: skip
    text = text.replace(
        "  method: original_payment\n", f"  method: store_credit\n  store_credit_bonus_percent: {bonus}\n"
    )
    path = tmp_path / "castore.yaml"
    path.write_text(text)
    mapping = load_mapping(path)
    assert Decimal(mapping.refund.return_shipping_fee) == Decimal("2.95")
    assert Decimal(mapping.refund.store_credit_bonus_percent) == Decimal("10")
    assert Decimal(mapping.grades["C"].refund_percent) == Decimal("50")


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("return_shipping_fee: 2.95", "return_shipping_fee: 2.955", "2.955 has more decimals than GBP has"),
        ("return_shipping_fee: 2.95", "return_shipping_fee: -1", "-1 is less than the minimum of 0"),
        ("return_shipping_fee: 2.95", "return_shipping_fee: two pounds", "'two pounds' does not match"),
        ("A: {disposition: restock, location: dc, refund_percent: 100}",
         "A: {disposition: restock, location: dc, refund_percent: '150%'}", "150% is not between 0 and 100 percent"),
        ("A: {disposition: restock, location: dc, refund_percent: 100}",
         "A: {disposition: restock, location: dc, refund_percent: 150}", "150 is greater than the maximum of 100"),
    ],
)  # fmt: skip
def test_money_and_percentages_out_of_bounds_are_refused(tmp_path: Path, old: str, new: str, words: str) -> None:
    path = tmp_path / "castore.yaml"
    path.write_text(CASTORE.replace(old, new))
    with pytest.raises(DefinitionError) as err:
        load_mapping(path)
    assert any(words in str(p) for p in err.value.problems), [str(p) for p in err.value.problems]


def test_three_mistakes_are_reported_in_one_run_with_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = CASTORE.replace("  trigger: inspected", "  trigger: inspection")
    text = text.replace("B: {disposition: restock, location: outlet,", "B: {disposition: restock, location: outlett,")
    text = text.replace("shopify: too-big,", "shopify: too-bigg,")
    path = tmp_path / "castore.yaml"
    path.write_text(text)
    lines = text.splitlines()

    def at(needle: str) -> int:
        return next(i + 1 for i, line in enumerate(lines) if needle in line)

    assert main(["mappings", "validate", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 file(s) checked, 3 problem(s); 2 check(s) skipped"
    assert out[3].endswith("refund: refund rules not checked: fix the problems in refund first")
    assert out[4].endswith("refund: exchange rules not checked: fix the problems in refund first")
    assert out[0].startswith(f"{path}:{at('too-bigg')}:") and "'too-bigg' is not a return reason definition" in out[0]
    assert out[1].startswith(f"{path}:{at('outlett')}:") and "unknown location 'outlett'" in out[1]
    assert (
        out[2].startswith(f"{path}:{at('trigger: inspection')}:3: refund.trigger:")
        and "did you mean 'inspected'" in out[2]
    )


def test_a_check_skipped_for_a_schema_error_says_which(tmp_path: Path) -> None:
    path = tmp_path / "castore.yaml"
    path.write_text(CASTORE.replace("  scale: [A, B, C, D, F]", "  scale: A, B, C, D, F"))
    with pytest.raises(DefinitionError) as err:
        load_mapping(path)
    messages = [p.message for p in err.value.problems]
    assert messages[-1] == "grade rules not checked: fix the problems in grades first"
    assert any("is not of type 'array'" in m for m in messages)


def test_the_mapping_written_from_scratch_in_the_docs_validates(tmp_path: Path) -> None:
    page = (REPO_ROOT / "docs" / "mappings.md").read_text()
    start = page.index("```yaml\n# yaml-language-server") + len("```yaml\n")
    path = tmp_path / "oliver.yaml"
    path.write_text(page[start : page.index("```", start)])
    mapping = load_mapping(path)
    assert mapping.brand == "oliver" and mapping.refund.return_shipping_fee == "3.5" and mapping.flow == "express"
