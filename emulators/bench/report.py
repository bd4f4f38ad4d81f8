"""Write one benchmark's section into docs/benchmarks.md, leaving the other sections alone."""

import platform
import re
from datetime import UTC, datetime
from pathlib import Path

from emulators.paths import REPO_ROOT

REPORT = REPO_ROOT / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nWritten by `make bench`; each section by its own benchmark module.\n"


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_section(name: str, body: str, path: Path = REPORT) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = f"<!-- bench:{name} -->\n## {name}\n_{stamp}, {machine()}_\n\n{body.strip()}\n<!-- /bench:{name} -->\n"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n", re.S)
    text = pattern.sub(lambda _m: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


RESULTS = REPO_ROOT / "docs" / "benchmarks.json"


def write_result(name: str, result: dict, path: Path = RESULTS) -> None:
    """Each benchmark's figures (machine-readable, beside the page): the summary table is computed from them."""
    import json

    results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    results[name] = {"at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(), **result}
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_results(path: Path = RESULTS) -> dict:
    import json

    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
