"""Run the emulator on 127.0.0.1 inside the current asyncio loop (an ephemeral port unless one is given).

::

    async with ShopifyEmulator() as emu:
        emu.store.add_shop("demo.myshopify.com", access_token="shpat_test")
        url = emu.graphql_url("demo.myshopify.com", "2026-04")
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from engine.ingest.serve import AppServer

from .app import EmulatorState, create_app
from .cost import Bucket, Plan, plan_named
from .faults import Faults
from .schema import SUPPORTED_VERSIONS, load_schema
from .store import ShopifyStore


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
        self._server: AppServer | None = None
        self.base_url = ""

    async def start(self) -> str:
        """Start serving; returns the base URL (``http://127.0.0.1:<port>``)."""
        if self._server is not None:
            return self.base_url
        if self._preload:
            # Build the schemas off the loop once per process, so the first request is not a 3 s stall.
            await asyncio.gather(*(asyncio.to_thread(load_schema, v) for v in SUPPORTED_VERSIONS))
        self._server = AppServer(self.app, port=self._port)
        self.base_url = await self._server.start()
        return self.base_url

    async def stop(self) -> None:
        if self._server is None:
            return
        self.faults.clear()  # releases responses held by fault injection
        await self._server.stop()
        self._server = None

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
