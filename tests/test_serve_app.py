"""`returns serve`'s app: liveness says the process serves; readiness says whether a push can be handed off
durably, naming what is missing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette
from temporalio.testing import WorkflowEnvironment

from engine.ingest.app import PushFastPath, create_app, push_brand
from engine.settings import Settings


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    served = create_app(settings)
    app = served.app if isinstance(served, PushFastPath) else served
    assert isinstance(app, Starlette)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=served)
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


def test_a_push_path_names_its_brand_as_the_route_does() -> None:
    assert push_brand("/rebound/castore/events") == "castore"
    assert [push_brand(p) for p in ("/rebound//events", "/rebound/a/b/events", "/rebound/castore", "/healthz")] == [
        None, None, None, None]  # fmt: skip


async def test_pushes_take_the_fast_path_and_everything_else_the_app(tmp_path: Path) -> None:
    """The receiver answers a push itself (a stranger's: 401, nothing stored); a method the route does not take and
    an unknown path are Starlette's answers, as before the fast path."""
    async with serving(Settings(temporal_address="127.0.0.1:1", data_dir=tmp_path)) as (app, http):
        stranger = await http.post("/rebound/castore/events", content=b"{}")
        assert stranger.status_code == 401, stranger.text
        assert await app.state.store.list() == []
        assert (await http.get("/rebound/castore/events")).status_code == 405
        assert (await http.post("/rebound/castore/other")).status_code == 404
