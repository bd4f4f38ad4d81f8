"""HTTP receiver for Rebound pushes: authenticate, check, translate, hand to Temporal, and only then say 2xx.

Starlette + uvicorn: a small, typed, well-kept ASGI stack (the same one the emulators use). Status codes:
202 accepted (the event is with Temporal), 200 duplicate / ignored status / late (return already finished),
401 bad authentication, 400 not JSON, 413 too large, 422 schema or mapping violation, 404 unknown brand,
503 Temporal (or the mapping registry) unreachable. Everything that is not accepted is held in the store,
raw, for `returns events replay`; nothing acknowledged is lost.
"""

import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.client import Client

from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.definitions.schema_check import load_schema
from engine.ingest.signatures import AuthError, AuthPolicy, secret_env_name, verify
from engine.ingest.store import EventStore
from engine.rebound.translate import PayloadError, translate
from engine.registry.client import NoDeployedMapping
from engine.temporal.starter import deliver

MAX_BODY = 512 * 1024
log = logging.getLogger("engine.ingest")

MappingLookup = Callable[[str], Awaitable[MappingDef]]


@dataclass
class Outcome:
    http_status: int
    body: dict[str, Any]
    held_id: int | None = None


def env_secret(brand: str) -> str | None:
    return os.environ.get(secret_env_name(brand))


class Receiver:
    def __init__(
        self,
        *,
        client: Client,
        flow: FlowDef,
        mappings: MappingLookup,
        store: EventStore,
        task_queue: str,
        policy: AuthPolicy | None = None,
        secrets: Callable[[str], str | None] = env_secret,
        start_options: dict[str, object] | None = None,
        source: str = "push",
    ) -> None:
        self.client = client
        self.flow = flow
        self.mappings = mappings
        self.store = store
        self.task_queue = task_queue
        self.policy = policy or AuthPolicy.from_env()
        self.secrets = secrets
        self.start_options = start_options
        self.source = source
        self._validator = Draft7Validator(load_schema("rebound-push.schema.json"))

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/rebound/{brand}/events", self._endpoint, methods=["POST"])])

    async def _endpoint(self, request: Request) -> JSONResponse:
        brand = request.path_params["brand"]
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        outcome = await self.ingest(brand, headers, body)
        return JSONResponse(outcome.body, status_code=outcome.http_status)

    def _hold(self, brand: str, status: int, reason: str, headers: dict[str, str], body: bytes, *,
              authenticated: bool, kind: str = "rejected", event_id: str | None = None) -> Outcome:  # fmt: skip
        held = self.store.hold(
            brand=brand, status=kind, http_status=status, reason=reason, headers=headers, body=body,
            authenticated=authenticated, event_id=event_id,
        )  # fmt: skip
        log.warning("held push %s for %s: %s %s", held, brand, status, reason)
        return Outcome(status, {"status": kind, "reason": reason, "held_id": held}, held)

    async def ingest(self, brand: str, headers: dict[str, str], body: bytes, *, authenticated: bool = False) -> Outcome:
        """The whole pipeline; `authenticated=True` only for replays of pushes that passed auth on receipt."""
        headers = {k.lower(): v for k, v in headers.items()}
        if len(body) > MAX_BODY:
            return self._hold(brand, 413, f"body larger than {MAX_BODY} bytes", headers, body[:MAX_BODY],
                              authenticated=False)  # fmt: skip
        if not authenticated:
            secret = self.secrets(brand)
            if secret is None:
                return self._hold(brand, 404, f"unknown brand {brand!r} (no secret configured)", headers, body,
                                  authenticated=False)  # fmt: skip
            try:
                verify(self.policy, secret, headers, body, time.time())
            except AuthError as err:
                return self._hold(brand, 401, f"authentication failed: {err}", headers, body, authenticated=False)
        try:
            mapping = await self.mappings(brand)
        except NoDeployedMapping:
            return self._hold(brand, 404, f"unknown brand {brand!r} (no deployed mapping)", headers, body,
                              authenticated=True)  # fmt: skip
        except Exception as exc:  # the registry lives in Temporal: Temporal is unreachable
            return self._hold(brand, 503, f"mapping registry unreachable: {type(exc).__name__}: {exc}", headers,
                              body, authenticated=True, kind="failed")  # fmt: skip
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._hold(brand, 400, f"not JSON: {exc}", headers, body, authenticated=True)
        errors = list(self._validator.iter_errors(payload))
        if errors:
            error = best_match(errors)
            where = "/".join(str(p) for p in error.absolute_path) or "<payload>"
            return self._hold(brand, 422, f"schema: {where}: {error.message}", headers, body, authenticated=True)
        try:
            translation = translate(payload, mapping, source=self.source)
        except PayloadError as exc:
            return self._hold(brand, 422, f"mapping: {exc}", headers, body, authenticated=True)
        event = translation.event
        if event is None:
            return Outcome(200, {"status": "ignored", "reason": f"status {translation.status!r} is ignored"})
        if self.store.accepted(event.event_id):
            return Outcome(200, {"status": "duplicate", "event_id": event.event_id})
        try:
            delivery = await deliver(self.client, event, flow=self.flow, mapping=mapping, task_queue=self.task_queue,
                                     start_options=self.start_options)  # fmt: skip
        except Exception as exc:  # Temporal unreachable or overloaded: keep it, say so
            return self._hold(brand, 503, f"Temporal unavailable: {type(exc).__name__}: {exc}", headers, body,
                              authenticated=True, kind="failed", event_id=event.event_id)  # fmt: skip
        self.store.mark_accepted(event.event_id, brand, delivery.workflow_id)
        if not delivery.accepted:
            outcome = self._hold(brand, 200, delivery.detail, headers, body, authenticated=True, kind="late",
                                 event_id=event.event_id)  # fmt: skip
            return outcome
        return Outcome(202, {"status": "accepted", "event_id": event.event_id, "workflow_id": delivery.workflow_id})

    async def replay(self, held_id: int) -> Outcome:
        held = self.store.get(held_id)
        if held is None:
            return Outcome(404, {"status": "missing", "reason": f"no held event {held_id}"})
        if held.status == "replayed":
            return Outcome(409, {"status": "replayed", "reason": f"already replayed: {held.replay_result}"})
        if not held.authenticated:
            reason = "never authenticated (bad signature or unknown brand): ask Rebound to resend it"
            self.store.note_replay_attempt(held_id, reason)
            return Outcome(403, {"status": "refused", "reason": reason})
        outcome = await self.ingest(held.brand, held.headers, held.body, authenticated=True)
        result = f"{outcome.http_status} {outcome.body.get('status')}"
        if outcome.http_status in (200, 202):
            self.store.mark_replayed(held_id, result)
        else:
            self.store.note_replay_attempt(held_id, result)
        return outcome
