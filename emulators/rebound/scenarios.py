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
from engine.money import to_money


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
class ReturnedUnit:
    item_id: str
    sku: str
    reason: str
    grade: str | None  # None: missing at inspection


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
        return next(g for g, r in self.mappings[brand].grades.items() if r.disposition == disposition)

    def new(self, name: str, brand: str, lines: int = 2, days_ago: int = 10) -> Scenario:
        self.counter += 1
        self.order_no[brand] += 1
        picks = self.rng.sample(self.products[brand], lines)
        order_lines = [OrderLineSpec(p.sku, self.rng.choice((1, 1, 2)), p.price) for p in picks]
        return Scenario(
            name=name,
            brand=brand,
            rebound_return_id=f"(00)687{self.run:08d}{self.counter:06d}",
            order_name=f"#{brand[:2].upper()}{self.order_no[brand]}",
            order_processed_at=self.now - timedelta(days=days_ago),
            order_lines=order_lines,
            units=[],
        )

    def returned(self, sc: Scenario, line: int, quantity: int, grade: str | None, *, fault: bool = True) -> None:
        for _ in range(quantity):
            sc.units.append(
                ReturnedUnit(
                    item_id=f"(00)987{self.run:08d}{self.counter:04d}{len(sc.units):03d}",
                    sku=sc.order_lines[line].sku,
                    reason=self._reason(sc.brand, customer_fault=fault),
                    grade=grade,
                )
            )

    def push(self, sc: Scenario, status: str, at: datetime, *, graded: bool = False) -> dict[str, Any]:
        prices = {line.sku: line.unit_price for line in sc.order_lines}
        product = {p.sku: p for p in self.products.get(sc.brand, [])}
        items = []
        for unit in sc.units:
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
                "commercialValueCurrency": self.mappings[sc.brand].currency,
                "quantity": "1",
            }
            if graded:
                item["grade"] = unit.grade
            items.append(item)
        order = {
            "clientOrderId": sc.order_name,
            "reboundOrderId": sc.rebound_return_id,
            "location": "GB_HUB_Daventry",
            "trackingNumber": f"ZZ{sc.rebound_return_id[-9:]}GB",
            "statusDescription": status,
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        return {"order": order, "items": items}

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

    def expect(self, sc: Scenario) -> None:
        """Expected stock and refund from the brand's rules, by plain arithmetic."""
        mapping = self.mappings[sc.brand]
        prices = {line.sku: line.unit_price for line in sc.order_lines}
        for unit in sc.units:
            rule = mapping.grade_for(unit.grade)
            if rule.disposition == "restock" and rule.location:
                key = f"{unit.sku}@{mapping.locations[rule.location].id}"
                sc.expected_restock[key] = sc.expected_restock.get(key, 0) + 1
        if mapping.refund.issuer == "rebound_app":
            sc.expected_refund = sc.app_refund()[1]
            return
        before_inspection = mapping.refund.trigger in ("in_transit", "received")
        subtotal = Decimal(0)
        customer_fault = False
        for unit in sc.units:
            reason = mapping.reason_for(unit.reason)
            grade_percent = Decimal(100) if before_inspection else Decimal(mapping.grade_for(unit.grade).refund_percent)
            subtotal += to_money(
                prices[unit.sku] * grade_percent * Decimal(reason.refund_percent) / 10000, mapping.currency
            )
            customer_fault = customer_fault or reason.fault == "customer"
        fee = Decimal(mapping.refund.return_shipping_fee) if customer_fault and subtotal > 0 else Decimal(0)
        sc.expected_refund = to_money(max(subtotal - fee, Decimal(0)), mapping.currency)
        if mapping.refund.method == "store_credit":
            bonus = sc.expected_refund * Decimal(mapping.refund.store_credit_bonus_percent) / 100
            sc.expected_bonus = to_money(bonus, mapping.currency)


def demo_population(
    mappings: dict[str, MappingDef], *, now: datetime, seed: int = 7, inspected: set[str] | None = None
) -> list[Scenario]:
    """A realistic mixed batch (13 returns per brand): what the demo drives through and checks. Brands not in
    `inspected` (an express flow) never get an inspection push: their returns end with the receipt."""
    b = ScenarioBuilder(mappings, now=now, seed=seed)
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
    return out
