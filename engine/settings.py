"""Runtime settings from the environment (twelve-factor: one codebase, many deploys, no path into a checkout).

Secrets (Shopify tokens, push secrets, the database password) are read when needed, never stored in history.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ConfigError
from engine.shipped import flows_dir as shipped_flows_dir


@dataclass(frozen=True)
class Settings:
    temporal_address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "returns"
    shopify_endpoint: str = "https://{shop}"  # template; `{shop}` is the myshopify domain
    flows_dir: Path | None = None  # None: the flows the package ships
    mappings_dir: Path | None = None  # None: the brands come from the mapping registry (deployed mappings)
    data_dir: Path = Path(".data")  # the embedded default's files, relative to the working directory
    database_url: str | None = field(default=None, repr=False)  # held events (its password: never in a repr)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            temporal_address=env.get("TEMPORAL_ADDRESS", cls.temporal_address),
            namespace=env.get("TEMPORAL_NAMESPACE", cls.namespace),
            task_queue=env.get("RETURNS_TASK_QUEUE", cls.task_queue),
            shopify_endpoint=env.get("SHOPIFY_ENDPOINT", cls.shopify_endpoint),
            flows_dir=_path(env.get("RETURNS_FLOWS_DIR")),
            mappings_dir=_path(env.get("RETURNS_MAPPINGS_DIR")),
            data_dir=Path(env.get("RETURNS_DATA_DIR") or cls.data_dir),
            database_url=env.get("RETURNS_DATABASE_URL") or None,
        )

    def shopify_endpoint_for(self, domain: str) -> str:
        return self.shopify_endpoint.replace("{shop}", domain)

    @property
    def flows(self) -> Path:
        return self.flows_dir or shipped_flows_dir()

    @property
    def event_store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'events.sqlite'}"


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def token_env_name(domain: str) -> str:
    return "SHOPIFY_TOKEN__" + re.sub(r"[^A-Z0-9]", "_", domain.upper())


def shopify_token(domain: str) -> str:
    """Per-shop token: SHOPIFY_TOKEN__<DOMAIN>, else a JSON file named by SHOPIFY_TOKENS_FILE (outside the repo)."""
    token = os.environ.get(token_env_name(domain))
    if token:
        return token
    path = os.environ.get("SHOPIFY_TOKENS_FILE")
    if path:
        tokens = json.loads(Path(path).read_text(encoding="utf-8"))
        if domain in tokens:
            return str(tokens[domain])
    raise ConfigError(f"no Shopify access token for {domain}: set {token_env_name(domain)} or SHOPIFY_TOKENS_FILE")
