"""Parity with recorded Shopify, returns and reverse logistics: see test_shopify_emu_parity for the method."""

from __future__ import annotations

from .parity import H, needs_captures

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
    f"{H}__2026-04__orders__returnClose-Reopen-Cancel-state-preconditions.json": "messages mirrored; replay todo",
    "local-runtime__2026-04__orders__return-lifecycle-local-staging.json": "not Shopify (proxy output)",
    "local-runtime__2026-04__orders__return-quantity-validation.json": "not Shopify (proxy output)",
}
