"""Bulk query operations: ``bulkOperationRunQuery``, ``bulkOperation(id:)``, ``currentBulkOperation``,
``bulkOperationCancel`` and the JSONL result file.

Shapes and messages follow the recorded captures (``*bulk-operations*``):

* A run is validated first (Shopify's ``INVALID`` user errors on ``["query"]``): query operations only, no
  top-level ``node``, at least one connection, at most 5 connections, nesting depth at most 2, connections
  selected through ``edges { node { ... } }`` (not ``nodes``), a nested connection's parent node selects ``id``,
  no connection inside a list field. From API 2026-01 five query operations may be in flight per shop; the sixth
  gets ``OPERATION_IN_PROGRESS`` (``field: null``) naming the ones in progress.
* The result is computed when the run is accepted (the data as of that moment) and the operation then moves
  one step per status read: ``CREATED`` -> ``RUNNING`` -> ``COMPLETED`` (``objectCount``, ``rootObjectCount``,
  ``fileSize`` as strings, ``url`` set; ``url`` is null when there was nothing to write, as on Shopify).
* JSONL: one object per line; each node of a nested connection is its own line carrying ``"__parentId"``
  and comes after its parent. With ``groupObjects: true`` children follow their parent directly; with the
  default (``false``) each page of parents is written first, then their children.
* The file is served at ``GET /__emulator/bulk/{shop}/{number}.jsonl`` (no token, like Shopify's signed URL).

The root resolvers reach this module through :func:`root_fields`; the app route through :func:`download`.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
)
from graphql.type.definition import GraphQLOutputType

from .clock import iso
from .ids import make_gid, parse_gid
from .schema import load_schema

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from .model import Shop
    from .resolvers import RequestContext

MAX_CONNECTIONS = 5
MAX_DEPTH = 2
MAX_IN_FLIGHT = 5  # query operations per app and shop, API 2026-01 and later
PAGE = 250
TERMINAL = ("COMPLETED", "CANCELED", "FAILED", "EXPIRED")

# The public base URL of the emulator for the request being served (set by the app for each request).
request_base_url: ContextVar[str] = ContextVar("bulk_request_base_url", default="http://127.0.0.1")


@dataclass
class BulkOperation:
    id: str
    query: str
    created_at: datetime
    status: str = "CREATED"
    type: str = "QUERY"
    completed_at: datetime | None = None
    lines: list[str] = field(default_factory=list)
    root_object_count: int = 0
    file_size: int = 0  # bytes of body(), fixed when the result is computed (status reads don't re-encode)
    base_url: str = ""

    @property
    def number(self) -> str:
        parsed = parse_gid(self.id)
        return parsed.number if parsed else self.id

    def body(self) -> bytes:
        return "".join(line + "\n" for line in self.lines).encode("utf-8")


def operations(shop: Shop) -> dict[str, BulkOperation]:
    """The shop's bulk operations, oldest first (kept on the shop, so a store reset clears them)."""
    ops: dict[str, BulkOperation] = shop.bulk_operations
    return ops


# ---- validation ---------------------------------------------------------------------------------------


def _invalid(message: str) -> dict[str, Any]:
    return {"field": ["query"], "message": message, "code": "INVALID"}


@dataclass
class _Shape:
    connections: list[str] = field(default_factory=list)
    with_nodes: list[str] = field(default_factory=list)
    without_parent_id: list[str] = field(default_factory=list)
    too_deep: bool = False
    in_list: bool = False


def _fields(selection: SelectionSetNode | None) -> list[FieldNode]:
    out: list[FieldNode] = []
    for node in selection.selections if selection else ():
        if isinstance(node, FieldNode):
            out.append(node)
        elif isinstance(node, InlineFragmentNode):
            out.extend(_fields(node.selection_set))
    return out


def _is_connection(type_: GraphQLOutputType) -> bool:
    return get_named_type(type_).name.endswith("Connection")


def _is_list(type_: GraphQLOutputType) -> bool:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(inner, GraphQLList)


def _node_type(connection: GraphQLOutputType) -> Any:
    """The node type of a connection type (``XConnection.edges.node``)."""
    named: Any = get_named_type(connection)
    edge: Any = get_named_type(named.fields["edges"].type)
    return get_named_type(edge.fields["node"].type)


def _field_type(parent: GraphQLObjectType, name: str) -> GraphQLOutputType | None:
    definition = parent.fields.get(name) if hasattr(parent, "fields") else None
    return definition.type if definition else None


