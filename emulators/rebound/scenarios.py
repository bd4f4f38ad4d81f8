"""Generate returns the way Rebound produces them: several brands, full and partial returns, damaged and
missing items, parcels that are scanned late, pushes delivered twice or out of order.

Each scenario carries its own expectation (final state, stock made available per location, refund) worked
out from the brand's rules by plain arithmetic, so the demo and tests can check the engine against it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.definitions.mapping import MappingDef
from engine.money import quantum, to_money


@dataclass
class Product:
    sku: str
    title: str
    price: Decimal
    ean: str


@dataclass
class OrderLineSpec:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass
class Parcel:
    """One parcel of a multi-parcel return: which units are in it, how many days after the first it arrives
    (None: never)."""

    tracking_number: str
    units: list[int]  # indexes into the scenario's units
    late_days: int | None = 0


@dataclass
class ReturnedUnit:
    item_id: str
    sku: str
    reason: str
    grade: str | None  # None: missing at inspection
    exchange_sku: str | None = None  # the customer asks for this variant instead of a refund


@dataclass
class OrderMoney:
    """How the order was paid: in the shop's currency with VAT inside the price and one card payment unless said
    otherwise. Prices of the scenario's lines are in ``presentment_currency``."""

    presentment_currency: str | None = None  # None: the shop's currency
    exchange_rate: Decimal = Decimal(1)  # presentment units per shop unit
    taxes_included: bool = True
    tax_rate: Decimal = Decimal("0.2")
    payments: list[tuple[str, Decimal]] = field(default_factory=list)  # (gateway, amount); the last takes the rest


@dataclass
class Scenario:
    """One Rebound return order and what should come of it."""

    name: str
    brand: str
    rebound_return_id: str
    order_name: str
    order_processed_at: datetime
    order_lines: list[OrderLineSpec]
    units: list[ReturnedUnit]
    pushes: list[dict[str, Any]] = field(default_factory=list)  # in delivery order
    expected_state: str = "refunded"
    expected_restock: dict[str, int] = field(default_factory=dict)  # "sku@location gid" -> qty
    expected_refund: Decimal = Decimal("0")
    expected_bonus: Decimal = Decimal("0")
    money: OrderMoney = field(default_factory=OrderMoney)
    same_order_as: str | None = None  # a second return of another scenario's order (seeded once, by that one)
    expected_currency: str = ""  # the refund's currency ('' : the shop's)
    expected_transactions: list[tuple[str, Decimal]] = field(default_factory=list)  # (gateway, amount), if checked
    expected_problem: str = ""  # the words a rejection must give
    parcels: list[Parcel] = field(default_factory=list)  # several parcels (none: one, as Rebound usually sends)
    expected_refunds: int = 1  # refunds of this return in Shopify (one per parcel when the brand acts per parcel)
    expected_attention: str = ""  # words the return's needs-attention reason must contain
    expected_refused: list[str] = field(default_factory=list)  # SKUs refused as final sale (not on the Shopify return)
    expected_exchanges: dict[str, str] = field(default_factory=dict)  # wanted SKU -> released | refunded_instead
    expected_owed: Decimal = Decimal("0")  # what the customer pays for a dearer exchange
    wanted_stock: dict[str, int] = field(default_factory=dict)  # wanted SKU -> units Shopify has to sell
    wanted_prices: dict[str, Decimal] = field(default_factory=dict)  # a wanted SKU outside the catalogue: its price

    def app_refund(self) -> tuple[dict[str, int], Decimal]:
        """What Rebound's own Shopify app refunds at its milestone: every registered item, in full."""
        prices = {line.sku: line.unit_price for line in self.order_lines}
        lines: dict[str, int] = {}
        for unit in self.units:
            lines[unit.sku] = lines.get(unit.sku, 0) + 1
        return lines, sum((prices[sku] * qty for sku, qty in lines.items()), Decimal(0))


