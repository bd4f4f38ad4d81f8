"""Parity with recorded Shopify, returns and reverse logistics: see test_shopify_emu_parity for the method.

The recorded flows are replayed step by step with ``replay_returns.Replay``: the recorded orders are seeded (same
names, titles, prices, fulfilled quantities), every recorded document is sent with its variables, and each answer
is compared with Shopify's: key sets, values, userErrors and top-level errors exactly; ids through the pairs the
replay learns; timestamps and cursors for presence only.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulators.shopify.schema import load_schema

from .conftest import Shop
from .parity import PARITY, H, capture, needs_captures
from .replay_returns import Replay, step_body

pytestmark = needs_captures

COVERAGE: dict[str, str] = {
    f"{H}__2025-01__orders__return-decline-request-validation.json": PARITY
    + " (schema introspection, INVALID_VARIABLE for a bad ReturnDeclineReason and undeclared input fields;"
    + " the recording's fall-forward contract is replayed on 2026-04, where these inputs are the same)",
    f"{H}__2026-04__admin-platform__fulfillment-return-node-read-after-write.json": PARITY
    + " (the return half: returnableFulfillments, request/approve, reverse delivery create/update, close/reopen and"
    + " every Return/ReverseFulfillmentOrder/ReverseDelivery/ReturnableFulfillment node read; fulfillment orders,"
    + " holds and fulfillment events are not emulated, so their steps are not replayed)",
    f"{H}__2026-04__orders__order-return-status-lifecycle.json": PARITY
    + " (Order.returnStatus and the returns after each step, through order/orders/node; orderCreate is seeded)",
    f"{H}__2026-04__orders__return-customer-note-recorded.json": PARITY
    + " (introspection, returnRequest customerNote and the read after)",
    f"{H}__2026-04__orders__return-query-roots-recorded.json": PARITY
    + " (returnableFulfillments only; returnCalculate not replayed: its recorded answer carries the taxes of a"
    + " taxed order and the emulator has no tax model; the engine never calls returnCalculate)",
    f"{H}__2026-04__orders__return-reason-validation.json": PARITY
    + " (introspection, reason definitions, returnCreate vs returnRequest reason rules, INVALID_VARIABLE)",
    f"{H}__2026-04__orders__return-reverse-logistics-dispose-validation.json": PARITY
    + " (two approved requests, each dispose validation branch, the accepted NOT_RESTOCKED, the read after)",
    f"{H}__2026-04__orders__return-reverse-logistics-introspection.json": "schema evidence, no behaviour: "
    + PARITY
    + " against the vendored 2026-04 schema (roots, arguments, payloads, enum values, input fields, absent roots)",
    f"{H}__2026-04__orders__return-reverse-logistics-recorded.json": PARITY
    + " (every step: request/approve, reverse delivery create/update and dispose with their validation, process)",
    f"{H}__2026-04__orders__return-shipping-fee-recorded.json": PARITY
    + " (introspection, returnCreate with returnShippingFee, the read after, the undeclared-input probe)",
    f"{H}__2026-04__orders__returnClose-Reopen-Cancel-state-preconditions.json": PARITY
    + " (every step of every case: returnRequest/approve/decline/close/reopen/cancel/process/removeFromReturn)",
    "local-runtime__2026-04__orders__return-lifecycle-local-staging.json": "not Shopify (proxy output)",
    "local-runtime__2026-04__orders__return-quantity-validation.json": "not Shopify (proxy output)",
}


def _steps(case: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Recorded steps in file order, nested groups flattened (``group/step``)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, value in case.items():
        if isinstance(value, dict) and "query" in value and "response" in value:
            found.append((prefix + name, value))
        elif isinstance(value, dict):
            found.extend(_steps(value, f"{prefix}{name}/"))
    return found


def _locations(rec: dict[str, Any]) -> list[tuple[str, str]]:
    """The recorded ``locations(first: 10)`` page, then the location the setup order was assigned to (after the
    page, so the recorded page still reads the same)."""
    nodes = step_body(rec["locations"])["data"]["locations"]["nodes"]
    found = [(node["id"], node["name"]) for node in nodes]
    created = (
        step_body(rec["setup"]["orderCreate"])["data"]["orderCreate"]["order"]
        if "orderCreate" in rec.get("setup", {})
        else {}
    )
    for fo in (created.get("fulfillmentOrders") or {}).get("nodes", []):
        assigned = fo.get("assignedLocation") or {}
        location_id = (assigned.get("location") or {}).get("id")
        if location_id and location_id not in dict(found):
            found.append((location_id, assigned["name"]))
    return found


PRECONDITIONS = f"{H}__2026-04__orders__returnClose-Reopen-Cancel-state-preconditions.json"
_PRECONDITION_SETUPS = {
    "requestedCase": "requested",
    "openCloseReopenCase": "openCloseReopen",
    "cancelableCase": "cancelable",
    "declinedCase": "declined",
    "processedCase": "processed",
    "notFoundCase": None,
}


@pytest.mark.parametrize("case", list(_PRECONDITION_SETUPS))
async def test_return_state_preconditions(shop: Shop, case: str) -> None:
    rec = capture(PRECONDITIONS)
    replay = Replay(shop)
    replay.use_shop("USD", _locations(rec))
    await replay.check(rec["locations"])
    setup = _PRECONDITION_SETUPS[case]
    if setup is not None:
        replay.seed_order(rec["setup"][setup])
    for _name, step in _steps(rec[case]):
        await replay.check(step)


LIFECYCLE = f"{H}__2026-04__orders__order-return-status-lifecycle.json"
_LIFECYCLE_SETUPS = {
    "zeroCase": None,
    "mixedCase": "mixed",
    "declinedCase": "declined",
    "canceledCase": "canceled",
    "removedCase": "removed",
}


@pytest.mark.parametrize("case", list(_LIFECYCLE_SETUPS))
async def test_order_return_status_lifecycle(shop: Shop, case: str) -> None:
    """``orderCreate`` is not emulated: the zero case's order is seeded from its recorded answer instead."""
    rec = capture(LIFECYCLE)
    replay = Replay(shop)
    replay.use_shop("USD", [])
    setup_name = _LIFECYCLE_SETUPS[case]
    replay.seed_order(rec["setup"][setup_name] if setup_name else {"orderCreate": rec[case]["orderCreate"]})
    for name, step in _steps(rec[case]):
        if name != "orderCreate":
            await replay.check(step)


