"""The HTTP face of the emulator (Starlette).

* ``POST /shops/{shop}/admin/api/{version}/graphql.json`` - Admin GraphQL; ``X-Shopify-Access-Token`` auth.
  Unknown shop or version -> 404, bad token -> 401 (Shopify's bodies). JSON ``{query, variables,
  operationName}`` or an ``application/graphql`` body.
* ``/__emulator/...`` - JSON control endpoints mirroring the Python API (seed, inspect, reset, clock, faults):
  ``POST shops``, ``POST shops/{shop}/products`` (optional ``price``, shop money), ``POST shops/{shop}/orders``
  (optional ``customerId``; the answer names the order's customer), ``POST shops/{shop}/refunds``,
  ``POST shops/{shop}/exchange-payments`` (``{"orderId": ..., "gateway"?}``: the customer pays what their exchanges
  left them owing; answers ``{"paid": "12.5"}``),
  ``GET shops/{shop}/state``, ``GET|POST shops/{shop}/plan`` (``{"plan": "plus"}`` or ``{"plan":
  {"restoreRate": 50, "maximumAvailable": 200}}``; answers the bucket's status and THROTTLED count),
  ``POST reset``, ``POST clock``, ``GET|POST faults`` (rates ``<kind>_rate``, ``perOperation: {name: {...}}``,
  ``failNext: [kind | {kind, operation}]``, ``timeout_seconds``, ``slow_seconds``; see ``faults``).
* ``GET /__emulator/bulk/{shop}/{number}.jsonl`` - a completed bulk operation's JSONL (its ``url``; see ``bulk``).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import bulk
from .cost import STANDARD, Bucket, Plan, plan_named
from .executor import run_graphql
from .faults import HTTP_BODY, HTTP_STATUS, Faults
from .model import STAFF_MEMBER_ID
from .money import format_amount
from .return_processing import process_return
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
        self.plans: dict[str, Plan] = {}
        self.enforce_max_cost = True  # Shopify refuses >1000-point queries; our documents stay well under

    def bucket(self, domain: str) -> Bucket:
        bucket = self.buckets.get(domain)
        if bucket is None:
            bucket = self.buckets[domain] = Bucket(self.plans.get(domain, STANDARD))
        return bucket

    def set_plan(self, domain: str, plan: Plan) -> None:
        """The shop's plan (its bucket); a plan change keeps what the bucket holds, capped at the new size."""
        self.plans[domain] = plan
        if domain in self.buckets:
            self.buckets[domain].set_plan(plan)


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

    try:
        raw = await request.body()
    except ClientDisconnect:  # the caller went away mid-request (a worker killed): nothing was executed
        return Response(status_code=499)
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

    operation = operation_name if isinstance(operation_name, str) else _only_operation_name(query)
    bulk.request_base_url.set(str(request.base_url))  # bulk results are served from this emulator
    fault = state.faults.before_execute(operation)
    if fault in HTTP_STATUS:
        status = HTTP_STATUS[fault]
        return _json({"errors": HTTP_BODY[status]}, status, headers)
    if fault == "timeout":
        await state.faults.hold(state.faults.timeout_seconds)
        return _json({"errors": HTTP_BODY[504]}, 504, headers)
    if fault == "connect_timeout":
        await state.faults.hold(state.faults.timeout_seconds)
        return _DroppedConnection()
    if fault in ("manual_refund", "app_refund"):
        _refund_first(state, domain, variables, by_app=fault == "app_refund")

    reply = run_graphql(
        state.store,
        domain,
        version,
        state.bucket(domain),
        query,
        variables,
        operation,
        enforce_max_cost=state.enforce_max_cost,
        throttle=fault == "throttled",
    )
    if reply.writes > 0:
        hold = state.faults.record_commit(operation)
        if hold:
            await state.faults.hold(hold)
    after = state.faults.after_commit(reply.writes > 0, operation)
    if after == "lost_response":
        return _json({"errors": HTTP_BODY[502]}, 502, headers)
    if after == "http_500_after_commit":
        return _json({"errors": HTTP_BODY[500]}, 500, headers)
    if after == "read_timeout":
        await state.faults.hold(state.faults.timeout_seconds)
        return _json({"errors": HTTP_BODY[504]}, 504, headers)
    if after == "slow":
        await state.faults.hold(state.faults.slow_seconds)
    return _json(reply.body, reply.status, headers)


def _only_operation_name(query: str) -> str | None:
    """Without ``operationName`` Shopify runs a document's only operation: faults aimed at an operation name apply
    to it too. None for an anonymous operation, several operations or a document that does not parse."""
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) == 1 and operations[0].name is not None:
        return operations[0].name.value
    return None


