"""Query cost and the per-shop leaky bucket behind ``extensions.cost`` and ``THROTTLED``.

Simplified from Shopify's published rules: scalars and enums 0, objects 1, connections 2 plus
``first``/``last`` times the cost of one node, a mutation root field 10. The bucket is charged the requested
cost (capped at the single-query limit) and refunded down to the actual cost of what was returned.
Bucket: 2000 points, 100 points/s restore (a dev store in 2026), measured on a monotonic clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
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

MAX_AVAILABLE = 2000
RESTORE_RATE = 100
SINGLE_QUERY_MAX = 1000
MUTATION_COST = 10


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

    available: float = MAX_AVAILABLE
    updated: float = field(default_factory=time.monotonic)

    def refill(self) -> None:
        now = time.monotonic()
        self.available = min(MAX_AVAILABLE, self.available + (now - self.updated) * RESTORE_RATE)
        self.updated = now

    def try_take(self, cost: int) -> bool:
        self.refill()
        if cost > self.available:
            return False
        self.available -= cost
        return True

    def refund(self, points: int) -> None:
        """Give back what was charged but not used (requested minus actual)."""
        self.available = min(MAX_AVAILABLE, self.available + max(points, 0))

    def status(self) -> dict[str, int]:
        return {
            "maximumAvailable": MAX_AVAILABLE,
            "currentlyAvailable": int(self.available),
            "restoreRate": RESTORE_RATE,
        }


def cost_extension(requested: int, actual: int | None, bucket: Bucket) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": bucket.status(),
        }
    }
