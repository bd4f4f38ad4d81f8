"""`returns demo` as a user runs it: the whole batch comes out as expected, then Ctrl-C in the terminal (SIGINT to
the foreground process group) stops the demo, its workers and its Temporal dev server within seconds, exit 0."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from tests.processes import free_port, spawn


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


async def test_demo_drives_every_return_as_expected_then_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    data = tmp_path / "demo-data"
    port, ui_port = free_port(), free_port()
    demo = spawn(["demo", "--port", str(port), "--ui-port", str(ui_port)], {"RETURNS_DATA_DIR": str(data)},
                 tmp_path / "demo.log")  # fmt: skip
    try:
        await demo.wait_for_line("running; Ctrl-C to stop", timeout=400)
        out = demo.output
        summary = re.search(r"(\d+)/(\d+) returns as expected; (\d+) refunds issued; stock check: (\S+);", out)
        assert summary, out
        assert summary.group(1) == summary.group(2) and int(summary.group(2)) >= 39, summary.group(0)
        assert summary.group(4) == "ok", out
        assert processes_mentioning(str(data)), "the dev server should be running with the demo's data dir"

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
