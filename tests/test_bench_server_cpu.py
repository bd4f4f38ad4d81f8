"""Reading a process's CPU from /proc, as the engine-against-bare bench reads the Temporal dev server's."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from emulators.bench.server_cpu import TICKS, cpu_seconds, descendants, temporal_server_pid


def test_this_process_cpu_from_proc_agrees_with_the_interpreter() -> None:
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:  # some CPU to read
        pass
    assert abs(cpu_seconds(os.getpid()) - time.process_time()) <= 2 / TICKS + 0.01


def test_a_child_is_found_and_no_server_is_named_when_none_was_started() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in descendants(os.getpid())
        assert cpu_seconds(child.pid) >= 0
        with pytest.raises(LookupError):  # under the child: no dev server (this test run may have one of its own)
            temporal_server_pid(child.pid)
    finally:
        child.kill()
        child.wait()
