"""HTTP receiver for Rebound pushes: authenticate, check, translate, hand to Temporal, and only then say 2xx.

Starlette + uvicorn: a small, typed, well-kept ASGI stack (the same one the emulators use). Status codes:
202 accepted (the event is with Temporal), 200 duplicate / ignored status / late (return already finished),
401 not authenticated (a wrong or missing signature, a stale timestamp, or a brand with no secret: the answer is
the same, so it tells a stranger nothing about which brands exist), 404 not a brand name, 413 too large,
429 too many requests (Retry-After), 400 not JSON (or too deeply nested), 422 schema or mapping violation,
404 a brand with a secret but no deployed mapping, 503 Temporal (or the mapping registry, or the event store)
unreachable, or the same event in another receiver's hands this moment (Retry-After).

Nothing a stranger sends is stored: refusals before authentication are answered, counted
(`receiver.refused`, by reason) and logged. Every *authenticated* push that is not accepted is held in the store,
raw, for `returns events replay`; nothing acknowledged is lost.
"""

import asyncio
import logging
import math
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from secrets import token_hex
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.client import Client

from engine.brands import secret_env_name, valid_brand
from engine.definitions.fast_schema import compile_schema
from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.definitions.schema_check import load_schema
from engine.errors import AuthError, PayloadError
from engine.ingest.limits import Limits, RateLimiter
from engine.ingest.payload import parse_push
from engine.ingest.signatures import AuthPolicy, verify
from engine.ingest.store import Claimed, EventStore, HeldStatus, NewHeld
from engine.rebound.translate import translate
from engine.registry.client import NoDeployedMapping
from engine.registry.flows import NoDeployedFlow
from engine.settings.environment import env_value
from engine.telemetry.instruments import annotate, push_refused, tracer
from engine.workers.starter import deliver
from engine.workflow.messages import workflow_id

RUNNING_CACHE = 100_000  # running returns remembered per process (about 10 MB): pushes to them skip the start input
log = logging.getLogger("engine.ingest")

MappingLookup = Callable[[str], Awaitable[MappingDef]]
FlowLookup = Callable[[str], Awaitable[FlowDef]]


Refusal = tuple[str, int, str]  # (reason counted in receiver.refused, HTTP status, what the answer says)
NOT_FOUND: Refusal = ("not_found", 404, "not found")


class StoreUnavailable(Exception):
    """The event store could not be written: nothing is acknowledged, so the sender retries."""


@dataclass
class Outcome:
    http_status: int
    body: dict[str, Any]
    held_id: int | None = None
    retry_after: int | None = None  # seconds, for a 503 or 429 the sender should simply retry


def env_secret(brand: str) -> str | None:
    """REBOUND_SECRET__<BRAND>, for valid brand names only (one variable per brand)."""
    return env_value(secret_env_name(brand)) if valid_brand(brand) else None


