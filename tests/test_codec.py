"""Encrypted payloads: AES-256-GCM with the key id in each payload, keys rotated without losing old histories, the
UI's codec endpoint, and a dev server whose stored histories hold none of a return's order ids, SKUs or amounts."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from emulators.processes import free_port, spawn, wait_http
from emulators.shopify.server import ShopifyEmulator
from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.errors import ConfigError
from engine.temporal.binaries import temporal_cli
from engine.temporal.codec import ENCODING, CodecKeys, EncryptionCodec, data_converter, load_keys, new_key
from engine.temporal.codec_server import create_codec_app
from engine.temporal.sandbox import workflow_runner
from engine.workers.starter import handle_for
from engine.workflow import search
from engine.workflow.legacy.workflow_v1 import LegacyReturnWorkflow
from engine.workflow.return_workflow import ReturnWorkflow
from tests.conftest import running_harness

OLD, NEW = new_key(), new_key()


def keys(*entries: tuple[str, str]) -> CodecKeys:
    return CodecKeys.parse(list(entries), "test")


async def test_a_payload_is_sealed_under_the_active_key_and_opened_by_any_listed_key() -> None:
    plain = DataConverter.default.payload_converter.to_payload({"order": "gid://shopify/Order/1", "amount": "42.05"})
    [sealed] = await EncryptionCodec(keys(("2026-06", OLD))).encode([plain])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata["encryption-key-id"] == b"2026-06"
    assert b"gid://shopify" not in sealed.data and b"42.05" not in sealed.data

    rotated = EncryptionCodec(keys(("2026-12", NEW), ("2026-06", OLD)))  # a new key first: it encrypts from now on
    assert await rotated.decode([sealed]) == [plain]
    [resealed] = await rotated.encode([plain])
    assert resealed.metadata["encryption-key-id"] == b"2026-12"
    assert await rotated.decode([plain]) == [plain]  # written before encryption: passes through

    with pytest.raises(ValueError, match="key '2026-06', which is not configured"):
        await EncryptionCodec(keys(("2026-12", NEW))).decode([sealed])
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(InvalidTag):  # authenticated, not just hidden
        await rotated.decode([tampered])


def test_keys_come_from_the_environment_or_a_file_and_are_never_shown(tmp_path: Path) -> None:
    assert load_keys({}) is None
    loaded = load_keys({"RETURNS_CODEC_KEYS": f"2026-12:{NEW},2026-06:{OLD}"})
    assert loaded is not None and loaded.active == "2026-12" and set(loaded.keys) == {"2026-12", "2026-06"}
    assert NEW not in repr(loaded) and OLD not in repr(loaded)
    file = tmp_path / "codec-keys"
    file.write_text(f"# newest first\n2026-12 {NEW}\n2026-06 {OLD}\n")
    from_file = load_keys({"RETURNS_CODEC_KEYS_FILE": str(file)})
    assert from_file is not None and from_file.active == "2026-12"
    short = base64.b64encode(os.urandom(16)).decode()
    with pytest.raises(ConfigError, match="key 'k1' has 16 bytes; AES-256 needs 32"):
        load_keys({"RETURNS_CODEC_KEYS": f"k1:{short}"})
    with pytest.raises(ConfigError, match="not base64"):
        load_keys({"RETURNS_CODEC_KEYS": "k1:not-base64!"})


async def test_the_codec_endpoint_takes_its_token_from_the_header_only_unless_told() -> None:
    codec_keys = keys(("2026-12", NEW))
    app = create_codec_app(codec_keys, token="s3cret", ui_origins=["http://127.0.0.1:8233"])
    [sealed] = await EncryptionCodec(codec_keys).encode([DataConverter.default.payload_converter.to_payload("x")])
    body = json_format.MessageToJson(Payloads(payloads=[sealed]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec") as http:
        assert (await http.post("/s3cret/decode", content=body)).status_code == 401  # a token in a URL: refused
        bearer = await http.post("/decode", content=body, headers={"Authorization": "Bearer s3cret"})
        assert bearer.status_code == 200
        wrong_path = await http.post("/wrong/decode", content=body, headers={"Authorization": "Bearer s3cret"})
        assert wrong_path.status_code == 200  # the path segment is ignored, the header decides


async def test_the_codec_endpoint_decodes_for_the_ui_with_its_token_only() -> None:
    codec_keys = keys(("2026-12", NEW))
    app = create_codec_app(codec_keys, token="s3cret", ui_origins=["http://127.0.0.1:8233"], token_in_path=True)
    plain = DataConverter.default.payload_converter.to_payload("refundCreate 42.05 GBP")
    [sealed] = await EncryptionCodec(codec_keys).encode([plain])
    body = json_format.MessageToJson(Payloads(payloads=[sealed]))
    ui = {"Origin": "http://127.0.0.1:8233", "Content-Type": "application/json", "X-Namespace": "default"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec") as http:
        preflight = await http.options("/s3cret/decode", headers={**ui, "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
        assert "X-Namespace" in preflight.headers["access-control-allow-headers"]
        for path, extra in (("/s3cret/decode", {}), ("/decode", {"Authorization": "Bearer s3cret"})):
            decoded = await http.post(path, content=body, headers={**ui, **extra})
            assert decoded.status_code == 200, decoded.text
            [payload] = json_format.Parse(decoded.text, Payloads()).payloads
            assert DataConverter.default.payload_converter.from_payload(payload, str) == "refundCreate 42.05 GBP"
        assert (await http.post("/decode", content=body, headers=ui)).status_code == 401
        assert (await http.post("/wrong/decode", content=body, headers=ui)).status_code == 401
        stranger = await http.post("/s3cret/decode", content=body, headers={**ui, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers
        garbled = await http.post("/s3cret/decode", content=b"{", headers=ui)
        assert garbled.status_code == 400 and "not a Payloads JSON" in json.loads(garbled.text)["error"]


@pytest.fixture(scope="module")
async def encrypted_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[WorkflowEnvironment, Path]]:
    db = tmp_path_factory.mktemp("codec") / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli()),
        search_attributes=search.ALL,
        dev_server_log_level="error",
        dev_server_extra_args=["--db-filename", str(db)],
        data_converter=data_converter(keys(("2026-06", OLD))),
    )
    try:
        yield env, db
    finally:
        await env.shutdown()


async def test_stored_histories_hold_no_order_ids_skus_or_amounts_and_survive_a_new_key(
    encrypted_env: tuple[WorkflowEnvironment, Path],
    shopify: ShopifyEmulator,
    flows: dict[str, FlowDef],
    mappings: dict[str, MappingDef],
) -> None:
    env, db = encrypted_env
    async with running_harness(env, shopify, flows, mappings) as h:
        sc = h.new_return("encrypted", grades=("A", "B"))
        await h.push_all(sc)
        status = await h.wait_state(sc, "refunded")
        assert status.state == "refunded" and status.finished, status.attention_reason
        order_id = h.order_id(sc)
        refund = str(sc.expected_refund)
        assert Decimal(status.refund.amount) == sc.expected_refund  # type: ignore[union-attr]
        history = await handle_for(env.client, sc.brand, sc.rebound_return_id).fetch_history()
        # A reader holding a newer key and the old one reads what the worker (old key only) answers.
        rotated = data_converter(keys(("2026-12", NEW), ("2026-06", OLD)))
        reader = await Client.connect(env.client.service_client.config.target_host, data_converter=rotated)
        status_now = await handle_for(reader, sc.brand, sc.rebound_return_id).query(ReturnWorkflow.status)
        assert status_now.order is not None and status_now.order.order_id == order_id

    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # the database and its WAL
    secrets_of_the_return = [order_id, refund, *(line.sku for line in sc.order_lines)]
    assert all(len(s) > 4 for s in secrets_of_the_return)
    assert [s for s in secrets_of_the_return if s.encode() in stored] == []
    assert ENCODING in stored  # the payloads are there, sealed

    # Without the key the history is unreadable; with a new key added (the old one kept) it reads and replays.
    plain_client = await Client.connect(env.client.service_client.config.target_host)
    raw = await plain_client.get_workflow_handle(history.workflow_id).fetch_history()
    assert order_id not in raw.to_json()
    replayer = Replayer(workflows=[ReturnWorkflow, LegacyReturnWorkflow], workflow_runner=workflow_runner(),
                        data_converter=rotated)  # fmt: skip
    result = await replayer.replay_workflow(WorkflowHistory.from_json(history.workflow_id, json.loads(raw.to_json())),
                                            raise_on_replay_failure=False)  # fmt: skip
    assert result.replay_failure is None


async def test_returns_codec_server_serves_the_ui_and_refuses_without_its_settings(tmp_path: Path) -> None:
    bare = {k: v for k, v in os.environ.items() if not k.startswith("RETURNS_CODEC")}
    refused = subprocess.run([sys.executable, "-m", "engine", "codec-server"], capture_output=True, text=True,
                             env=bare, timeout=30)  # fmt: skip
    assert refused.returncode == 2 and "RETURNS_CODEC_KEYS" in refused.stderr
    port = free_port()
    env = {"RETURNS_CODEC_KEYS": f"2026-12:{NEW}", "RETURNS_CODEC_TOKEN": "t0ken", "RETURNS_CODEC_PORT": str(port)}
    server = spawn(["codec-server"], env, tmp_path / "codec.log")
    try:
        health = await wait_http(f"http://127.0.0.1:{port}/healthz")
        assert health.json() == {"status": "ok", "active_key": "2026-12"}
        [sealed] = await EncryptionCodec(keys(("2026-12", NEW))).encode(
            [DataConverter.default.payload_converter.to_payload("dispose 2 → Castore DC")]
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            answer = await http.post(
                "/decode",
                content=json_format.MessageToJson(Payloads(payloads=[sealed])),
                headers={"Origin": "http://127.0.0.1:8233", "Authorization": "Bearer t0ken"},
            )
            in_url = await http.post("/t0ken/decode", content=json_format.MessageToJson(Payloads(payloads=[sealed])))
        assert in_url.status_code == 401  # header only by default
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
        [payload] = json_format.Parse(answer.text, Payloads()).payloads
        assert DataConverter.default.payload_converter.from_payload(payload, str) == "dispose 2 → Castore DC"
        code, _took = await server.interrupt()
        assert code == 0
    finally:
        server.kill()
    assert NEW not in server.output and "t0ken" not in server.output


async def test_encryption_is_required_by_default_and_then_refuses_plaintext() -> None:
    from engine.temporal.codec import PlaintextRefused, converter_from_env
    from engine.temporal.converter import DATA_CONVERTER

    with pytest.raises(ConfigError, match="RETURNS_CODEC_KEYS"):
        converter_from_env({})
    plaintext = converter_from_env({"RETURNS_PAYLOAD_ENCRYPTION": "optional"})
    assert plaintext is DATA_CONVERTER and plaintext.payload_codec is None  # no codec: payloads in the clear
    with pytest.raises(ConfigError, match="RETURNS_PAYLOAD_ENCRYPTION='sometimes'"):
        converter_from_env({"RETURNS_PAYLOAD_ENCRYPTION": "sometimes", "RETURNS_CODEC_KEYS": f"k1:{NEW}"})

    required = converter_from_env({"RETURNS_CODEC_KEYS": f"k1:{NEW}"})
    codec = required.payload_codec
    assert isinstance(codec, EncryptionCodec)
    plain = DataConverter.default.payload_converter.to_payload({"operator": "ana", "reason": "typed by hand"})
    [sealed] = await codec.encode([plain])
    assert await codec.decode([sealed]) == [plain]
    with pytest.raises(PlaintextRefused, match="--codec-endpoint"):
        await codec.decode([plain])  # e.g. `temporal workflow update execute --input ...` without the codec
    optional = converter_from_env({"RETURNS_CODEC_KEYS": f"k1:{NEW}", "RETURNS_PAYLOAD_ENCRYPTION": "optional"})
    assert optional.payload_codec is not None and await optional.payload_codec.decode([plain]) == [plain]


@pytest.mark.parametrize("command", [["worker", "--roles", "returns,registry"], ["serve", "--port", "0"]])
def test_worker_and_serve_refuse_to_start_without_codec_keys_in_production_mode(command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETURNS_CODEC", "RETURNS_PAYLOAD_ENCRYPTION"))}
    env["TEMPORAL_ADDRESS"] = "127.0.0.1:1"  # never reached: the policy is checked first
    refused = subprocess.run([sys.executable, "-m", "engine", *command], capture_output=True, text=True, env=env,
                             timeout=60)  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "payload encryption is required" in refused.stderr and "RETURNS_CODEC_KEYS" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
