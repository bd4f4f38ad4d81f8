"""The shape the design asks for: small modules with one job each, and a catalog every step of which the
interpreter can run."""

from __future__ import annotations

from engine.definitions.catalog import CATALOG
from tests.paths import REPO_ROOT


def test_no_engine_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(REPO_ROOT)): n
        for path in (REPO_ROOT / "engine").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert long == {}


def test_the_catalog_the_step_table_and_the_activities_agree() -> None:
    """A step is one catalog entry, its two functions in the step table, and its activity: none without the
    others."""
    from engine.activities.all import ShopifyActivities
    from engine.settings import Settings
    from engine.workflow.steps import STEPS

    registered = {fn.__temporal_activity_definition.name for fn in ShopifyActivities(Settings(), None).all()}  # type: ignore[arg-type,attr-defined]
    assert set(STEPS) == set(CATALOG)
    for name, spec in CATALOG.items():
        assert spec.activity is None or spec.activity in registered, (name, spec.activity)
        if spec.activity is None:  # decided in the workflow: it records nothing from an activity
            assert STEPS[name].record.__name__ == "nothing_to_record", name
