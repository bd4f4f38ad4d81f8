"""Runtime settings from the environment. Secrets (Shopify tokens) are read when needed, never stored in history."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    temporal_address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "returns"
    shopify_endpoint: str = "https://{shop}"  # template; `{shop}` is the myshopify domain
    flows_dir: Path = REPO_ROOT / "flows"
    mappings_dir: Path = REPO_ROOT / "mappings"
    data_dir: Path = REPO_ROOT / ".data"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            temporal_address=env.get("TEMPORAL_ADDRESS", cls.temporal_address),
            namespace=env.get("TEMPORAL_NAMESPACE", cls.namespace),
            task_queue=env.get("RETURNS_TASK_QUEUE", cls.task_queue),
            shopify_endpoint=env.get("SHOPIFY_ENDPOINT", cls.shopify_endpoint),
            flows_dir=Path(env.get("RETURNS_FLOWS_DIR", str(cls.flows_dir))),
            mappings_dir=Path(env.get("RETURNS_MAPPINGS_DIR", str(cls.mappings_dir))),
            data_dir=Path(env.get("RETURNS_DATA_DIR", str(cls.data_dir))),
        )

    def shopify_endpoint_for(self, domain: str) -> str:
        return self.shopify_endpoint.replace("{shop}", domain)


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
    raise LookupError(f"no Shopify access token for {domain}: set {token_env_name(domain)} or SHOPIFY_TOKENS_FILE")
