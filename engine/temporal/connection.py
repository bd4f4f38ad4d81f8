"""Connecting to Temporal: the embedded dev server, a self-hosted cluster or Temporal Cloud, from the environment.

Address and namespace come from the engine's settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE). TLS and the API
key come from Temporal's own environment configuration (``temporalio.envconfig``: TEMPORAL_API_KEY,
TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, or a TEMPORAL_PROFILE
in Temporal's TOML file), the same variables the `temporal` CLI reads, so secrets stay outside the repository and
the engine never prints them. Payload encryption: RETURNS_CODEC_KEYS / RETURNS_CODEC_KEYS_FILE, required unless
RETURNS_PAYLOAD_ENCRYPTION=optional (engine.temporal.codec).
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio.client import Client
from temporalio.envconfig import ClientConfig, ClientConnectConfig

from engine.settings import Settings
from engine.telemetry.setup import Telemetry
from engine.temporal.codec import converter_from_env


def connect_config(settings: Settings, environ: Mapping[str, str] | None = None) -> ClientConnectConfig:
    """``Client.connect`` arguments; ``environ`` replaces the process environment (for tests)."""
    config = ClientConfig.load_client_connect_config(override_env_vars=environ)
    config["target_host"] = settings.temporal_address
    config["namespace"] = settings.namespace
    return config


async def connect(settings: Settings, *, lazy: bool = False, telemetry: Telemetry | None = None) -> Client:
    """A client for the engine: payloads encrypted under the environment's policy (engine.temporal.codec: raises
    ConfigError when encryption is required and no key is set); traced
    and with Temporal's SDK metrics when telemetry is on (engine.telemetry.setup). Workers inherit both."""
    return await Client.connect(
        **connect_config(settings),
        data_converter=converter_from_env(),
        lazy=lazy,
        interceptors=telemetry.interceptors() if telemetry else [],
        runtime=telemetry.runtime if telemetry else None,
    )
