"""Root fields of the inventory model: product/variant/level reads and the quantity mutations.

Request-level rules run before the mutation's own, in Shopify's order (2026-04 captures): every quantity input
must carry ``changeFromQuantity`` (a top-level ``INVALID_FIELD_ARGUMENTS``), then the ``@idempotent(key:)``
directive is required (``BAD_REQUEST``). A key replays the first committed result for 24 hours without writing
again; the same key with other arguments is ``IDEMPOTENCY_KEY_PARAMETER_MISMATCH``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLResolveInfo, Node, VariableNode

from . import idempotency, inventory, inventory_views
from .connections import connection
from .outcome import Outcome, UserError

if TYPE_CHECKING:
    from .inventory import AdjustmentGroup
    from .resolvers import RequestContext
    from .views import View

# Input type of each mutation's quantity lines, and where they sit in its input (terminal ends for a move).
_CHANGE_FROM_INPUTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "inventoryAdjustQuantities": ("InventoryChangeInput", "changes", ()),
    "inventorySetQuantities": ("InventoryQuantityInput", "quantities", ()),
    "inventorySetOnHandQuantities": ("InventorySetQuantityInput", "setQuantities", ()),
    "inventoryMoveQuantities": ("InventoryMoveQuantityTerminalInput", "changes", ("from", "to")),
}


def _require_change_from(info: GraphQLResolveInfo, mutation: str, data: dict[str, Any]) -> None:
    type_name, key, ends = _CHANGE_FROM_INPUTS[mutation]
    entries = [line[end] for line in data[key] for end in ends] if ends else list(data[key])
    if all(entry.get("changeFromQuantity") is not None for entry in entries):
        return
    field_node = info.field_nodes[0]
    nodes: list[Node] = [field_node]
    argument = next((a for a in field_node.arguments or () if a.name.value == "input"), None)
    if argument is not None and isinstance(argument.value, VariableNode):
        name = argument.value.name.value
        nodes += [d for d in info.operation.variable_definitions if d.variable.name.value == name]
    elif argument is not None:
        nodes.append(argument)
    message = f"{type_name} must include the following argument: changeFromQuantity."
    raise GraphQLError(message, nodes, extensions={"code": "INVALID_FIELD_ARGUMENTS"})


_TERM = re.compile(r"""(?:(\w+):)?(?:"([^"]*)"|'([^']*)'|(\S+))""")


def _terms(query: str | None) -> list[tuple[str, str]]:
    """``field:value`` search terms (value double-quoted, single-quoted or bare); a bare word has field ``""``."""
    terms = []
    for match in _TERM.finditer(query or ""):
        field, *values = match.groups()
        terms.append(((field or "").lower(), next(v for v in values if v is not None)))
    return terms


