"""The shape the design asks for: small modules with one job each, and a catalog every step of which the
interpreter can run."""

from __future__ import annotations

from engine.definitions.catalog import CATALOG
from engine.workflow.return_workflow import ReturnWorkflow
from tests.paths import REPO_ROOT


def test_no_engine_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(REPO_ROOT)): n
        for path in (REPO_ROOT / "engine").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert long == {}


def test_every_catalog_step_has_a_body_and_every_activity_is_registered() -> None:
    from engine.activities.all import ShopifyActivities
    from engine.settings import Settings

    registered = {fn.__temporal_activity_definition.name for fn in ShopifyActivities(Settings(), None).all()}  # type: ignore[arg-type,attr-defined]
    for name, spec in CATALOG.items():
        assert callable(getattr(ReturnWorkflow, f"step_{name}", None)), name
        assert spec.activity is None or spec.activity in registered, (name, spec.activity)
