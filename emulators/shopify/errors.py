"""Top-level GraphQL errors in Shopify's (graphql-ruby) wording: document validation and variable coercion.

graphql-core finds the problems; this module renames them the way Shopify reports them, e.g.
``Field 'code' doesn't exist on type 'UserError'`` with ``extensions.code: undefinedField`` and a path that
starts with ``"mutation OperationName"``, and ``INVALID_VARIABLE`` errors with ``value`` and ``problems``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputType,
    GraphQLNonNull,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableDefinitionNode,
    get_named_type,
    print_ast,
)
from graphql.utilities import coerce_input_value

Json = dict[str, Any]
FALLBACK_VALIDATION_CODE = "GRAPHQL_VALIDATION_FAILED"


# ---- paths -------------------------------------------------------------------------------------------
def _node_paths(document: DocumentNode) -> dict[int, list[str]]:
    """``id(node) -> graphql-ruby path`` for every field, argument and input-object field of the document."""
    paths: dict[int, list[str]] = {}

    def value(node: Node, path: list[str]) -> None:
        paths[id(node)] = path
        if isinstance(node, ObjectValueNode):
            for object_field in node.fields:
                value(object_field, [*path, object_field.name.value])
        elif isinstance(node, ObjectFieldNode):
            paths[id(node)] = path
            value(node.value, path)
        elif isinstance(node, ListValueNode):
            for item in node.values:
                value(item, path)

    def selections(selection_set: SelectionSetNode | None, path: list[str]) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.alias.value if selection.alias else selection.name.value
                here = [*path, name]
                paths[id(selection)] = here
                for argument in selection.arguments:
                    arg_path = [*here, argument.name.value]
                    paths[id(argument)] = arg_path
                    value(argument.value, arg_path)
                for directive in selection.directives:
                    paths[id(directive)] = here
                selections(selection.selection_set, here)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else ""
                here = [*path, f"... on {condition}" if condition else "..."]
                paths[id(selection)] = here
                selections(selection.selection_set, here)
            elif isinstance(selection, FragmentSpreadNode):
                paths[id(selection)] = [*path, f"... {selection.name.value}"]

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            kind = definition.operation.value
            root = [f"{kind} {definition.name.value}" if definition.name else kind]
            paths[id(definition)] = root
            for var in definition.variable_definitions:
                paths[id(var)] = root
            selections(definition.selection_set, root)
        elif isinstance(definition, FragmentDefinitionNode):
            root = [f"fragment {definition.name.value}"]
            paths[id(definition)] = root
            selections(definition.selection_set, root)
    return paths


# ---- validation --------------------------------------------------------------------------------------
Rewrite = Callable[[re.Match[str]], tuple[str, Json]]

_REWRITES: list[tuple[re.Pattern[str], Rewrite]] = [
    (
        re.compile(r"^Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\."),
        lambda m: (
            f"Field '{m['field']}' doesn't exist on type '{m['type']}'",
            {"code": "undefinedField", "typeName": m["type"], "fieldName": m["field"]},
        ),
    ),
    (
        re.compile(r"^Unknown argument '(?P<arg>\w+)' on field '\w+\.(?P<field>\w+)'\."),
        lambda m: (
            f"Field '{m['field']}' doesn't accept argument '{m['arg']}'",
            {
                "code": "argumentNotAccepted",
                "name": m["field"],
                "typeName": "Field",
                "argumentName": m["arg"],
            },
        ),
    ),
    (
        re.compile(r"^Unknown argument '(?P<arg>\w+)' on directive '@(?P<dir>\w+)'\."),
        lambda m: (
            f"Directive '{m['dir']}' doesn't accept argument '{m['arg']}'",
            {
                "code": "argumentNotAccepted",
                "name": m["dir"],
                "typeName": "Directive",
                "argumentName": m["arg"],
            },
        ),
    ),
    (
        re.compile(r"^Field '(?P<field>\w+)' is not defined by type '(?P<type>\w+)'\."),
        lambda m: (
            f"InputObject '{m['type']}' doesn't accept argument '{m['field']}'",
            {
                "code": "argumentNotAccepted",
                "name": m["type"],
                "typeName": "InputObject",
                "argumentName": m["field"],
            },
        ),
    ),
    (
        re.compile(
            r"^Field '(?P<field>\w+)' argument '(?P<arg>\w+)' of type '[^']+' is required, "
            r"but it was not provided\."
        ),
        lambda m: (
            f"Field '{m['field']}' is missing required arguments: {m['arg']}",
            {
                "code": "missingRequiredArguments",
                "className": "Field",
                "name": m["field"],
                "arguments": m["arg"],
            },
        ),
    ),
    (
        re.compile(r"^Field '(?P<type>\w+)\.(?P<field>\w+)' of required type '(?P<ftype>[^']+)' was not provided\."),
        lambda m: (
            f"Argument '{m['field']}' on InputObject '{m['type']}' is required. Expected type {m['ftype']}",
            {
                "code": "missingRequiredInputObjectAttribute",
                "argumentName": m["field"],
                "argumentType": m["ftype"],
                "inputObjectType": m["type"],
            },
        ),
    ),
    (
        re.compile(r"^Unknown directive '@(?P<dir>\w+)'\."),
        lambda m: (
            f"Directive @{m['dir']} is not defined",
            {"code": "undefinedDirective", "directiveName": m["dir"]},
        ),
    ),
    (
        re.compile(r"^Directive '@(?P<dir>\w+)' may not be used on (?P<loc>\w+)\."),
        lambda m: (
            f"'@{m['dir']}' can't be applied to {m['loc'].lower()}s (allowed: fields)",
            {"code": "directiveCannotBeApplied", "targetName": m["loc"].lower(), "name": m["dir"]},
        ),
    ),
    (
        re.compile(r"^Variable '\$(?P<var>\w+)' is not defined(?: by operation '(?P<op>\w+)')?\."),
        lambda m: (
            f"Variable ${m['var']} is used by {m['op'] or 'anonymous query'} but not declared",
            {"code": "variableNotDefined", "variableName": m["var"]},
        ),
    ),
    (
        re.compile(r"^Variable '\$(?P<var>\w+)' is never used(?: in operation '(?P<op>\w+)')?\."),
        lambda m: (
            f"Variable ${m['var']} is declared by {m['op'] or 'anonymous query'} but not used",
            {"code": "variableNotUsed", "variableName": m["var"]},
        ),
    ),
    (
        re.compile(r"^Field '(?P<field>\w+)' of type '(?P<type>[^']+)' must have a selection of subfields"),
        lambda m: (
            f"Field must have selections (field '{m['field']}' returns {m['type'].strip('[]!')} "
            "but has no selections. "
            f"Did you mean '{m['field']} {{ ... }}'?)",
            {
                "code": "selectionMismatch",
                "nodeName": f"field '{m['field']}'",
                "typeName": m["type"].strip("[]!"),
            },
        ),
    ),
    (
        re.compile(
            r"^Field '(?P<field>\w+)' must not have a selection "
            r"since type '(?P<type>[^']+)' has no subfields\."
        ),
        lambda m: (
            f"Selections can't be made on scalars (field '{m['field']}' returns {m['type'].strip('[]!')} "
            "but has selections)",
            {
                "code": "selectionMismatch",
                "nodeName": f"field '{m['field']}'",
                "typeName": m["type"].strip("[]!"),
            },
        ),
    ),
    (
        re.compile(r"^Unknown type '(?P<type>\w+)'\."),
        lambda m: (
            f"No such type {m['type']}, so it can't be a fragment condition",
            {"code": "undefinedType", "typeName": m["type"]},
        ),
    ),
]


def validation_error(error: GraphQLError, paths: dict[int, list[str]]) -> Json:
    """One graphql-core validation error in Shopify's shape (unknown kinds keep graphql-core's message)."""
    message, extensions = error.message, {"code": FALLBACK_VALIDATION_CODE}
    for pattern, rewrite in _REWRITES:
        match = pattern.match(error.message)
        if match:
            message, extensions = rewrite(match)
            break
    out: Json = {"message": message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    node = error.nodes[-1] if error.nodes else None
    if node is not None:
        path = paths.get(id(node))
        if path is not None:
            out["path"] = path
    out["extensions"] = extensions
    return out


def validation_errors(errors: list[GraphQLError], document: DocumentNode) -> list[Json]:
    paths = _node_paths(document)
    return [validation_error(e, paths) for e in errors]


def syntax_error(error: GraphQLError) -> Json:
    out: Json = {"message": error.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    out["extensions"] = {"code": "PARSE_ERROR"}
    return out


# ---- variables -----------------------------------------------------------------------------------------
def _explain(error: GraphQLError, input_type: GraphQLInputType, invalid: Any) -> tuple[list[str], str]:
    """(extra path segments, explanation) in graphql-ruby words."""
    msg = error.message
    if m := re.match(r"^Field '(\w+)' is not defined by type '(\w+)'\.", msg):
        return [m[1]], f"Field is not defined on {m[2]}"
    if m := re.match(r"^Field '(\w+)' of required type '[^']+' was not provided\.", msg):
        return [m[1]], "Expected value to not be null"
    if msg.startswith("Expected non-nullable type"):
        return [], "Expected value to not be null"
    named = get_named_type(input_type)
    if isinstance(named, GraphQLEnumType):
        return [], f'Expected "{invalid}" to be one of: {", ".join(named.values)}'
    if m := re.match(r"^(Int|Float|String|Boolean|ID) cannot represent", msg):
        shown = (
            f'"{invalid}"'
            if isinstance(invalid, str)
            else str(invalid).lower()
            if isinstance(invalid, bool)
            else invalid
        )
        return [], f"Could not coerce value {shown} to {m[1]}"
    if msg.startswith("Expected type") and "to be an object" in msg:
        return [], f"Expected {invalid!r} to be a key-value object."
    return [], msg


def _type_at(root: GraphQLInputType, path: list[str | int]) -> GraphQLInputType:
    from graphql import GraphQLInputObjectType, GraphQLList, get_nullable_type

    current: Any = root
    for step in path:
        current = get_nullable_type(current)
        if isinstance(current, GraphQLList):
            current = current.of_type
        elif isinstance(current, GraphQLInputObjectType) and isinstance(step, str) and step in current.fields:
            current = current.fields[step].type
    return current


def _collector(
    var_type: GraphQLInputType, problems: list[Json]
) -> Callable[[list[str | int], Any, GraphQLError], None]:
    def on_error(path: list[str | int], invalid: Any, error: GraphQLError) -> None:
        extra, explanation = _explain(error, _type_at(var_type, path), invalid)
        problems.append({"path": [*path, *extra], "explanation": explanation})

    return on_error


def variable_errors(
    definitions: list[VariableDefinitionNode],
    types: dict[str, GraphQLInputType],
    raw: dict[str, Any],
) -> list[Json]:
    """Shopify ``INVALID_VARIABLE`` errors for variables that do not coerce (empty list when all do)."""
    out: list[Json] = []
    for definition in definitions:
        name = definition.variable.name.value
        var_type = types[name]
        type_text = print_ast(definition.type)
        problems: list[Json] = []
        if name not in raw or raw[name] is None:
            if isinstance(var_type, GraphQLNonNull) and (name in raw or definition.default_value is None):
                problems.append({"path": [], "explanation": "Expected value to not be null"})
        else:
            coerce_input_value(raw[name], var_type, _collector(var_type, problems))
        if not problems:
            continue
        described = ", ".join(
            f"{'.'.join(str(p) for p in problem['path'])} ({problem['explanation']})"
            for problem in problems
            if problem["path"]
        )
        message = f"Variable ${name} of type {type_text} was provided invalid value"
        if described:
            message += f" for {described}"
        loc = definition.loc
        error: Json = {"message": message}
        if loc is not None:
            error["locations"] = [
                {
                    "line": loc.source.get_location(loc.start).line,
                    "column": loc.source.get_location(loc.start).column,
                }
            ]
        error["extensions"] = {"code": "INVALID_VARIABLE", "value": raw.get(name), "problems": problems}
        out.append(error)
    return out
