"""Shopify Admin GraphQL emulator: a real HTTP server executing Shopify's own schema over in-memory shops.

Modules (one job each):

* ``schema``            - vendored SDL per API version and ``load_schema`` (cached, never at import time)
* ``model``             - dataclasses for a shop's state (orders, refunds, returns, RFOs, customers, ...)
* ``store``             - ``ShopifyStore``: the typed seed/read API used by tests and the demo
* ``returns``           - returnCreate/Close/Reopen/Cancel rules
* ``fees``              - restocking fees and the return shipping fee: amounts, what each processing charges
* ``return_outcome``    - ``Return.suggestedFinancialOutcome`` and the settlement arithmetic it shares with
  ``returnProcess``
* ``return_processing``/``return_settlement`` - ``returnProcess`` (lines, dispositions, refund, fees, exchanges) and
  ``removeFromReturn``
* ``exchanges``         - exchange line items on returnCreate: Shopify's documented facts, pricing, value
* ``exchange_processing`` - exchanges in returnProcess: stock reserved, the exchange's fulfillment order, the
  AWAITING_PAYMENT hold while the customer owes, and paying it (``ShopifyStore.pay_exchange_balance``)
* ``fulfillment_orders`` - ``Order.fulfillmentOrders``: the order's own, derived, and one per processed exchange
* ``reverse_logistics`` - reverse deliveries (tracking) and dispositions (restock; rules in ``dispositions``)
* ``refunds``           - refundCreate rules and money movement (original payment and store credit)
* ``store_credit``      - customers' store credit accounts: storeCreditAccountCredit, refund credits, expiry
* ``idempotency``       - ``@idempotent(key:)`` requirement, replay and 24 h expiry
* ``inventory``         - inventory quantity mutations (adjust, set, set on hand, move, activate) and their rules;
  ``inventory_views``/``inventory_root``: products, variants, adjustment groups and their root fields
* ``order_annotations`` - metafieldsSet and tagsAdd on orders
* ``views``/``resolvers`` - GraphQL projections and root fields
* ``errors``            - Shopify-worded validation and INVALID_VARIABLE errors
* ``cost``              - query cost and the leaky bucket (``extensions.cost``, THROTTLED)
* ``faults``            - fault injection seam (5xx, timeouts, lost responses)
* ``executor``/``app``/``server`` - request pipeline, Starlette app, uvicorn runner
"""

from .clock import Clock
from .faults import Faults
from .server import ShopifyEmulator
from .store import OrderLineSeed, ShopifyStore

__all__ = ["Clock", "Faults", "OrderLineSeed", "ShopifyEmulator", "ShopifyStore"]
