"""One GraphQL request end to end: parse, validate against the real schema, coerce variables, charge the
bucket, execute with the resolvers, and shape the body as Shopify does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLInputType,
    OperationDefinitionNode,
    execute,
    parse,
    type_from_ast,
    validate,
)

from .cost import SINGLE_QUERY_MAX, Bucket, actual_cost, cost_extension, requested_cost
from .errors import syntax_error, validation_errors, variable_errors
from .resolvers import RequestContext, build_root
from .schema import load_schema
from .store import ShopifyStore

Json = dict[str, Any]


@dataclass
class GraphQLReply:
    status: int
    body: Json
    writes: int = 0


def _select_operation(operations: list[OperationDefinitionNode], name: str | None) -> OperationDefinitionNode | Json:
    if name:
        for operation in operations:
            if operation.name and operation.name.value == name:
                return operation
        return {"message": f'No operation named "{name}"', "extensions": {"code": "OPERATION_NOT_FOUND"}}
    if len(operations) == 1:
        return operations[0]
    return {"message": "An operation name is required", "extensions": {"code": "OPERATION_NAME_REQUIRED"}}


def run_graphql(
    store: ShopifyStore,
    domain: str,
    version: str,
    bucket: Bucket,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    *,
    enforce_max_cost: bool = True,
    throttle: bool = False,
) -> GraphQLReply:
    """Execute one request. ``enforce_max_cost`` is Shopify's 1000-point single query limit (off only for
    experiments: charges are then capped at that limit); ``throttle`` answers THROTTLED whatever the bucket
    holds (fault injection), still with the bucket's real status."""
    schema = load_schema(version)
    variables = variables or {}
    try:
        document = parse(query)
    except GraphQLError as parse_error:
        return GraphQLReply(200, {"errors": [syntax_error(parse_error)]})
    problems = validate(schema, document)
    if problems:
        return GraphQLReply(200, {"errors": validation_errors(problems, document)})

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    chosen = _select_operation(operations, operation_name)
    if isinstance(chosen, dict):
        return GraphQLReply(200, {"errors": [chosen]})
    operation = chosen

    var_types = {
        d.variable.name.value: cast(GraphQLInputType, type_from_ast(schema, d.type))
        for d in operation.variable_definitions
    }
    bad_variables = variable_errors(list(operation.variable_definitions), var_types, variables)
    if bad_variables:
        return GraphQLReply(200, {"errors": bad_variables})

    cost = requested_cost(schema, operation, fragments, variables)
    if cost > SINGLE_QUERY_MAX and enforce_max_cost:
        too_costly = {
            "message": f"Query cost is {cost}, which exceeds the single query max cost limit "
            f"({SINGLE_QUERY_MAX}).\n\n"
            "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
            "cost of a query is calculated.\n\n"
            "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
            "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n",
            "extensions": {
                "code": "MAX_COST_EXCEEDED",
                "cost": cost,
                "maxCost": SINGLE_QUERY_MAX,
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
        bucket.refill()
        return GraphQLReply(200, {"errors": [too_costly], "extensions": cost_extension(cost, None, bucket)})
    charge = min(cost, SINGLE_QUERY_MAX)
    if throttle:
        bucket.refill()
        bucket.throttled += 1
    if throttle or not bucket.try_take(charge):
        return GraphQLReply(200, throttled_body(cost, bucket))

    ctx = RequestContext(store, store.shop(domain), version)
    result = execute(
        schema,
        document,
        root_value=build_root(ctx),
        variable_values=variables,
        operation_name=operation.name.value if operation.name else None,
    )
    if not isinstance(result, ExecutionResult):
        raise RuntimeError("resolvers must be synchronous")  # an awaitable would mean a coroutine resolver
    body: Json = {}
    if result.errors:
        body["errors"] = [_format_execution_error(e) for e in result.errors]
    body["data"] = result.data
    actual = min(actual_cost(schema, operation, fragments, result.data), charge)
    bucket.refund(charge - actual)
    name = operation.name.value if operation.name else ""
    bucket.spent[name] += actual
    bucket.calls[name] += 1
    body["extensions"] = cost_extension(cost, actual, bucket)
    return GraphQLReply(200, body, ctx.writes)


THROTTLED = {
    "message": "Throttled",
    "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
}


def throttled_body(requested: int, bucket: Bucket) -> Json:
    """Shopify's THROTTLED answer: no ``data``, nothing charged, ``actualQueryCost`` null."""
    return {"errors": [dict(THROTTLED)], "extensions": cost_extension(requested, None, bucket)}


def _format_execution_error(error: GraphQLError) -> Json:
    formatted: Json = {"message": error.message}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    formatted["extensions"] = dict(error.extensions or {}) or {"code": "INTERNAL_SERVER_ERROR"}
    if error.path:
        formatted["path"] = list(error.path)
    return formatted
