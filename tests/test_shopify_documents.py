"""Every GraphQL document the client sends is valid against Shopify's real Admin schema, and every operation the
engine's code sends has its document: a query where the engine reads data, a mutation selecting the payload and
the userErrors the engine reads, with the idempotency key the schema requires."""

from __future__ import annotations

import ast
import gzip
import re
from functools import cache
from pathlib import Path

import pytest
from graphql import (
    FieldNode,
    GraphQLSchema,
    GraphQLSyntaxError,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    build_schema,
    parse,
    validate,
)

from engine.shopify.documents import all_documents
from tests.conftest import shared_path
from tests.paths import REPO_ROOT

VERSIONS = ("2026-04", "2026-07")
OPERATION_NAME = re.compile(r"(?:[A-Z][a-z]+){2,}")  # ReturnCreate; not SQL (COMMIT, SELECT 1)
REQUIRED_KEY = "idempotency key is required"  # the schema's words on a mutation that refuses a call without one


@cache
def real_schema(version: str) -> GraphQLSchema:
    path = shared_path("shopify", "schema", f"admin-{version}.graphql")
    if path.exists():
        return build_schema(path.read_text(encoding="utf-8"))
    vendored = Path(__file__).parent.parent / "emulators/shopify/schema" / f"admin-{version}.graphql.gz"
    return build_schema(gzip.decompress(vendored.read_bytes()).decode("utf-8"))


DOCUMENTS = sorted(all_documents().items())


def document_problems(name: str, text: str, version: str) -> list[str]:
    """What is wrong with the document `name` (its file name) against Shopify's schema, each named after it."""
    try:
        doc = parse(text)
    except GraphQLSyntaxError as err:
        return [f"{name}: {err.message}"]
    problems = [f"{name}: {error.message}" for error in validate(real_schema(version), doc)]
    operations = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].name is None:
        problems.append(f"{name}: one named operation per document, found {len(operations)}")
    elif operations[0].name.value != name:
        problems.append(f"{name}: the operation is named {operations[0].name.value!r}: file and operation differ")
    return problems


def operation_of(text: str) -> OperationDefinitionNode:
    [operation] = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
    return operation


def root_fields(operation: OperationDefinitionNode) -> dict[str, FieldNode]:
    """The operation's root fields by response key (what the engine reads from `data`)."""
    return {(f.alias or f.name).value: f for f in operation.selection_set.selections if isinstance(f, FieldNode)}


@cache
def engine_calls() -> dict[str, frozenset[str | None]]:
    """Each operation the engine's code sends (engine/, read as source), with the root fields it reads a mutation's
    payload from (`ShopifyClient.mutate(operation, field, ...)`); None for a plain `execute(operation, ...)`."""
    calls: dict[str, set[str | None]] = {}
    for path in sorted((REPO_ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
            if node.func.attr in ("execute", "mutate") and args and args[0] and OPERATION_NAME.fullmatch(args[0]):
                calls.setdefault(args[0], set()).add(args[1] if node.func.attr == "mutate" and len(args) > 1 else None)
            elif node.func.attr == "order" and len(args) > 3:  # ShopifyActivities.order: a query per named part
                for part in filter(None, args[3:]):
                    calls.setdefault(f"Order{part.capitalize()}", set()).add(None)
    return {name: frozenset(fields) for name, fields in calls.items()}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "text"), DOCUMENTS, ids=[n for n, _ in DOCUMENTS])
def test_document_validates_against_real_schema(version: str, name: str, text: str) -> None:
    assert document_problems(name, text, version) == []


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("refundCreate(input: $input)", "refundCreat(input: $input)", "Cannot query field 'refundCreat'"),
        ("      createdAt\n", "      createdOn\n", "Cannot query field 'createdOn' on type 'Refund'"),
        ("$input: RefundInput!", "$input: RefundInput", "of type 'RefundInput' used in position expecting"),
        ("mutation RefundCreate(", "mutation CreateRefund(", "the operation is named 'CreateRefund'"),
        ("userErrors { field message }\n  }\n}", "userErrors { field message }\n  }\n", "Expected Name"),
    ],
)
def test_a_broken_document_is_reported_with_its_name_and_what_is_wrong(old: str, new: str, words: str) -> None:
    text = dict(DOCUMENTS)["RefundCreate"]
    assert old in text
    problems = document_problems("RefundCreate", text.replace(old, new), VERSIONS[-1])
    assert problems and all(p.startswith("RefundCreate: ") for p in problems), problems
    assert any(words in p for p in problems), problems


