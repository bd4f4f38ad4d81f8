"""`returns serve`'s app: liveness says the process serves; readiness says whether a push can be handed off
durably, naming what is missing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette
from temporalio.testing import WorkflowEnvironment

from engine.ingest.app import create_app
from engine.settings import Settings


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
            yield app, http


async def test_readiness_fails_while_temporal_is_unreachable_and_liveness_still_answers(tmp_path: Path) -> None:
    async with serving(Settings(temporal_address="127.0.0.1:1", data_dir=tmp_path)) as (_, http):
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        [problem] = ready.json()["problems"]
        assert problem.startswith("temporal: ") and "127.0.0.1:1" in problem and "refused" in problem, problem


async def test_readiness_fails_when_the_event_store_is_gone(
    temporal_env: WorkflowEnvironment, postgres_url: str
) -> None:
    address = temporal_env.client.service_client.config.target_host
    async with serving(Settings(temporal_address=address, database_url=postgres_url)) as (app, http):
        assert (await http.get("/readyz")).json() == {"status": "ready"}
        await app.state.store.close()  # the database goes away under the receiver
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        [problem] = ready.json()["problems"]
        assert problem.startswith("event store: ") and "closed" in problem, problem
