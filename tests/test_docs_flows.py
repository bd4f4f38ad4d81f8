"""docs/flows.md shows the catalog as the engine has it."""

from engine.definitions.catalog import catalog_table
from tests.paths import REPO_ROOT


def test_the_catalog_table_in_the_docs_is_the_catalog() -> None:
    page = (REPO_ROOT / "docs" / "flows.md").read_text()
    start = page.index("| step | runs |")
    end = page.index("<!-- end of catalog table -->")
    assert page[start:end].strip() == catalog_table()