class _DroppedConnection(Response):
    """Start a response and never finish it: the server closes the connection, the client gets no answer."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
        raise ConnectionAbortedError("fault injection: connection dropped")


def _refund_first(state: EmulatorState, domain: str, variables: Any, *, by_app: bool) -> None:
    """Someone else refunds first: a staff member in the admin, or Rebound's own app. Before a
    ``refundCreate``: the same lines and amount it is about to refund (the narrowest race). Before a
    ``returnProcess`` (``input.returnId``): the same processing (lines, dispositions aside, and its refund) done in
    the admin, so the return's lines are processed and its refund is theirs (``staffMember`` set for a person).
    Before any other request about an order (``$id`` an Order gid, e.g. the refund step's read, or a Return gid:
    its order): everything still refundable on that order, for what is still paid."""
    refund_input = (variables or {}).get("input") or {}
    shop = state.store.shop(domain)
    note = "Refunded by the ReBound app" if by_app else "Refunded by staff in the Shopify admin"
    if refund_input.get("returnId"):
        process = {**refund_input, "note": note}
        process["returnLineItems"] = [
            {"id": item.get("id"), "quantity": item.get("quantity")}
            for item in refund_input.get("returnLineItems") or []
        ]
        staff = None if by_app else STAFF_MEMBER_ID
        with contextlib.suppress(ValueError, KeyError, GraphQLError):  # not processable: ours meets the same rules
            process_return(state.store, shop, process, staff_member_id=staff)
        return
    if not refund_input:
        order_id = str((variables or {}).get("id") or "")
        if order_id in shop.returns:
            order_id = shop.returns[order_id].order_id
        if order_id not in shop.orders:
            return
        summary = state.store.order_summary(domain, order_id)
        everything = {sku: qty for sku, qty in summary["refundable"].items() if qty > 0}
        if everything:
            with contextlib.suppress(ValueError):
                state.store.refund_by_hand(
                    domain, order_id, everything, Decimal(summary["net_payment"]), note=note, by_app=by_app
                )
        return
    order = shop.orders.get(str(refund_input.get("orderId")))
    if order is None:
        return
    skus = {li.id: li.sku for li in order.line_items}
    lines: dict[str, int] = {}
    for line in refund_input.get("refundLineItems") or []:
        sku = skus.get(line.get("lineItemId"))
        if sku:
            lines[sku] = lines.get(sku, 0) + int(line.get("quantity") or 0)
    amount = sum((Decimal(str(t.get("amount") or 0)) for t in refund_input.get("transactions") or []), Decimal(0))
    for method in refund_input.get("refundMethods") or []:
        amount += Decimal(str(((method.get("storeCreditRefund") or {}).get("amount") or {}).get("amount") or 0))
    with contextlib.suppress(ValueError):  # nothing left to refund by hand: ours will meet the same rules
        state.store.refund_by_hand(domain, order.id, lines, amount, note=note, by_app=by_app)


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
    if body.get("plan"):
        state.set_plan(body["domain"], _plan(body["plan"]))
    return {"domain": body["domain"]}


def _plan(spec: Any) -> Plan:
    """``"standard"``/``"advanced"``/``"plus"``, or ``{"restoreRate": n, "maximumAvailable": m}``."""
    if isinstance(spec, str):
        return plan_named(spec)
    return Plan.custom(int(spec["restoreRate"]), int(spec["maximumAvailable"]))


def _shop_plan(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    domain = request.path_params["shop"]
    state.store.shop(domain)
    if request.method == "POST":
        state.set_plan(domain, _plan(body.get("plan", body)))
    bucket = state.bucket(domain)
    bucket.refill()
    return {"plan": bucket.plan.name, "throttleStatus": bucket.status(), "throttled": bucket.throttled}


def _add_product(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    price = body.get("price")
    item_id = state.store.add_product(
        request.path_params["shop"], body["sku"], body.get("stock") or {}, price=None if price is None else str(price)
    )
    return {"inventoryItemId": item_id}


def _pay_exchange(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    paid = state.store.pay_exchange_balance(
        request.path_params["shop"], body["orderId"], gateway=body.get("gateway") or "shopify_payments"
    )
    return {"paid": format_amount(paid)}


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
    state.plans.clear()
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
    settings = ("timeout_seconds", "slow_seconds")
    rates = {k: v for k, v in body.items() if k.endswith("_rate") or k in settings}
    if rates or "seed" in body:
        state.faults.configure(seed=body.get("seed"), **rates)
    for operation, op_rates in (body.get("perOperation") or {}).items():
        state.faults.configure(operation=operation, **op_rates)
    for kind in body.get("failNext", []):
        if isinstance(kind, dict):
            state.faults.fail_next(kind["kind"], operation=kind.get("operation", "*"))
        else:
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
        Route("/__emulator/shops/{shop}/exchange-payments", _control(_pay_exchange), methods=["POST"]),
        Route("/__emulator/shops/{shop}/state", _control(_state), methods=["GET"]),
        Route("/__emulator/shops/{shop}/plan", _control(_shop_plan), methods=["GET", "POST"]),
        Route("/__emulator/reset", _control(_reset), methods=["POST"]),
        Route("/__emulator/clock", _control(_clock), methods=["GET", "POST"]),
        Route("/__emulator/faults", _control(_faults), methods=["GET", "POST"]),
        Route("/__emulator/bulk/{shop}/{number}.jsonl", bulk.download, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = EmulatorState(store or ShopifyStore(), faults or Faults())
    return app