def _walk_shape(
    parent: GraphQLObjectType,
    selection: SelectionSetNode | None,
    shape: _Shape,
    depth: int,
    in_list: bool,
    parent_has_id: bool,
    parent_name: str,
) -> None:
    for node in _fields(selection):
        type_ = _field_type(parent, node.name.value)
        if type_ is None:
            continue
        named = get_named_type(type_)
        if _is_connection(type_):
            shape.connections.append(node.name.value)
            if in_list:
                shape.in_list = True
            if depth + 1 > MAX_DEPTH:
                shape.too_deep = True
            if depth >= 1 and not parent_has_id:
                shape.without_parent_id.append(parent_name)
            subs = {f.name.value: f for f in _fields(node.selection_set)}
            if "nodes" in subs:
                shape.with_nodes.append(node.name.value)
            for edges in [subs["edges"]] if "edges" in subs else []:
                for inner in _fields(edges.selection_set):
                    if inner.name.value != "node":
                        continue
                    node_type = _node_type(type_)
                    has_id = any(f.name.value == "id" and f.alias is None for f in _fields(inner.selection_set))
                    if isinstance(node_type, GraphQLObjectType):
                        _walk_shape(node_type, inner.selection_set, shape, depth + 1, False, has_id, node.name.value)
        elif isinstance(named, GraphQLObjectType) and node.selection_set is not None:
            _walk_shape(
                named,
                node.selection_set,
                shape,
                depth,
                in_list or _is_list(type_),
                parent_has_id,
                parent_name,
            )


def validate_bulk_query(schema: GraphQLSchema, text: str) -> list[dict[str, Any]]:
    """Shopify's user errors for a bulk query, in its order; empty when the query may run."""
    return _check(schema, text)[0]


def _check(schema: GraphQLSchema, text: str) -> tuple[list[dict[str, Any]], DocumentNode | None]:
    """The user errors and the parsed document (``None`` when unparsable), so a run parses its query once."""
    try:
        document = parse(text)
    except GraphQLError as err:
        message = err.message.removeprefix("Syntax Error: ")
        if "<EOF>" in message:
            message = "unexpected end of file"
        return [_invalid(f"Invalid bulk query: syntax error, {message[0].lower() + message[1:]}")], None
    return _shape_errors(schema, document), document


