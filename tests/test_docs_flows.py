"""docs/flows.md shows the catalog as the engine has it."""

import re
from typing import get_args

from engine.definitions.catalog import catalog_table
from engine.definitions.flow import FlowDef
from engine.definitions.flow_graph import docs_diagrams, docs_section
from engine.workflow.messages import HoldKind
from engine.workflow.overrides import override_table
from tests.paths import REPO_ROOT


def test_the_catalog_table_in_the_docs_is_the_catalog() -> None:
    page = (REPO_ROOT / "docs" / "flows.md").read_text()
    start = page.index("| step | runs |")
    end = page.index("<!-- end of catalog table -->")
    assert page[start:end].strip() == catalog_table()


def test_the_flow_diagrams_in_the_docs_are_the_shipped_flows(flows: dict[str, FlowDef]) -> None:
    page = (REPO_ROOT / "docs" / "flows.md").read_text()
    assert set(flows) == {"return", "express"}
    assert docs_section(page) == docs_diagrams(flows.values()), "stale: python -m engine.definitions.flow_graph --write"
    for name in flows:
        assert f"`{name}` (version {flows[name].version}, `returns flows graph {name}`):\n\n```mermaid\n" in page


def test_the_overrides_table_in_the_docs_is_the_overrides_table() -> None:
    page = (REPO_ROOT / "docs" / "operations.md").read_text()
    start = page.index("| override | input |")
    end = page.index("<!-- end of overrides table -->")
    assert page[start:end].strip() == override_table()


def test_the_hold_kinds_in_the_docs_are_the_engine_s() -> None:
    page = (REPO_ROOT / "docs" / "operations.md").read_text()
    documented = re.findall(r"^  \| `(\w+)` \| (?:yes|no) \|", page, flags=re.MULTILINE)
    assert documented == list(get_args(HoldKind))