def root_fields(ctx: RequestContext) -> dict[str, Callable[..., Any]]:
    store, shop, views = ctx.store, ctx.shop, ctx.views

    def idempotent(
        info: GraphQLResolveInfo,
        mutation: str,
        arguments: dict[str, Any],
        run: Callable[[], tuple[Any, list[UserError], str | None]],
        replay: Callable[[str], Any],
    ) -> tuple[Any, list[UserError]]:
        """Run a write under its key (see ``idempotency.run_once``), counting a committed write."""

        def write() -> tuple[Any, list[UserError], str | None]:
            value, errors, written = run()
            if written is not None:
                ctx.writes += 1
            return value, errors, written

        return idempotency.run_once(
            info,
            ctx.version,
            shop,
            store.clock,
            mutation,
            arguments,
            write,
            replay,
            mismatch_code="IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
        )

    def group_payload(value: AdjustmentGroup | None, errors: list[UserError]) -> View:
        return {
            "inventoryAdjustmentGroup": inventory_views.adjustment_group(views, value) if value else None,
            "userErrors": [e.as_dict() for e in errors],
        }

    def quantities_mutation(mutation: str, service: Callable[[dict[str, Any]], Outcome[AdjustmentGroup]]) -> Any:
        def resolve(info: GraphQLResolveInfo, input: dict[str, Any]) -> View:  # noqa: A002 - GraphQL argument
            _require_change_from(info, mutation, input)

            def run() -> tuple[Any, list[UserError], str | None]:
                outcome = service(input)
                return outcome.value, outcome.errors, outcome.value.id if outcome.value else None

            value, errors = idempotent(info, mutation, input, run, lambda gid: shop.adjustment_groups.get(gid))
            return group_payload(value, errors)

        return resolve

    def inventory_activate(
        info: GraphQLResolveInfo,
        inventoryItemId: str,  # noqa: N803 - GraphQL argument names
        locationId: str,  # noqa: N803
        available: int | None = None,
        onHand: int | None = None,  # noqa: N803
        **_: Any,
    ) -> View:
        arguments = {
            "inventoryItemId": inventoryItemId,
            "locationId": locationId,
            "available": available,
            "onHand": onHand,
        }

        def run() -> tuple[Any, list[UserError], str | None]:
            done = inventory.activate(store, shop, inventoryItemId, locationId, available, onHand)
            level_view = views.inventory_level(done.item, done.level) if done.item and done.level else None
            return level_view, done.errors, level_view["id"] if level_view and done.created else None

        def replay(level_id: str) -> View | None:
            found = inventory.find_level(shop, level_id)
            return views.inventory_level(*found) if found else None

        level, errors = idempotent(info, "inventoryActivate", arguments, run, replay)
        return {"inventoryLevel": level, "userErrors": [e.as_dict() for e in errors]}

    # ---- reads ----------------------------------------------------------------------------------------------
    def product(_info: GraphQLResolveInfo, id: str) -> View | None:  # noqa: A002
        return inventory_views.product(views, id)

    def product_variant(_info: GraphQLResolveInfo, id: str) -> View | None:  # noqa: A002
        return inventory_views.variant_by_id(views, id)

    def inventory_level(_info: GraphQLResolveInfo, id: str) -> View | None:  # noqa: A002
        found = inventory.find_level(shop, id)
        return views.inventory_level(*found) if found else None

    def inventory_items(_info: GraphQLResolveInfo, query: str | None = None, **args: Any) -> View:
        items = list(shop.inventory.values())
        for term in (query or "").split():
            field, _, wanted = term.partition(":")
            if field == "id":
                items = [i for i in items if i.id.rsplit("/", 1)[-1] == wanted]
            elif field == "sku":
                items = [i for i in items if i.sku == wanted.strip("'\"")]
        return connection(items, args, views.inventory_item)

    def product_variants(_info: GraphQLResolveInfo, query: str | None = None, **args: Any) -> View:
        """``productVariants(query:)``: the seeded variants, filtered by ``sku:``, ``id:`` and ``product_id:`` terms
        (quoted or not); a bare word matches a SKU, case-insensitively. Other filters are not emulated."""
        items = list(shop.inventory.values())
        for field, wanted in _terms(query):
            if field == "sku":
                items = [i for i in items if i.sku == wanted]
            elif field == "id":
                items = [i for i in items if i.variant_id.rsplit("/", 1)[-1] == wanted.rsplit("/", 1)[-1]]
            elif field == "product_id":
                items = [i for i in items if (i.product_id or "").rsplit("/", 1)[-1] == wanted.rsplit("/", 1)[-1]]
            elif field == "":
                items = [i for i in items if i.sku.lower() == wanted.lower()]
        return connection(items, args, lambda item: inventory_views.variant(views, item))

    def inventory_properties(_info: GraphQLResolveInfo) -> View:
        return inventory_views.inventory_properties(shop)

    return {
        "product": product,
        "productVariant": product_variant,
        "productVariants": product_variants,
        "inventoryLevel": inventory_level,
        "inventoryItems": inventory_items,
        "inventoryProperties": inventory_properties,
        "inventoryAdjustQuantities": quantities_mutation(
            "inventoryAdjustQuantities", lambda data: inventory.adjust(store, shop, data)
        ),
        "inventorySetQuantities": quantities_mutation(
            "inventorySetQuantities", lambda data: inventory.set_quantities(store, shop, data)
        ),
        "inventorySetOnHandQuantities": quantities_mutation(
            "inventorySetOnHandQuantities",
            lambda data: inventory.set_quantities(store, shop, data, lines_key="setQuantities", name="on_hand"),
        ),
        "inventoryMoveQuantities": quantities_mutation(
            "inventoryMoveQuantities", lambda data: inventory.move(store, shop, data)
        ),
        "inventoryActivate": inventory_activate,
    }
