"""Transport and request-level behaviour: auth, routing, document validation, variable coercion."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from emulators.shopify.schema import SUPPORTED_VERSIONS, schema_sdl
from tests.conftest import shared_path

from .conftest import Shop, operation

SHARED_SCHEMAS = shared_path("shopify", "schema")


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_vendored_schema_is_shopifys(version: str) -> None:
    original = SHARED_SCHEMAS / f"admin-{version}.graphql"
    if not original.exists():
        pytest.skip("shared schema folder not available")
    assert schema_sdl(version) == original.read_text(encoding="utf-8")
    vendored = Path(__file__).resolve().parents[2] / "emulators/shopify/schema" / f"admin-{version}.graphql.gz"
    assert gzip.decompress(vendored.read_bytes()) == original.read_bytes()


async def test_wrong_or_missing_token_is_401(shop: Shop) -> None:
    expected = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    response = await shop.post({"query": "{ shop { name } }"}, token="shpat_wrong")
    assert response.status_code == 401
    assert response.json() == expected
    response = await shop.http.post(shop.emu.graphql_url(shop.domain, "2026-04"), json={"query": "{ shop { name } }"})
    assert response.status_code == 401
    assert response.json() == expected


async def test_unknown_shop_and_version_are_404(shop: Shop) -> None:
    body = {"query": "{ shop { name } }"}
    headers = {"X-Shopify-Access-Token": "x"}
    response = await shop.http.post(shop.emu.graphql_url("nope.myshopify.com", "2026-04"), json=body, headers=headers)
    assert response.status_code == 404
    response = await shop.post(body, version="2019-04")
    assert response.status_code == 404


async def test_invalid_document_is_refused_with_shopify_shape(shop: Shop) -> None:
    query = (
        "mutation RefundNoCode($input: RefundInput!) {\n"
        "  refundCreate(input: $input) {\n"
        "    userErrors { field message code }\n"
        "  }\n"
        "}\n"
    )
    response = await shop.post({"query": query, "variables": {"input": {"orderId": shop.order_id}}})
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": "Field 'code' doesn't exist on type 'UserError'",
            "locations": [{"line": 3, "column": 32}],
            "path": ["mutation RefundNoCode", "refundCreate", "userErrors", "code"],
            "extensions": {"code": "undefinedField", "typeName": "UserError", "fieldName": "code"},
        }
    ]
    assert shop.store.refunds(shop.domain, shop.order_id) == []  # nothing executed


async def test_unknown_input_field_inline_and_syntax_error(shop: Shop) -> None:
    query = (
        'mutation Probe { refundCreate(input: {orderId: "x", bogus: 1}) @idempotent(key: "k") '
        "{ userErrors { message } } }"
    )
    body = (await shop.post({"query": query})).json()
    [error] = body["errors"]
    assert error["message"] == "InputObject 'RefundInput' doesn't accept argument 'bogus'"
    assert error["extensions"]["code"] == "argumentNotAccepted"
    assert error["path"] == ["mutation Probe", "refundCreate", "input", "bogus"]

    body = (await shop.post({"query": "query { order(id: "})).json()
    [error] = body["errors"]
    assert error["locations"] == [{"line": 1, "column": 19}] and "data" not in body  # where the text ends


async def test_invalid_variable_shape(shop: Shop) -> None:
    variables = {
        "returnInput": {
            "orderId": shop.order_id,
            "returnLineItems": [
                {
                    "fulfillmentLineItemId": "gid://shopify/FulfillmentLineItem/1",
                    "quantity": 1,
                    "returnReason": "NOT_A_REASON",
                }
            ],
        }
    }
    body = (await shop.post({"query": operation("ReturnCreate"), "variables": variables})).json()
    [error] = body["errors"]
    explanation = (
        'Expected "NOT_A_REASON" to be one of: SIZE_TOO_SMALL, SIZE_TOO_LARGE, UNWANTED, NOT_AS_DESCRIBED, '
        "WRONG_ITEM, DEFECTIVE, STYLE, COLOR, OTHER, UNKNOWN"
    )
    assert error["message"] == (
        "Variable $returnInput of type ReturnInput! was provided invalid value for "
        f"returnLineItems.0.returnReason ({explanation})"
    )
    assert error["extensions"] == {
        "code": "INVALID_VARIABLE",
        "value": variables["returnInput"],
        "problems": [{"path": ["returnLineItems", 0, "returnReason"], "explanation": explanation}],
    }
    assert error["locations"] == [{"line": 2, "column": 23}]
    assert "data" not in body


async def test_missing_required_variable(shop: Shop) -> None:
    body = (await shop.post({"query": operation("ReturnClose"), "variables": {}})).json()
    [error] = body["errors"]
    assert error["message"] == "Variable $id of type ID! was provided invalid value"
    assert error["extensions"]["problems"] == [{"path": [], "explanation": "Expected value to not be null"}]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_engine_document_validates_against_the_schema_the_emulator_serves(version: str) -> None:
    from graphql import parse, validate

    from emulators.shopify.schema import load_schema
    from engine.shopify.documents import all_documents

    documents = all_documents()
    assert {"OrderByName", "ReturnCreate", "RefundCreate", "ReturnClose"} <= set(documents)  # the folder is read
    schema = load_schema(version)
    invalid = {name: [e.message for e in validate(schema, parse(text))] for name, text in documents.items()}
    assert {name: errors for name, errors in invalid.items() if errors} == {}
