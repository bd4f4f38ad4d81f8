"""Relay connections paged the Shopify way: ``first``/``last``/``after``/``before``/``reverse``, max 250."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from graphql import GraphQLError

T = TypeVar("T")
MAX_PAGE = 250


def _cursor(index: int) -> str:
    return base64.b64encode(f"emulator:{index}".encode()).decode()


def _index(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort. {cursor}") from exc


def page_bounds(count: int, args: dict[str, Any]) -> tuple[int, int]:
    """Half-open window ``[start, end)`` of ``count`` items selected by the paging arguments."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last", extensions={"code": "BAD_REQUEST"})
    for name, value in (("first", first), ("last", last)):
        if value is not None and value > MAX_PAGE:
            raise GraphQLError(f"{name} cannot exceed {MAX_PAGE}", extensions={"code": "BAD_REQUEST"})
    start, end = 0, count
    if args.get("after") is not None:
        start = max(start, _index(args["after"]) + 1)
    if args.get("before") is not None:
        end = min(end, _index(args["before"]))
    end = max(start, end)
    if first is not None:
        end = min(end, start + max(first, 0))
    if last is not None:
        start = max(start, end - max(last, 0))
    return start, end


def connection(items: Sequence[T], args: dict[str, Any], view: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    ordered = list(reversed(items)) if args.get("reverse") else list(items)
    start, end = page_bounds(len(ordered), args)
    nodes = [view(item) for item in ordered[start:end]]
    edges = [{"cursor": _cursor(start + i), "node": node} for i, node in enumerate(nodes)]
    return {
        "nodes": nodes,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": end < len(ordered),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def plain_list(items: Sequence[T], first: int | None, view: Callable[[T], dict[str, Any]]) -> list[dict[str, Any]]:
    """Shopify's plain-list fields with a ``first`` argument (``Order.fulfillments``, ``refunds``, ...)."""
    chosen = items if first is None else items[: max(first, 0)]
    return [view(item) for item in chosen]