def _shape_errors(schema: GraphQLSchema, document: DocumentNode) -> list[dict[str, Any]]:
    operations_ = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if any(op.operation is not OperationType.QUERY for op in operations_):
        return [_invalid("Invalid operation type. Only `query` operations are supported.")]
    problems = validate(schema, document)
    if problems:
        return [_invalid(f"Invalid bulk query: {problems[0].message}")]
    errors: list[dict[str, Any]] = []
    roots = [f for op in operations_ for f in _fields(op.selection_set)]
    if any(f.name.value == "node" for f in roots):
        errors.append(_invalid("Bulk queries cannot contain a top level `node` field."))
    shape = _Shape()
    query_type = schema.query_type
    assert query_type is not None
    for op in operations_:
        _walk_shape(query_type, op.selection_set, shape, 0, False, True, "")
    if not shape.connections:
        errors.append(_invalid("Bulk queries must contain at least one connection."))
        return errors
    if shape.with_nodes:
        first = shape.with_nodes[0]
        errors.append(
            _invalid(
                "All connection fields in a bulk query must select their contents using 'edges' > 'node', e.g: "
                f"'{first} {{ edges {{ node {{'. Selecting via 'nodes' is not supported. Invalid connection "
                f"fields: {', '.join(repr(n) for n in shape.with_nodes)}."
            )
        )
    if shape.too_deep:
        errors.append(_invalid("Bulk queries cannot contain connections with a nesting depth greater than 2."))
    elif len(shape.connections) > MAX_CONNECTIONS:
        errors.append(_invalid(f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."))
    if shape.without_parent_id:
        errors.append(
            _invalid(
                "The parent 'node' field for a nested connection must select the 'id' field without an alias and "
                "must be of 'ID' return type. Connection fields without 'id': "
                f"{', '.join(dict.fromkeys(shape.without_parent_id))}."
            )
        )
    if shape.in_list:
        errors.append(
            _invalid("Queries that contain a connection field within a list field are not currently supported.")
        )
    return errors


# ---- execution: the query over the same views the GraphQL root serves -----------------------------------


class _Writer:
    def __init__(self, schema: GraphQLSchema, group: bool) -> None:
        self.schema = schema
        self.group = group
        self.lines: list[str] = []
        self.roots = 0

    def _args(self, node: FieldNode) -> dict[str, Any]:
        return {a.name.value: value_from_ast_untyped(a.value) for a in node.arguments}

    def _resolve(self, raw: Any, args: dict[str, Any]) -> Any:
        return raw(None, **args) if callable(raw) else raw

    def connection_nodes(self, raw: Any, node: FieldNode) -> list[Any]:
        """Every node of a connection field, page by page (250 a page, like any client)."""
        args = self._args(node)
        out: list[Any] = []
        after: str | None = None
        while True:
            page_args = {**args, "first": PAGE, **({"after": after} if after else {})}
            page = self._resolve(raw, page_args)
            out.extend(edge["node"] for edge in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                return out
            after = page["pageInfo"]["endCursor"]

    def obj(
        self, view: Any, parent: GraphQLObjectType, selection: SelectionSetNode | None, children: list[tuple[str, Any]]
    ) -> dict[str, Any]:
        """One object's fields; nested connections are collected as (connection name, node views) for later."""
        out: dict[str, Any] = {}
        typename = view.get("__typename") if isinstance(view, dict) else None
        for sel in selection.selections if selection else ():
            if isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition.name.value if sel.type_condition else None
                if cond is None or cond == typename:
                    target = self.schema.get_type(cond) if cond else parent
                    assert isinstance(target, GraphQLObjectType)
                    out.update(self.obj(view, target, sel.selection_set, children))
                continue
            if not isinstance(sel, FieldNode):
                continue
            name = sel.name.value
            key = sel.alias.value if sel.alias else name
            if name == "__typename":
                out[key] = typename or parent.name
                continue
            type_ = _field_type(parent, name)
            raw = view.get(name) if isinstance(view, dict) else None
            if type_ is None:
                continue
            if _is_connection(type_):
                node_type = _node_type(type_)
                node_sel = next(
                    (
                        n.selection_set
                        for e in _fields(sel.selection_set)
                        if e.name.value == "edges"
                        for n in _fields(e.selection_set)
                        if n.name.value == "node"
                    ),
                    None,
                )
                children.append((node_type.name, (self.connection_nodes(raw, sel), node_type, node_sel)))
                continue
            value = self._resolve(raw, self._args(sel))
            out[key] = self.value(value, type_, sel.selection_set, children)
        return out

    def value(self, value: Any, type_: GraphQLOutputType, sel: SelectionSetNode | None, children: list[Any]) -> Any:
        if value is None:
            return None
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(inner, GraphQLList):
            return [self.value(v, inner.of_type, sel, children) for v in value]
        named = get_named_type(inner)
        if sel is None:
            return value
        target = named
        if not isinstance(target, GraphQLObjectType):
            typename = value.get("__typename") if isinstance(value, dict) else None
            target = self.schema.get_type(typename) if typename else None  # type: ignore[assignment]
        if not isinstance(target, GraphQLObjectType):
            return value
        return self.obj(value, target, sel, children)

    def write_connection(self, nodes: list[Any], node_type: Any, sel: SelectionSetNode | None, parent_id: Any) -> None:
        pending: list[tuple[str, list[tuple[str, Any]]]] = []
        for view in nodes:
            children: list[tuple[str, Any]] = []
            record = self.obj(view, node_type, sel, children)
            if parent_id is None:
                self.roots += 1
            else:
                record["__parentId"] = parent_id
            self.lines.append(json.dumps(record, separators=(",", ":")))
            if self.group:
                self._children(record.get("id"), children)
            else:
                pending.append((record.get("id"), children))  # type: ignore[arg-type]
        for own_id, children in pending:
            self._children(own_id, children)

    def _children(self, own_id: Any, children: list[tuple[str, Any]]) -> None:
        for _name, (nodes, node_type, sel) in children:
            self.write_connection(nodes, node_type, sel, own_id)


def run_query(
    ctx: RequestContext, root: dict[str, Any], document: DocumentNode, group_objects: bool
) -> tuple[list[str], int]:
    """The JSONL lines of a (validated) bulk query and its number of root objects."""
    schema = load_schema(ctx.version)
    writer = _Writer(schema, group_objects)
    query_type = schema.query_type
    assert query_type is not None
    for op in (d for d in document.definitions if isinstance(d, OperationDefinitionNode)):
        children: list[tuple[str, Any]] = []
        writer.obj(root, query_type, op.selection_set, children)
        for _name, (nodes, node_type, sel) in children:
            writer.write_connection(nodes, node_type, sel, None)
    return writer.lines, writer.roots


# ---- views and root fields ------------------------------------------------------------------------------


def view(op: BulkOperation, domain: str) -> dict[str, Any]:
    """The ``BulkOperation`` object; ``url`` points at this emulator's download route for ``domain``."""
    done = op.status == "COMPLETED"
    return {
        "__typename": "BulkOperation",
        "id": op.id,
        "status": op.status,
        "type": op.type,
        "errorCode": None,
        "createdAt": iso(op.created_at),
        "completedAt": iso(op.completed_at),
        "objectCount": str(len(op.lines)) if done else "0",
        "rootObjectCount": str(op.root_object_count) if done else "0",
        "fileSize": str(op.file_size) if done and op.lines else None,
        "url": f"{op.base_url}/__emulator/bulk/{domain}/{op.number}.jsonl" if done and op.lines else None,
        "partialDataUrl": None,
        "query": op.query,
    }


def _advance(ctx: RequestContext, op: BulkOperation) -> None:
    """One status read moves a running operation one step on (CREATED -> RUNNING -> COMPLETED)."""
    if op.status == "CREATED":
        op.status = "RUNNING"
    elif op.status == "RUNNING":
        op.status = "COMPLETED"
        op.completed_at = ctx.store.clock.now()
    elif op.status == "CANCELING":
        op.status = "CANCELED"
        op.completed_at = ctx.store.clock.now()


def root_fields(ctx: RequestContext, root: dict[str, Any]) -> dict[str, Any]:
    """``bulkOperationRunQuery``, ``bulkOperation``, ``currentBulkOperation``, ``bulkOperationCancel``."""
    shop = ctx.shop
    ops = operations(shop)

    def shown(op: BulkOperation) -> dict[str, Any]:
        return view(op, shop.domain)

    def run_query_(_info: Any, query: str, groupObjects: bool = False) -> dict[str, Any]:  # noqa: N803
        errors, document = _check(load_schema(ctx.version), query)
        if errors or document is None:
            return {"bulkOperation": None, "userErrors": errors}
        running = [o for o in ops.values() if o.type == "QUERY" and o.status not in TERMINAL]
        if len(running) >= MAX_IN_FLIGHT:
            message = "A bulk query operation for this app and shop is already in progress: "
            message += ", ".join(o.id for o in running) + "."
            return {
                "bulkOperation": None,
                "userErrors": [{"field": None, "message": message, "code": "OPERATION_IN_PROGRESS"}],
            }
        op = BulkOperation(
            id=ctx.store.new_id("BulkOperation"),
            query=query,
            created_at=ctx.store.clock.now(),
            base_url=request_base_url.get().rstrip("/"),
        )
        op.lines, op.root_object_count = run_query(ctx, root, document, groupObjects)
        op.file_size = len(op.body())
        ops[op.id] = op
        ctx.writes += 1
        return {"bulkOperation": shown(op), "userErrors": []}

    def bulk_operation(_info: Any, id: str) -> dict[str, Any] | None:  # noqa: A002
        op = ops.get(id)
        if op is None:
            return None
        _advance(ctx, op)
        return shown(op)

    def current(_info: Any, type: str = "QUERY") -> dict[str, Any] | None:  # noqa: A002
        mine = [o for o in ops.values() if o.type == type]
        if not mine:
            return None
        _advance(ctx, mine[-1])
        return shown(mine[-1])

    def cancel(_info: Any, id: str) -> dict[str, Any]:  # noqa: A002
        op = ops.get(id)
        if op is None:
            return {
                "bulkOperation": None,
                "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}],
            }
        if op.status in TERMINAL:
            message = f"A bulk operation cannot be canceled when it is {op.status.lower()}"
            return {"bulkOperation": shown(op), "userErrors": [{"field": None, "message": message}]}
        op.status = "CANCELING"
        return {"bulkOperation": shown(op), "userErrors": []}

    return {
        "bulkOperationRunQuery": run_query_,
        "bulkOperation": bulk_operation,
        "currentBulkOperation": current,
        "bulkOperationCancel": cancel,
    }


async def download(request: Request) -> Response:
    """``GET /__emulator/bulk/{shop}/{number}.jsonl``: the result file of a completed operation."""
    from starlette.responses import JSONResponse
    from starlette.responses import Response as PlainResponse

    store = request.app.state.emulator.store
    domain = request.path_params["shop"]
    if not store.has_shop(domain):
        return JSONResponse({"errors": "Not Found"}, status_code=404)
    op = operations(store.shop(domain)).get(make_gid("BulkOperation", request.path_params["number"]))
    if op is None or op.status != "COMPLETED":
        return JSONResponse({"errors": "Not Found"}, status_code=404)
    return PlainResponse(op.body(), media_type="application/jsonl")
