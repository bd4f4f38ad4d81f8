"""`make test` provides what the suite needs: the browser check runs first and either finds or installs chromium, or
stops at once with the command to type (never minutes into the suite)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.paths import REPO_ROOT

ENSURE = REPO_ROOT / ".ci" / "ensure-chromium"


def fake_bin(tmp_path: Path, **tools: str) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, script in tools.items():
        path = folder / name
        path.write_text(f"#!/bin/sh\n{script}\n")
        path.chmod(0o755)
    return folder


def run(folder: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(["/bin/bash", str(ENSURE)], capture_output=True, text=True, timeout=30,
                          env={"PATH": str(folder), "HOME": os.environ.get("HOME", "/root")})  # fmt: skip
    return done, time.monotonic() - started


def test_without_chromium_or_the_right_to_install_it_make_test_stops_at_once_with_the_command(tmp_path: Path) -> None:
    folder = fake_bin(tmp_path, id="echo 1000", sudo="exit 1", **{"apt-get": "exit 99"})
    done, took = run(folder)
    assert done.returncode == 2 and took < 5
    assert "sudo apt-get install -y chromium" in done.stderr


def test_without_chromium_as_root_it_is_installed_with_apt(tmp_path: Path) -> None:
    log = tmp_path / "apt.log"
    install = f'echo "$@" >> {log}; [ "$1" = install ] && printf "#!/bin/sh\\n" > {tmp_path}/bin/chromium && chmod +x {tmp_path}/bin/chromium; exit 0'  # noqa: E501
    folder = fake_bin(tmp_path, id="echo 0", **{"apt-get": install})
    done, _ = run(folder)
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == ["update -qq", "install -y -qq chromium"]


def test_with_chromium_present_nothing_is_installed(tmp_path: Path) -> None:
    log = tmp_path / "apt.log"
    folder = fake_bin(tmp_path, chromium="exit 0", id="echo 0", **{"apt-get": f'echo "$@" >> {log}; exit 0'})
    done, took = run(folder)
    assert done.returncode == 0 and took < 5, done.stderr
    assert not log.exists()  # as root, with apt-get at hand, and still nothing was installed


def test_make_test_checks_the_browser_before_anything_else() -> None:
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
    ).stdout
    lines = [line for line in plan.splitlines() if line.strip()]
    assert lines[0].endswith(".ci/ensure-chromium"), plan
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
    assert "apt-get" not in (REPO_ROOT / ".ci" / "run").read_text()  # one place installs the browser
