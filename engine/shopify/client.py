"""Async Admin GraphQL client: one per shop, documents by operation name, errors classified for retries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from engine.shopify.documents import document
from engine.shopify.errors import ShopifyRequestError, ShopifyTransientError, ShopifyUserError
from engine.shopify.throttle import CostBudget


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
    def __init__(self, connection: ShopConnection, http: httpx.AsyncClient, budget: CostBudget | None = None) -> None:
        self.connection = connection
        self._http = http
        self._budget = budget or CostBudget()
        self.last_cost: dict[str, Any] | None = None

    async def execute(self, operation: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a named operation; returns `data`. Raises ShopifyTransientError / ShopifyRequestError."""
        body = {"query": document(operation), "variables": variables or {}, "operationName": operation}
        headers = {"X-Shopify-Access-Token": self.connection.access_token, "Content-Type": "application/json"}
        wait = await self._budget.acquire(self.connection.domain, operation)
        if wait:
            raise ShopifyTransientError(f"{operation}: waiting {wait:.1f}s for the shop's cost budget", wait)
        try:
            response = await self._http.post(self.connection.url, json=body, headers=headers)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise ShopifyTransientError(f"{operation}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = response.headers.get("Retry-After")
            raise ShopifyTransientError(
                f"{operation}: HTTP {response.status_code}", float(retry_after) if retry_after else None
            )
        if response.status_code != 200:
            raise ShopifyRequestError(f"{operation}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise ShopifyTransientError(f"{operation}: response is not JSON") from exc
        self.last_cost = (payload.get("extensions") or {}).get("cost")
        throttled_for = self._budget.observe(self.connection.domain, operation, self.last_cost)
        errors = payload.get("errors")
        if errors:
            codes = {((e.get("extensions") or {}).get("code")) for e in errors if isinstance(e, dict)}
            if "THROTTLED" in codes:
                raise ShopifyTransientError(f"{operation}: THROTTLED", throttled_for)
            if "INTERNAL_SERVER_ERROR" in codes:
                raise ShopifyTransientError(f"{operation}: {errors[0].get('message')}")
            messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict)) or str(errors)
            raise ShopifyRequestError(f"{operation}: {messages}", errors)
        data: dict[str, Any] = payload.get("data") or {}
        return data

    async def mutate(self, operation: str, field: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run a mutation and raise ShopifyUserError on userErrors; returns the mutation's payload."""
        data = await self.execute(operation, variables)
        result: dict[str, Any] = data.get(field) or {}
        user_errors = result.get("userErrors") or []
        if user_errors:
            raise ShopifyUserError(operation, user_errors)
        return result
