"""Every userErrors code Shopify's schema declares for a mutation the emulator serves has a branch in the
emulator or a written reason why not (emulators/shopify/error_codes.py), for both vendored API versions."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLEnumType, GraphQLObjectType, get_named_type

from emulators.shopify import error_codes
from emulators.shopify.resolvers import RequestContext, build_root
from emulators.shopify.schema import SUPPORTED_VERSIONS, load_schema
from emulators.shopify.store import ShopifyStore

EMULATOR = Path(error_codes.__file__).parent
SHARED = ("resolvers.py", "idempotency.py")


def served_mutations(version: str) -> dict[str, GraphQLEnumType | None]:
    """Each mutation the emulator answers, with its userErrors' code enum (None: the error has no code)."""
    store = ShopifyStore()
    store.add_shop(
        "codes.myshopify.com", access_token="t", currency="GBP", locations=[("gid://shopify/Location/1", "A")]
    )
    root = build_root(RequestContext(store, store.shop("codes.myshopify.com"), version))
    mutation = load_schema(version).mutation_type
    assert mutation is not None
    served: dict[str, GraphQLEnumType | None] = {}
    for name in sorted(set(root) & set(mutation.fields)):
        payload = get_named_type(mutation.fields[name].type)
        assert isinstance(payload, GraphQLObjectType)
        error = get_named_type(payload.fields["userErrors"].type)
        assert isinstance(error, GraphQLObjectType)
        code = error.fields.get("code")
        enum = get_named_type(code.type) if code else None
        served[name] = enum if isinstance(enum, GraphQLEnumType) else None
    return served


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_each_code_of_each_served_mutation_has_a_branch_or_a_reason(version: str) -> None:
    served = served_mutations(version)
    assert {"refundCreate", "returnCreate", "reverseFulfillmentOrderDispose", "metafieldsSet"} <= set(served)
    unexplained = []
    for name, enum in served.items():
        if enum is None:
            continue  # refundCreate, tagsAdd, ...: a plain UserError, no code to choose
        assert name in error_codes.SERVED_BY, f"{name}: say which modules serve it in error_codes.SERVED_BY"
        source = "".join((EMULATOR / module).read_text() for module in (*error_codes.SERVED_BY[name], *SHARED))
        reasons = {**error_codes.NOT_MODELLED.get(enum.name, {}), **error_codes.NOT_MODELLED_FOR.get(name, {})}
        for code in enum.values:
            if f'"{code}"' not in source and code not in reasons:
                unexplained.append(f"{name}: {enum.name}.{code}")
    assert unexplained == []


def test_a_reason_is_never_given_for_a_code_the_emulator_returns() -> None:
    """A written reason must not hide a branch: codes with a reason appear in no module serving that enum."""
    served = served_mutations(SUPPORTED_VERSIONS[-1])
    modelled: dict[str, str] = {}
    for name, enum in served.items():
        if enum is not None:
            modelled[enum.name] = modelled.get(enum.name, "") + "".join(
                (EMULATOR / module).read_text() for module in error_codes.SERVED_BY[name]
            )
    for enum_name, reasons in error_codes.NOT_MODELLED.items():
        stale = [code for code in reasons if f'"{code}"' in modelled.get(enum_name, "")]
        assert stale == [], f"{enum_name}: returned by the emulator yet explained away: {stale}"
    for name, reasons in error_codes.NOT_MODELLED_FOR.items():
        source = "".join((EMULATOR / module).read_text() for module in error_codes.SERVED_BY[name])
        stale = [code for code in reasons if f'"{code}"' in source]
        assert stale == [], f"{name}: returned by the emulator yet explained away: {stale}"


def test_each_chosen_code_is_one_the_mutation_returns() -> None:
    """Codes chosen without a recording (error_codes.CHOSEN) are values of the enum and returned by a module serving
    the mutation, and the reason is written down."""
    served = served_mutations(SUPPORTED_VERSIONS[-1])
    for name, chosen in error_codes.CHOSEN.items():
        enum = served[name]
        assert enum is not None, name
        source = "".join((EMULATOR / module).read_text() for module in error_codes.SERVED_BY[name])
        for code, reason in chosen.items():
            assert code in enum.values, f"{name}: {code} is not a {enum.name}"
            assert f'"{code}"' in source, f"{name}: {code} is chosen but no module serving it returns it"
            assert reason.strip(), f"{name}: {code} has no reason"
