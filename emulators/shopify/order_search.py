"""The ``orders(query:)`` search: Shopify's search syntax (shopify.dev "API search syntax") over the few order
fields the engine searches by, and ``Order.returnStatus`` (which the ``return_status`` filter reads).

Syntax: terms separated by spaces must all match (an implicit ``AND``, which may also be written); ``OR`` between
terms matches either (``AND`` binds tighter: ``a b OR c`` is ``(a b) OR c``); parentheses group; ``NOT`` or a
leading ``-`` negates a term. A term is ``field:value`` (the value bare, ``'single'`` or ``"double"`` quoted) or a
bare value.

Fields (the orders query's own filters, as its ``query`` argument describes them):

* ``name`` - the order's name, ``#`` optional, case-insensitive; a bare value is searched as a name (the default
  search reads several fields; an order's name is the one the engine gives it).
* ``tag`` - one of the order's tags, case-insensitive; ``tag_not`` - none of them is.
* ``return_status`` - ``Order.returnStatus`` lower-cased: ``return_requested``, ``in_progress``,
  ``inspection_complete``, ``returned``, ``return_failed``, ``no_return``.

A field the emulator does not implement is a GraphQL error naming it, rather than a silent match or non-match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from graphql import GraphQLError

from .model import Order, Shop

# Order.returnStatus from its returns' statuses, the first that applies (the recorded lifecycle,
# orders__order-return-status-lifecycle: a requested return shows over an open one, an open one over a closed
# one; declined and canceled returns count as none).
_RETURN_STATUS = (("REQUESTED", "RETURN_REQUESTED"), ("OPEN", "IN_PROGRESS"), ("CLOSED", "RETURNED"))


def return_status(shop: Shop, order: Order) -> str:
    statuses = {shop.returns[r].status for r in order.return_ids}
    return next((result for status, result in _RETURN_STATUS if status in statuses), "NO_RETURN")


_TOKEN = re.compile(
    r"""\s*(?:(\()|(\))|(-?[A-Za-z_][A-Za-z0-9_.]*:(?:"[^"]*"|'[^']*'|[^\s()]*)|"[^"]*"|'[^']*'|[^\s()]+))"""
)


def _tokens(query: str) -> list[str]:
    out: list[str] = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            break
        out.append(next(g for g in match.groups() if g is not None))
        position = match.end()
    return out


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


Predicate = Callable[[Order], bool]


@dataclass
class _Parser:
    tokens: list[str]
    shop: Shop
    position: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def any_of(self) -> Predicate:
        options = [self.all_of()]
        while self.peek() == "OR":
            self.take()
            options.append(self.all_of())
        return options[0] if len(options) == 1 else (lambda o: any(p(o) for p in options))

    def all_of(self) -> Predicate:
        terms: list[Predicate] = []
        while (token := self.peek()) is not None and token not in ("OR", ")"):
            if token == "AND":
                self.take()
                continue
            terms.append(self.unary())
        return lambda o: all(p(o) for p in terms)

    def unary(self) -> Predicate:
        token = self.take()
        if token == "NOT":
            inner = self.unary()
            return lambda o: not inner(o)
        if token == "(":
            inner = self.any_of()
            if self.peek() == ")":
                self.take()
            return inner
        if token.startswith("-") and ":" in token:
            inner = self.term(token[1:])
            return lambda o: not inner(o)
        return self.term(token)

    def term(self, token: str) -> Predicate:
        field, sep, raw = token.partition(":")
        if not sep or field.startswith(("'", '"')):
            return _name(_unquote(token))
        value = _unquote(raw)
        if field == "name":
            return _name(value)
        if field in ("tag", "tag_not"):
            wanted = value.lower()

            def tagged(o: Order) -> bool:
                return wanted in (t.lower() for t in o.tags)

            return tagged if field == "tag" else (lambda o: not tagged(o))
        if field == "return_status":
            shop, wanted = self.shop, value.upper()
            return lambda o: return_status(shop, o) == wanted
        raise GraphQLError(f"The Shopify emulator does not implement the orders search field '{field}'.")


def _name(value: str) -> Predicate:
    wanted = value.lstrip("#").lower()
    return lambda o: o.name.lstrip("#").lower() == wanted


def matching(shop: Shop, orders: list[Order], query: str | None) -> list[Order]:
    """The orders the search ``query`` selects, in the order given (no query: all of them)."""
    if not query or not query.strip():
        return orders
    parser = _Parser(_tokens(query), shop)
    predicate = parser.any_of()
    return [o for o in orders if predicate(o)]