class Receiver:
    def __init__(
        self,
        *,
        client: Client,
        flows: FlowLookup,
        mappings: MappingLookup,
        store: EventStore,
        task_queue: str,
        policy: AuthPolicy | None = None,
        secrets: Callable[[str], str | None] = env_secret,
        start_options: dict[str, object] | None = None,
        source: str = "push",
        limits: Limits | None = None,
    ) -> None:
        self.client = client
        self.flows = flows
        self.mappings = mappings
        self.store = store
        self.task_queue = task_queue
        self.policy = policy or AuthPolicy.from_env()
        self.secrets = secrets
        self.start_options = start_options
        self.source = source
        self.limits = limits or Limits.from_env()
        self._per_client = RateLimiter(self.limits.per_client)
        self._per_brand = RateLimiter(self.limits.per_brand)
        self._decoy = token_hex(32)  # an unknown brand's push is checked against this: same time, same 401
        self.refusals: Counter[str] = Counter()  # reason -> count, this process (the metric `receiver.refused` too)
        schema = load_schema("rebound-push.schema.json")
        self._validator = Draft7Validator(schema)
        # Most pushes are valid: a compiled yes or no first, jsonschema for the error when it says no.
        self._valid = compile_schema(schema) or self._validator.is_valid
        self._running: OrderedDict[str, None] = OrderedDict()
        self._confirming: set[asyncio.Task[None]] = set()  # workflows this process saw running, newest last

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/rebound/{brand}/events", self.endpoint, methods=["POST"])])

    async def endpoint(self, request: Request) -> JSONResponse:
        """The front door: path, client rate, size (before reading and while reading), authentication and the
        brand's rate, then the pipeline. Nothing is stored before authentication."""
        brand = request.path_params["brand"]
        client = request.client.host if request.client else "unknown"
        if not valid_brand(brand):
            return self._refuse(*NOT_FOUND, client, brand)
        wait = self._per_client.take(client)
        if wait:
            return self._refuse("rate_limited", 429, "too many requests", client, brand, retry_after=wait)
        declared = request.headers.get("content-length")
        if declared is not None and not (declared.isdigit() and int(declared) <= self.limits.max_body):
            return self._refuse(*self._too_large, client, brand)
        try:
            body = await self._read(request)
        except ClientDisconnect:
            return JSONResponse({"status": "disconnected"}, status_code=400)
        headers = {k.lower(): v for k, v in request.headers.items()}
        refusal = self._gate(brand, headers, body)
        if refusal is not None:
            return self._refuse(*refusal, client, brand)
        wait = self._per_brand.take(brand)
        if wait:
            return self._refuse("brand_rate_limited", 429, "too many requests", client, brand, retry_after=wait)
        try:
            outcome = await self.ingest(brand, headers, body, authenticated=True)
        except StoreUnavailable as exc:  # nothing was acknowledged: Rebound sends it again
            log.error("event store unavailable: %s", exc)
            unavailable = {"status": "unavailable", "reason": "event store unavailable; retry later"}
            outcome = Outcome(503, unavailable, retry_after=5)
        return self._response(outcome)

    @staticmethod
    def _response(outcome: Outcome) -> JSONResponse:
        retry = {"Retry-After": str(outcome.retry_after)} if outcome.retry_after else None
        return JSONResponse(outcome.body, status_code=outcome.http_status, headers=retry)

    async def _read(self, request: Request) -> bytes:
        """The body, cut short one chunk past the limit (whatever Content-Length said): the gate refuses it."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            chunks.append(chunk)
            size += len(chunk)
            if size > self.limits.max_body:
                break
        return b"".join(chunks)

    @property
    def _too_large(self) -> Refusal:
        return ("too_large", 413, f"body over {self.limits.max_body} bytes")

    def _gate(self, brand: str, headers: dict[str, str], body: bytes) -> Refusal | None:
        """What a request must pass before anything of it is stored: a brand name, the size, the signature."""
        if not valid_brand(brand):
            return NOT_FOUND
        if len(body) > self.limits.max_body:
            return self._too_large
        if not self._authentic(brand, headers, body):
            return ("unauthenticated", 401, "not authenticated")
        return None

    def _authentic(self, brand: str, headers: dict[str, str], body: bytes) -> bool:
        """Checked against the brand's secret, or a decoy when it has none: the same work and the same answer."""
        secret = self.secrets(brand)
        try:
            verify(self.policy, secret or self._decoy, headers, body, time.time())
        except AuthError:
            return False
        return secret is not None

    def _refuse(
        self, reason: str, status: int, text: str, client: str, brand: str, *, retry_after: float = 0.0
    ) -> JSONResponse:
        """Answer a request that is not (yet) an authenticated push: counted and logged, never stored."""
        self.refusals[reason] += 1
        push_refused(reason)
        if reason not in ("rate_limited", "brand_rate_limited"):  # a flood is counted, not logged line by line
            log.info("refused push: %s from %s to %s", reason, _printable(client), _printable(brand))
        body: dict[str, Any] = {"status": reason if status == 429 else "refused", "reason": text}
        seconds = max(1, math.ceil(retry_after)) if retry_after else None
        return self._response(Outcome(status, body, retry_after=seconds))

    async def ingest(
        self, brand: str, headers: dict[str, str], body: bytes, *, authenticated: bool = False,
        held_id: int | None = None,
    ) -> Outcome:  # fmt: skip
        """The whole pipeline. `authenticated=True` only for pushes that passed auth already (the HTTP endpoint's
        own check, replays of authenticated pushes, the pull); unauthenticated ones are answered, never stored.
        `held_id`: the held event being replayed, kept as it is rather than held a second time. One span per push:
        the root of the event's trace (under the HTTP request's when the app is instrumented)."""
        with tracer().start_as_current_span(f"rebound {self.source}", kind=SpanKind.SERVER) as span:
            span.set_attribute("rebound.brand", brand)
            outcome = await self._ingest(brand, headers, body, authenticated=authenticated, held_id=held_id)
            span.set_attribute("rebound.outcome", str(outcome.body.get("status", "")))
            return outcome

    async def _ingest(
        self, brand: str, headers: dict[str, str], body: bytes, *, authenticated: bool, held_id: int | None
    ) -> Outcome:
        headers = {k.lower(): v for k, v in headers.items()}

        async def hold(status: int, reason: str, *, kind: HeldStatus = "rejected",
                       event_id: str | None = None) -> Outcome:  # fmt: skip
            """Keep an authenticated push that is not accepted, raw, for replay."""
            held = held_id
            if held is None:
                try:
                    held = await self.store.hold(NewHeld(brand, kind, status, reason, headers, body, True, event_id))
                except Exception as exc:
                    raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
                log.warning("held push %s for %s: %s %s", held, brand, status, reason)
            return Outcome(status, {"status": kind, "reason": reason, "held_id": held}, held)

        if not authenticated:  # the pull and replays come authenticated (and are not size-limited)
            refusal = self._gate(brand, headers, body)
            if refusal is not None:
                _, status, text = refusal
                return Outcome(status, {"status": "refused", "reason": text})
        try:
            mapping = await self.mappings(brand)
            flow = await self.flows(mapping.flow)
        except NoDeployedMapping:
            return await hold(404, f"unknown brand {brand!r} (no deployed mapping)")
        except NoDeployedFlow as exc:
            return await hold(404, f"brand {brand!r}: {exc}")
        except Exception as exc:  # the registries live in Temporal: Temporal is unreachable
            return await hold(503, f"registry unreachable: {type(exc).__name__}: {exc}", kind="failed")
        try:
            payload = parse_push(body)
        except PayloadError as exc:
            return await hold(400, str(exc))
        try:
            errors = [] if self._valid(payload) else list(self._validator.iter_errors(payload))
        except RecursionError:  # parse_push bounds the depth; this is the last line of defence
            return await hold(400, "nested too deeply to check")
        if errors:
            error = best_match(errors)
            where = "/".join(str(p) for p in error.absolute_path) or "<payload>"
            return await hold(422, f"schema: {where}: {error.message}")
        try:
            translation = translate(payload, mapping, source=self.source)
        except PayloadError as exc:
            return await hold(422, f"mapping: {exc}")
        except Exception as exc:  # a shape the schema let through and the mapping's paths cannot read
            return await hold(422, f"mapping: cannot read the push: {type(exc).__name__}: {exc}")
        event = translation.event
        if event is None:
            return Outcome(200, {"status": "ignored", "reason": f"status {translation.status!r} is ignored"})
        wf_id = workflow_id(event.brand, event.rebound_return_id)
        annotate(rebound__return_id=event.rebound_return_id, rebound__event=event.kind, shopify__order=event.order_name)
        try:
            claim = await self.store.claim_event(event.event_id, brand, wf_id)
        except Exception as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if claim == "accepted":
            return Outcome(200, {"status": "duplicate", "event_id": event.event_id})
        if claim == "in_flight":  # another receiver holds the same event this moment: the sender tries again
            reason = "another receiver is handing this event to Temporal; retry"
            return Outcome(503, {"status": "in_flight", "event_id": event.event_id, "reason": reason}, retry_after=1)
        try:
            delivery = await deliver(self.client, event, flow=flow, mapping=mapping, task_queue=self.task_queue,
                                     start_options=self.start_options, running=wf_id in self._running)  # fmt: skip
        except Exception as exc:  # Temporal unreachable or overloaded: keep it, say so
            await self._release(event.event_id)
            return await hold(503, f"Temporal unavailable: {type(exc).__name__}: {exc}", kind="failed",
                              event_id=event.event_id)  # fmt: skip
        # Temporal has it: the answer need not wait for the bookkeeping. Confirmed in the background (with the next
        # group commit); if that is lost, the claim expires and a later copy is a no-op in the workflow.
        confirming = asyncio.create_task(self._confirm(event.event_id))
        self._confirming.add(confirming)
        confirming.add_done_callback(self._confirming.discard)
        self._seen_running(delivery.workflow_id, delivery.accepted)
        if not delivery.accepted:
            return await hold(200, delivery.detail, kind="late", event_id=event.event_id)
        return Outcome(202, {"status": "accepted", "event_id": event.event_id, "workflow_id": delivery.workflow_id})

    async def _release(self, event_id: str) -> None:
        try:
            await self.store.release_event(event_id)
        except Exception as exc:  # the claim expires on its own
            log.warning("could not release event %s: %s", event_id, exc)

    async def _confirm(self, event_id: str) -> None:
        try:
            await self.store.confirm_event(event_id)
        except Exception as exc:
            log.warning("could not confirm accepted event %s: %s", event_id, exc)

    async def drain(self) -> None:
        """Let the confirmations in flight reach the store (before it closes)."""
        while self._confirming:
            await asyncio.gather(*list(self._confirming), return_exceptions=True)

    def _seen_running(self, wf_id: str, running: bool) -> None:
        """Remember (a bounded number of) running returns: their next push is a plain signal."""
        self._running.pop(wf_id, None)
        if running:
            self._running[wf_id] = None
            if len(self._running) > RUNNING_CACHE:
                self._running.popitem(last=False)

    async def replay(self, held_id: int) -> Outcome:
        """Hand a held event to Temporal again; the store lets one process at a time replay it, and only once."""
        claim = await self.store.claim_replay(held_id)
        if not isinstance(claim, Claimed):
            if claim.reason == "missing":
                return Outcome(404, {"status": "missing", "reason": f"no held event {held_id}"})
            if claim.reason == "replayed":
                return Outcome(409, {"status": "replayed", "reason": f"already replayed: {claim.detail}"})
            return Outcome(409, {"status": "busy", "reason": claim.detail})
        held = claim.event
        if not held.authenticated:
            reason = "never authenticated (bad signature or unknown brand): ask Rebound to resend it"
            await self.store.note_replay_attempt(held_id, reason)
            return Outcome(403, {"status": "refused", "reason": reason})
        try:
            outcome = await self.ingest(held.brand, held.headers, held.body, authenticated=True, held_id=held_id)
        except BaseException:
            await self.store.note_replay_attempt(held_id, "replay interrupted")
            raise
        result = f"{outcome.http_status} {outcome.body.get('status')}"
        if outcome.http_status in (200, 202):
            await self.store.mark_replayed(held_id, result)
        else:
            await self.store.note_replay_attempt(held_id, result)
        return outcome


def _printable(text: str, limit: int = 80) -> str:
    """Text from a request, safe for one log line: no control characters, bounded."""
    clipped = text[:limit]
    return clipped if clipped.isprintable() else clipped.encode("unicode_escape").decode("ascii")