CATALOGUE: dict[str, list[tuple[str, str, str]]] = {
    "castore": [
        ("CAS-TEE-BLK", "Technical training tee", "45.00"),
        ("CAS-SHORT-NVY", "Pro tec shorts", "55.00"),
        ("CAS-HOOD-GRY", "Travel hoodie", "95.00"),
        ("CAS-JKT-OLV", "Hybrid jacket", "150.00"),
        ("CAS-LEG-BLK", "Seamless leggings", "59.99"),
    ],
    "cult": [
        ("CULT-SERUM-30", "Vitamin C serum 30ml", "64.00"),
        ("CULT-CREAM-50", "Barrier cream 50ml", "38.50"),
        ("CULT-MASK-75", "Clay mask 75ml", "24.99"),
        ("CULT-OIL-15", "Facial oil 15ml", "79.00"),
    ],
    "oliver": [
        ("OB-MUG-TEAL", "Stoneware mug", "12.50"),
        ("OB-VASE-PINK", "Ridged glass vase", "35.00"),
        ("OB-CUSH-MUST", "Velvet cushion", "45.00"),
        ("OB-DRESS-FLRL", "Floral midi dress", "89.00"),
    ],
    "lounge": [
        ("LNG-BRA-BLK", "Essential bralette", "32.00"),
        ("LNG-BRF-BLK", "Essential briefs", "16.00"),
        ("LNG-SET-NUDE", "Lounge set", "68.00"),
        ("LNG-ROBE-GRY", "Satin robe", "55.00"),
    ],
    "greenpeople": [
        ("GP-SKIN-DAY-50", "Vita Min Fix day cream 50ml", "29.50"),
        ("GP-BODY-WASH-200", "Citrus body wash 200ml", "12.50"),
        ("GP-SUN-SPF30", "Sun lotion SPF30 150ml", "24.50"),
        ("GP-LIP-BALM", "Lip balm", "7.50"),
        ("GP-DEO-ROLL-75", "Roll-on deodorant 75ml", "12.95"),
    ],
    "tatty": [
        ("TD-NECK-LIPS", "Lips necklace", "65.00"),
        ("TD-BROOCH-CAT", "Cat brooch", "38.00"),
        ("TD-RING-STAR", "Star ring", "45.00"),
        ("TD-EAR-C-DROP", "Drop earrings (clip-on)", "42.00"),
        ("TD-EAR-P-HOOP", "Mini hoop earrings (pierced)", "35.00"),
    ],
}
SIZES = ("XS", "S", "M", "L", "XL")


def catalogue(brand: str) -> list[Product]:
    products = []
    for i, (base, title, price) in enumerate(CATALOGUE.get(brand, [])):
        sizes = SIZES if brand in ("castore", "lounge") else ("",)
        for j, size in enumerate(sizes):
            sku = f"{base}-{size}" if size else base
            products.append(Product(sku, f"{title} {size}".strip(), Decimal(price), f"50{i:04d}{j:06d}"))
    return products


