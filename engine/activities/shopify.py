"""What every Shopify activity shares: a client for the shop (token looked up by the worker, never carried in
history), the process's one cost budget, the attempt's deadline, the order read most steps start from, the
Rebound link written on the order, and the translation of Shopify's failures into Temporal's vocabulary."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from engine.activities.messages import ShopRef
from engine.errors import (
    ConfigError,
    ShopifyRequestError,
    ShopifyThrottledError,
    ShopifyTransientError,
    ShopifyUserError,
)
from engine.settings import Settings, shopify_token
from engine.shopify.client import ShopifyClient, shop_client
from engine.shopify.throttle import CostBudget

METAFIELD_NAMESPACE = "rebound"


def _metafield_key(prefix: str, rebound_return_id: str) -> str:
    """Order metafield key for one Rebound return (2-64 chars of [A-Za-z0-9_-])."""
    return (prefix + re.sub(r"[^A-Za-z0-9_-]", "", rebound_return_id))[:64]


def link_key(rebound_return_id: str) -> str:
    return _metafield_key("return_", rebound_return_id)


def bonus_key(rebound_return_id: str) -> str:
    return _metafield_key("bonus_", rebound_return_id)


REFUND_MARKER = "[rebound-return:"  # the drift monitor reads refunds' notes and return lines' notes for it


PARCEL_MARKER = "[rebound-parcels:"


def refund_marker(rebound_return_id: str, part: str = "") -> str:
    """What a refund's note carries: the return's marker (the drift monitor reads it), then the parcels of a later
    round when the brand refunds per parcel."""
    marker = f"{REFUND_MARKER}{rebound_return_id}]"
    return f"{marker} {PARCEL_MARKER}{part}]" if part else marker


NOTE_LIMIT = 255  # Shopify's maximum for a return line's returnReasonNote


def marked_note(note: str, rebound_return_id: str) -> str:
    """A return line's note carrying the return's marker (the refunds' own, `[rebound-return:<id>]`): the link from
    the Shopify return to the Rebound return, read back by a retried create_return and by the drift monitor. The
    marker is kept whole when the note is cut to Shopify's 255 characters."""
    marker = refund_marker(rebound_return_id)
    if marker in note:
        return note[:NOTE_LIMIT]
    text = note[: NOTE_LIMIT - len(marker) - 1].rstrip()
    return f"{text} {marker}" if text else marker


def money(node: dict[str, Any] | None) -> Decimal:
    """A MoneyBag's amount in the customer's presentment currency (what refunds are made in)."""
    bag = node or {}
    return Decimal(str((bag.get("presentmentMoney") or bag.get("shopMoney") or {}).get("amount") or "0"))


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ShopifyAccess:
    """One per worker process, shared by every activity class: one HTTP pool, one cost budget."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        token_lookup: Callable[[str], str] = shopify_token,
        budget: CostBudget | None = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.token_lookup = token_lookup
        self.budget = budget or CostBudget()
        self.reasons: dict[str, dict[str, str]] = {}  # shop -> return reason handle -> definition id

    def client(self, shop: ShopRef) -> ShopifyClient:
        return shop_client(
            shop.domain,
            shop.api_version,
            settings=self.settings,
            token_lookup=self.token_lookup,
            http=self.http,
            budget=self.budget,
            deadline=attempt_deadline(),
        )

    async def order(self, client: ShopifyClient, order_id: str, rebound_id: str, *parts: str) -> dict[str, Any]:
        """The order header plus the named parts (fulfillments, refunds, returns), each its own cheap query."""
        keys = {"metafieldKey": link_key(rebound_id), "bonusKey": bonus_key(rebound_id)}
        data = await client.execute("OrderForReturn", {"id": order_id, **keys})
        order = data.get("order")
        if order is None:
            raise ShopifyUserError("OrderForReturn", [{"field": ["id"], "message": f"order {order_id} not found"}])
        merged = dict(order)
        for part in parts:
            extra = (await client.execute(f"Order{part.capitalize()}", {"id": order_id})).get("order") or {}
            merged[part] = extra.get(part)
        return merged

    async def link(
        self, client: ShopifyClient, shop: ShopRef, order_id: str, rebound_id: str, fields: dict[str, Any]
    ) -> None:
        """The Rebound link and status on the order: one JSON metafield per return, upserted by key (10 points).
        No tags: the Shopify return's line notes carry the link from the start (`marked_note`), and the drift
        monitor finds the order by its returns. Returns linked before this also carry the tags
        `rebound-return` and `rebound:<id>`, which stay."""
        value = json.dumps({"rebound_return_id": rebound_id, "brand": shop.brand, **fields}, sort_keys=True)
        await set_metafield(client, order_id, [], link_key(rebound_id), value)

    async def reason_definitions(self, client: ShopifyClient, handles: list[str]) -> dict[str, str]:
        """Return reason definitions by handle: a shop's are Shopify's fixed taxonomy, so each is looked up once
        per process (and again when asked for one not seen yet)."""
        known = self.reasons.setdefault(client.connection.domain, {})
        missing = [h for h in handles if h not in known]
        if missing:
            defs = await client.execute("ReturnReasonDefinitions", {"handles": missing})
            for d in defs["returnReasonDefinitions"]["nodes"]:
                if not d["deleted"]:
                    known[d["handle"]] = d["id"]
        return {h: known[h] for h in handles if h in known}


async def set_metafield(client: ShopifyClient, order_id: str, tags: list[str], key: str, value: str) -> None:
    """Write one JSON metafield (metafieldsSet upserts by key: idempotent), tagging the order in the same call when
    `tags` are given (tags are a set: writing them again changes nothing but costs 10 points)."""
    metafields = [{"ownerId": order_id, "namespace": METAFIELD_NAMESPACE, "key": key, "type": "json", "value": value}]
    if not tags:
        await client.mutate("OrderStatusSet", "metafieldsSet", {"metafields": metafields})
        return
    await client.mutate("OrderLinkSet", "metafieldsSet", {"orderId": order_id, "tags": tags, "metafields": metafields})


def may_have_written(repeat: bool) -> bool:
    """An earlier call of this step (the workflow says so) or an earlier attempt of this activity (a crash, a lost
    response, a timeout) may have written: look in Shopify before writing. A first attempt writes at once."""
    return repeat or activity.info().attempt > 1


def attempt_deadline() -> float | None:
    """The ``time.monotonic()`` instant by which this activity attempt must stop waiting for the shop's cost
    budget: its start-to-close timeout, less a quarter (at least 1 s) for the calls themselves."""
    try:
        info = activity.info()
    except RuntimeError:  # not in an activity
        return None
    if info.start_to_close_timeout is None:
        return None
    total = info.start_to_close_timeout.total_seconds()
    elapsed = (datetime.now(UTC) - info.started_time).total_seconds()
    return time.monotonic() + max(total - elapsed - max(1.0, total / 4), 0.0)


@asynccontextmanager
async def classified() -> AsyncIterator[None]:
    """Turn the engine's failures into Temporal's vocabulary: permanent ones are non-retryable. Anything else (a
    bug, an answer of an unexpected shape) is retried as it is, then holds the return with its own name."""
    try:
        yield
    except ShopifyUserError as exc:
        raise ApplicationError(str(exc), exc.user_errors, type="ShopifyUserError", non_retryable=True) from None
    except ShopifyRequestError as exc:
        raise ApplicationError(str(exc), type="ShopifyRejected", non_retryable=True) from None
    except ShopifyThrottledError as exc:  # waiting for the shop's cost budget; nothing was sent
        delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
        raise ApplicationError(str(exc), type="ShopifyThrottled", next_retry_delay=delay) from None
    except ShopifyTransientError as exc:
        delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
        raise ApplicationError(str(exc), type="ShopifyTransient", next_retry_delay=delay) from None
    except ConfigError as exc:  # a token or URL the worker lacks: a person fixes it, then retries the step
        raise ApplicationError(str(exc), type="ShopifyRejected", non_retryable=True) from None
