"""Query cost and the per-shop leaky bucket behind ``extensions.cost`` and ``THROTTLED``.

Shopify's published defaults (shopify.dev "GraphQL Admin API rate limits": scalar and enum 0, object 1,
interface and union the maximum of the possible selections, connections sized by ``first``/``last``, a
mutation 10), made precise where the docs are vague by the 455 recorded responses in the captures
(``tests/emulators/test_shopify_emu_cost_parity.py`` replays every one of them):

* a connection costs 2 plus ``connection_factor(first)`` times the cost of one node (the node's own 1 plus
  its children). The factor grows like ``floor(2 ln first)``: 1, 3, 5, 10, 20, 50, 250 are charged for
  1, 2, 3, 4, 5, 7, 11 nodes (every page size recorded), so nested connections multiply factors, not sizes;
* a plain list of objects (``userErrors``, ``Order.transactions``, ``nodes(ids:)``) costs like one object:
  its elements are not counted;
* money values (``MoneyBag``, ``MoneyV2``) cost nothing; a ``Count`` (``productsCount``...) costs 10;
* introspection (``__type``) is priced like any other object;
* a mutation field costs 10 (``refundCreate`` 20, ``fulfillmentTrackingInfoUpdate`` 50, as recorded) plus
  its payload, where the objects returned directly (the ``return`` of ``returnClose``, ``userErrors``) carry
  no point of their own (the 10 pays for them); their children are charged.

The actual cost applies the same rules to what came back: a connection is sized by the nodes it returned
(Shopify's figures for short pages are not reproduced exactly), a list by its most expensive element (an
empty one by its own point), a null object still costs its own point (it was looked up).

A request whose requested cost is above 1,000 is refused (``MAX_COST_EXCEEDED``) before anything is charged;
otherwise the bucket must hold the requested cost (else ``THROTTLED``, nothing charged), is charged it, and
is refunded down to the actual cost of what was returned.

One bucket per shop, by plan (``PLANS``): Standard restores 100 points/s into a 2,000-point bucket (what every
2026 capture shows), Advanced 200/s and Plus 1,000/s. Shopify publishes the restore rates, not the bucket sizes
above Standard; the presets keep the captured 20x ratio (4,000 and 20,000). ``Plan.custom`` makes small
buckets for fast tests. Time is a monotonic clock, injectable (``Bucket(now=...)``) so tests need not sleep.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    value_from_ast,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

SINGLE_QUERY_MAX = 1000
MUTATION_COST = 10
# Mutations Shopify charges more than the default (recorded requested and actual costs both show it).
MUTATION_COSTS: dict[str, int] = {"refundCreate": 20, "fulfillmentTrackingInfoUpdate": 50}
FREE_TYPES = frozenset({"MoneyBag", "MoneyV2"})
COUNT_COST = 10
CONNECTION_BASE = 2


@dataclass(frozen=True)
class Plan:
    name: str
    restore_rate: int  # points per second
    maximum_available: int  # bucket size

    @classmethod
    def custom(cls, restore_rate: int, maximum_available: int) -> Plan:
        return cls("custom", restore_rate, maximum_available)


PLANS: dict[str, Plan] = {
    "standard": Plan("standard", 100, 2000),
    "advanced": Plan("advanced", 200, 4000),
    "plus": Plan("plus", 1000, 20000),
    "enterprise": Plan("enterprise", 2000, 40000),
}
STANDARD = PLANS["standard"]


def plan_named(name: str) -> Plan:
    try:
        return PLANS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown plan {name!r}; one of {', '.join(PLANS)}") from None


def connection_factor(size: int) -> int:
    """How many nodes a page of ``size`` is charged for (recorded: 1 3 5 10 20 50 250 -> 1 2 3 4 5 7 11)."""
    if size <= 0:
        return 0
    return max(1, math.floor(2 * math.log(size)))


def requested_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> int:
    """What Shopify charges before executing: every connection at the page size asked for."""
    return _Pricing(schema, fragments, variables, pricing=True).operation(operation, None)


def actual_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    data: Any,
) -> int:
    """What the returned ``data`` costs under the same rules: connections sized by the nodes returned."""
    if not isinstance(data, dict):
        return 0
    return _Pricing(schema, fragments, {}, pricing=False).operation(operation, data)


_ABSENT = object()  # a field missing from a returned object (another type's fragment), unlike an explicit null


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _is_connection(named: Any) -> TypeGuard[GraphQLObjectType]:
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection")


@dataclass
class _Pricing:
    """One walk of a document: the request (``pricing``: page sizes from arguments) or the returned data."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    pricing: bool

    def operation(self, operation: OperationDefinitionNode, data: dict[str, Any] | None) -> int:
        if operation.operation != OperationType.MUTATION:
            return self.selection(operation.selection_set, self.schema.query_type, data)
        mutation = self.schema.mutation_type
        total = 0
        for node in operation.selection_set.selections:
            if not isinstance(node, FieldNode) or mutation is None or node.name.value not in mutation.fields:
                continue
            total += MUTATION_COSTS.get(node.name.value, MUTATION_COST)
            payload = get_named_type(mutation.fields[node.name.value].type)
            value = None if data is None else data.get(_key(node))
            if isinstance(payload, GraphQLObjectType) and (self.pricing or isinstance(value, dict)):
                total += self.payload(node.selection_set, payload, value)
        return total

    def payload(self, selection_set: SelectionSetNode | None, payload: GraphQLObjectType, value: Any) -> int:
        """A mutation payload: the objects it returns directly are paid for by the mutation's own cost."""
        total = 0
        for node in selection_set.selections if selection_set else ():
            if not isinstance(node, FieldNode) or node.name.value not in payload.fields:
                continue
            cost = self.field(node, payload, value)
            named = get_named_type(payload.fields[node.name.value].type)
            if cost > 0 and not _is_connection(named) and named.name not in FREE_TYPES and named.name != "Count":
                cost -= 1
            total += cost
        return total

    def selection(self, selection_set: SelectionSetNode | None, parent: Any, value: Any) -> int:
        if selection_set is None:
            return 0
        if isinstance(parent, GraphQLObjectType):
            return self.fields(selection_set, parent, parent, value)
        if not isinstance(parent, GraphQLInterfaceType | GraphQLUnionType):
            return 0
        if isinstance(value, dict) and isinstance(value.get("__typename"), str):
            concrete = self.schema.get_type(value["__typename"])
            if isinstance(concrete, GraphQLObjectType):
                return self.fields(selection_set, parent, concrete, value)
        # Interface or union: the most expensive of the possible types (Shopify's documented rule).
        possible = self.schema.get_possible_types(parent)
        return max((self.fields(selection_set, parent, t, value) for t in possible), default=0)

    def fields(self, selection_set: SelectionSetNode, parent: Any, concrete: GraphQLObjectType, value: Any) -> int:
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, concrete if node.name.value in concrete.fields else parent, value)
                continue
            if isinstance(node, InlineFragmentNode):
                condition = self.schema.get_type(node.type_condition.name.value) if node.type_condition else None
                inner = node.selection_set
            elif isinstance(node, FragmentSpreadNode) and node.name.value in self.fragments:
                fragment = self.fragments[node.name.value]
                condition = self.schema.get_type(fragment.type_condition.name.value)
                inner = fragment.selection_set
            else:
                continue
            if condition is None or condition is parent or condition is concrete:
                total += self.fields(inner, parent, concrete, value)
            elif isinstance(condition, GraphQLInterfaceType | GraphQLUnionType) and self.schema.is_sub_type(
                condition, concrete
            ):
                total += self.fields(inner, condition, concrete, value)
        return total

    def field(self, node: FieldNode, parent: Any, value: Any) -> int:
        name = node.name.value
        definition: GraphQLField | None
        if name == "__type":
            definition = TypeMetaFieldDef
        elif name == "__schema":
            definition = SchemaMetaFieldDef
        else:
            definition = getattr(parent, "fields", {}).get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return 0
        child: Any = None
        if not self.pricing:
            child = value.get(_key(node), _ABSENT) if isinstance(value, dict) else _ABSENT
            if child is _ABSENT:
                return 0
        if named.name == "Count":
            return COUNT_COST
        if _is_connection(named):
            return self.connection(node, definition, named, child)
        own = 0 if named.name in FREE_TYPES else 1
        if self.pricing:
            return own + self.selection(node.selection_set, named, None)
        if child is None:
            return own  # looked up, nothing found
        if isinstance(child, list):  # an empty list still costs its point (recorded: fulfillmentHolds: [])
            return own + max((self.selection(node.selection_set, named, item) for item in child), default=0)
        return own + self.selection(node.selection_set, named, child)

    def connection(self, node: FieldNode, definition: GraphQLField, connection: GraphQLObjectType, value: Any) -> int:
        """2 + factor(page) x one node; the page is ``first``/``last`` when pricing, the nodes returned after."""
        costs: list[int] = []
        size = 0
        for sub in node.selection_set.selections if node.selection_set else ():
            if not isinstance(sub, FieldNode) or sub.name.value not in ("nodes", "edges"):
                continue
            item_type = get_named_type(connection.fields[sub.name.value].type)
            if self.pricing:
                costs.append(1 + self.page_item(sub, item_type, None))
                continue
            items = value.get(_key(sub)) if isinstance(value, dict) else None
            for item in items or []:
                costs.append(1 + self.page_item(sub, item_type, item))
        if self.pricing:
            for argument in node.arguments:
                if argument.name.value in ("first", "last") and argument.name.value in definition.args:
                    arg_type = definition.args[argument.name.value].type
                    size = max(size, int(value_from_ast(argument.value, arg_type, self.variables) or 0))
            return CONNECTION_BASE + connection_factor(size) * max(costs, default=1)
        if value is None:
            return CONNECTION_BASE
        return CONNECTION_BASE + (connection_factor(len(costs)) * max(costs) if costs else 0)

    def page_item(self, sub: FieldNode, item_type: Any, item: Any) -> int:
        """The children of one node, read through ``nodes`` or ``edges { node }`` (an edge itself is free)."""
        if sub.name.value == "nodes":
            return self.selection(sub.selection_set, item_type, item)
        node_type = get_named_type(item_type.fields["node"].type)
        total = 0
        for edge_field in sub.selection_set.selections if sub.selection_set else ():
            if isinstance(edge_field, FieldNode) and edge_field.name.value == "node":
                node_value = item.get(_key(edge_field)) if isinstance(item, dict) else None
                total += self.selection(edge_field.selection_set, node_type, node_value)
        return total


