"""Model -> GraphQL projections: dicts read by graphql-core's default resolver.

Fields that take arguments or are costly are callables ``(info, **args)``, which graphql-core calls with the
coerced arguments; interfaces and unions resolve through the ``__typename`` key. Fields not listed resolve to
null, which the schema then enforces (a missing non-null field becomes a GraphQL error, never a silent lie).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from . import inventory_views, order_search
from .clock import iso
from .connections import connection, plain_list
from .exchanges import variant_price
from .fees import restocking_fee_amount
from .fulfillment_orders import fulfillment_orders, remaining_quantity
from .ids import parse_gid
from .model import (
    QUANTITY_NAMES,
    Customer,
    Disposition,
    ExchangeLine,
    Fulfillment,
    FulfillmentLineItem,
    InventoryItem,
    InventoryLevel,
    LineItem,
    Location,
    Metafield,
    Order,
    Refund,
    RefundLine,
    Return,
    ReturnLine,
    ReturnReasonDefinition,
    ReverseDelivery,
    ReverseDeliveryLine,
    ReverseFulfillmentOrder,
    RfoLine,
    Shop,
    StoreCreditAccount,
    StoreCreditTransaction,
    Transaction,
)
from .money import format_price, money_bag, money_v2
from .reasons import definition_by_id
from .return_outcome import suggested_financial_outcome
from .returnable import returnable_id, returnable_lines
from .shipping_lines import shipping_lines
from .store_credit import remaining
from .suggested_refund import suggested_refund

if TYPE_CHECKING:
    from .store import ShopifyStore

View = dict[str, Any]
_CURRENCY_TERM = re.compile(r"currency_code:\s*['\"]?([A-Za-z]{3})")
_RETURN_STATUS_TERM = re.compile(r"status:\s*['\"]?([A-Za-z_]+)")
_TRANSACTION_TYPES = {
    "CREDIT": "StoreCreditAccountCreditTransaction",
    "DEBIT": "StoreCreditAccountDebitTransaction",
    "EXPIRATION": "StoreCreditAccountExpirationTransaction",
}


def _legacy_id(gid: str) -> str:
    parsed = parse_gid(gid)
    return parsed.number if parsed else gid


@dataclass
class Views:
    """Projections for one shop; every method returns a fresh view (state is read when resolved)."""

    store: ShopifyStore
    shop: Shop

    def money(self, amount: Decimal, currency: str | None = None) -> View:
        return money_bag(amount, currency or self.shop.currency)

    @staticmethod
    def order_money(order: Order, amount: Decimal) -> View:
        """An amount on an order (kept in its presentment currency) as a MoneyBag in both currencies."""
        return money_bag(order.shop_amount(amount), order.currency, amount, order.presentment)

    # ---- orders -------------------------------------------------------------------------------------
    def order(self, order: Order) -> View:
        cur = order.currency

        def fulfillment_status() -> str:
            shipped = sum(f.quantity for ff in order.fulfillments for f in ff.line_items)
            total = sum(li.quantity for li in order.line_items)
            return "FULFILLED" if shipped >= total else ("PARTIALLY_FULFILLED" if shipped else "UNFULFILLED")

        def metafield(_info: Any, key: str, namespace: str | None = None, **_: Any) -> View | None:
            found = order.metafields.get((namespace or "app--emulator", key))
            return self.metafield(found) if found else None

        def returns(_info: Any, query: str | None = None, **args: Any) -> View:
            items = [self.shop.returns[r] for r in order.return_ids]
            status = _RETURN_STATUS_TERM.search(query or "")
            if status:  # `status:OPEN`, the one search term the captures use on Order.returns
                items = [r for r in items if r.status == status.group(1).upper()]
            return connection(items, args, self.return_)

        return {
            "__typename": "Order",
            "id": order.id,
            "legacyResourceId": _legacy_id(order.id),
            "name": order.name,
            "currencyCode": cur,
            "presentmentCurrencyCode": order.presentment,
            "taxesIncluded": order.taxes_included,
            "totalTaxSet": lambda _info: self.order_money(order, order.total_tax()),
            "currentTotalTaxSet": lambda _info: self.order_money(order, order.total_tax()),
            "suggestedRefund": lambda _info, **args: suggested_refund(self, order, args),
            "processedAt": iso(order.processed_at),
            "createdAt": iso(order.created_at),
            "updatedAt": iso(order.updated_at or order.created_at),
            "cancelledAt": iso(order.cancelled_at),
            "closed": lambda _info: order.closed_at is not None,
            "closedAt": lambda _info: iso(order.closed_at),
            "cancelReason": lambda _info: order.cancel_reason,
            "cancellation": lambda _info: (
                {"staffNote": order.cancel_staff_note} if order.cancelled_at is not None else None
            ),
            "paymentGatewayNames": lambda _info: list(
                dict.fromkeys(t.gateway for t in order.transactions if t.kind in ("SALE", "CAPTURE", "AUTHORIZATION"))
            ),
            "shippingLines": lambda _info, **a: shipping_lines(self, order, a),
            "fulfillmentOrders": lambda _info, **a: fulfillment_orders(self, order, a),
            "totalRefundedShippingSet": lambda _info: self.order_money(order, order.refunded_shipping()),
            "confirmed": True,
            "test": False,
            "fullyPaid": lambda _info: order.outstanding() <= 0,
            "tags": lambda _info: list(order.tags),
            "note": lambda _info: order.note,
            "displayFinancialStatus": lambda _info: order.financial_status(),
            "displayFulfillmentStatus": lambda _info: fulfillment_status(),
            "returnStatus": lambda _info: order_search.return_status(self.shop, order),
            "refundable": lambda _info: order.net_payment() > 0,
            "metafield": metafield,
            "metafields": lambda _info, **a: connection(list(order.metafields.values()), a, self.metafield),
            "lineItems": lambda _info, **a: connection(order.line_items, a, lambda li: self.line_item(order, li)),
            "fulfillments": lambda _info, first=None, **_: plain_list(
                order.fulfillments, first, lambda f: self.fulfillment(order, f)
            ),
            "refunds": lambda _info, first=None, **_: plain_list(order.refunds, first, lambda r: self.refund(order, r)),
            "transactions": lambda _info, first=None, **_: plain_list(
                order.transactions, first, lambda t: self.transaction(order, t)
            ),
            "returns": returns,
            "customer": lambda _info: (
                self.customer(self.shop.customers[order.customer_id])
                if order.customer_id in self.shop.customers
                else None
            ),
            "totalPriceSet": lambda _info: self.order_money(order, order.total_price()),
            "subtotalPriceSet": lambda _info: self.order_money(order, order.total_price() - order.shipping),
            "totalShippingPriceSet": lambda _info: self.order_money(order, order.shipping),
            "currentTotalPriceSet": lambda _info: self.order_money(
                order, Decimal("0") if order.cancelled_at else order.total_price() - order.refunded()
            ),
            "totalReceivedSet": lambda _info: self.order_money(order, order.received()),
            "totalRefundedSet": lambda _info: self.order_money(order, order.refunded()),
            "netPaymentSet": lambda _info: self.order_money(order, order.net_payment()),
            "totalOutstandingSet": lambda _info: self.order_money(order, order.outstanding()),
        }

    def line_item(self, order: Order, line: LineItem) -> View:
        price = self.order_money(order, line.unit_price)
        unfulfilled = line.quantity - order.fulfilled_quantity(line.id)
        return {
            "__typename": "LineItem",
            "id": line.id,
            "sku": line.sku,
            "name": line.title,
            "title": line.title,
            "quantity": line.quantity,
            "currentQuantity": lambda _info: order.refundable_quantity(line.id),
            "refundableQuantity": lambda _info: order.refundable_quantity(line.id),
            "unfulfilledQuantity": unfulfilled,
            "fulfillableQuantity": lambda _info: remaining_quantity(order, line),
            "restockable": line.inventory_item_id is not None,
            "requiresShipping": True,
            "taxable": True,
            "isGiftCard": False,
            "discountedUnitPriceAfterAllDiscountsSet": price,
            "discountedUnitPriceSet": price,
            "originalUnitPriceSet": price,
            "discountedTotalSet": self.order_money(order, line.unit_price * line.quantity),
            "originalTotalSet": self.order_money(order, line.unit_price * line.quantity),
            "taxLines": lambda _info, first=None, **_: [self.tax_line(order, line)] if line.tax_rate else [],
            "variant": lambda _info: self.variant(line),
        }

    def variant(self, line: LineItem) -> View | None:
        if line.inventory_item_id is None:
            return None
        item = self.shop.inventory[line.inventory_item_id]
        return {
            "__typename": "ProductVariant",
            "id": item.variant_id,
            "sku": item.sku,
            "title": item.sku,
            "price": format_price(variant_price(item)),
            "inventoryItem": lambda _info: self.inventory_item(item),
        }

    def fulfillment(self, order: Order, fulfillment: Fulfillment) -> View:
        return {
            "__typename": "Fulfillment",
            "id": fulfillment.id,
            "status": fulfillment.status,
            "displayStatus": "FULFILLED",
            "createdAt": iso(fulfillment.created_at),
            "updatedAt": iso(fulfillment.created_at),
            "name": order.name,
            "order": lambda _info: self.order(order),
            "fulfillmentLineItems": lambda _info, **a: connection(
                fulfillment.line_items, a, lambda fli: self.fulfillment_line(order, fli)
            ),
        }

    def fulfillment_line(self, order: Order, fli: FulfillmentLineItem) -> View:
        line = order.line(fli.line_item_id)
        return {
            "__typename": "FulfillmentLineItem",
            "id": fli.id,
            "quantity": fli.quantity,
            "originalTotalSet": self.order_money(order, line.unit_price * fli.quantity if line else Decimal(0)),
            "discountedTotalSet": self.order_money(order, line.unit_price * fli.quantity if line else Decimal(0)),
            "lineItem": (lambda _info: self.line_item(order, line)) if line else None,
        }

    def transaction(self, order: Order, tx: Transaction) -> View:
        parent = order.transaction(tx.parent_id) if tx.parent_id else None
        return {
            "__typename": "OrderTransaction",
            "id": tx.id,
            "kind": tx.kind,
            "status": tx.status,
            "gateway": tx.gateway,
            "test": False,
            "manuallyCapturable": False,
            "createdAt": iso(tx.created_at),
            "processedAt": iso(tx.created_at),
            "amountSet": self.order_money(order, tx.amount),
            "maximumRefundableV2": (
                money_v2(order.refundable_from(tx), order.presentment) if tx.kind in ("SALE", "CAPTURE") else None
            ),
            "parentTransaction": (lambda _info: self.transaction(order, parent)) if parent else None,
            "order": lambda _info: self.order(order),
        }

    def refund(self, order: Order, refund: Refund) -> View:
        txs = [t for t in order.transactions if t.id in refund.transaction_ids]
        return {
            "__typename": "Refund",
            "id": refund.id,
            "legacyResourceId": _legacy_id(refund.id),
            "note": refund.note,
            "createdAt": iso(refund.created_at),
            "updatedAt": iso(refund.created_at),
            "processedAt": iso(refund.created_at),
            "totalRefundedSet": self.order_money(order, refund.amount),
            "order": lambda _info: self.order(order),
            "return": (
                (lambda _info: self.return_(self.shop.returns[refund.return_id]))
                if refund.return_id in self.shop.returns
                else None
            ),
            "staffMember": self.staff_member(refund.staff_member_id) if refund.staff_member_id else None,
            "refundLineItems": lambda _info, **a: connection(refund.lines, a, lambda rl: self.refund_line(order, rl)),
            "transactions": lambda _info, **a: connection(txs, a, lambda t: self.transaction(order, t)),
            "refundShippingLines": lambda _info, **a: connection([], a, lambda x: x),
            "duties": [],
            "orderAdjustments": lambda _info, **a: connection([], a, lambda x: x),
        }

    def staff_member(self, staff_member_id: str) -> View:
        """The one staff member of an emulated shop: its owner."""
        return {
            "__typename": "StaffMember",
            "id": staff_member_id,
            "name": "Shop Owner",
            "firstName": "Shop",
            "lastName": "Owner",
            "initials": ["S", "O"],
            "email": f"owner@{self.shop.domain}",
            "active": True,
            "exists": True,
            "isShopOwner": True,
            "locale": "en",
            "accountType": "REGULAR",
            "phone": None,
        }

    def refund_line(self, order: Order, rl: RefundLine) -> View:
        line = order.line(rl.line_item_id)
        location = self.shop.locations.get(rl.location_id or "")
        return {
            "__typename": "RefundLineItem",
            "id": rl.id,
            "quantity": rl.quantity,
            "restockType": rl.restock_type,
            "restocked": rl.restocked,
            "lineItem": (lambda _info: self.line_item(order, line)) if line else None,
            "location": self.location(location) if location else None,
            "priceSet": self.order_money(order, line.unit_price if line else Decimal(0)),
            "subtotalSet": self.order_money(order, rl.subtotal),
            "totalTaxSet": self.order_money(order, rl.total_tax),
        }

    def tax_line(self, order: Order, line: LineItem) -> View:
        return {
            "__typename": "TaxLine",
            "title": "VAT" if order.taxes_included else "Sales tax",
            "rate": float(line.tax_rate),
            "ratePercentage": float(line.tax_rate * 100),
            "priceSet": self.order_money(order, order.line_tax(line, line.quantity)),
            "channelLiable": False,
        }

    def metafield(self, mf: Metafield) -> View:
        return {
            "__typename": "Metafield",
            "id": mf.id,
            "legacyResourceId": _legacy_id(mf.id),
            "namespace": mf.namespace,
            "key": mf.key,
            "value": mf.value,
            "jsonValue": mf.value,
            "type": mf.type,
            "ownerType": "ORDER",
            "createdAt": iso(mf.created_at),
            "updatedAt": iso(mf.updated_at),
            "compareDigest": hashlib.sha256(f"{mf.type}:{mf.value}".encode()).hexdigest(),
        }

    # ---- customers and store credit ---------------------------------------------------------------
    def customer(self, customer: Customer) -> View:
        orders = [o for o in self.shop.orders.values() if o.customer_id == customer.id]

        def store_credit_accounts(_info: Any, query: str | None = None, **args: Any) -> View:
            accounts = self.shop.accounts_of(customer.id)
            match = _CURRENCY_TERM.search(query or "")
            if match:
                accounts = [a for a in accounts if a.currency == match.group(1).upper()]
            return connection(accounts, args, self.store_credit_account)

        return {
            "__typename": "Customer",
            "id": customer.id,
            "legacyResourceId": _legacy_id(customer.id),
            "displayName": customer.display_name(),
            "firstName": customer.first_name,
            "lastName": customer.last_name,
            "email": customer.email,
            "note": None,
            "tags": [],
            "state": "DISABLED",
            "taxExempt": False,
            "verifiedEmail": customer.email is not None,
            "createdAt": iso(customer.created_at),
            "updatedAt": iso(customer.created_at),
            "numberOfOrders": str(len(orders)),
            "amountSpent": money_v2(sum((o.net_payment() for o in orders), Decimal("0")), self.shop.currency),
            "orders": lambda _info, **a: connection(orders, a, self.order),
            "lastOrder": lambda _info: self.order(orders[-1]) if orders else None,
            "storeCreditAccounts": store_credit_accounts,
        }

    def store_credit_account(self, account: StoreCreditAccount) -> View:
        owner = self.shop.customers[account.owner_id]
        return {
            "__typename": "StoreCreditAccount",
            "id": account.id,
            "balance": lambda _info: money_v2(account.balance(), account.currency),
            "owner": lambda _info: self.customer(owner),
            "transactions": lambda _info, **a: connection(
                list(account.transactions), a, lambda t: self.store_credit_transaction(t)
            ),
        }

    def store_credit_transaction(self, entry: StoreCreditTransaction) -> View:
        """One history entry; ``__typename`` picks the schema's implementation of the interface."""
        account = self.shop.store_credit_accounts[entry.account_id]
        order = self.shop.orders.get(entry.order_id or "")
        origin = order.transaction(entry.origin_transaction_id) if order and entry.origin_transaction_id else None
        view: View = {
            "__typename": _TRANSACTION_TYPES[entry.kind],
            "amount": money_v2(entry.amount, account.currency),
            "balanceAfterTransaction": money_v2(entry.balance_after, account.currency),
            "createdAt": iso(entry.created_at),
            "event": entry.event,
            "account": lambda _info: self.store_credit_account(account),
            "origin": (lambda _info: self.transaction(order, origin)) if order and origin else None,
        }
        if entry.kind != "EXPIRATION":
            view["id"] = entry.id
        if entry.kind == "CREDIT":
            view["expiresAt"] = iso(entry.expires_at)
            view["remainingAmount"] = lambda _info: money_v2(remaining(entry), account.currency)
        if entry.kind == "EXPIRATION":
            credit = next((t for t in account.transactions if t.id == entry.credit_id), None)
            view["creditTransaction"] = (lambda _info: self.store_credit_transaction(credit)) if credit else None
        return view

    # ---- inventory ----------------------------------------------------------------------------------
    def location(self, location: Location) -> View:
        return {
            "__typename": "Location",
            "id": location.id,
            "legacyResourceId": _legacy_id(location.id),
            "name": location.name,
            "isActive": True,
            "fulfillsOnlineOrders": True,
        }

    def inventory_item(self, item: InventoryItem) -> View:
        def level(_info: Any, locationId: str, **_: Any) -> View | None:  # noqa: N803 - GraphQL argument name
            found = item.levels.get(locationId)
            return self.inventory_level(item, found) if found else None

        return {
            "__typename": "InventoryItem",
            "id": item.id,
            "legacyResourceId": _legacy_id(item.id),
            "sku": item.sku,
            "tracked": True,
            "requiresShipping": True,
            "inventoryLevel": level,
            "inventoryLevels": lambda _info, **a: connection(
                list(item.levels.values()), a, lambda lv: self.inventory_level(item, lv)
            ),
            "variant": lambda _info: inventory_views.variant(self, item),
        }

    def inventory_level(self, item: InventoryItem, level: InventoryLevel) -> View:
        location = self.shop.locations[level.location_id]
        number = _legacy_id(level.location_id)

        def quantities(_info: Any, names: list[str], **_: Any) -> list[View]:
            unknown = [n for n in names if n not in QUANTITY_NAMES]
            if unknown:
                valid = ", ".join(QUANTITY_NAMES)
                raise GraphQLError(f"The quantity name '{unknown[0]}' is not valid. Valid values are: {valid}.")
            return [
                {
                    "__typename": "InventoryQuantity",
                    "id": f"gid://shopify/InventoryQuantity/{number}?inventory_item_id={_legacy_id(item.id)}&name={n}",
                    "name": n,
                    "quantity": level.get(n),
                    "updatedAt": iso(level.name_updated_at(n)),
                }
                for n in names
            ]

        return {
            "__typename": "InventoryLevel",
            "id": f"gid://shopify/InventoryLevel/{number}?inventory_item_id={_legacy_id(item.id)}",
            "location": self.location(location),
            "item": lambda _info: self.inventory_item(item),
            "quantities": quantities,
            "createdAt": iso(level.updated_at),
            "updatedAt": iso(level.updated_at),
            "canDeactivate": True,
            "isActive": True,  # a level exists only while the item is stocked at the location
        }

    # ---- returns ------------------------------------------------------------------------------------
    def return_(self, ret: Return) -> View:
        order = self.shop.orders[ret.order_id]
        rfos = [self.shop.rfos[r] for r in ret.rfo_ids]
        refunds = [r for r in order.refunds if r.return_id == ret.id]

        def return_lines(_info: Any, processingStatus: str | None = None, **args: Any) -> View:  # noqa: N803
            lines = ret.lines
            if processingStatus == "PROCESSED":
                lines = [rl for rl in lines if rl.processed_quantity > 0]
            elif processingStatus == "PROCESSABLE":
                lines = [rl for rl in lines if ret.status == "OPEN" and rl.quantity > rl.processed_quantity]
            return connection(lines, args, lambda rl: self.return_line(order, ret, rl))

        def exchange_lines(
            _info: Any,
            processingStatus: str | None = None,  # noqa: N803 - GraphQL argument names
            includeRemovedItems: bool = False,  # noqa: N803
            **args: Any,
        ) -> View:
            lines = ret.exchange_lines
            if not includeRemovedItems:  # removed: nothing left of it and nothing processed
                lines = [el for el in lines if el.unprocessed_quantity or el.processed_quantity]
            if processingStatus == "PROCESSED":
                lines = [el for el in lines if el.processed_quantity > 0]
            elif processingStatus == "PROCESSABLE":
                lines = [el for el in lines if ret.status == "OPEN" and el.unprocessed_quantity > 0]
            return connection(lines, args, lambda el: self.exchange_line(order, ret, el))

        def transactions(_info: Any, **args: Any) -> View:
            """The order transactions created from the return (its description): those of its refunds."""
            ids = {tx_id for refund in refunds for tx_id in refund.transaction_ids}
            made = [t for t in order.transactions if t.id in ids]
            return connection(made, args, lambda t: self.transaction(order, t))

        return {
            "__typename": "Return",
            "id": ret.id,
            "name": ret.name,
            "status": ret.status,
            "createdAt": iso(ret.created_at),
            "closedAt": iso(ret.closed_at),
            "requestApprovedAt": iso(ret.request_approved_at),
            "totalQuantity": sum(rl.quantity for rl in ret.lines),
            "decline": (
                {"__typename": "ReturnDecline", "reason": ret.decline_reason, "note": ret.decline_note}
                if ret.status == "DECLINED"
                else None
            ),
            "returnShippingFees": [
                {"__typename": "ReturnShippingFee", "id": fee.id, "amountSet": self.order_money(order, fee.amount)}
                for fee in ret.shipping_fees
            ],
            "order": lambda _info: self.order(order),
            "returnLineItems": return_lines,
            "reverseFulfillmentOrders": lambda _info, **a: connection(rfos, a, self.rfo),
            "refunds": lambda _info, **a: connection(refunds, a, lambda r: self.refund(order, r)),
            "transactions": transactions,
            "suggestedFinancialOutcome": lambda _info, **a: suggested_financial_outcome(self, self.shop, ret, a),
            "exchangeLineItems": exchange_lines,
        }

    def exchange_line(self, order: Order, ret: Return, line: ExchangeLine) -> View:
        """One exchange line of ``ret``: processable only while the return is OPEN, as its return lines."""
        added = [li for li in order.line_items if li.id in line.line_item_ids]
        return {
            "__typename": "ExchangeLineItem",
            "id": line.id,
            "variantId": line.variant_id,
            "quantity": line.quantity,
            "processableQuantity": line.unprocessed_quantity if ret.status == "OPEN" else 0,
            "processedQuantity": line.processed_quantity,
            "unprocessedQuantity": line.unprocessed_quantity,
            "lineItems": lambda _info: [self.line_item(order, li) for li in added],
            "lineItem": lambda _info: self.line_item(order, added[0]) if added else None,
        }

    def return_line(self, order: Order, ret: Return, rl: ReturnLine) -> View:
        """One line of ``ret`` (passed in: its status decides what is processable).

        ``refundedQuantity``: the units a ``returnProcess`` refund covered. ``refundableQuantity``: the units not
        processed yet (processing settles a unit, with or without money: only ``returnProcess`` refunds a return
        line), no more than the order's line can still refund (a refund made by hand takes them).
        """
        fli = order.fulfillment_line(rl.fulfillment_line_item_id)
        item = order.line(fli.line_item_id) if fli else None
        definition = definition_by_id(rl.reason_definition_id) if rl.reason_definition_id else None
        fee = rl.restocking_fee
        refundable = rl.quantity - rl.processed_quantity
        if item is not None:
            refundable = min(refundable, order.refundable_quantity(item.id))
        return {
            "__typename": "ReturnLineItem",
            "id": rl.id,
            "quantity": rl.quantity,
            # only an approved (OPEN) return can be processed (capture: a REQUESTED line reads 0)
            "processableQuantity": rl.quantity - rl.processed_quantity if ret.status == "OPEN" else 0,
            "processedQuantity": rl.processed_quantity,
            "unprocessedQuantity": rl.quantity - rl.processed_quantity,
            "refundableQuantity": max(refundable, 0),
            "refundedQuantity": rl.refunded_quantity,
            "returnReason": rl.reason,
            "returnReasonNote": rl.reason_note,
            "customerNote": rl.customer_note,
            "returnReasonDefinition": self.reason_definition(definition) if definition else None,
            "fulfillmentLineItem": (lambda _info: self.fulfillment_line(order, fli)) if fli else None,
            "restockingFee": (
                {
                    "__typename": "RestockingFee",
                    "id": fee.id,
                    "percentage": fee.percentage,
                    "amountSet": self.order_money(order, restocking_fee_amount(order, rl)),
                }
                if fee
                else None
            ),
            "withCodeDiscountedTotalPriceSet": self.order_money(
                order, item.unit_price * rl.quantity if item else Decimal("0")
            ),
        }

    def returnable_fulfillment(self, order: Order, fulfillment: Fulfillment) -> View:
        def lines(_info: Any, **args: Any) -> View:
            return connection(
                returnable_lines(self.shop, fulfillment),
                args,
                lambda pair: {
                    "__typename": "ReturnableFulfillmentLineItem",
                    "quantity": pair[1],
                    "fulfillmentLineItem": self.fulfillment_line(order, pair[0]),
                },
            )

        return {
            "__typename": "ReturnableFulfillment",
            "id": returnable_id(fulfillment),
            "fulfillment": lambda _info: self.fulfillment(order, fulfillment),
            "returnableFulfillmentLineItems": lines,
        }

    def reason_definition(self, definition: ReturnReasonDefinition) -> View:
        return {
            "__typename": "ReturnReasonDefinition",
            "id": definition.id,
            "handle": definition.handle,
            "name": definition.name,
            "deleted": definition.deleted,
        }

    def rfo(self, rfo: ReverseFulfillmentOrder) -> View:
        order = self.shop.orders[rfo.order_id]
        deliveries = [self.shop.deliveries[d] for d in rfo.delivery_ids]
        return {
            "__typename": "ReverseFulfillmentOrder",
            "id": rfo.id,
            "status": rfo.status,
            "order": lambda _info: self.order(order),
            "lineItems": lambda _info, **a: connection(rfo.lines, a, lambda ln: self.rfo_line(order, ln)),
            "reverseDeliveries": lambda _info, **a: connection(deliveries, a, self.delivery),
            "thirdPartyConfirmation": None,
        }

    def rfo_line(self, order: Order, line: RfoLine) -> View:
        fli = order.fulfillment_line(line.fulfillment_line_item_id)
        return {
            "__typename": "ReverseFulfillmentOrderLineItem",
            "id": line.id,
            "totalQuantity": line.total_quantity,
            "fulfillmentLineItem": (lambda _info: self.fulfillment_line(order, fli)) if fli else None,
            "dispositions": lambda _info: [self.disposition(d) for d in line.dispositions],
        }

    def disposition(self, disposition: Disposition) -> View:
        location = self.shop.locations.get(disposition.location_id or "")
        return {
            "__typename": "ReverseFulfillmentOrderDisposition",
            "id": disposition.id,
            "type": disposition.type,
            "quantity": disposition.quantity,
            "createdAt": iso(disposition.created_at),
            "location": self.location(location) if location else None,
        }

    def delivery(self, delivery: ReverseDelivery) -> View:
        rfo = self.shop.rfos[delivery.rfo_id]
        order = self.shop.orders[rfo.order_id]
        label = (
            {
                "publicFileUrl": delivery.label_url,
                "createdAt": iso(delivery.created_at),
                "updatedAt": iso(delivery.created_at),
            }
            if delivery.label_url
            else None
        )
        return {
            "__typename": "ReverseDelivery",
            "id": delivery.id,
            "deliverable": {
                "__typename": "ReverseDeliveryShippingDeliverable",
                "tracking": {
                    "carrierName": None,
                    "number": delivery.tracking_number,
                    "url": delivery.tracking_url,
                },
                "label": label,
            },
            "reverseFulfillmentOrder": lambda _info: self.rfo(rfo),
            "reverseDeliveryLineItems": lambda _info, **a: connection(
                delivery.lines, a, lambda ln: self.delivery_line(order, ln)
            ),
        }

    def delivery_line(self, order: Order, line: ReverseDeliveryLine) -> View:
        found = self.shop.rfo_line(line.rfo_line_id)
        return {
            "__typename": "ReverseDeliveryLineItem",
            "id": line.id,
            "quantity": line.quantity,
            "reverseFulfillmentOrderLineItem": (lambda _info: self.rfo_line(order, found[1])) if found else None,
            "dispositions": lambda _info: [],
        }
