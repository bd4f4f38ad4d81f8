"""`notify`: tell a team about a return, by an HTTP POST to the URL an environment variable of the worker holds
(a Slack incoming webhook, or any JSON endpoint). The URL is a secret: never in a flow, never in history. What is
sent is the return's facts (brand, Rebound id, order, state, counts, refund): never customer personal data."""

from __future__ import annotations

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from engine.activities.messages import NotifyInput
from engine.settings.environment import UndeclaredSetting, env_value


class NotifyActivities:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    @activity.defn(name="notify")
    async def notify(self, req: NotifyInput) -> None:
        try:
            url = env_value(req.url_env)  # RETURNS_NOTIFY_<NAME>: the flow schema allows no other name
        except UndeclaredSetting:
            url = None
        if not url:
            raise ApplicationError(f"notify: {req.url_env} is not set on the worker", type="ShopifyRejected",
                                   non_retryable=True)  # fmt: skip
        body = {"text": req.message} if req.format == "slack" else {"message": req.message, "return": req.facts}
        try:
            response = await self.http.post(url, json=body, timeout=10)
        except httpx.HTTPError as exc:
            raise ApplicationError(f"notify {req.url_env}: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise ApplicationError(f"notify {req.url_env}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ApplicationError(f"notify {req.url_env}: HTTP {response.status_code}", type="ShopifyRejected",
                                   non_retryable=True)  # fmt: skip
