"""The HTTP face of the emulator (Starlette).

* ``POST /shops/{shop}/admin/api/{version}/graphql.json`` - Admin GraphQL; ``X-Shopify-Access-Token`` auth.
  Unknown shop or version -> 404, bad token -> 401 (Shopify's bodies). JSON ``{query, variables,
  operationName}`` or an ``application/graphql`` body.
* ``/__emulator/...`` - JSON control endpoints mirroring the Python API (seed, inspect, reset, clock, faults):
  ``POST shops``, ``POST shops/{shop}/products``, ``POST shops/{shop}/orders`` (optional ``customerId``; the
  answer names the order's customer), ``POST shops/{shop}/refunds``,
  ``GET shops/{shop}/state``, ``POST reset``, ``POST clock``, ``GET|POST faults``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .cost import Bucket
from .executor import run_graphql
from .faults import Faults
from .schema import SUPPORTED_VERSIONS
from .store import OrderLineSeed, ShopifyStore

INVALID_TOKEN = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
NOT_FOUND = {"errors": "Not Found"}


class EmulatorState:
    """Everything the app serves from: the store, the faults and one rate-limit bucket per shop."""

    def __init__(self, store: ShopifyStore, faults: Faults) -> None:
        self.store = store
        self.faults = faults
        self.buckets: dict[str, Bucket] = {}
        self.enforce_max_cost = True  # Shopify refuses >1000-point queries; our documents stay well under

    def bucket(self, domain: str) -> Bucket:
        return self.buckets.setdefault(domain, Bucket())


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


async def _graphql(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    domain = request.path_params["shop"]
    version = request.path_params["version"]
    request_id = str(uuid.uuid4())
    headers = {"X-Request-Id": request_id}
    if not state.store.has_shop(domain) or version not in SUPPORTED_VERSIONS:
        return _json(NOT_FOUND, 404, headers)
    if request.headers.get("x-shopify-access-token") != state.store.shop(domain).access_token:
        return _json(INVALID_TOKEN, 401, headers)
    headers["X-Shopify-API-Version"] = version

    raw = await request.body()
    query: Any
    variables: Any = None
    operation_name: Any = None
    if request.headers.get("content-type", "").startswith("application/graphql"):
        query = raw.decode("utf-8", "replace")
    else:
        try:
            payload = json.loads(raw or b"null")
        except json.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict):
            payload = {}
        query, variables, operation_name = (
            payload.get("query"),
            payload.get("variables"),
            payload.get("operationName"),
        )
    if not isinstance(query, str) or not query.strip():
        return _json({"errors": {"query": "Required parameter missing or invalid"}}, 400, headers)
    if variables is not None and not isinstance(variables, dict):
        return _json({"errors": {"variables": "Required parameter missing or invalid"}}, 400, headers)

    fault = state.faults.before_execute()
    if fault == "error":
        return _json({"errors": "Service Unavailable"}, 503, headers)
    if fault == "timeout":
        await asyncio.sleep(state.faults.rates.timeout_seconds)
        return _json({"errors": "Gateway Timeout"}, 504, headers)

    reply = run_graphql(
        state.store,
        domain,
        version,
        state.bucket(domain),
        query,
        variables,
        operation_name if isinstance(operation_name, str) else None,
        enforce_max_cost=state.enforce_max_cost,
    )
    if reply.writes > 0:
        hold = state.faults.record_commit(operation_name if isinstance(operation_name, str) else None)
        if hold:
            await state.faults.hold(hold)
    if state.faults.after_commit(reply.writes > 0) == "lost_response":
        return _json({"errors": "Bad Gateway"}, 502, headers)
    return _json(reply.body, reply.status, headers)


# ---- control endpoints --------------------------------------------------------------------------------
Handler = Callable[[Request], Awaitable[Response]]


def _control(handler: Callable[[EmulatorState, Request, dict[str, Any]], Any]) -> Handler:
    """Wrap a control handler: JSON in, JSON out, ``ValueError``/``KeyError`` -> 400/404."""

    async def endpoint(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator
        body: dict[str, Any] = {}
        if request.method == "POST":
            raw = await request.body()
            body = json.loads(raw) if raw else {}
        try:
            result = handler(state, request, body)
        except KeyError as exc:
            return _json({"error": f"not found: {exc.args[0] if exc.args else exc}"}, 404)
        except (ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(result if result is not None else {"ok": True})

    return endpoint


def _create_shop(state: EmulatorState, _request: Request, body: dict[str, Any]) -> Any:
    state.store.add_shop(
        body["domain"],
        access_token=body["accessToken"],
        currency=body.get("currency", "GBP"),
        locations=[(loc["id"], loc["name"]) for loc in body.get("locations", [])],
    )
    state.buckets.pop(body["domain"], None)
    return {"domain": body["domain"]}


def _add_product(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    item_id = state.store.add_product(request.path_params["shop"], body["sku"], body.get("stock") or {})
    return {"inventoryItemId": item_id}


def _add_order(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    lines = [
        OrderLineSeed(
            sku=line["sku"],
            quantity=int(line["quantity"]),
            unit_price=Decimal(str(line["unitPrice"])),
            fulfilled=line.get("fulfilled"),
            title=line.get("title"),
        )
        for line in body["lines"]
    ]
    order_id = state.store.add_order(
        request.path_params["shop"],
        name=body["name"],
        lines=lines,
        processed_at=datetime.fromisoformat(body["processedAt"].replace("Z", "+00:00")),
        shipping=Decimal(str(body.get("shipping", "0"))),
        gateway=body.get("gateway", "shopify_payments"),
        currency=body.get("currency"),
        customer_id=body.get("customerId"),
    )
    customer_id = state.store.order_summary(request.path_params["shop"], order_id)["customer_id"]
    return {"orderId": order_id, "customerId": customer_id}


def _manual_refund(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    refund_id = state.store.refund_by_hand(
        request.path_params["shop"],
        body["orderId"],
        {sku: int(q) for sku, q in body.get("lines", {}).items()},
        Decimal(str(body["amount"])),
        body.get("note", ""),
    )
    return {"refundId": refund_id}


def _state(state: EmulatorState, request: Request, _body: dict[str, Any]) -> Any:
    return state.store.snapshot(request.path_params["shop"])


def _reset(state: EmulatorState, _request: Request, _body: dict[str, Any]) -> Any:
    state.store.reset()
    state.buckets.clear()
    state.faults.clear()
    return {"ok": True}


def _clock(state: EmulatorState, _request: Request, body: dict[str, Any]) -> Any:
    if body:
        state.store.clock.advance(
            hours=float(body.get("advanceHours", 0)), seconds=float(body.get("advanceSeconds", 0))
        )
    return {"now": state.store.clock.now().isoformat().replace("+00:00", "Z")}


def _faults(state: EmulatorState, _request: Request, body: dict[str, Any]) -> Any:
    if body.get("clear"):
        state.faults.clear()
    rates = {k: v for k, v in body.items() if k.endswith("_rate") or k == "timeout_seconds"}
    if rates or "seed" in body:
        state.faults.configure(seed=body.get("seed"), **rates)
    for kind in body.get("failNext", []):
        state.faults.fail_next(kind)
    return state.faults.describe()


def create_app(store: ShopifyStore | None = None, faults: Faults | None = None) -> Starlette:
    """A fresh app over ``store`` (a new empty one by default); ``app.state.emulator`` holds the state."""
    routes = [
        Route("/shops/{shop}/admin/api/{version}/graphql.json", _graphql, methods=["POST"]),
        Route("/__emulator/shops", _control(_create_shop), methods=["POST"]),
        Route("/__emulator/shops/{shop}/products", _control(_add_product), methods=["POST"]),
        Route("/__emulator/shops/{shop}/orders", _control(_add_order), methods=["POST"]),
        Route("/__emulator/shops/{shop}/refunds", _control(_manual_refund), methods=["POST"]),
        Route("/__emulator/shops/{shop}/state", _control(_state), methods=["GET"]),
        Route("/__emulator/reset", _control(_reset), methods=["POST"]),
        Route("/__emulator/clock", _control(_clock), methods=["GET", "POST"]),
        Route("/__emulator/faults", _control(_faults), methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = EmulatorState(store or ShopifyStore(), faults or Faults())
    return app
