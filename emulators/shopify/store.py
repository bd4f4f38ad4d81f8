"""In-memory Shopify shops: the typed Python API that tests and the demo use to seed and inspect state.

Seeding::

    store = ShopifyStore()
    store.add_shop("demo.myshopify.com", access_token="shpat_x", currency="GBP",
                   locations=[("gid://shopify/Location/1", "Warehouse"),
                              ("gid://shopify/Location/2", "Shop")])
    item_id = store.add_product("demo.myshopify.com", "TEE-M", stock={"gid://shopify/Location/1": 5},
                                price=Decimal("24.95"))
    order_id = store.add_order("demo.myshopify.com", name="#1001", processed_at=datetime(...),
                               lines=[OrderLineSeed("TEE-M", 2, Decimal("24.95"))], shipping=Decimal("4.95"))
    store.refund_by_hand("demo.myshopify.com", order_id, {"TEE-M": 1}, Decimal("24.95"), note="staff")
    customer_id = store.order_summary("demo.myshopify.com", order_id)["customer_id"]
    store.add_store_credit("demo.myshopify.com", customer_id, Decimal("5.00"))  # a staff credit

Every seeded order has a customer: ``add_order(customer_id=...)`` reuses (or creates) that
``gid://shopify/Customer/...``, otherwise a new customer is minted for the order (``add_customer`` seeds one
up front).

Reading (for assertions): ``refunds``, ``stock``, ``returns``, ``exchanges``, ``order_summary``, ``store_credit``,
``store_credit_transactions``, ``snapshot``. ``pay_exchange_balance`` is the customer paying what an exchange left
them owing (as paying Shopify's invoice would).
``store.clock`` is the shop clock (move it with ``store.clock.advance(hours=25)``).

Seeded orders are paid in full (one SALE transaction for lines + shipping) and, unless a line says otherwise,
fully fulfilled in one fulfillment. Seeding an order does not change stock: ``stock`` is what is left after
the sale. Every mutation rule lives in the service modules (``returns``, ``refunds``, ``annotations``); this
module only owns state, id minting and the seed/read API.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .clock import Clock, iso
from .ids import make_gid, parse_gid
from .model import (
    QUANTITY_NAMES,
    STAFF_MEMBER_ID,
    STORE_CREDIT_GATEWAY,
    Customer,
    Fulfillment,
    FulfillmentLineItem,
    InventoryItem,
    LineItem,
    Location,
    Order,
    Return,
    Shop,
    Transaction,
)
from .money import format_amount, to_decimal
from .store_credit import credit_account, ensure_customer, settle_expirations


@dataclass(frozen=True)
class OrderLineSeed:
    """One order line: ``unit_price`` is after all discounts; ``fulfilled=None`` means all units shipped."""

    sku: str
    quantity: int
    unit_price: Decimal
    fulfilled: int | None = None
    title: str | None = None
    custom: bool = False  # a custom line item: no variant, no inventory item (can't be restocked)


class UnknownShop(KeyError):
    """No shop with that domain was added."""


class ShopifyStore:
    """All shops of one emulator, with a shared clock and id sequence (ids are unique across shops)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._shops: dict[str, Shop] = {}
        self._ids = itertools.count(1001)

    # ---- infrastructure -------------------------------------------------------------------------------
    def new_id(self, kind: str) -> str:
        """A fresh GID; numbers are shop-independent and never reused, like Shopify's."""
        return make_gid(kind, next(self._ids))

    def reset(self) -> None:
        """Forget every shop (the clock keeps its offset)."""
        self._shops.clear()

    def shop(self, domain: str) -> Shop:
        try:
            return self._shops[domain]
        except KeyError:
            raise UnknownShop(domain) from None

    def has_shop(self, domain: str) -> bool:
        return domain in self._shops

    def domains(self) -> list[str]:
        return sorted(self._shops)

    # ---- seeding --------------------------------------------------------------------------------------
    def add_shop(
        self,
        domain: str,
        *,
        access_token: str,
        currency: str = "GBP",
        locations: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Create (or replace) a shop; ``locations`` are ``(location gid, name)`` pairs."""
        shop = Shop(domain=domain, access_token=access_token, currency=currency)
        self._shops[domain] = shop
        for location_id, name in locations:
            self.add_location(domain, location_id, name)

    def add_location(self, domain: str, location_id: str, name: str) -> str:
        parsed = parse_gid(location_id)
        if parsed is None or parsed.kind != "Location":
            raise ValueError(f"not a Location GID: {location_id!r}")
        self.shop(domain).locations[location_id] = Location(location_id, name)
        return location_id

    def add_product(
        self,
        domain: str,
        sku: str,
        stock: Mapping[str, int] | None = None,
        *,
        price: Decimal | str | None = None,
    ) -> str:
        """A variant with this SKU; ``stock`` is ``available`` per location GID; ``price`` its price in the shop's
        currency (``ProductVariant.price``; without one, the first seeded order line of the SKU sets it, at that
        order's rate, else it is 0.00). Returns the item GID."""
        shop = self.shop(domain)
        if shop.item_by_sku(sku) is not None:
            raise ValueError(f"SKU {sku!r} already exists in {domain}")
        item = InventoryItem(id=self.new_id("InventoryItem"), sku=sku, variant_id=self.new_id("ProductVariant"))
        item.price = None if price is None else to_decimal(price)
        item.product_id = self.new_id("Product")
        shop.inventory[item.id] = item
        for location_id, available in (stock or {}).items():
            self._require_location(shop, location_id)
            level = item.level(location_id)
            level.quantities["available"] = int(available)
            level.updated_at = self.clock.now()
            level.changed_at["available"] = level.updated_at
        return item.id

    def add_order(
        self,
        domain: str,
        *,
        name: str,
        lines: Sequence[OrderLineSeed],
        processed_at: datetime,
        shipping: Decimal = Decimal("0"),
        gateway: str = "shopify_payments",
        currency: str | None = None,
        customer_id: str | None = None,
        presentment_currency: str | None = None,
        exchange_rate: Decimal | str = Decimal("1"),
        taxes_included: bool = True,
        tax_rate: Decimal | str = Decimal("0"),
        payments: Sequence[tuple[str, Decimal | str]] = (),
    ) -> str:
        """A paid order; unknown SKUs become products without stock.

        Prices, shipping and payments are in ``presentment_currency`` (the customer's; default the shop's), shop
        money is that over ``exchange_rate``. Every line has ``tax_rate`` (VAT 0.2 ...), inside its price unless
        ``taxes_included`` is False. ``payments`` are (gateway, amount) SALEs, e.g. a gift card then a card; the
        last one takes what the others leave of the total. Without them: one SALE on ``gateway``.
        ``customer_id`` (a Customer GID) is reused, or created if the shop does not know it; without it the
        order gets a customer of its own."""
        shop = self.shop(domain)
        if not name.startswith("#"):
            name = f"#{name}"
        if any(o.name == name for o in shop.orders.values()):
            raise ValueError(f"order {name} already exists in {domain}")
        line_items: list[LineItem] = []
        fulfilled_lines: list[FulfillmentLineItem] = []
        for seed in lines:
            if seed.quantity <= 0:
                raise ValueError("line quantity must be positive")
            item_id: str | None = None
            if not seed.custom:
                item = shop.item_by_sku(seed.sku)
                item_id = item.id if item is not None else self.add_product(domain, seed.sku)
                if shop.inventory[item_id].price is None:  # sold at this price: the variant's, in shop money
                    rate = to_decimal(exchange_rate)
                    shop.inventory[item_id].price = (to_decimal(seed.unit_price) / rate).quantize(Decimal("0.01"))
            line = LineItem(
                id=self.new_id("LineItem"),
                sku=seed.sku,
                title=seed.title or seed.sku,
                quantity=seed.quantity,
                unit_price=to_decimal(seed.unit_price),
                inventory_item_id=item_id,
                tax_rate=to_decimal(tax_rate),
            )
            line_items.append(line)
            shipped = seed.quantity if seed.fulfilled is None else seed.fulfilled
            if not 0 <= shipped <= seed.quantity:
                raise ValueError("fulfilled must be between 0 and quantity")
            if shipped:
                fulfilled_lines.append(FulfillmentLineItem(self.new_id("FulfillmentLineItem"), line.id, shipped))
        created = processed_at
        fulfillments = [Fulfillment(self.new_id("Fulfillment"), created, fulfilled_lines)] if fulfilled_lines else []
        order = Order(
            id=self.new_id("Order"),
            name=name,
            currency=currency or shop.currency,
            processed_at=processed_at,
            created_at=created,
            line_items=line_items,
            fulfillments=fulfillments,
            transactions=[],
            shipping=to_decimal(shipping),
            updated_at=created,
            customer_id=ensure_customer(self, shop, customer_id).id,
            presentment_currency=presentment_currency,
            exchange_rate=to_decimal(exchange_rate),
            taxes_included=taxes_included,
        )
        split = list(payments) or [(gateway, order.total_price())]
        left = order.total_price()
        for index, (gw, amount) in enumerate(split):
            paid = left if index == len(split) - 1 else min(to_decimal(amount), left)
            order.transactions.append(Transaction(self.new_id("OrderTransaction"), "SALE", paid, gw, created))
            left -= paid
        shop.orders[order.id] = order
        return order.id

    def add_customer(
        self,
        domain: str,
        customer_id: str | None = None,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
    ) -> str:
        """A customer (``customer_id`` or a minted GID; an existing one is updated). Returns its GID."""
        customer = ensure_customer(
            self, self.shop(domain), customer_id, first_name=first_name, last_name=last_name, email=email
        )
        return customer.id

    def add_store_credit(
        self,
        domain: str,
        customer_id: str,
        amount: Decimal,
        currency: str | None = None,
        expires_at: datetime | None = None,
    ) -> str:
        """A staff credit to the customer's account (``currency`` defaults to the shop's), under the same rules
        as ``storeCreditAccountCredit``. Returns the credit transaction GID."""
        shop = self.shop(domain)
        self._customer(shop, customer_id)
        credit_input: dict[str, Any] = {
            "creditAmount": {"amount": str(amount), "currencyCode": currency or shop.currency},
            "expiresAt": iso(expires_at),
        }
        outcome = credit_account(self, shop, customer_id, credit_input)
        if outcome.value is None:
            raise ValueError("; ".join(e.message for e in outcome.errors))
        return outcome.value.id

    def refund_by_hand(
        self,
        domain: str,
        order_id: str,
        lines: Mapping[str, int],
        amount: Decimal,
        note: str = "",
        *,
        by_app: bool = False,
    ) -> str:
        """A staff refund made in the Shopify admin (no restock), under the same rules as ``refundCreate``; its
        ``staffMember`` is the shop owner (``by_app``: made by an app, no staff member)."""
        from .refunds import create_refund  # services import the store; keep the cycle lazy

        shop = self.shop(domain)
        order = self._order(shop, order_id)
        refund_lines: list[dict[str, Any]] = []
        for sku, quantity in lines.items():
            line = next((li for li in order.line_items if li.sku == sku), None)
            if line is None:
                raise ValueError(f"order {order.name} has no line with SKU {sku!r}")
            refund_lines.append({"lineItemId": line.id, "quantity": quantity, "restockType": "NO_RESTOCK"})
        refund_input: dict[str, Any] = {
            "orderId": order.id,
            "note": note or None,
            "refundLineItems": refund_lines,
            "currency": order.presentment,
        }
        left = to_decimal(amount)
        transactions = []
        for sale in order.payments():  # staff refund the payments in the order they were taken
            take = min(left, order.refundable_from(sale))
            if take > 0:
                transactions.append({"amount": str(take), "gateway": sale.gateway, "kind": "REFUND",
                                     "orderId": order.id, "parentId": sale.id})  # fmt: skip
                left -= take
        if transactions:
            refund_input["transactions"] = transactions
        outcome = create_refund(self, shop, refund_input, staff_member_id=None if by_app else STAFF_MEMBER_ID)
        if outcome.value is None:
            raise ValueError("; ".join(e.message for e in outcome.errors))
        return outcome.value.id

    def pay_exchange_balance(self, domain: str, order_id: str, *, gateway: str = "shopify_payments") -> Decimal:
        """The customer pays what their exchanges on the order left them owing (as paying Shopify's invoice would):
        a SALE transaction on ``gateway`` for each owed balance, and the ``AWAITING_PAYMENT`` holds are released (the
        exchange's fulfillment order becomes OPEN). Returns the amount paid, in the order's presentment currency
        (0 when nothing was owed: nothing changes)."""
        from .exchange_processing import pay_balance  # services import the store; keep the cycle lazy

        order = self._order(self.shop(domain), order_id)
        return pay_balance(self, order, gateway)

    # ---- lookups used by services ------------------------------------------------------------------------
    def _customer(self, shop: Shop, customer_id: str) -> Customer:
        try:
            return shop.customers[customer_id]
        except KeyError:
            raise KeyError(f"no customer {customer_id} in {shop.domain}") from None

    def _order(self, shop: Shop, order_id: str) -> Order:
        try:
            return shop.orders[order_id]
        except KeyError:
            raise KeyError(f"no order {order_id} in {shop.domain}") from None

    @staticmethod
    def _require_location(shop: Shop, location_id: str) -> None:
        if location_id not in shop.locations:
            raise ValueError(f"unknown location {location_id} in {shop.domain}")

    def find_order_id(self, domain: str, name: str) -> str | None:
        wanted = name if name.startswith("#") else f"#{name}"
        shop = self.shop(domain)
        return next((o.id for o in shop.orders.values() if o.name == wanted), None)

    # ---- read side for assertions --------------------------------------------------------------------
    def refunds(self, domain: str, order_id: str) -> list[dict[str, Any]]:
        """Each refund: ``id``, ``note``, ``amount`` (Decimal, all methods, in ``currency``: the order's presentment
        currency; ``shop_amount`` in the shop's), ``transactions`` [(gateway, amount)], ``store_credit`` (the part
        refunded to store credit), ``method`` (``"original"``, ``"store_credit"`` or ``"mixed"``), ``lines``
        ({sku: qty}), ``created_at``, ``return_id`` (the return a ``returnProcess`` made it for, else None)."""
        order = self._order(self.shop(domain), order_id)
        out = []
        for refund in order.refunds:
            txs = [t for t in order.transactions if t.id in refund.transaction_ids]
            to_credit = sum((t.amount for t in txs if t.gateway == STORE_CREDIT_GATEWAY), Decimal("0"))
            to_original = any(t.gateway != STORE_CREDIT_GATEWAY for t in txs)
            method = "store_credit" if to_credit and not to_original else ("mixed" if to_credit else "original")
            by_sku: dict[str, int] = {}
            for rl in refund.lines:
                line = order.line(rl.line_item_id)
                sku = (line.sku if line else None) or rl.line_item_id
                by_sku[sku] = by_sku.get(sku, 0) + rl.quantity
            out.append(
                {
                    "id": refund.id,
                    "note": refund.note,
                    "amount": refund.amount,
                    "currency": order.presentment,
                    "shop_amount": order.shop_amount(refund.amount),
                    "transactions": [(t.gateway, t.amount) for t in txs],
                    "store_credit": to_credit,
                    "method": method,
                    "lines": by_sku,
                    "created_at": refund.created_at,
                    "return_id": refund.return_id,
                }
            )
        return out

    def payments(self, domain: str, order_id: str) -> list[dict[str, Any]]:
        """Each successful payment (sale or capture): ``id``, ``gateway``, ``paid`` and ``refunded`` (the sum of
        the successful refund transactions made against it), in the order's presentment currency."""
        order = self._order(self.shop(domain), order_id)
        out = []
        for sale in order.transactions:
            if sale.kind not in ("SALE", "CAPTURE") or sale.status != "SUCCESS":
                continue
            refunded = sum(
                (t.amount for t in order.transactions
                 if t.kind == "REFUND" and t.parent_id == sale.id and t.status == "SUCCESS"),
                Decimal("0"),
            )  # fmt: skip
            out.append({"id": sale.id, "gateway": sale.gateway, "paid": sale.amount, "refunded": refunded})
        return out

    def store_credit(self, domain: str, customer_id: str) -> dict[str, Decimal]:
        """The customer's store credit balance per currency (expired credits already removed)."""
        shop = self.shop(domain)
        self._customer(shop, customer_id)
        settle_expirations(self, shop)
        return {account.currency: account.balance() for account in shop.accounts_of(customer_id)}

    def store_credit_transactions(self, domain: str, customer_id: str) -> list[dict[str, Any]]:
        """The customer's store credit history, oldest first: ``id`` (None for expirations), ``kind``
        (CREDIT/EXPIRATION), ``event``, ``amount`` (signed Decimal), ``currency``, ``order_id``, ``expires_at``,
        ``created_at``."""
        shop = self.shop(domain)
        self._customer(shop, customer_id)
        settle_expirations(self, shop)
        return [
            {
                "id": t.id if t.kind != "EXPIRATION" else None,
                "kind": t.kind,
                "event": t.event,
                "amount": t.amount,
                "currency": account.currency,
                "order_id": t.order_id,
                "expires_at": t.expires_at,
                "created_at": t.created_at,
            }
            for account in shop.accounts_of(customer_id)
            for t in account.transactions
        ]

    def stock(self, domain: str, sku: str) -> dict[str, dict[str, int]]:
        """Location GID -> every quantity name (``on_hand`` included, derived as Shopify does)."""
        item = self.shop(domain).item_by_sku(sku)
        if item is None:
            raise KeyError(f"no SKU {sku!r} in {domain}")
        return {loc: {n: level.get(n) for n in QUANTITY_NAMES} for loc, level in item.levels.items()}

    def returns(self, domain: str, order_id: str) -> list[dict[str, Any]]:
        """Each return: ``id``, ``name``, ``status``, ``lines`` {sku: qty}, ``processed`` {sku: qty processed by
        ``returnProcess``}, ``dispositions``, ``tracking`` (per reverse delivery: ``number``, ``url``, ``lines``
        {sku: qty}), ``fees_charged`` (the fees its processings charged, presentment money), ``exchanged`` {sku of
        the exchange variant: units processed}."""
        shop = self.shop(domain)
        order = self._order(shop, order_id)
        return [self._return_summary(shop, order, shop.returns[rid]) for rid in order.return_ids]

    def _return_summary(self, shop: Shop, order: Order, ret: Return) -> dict[str, Any]:
        def sku_of(fli_id: str) -> str:
            fli = order.fulfillment_line(fli_id)
            line = order.line(fli.line_item_id) if fli else None
            return (line.sku if line else None) or fli_id

        lines: dict[str, int] = {}
        processed: dict[str, int] = {}
        for rl in ret.lines:
            sku = sku_of(rl.fulfillment_line_item_id)
            lines[sku] = lines.get(sku, 0) + rl.quantity
            if rl.processed_quantity:
                processed[sku] = processed.get(sku, 0) + rl.processed_quantity
        fees_charged = sum(
            (p.shipping_fee + sum(p.restocking_fees.values(), Decimal("0")) for p in ret.processings), Decimal("0")
        )
        exchanged: dict[str, int] = {}
        for el in ret.exchange_lines:
            if el.processed_quantity:
                sku = shop.inventory[el.inventory_item_id].sku
                exchanged[sku] = exchanged.get(sku, 0) + el.processed_quantity
        dispositions = []
        tracking = []
        for rfo_id in ret.rfo_ids:
            rfo = shop.rfos[rfo_id]
            for line in rfo.lines:
                for d in line.dispositions:
                    dispositions.append(
                        {
                            "sku": sku_of(line.fulfillment_line_item_id),
                            "type": d.type,
                            "quantity": d.quantity,
                            "location_id": d.location_id,
                        }
                    )
            for delivery_id in rfo.delivery_ids:
                delivery = shop.deliveries[delivery_id]
                packed: dict[str, int] = {}
                for dl in delivery.lines:
                    rfo_line = next((ln for ln in rfo.lines if ln.id == dl.rfo_line_id), None)
                    sku = sku_of(rfo_line.fulfillment_line_item_id) if rfo_line else dl.rfo_line_id
                    packed[sku] = packed.get(sku, 0) + dl.quantity
                tracking.append({"number": delivery.tracking_number, "url": delivery.tracking_url, "lines": packed})
        return {
            "id": ret.id,
            "name": ret.name,
            "status": ret.status,
            "lines": lines,
            "processed": processed,
            "dispositions": dispositions,
            "tracking": tracking,
            "closed_at": ret.closed_at,
            "fees_charged": fees_charged,
            "exchanged": exchanged,
        }

    def exchanges(self, domain: str, order_id: str) -> list[dict[str, Any]]:
        """Each exchange line of the order's returns, in creation order: ``id``, ``return_id``, ``sku`` (of its
        variant), ``variant_id``, ``quantity``, ``processed``, ``removed``, ``unit_price`` (presentment money, after
        its discount), ``currency``, and its fulfillment orders: ``fulfillment_order_id`` / ``fulfillment_order_status``
        / ``holds`` (hold reasons) / ``balance_due`` of the first, None / None / [] / 0 before it is processed;
        ``fulfillment_orders`` lists every one (``id``, ``status``, ``holds``, ``location_id``, ``balance_due``)."""
        from .fulfillment_orders import exchange_status  # services import the store; keep the cycle lazy

        shop = self.shop(domain)
        order = self._order(shop, order_id)
        out = []
        for ret in (shop.returns[rid] for rid in order.return_ids):
            for el in ret.exchange_lines:
                made = [fo for fo in order.exchange_fulfillment_orders if set(fo.line_item_ids) & set(el.line_item_ids)]
                orders: list[dict[str, Any]] = [
                    {
                        "id": fo.id,
                        "status": exchange_status(order, fo),
                        "holds": [h.reason for h in fo.holds],
                        "location_id": fo.location_id,
                        "balance_due": fo.balance_due,
                    }
                    for fo in made
                ]
                first = orders[0] if orders else None
                out.append(
                    {
                        "id": el.id,
                        "return_id": ret.id,
                        "sku": shop.inventory[el.inventory_item_id].sku,
                        "variant_id": el.variant_id,
                        "quantity": el.quantity,
                        "processed": el.processed_quantity,
                        "removed": el.removed_quantity,
                        "unit_price": el.unit_price,
                        "currency": order.presentment,
                        "fulfillment_order_id": first["id"] if first else None,
                        "fulfillment_order_status": first["status"] if first else None,
                        "holds": list(first["holds"]) if first else [],
                        "balance_due": first["balance_due"] if first else Decimal("0"),
                        "fulfillment_orders": orders,
                    }
                )
        return out

    def order_summary(self, domain: str, order_id: str) -> dict[str, Any]:
        """Keys: ``name``, ``customer_id``, ``financial_status``, ``tags``, ``note``, ``metafields``, ``refundable``
        {sku: qty} (of the order's own lines, not exchange items added to it), ``net_payment``, ``outstanding``
        (what exchanges left the customer owing)."""
        order = self._order(self.shop(domain), order_id)
        return {
            "id": order.id,
            "name": order.name,
            "customer_id": order.customer_id,
            "financial_status": order.financial_status(),
            "tags": list(order.tags),
            "note": order.note,
            "metafields": {f"{ns}.{key}": m.value for (ns, key), m in order.metafields.items()},
            "refundable": {
                (li.sku or li.id): order.refundable_quantity(li.id)
                for li in order.line_items
                if li.exchange_line_id is None
            },
            "net_payment": order.net_payment(),
            "outstanding": order.outstanding(),
        }

    def snapshot(self, domain: str) -> dict[str, Any]:
        """A JSON-able dump of one shop (money as Shopify strings, times as ISO-8601)."""
        shop = self.shop(domain)
        return {
            "domain": shop.domain,
            "currency": shop.currency,
            "now": iso(self.clock.now()),
            "locations": [{"id": loc.id, "name": loc.name} for loc in shop.locations.values()],
            "inventory": [
                {"id": item.id, "sku": item.sku, "levels": self.stock(domain, item.sku)}
                for item in shop.inventory.values()
            ],
            "orders": [self._order_dump(shop, order) for order in shop.orders.values()],
            "customers": self._customers_dump(shop),
            "idempotency_keys": sorted(key for (_, key) in shop.idempotency),
        }

    def _customers_dump(self, shop: Shop) -> list[dict[str, Any]]:
        """Each customer's balances; expirations are settled once for the shop, not once per customer."""
        if shop.customers:  # (as before: a shop without customers is not settled by a snapshot)
            settle_expirations(self, shop)
        return [
            {
                "id": customer.id,
                "store_credit": {
                    account.currency: format_amount(account.balance()) for account in shop.accounts_of(customer.id)
                },
            }
            for customer in shop.customers.values()
        ]

    def _order_dump(self, shop: Shop, order: Order) -> dict[str, Any]:
        summary = self.order_summary(shop.domain, order.id)
        summary["net_payment"] = format_amount(order.net_payment())
        summary["processed_at"] = iso(order.processed_at)
        summary["lines"] = [
            {
                "id": li.id,
                "sku": li.sku,
                "quantity": li.quantity,
                "unit_price": format_amount(li.unit_price),
                "refundable": order.refundable_quantity(li.id),
            }
            for li in order.line_items
        ]
        summary["transactions"] = [
            {"id": t.id, "kind": t.kind, "amount": format_amount(t.amount), "gateway": t.gateway}
            for t in order.transactions
        ]
        summary["refunds"] = [
            {
                **r,
                "amount": format_amount(r["amount"]),
                "shop_amount": format_amount(r["shop_amount"]),
                "transactions": [[gateway, format_amount(amount)] for gateway, amount in r["transactions"]],
                "store_credit": format_amount(r["store_credit"]),
                "created_at": iso(r["created_at"]),
            }
            for r in self.refunds(shop.domain, order.id)
        ]
        summary["returns"] = [
            {**r, "closed_at": iso(r["closed_at"]), "fees_charged": format_amount(r["fees_charged"])}
            for r in self.returns(shop.domain, order.id)
        ]
        summary["exchanges"] = [
            {
                **e,
                "unit_price": format_amount(e["unit_price"]),
                "balance_due": format_amount(e["balance_due"]),
                "fulfillment_orders": [
                    {**fo, "balance_due": format_amount(fo["balance_due"])} for fo in e["fulfillment_orders"]
                ],
            }
            for e in self.exchanges(shop.domain, order.id)
        ]
        summary["outstanding"] = format_amount(summary["outstanding"])
        return summary
