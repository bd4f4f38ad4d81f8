"""The reconciliation's I/O: collect Rebound, Shopify (bulk operation) and the workflows, compare, and post
the alert. Secrets (tokens, the alert webhook's URL) come from the environment through the constructor, never
from workflow input, and never appear in a failure message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from engine.definitions.mapping import MappingDef
from engine.drift.compare import compare, iso, parse_time
from engine.drift.processed import read_processed
from engine.drift.rebound_source import fetch_rebound
from engine.drift.report import slack_payload
from engine.drift.shopify_source import run_bulk
from engine.drift.workflow import AlertRequest, ReconcileRequest, ReconcileResult
from engine.drift.workflow_source import fetch_workflows
from engine.settings import Settings, shopify_token
from engine.shopify.client import ShopifyClient, shop_client
from engine.shopify.throttle import CostBudget


def _beat(*details: Any) -> None:
    try:
        activity.heartbeat(*details)
    except RuntimeError:  # called outside an activity (the CLI's direct run, benchmarks)
        pass


class DriftActivities:
    def __init__(
        self,
        client: Client,
        settings: Settings,
        http: httpx.AsyncClient,
        *,
        rebound_api_url: str,
        rebound_api_token: str,
        mappings: Callable[[str], Awaitable[MappingDef]],
        token_lookup: Callable[[str], str] = shopify_token,
        bulk_poll_seconds: float = 1.0,
        budget: CostBudget | None = None,
        alert_url: str | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._http = http
        self._rebound_url = rebound_api_url
        self._rebound_token = rebound_api_token
        self._mappings = mappings
        self._token_lookup = token_lookup
        self._poll = bulk_poll_seconds
        self._budget = budget or CostBudget()  # the worker's, so drift and return steps share the shop's
        self._alert_url = alert_url  # a secret webhook: kept in this process only

    def _shopify(self, mapping: MappingDef) -> ShopifyClient:
        return shop_client(
            mapping.shop_domain,
            mapping.api_version,
            settings=self._settings,
            token_lookup=self._token_lookup,
            http=self._http,
            budget=self._budget,
        )

    @activity.defn(name="drift_reconcile")
    async def reconcile(self, req: ReconcileRequest) -> ReconcileResult:
        mapping = await self._mappings(req.brand)
        now = parse_time(req.now)
        assert now is not None
        since = iso(now - timedelta(days=req.lookback_days))
        rebound = await fetch_rebound(self._http, self._rebound_url, self._rebound_token, mapping, updated_since=since)
        _beat("rebound", len(rebound))
        orders = await run_bulk(self._shopify(mapping), self._http, poll_seconds=self._poll, on_poll=_beat)
        _beat("shopify", len(orders))
        flows = await fetch_workflows(
            self._client, req.brand, task_queue=req.workflow_task_queue, progress=lambda n: _beat("workflows", n)
        )
        await read_processed(self._shopify(mapping), orders, flows)  # the returns settled by processing
        findings = compare(mapping, rebound, orders, flows, now=now, unknown_grace_seconds=req.unknown_grace_seconds)
        counts = {"rebound_returns": len(rebound), "shopify_orders": len(orders), "workflows": len(flows)}
        return ReconcileResult(findings, counts)

    @activity.defn(name="drift_alert")
    async def alert(self, req: AlertRequest) -> str:
        """Post the new findings; failures name the error's kind and the status, never the URL."""
        if not self._alert_url:
            return "not sent: no DRIFT_ALERT_URL on the worker"
        try:
            with suppress_http_instrumentation():  # httpx's span would record the URL, which is the secret
                response = await self._http.post(self._alert_url, json=slack_payload(req.brand, req.findings))
        except httpx.HTTPError as exc:
            raise ApplicationError(f"alert endpoint unreachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise ApplicationError(f"alert endpoint answered {response.status_code}")
        return "sent"

    def all(self) -> list[Callable[..., Any]]:
        return [self.reconcile, self.alert]
