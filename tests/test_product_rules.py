"""Rules that depend on the product (mapping `products`, by SKU pattern): TATTY DEVINE's pierced earrings are final
sale, refused when the return registers while its other lines proceed (a return of them only is rejected);
GREEN PEOPLE never resells a lip balm once returned, whatever its grade. Checked in Shopify's end state."""

from __future__ import annotations

import json
from decimal import Decimal

from emulators.demo import check
from engine.activities.shopify import METAFIELD_NAMESPACE, link_key
from engine.outcomes import item_outcome
from tests.conftest import Harness


async def test_a_final_sale_line_is_refused_and_the_rest_of_the_return_proceeds(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("earrings and a ring", "tatty", skus=["TD-EAR-P-HOOP", "TD-RING-STAR"], quantity=1)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, "A")
    b.lifecycle(sc)
    b.expect(sc)
    sc.expected_refused = ["TD-EAR-P-HOOP"]
    harness.seed(sc)
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")

    assert status.state == "refunded" and status.finished
    assert list(status.refused.values()) == ["TD-EAR-P-HOOP: Pierced earrings cannot be returned, for hygiene reasons"]
    assert [item.sku for item in status.items] == ["TD-RING-STAR"]
    store, domain, order_id = harness.shopify.store, harness.domain(sc), harness.order_id(sc)
    [ret] = store.returns(domain, order_id)
    assert ret["lines"] == {"TD-RING-STAR": 1}  # the earrings never reach the Shopify return
    ring = Decimal("45.00")
    [refund] = store.refunds(domain, order_id)
    assert refund["amount"] == ring - Decimal("4.50") == sc.expected_refund  # less TATTY's 10 % restocking fee
    assert ret["fees_charged"] == Decimal("4.50")  # recorded by Shopify as the line's restocking fee
    metafields = store.order_summary(domain, order_id)["metafields"]
    link = json.loads(metafields[f"{METAFIELD_NAMESPACE}.{link_key(sc.rebound_return_id)}"])
    assert link["refused"] == ["TD-EAR-P-HOOP: Pierced earrings cannot be returned, for hygiene reasons"]
    assert check(store, harness.mappings, sc, status) == []


async def test_a_return_of_final_sale_lines_only_is_rejected_with_the_reason(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("earrings only", "tatty", skus=["TD-EAR-P-HOOP"], quantity=1)
    b.returned(sc, 0, 1, "A")
    b.lifecycle(sc, until="returnOrderCreated")
    harness.seed(sc)
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "rejected")
    assert status.state == "rejected" and status.items == []
    assert any("every item is final sale: TD-EAR-P-HOOP: Pierced earrings" in e.detail for e in status.audit)
    assert harness.shopify.store.returns(harness.domain(sc), harness.order_id(sc)) == []


async def test_a_never_restock_product_is_not_resold_even_sealed(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("lip balm and cream", "greenpeople", skus=["GP-LIP-BALM", "GP-SKIN-DAY-50"], quantity=1)
    b.returned(sc, 0, 1, "U")  # seal intact: the grade would restock it
    b.returned(sc, 1, 1, "U")
    b.lifecycle(sc)
    b.expect(sc)
    harness.seed(sc)
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")
    assert status.restocked == {"GP-SKIN-DAY-50@gid://shopify/Location/75001": 1}
    [ret] = harness.shopify.store.returns(harness.domain(sc), harness.order_id(sc))
    assert {(d["sku"], d["type"]) for d in ret["dispositions"]} == {
        ("GP-LIP-BALM", "NOT_RESTOCKED"), ("GP-SKIN-DAY-50", "RESTOCKED")}  # fmt: skip
    assert status.refund is not None and Decimal(status.refund.amount) == Decimal("37.00")  # both, in full


def test_the_preview_shows_what_a_product_rule_does(harness: Harness) -> None:
    tatty, green = harness.mappings["tatty"], harness.mappings["greenpeople"]
    refused = item_outcome(tatty, "A", "Changed my mind", graded=True, sku="TD-EAR-P-HOOP")
    assert (refused.refused, refused.refund_percent) == (
        "Pierced earrings cannot be returned, for hygiene reasons",
        "0",
    )
    clip_on = item_outcome(tatty, "A", "Changed my mind", graded=True, sku="TD-EAR-C-DROP")
    assert (clip_on.refused, clip_on.disposition) == (None, "restock")
    balm = item_outcome(green, "U", "Changed my mind", graded=True, sku="GP-LIP-BALM")
    assert (balm.disposition, balm.location_id, balm.refund_percent) == ("not_restocked", None, "100")
