"""Parity with recorded Shopify, returns and reverse logistics: see test_shopify_emu_parity for the method.

The recorded flows are replayed step by step with ``replay_returns.Replay``: the recorded orders are seeded (same
names, titles, prices, fulfilled quantities), every recorded document is sent with its variables, and each answer
is compared with Shopify's: key sets, values, userErrors and top-level errors exactly; ids through the pairs the
replay learns; timestamps and cursors for presence only.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Shop
from .parity import PARITY, H, capture, needs_captures
from .replay_returns import Replay, step_body

pytestmark = needs_captures

COVERAGE: dict[str, str] = {
    f"{H}__2025-01__orders__return-decline-request-validation.json": "returnDeclineRequest: not emulated",
    f"{H}__2026-04__admin-platform__fulfillment-return-node-read-after-write.json": "returnRequest/approve flow",
    f"{H}__2026-04__orders__order-return-status-lifecycle.json": "returnRequest/approve/decline: not emulated",
    f"{H}__2026-04__orders__return-customer-note-recorded.json": "returnRequest: not emulated",
    f"{H}__2026-04__orders__return-query-roots-recorded.json": "returnableFulfillments/returnCalculate: unused",
    f"{H}__2026-04__orders__return-reason-validation.json": "messages mirrored in returns.py; replay todo",
    f"{H}__2026-04__orders__return-reverse-logistics-dispose-validation.json": "messages mirrored; replay todo",
    f"{H}__2026-04__orders__return-reverse-logistics-introspection.json": "schema evidence, no behaviour",
    f"{H}__2026-04__orders__return-reverse-logistics-recorded.json": "uses returnRequest/approve; replay todo",
    f"{H}__2026-04__orders__return-shipping-fee-recorded.json": "return shipping fees: not emulated",
    f"{H}__2026-04__orders__returnClose-Reopen-Cancel-state-preconditions.json": PARITY
    + " (every step of every case: returnRequest/approve/decline/close/reopen/cancel/process/removeFromReturn)",
    "local-runtime__2026-04__orders__return-lifecycle-local-staging.json": "not Shopify (proxy output)",
    "local-runtime__2026-04__orders__return-quantity-validation.json": "not Shopify (proxy output)",
}


def _steps(case: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, step in case.items() if isinstance(step, dict) and "query" in step]


def _locations(rec: dict[str, Any]) -> list[tuple[str, str]]:
    nodes = step_body(rec["locations"])["data"]["locations"]["nodes"]
    return [(node["id"], node["name"]) for node in nodes]


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
