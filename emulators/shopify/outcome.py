"""What a mutation service hands back: the thing it made (or None) and Shopify-style user errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from graphql import GraphQLError

T = TypeVar("T")


@dataclass(frozen=True)
class UserError:
    """One entry of a payload's ``userErrors``; ``code`` is dropped for types without it (``UserError``)."""

    field: list[str] | None
    message: str
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "code": self.code}


@dataclass
class Outcome(Generic[T]):
    value: T | None = None
    errors: list[UserError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def top_level_error(message: str, code: str) -> GraphQLError:
    """An error that replaces the whole root field (``data.<root>: null``), like ``BAD_REQUEST``."""
    return GraphQLError(message, extensions={"code": code})


def invalid_id(value: str) -> GraphQLError:
    """Shopify's answer to a GID of the wrong type in a mutation argument (capture: reverse logistics)."""
    return top_level_error(f"Invalid id: {value}", "RESOURCE_NOT_FOUND")