def test_every_operation_the_engine_sends_has_a_document_of_that_name() -> None:
    calls = engine_calls()
    # What a return needs (the scan found the engine's calls, and the queries named through ShopifyActivities.order)
    assert {"OrderByName", "ReturnCreate", "ReverseDeliveryCreate", "ReverseFulfillmentOrderDispose", "OrderPayments",
            "SuggestedRefund", "RefundCreate", "ReturnClose", "OrderStatusSet", "OrderLinkSet", "OrderRefunds",
            "OrderReturns", "BulkOrdersForDrift"} <= set(calls)  # fmt: skip
    assert sorted(set(calls) - dict(DOCUMENTS).keys()) == []
    # Documents the engine never sends are the emulator's tests' reads (tests/emulators), nothing left behind.
    assert dict(DOCUMENTS).keys() - set(calls) == {"FindOrderByName", "InventoryLevels", "OrderFulfillments"}


@pytest.mark.parametrize("name", sorted(engine_calls()))
def test_the_engine_reads_what_its_document_selects_and_every_mutation_s_user_errors(name: str) -> None:
    """A query where the engine only reads data; a mutation sent through `mutate` (which raises on the userErrors
    of each root field), selecting the field the engine reads its payload from, and userErrors on every root."""
    operation = operation_of(dict(DOCUMENTS)[name])
    roots = root_fields(operation)
    for field in engine_calls()[name]:
        if field is None:
            assert operation.operation == OperationType.QUERY, f"{name}: a mutation sent with execute(): no userErrors"
        else:
            assert operation.operation == OperationType.MUTATION, f"{name}: mutate() of a {operation.operation.value}"
            assert field in roots, f"{name}: the engine reads {field!r}; the document selects {sorted(roots)}"
    if operation.operation == OperationType.MUTATION:
        for key, root in roots.items():
            payload = root.selection_set.selections if root.selection_set else ()
            selected = {f.name.value for f in payload if isinstance(f, FieldNode)}
            assert "userErrors" in selected, f"{name}: {key} does not select userErrors"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_mutation_whose_schema_requires_an_idempotency_key_sends_one(version: str) -> None:
    mutation = real_schema(version).mutation_type
    assert mutation is not None
    required = {name for name, field in mutation.fields.items() if REQUIRED_KEY in (field.description or "")}
    assert "refundCreate" in required  # the schema's words are still the ones looked for
    keyed: dict[str, list[str]] = {}
    sent: set[str] = set()
    for name, text in DOCUMENTS:
        operation = operation_of(text)
        if operation.operation != OperationType.MUTATION:
            continue
        declared = {v.variable.name.value: v.type for v in operation.variable_definitions}
        for root in root_fields(operation).values():
            sent.add(root.name.value)
            directive = next((d for d in root.directives if d.name.value == "idempotent"), None)
            if directive is None:
                continue
            [key] = [a.value for a in directive.arguments if a.name.value == "key"]
            assert isinstance(key, VariableNode), f"{name}: the key is a variable, one per call"
            kind = declared[key.name.value]
            assert isinstance(kind, NonNullTypeNode) and isinstance(kind.type, NamedTypeNode), name
            assert kind.type.name.value == "String", f"{name}: the key must be String!"
            assert "idempotency key" in (mutation.fields[root.name.value].description or ""), (
                f"{name}: {root.name.value} does not take @idempotent"
            )
            keyed.setdefault(root.name.value, []).append(name)
    assert sorted(required & sent - keyed.keys()) == []
    assert keyed == {"refundCreate": ["RefundCreate"]}
