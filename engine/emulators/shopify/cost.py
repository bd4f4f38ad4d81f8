"""Query cost and the per-shop leaky bucket behind ``extensions.cost`` and ``THROTTLED``.

Simplified from Shopify's published rules: scalars and enums 0, objects 1, connections 2 plus
``first``/``last`` times the cost of one node, a mutation root field 10. A request whose requested cost is
above 1,000 is refused (``MAX_COST_EXCEEDED``) before anything is charged; otherwise the bucket must hold the
requested cost (else ``THROTTLED``, nothing charged), is charged it, and is refunded down to the actual cost
of what was returned.

One bucket per shop, by plan (``PLANS``): Standard restores 100 points/s into a 2,000-point bucket (what every
2026 capture shows), Advanced 200/s and Plus 1,000/s. Shopify publishes the restore rates, not the bucket sizes
above Standard; the presets keep the captured 20x ratio (4,000 and 20,000). ``Plan.custom`` makes small
buckets for fast tests. Time is a monotonic clock, injectable (``Bucket(now=...)``) so tests need not sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
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

SINGLE_QUERY_MAX = 1000
MUTATION_COST = 10


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
MAX_AVAILABLE = STANDARD.maximum_available
RESTORE_RATE = STANDARD.restore_rate


def plan_named(name: str) -> Plan:
    try:
        return PLANS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown plan {name!r}; one of {', '.join(PLANS)}") from None


def requested_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> int:
    def selection_cost(selection_set: SelectionSetNode | None, parent: Any) -> int:
        if selection_set is None or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += field_cost(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                total += selection_cost(selection.selection_set, condition)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    total += selection_cost(fragment.selection_set, schema.get_type(fragment.type_condition.name.value))
        return total

    def field_cost(node: FieldNode, parent: Any) -> int:
        fields = getattr(parent, "fields", {})
        definition = fields.get(node.name.value)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return 0
        children = selection_cost(node.selection_set, named)
        if named.name.endswith("Connection"):
            size = 0
            for argument in node.arguments:
                if argument.name.value in ("first", "last"):
                    arg_def = definition.args[argument.name.value]
                    size = max(size, int(value_from_ast(argument.value, arg_def.type, variables) or 0))
            return 2 + size * max(children, 1)
        return 1 + children

    if operation.operation == OperationType.MUTATION:
        return MUTATION_COST * sum(1 for s in operation.selection_set.selections if isinstance(s, FieldNode))
    return selection_cost(operation.selection_set, schema.query_type)


def actual_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    data: Any,
) -> int:
    """Cost of what was returned: like ``requested_cost`` but counting the objects actually present."""
    if operation.operation == OperationType.MUTATION:
        return MUTATION_COST * sum(1 for s in operation.selection_set.selections if isinstance(s, FieldNode))

    def walk(selection_set: SelectionSetNode | None, parent: Any, value: Any) -> int:
        if selection_set is None or not isinstance(value, dict):
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                definition = getattr(parent, "fields", {}).get(selection.name.value)
                child = value.get(key)
                if definition is None or child is None:
                    continue
                named = get_named_type(definition.type)
                if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                    continue
                items = child if isinstance(child, list) else [child]
                base = 2 if named.name.endswith("Connection") else 1
                total += base + sum(walk(selection.selection_set, named, i) for i in items)
            elif isinstance(selection, InlineFragmentNode):
                condition = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                total += walk(selection.selection_set, condition, value)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    condition = schema.get_type(fragment.type_condition.name.value)
                    total += walk(fragment.selection_set, condition, value)
        return total

    return walk(operation.selection_set, schema.query_type, data)


@dataclass
class Bucket:
    """One shop's leaky bucket."""

    plan: Plan = STANDARD
    now: Callable[[], float] = time.monotonic
    available: float = -1.0  # -1: start full
    updated: float = -1.0
    throttled: int = 0  # requests refused with THROTTLED
    charged: float = 0.0  # points actually spent (after refunds)

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
