"""Every GraphQL document the client sends is valid against Shopify's real Admin schema."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate
from graphql.language import OperationDefinitionNode

from engine.shopify.documents import all_documents
from tests.conftest import shared_path

VERSIONS = ("2026-04", "2026-07")


@cache
def real_schema(version: str) -> GraphQLSchema:
    path = shared_path("shopify", "schema", f"admin-{version}.graphql")
    if path.exists():
        return build_schema(path.read_text(encoding="utf-8"))
    vendored = Path(__file__).parent.parent / "emulators/shopify/schema" / f"admin-{version}.graphql.gz"
    return build_schema(gzip.decompress(vendored.read_bytes()).decode("utf-8"))


DOCUMENTS = sorted(all_documents().items())


def test_documents_exist() -> None:
    assert len(DOCUMENTS) >= 10


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "text"), DOCUMENTS, ids=[n for n, _ in DOCUMENTS])
def test_document_validates_against_real_schema(version: str, name: str, text: str) -> None:
    doc = parse(text)
    errors = validate(real_schema(version), doc)
    assert errors == [], [e.message for e in errors]
    operations = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1 and operations[0].name is not None
    assert operations[0].name.value == name, "file name must equal the operation name"


def test_money_moving_and_stock_mutations_carry_idempotency_keys() -> None:
    docs = dict(DOCUMENTS)
    assert "@idempotent(key: $idempotencyKey)" in docs["RefundCreate"]
