"""Connecting to Temporal from the environment: the dev server as is, Temporal Cloud with an API key or mTLS."""

from __future__ import annotations

from pathlib import Path

from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from engine.settings import Settings
from engine.temporal.connection import connect, connect_config

CLOUD = Settings(temporal_address="returns.a1b2c.tmprl.cloud:7233", namespace="returns.a1b2c")


def test_the_dev_server_needs_nothing_but_its_address() -> None:
    assert connect_config(Settings(), {}) == {"target_host": "127.0.0.1:7233", "namespace": "default"}


def test_temporal_cloud_with_an_api_key_turns_tls_on() -> None:
    config = connect_config(CLOUD, {"TEMPORAL_API_KEY": "key-from-the-secret-store"})
    assert config == {
        "target_host": "returns.a1b2c.tmprl.cloud:7233",
        "namespace": "returns.a1b2c",
        "api_key": "key-from-the-secret-store",
        "tls": True,
    }


def test_mtls_reads_the_certificate_files_named_by_the_environment(tmp_path: Path) -> None:
    (tmp_path / "client.pem").write_bytes(b"-----BEGIN CERTIFICATE-----")
    (tmp_path / "client.key").write_bytes(b"-----BEGIN PRIVATE KEY-----")
    environ = {
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "client.pem"),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path / "client.key"),
    }
    tls = connect_config(CLOUD, environ)["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key) == (b"-----BEGIN CERTIFICATE-----", b"-----BEGIN PRIVATE KEY-----")


async def test_connect_reaches_the_server_the_settings_name(temporal_env: WorkflowEnvironment) -> None:
    address = temporal_env.client.service_client.config.target_host
    client = await connect(Settings(temporal_address=address))
    assert await client.service_client.check_health()
