"""`returns demo` as a user runs it: the whole batch comes out as expected, then Ctrl-C in the terminal (SIGINT to
the foreground process group) stops the demo, its workers and its Temporal dev server within seconds, exit 0."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from google.protobuf import json_format
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from emulators.demo import EMAIL_DOMAIN, FIRST_NAMES, LAST_NAMES
from emulators.processes import free_port, spawn
from engine.definitions.mapping import MappingDef
from engine.ingest.signatures import secret_env_name
from engine.settings import token_env_name
from engine.temporal.codec import CodecKeys, EncryptionCodec, data_converter, load_keys, new_key
from tests.browser import chromium
from tests.paths import REPO_ROOT


def processes_mentioning(text: str) -> dict[int, str]:
    """pid -> command line of every process whose arguments mention `text` (the demo's own data dir)."""
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found[int(cmdline.parent.name)] = args
    return found


CANARY = "c4n4ry"  # in every secret the demo is given: any copy of it in a log, span or history is a leak


def canaries(mappings: dict[str, MappingDef]) -> dict[str, str]:
    """Production's variables for the demo's secrets, each value marked, and codec keys to encrypt with."""
    env = {token_env_name(m.shop_domain): f"shpat_{CANARY}{secrets.token_hex(8)}" for m in mappings.values()}
    env |= {secret_env_name(brand): f"{CANARY}{secrets.token_hex(12)}" for brand in mappings}
    env["RETURNS_CODEC_KEYS"] = f"k1:{new_key()}"
    env["DRIFT_ALERT_URL"] = f"http://127.0.0.1:9/hooks/{CANARY}{secrets.token_hex(8)}"  # nothing listens: it fails
    return env


async def decoded_histories(address: str, keys: CodecKeys) -> dict[str, str]:
    """Every workflow's history, its payloads decrypted, as text: what anyone holding the key would read."""
    codec = EncryptionCodec(keys)
    client = await Client.connect(address, data_converter=data_converter(keys))
    texts = {}
    async for execution in client.list_workflows():
        parts = []
        async for event in client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history_events():
            parts.append(json_format.MessageToJson(event))
            parts += [p.data.decode(errors="replace") for p in codec_payloads(event, codec)]
        texts[execution.id] = "\n".join(parts)
    return texts


async def decoded_schedules(address: str, keys: CodecKeys) -> dict[str, str]:
    """Every schedule as stored (the drift and pull schedules' arguments), payloads decrypted."""
    codec = EncryptionCodec(keys)
    client = await Client.connect(address, data_converter=data_converter(keys))
    texts = {}
    async for listed in await client.list_schedules():
        raw = (await client.get_schedule_handle(listed.id).describe()).raw_description
        parts = [json_format.MessageToJson(raw)] + [p.data.decode(errors="replace") for p in codec_payloads(raw, codec)]
        texts[f"schedule {listed.id}"] = "\n".join(parts)
    return texts


def codec_payloads(message: Message, codec: EncryptionCodec) -> list[Payload]:
    """Every payload inside a history event (inputs, results, headers, memos, user metadata), decrypted."""
    found: list[Payload] = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = list(value.values())
        elif field.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, Payload):
                found.append(codec.decrypt(item))
            elif isinstance(item, Message):
                found += codec_payloads(item, codec)
    return found


