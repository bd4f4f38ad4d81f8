"""Async Admin GraphQL client: one per shop, documents by operation name, errors classified for retries."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from opentelemetry.trace import Span, SpanKind

from engine.errors import (
    ShopifyRequestError,
    ShopifyThrottledError,
    ShopifyTransientError,
    ShopifyUserError,
)
from engine.shopify.documents import document
from engine.shopify.throttle import CostBudget
from engine.telemetry.instruments import budget_wait, shopify_call, tracer

if TYPE_CHECKING:
    from engine.settings import Settings


@dataclass(frozen=True)
class ShopConnection:
    domain: str
    api_version: str
    access_token: str
    endpoint: str  # base URL; `/admin/api/{version}/graphql.json` is appended

    @property
    def url(self) -> str:
        return f"{self.endpoint.rstrip('/')}/admin/api/{self.api_version}/graphql.json"

    def __repr__(self) -> str:  # never print the token
        return f"ShopConnection(domain={self.domain!r}, api_version={self.api_version!r}, endpoint={self.endpoint!r})"


class ShopifyClient:
    """``deadline`` (a ``time.monotonic()`` instant, or None for no limit) bounds how long a call may wait in
    place for the shop's cost budget or for THROTTLED to clear; beyond it the call raises
    ``ShopifyThrottledError`` with the wait as ``retry_after``, so the caller can come back later."""

    MAX_THROTTLED_RETRIES = 20

    def __init__(
        self,
        connection: ShopConnection,
        http: httpx.AsyncClient,
        budget: CostBudget | None = None,
        *,
        deadline: float | None = None,
    ) -> None:
        self.connection = connection
        self._http = http
        self._budget = budget or CostBudget()
        self._deadline = deadline
        self.last_cost: dict[str, Any] | None = None

    def _max_wait(self) -> float | None:
        return None if self._deadline is None else max(self._deadline - time.monotonic(), 0.0)

    async def execute(self, operation: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a named operation; returns `data`. Raises ShopifyTransientError / ShopifyRequestError.
        One span per call (`shopify <operation>`) with the shop, the cost asked and charged, what is left in the
        shop's bucket, the time spent waiting for the budget and the THROTTLED retries."""
        with tracer().start_as_current_span(f"shopify {operation}", kind=SpanKind.CLIENT) as span:
            span.set_attributes({"shopify.shop": self.connection.domain, "shopify.operation": operation})
            return await self._execute(operation, variables, span)

    async def _execute(self, operation: str, variables: dict[str, Any] | None, span: Span) -> dict[str, Any]:
        body = {"query": document(operation), "variables": variables or {}, "operationName": operation}
        headers = {"X-Shopify-Access-Token": self.connection.access_token, "Content-Type": "application/json"}
        shop = self.connection.domain
        waited, retries = 0.0, 0
        for _ in range(self.MAX_THROTTLED_RETRIES):
            wait, reserved = await self._budget.admit(shop, operation, self._max_wait())
            if reserved == 0.0 and wait > 0:
                span.set_attribute("shopify.budget_exhausted_s", wait)
                raise ShopifyThrottledError(f"{operation}: needs {wait:.1f}s more for the shop's cost budget", wait)
            waited += wait
            budget_wait(shop, wait)
            try:
                payload = await self._post(operation, body, headers)
            except BaseException:
                self._budget.release(shop, operation, reserved)
                raise
            self.last_cost = (payload.get("extensions") or {}).get("cost")
            errors = payload.get("errors")
            codes = {((e.get("extensions") or {}).get("code")) for e in errors or [] if isinstance(e, dict)}
            throttled = "THROTTLED" in codes
            self._budget.observe(shop, operation, reserved, self.last_cost, throttled=throttled)
            shopify_call(shop, operation, self.last_cost, throttled=throttled)
            _cost_attributes(span, self.last_cost, waited, retries)
            if throttled:
                retries += 1
                continue  # Shopify charged nothing; the next reservation waits for the deficit it reported
            if errors:
                if "INTERNAL_SERVER_ERROR" in codes:
                    raise ShopifyTransientError(f"{operation}: {errors[0].get('message')}")
                messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict)) or str(errors)
                raise ShopifyRequestError(f"{operation}: {messages}", errors)
            data: dict[str, Any] = payload.get("data") or {}
            return data
        raise ShopifyThrottledError(f"{operation}: THROTTLED {self.MAX_THROTTLED_RETRIES} times", 1.0)

    async def _post(self, operation: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self._http.post(self.connection.url, json=body, headers=headers)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise ShopifyTransientError(f"{operation}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            raise ShopifyThrottledError(f"{operation}: HTTP 429", float(retry_after) if retry_after else 1.0)
        if response.status_code >= 500:
            retry_after = response.headers.get("Retry-After")
            raise ShopifyTransientError(
                f"{operation}: HTTP {response.status_code}", float(retry_after) if retry_after else None
            )
        if response.status_code != 200:
            raise ShopifyRequestError(f"{operation}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            payload: dict[str, Any] = response.json()
        except ValueError as exc:
            raise ShopifyTransientError(f"{operation}: response is not JSON") from exc
        return payload

    async def mutate(self, operation: str, field: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run a mutation document and raise ShopifyUserError on the userErrors of any of its mutations (a document
        may send several, e.g. metafieldsSet and tagsAdd); returns the payload of `field`."""
        data = await self.execute(operation, variables)
        user_errors = [
            {**error, "mutation": root}
            for root, payload in data.items()
            if isinstance(payload, dict)
            for error in payload.get("userErrors") or []
        ]
        if user_errors:
            raise ShopifyUserError(operation, user_errors)
        result: dict[str, Any] = data.get(field) or {}
        return result


def _cost_attributes(span: Span, cost: dict[str, Any] | None, waited: float, retries: int) -> None:
    status = (cost or {}).get("throttleStatus") or {}
    values = {
        "shopify.cost.requested": (cost or {}).get("requestedQueryCost"),
        "shopify.cost.actual": (cost or {}).get("actualQueryCost"),
        "shopify.throttle.available": status.get("currentlyAvailable"),
        "shopify.throttle.maximum": status.get("maximumAvailable"),
        "shopify.budget_wait_s": round(waited, 3),
        "shopify.throttled_retries": retries,
    }
    span.set_attributes({k: v for k, v in values.items() if v is not None})


def shop_client(
    domain: str,
    api_version: str,
    *,
    settings: Settings,
    token_lookup: Callable[[str], str],
    http: httpx.AsyncClient,
    budget: CostBudget,
    deadline: float | None = None,
) -> ShopifyClient:
    """A client for one shop: its token from ``token_lookup``, its endpoint from settings (emulator or Shopify),
    the process's shared HTTP pool and cost budget."""
    connection = ShopConnection(
        domain=domain,
        api_version=api_version,
        access_token=token_lookup(domain),
        endpoint=settings.shopify_endpoint_for(domain),
    )
    return ShopifyClient(connection, http, budget, deadline=deadline)