class ScenarioBuilder:
    def __init__(self, mappings: dict[str, MappingDef], *, now: datetime, seed: int = 7) -> None:
        self.mappings = mappings
        self.now = now
        self.rng = random.Random(seed)
        self.run = seed % 100_000_000  # keeps Rebound ids unique across demo runs on one Temporal database
        self.counter = 0
        self.order_no = {brand: 1000 for brand in mappings}
        self.products = {brand: catalogue(brand) for brand in mappings}

    # -- building blocks ---------------------------------------------------------------

    def _reason(self, brand: str, customer_fault: bool = True) -> str:
        codes = [c for c, r in self.mappings[brand].reasons.items() if (r.fault == "customer") == customer_fault]
        return self.rng.choice(codes or ["Changed my mind"])

    def _grade(self, brand: str, disposition: str) -> str:
        """The brand's first grade with this disposition; asked for one not restocked, any grade that is not."""
        grades = self.mappings[brand].grades.items()
        exact = next((g for g, r in grades if r.disposition == disposition), None)
        if exact is None and disposition != "restock":
            exact = next((g for g, r in grades if r.disposition != "restock"), None)
        if exact is None:
            raise ValueError(f"{brand} has no grade for {disposition}")
        return exact

    def new(
        self,
        name: str,
        brand: str,
        lines: int = 2,
        days_ago: int = 10,
        money: OrderMoney | None = None,
        quantity: int | None = None,
        skus: list[str] | None = None,
    ) -> Scenario:
        """A new order and its first return. Prices are the catalogue's converted at the order's rate; each line
        of 1 or 2 units unless `quantity` says. The products are `skus`, or picked at random among those the brand
        takes back (never a final-sale one)."""
        self.counter += 1
        self.order_no[brand] += 1
        money = money or OrderMoney()
        mapping = self.mappings[brand]
        currency = money.presentment_currency or mapping.currency
        if skus is not None:
            picks = [next(p for p in self.products[brand] if p.sku == sku) for sku in skus]
        else:
            picks = self.rng.sample([p for p in self.products[brand] if not mapping.final_sale(p.sku)], lines)
        order_lines = [
            OrderLineSpec(p.sku, self.rng.choice((1, 1, 2)), to_money(p.price * money.exchange_rate, currency))
            for p in picks
        ]
        for line in order_lines:
            line.quantity = quantity or line.quantity
        return Scenario(
            name=name,
            brand=brand,
            rebound_return_id=f"(00)687{self.run:08d}{self.counter:06d}",
            order_name=f"#{brand[:2].upper()}{self.order_no[brand]}",
            order_processed_at=self.now - timedelta(days=days_ago),
            order_lines=order_lines,
            units=[],
            money=money,
        )

    def second_return(self, first: Scenario, name: str) -> Scenario:
        """Another Rebound return order for the same Shopify order (a customer sending more back later)."""
        self.counter += 1
        return Scenario(
            name=name,
            brand=first.brand,
            rebound_return_id=f"(00)687{self.run:08d}{self.counter:06d}",
            order_name=first.order_name,
            order_processed_at=first.order_processed_at,
            order_lines=first.order_lines,
            units=[],
            money=first.money,
            same_order_as=first.rebound_return_id,
        )

    def returned(self, sc: Scenario, line: int, quantity: int, grade: str | None, *, fault: bool = True,
                 exchange: str | None = None) -> None:  # fmt: skip
        for _ in range(quantity):
            sc.units.append(
                ReturnedUnit(
                    item_id=f"(00)987{self.run:08d}{self.counter:04d}{len(sc.units):03d}",
                    sku=sc.order_lines[line].sku,
                    reason=self._reason(sc.brand, customer_fault=fault),
                    grade=grade,
                    exchange_sku=exchange,
                )
            )

    def push(
        self, sc: Scenario, status: str, at: datetime, *, graded: bool = False, parcel: Parcel | None = None
    ) -> dict[str, Any]:
        """Rebound's push; a multi-parcel return lists its parcels on every push, and a carrier or hub milestone
        is one parcel's (its tracking number, and its items when graded)."""
        prices = {line.sku: line.unit_price for line in sc.order_lines}
        product = {p.sku: p for p in self.products.get(sc.brand, [])}
        items = []
        for index, unit in enumerate(sc.units):
            if parcel is not None and graded and index not in parcel.units:
                continue
            if graded and unit.grade is None:
                continue  # missing: not in the parcel
            item: dict[str, Any] = {
                "reboundItemId": unit.item_id,
                "clientItemId": unit.sku,
                "ean": product[unit.sku].ean if unit.sku in product else "0000000000000",
                "sku": unit.sku,
                "reasonCode": unit.reason,
                "articleDescription": product[unit.sku].title if unit.sku in product else unit.sku,
                "commercialValue": str(prices[unit.sku]),
                "commercialValueCurrency": sc.money.presentment_currency or self.mappings[sc.brand].currency,
                "quantity": "1",
            }
            if graded:
                item["grade"] = unit.grade
            if unit.exchange_sku:
                item["wish"], item["exchangeSku"] = "exchange", unit.exchange_sku
            items.append(item)
        order: dict[str, Any] = {
            "clientOrderId": sc.order_name,
            "reboundOrderId": sc.rebound_return_id,
            "location": "GB_HUB_Daventry",
            "trackingNumber": (parcel or sc.parcels[0]).tracking_number
            if sc.parcels
            else f"ZZ{sc.rebound_return_id[-9:]}GB",
            "statusDescription": status,
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        if sc.parcels:
            order["parcels"] = [
                {"trackingNumber": p.tracking_number, "reboundItemIds": [sc.units[i].item_id for i in p.units]}
                for p in sc.parcels
            ]
        return {"order": order, "items": items}

    def in_parcels(self, sc: Scenario, *groups: list[int], late_days: tuple[int | None, ...] = ()) -> None:
        """Pack the return's units in several parcels; `late_days[i]`: days parcel i arrives after the first
        (None: it never does)."""
        for n, units in enumerate(groups):
            late = late_days[n] if n < len(late_days) else 0
            sc.parcels.append(Parcel(f"ZZ{sc.rebound_return_id[-8:]}{n + 1}GB", list(units), late))

    def parcel_lifecycle(self, sc: Scenario, *, graded: bool = True, start: datetime | None = None) -> None:
        """Registered once; each parcel scanned by the carrier, then at the hub on its own day (or never), then
        graded with its own items."""
        at = start or (sc.order_processed_at + timedelta(days=3))
        sc.pushes.append(self.push(sc, "returnOrderCreated", at))
        at += timedelta(hours=self.rng.randint(6, 20))
        for parcel in sc.parcels:
            sc.pushes.append(self.push(sc, "postalIncoming", at, parcel=parcel))
        at += timedelta(hours=self.rng.randint(20, 40))
        for parcel in sc.parcels:
            if parcel.late_days is None:
                continue
            arrived = at + timedelta(days=parcel.late_days)
            sc.pushes.append(self.push(sc, "arrivedAtHub", arrived, parcel=parcel))
            if graded:
                processed = arrived + timedelta(hours=self.rng.randint(2, 8))
                sc.pushes.append(self.push(sc, "processed", processed, graded=True, parcel=parcel))
        sc.pushes.sort(key=lambda push: str(push["order"]["timestamp"]))

    def lifecycle(
        self, sc: Scenario, *, until: str = "processed", start: datetime | None = None, direct: bool = False
    ) -> None:
        """Hub flow by default; `direct` is Rebound's DTR flow: the parcel is delivered to the brand's warehouse."""
        at = start or (sc.order_processed_at + timedelta(days=3))
        steps = ["returnOrderCreated", "postalIncoming", "delivered" if direct else "arrivedAtHub", "processed"]
        until = "delivered" if direct and until == "arrivedAtHub" else until
        for status in steps[: steps.index(until) + 1]:
            sc.pushes.append(self.push(sc, status, at, graded=status == "processed"))
            at += timedelta(hours=self.rng.randint(6, 40))

    def expect(self, sc: Scenario, *, refunded_before: Decimal = Decimal(0)) -> None:
        """Expected stock and refund from the brand's rules, by plain arithmetic, in the order's currency: VAT
        added when prices exclude it, the fee at the order's rate, never more than the order has left after
        `refunded_before`; and how the refund splits across the payments."""
        mapping = self.mappings[sc.brand]
        money = sc.money
        currency = money.presentment_currency or mapping.currency
        sc.expected_currency = currency
        prices = {line.sku: self._unit_value(line.unit_price, money, currency) for line in sc.order_lines}
        units = [unit for unit in sc.units if not mapping.final_sale(unit.sku)]  # refused: nothing restocked or paid
        for unit in units:
            rule = mapping.grade_for(unit.grade)
            product = mapping.product_rule(unit.sku)
            if product is not None and product.restock == "never":
                continue
            if rule.disposition == "restock" and rule.location:
                key = f"{unit.sku}@{mapping.locations[rule.location].id}"
                sc.expected_restock[key] = sc.expected_restock.get(key, 0) + 1
        if mapping.refund.issuer == "rebound_app":
            sc.expected_refund = sc.app_refund()[1]
            return
        before_inspection = mapping.refund.trigger in ("in_transit", "received")
        subtotal = customer_subtotal = balance = Decimal(0)
        customer_fault = False
        exchanges = mapping.exchanges
        for unit in units:
            reason = mapping.reason_for(unit.reason)
            rule = mapping.grade_for(unit.grade)
            grade_percent = Decimal(100) if before_inspection else Decimal(rule.refund_percent)
            amount = to_money(prices[unit.sku] * grade_percent * Decimal(reason.refund_percent) / 10000, currency)
            wished = unit.exchange_sku is not None and exchanges.offered
            if wished and grade_percent == 100 and sc.wanted_stock.get(str(unit.exchange_sku), 1) > 0:
                wanted = self._unit_value(self._price(sc, str(unit.exchange_sku)), money, currency)
                if exchanges.dearer == "refund_instead" and wanted > amount:
                    sc.expected_exchanges[str(unit.exchange_sku)] = "refunded_instead"
                else:
                    sc.expected_exchanges[str(unit.exchange_sku)] = "released"
                    balance += amount - wanted  # released: the variant's price against the returned unit's value
                    continue
            elif wished:
                sc.expected_exchanges[str(unit.exchange_sku)] = "refunded_instead"
            subtotal += amount
            fault = reason.fault if before_inspection or rule.fault is None else rule.fault  # inspection's finding
            if wished and exchanges.fees == "waived":
                continue  # no fee for an item the customer wished to exchange
            if fault == "customer":
                customer_fault = True
                customer_subtotal += amount
        fee = Decimal(mapping.refund.return_shipping_fee) * implied_rate(sc, mapping.currency)
        fee = to_money(fee, currency) if customer_fault and subtotal > 0 else Decimal(0)
        fee += to_money(customer_subtotal * Decimal(mapping.refund.restocking_fee_percent) / 100, currency)
        left = order_total(sc) - refunded_before
        net = subtotal - min(fee, subtotal) + balance
        sc.expected_owed = max(-net, Decimal(0))
        sc.expected_refund = to_money(min(max(net, Decimal(0)), left), currency)
        if sc.expected_exchanges and sc.expected_refund == 0:
            sc.expected_refunds = 0  # the exchange settles it: nothing comes back
        if mapping.refund.method == "store_credit":
            bonus = sc.expected_refund * Decimal(mapping.refund.store_credit_bonus_percent) / 100
            sc.expected_bonus = to_money(bonus, currency)
        elif money.payments:
            sc.expected_transactions = split_expected(sc, mapping.refund.gift_cards)

    def _price(self, sc: Scenario, sku: str) -> Decimal:
        """A variant's price in the order's currency (the catalogue's, at the order's rate)."""
        price = sc.wanted_prices.get(sku) or next(p.price for p in self.products[sc.brand] if p.sku == sku)
        currency = sc.money.presentment_currency or self.mappings[sc.brand].currency
        return to_money(price * sc.money.exchange_rate, currency)

    @staticmethod
    def _unit_value(price: Decimal, money: OrderMoney, currency: str) -> Decimal:
        return price if money.taxes_included else price + tax_on(price, money.tax_rate, currency)


SHIPPING = Decimal("3.95")  # every demo order's shipping, in its presentment currency


def tax_on(amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    """Tax added on top of a price, rounded as the Shopify emulator rounds a line's tax (half to even)."""
    return (amount * rate).quantize(quantum(currency))


def order_total(sc: Scenario) -> Decimal:
    """What the customer paid: lines, VAT when it is on top, shipping."""
    money = sc.money
    currency = money.presentment_currency or "GBP"
    lines = sum((line.unit_price * line.quantity for line in sc.order_lines), Decimal(0))
    tax = Decimal(0)
    if not money.taxes_included:
        tax = sum((tax_on(line.unit_price * line.quantity, money.tax_rate, currency) for line in sc.order_lines),
                  Decimal(0))  # fmt: skip
    return lines + tax + SHIPPING


def implied_rate(sc: Scenario, shop_currency: str) -> Decimal:
    """The rate the order's own totals show (Shopify keeps the shop amount rounded to the cent)."""
    total = order_total(sc)
    return total / (total / sc.money.exchange_rate).quantize(quantum(shop_currency))


def payment_amounts(sc: Scenario) -> list[tuple[str, Decimal]]:
    """The order's payments: as the scenario says, the last taking what the others leave; one card otherwise."""
    total = order_total(sc)
    if not sc.money.payments:
        return [("shopify_payments", total)]
    given = sc.money.payments[:-1]
    return [*given, (sc.money.payments[-1][0], total - sum((a for _, a in given), Decimal(0)))]


def split_expected(sc: Scenario, gift_cards: str) -> list[tuple[str, Decimal]]:
    """The refund across the payments: gift cards first (or last), then in the order they were taken."""
    payments = sorted(payment_amounts(sc), key=lambda p: (p[0] == "gift_card") != (gift_cards == "first"))
    left, out = sc.expected_refund, []
    for gateway, amount in payments:
        take = min(left, amount)
        if take > 0:
            out.append((gateway, take))
            left -= take
    return out


def demo_population(
    mappings: dict[str, MappingDef],
    *,
    now: datetime,
    seed: int = 7,
    inspected: set[str] | None = None,
    rounds: int = 1,
) -> list[Scenario]:
    """A realistic mixed batch (13 returns per brand, and the real-world cases): what the demo drives through and
    checks; `rounds` of it, each with new orders, for a soak. Brands not in `inspected` (an express flow) never get
    an inspection push: their returns end with the receipt."""
    b = ScenarioBuilder(mappings, now=now, seed=seed)
    return [sc for _ in range(rounds) for sc in _one_round(b, mappings, now, inspected)]


def _one_round(
    b: ScenarioBuilder, mappings: dict[str, MappingDef], now: datetime, inspected: set[str] | None
) -> list[Scenario]:
    out: list[Scenario] = []
    for brand in sorted(mappings):
        graded = inspected is None or brand in inspected
        until = "processed" if graded else "arrivedAtHub"
        sellable = b._grade(brand, "restock")
        damaged = b._grade(brand, "not_restocked")
        for n in range(3):  # full returns, all sellable
            sc = b.new(f"full return #{n + 1}", brand, lines=2)
            for i, line in enumerate(sc.order_lines):
                b.returned(sc, i, line.quantity, sellable)
            b.lifecycle(sc, until=until)
            out.append(sc)
        for n in range(2):  # partial: one line of three
            sc = b.new(f"partial return #{n + 1}", brand, lines=3)
            b.returned(sc, 1, 1, sellable)
            b.lifecycle(sc, until=until)
            out.append(sc)
        if graded:
            sc = b.new("damaged item not restocked", brand, lines=2)
            b.returned(sc, 0, 1, sellable)
            b.returned(sc, 1, 1, damaged)
        else:
            sc = b.new("two units, restocked on receipt", brand, lines=2)
            b.returned(sc, 0, 1, sellable)
            b.returned(sc, 1, 1, sellable)
        b.lifecycle(sc, until=until)
        out.append(sc)
        sc = b.new("duplicated pushes", brand, lines=1)
        b.returned(sc, 0, 1, sellable)
        b.lifecycle(sc, until=until)
        sc.pushes = [p for push in sc.pushes for p in (push, push)]
        out.append(sc)
        sc = b.new(f"out of order: {'inspection' if graded else 'receipt'} first", brand, lines=2)
        b.returned(sc, 0, 1, sellable)
        b.returned(sc, 1, 1, sellable)
        b.lifecycle(sc, until=until)
        sc.pushes = [sc.pushes[-1], *sc.pushes[:-1]]
        out.append(sc)
        if graded:
            sc = b.new("missing item in parcel", brand, lines=2)
            b.returned(sc, 0, 1, sellable)
            b.returned(sc, 1, 1, None)
        else:
            sc = b.new("single unit, restocked on receipt", brand, lines=1)
            b.returned(sc, 0, 1, sellable)
        b.lifecycle(sc, until=until)
        out.append(sc)
        sc = b.new("direct to warehouse (DTR)", brand, lines=2)
        b.returned(sc, 0, 1, sellable)
        b.returned(sc, 1, 1, sellable)
        b.lifecycle(sc, direct=True, until=until)
        out.append(sc)
        sc = b.new("merchant fault (faulty)", brand, lines=1)
        b.returned(sc, 0, 1, sellable, fault=False)
        b.lifecycle(sc, until=until)
        out.append(sc)
        sc = b.new("outside the return window", brand, lines=1, days_ago=90)
        b.returned(sc, 0, 1, sellable)
        b.lifecycle(sc, until="returnOrderCreated", start=now - timedelta(days=1))
        sc.expected_state = "rejected"
        sc.expected_problem = "outside the"
        out.append(sc)
        sc = b.new("cancelled before drop-off", brand, lines=1)
        b.returned(sc, 0, 1, sellable)
        b.lifecycle(sc, until="returnOrderCreated")
        sc.pushes.append(b.push(sc, "cancelled", sc.order_processed_at + timedelta(days=4)))
        sc.expected_state = "cancelled"
        out.append(sc)
    for sc in out:
        if sc.expected_state == "refunded":
            b.expect(sc)
    return out + real_world_cases(b)


def real_world_cases(b: ScenarioBuilder) -> list[Scenario]:
    """Orders as brands really have them: paid in another currency, tax on top, part by gift card; a second
    return of the same order; returns in several parcels, one late, one lost. CASTORE grades and refunds on
    inspection once every parcel is in; Oliver Bonas (express) restocks and refunds each parcel on receipt."""
    out: list[Scenario] = []
    if "castore" in b.mappings:
        sellable = b._grade("castore", "restock")
        sc = b.new("EUR order", "castore", money=OrderMoney("EUR", Decimal("1.17")))
        for i, line in enumerate(sc.order_lines):
            b.returned(sc, i, line.quantity, sellable)
        b.lifecycle(sc)
        b.expect(sc)
        out.append(sc)
        split = OrderMoney(payments=[("gift_card", Decimal("25.00")), ("shopify_payments", Decimal(0))])
        sc = b.new("gift card + card", "castore", money=split)
        b.returned(sc, 0, 1, sellable)
        b.lifecycle(sc)
        b.expect(sc)
        out.append(sc)
        sc = b.new("multi-parcel", "castore")
        b.returned(sc, 0, 1, sellable)
        b.returned(sc, 1, 1, sellable)
        b.in_parcels(sc, [0], [1], late_days=(0, 3))
        b.parcel_lifecycle(sc)
        b.expect(sc)
        out.append(sc)
        faulty = next((g for g, r in b.mappings["castore"].grades.items() if r.fault == "merchant"), None)
        if faulty is not None:  # the customer changed their mind; the inspection found a manufacturing fault
            sc = b.new("merchant fault at inspection", "castore", lines=1, quantity=1)
            b.returned(sc, 0, 1, faulty)
            b.lifecycle(sc)
            b.expect(sc)
            out.append(sc)
        sc = b.new("parcel lost", "castore", days_ago=20)
        b.returned(sc, 0, 1, sellable)
        b.returned(sc, 1, 1, sellable)
        b.in_parcels(sc, [0], [1], late_days=(0, None))
        b.parcel_lifecycle(sc)
        sc.expected_state = "in_transit"
        sc.expected_attention = sc.parcels[1].tracking_number
        out.append(sc)
    if "oliver" in b.mappings:
        best = b.mappings["oliver"].grade_scale[0]
        us = OrderMoney("USD", Decimal("1.27"), taxes_included=False, tax_rate=Decimal("0.08875"))
        sc = b.new("tax excluded", "oliver", money=us, quantity=1)
        b.returned(sc, 0, 1, best)
        b.lifecycle(sc, until="arrivedAtHub")
        b.expect(sc)
        out.append(sc)
        first = b.new("first of two returns", "oliver", quantity=2)
        b.returned(first, 0, 1, best)
        b.lifecycle(first, until="arrivedAtHub")
        b.expect(first)
        second = b.second_return(first, "second return")
        b.returned(second, 0, 1, best)
        b.returned(second, 1, 2, best)
        b.lifecycle(second, until="arrivedAtHub", start=first.order_processed_at + timedelta(days=9))
        b.expect(second, refunded_before=first.expected_refund)
        out += [first, second]
        sc = b.new("multi-parcel", "oliver")
        b.returned(sc, 0, 1, best)
        b.returned(sc, 1, 1, best)
        b.in_parcels(sc, [0], [1], late_days=(0, 2))
        b.parcel_lifecycle(sc, graded=False)
        b.expect(sc)
        sc.expected_refunds = 2  # one per parcel: Oliver Bonas acts on each parcel as it arrives
        out.append(sc)
    return out + product_rule_cases(b) + exchange_cases(b)


def exchange_cases(b: ScenarioBuilder) -> list[Scenario]:
    """CASTORE exchanges: another size at the same price, a dearer variant (the customer pays the difference before
    Shopify ships it), a cheaper one (the difference refunded) and one out of stock (refunded instead)."""
    if "castore" not in b.mappings or not b.mappings["castore"].exchanges.offered:
        return []
    sellable = b._grade("castore", "restock")
    out: list[Scenario] = []
    for name, returned, wanted, stock in (
        ("exchange", "CAS-TEE-BLK-M", "CAS-TEE-BLK-L", 5),
        ("exchange, dearer variant", "CAS-TEE-BLK-M", "CAS-HOOD-GRY-M", 5),
        ("exchange, cheaper variant", "CAS-HOOD-GRY-M", "CAS-TEE-BLK-S", 5),
        ("exchange out of stock", "CAS-SHORT-NVY-M", "CAS-SHORT-NVY-XXL", 0),  # a size no order has: sold out
    ):
        sc = b.new(name, "castore", skus=[returned], quantity=1)
        sc.wanted_stock[wanted] = stock
        if wanted.endswith("-XXL"):
            sc.wanted_prices[wanted] = Decimal("55.00")
        b.returned(sc, 0, 1, sellable, exchange=wanted)
        b.lifecycle(sc)
        b.expect(sc)
        out.append(sc)
    return out


def product_rule_cases(b: ScenarioBuilder) -> list[Scenario]:
    """Rules that depend on the product: TATTY DEVINE's pierced earrings are final sale (refused, the rest of the
    return proceeds; a return of those only is rejected) and a change of mind pays its restocking fee; GREEN
    PEOPLE never resells a lip balm once returned, sealed or not."""
    out: list[Scenario] = []
    if "tatty" in b.mappings:
        perfect = b._grade("tatty", "restock")
        sc = b.new("restocking fee", "tatty", skus=["TD-NECK-LIPS"], quantity=1)
        b.returned(sc, 0, 1, perfect)  # the customer changed their mind: 10 % restocking fee
        b.lifecycle(sc)
        b.expect(sc)
        out.append(sc)
        sc = b.new("pierced earrings refused", "tatty", skus=["TD-EAR-P-HOOP", "TD-RING-STAR"], quantity=1)
        b.returned(sc, 0, 1, perfect)
        b.returned(sc, 1, 1, perfect)
        b.lifecycle(sc)
        b.expect(sc)
        sc.expected_refused = ["TD-EAR-P-HOOP"]
        out.append(sc)
        sc = b.new("final sale only", "tatty", skus=["TD-EAR-P-HOOP"], quantity=1)
        b.returned(sc, 0, 1, perfect)
        b.lifecycle(sc, until="returnOrderCreated")
        sc.expected_state = "rejected"
        sc.expected_problem = "final sale"
        sc.expected_refused = ["TD-EAR-P-HOOP"]
        out.append(sc)
    if "greenpeople" in b.mappings:
        sealed = b._grade("greenpeople", "restock")
        sc = b.new("hygiene: lip balm never resold", "greenpeople", skus=["GP-LIP-BALM", "GP-SKIN-DAY-50"], quantity=1)
        b.returned(sc, 0, 1, sealed)  # sealed, yet never back on sale
        b.returned(sc, 1, 1, sealed)
        b.lifecycle(sc)
        b.expect(sc)
        out.append(sc)
    return out
