"""The push receiver as a production ASGI app (`returns serve`): built from the environment when the server
starts, with liveness and readiness for the load balancer or orchestrator in front of it.

`GET /healthz` answers 200 while the process serves. `GET /readyz` answers 200 only when Temporal and the event
store both answer (503 and which one did not, otherwise): a receiver that cannot hand pushes off durably should
get no traffic. Temporal is connected lazily, so the receiver starts (and holds pushes as `failed`, replayable)
even while Temporal is still coming up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from engine.ingest.receiver import Receiver
from engine.ingest.store import EventStore, open_event_store
from engine.registry.client import ActiveMappings
from engine.registry.flows import ActiveFlows
from engine.settings import Settings
from engine.telemetry.setup import configure
from engine.temporal.connection import connect

# uvicorn's own logger: `returns serve` prints its start-up line in the server's log format.
log = logging.getLogger("uvicorn.error")
READY_TIMEOUT_SECONDS = 3.0


async def temporal_ready(client: Client) -> None:
    await client.workflow_service.get_system_info(
        GetSystemInfoRequest(), timeout=timedelta(seconds=READY_TIMEOUT_SECONDS)
    )


async def _check(name: str, probe: Awaitable[None]) -> str | None:
    try:
        await asyncio.wait_for(probe, READY_TIMEOUT_SECONDS)
    except Exception as exc:
        return f"{name}: {type(exc).__name__}: {exc}"[:300]
    return None


async def readiness(client: Client, store: EventStore) -> list[str]:
    """What is not ready (empty when everything is)."""
    checks = await asyncio.gather(_check("temporal", temporal_ready(client)), _check("event store", store.ping()))
    return [problem for problem in checks if problem]


async def _healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _readyz(request: Request) -> JSONResponse:
    state = request.app.state
    problems = await readiness(state.client, state.store)
    if problems:
        return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


async def _push(request: Request) -> JSONResponse:
    receiver: Receiver = request.app.state.receiver
    return await receiver.endpoint(request)


PUSH_PREFIX, PUSH_SUFFIX = "/rebound/", "/events"


def push_brand(path: str) -> str | None:
    """The brand of a push's path, `/rebound/{brand}/events` as the route declares it (None: not a push's path)."""
    if not (path.startswith(PUSH_PREFIX) and path.endswith(PUSH_SUFFIX)):
        return None
    brand = path[len(PUSH_PREFIX) : -len(PUSH_SUFFIX)]
    return brand if brand and "/" not in brand else None


class PushFastPath:
    """Pushes straight to the receiver, around Starlette's router and its two middlewares: they cost about a tenth of
    a push's CPU and the receiver needs none of them (it answers every refusal itself). Everything else (health,
    readiness, the lifespan, a push with a method the route does not take) goes to the Starlette app as before, and
    with tracing on every request does (the OpenTelemetry middleware sits in Starlette's stack)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        brand = push_brand(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if brand is None:
            await self.app(scope, receive, send)
            return
        scope["app"], scope["path_params"] = self.app, {"brand": brand}
        response: Response
        try:
            response = await _push(Request(scope, receive))
        except Exception:  # as Starlette's ServerErrorMiddleware does: a 500, the traceback in the server's log
            log.exception("push to %s failed", scope["path"])
            response = PlainTextResponse("Internal Server Error", status_code=500)
        await response(scope, receive, send)


def _engine_logs_beside_uvicorn() -> None:
    """The receiver's own lines (a refused request and why, a held push) in the server's log, at its level."""
    engine = logging.getLogger("engine")
    server = logging.getLogger("uvicorn")  # uvicorn's configuration puts its handler here
    if not engine.handlers and server.handlers:
        for handler in server.handlers:
            engine.addHandler(handler)
        engine.setLevel(log.getEffectiveLevel())
        engine.propagate = False


def create_app(settings: Settings | None = None) -> ASGIApp:
    """The app uvicorn serves; each worker process calls it once and connects on startup. With telemetry on, each
    request is a span (OpenTelemetry's ASGI instrumentation) and the root of its push's trace."""
    telemetry = configure("rebound-returns-serve")
    _engine_logs_beside_uvicorn()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        conf = settings or Settings.from_env()
        await telemetry.start()
        client = await connect(conf, lazy=True, telemetry=telemetry)
        store = await open_event_store(conf.event_store_url)
        app.state.client = client
        app.state.store = store
        app.state.receiver = Receiver(
            client=client,
            flows=ActiveFlows(client).get,
            mappings=ActiveMappings(client).get,
            store=store,
            task_queue=conf.task_queue,
        )
        log.info("receiver ready: Temporal %s (%s), events in %s", conf.temporal_address, conf.namespace,
                 store.url_for_humans)  # fmt: skip
        try:
            yield
        finally:  # uvicorn has finished the requests in flight before it gets here
            await app.state.receiver.drain()
            await store.close()
            await telemetry.shutdown()

    app = Starlette(
        routes=[
            Route("/rebound/{brand}/events", _push, methods=["POST"]),
            Route("/healthz", _healthz, methods=["GET"]),
            Route("/readyz", _readyz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    if telemetry.tracing:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        app.add_middleware(OpenTelemetryMiddleware)
        return app
    return PushFastPath(app)
