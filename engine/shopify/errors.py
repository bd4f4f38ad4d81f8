"""What can go wrong talking to Shopify, split by what the caller should do about it."""

from __future__ import annotations

from typing import Any


class ShopifyError(Exception):
    """Base class."""


class ShopifyTransientError(ShopifyError):
    """5xx, timeouts, connection errors, THROTTLED: retry with back-off (same idempotency key)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ShopifyThrottledError(ShopifyTransientError):
    """The shop's cost bucket cannot cover the request before the caller's deadline: come back after
    ``retry_after`` seconds. Nothing was executed."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, retry_after)


class ShopifyRequestError(ShopifyError):
    """Shopify refused the request itself (auth, invalid document, top-level errors): retrying will not help."""

    def __init__(self, message: str, errors: Any = None) -> None:
        super().__init__(message)
        self.errors = errors


class ShopifyUserError(ShopifyError):
    """A mutation's userErrors: the request was understood and refused on its merits."""

    def __init__(self, operation: str, user_errors: list[dict[str, Any]]) -> None:
        self.operation = operation
        self.user_errors = user_errors
        text = "; ".join(f"{'.'.join(map(str, e.get('field') or [])) or '-'}: {e.get('message')}" for e in user_errors)
        super().__init__(f"{operation}: {text}")