REVERSE_LOGISTICS = f"{H}__2026-04__orders__return-reverse-logistics-recorded.json"
# Sent against the second return's reverse fulfillment order, which the file records later (it was created after
# the first return's work in the recording run): replayed once that order exists.
_UNRELATED_LINE = "reverseDeliveryCreateValidation/unrelatedReverseFulfillmentOrderLine"


async def test_return_reverse_logistics_recorded(shop: Shop) -> None:
    rec = capture(REVERSE_LOGISTICS)
    replay = Replay(shop)
    replay.use_shop("USD", _locations(rec))
    replay.seed_order(rec["setup"])
    steps = [(n, s) for n, s in _steps(rec) if not n.startswith(("setup/", "cleanup"))]
    unrelated = next(s for n, s in steps if n == _UNRELATED_LINE)
    steps = [(n, s) for n, s in steps if n != _UNRELATED_LINE]
    last_approve = next(i for i, (n, _) in enumerate(steps) if n == "explicitReturnApproveRequest")
    steps.insert(last_approve + 1, (_UNRELATED_LINE, unrelated))
    for _name, step in steps:
        await replay.check(step)


DISPOSE_VALIDATION = f"{H}__2026-04__orders__return-reverse-logistics-dispose-validation.json"


async def test_return_dispose_validation(shop: Shop) -> None:
    rec = capture(DISPOSE_VALIDATION)
    replay = Replay(shop)
    replay.use_shop("USD", _locations(rec))
    replay.seed_order(rec["setup"])
    for _name, step in [(n, s) for n, s in _steps(rec) if not n.startswith(("setup/", "cleanup"))]:
        await replay.check(step)


_WHOLE_FILE = [
    f"{H}__2025-01__orders__return-decline-request-validation.json",
    f"{H}__2026-04__orders__return-reason-validation.json",
    f"{H}__2026-04__orders__return-customer-note-recorded.json",
    f"{H}__2026-04__orders__return-shipping-fee-recorded.json",
]


@pytest.mark.parametrize("name", _WHOLE_FILE, ids=lambda n: n.split("__")[-1].removesuffix(".json"))
async def test_return_capture_replayed_whole(shop: Shop, name: str) -> None:
    """Every recorded step in file order (introspection included, answered from the vendored schema), after
    seeding the setup order; ``orderCreate``/``fulfillmentCreate`` and cleanup are not emulated."""
    rec = capture(name)
    replay = Replay(shop)
    replay.use_shop("USD", [])
    if "orderCreate" in rec.get("setup", {}):
        replay.seed_order(rec["setup"])
    for step_name, step in _steps(rec):
        if step_name.startswith("cleanup") or step_name.split("/")[-1] in _NOT_EMULATED_SETUP:
            continue
        if step_name == "setup/returnReasonDefinitions":
            await _check_standard_reasons(replay, step)
            continue
        await replay.check(step)


