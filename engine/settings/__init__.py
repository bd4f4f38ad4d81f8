"""Runtime settings from the environment (twelve-factor: one codebase, many deploys, no path into a checkout).

Every variable is declared once in engine.settings.catalog (name, default, meaning, who reads it, secret or not)
and read through engine.settings.environment, which refuses an undeclared name. Secrets (Shopify tokens, push
secrets, the database URL with its password) are read when needed, never stored in history nor printed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ConfigError
from engine.settings.environment import default_of, env_given, env_value
from engine.shipped import flows_dir as shipped_flows_dir


@dataclass(frozen=True)
class Settings:
    temporal_address: str = default_of("TEMPORAL_ADDRESS")
    namespace: str = default_of("TEMPORAL_NAMESPACE")
    task_queue: str = default_of("RETURNS_TASK_QUEUE")
    shopify_endpoint: str = default_of("SHOPIFY_ENDPOINT")  # template; `{shop}` is the myshopify domain
    flows_dir: Path | None = None  # None: the flows the package ships
    mappings_dir: Path | None = None  # None: the brands come from the mapping registry (deployed mappings)
    data_dir: Path = Path(default_of("RETURNS_DATA_DIR"))  # the embedded default's files, relative to the working dir
    database_url: str | None = field(default=None, repr=False)  # held events (its password: never in a repr)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            temporal_address=str(env_value("TEMPORAL_ADDRESS")),
            namespace=str(env_value("TEMPORAL_NAMESPACE")),
            task_queue=str(env_value("RETURNS_TASK_QUEUE")),
            shopify_endpoint=str(env_value("SHOPIFY_ENDPOINT")),
            flows_dir=_path(env_given("RETURNS_FLOWS_DIR")),
            mappings_dir=_path(env_given("RETURNS_MAPPINGS_DIR")),
            data_dir=Path(env_given("RETURNS_DATA_DIR") or cls.data_dir),
            database_url=env_given("RETURNS_DATABASE_URL"),
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
    token = env_given(token_env_name(domain))
    if token:
        return token
    path = env_given("SHOPIFY_TOKENS_FILE")
    if path:
        tokens = json.loads(Path(path).read_text(encoding="utf-8"))
        if domain in tokens:
            return str(tokens[domain])
    raise ConfigError(f"no Shopify access token for {domain}: set {token_env_name(domain)} or SHOPIFY_TOKENS_FILE")
