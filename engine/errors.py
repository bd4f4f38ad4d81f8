"""Every exception the engine raises on purpose, in one tree (the way httpx keeps `_exceptions.py`), so a caller
can catch by what it should do: fix the input, retry, or hold the return for a person.

    EngineError
    ├── ConfigError            the process lacks a setting (a token, a URL) or has a wrong one: say which
    ├── DefinitionError        a flow or mapping file is wrong (every problem, each at file:line:col)
    ├── PayloadError           a Rebound payload cannot become a canonical event (names the field)
    ├── AuthError              a push is not trusted (never says the secret)
    ├── ShopifyError
    │   ├── ShopifyTransientError    5xx, timeouts, lost connections: retry (same idempotency key)
    │   │   └── ShopifyThrottledError    the shop's cost budget: come back after `retry_after`
    │   ├── ShopifyRequestError      Shopify refused the request itself (auth, invalid document): do not retry
    │   └── ShopifyUserError         a mutation's userErrors: refused on its merits
    └── StepFailed             a flow step could not complete: the return is held in needs-attention
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.definitions.yamlfile import Problem


class EngineError(Exception):
    """Base of everything below."""


class ConfigError(EngineError, LookupError):
    """A setting the process needs is missing or wrong; the message names the variable to set."""


class DefinitionError(EngineError):
    """Raised with every problem found, never a bare traceback for bad input."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PayloadError(EngineError, ValueError):
    """The payload cannot become a canonical event; the message names the field."""


class AuthError(EngineError):
    """Why a push is not trusted (never includes the secret or the expected signature)."""


class ShopifyError(EngineError):
    """Talking to Shopify went wrong; the subclass says what the caller should do."""


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


class StepFailed(EngineError):
    """A step could not complete; the return is held for a person: the step by name (what overrides and drift
    read), the detail in words (what the person reads)."""

    def __init__(self, step: str, detail: str) -> None:
        self.step = step
        self.detail = detail
        super().__init__(detail)
