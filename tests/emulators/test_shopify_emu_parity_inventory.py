"""Parity with recorded Shopify, inventory: see test_shopify_emu_parity for the method."""

from __future__ import annotations

from .parity import H, needs_captures

pytestmark = needs_captures

COVERAGE: dict[str, str] = {
    **{
        f"{H}__{v}__products__{name}.json": "inventory mutations: the engine restocks through dispositions"
        for v, name in [
            ("2025-01", "inventory-adjust-then-has-out-of-stock-variants-parity"),
            ("2025-01", "inventory-quantity-roots-parity"),
            ("2025-01", "inventorySetQuantities-name-validation"),
            ("2026-04", "inventory-activate-on-hand"),
            ("2026-04", "inventory-adjust-name-allowlist"),
            ("2026-04", "inventory-adjust-on-hand-name-mirrors"),
            ("2026-04", "inventory-adjust-zero-delta-noop"),
            ("2026-04", "inventory-existence-validation"),
            ("2026-04", "inventory-quantity-contracts-2026-04"),
            ("2026-04", "inventory-reason-validation"),
            ("2026-04", "inventorySetQuantities-name-validation"),
            ("2026-04", "inventorySetQuantities-quantity-bounds"),
        ]
    },
    "very-big-test-store.myshopify.com__2025-01__products__inventory-adjust-quantities-parity.json": (
        "inventory mutations: the engine restocks through dispositions"
    ),
}
