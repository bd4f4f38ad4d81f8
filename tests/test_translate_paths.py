"""The mapping paths as translate compiles them (engine.rebound.translate.path: plain dotted paths as dictionary
look-ups, anything else by jmespath) give what `jmespath.search` gives, for every path the brands' mappings use and
on documents of any shape."""

from __future__ import annotations

from typing import Any

import jmespath
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.definitions.mapping import load_mappings
from engine.rebound.translate import path
from tests.paths import REPO_ROOT

EXPRESSIONS = sorted(
    {expr for mapping in load_mappings(REPO_ROOT / "mappings").values() for expr in mapping.fields.values()}
    | {"a", "a.b", "a.b.c", "_x.y_1", "true", "a.null", "items[0].sku", "order.items[*].sku", "a || b"}
)
KEYS = sorted({key for expr in EXPRESSIONS for key in expr.replace("[", ".").split(".") if key.isidentifier()})

documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from([*KEYS, "other"]), children, max_size=4)
    ),
    max_leaves=15,
)


def test_dotted_paths_are_compiled_to_lookups() -> None:
    assert path("order.reboundOrderId").__name__ == "lookup"
    assert path("items[0].sku").__name__ != "lookup"


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(EXPRESSIONS), documents)
def test_same_as_jmespath(expression: str, document: Any) -> None:
    assert path(expression)(document) == jmespath.search(expression, document)
