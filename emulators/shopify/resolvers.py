"""Root Query/Mutation fields for one request: argument handling and payload shapes, rules live in services.

The root is a dict subclass so a document that asks for a root field the emulator does not implement gets a
clear GraphQL error instead of a silent ``null``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLResolveInfo

from . import (
    bulk,
    idempotency,
    order_annotations,
    order_cancel,
    order_search,
    refunds,
    return_processing,
    return_requests,
    returns,
    reverse_logistics,
    store_credit,
)
from .connections import connection
from .ids import parse_gid
from .inventory_root import root_fields as inventory_root_fields
from .model import Order, Shop
from .outcome import Outcome, UserError
from .reasons import REASON_DEFINITIONS
from .returnable import find_returnable, returnable_fulfillments
from .views import View, Views

if TYPE_CHECKING:
    from .store import ShopifyStore

Resolver = Callable[..., Any]


@dataclass
class RequestContext:
    """What one GraphQL request may touch; ``writes`` counts committed writes (for fault injection)."""

    store: ShopifyStore
    shop: Shop
    version: str
    writes: int = 0
    views: Views = field(init=False)

    def __post_init__(self) -> None:
        self.views = Views(self.store, self.shop)


class Root(dict[str, Any]):
    """Root value; unknown root fields raise instead of resolving to null."""

    def get(self, key: str, default: Any = None) -> Any:  # noqa: D401 - dict API
        if key in self:
            return self[key]
        if key == "__typename":
            return default
        raise GraphQLError(f"The Shopify emulator does not implement the root field '{key}'.")


def _errors(errors: list[UserError]) -> list[dict[str, Any]]:
    return [e.as_dict() for e in errors]


def _orders_matching(shop: Shop, query: str | None) -> list[Order]:
    orders = sorted(shop.orders.values(), key=lambda o: int(parse_gid(o.id).number))  # type: ignore[union-attr]
    return order_search.matching(shop, orders, query)


def build_root(ctx: RequestContext) -> Root:
    store, shop, views = ctx.store, ctx.shop, ctx.views
    store_credit.settle_expirations(store, shop)  # credits whose expiresAt passed are gone before any read

    def committed(outcome: Outcome[Any]) -> None:
        if outcome.ok:
            ctx.writes += 1

    # ---- queries ------------------------------------------------------------------------------------
    def order(_info: GraphQLResolveInfo, id: str) -> View | None:  # noqa: A002 - GraphQL argument
        found = shop.orders.get(id)
        return views.order(found) if found else None

    def orders(_info: GraphQLResolveInfo, query: str | None = None, **args: Any) -> View:
        return connection(_orders_matching(shop, query), args, views.order)

    def return_(_info: GraphQLResolveInfo, id: str) -> View | None:  # noqa: A002
        found = shop.returns.get(id)
        return views.return_(found) if found else None

    def rfo(_info: GraphQLResolveInfo, id: str) -> View | None:  # noqa: A002
        found = shop.rfos.get(id)
        return views.rfo(found) if found else None

    def reverse_delivery(_info: GraphQLResolveInfo, id: str) -> View | None:  # noqa: A002
        found = shop.deliveries.get(id)
        return views.delivery(found) if found else None

    def inventory_item(_info: GraphQLResolveInfo, id: str) -> View | None:  # noqa: A002
        found = shop.inventory.get(id)
        return views.inventory_item(found) if found else None

    def customer(_info: GraphQLResolveInfo, id: str) -> View | None:  # noqa: A002
        found = shop.customers.get(id)
        return views.customer(found) if found else None

    def store_credit_account(_info: GraphQLResolveInfo, id: str) -> View | None:  # noqa: A002
        found = shop.store_credit_accounts.get(id)
        return views.store_credit_account(found) if found else None

    def location(_info: GraphQLResolveInfo, id: str | None = None) -> View | None:  # noqa: A002
        found = shop.locations.get(id) if id else next(iter(shop.locations.values()), None)
        return views.location(found) if found else None

    def locations(_info: GraphQLResolveInfo, **args: Any) -> View:
        return connection(list(shop.locations.values()), args, views.location)

    def reason_definitions(
        _info: GraphQLResolveInfo,
        ids: list[str] | None = None,
        handles: list[str] | None = None,
        **args: Any,
    ) -> View:
        chosen = [
            d for d in REASON_DEFINITIONS if (ids is None or d.id in ids) and (handles is None or d.handle in handles)
        ]
        return connection(chosen, args, views.reason_definition)

    def returnable(_info: GraphQLResolveInfo, orderId: str, **args: Any) -> View:  # noqa: N803
        found = shop.orders.get(orderId)
        pairs = [(found, f) for f in returnable_fulfillments(shop, found)] if found else []
        return connection(pairs, args, lambda pair: views.returnable_fulfillment(*pair))

    def node(_info: GraphQLResolveInfo, id: str) -> View | None:  # noqa: A002
        return _node(id)

    def nodes(_info: GraphQLResolveInfo, ids: list[str]) -> list[View | None]:
        return [_node(i) for i in ids]

    def _node(node_id: str) -> View | None:
        lookups: dict[str, Callable[[], View | None]] = {
            "Order": lambda: views.order(shop.orders[node_id]) if node_id in shop.orders else None,
            "Return": lambda: views.return_(shop.returns[node_id]) if node_id in shop.returns else None,
            "ReverseFulfillmentOrder": lambda: views.rfo(shop.rfos[node_id]) if node_id in shop.rfos else None,
            "ReverseDelivery": lambda: views.delivery(shop.deliveries[node_id]) if node_id in shop.deliveries else None,
            "InventoryItem": lambda: (
                views.inventory_item(shop.inventory[node_id]) if node_id in shop.inventory else None
            ),
            "Location": lambda: views.location(shop.locations[node_id]) if node_id in shop.locations else None,
            "Customer": lambda: views.customer(shop.customers[node_id]) if node_id in shop.customers else None,
            "StoreCreditAccount": lambda: (
                views.store_credit_account(shop.store_credit_accounts[node_id])
                if node_id in shop.store_credit_accounts
                else None
            ),
            "StoreCreditAccountCreditTransaction": lambda: _credit_node(node_id),
            "ReturnLineItem": lambda: _return_line_node(node_id),
            "ExchangeLineItem": lambda: _exchange_line_node(node_id),
            "ReverseFulfillmentOrderLineItem": lambda: _rfo_line_node(node_id),
            "ReverseDeliveryLineItem": lambda: _delivery_line_node(node_id),
            "ReturnableFulfillment": lambda: _returnable_node(node_id),
        }
        parsed = parse_gid(node_id)
        lookup = lookups.get(parsed.kind) if parsed else None
        return lookup() if lookup else None

    def _return_line_node(node_id: str) -> View | None:
        found = shop.return_line(node_id)
        return views.return_line(shop.orders[found[0].order_id], *found) if found else None

    def _exchange_line_node(node_id: str) -> View | None:
        found = shop.exchange_line(node_id)
        return views.exchange_line(shop.orders[found[0].order_id], *found) if found else None

    def _rfo_line_node(node_id: str) -> View | None:
        found = shop.rfo_line(node_id)
        return views.rfo_line(shop.orders[found[0].order_id], found[1]) if found else None

    def _delivery_line_node(node_id: str) -> View | None:
        found = shop.delivery_line(node_id)
        return views.delivery_line(shop.orders[shop.rfos[found[0].rfo_id].order_id], found[1]) if found else None

    def _returnable_node(node_id: str) -> View | None:
        found = find_returnable(shop, node_id)
        return views.returnable_fulfillment(*found) if found else None

    def _credit_node(node_id: str) -> View | None:
        for account in shop.store_credit_accounts.values():
            for entry in account.transactions:
                if entry.id == node_id and entry.kind == "CREDIT":
                    return views.store_credit_transaction(entry)
        return None

    def shop_field(_info: GraphQLResolveInfo) -> View:
        return {
            "__typename": "Shop",
            "id": "gid://shopify/Shop/1",
            "name": shop.domain.split(".")[0],
            "myshopifyDomain": shop.domain,
            "currencyCode": shop.currency,
        }

    # ---- mutations ----------------------------------------------------------------------------------
    def return_payload(outcome: Outcome[Any]) -> View:
        committed(outcome)
        value = outcome.value
        return {"return": views.return_(value) if value else None, "userErrors": _errors(outcome.errors)}

    def delivery_payload(outcome: Outcome[Any]) -> View:
        committed(outcome)
        value = outcome.value
        return {"reverseDelivery": views.delivery(value) if value else None, "userErrors": _errors(outcome.errors)}

    def return_create(_info: GraphQLResolveInfo, returnInput: dict[str, Any]) -> View:  # noqa: N803
        return return_payload(returns.create_return(store, shop, returnInput))

    def return_close(_info: GraphQLResolveInfo, id: str) -> View:  # noqa: A002
        return return_payload(returns.close_return(store, shop, id))

    def return_reopen(_info: GraphQLResolveInfo, id: str) -> View:  # noqa: A002
        return return_payload(returns.reopen_return(store, shop, id))

    def return_cancel(_info: GraphQLResolveInfo, id: str, **_: Any) -> View:  # noqa: A002
        return return_payload(returns.cancel_return(store, shop, id))

    def return_request(_info: GraphQLResolveInfo, input: dict[str, Any]) -> View:  # noqa: A002
        return return_payload(return_requests.request_return(store, shop, input))

    def return_approve_request(_info: GraphQLResolveInfo, input: dict[str, Any]) -> View:  # noqa: A002
        return return_payload(return_requests.approve_request(store, shop, input))

    def return_decline_request(_info: GraphQLResolveInfo, input: dict[str, Any]) -> View:  # noqa: A002
        return return_payload(return_requests.decline_request(store, shop, input))

    def return_process(_info: GraphQLResolveInfo, input: dict[str, Any]) -> View:  # noqa: A002
        return return_payload(return_processing.process_return(store, shop, input))

    def remove_from_return(
        _info: GraphQLResolveInfo,
        returnId: str,  # noqa: N803
        returnLineItems: list[dict[str, Any]] | None = None,  # noqa: N803
        exchangeLineItems: list[dict[str, Any]] | None = None,  # noqa: N803
        **_: Any,
    ) -> View:
        outcome = return_processing.remove_from_return(
            store, shop, returnId, returnLineItems or [], exchangeLineItems or []
        )
        return return_payload(outcome)

    def delivery_create(
        _info: GraphQLResolveInfo,
        reverseFulfillmentOrderId: str,  # noqa: N803
        reverseDeliveryLineItems: list[dict[str, Any]],  # noqa: N803
        trackingInput: dict[str, Any] | None = None,  # noqa: N803
        labelInput: dict[str, Any] | None = None,  # noqa: N803
        **_: Any,
    ) -> View:
        outcome = reverse_logistics.create_delivery(
            store, shop, reverseFulfillmentOrderId, reverseDeliveryLineItems, trackingInput, labelInput
        )
        return delivery_payload(outcome)

    def delivery_shipping_update(
        _info: GraphQLResolveInfo,
        reverseDeliveryId: str,  # noqa: N803
        trackingInput: dict[str, Any] | None = None,  # noqa: N803
        labelInput: dict[str, Any] | None = None,  # noqa: N803
        **_: Any,
    ) -> View:
        outcome = reverse_logistics.update_delivery_shipping(store, shop, reverseDeliveryId, trackingInput, labelInput)
        return delivery_payload(outcome)

    def dispose(_info: GraphQLResolveInfo, dispositionInputs: list[dict[str, Any]]) -> View:  # noqa: N803
        outcome = reverse_logistics.dispose(store, shop, dispositionInputs)
        committed(outcome)
        lines = None
        if outcome.value is not None:
            lines = []
            for line in outcome.value:
                found = shop.rfo_line(line.id)
                assert found is not None
                lines.append(views.rfo_line(shop.orders[found[0].order_id], line))
        return {"reverseFulfillmentOrderLineItems": lines, "userErrors": _errors(outcome.errors)}

    def refund_create(info: GraphQLResolveInfo, input: dict[str, Any]) -> View:  # noqa: A002
        def write() -> tuple[Any, list[UserError], str | None]:
            outcome = refunds.create_refund(store, shop, input)
            committed(outcome)
            return outcome.value, outcome.errors, outcome.value.id if outcome.value is not None else None

        def replay(refund_id: str) -> Any:
            return refunds.find_refund(shop, refund_id)

        refund, errors = idempotency.run_once(
            info, ctx.version, shop, store.clock, "refundCreate", input, write, replay
        )
        owner = shop.orders.get(input.get("orderId") or "")
        return {
            "refund": views.refund(owner, refund) if refund and owner else None,
            "order": views.order(owner) if owner else None,
            "userErrors": _errors(errors),
        }

    def order_cancel_(
        _info: GraphQLResolveInfo,
        orderId: str,  # noqa: N803
        restock: bool,
        reason: str,
        staffNote: str | None = None,  # noqa: N803
        refund: bool | None = None,
        refundMethod: dict[str, Any] | None = None,  # noqa: N803
        **_: Any,
    ) -> View:
        request = order_cancel.CancelRequest(orderId, reason, restock, staffNote, refund, refundMethod)
        outcome = order_cancel.cancel_order(store, shop, request)
        committed(outcome)
        job = outcome.value
        return {
            "job": {"__typename": "Job", "id": job.id, "done": job.done} if job else None,
            "orderCancelUserErrors": _errors(outcome.errors),
            "userErrors": _errors(outcome.errors),
        }

    def store_credit_account_credit(
        _info: GraphQLResolveInfo,
        id: str,  # noqa: A002
        creditInput: dict[str, Any],  # noqa: N803
    ) -> View:
        outcome = store_credit.credit_account(store, shop, id, creditInput)
        committed(outcome)
        entry = outcome.value
        return {
            "storeCreditAccountTransaction": views.store_credit_transaction(entry) if entry else None,
            "userErrors": _errors(outcome.errors),
        }

    def metafields_set(_info: GraphQLResolveInfo, metafields: list[dict[str, Any]]) -> View:
        outcome = order_annotations.set_metafields(store, shop, metafields)
        committed(outcome)
        written = outcome.value
        return {
            "metafields": [views.metafield(m) for m in written] if written is not None else None,
            "userErrors": [{**e.as_dict(), "elementIndex": _element_index(e)} for e in outcome.errors],
        }

    def tags_add(_info: GraphQLResolveInfo, id: str, tags: list[str]) -> View:  # noqa: A002
        outcome = order_annotations.add_tags(store, shop, id, tags)
        committed(outcome)
        return {
            "node": views.order(outcome.value) if outcome.value else None,
            "userErrors": _errors(outcome.errors),
        }

    def tags_remove(_info: GraphQLResolveInfo, id: str, tags: list[str]) -> View:  # noqa: A002
        outcome = order_annotations.remove_tags(store, shop, id, tags)
        committed(outcome)
        return {"node": views.order(outcome.value) if outcome.value else None, "userErrors": _errors(outcome.errors)}

    def order_update(_info: GraphQLResolveInfo, input: dict[str, Any]) -> View:  # noqa: A002
        outcome = order_annotations.update_order(store, shop, input)
        committed(outcome)
        return {"order": views.order(outcome.value) if outcome.value else None, "userErrors": _errors(outcome.errors)}

    root = Root(
        {
            "order": order,
            "orders": orders,
            "return": return_,
            "reverseFulfillmentOrder": rfo,
            "reverseDelivery": reverse_delivery,
            "inventoryItem": inventory_item,
            "location": location,
            "locations": locations,
            "customer": customer,
            "storeCreditAccount": store_credit_account,
            "returnReasonDefinitions": reason_definitions,
            "returnableFulfillments": returnable,
            "node": node,
            "nodes": nodes,
            "shop": shop_field,
            "returnCreate": return_create,
            "returnClose": return_close,
            "returnReopen": return_reopen,
            "returnCancel": return_cancel,
            "returnRequest": return_request,
            "returnApproveRequest": return_approve_request,
            "returnDeclineRequest": return_decline_request,
            "returnProcess": return_process,
            "removeFromReturn": remove_from_return,
            "reverseDeliveryCreateWithShipping": delivery_create,
            "reverseFulfillmentOrderDispose": dispose,
            "reverseDeliveryShippingUpdate": delivery_shipping_update,
            "refundCreate": refund_create,
            "orderCancel": order_cancel_,
            "storeCreditAccountCredit": store_credit_account_credit,
            "metafieldsSet": metafields_set,
            "tagsAdd": tags_add,
            "tagsRemove": tags_remove,
            "orderUpdate": order_update,
        }
    )
    root.update(bulk.root_fields(ctx, root))  # bulk operations: see bulk.py
    root.update(inventory_root_fields(ctx))  # products, levels and quantity mutations: see inventory.py
    return root


def _element_index(error: UserError) -> int | None:
    if error.field and len(error.field) > 1 and error.field[0] == "metafields" and error.field[1].isdigit():
        return int(error.field[1])
    return None
