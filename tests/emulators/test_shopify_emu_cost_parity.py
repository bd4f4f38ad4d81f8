"""Query cost parity: every recorded request's ``extensions.cost`` against the emulator's cost rules.

For each request document in the captures that Shopify answered with a cost (``local-runtime__*`` files are
the recording proxy's own output and are skipped), the emulator prices the recorded document and variables
(``requested_cost``) and, where data came back, the recorded data (``actual_cost``). The rules themselves
are described in ``emulators/shopify/cost.py``; the samples they do not explain are listed below, by
capture and step, each with its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from emulators.shopify.cost import SINGLE_QUERY_MAX, actual_cost, requested_cost
from emulators.shopify.schema import load_schema
from engine.shopify.documents import all_documents

from .parity import CAPTURES, H, needs_captures

pytestmark = needs_captures

LOCATION = f"{H}__2026-04__store-properties__location-activate-deactivate-with-idempotency-directive.json"
LOCATION_FIELDS = (
    "LocationLifecycleFields (id name isActive activatable deactivatable fulfillsOnlineOrders hasActiveInventory "
    "hasUnfulfilledOrders deletable shipsInventory) is charged one point more than its Location object; the same "
    "scalars inside StorePropertiesLocationHydrate cost nothing (19 recorded and computed), so the extra point "
    "cannot be pinned on a field from these captures"
)
# Samples whose recorded requestedQueryCost the rules do not reproduce: (capture, step) -> why.
REQUESTED_DIFFERS: dict[tuple[str, str], str] = {
    (LOCATION, "setup/createLocation"): LOCATION_FIELDS,
    (LOCATION, "workflow/activateWithDirective"): LOCATION_FIELDS,
    (LOCATION, "workflow/deactivateWithDirective"): LOCATION_FIELDS,
    (LOCATION, "workflow/readAfterDeactivate"): LOCATION_FIELDS,
    (LOCATION, "cleanup/0"): LOCATION_FIELDS,
    (
        f"{H}__2026-04__products__inventory-quantity-contracts-2026-04.json",
        "upstreamCalls/0",
    ): "ProductsHydrateNodes: Shopify 27, rules 29; two of measurement/weight/selectedOptions/variant/product "
    "are free there, the single sample cannot say which",
    (
        f"{H}__2026-04__orders__orderCancel-restock-refundMethod-parity.json",
        "upstreamCalls/0",
    ): "mis-paired recording: the response (38/10, with fields the document does not select: cancellation, "
    "fulfillmentOrders...) belongs to another request; the same document costs 3 in orderCancel-parity.json",
}
# Samples without any connection page whose recorded actualQueryCost the rules do not reproduce.
ACTUAL_DIFFERS: dict[tuple[str, str], str] = {
    **{key: why for key, why in REQUESTED_DIFFERS.items() if key[0] == LOCATION},
    (
        f"{H}__2026-04__orders__refund-create-attribution-validation.json",
        "schemaProbe",
    ): "two __type lookups requested at 4, charged 2 by Shopify: its refund for introspection lists is unknown",
}
# Responses holding connection pages: Shopify's actual charge for a page that came back shorter than asked
# (or empty) is not reproduced exactly (the emulator sizes the page by the nodes returned; Shopify's figures
# are 1-11 points off in either direction and no single rule fits them). Only the overall count is guarded.
PAGED_ACTUAL_EQUAL_AT_LEAST = 52


@dataclass(frozen=True, eq=False)  # hashed by identity: each sample is priced once (_costs)
class Sample:
    capture: str
    step: str
    document: str
    variables: dict[str, Any]
    data: Any
    requested: int
    actual: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.capture, self.step)

    @property
    def id(self) -> str:
        short = self.capture.split("__", 3)[-1].removesuffix(".json")
        return f"{short}:{self.step}"


def _samples() -> list[Sample]:
    found: list[Sample] = []
    if not CAPTURES.is_dir():
        return found

    def walk(value: Any, path: list[str], capture: str) -> None:
        if isinstance(value, dict):
            document = value.get("query") or value.get("document")
            response = value.get("response")
            for wrapper in ("payload", "body"):
                if isinstance(response, dict) and isinstance(response.get(wrapper), dict):
                    response = response[wrapper]
            cost = (response.get("extensions") or {}).get("cost") if isinstance(response, dict) else None
            if isinstance(document, str) and isinstance(cost, dict) and cost.get("requestedQueryCost") is not None:
                assert isinstance(response, dict)
                found.append(
                    Sample(
                        capture,
                        "/".join(path),
                        document,
                        value.get("variables") or {},
                        response.get("data"),
                        cost["requestedQueryCost"],
                        cost.get("actualQueryCost"),
                    )
                )
            for key, inner in value.items():
                walk(inner, [*path, str(key)], capture)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, [*path, str(index)], capture)

    for path in sorted(CAPTURES.glob("*.json")):
        if not path.name.startswith("local-runtime__"):
            walk(json.loads(path.read_text()), [], path.name)
    return found


SAMPLES = _samples()


def _has_page(value: Any) -> bool:
    if isinstance(value, dict):
        return any(isinstance(value.get(k), list) for k in ("nodes", "edges")) or any(
            _has_page(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(_has_page(v) for v in value)
    return False


@cache
def _costs(sample: Sample) -> tuple[int, int | None]:
    schema = load_schema("2026-04")
    document = parse(sample.document)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    requested = requested_cost(schema, operation, fragments, sample.variables)
    actual = actual_cost(schema, operation, fragments, sample.data) if sample.data else None
    return requested, actual


def test_the_captures_hold_the_recorded_costs() -> None:
    assert len(SAMPLES) == 455


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.id for s in SAMPLES])
def test_requested_cost_matches_shopify(sample: Sample) -> None:
    requested, _ = _costs(sample)
    if sample.key in REQUESTED_DIFFERS:
        assert requested != sample.requested, f"now equal, drop it from REQUESTED_DIFFERS: {sample.id}"
        return
    assert requested == sample.requested


UNPAGED = [s for s in SAMPLES if s.data and not _has_page(s.data)]


@pytest.mark.parametrize("sample", UNPAGED, ids=[s.id for s in UNPAGED])
def test_actual_cost_matches_shopify_without_pages(sample: Sample) -> None:
    _, actual = _costs(sample)
    if sample.key in ACTUAL_DIFFERS:
        assert actual != sample.actual, f"now equal, drop it from ACTUAL_DIFFERS: {sample.id}"
        return
    assert actual == sample.actual


def test_actual_cost_with_pages_does_not_drift() -> None:
    paged = [s for s in SAMPLES if s.data and _has_page(s.data)]
    equal = sum(1 for s in paged if _costs(s)[1] == s.actual)
    assert equal >= PAGED_ACTUAL_EQUAL_AT_LEAST, f"{equal}/{len(paged)} paged samples agree"


def test_agreement_totals() -> None:
    """The figures reported for this work: 448/455 requested and 325/455 actual costs equal."""
    requested_equal = sum(1 for s in SAMPLES if _costs(s)[0] == s.requested)
    actual_equal = sum(1 for s in SAMPLES if s.data and _costs(s)[1] == s.actual)
    assert requested_equal == len(SAMPLES) - len(REQUESTED_DIFFERS) == 448
    assert actual_equal >= len(UNPAGED) - len(ACTUAL_DIFFERS) + PAGED_ACTUAL_EQUAL_AT_LEAST == 325


@pytest.mark.parametrize(("name", "text"), sorted(all_documents().items()))
def test_engine_documents_stay_under_the_single_query_limit(name: str, text: str) -> None:
    schema = load_schema("2026-04")
    document = parse(text)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    for operation in (d for d in document.definitions if isinstance(d, OperationDefinitionNode)):
        variables = {"first": 250, "last": 250}  # page-size variables at Shopify's maximum
        assert requested_cost(schema, operation, fragments, variables) <= SINGLE_QUERY_MAX, name