@dataclass
class Bucket:
    """One shop's leaky bucket."""

    plan: Plan = STANDARD
    now: Callable[[], float] = time.monotonic
    available: float = -1.0  # -1: start full
    updated: float = -1.0
    throttled: int = 0  # requests refused with THROTTLED
    charged: float = 0.0  # points actually spent (after refunds)
    spent: Counter[str] = field(default_factory=Counter)  # actual cost by operation name, for tests and benches
    calls: Counter[str] = field(default_factory=Counter)  # answered calls by operation name

    def __post_init__(self) -> None:
        if self.available < 0:
            self.available = float(self.plan.maximum_available)
        if self.updated < 0:
            self.updated = self.now()

    def set_plan(self, plan: Plan) -> None:
        self.refill()
        self.plan = plan
        self.available = min(self.available, plan.maximum_available)

    def refill(self) -> None:
        now = self.now()
        restored = (now - self.updated) * self.plan.restore_rate
        self.available = min(float(self.plan.maximum_available), self.available + restored)
        self.updated = now

    def try_take(self, cost: int) -> bool:
        self.refill()
        if cost > self.available:
            self.throttled += 1
            return False
        self.available -= cost
        self.charged += cost
        return True

    def refund(self, points: int) -> None:
        """Give back what was charged but not used (requested minus actual)."""
        points = max(points, 0)
        self.available = min(float(self.plan.maximum_available), self.available + points)
        self.charged -= points

    def status(self) -> dict[str, int]:
        return {
            "maximumAvailable": self.plan.maximum_available,
            "currentlyAvailable": int(self.available),
            "restoreRate": self.plan.restore_rate,
        }


def cost_extension(requested: int, actual: int | None, bucket: Bucket) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": bucket.status(),
        }
    }
