"""Every activity a worker registers, built around one ShopifyAccess (one HTTP pool and one cost budget per
process), one class per concern."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from engine.activities.annotations import AnnotationActivities
from engine.activities.exchanges import ExchangeActivities
from engine.activities.notify import NotifyActivities
from engine.activities.orders import OrderActivities
from engine.activities.processing import ProcessActivities
from engine.activities.returns import ReturnActivities
from engine.activities.shopify import ShopifyAccess
from engine.activities.stock import StockActivities
from engine.settings import Settings, shopify_token
from engine.shopify.throttle import CostBudget


class ShopifyActivities:
    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        token_lookup: Callable[[str], str] = shopify_token,
        budget: CostBudget | None = None,
    ) -> None:
        self.shopify = ShopifyAccess(settings, http, token_lookup, budget)
        self.budget = self.shopify.budget
        self.orders = OrderActivities(self.shopify)
        self.returns = ReturnActivities(self.shopify)
        self.refunds = ProcessActivities(self.shopify)  # refunds beside the return, and by processing it
        self.stock = StockActivities(self.shopify)
        self.exchanges = ExchangeActivities(self.shopify)
        self.annotations = AnnotationActivities(self.shopify)
        self.notifications = NotifyActivities(http)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.orders.validate_order,
            self.orders.sync_order_status,
            self.returns.create_return,
            self.returns.attach_tracking,
            self.returns.close_return,
            self.returns.cancel_return,
            self.stock.dispose_items,
            self.refunds.issue_refund,
            self.refunds.process_return,
            self.refunds.find_refund,
            self.refunds.credit_bonus,
            self.exchanges.exchange_payment,
            self.annotations.tag_order,
            self.annotations.untag_order,
            self.annotations.add_order_note,
            self.notifications.notify,
        ]
