"""A real browser for tests: Debian's headless Chromium driven over the DevTools Protocol (a websocket), enough to
open a page of the Temporal UI, wait until a text shows, read the page's text and take a screenshot."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import websockets


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    def __init__(self, socket: Any) -> None:
        self._socket = socket
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        await self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(await self._socket.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    async def goto(self, url: str) -> None:
        await self.call("Page.enable")
        await self.call("Page.navigate", url=url)

    async def text(self) -> str:
        """Every string on the page, frames included (the UI renders Markdown in sandboxed frames)."""
        snapshot = await self.call("DOMSnapshot.captureSnapshot", computedStyles=[])
        return "\n".join(snapshot.get("strings", []))

    async def wait_for_text(self, *needles: str, timeout: float = 30) -> str:
        """The page's text once every needle is on it; the last text seen otherwise (the caller asserts)."""
        deadline = asyncio.get_running_loop().time() + timeout
        text = ""
        while asyncio.get_running_loop().time() < deadline:
            text = await self.text()
            if all(needle in text for needle in needles):
                return text
            await asyncio.sleep(0.5)
        return text

    async def click_text(self, label: str) -> bool:
        """Click the first button, link or tab whose text is `label`."""
        script = (
            "(() => { const el = [...document.querySelectorAll('button, a, [role=tab], summary')]"
            f".find(e => e.innerText && e.innerText.trim() === {json.dumps(label)}); if (el) {{ el.click(); "
            "return true } return false })()"
        )
        found = await self.call("Runtime.evaluate", expression=script)
        return bool(found.get("result", {}).get("value"))

    async def screenshot(self, path: Path) -> None:
        shot = await self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))


@asynccontextmanager
async def chromium(width: int = 1440, height: int = 1600) -> AsyncIterator[Page]:
    binary = chromium_path()
    if binary is None:
        raise RuntimeError("chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            port = await asyncio.to_thread(_devtools_port, process)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                target = (await http.put("/json/new?about:blank")).json()
            async with websockets.connect(target["webSocketDebuggerUrl"], max_size=64 * 2**20) as socket:
                yield Page(socket)
        finally:
            process.kill()
            process.wait(timeout=10)


def _devtools_port(process: subprocess.Popen[str]) -> int:
    assert process.stderr is not None
    for line in process.stderr:
        match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
        if match:
            return int(match.group(1))
    raise RuntimeError(f"chromium exited ({process.poll()}) before opening its DevTools port")
