"""Run the emulator on 127.0.0.1 inside the current asyncio loop (an ephemeral port unless one is given).

::

    async with ShopifyEmulator() as emu:
        emu.store.add_shop("demo.myshopify.com", access_token="shpat_test")
        url = emu.graphql_url("demo.myshopify.com", "2026-04")
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from types import TracebackType

import uvicorn

from .app import EmulatorState, create_app
from .cost import Bucket, Plan, plan_named
from .faults import Faults
from .schema import SUPPORTED_VERSIONS, load_schema
from .store import ShopifyStore


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the host process's signal handlers alone (it is not the main program)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ShopifyEmulator:
    def __init__(
        self,
        store: ShopifyStore | None = None,
        *,
        faults: Faults | None = None,
        port: int = 0,
        preload_schemas: bool = True,
    ) -> None:
        self.store = store or ShopifyStore()
        self.faults = faults or Faults()
        self.app = create_app(self.store, self.faults)
        self._port = port
        self._preload = preload_schemas
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.base_url = ""

    async def start(self) -> str:
        """Start serving; returns the base URL (``http://127.0.0.1:<port>``)."""
        if self._server is not None:
            return self.base_url
        if self._preload:
            # Build the schemas off the loop once per process, so the first request is not a 3 s stall.
            await asyncio.gather(*(asyncio.to_thread(load_schema, v) for v in SUPPORTED_VERSIONS))
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self._port, log_level="warning", lifespan="off")
        server = _EmbeddedServer(config)
        self._server = server
        self._task = asyncio.create_task(server.serve())
        while not server.started:
            if self._task.done():
                self._task.result()  # re-raise the startup error
                raise RuntimeError("Shopify emulator stopped during startup")
            await asyncio.sleep(0.01)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self.faults.clear()  # releases responses held by fault injection
        self._server.should_exit = True
        await self._task
        self._server = None
        self._task = None

    @property
    def state(self) -> EmulatorState:
        state: EmulatorState = self.app.state.emulator
        return state

    def set_plan(self, domain: str, plan: str | Plan) -> None:
        """The shop's Shopify plan: ``"standard"``, ``"advanced"``, ``"plus"`` or a ``Plan.custom(...)``."""
        self.state.set_plan(domain, plan_named(plan) if isinstance(plan, str) else plan)

    def bucket(self, domain: str) -> Bucket:
        """The shop's cost bucket (its ``throttled`` count, ``status()``)."""
        return self.state.bucket(domain)

    def graphql_url(self, domain: str, version: str) -> str:
        return f"{self.base_url}/shops/{domain}/admin/api/{version}/graphql.json"

    async def __aenter__(self) -> ShopifyEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
