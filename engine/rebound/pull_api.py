"""Rebound's pull API (`GET /api/v2/returns?brand=&updatedSince=`, bearer token, cursor-paged), read one page
at a time so callers can act on (and heartbeat for) each page before the next is asked for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx


async def return_pages(
    http: httpx.AsyncClient, api_url: str, token: str, brand: str, *, updated_since: str, limit: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield each page's returns, following ``nextCursor`` until Rebound gives none."""
    cursor: str | None = "0"
    while cursor is not None:
        response = await http.get(
            f"{api_url.rstrip('/')}/api/v2/returns",
            params={"brand": brand, "updatedSince": updated_since, "limit": str(limit), "cursor": cursor},
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        page = response.json()
        yield page["returns"]
        cursor = page.get("nextCursor")