async def _check_standard_reasons(replay: Replay, step: dict[str, Any]) -> None:
    """Deliberate difference: the emulator's catalogue is the 10 standard definitions (what returns use); the live
    shop continues with a long product taxonomy. The standard ones must read exactly as recorded, in order."""
    got = (await replay.send(step))["data"]["returnReasonDefinitions"]["nodes"]
    want = step_body(step)["data"]["returnReasonDefinitions"]["nodes"]
    assert len(got) == 10 and got == want[:10]


_NOT_EMULATED_SETUP = ("orderCreate", "fulfillmentCreate", "orderReadAfterFulfillment", "orderCancel", "orderDelete")


INTROSPECTION = f"{H}__2026-04__orders__return-reverse-logistics-introspection.json"


def _type_text(type_: Any) -> str:
    return str(type_)


def test_return_introspection_matches_vendored_schema() -> None:
    """A summary of live introspection (no raw responses): every root, argument, payload field, enum value and
    input field it lists is the vendored schema's, and the roots it found absent are absent."""
    rec = capture(INTROSPECTION)
    schema = load_schema("2026-04")
    assert schema.query_type is not None and schema.mutation_type is not None
    for roots, root_type in ((rec["queryRoots"], schema.query_type), (rec["mutationRoots"], schema.mutation_type)):
        for name, evidence in roots.items():
            field_ = root_type.fields[name]
            args = [  # introspection leaves deprecated arguments out unless asked
                f"{arg_name}: {_type_text(arg.type)}"
                for arg_name, arg in field_.args.items()
                if not arg.deprecation_reason
            ]
            assert args == evidence["args"], name
            if "type" in evidence:
                assert _type_text(field_.type) == evidence["type"], name
            if "payloadFields" in evidence:
                payload = field_.type
                assert sorted(payload.fields) == sorted(evidence["payloadFields"]), name  # type: ignore[union-attr]
    types = rec["typeEvidence"]
    for name, values in types.items():
        if name == "absentRoots":
            assert not set(values) & set(schema.mutation_type.fields), values
            continue
        named = schema.type_map[name]
        listed = getattr(named, "values", None) or {
            field_name: f
            for field_name, f in named.fields.items()
            if not f.deprecation_reason  # type: ignore[union-attr]
        }
        assert sorted(listed) == sorted(values), name


NODE_READS = f"{H}__2026-04__admin-platform__fulfillment-return-node-read-after-write.json"
# The return half of the recording, in the order the reads' answers imply (the file groups setup and reads apart):
# the returnable fulfillment before anything is requested, the return graph while OPEN, then after close/reopen.
_NODE_STEPS = (
    "setup/returnableFulfillments",
    "nodeReads/returnableFulfillmentNodeRead",
    "setup/returnRequest",
    "setup/returnApproveRequest",
    "setup/reverseDeliveryCreate",
    "setup/reverseDeliveryUpdate",
    "nodeReads/returnReverseNodeRead",
    "setup/returnClose",
    "nodeReads/returnClosedNodeRead",
    "setup/returnReopen",
    "nodeReads/returnReopenedNodeRead",
    "nodeReads/missingNodes",
)


async def test_fulfillment_return_node_reads(shop: Shop) -> None:
    rec = capture(NODE_READS)
    steps = dict(_steps(rec))
    replay = Replay(shop)
    replay.use_shop("CAD", [])
    replay.seed_order(rec["setup"])
    for name in _NODE_STEPS:
        if name == "nodeReads/returnReverseNodeRead":
            await _check_without_mixed_status(replay, steps[name])
            continue
        await replay.check(steps[name])


async def _check_without_mixed_status(replay: Replay, step: dict[str, Any]) -> None:
    """Known difference: ``duplicateNodes`` selects ``status`` on Return (ReturnStatus) and ReverseFulfillmentOrder
    (ReverseFulfillmentOrderStatus) side by side. Shopify's graphql-ruby accepts that for exclusive types;
    graphql-core's OverlappingFieldsCanBeMerged rule refuses the document. The refusal is asserted, then the same
    reads are replayed without ``duplicateNodes`` (``nodes`` itself is covered by ``missingNodes``)."""
    refused = await replay.send(step)
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    document: str = step["query"]
    trimmed = document[: document.index("    duplicateNodes: nodes(")].rstrip() + "\n  }"
    await replay.check({**step, "query": trimmed}, skip=("duplicateNodes",))


QUERY_ROOTS = f"{H}__2026-04__orders__return-query-roots-recorded.json"


async def test_returnable_fulfillments_recorded(shop: Shop) -> None:
    rec = capture(QUERY_ROOTS)
    replay = Replay(shop)
    replay.use_shop("USD", [])
    replay.seed_order(rec["setup"])
    await replay.check(rec["returnableFulfillments"])