async def test_demo_drives_every_return_as_expected_then_stops_cleanly_on_ctrl_c(
    tmp_path: Path, mappings: dict[str, MappingDef]
) -> None:
    data = tmp_path / "demo-data"
    port, ui_port = free_port(), free_port()
    secret_env = canaries(mappings)
    env = {"RETURNS_DATA_DIR": str(data), **secret_env}
    demo = spawn(["demo", "--port", str(port), "--ui-port", str(ui_port)], env, tmp_path / "demo.log")
    try:
        await demo.wait_for_line("running; Ctrl-C to stop", timeout=400)
        out = demo.output
        summary = re.search(r"(\d+)/(\d+) returns as expected; (\d+) refunds issued; stock check: (\S+);", out)
        assert summary, out
        assert summary.group(1) == summary.group(2) and int(summary.group(2)) >= 39, summary.group(0)
        assert summary.group(4) == "ok", out
        assert processes_mentioning(str(data)), "the dev server should be running with the demo's data dir"
        assert "payloads encrypted (AES-256-GCM, key k1)" in out

        # The Temporal UI, in a real browser, reads a finished return through the codec server.
        row = re.search(r"^(\(00\)\d+)\s+castore\s+(#CA\d+)\s+gift card \+ card\s+refunded", out, re.M)
        assert row, out
        rebound_id, order = row.groups()
        await ui_shows_the_return(ui_port, f"return-castore-{rebound_id}", order, tmp_path / "ui.png")

        # Its traces, from the files the demo wrote.
        trace = subprocess.run([sys.executable, "-m", "engine", "trace", rebound_id], capture_output=True, text=True,
                               env={**os.environ, "RETURNS_DATA_DIR": str(data)}, timeout=60)  # fmt: skip
        assert trace.returncode == 0, trace.stdout + trace.stderr
        assert trace.stdout.count("rebound push") >= 4 and "shopify ReturnProcess" in trace.stdout

        # No secret and no customer's personal data in any log line, span or (decrypted) history.
        histories = await decoded_histories(f"127.0.0.1:{port}", load_keys(secret_env) or keys_missing())
        assert len(histories) >= int(summary.group(2))
        assert any(order in text for text in histories.values())  # decrypted: the scan reads what is there
        sources = {"demo output": out, **{str(f): f.read_text(errors="replace") for f in data.rglob("*")
                                           if f.is_file() and f.suffix in (".log", ".jsonl")}}  # fmt: skip
        sources |= {f"history {wf}": text for wf, text in histories.items()}
        sources |= await decoded_schedules(f"127.0.0.1:{port}", load_keys(secret_env) or keys_missing())
        assert any("drift" in where for where in sources)
        assert any("alert failed" in text for text in histories.values())  # the failure is scanned too
        leaks = [
            (where, needle)
            for where, text in sources.items()
            for needle in (CANARY, EMAIL_DOMAIN, *FIRST_NAMES_WITH_SURNAMES)
            if needle in text
        ]
        assert leaks == []

        code, took = await demo.interrupt(signal.SIGINT)
        assert code == 0, demo.output[-2000:]
        assert took < 10, took
        assert not demo.group_alive()
        assert processes_mentioning(str(data)) == {}, "the demo's dev server outlived it"
        assert "WARN" not in demo.output[len(out) :]
    finally:
        demo.kill()
        for pid in processes_mentioning(str(data)):  # never leave a dev server behind a failed test
            os.kill(pid, signal.SIGKILL)


FIRST_NAMES_WITH_SURNAMES = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]


def keys_missing() -> CodecKeys:
    raise AssertionError("the demo's codec keys did not load")


async def ui_shows_the_return(ui_port: int, workflow: str, order: str, screenshot: Path) -> None:
    url = f"http://127.0.0.1:{ui_port}/namespaces/default/workflows/{quote(workflow, safe='')}"
    async with chromium() as page:
        await page.goto(url)
        await page.wait_for_text("User Metadata")
        assert await page.click_text("User Metadata")
        text = await page.wait_for_text(f"CASTORE {order} · 1 item", "Refund plan:")
        await page.screenshot(screenshot)
        if os.environ.get("RETURNS_UPDATE_SCREENSHOT"):
            (REPO_ROOT / "docs" / "ui-return.png").write_bytes(screenshot.read_bytes())
    assert f"CASTORE {order} · 1 item" in text, text[-3000:]
    assert "refunded (finished)" in text and "gift_card" in text and "Castore DC (Manchester)" in text
    assert "binary/encrypted" not in text  # decoded by the codec server, not shown sealed
