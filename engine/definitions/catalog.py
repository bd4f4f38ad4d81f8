"""The step catalog: every step a flow may name, and what the engine knows about it. One place: the flow
schema is generated from it, validation reads its requirements, the workflow its scope and priority, and
docs/flows.md its table. The interpreter knows no step by name; it asks the catalog.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Literal

Scope = Literal["return", "state"]

# What a template may say about a return (`add_order_note`, `notify`). No customer personal data exists here.
TEMPLATE_FIELDS: dict[str, str] = {
    "brand": "the brand's key (castore)",
    "rebound_return_id": "Rebound's return id",
    "order_name": "the Shopify order (#CA1001)",
    "state": "the state the return is in",
    "flow": "the flow and its version (return@2)",
    "items": "how many units the return has",
    "skus": "the SKUs returned, comma-separated",
    "refund": "the refund so far (45.00 GBP, or none)",
    "shopify_return": "the Shopify return's name, or none",
}

TAG = {"type": "string", "pattern": "^[^,]{1,40}$", "description": "A Shopify order tag (no comma, 40 chars at most).",
       "examples": ["return-received"]}  # fmt: skip
TEMPLATE = {
    "type": "string",
    "minLength": 1,
    "maxLength": 500,
    "description": "Text with {placeholders}: " + ", ".join(TEMPLATE_FIELDS) + ".",
    "examples": ["Rebound return {rebound_return_id} received at the hub ({items} items)"],
}


@dataclass(frozen=True)
class StepSpec:
    name: str
    summary: str
    activity: str | None  # the activity it runs; None: decided inside the workflow
    scope: Scope = "return"  # once per return, or once per state it is listed in
    requires: tuple[str, ...] = ()  # steps that must have run earlier on every path to this one ("a|b": either)
    priority: int = 3  # on the shop's queue under a backlog: 1 is handed out first
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # JSON Schema per `with:` key
    required_params: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()  # named outcomes, each routed by the flow: `on_<outcome>: <state>`
    effect: Literal["", "refund", "stock"] = ""  # what operator overrides must respect
    forced_by: str = ""  # the operator override that runs this step at once (`force_refund`)
    calls_shopify: bool = True  # False: its activity runs on the return's own queue, not the shop's
    items_in_hand: bool = False  # what it leaves covers the items in hand only: a late parcel's round needs it again

    def template_params(self) -> list[str]:
        return [name for name, schema in self.params.items() if schema is TEMPLATE]


STEPS: tuple[StepSpec, ...] = (
    StepSpec(
        "validate_order",
        "Check the order: it exists, the items were fulfilled and are still returnable, "
        "inside the brand's return window. Outcome `invalid` when it cannot take this return.",
        "validate_order",
        priority=4,
        outcomes=("invalid",),
    ),  # fmt: skip
    StepSpec(
        "create_shopify_return",
        "Open the Shopify return (reasons from the mapping) and link it to the "
        "Rebound return on the order with the status `requested`; adopts one an earlier attempt created. "
        "`fees: on_shopify_return` records the mapping's fees on it (return shipping fee, restocking percentage "
        "on customer-fault lines) for `process_shopify_return` to settle.",
        "create_return",
        requires=("validate_order",),
        priority=4,
        params={
            "fees": {
                "enum": ["deducted_from_refund", "on_shopify_return"],
                "default": "deducted_from_refund",
                "description": "Where the mapping's fees are recorded: only as a smaller refund, or as Shopify fees.",
            }
        },
    ),  # fmt: skip
    StepSpec(
        "attach_tracking",
        "Put the carrier's tracking number on the Shopify return's reverse delivery (once per number).",
        "attach_tracking",
        scope="state",
        requires=("create_shopify_return",),
    ),  # fmt: skip
    StepSpec(
        "sync_order_status",
        "Write the return's state, tracking and refund onto the order's Rebound "
        "metafield (a no-op before the order is known). List it where Shopify's own objects show nothing of "
        "the state: each write costs the shop's bucket 10 points.",
        "sync_order_status",
        scope="state",
    ),  # fmt: skip
    StepSpec(
        "assign_dispositions",
        "Map each item's grade through the brand's mapping to a disposition and "
        "location. `ungraded`: what an item with no grade gets (`missing`: the mapping's rule for items not "
        "in the parcel; `best_grade`: the first grade of the brand's scale, for flows without inspection).",
        None,
        requires=("validate_order",),
        items_in_hand=True,
        params={
            "ungraded": {
                "enum": ["missing", "best_grade"],
                "default": "missing",
                "description": "The rule for items nobody graded.",
            }
        },
    ),  # fmt: skip
    StepSpec(
        "restock_items",
        "Dispose each item in Shopify as assigned: only sellable units reach `available`, "
        "at their mapped location; each disposition once.",
        "dispose_items",
        requires=("create_shopify_return", "assign_dispositions"),
        priority=2,
        effect="stock",
    ),  # fmt: skip
    StepSpec(
        "issue_refund",
        "Refund by the mapping's rules, exactly once (idempotency key and a read of the "
        "order's refunds first; a manual refund pre-empts it).",
        "issue_refund",
        requires=("validate_order",),
        priority=1,
        effect="refund",
        forced_by="force_refund",
    ),  # fmt: skip
    StepSpec(
        "process_shopify_return",
        "Settle the return through Shopify's own return (returnProcess): confirm the units the refund covers and "
        "refund them by the mapping's rules (payments split as it says, or store credit), at Shopify's figure "
        "(suggestedFinancialOutcome: the lines less the fees on the return) when units are refunded in full; once "
        "per return (per parcel round): Shopify's processed quantities and the order's refunds are read before any "
        "repeat. A refund a person made first pre-empts it (finance is told).",
        "process_return",
        requires=("create_shopify_return",),
        priority=1,
        effect="refund",
        forced_by="force_refund",
    ),  # fmt: skip
    StepSpec(
        "credit_store_credit_bonus",
        "Credit the mapping's store-credit bonus on top of a store-credit refund, once.",
        "credit_bonus",
        requires=("issue_refund|process_shopify_return",),
        priority=1,
        effect="refund",
    ),  # fmt: skip
    StepSpec(
        "verify_refund",
        "For brands whose refunds Rebound's app issues: wait for that refund in Shopify "
        "(up to the mapping's SLA), never issue one.",
        "find_refund",
        requires=("validate_order",),
        priority=1,
        effect="refund",
    ),  # fmt: skip
    StepSpec(
        "await_exchange_payment",
        "When an exchange is for a dearer variant: wait (up to the mapping's slas.exchange_payment_within) for the "
        "customer to pay, as Shopify's fulfillment order for the exchange shows (held AWAITING_PAYMENT until paid); "
        "CX is told if it is not paid in time. Does nothing when no exchange is owed.",
        "exchange_payment",
        requires=("process_shopify_return",),
        priority=2,
    ),  # fmt: skip
    StepSpec(
        "close_shopify_return",
        "Close the Shopify return.",
        "close_return",
        requires=("create_shopify_return",),
        priority=2,
    ),  # fmt: skip
    StepSpec(
        "cancel_shopify_return", "Cancel the Shopify return, if one was opened.", "cancel_return", priority=2
    ),  # fmt: skip
    StepSpec(
        "tag_order",
        "Add a tag to the Shopify order.",
        "tag_order",
        requires=("validate_order",),
        params={"tag": TAG},
        required_params=("tag",),
    ),  # fmt: skip
    StepSpec(
        "untag_order",
        "Remove a tag from the Shopify order.",
        "untag_order",
        requires=("validate_order",),
        params={"tag": TAG},
        required_params=("tag",),
    ),  # fmt: skip
    StepSpec(
        "add_order_note",
        "Append a line to the Shopify order's note (once; the Rebound id marks it).",
        "add_order_note",
        requires=("validate_order",),
        params={"text": TEMPLATE},
        required_params=("text",),
    ),  # fmt: skip
    StepSpec(
        "notify",
        "POST the return's facts (never customer personal data) to the URL held by an "
        "environment variable of the worker, as JSON or as a Slack message.",
        "notify",
        params={
            "url_env": {
                "type": "string",
                "pattern": "^RETURNS_NOTIFY_[A-Z0-9_]+$",
                "description": "The worker's environment variable holding the URL (a secret: never written in a flow).",
                "examples": ["RETURNS_NOTIFY_OPS"],
            },
            "format": {"enum": ["json", "slack"], "default": "json"},
            "message": TEMPLATE,
        },
        required_params=("url_env", "message"),
        calls_shopify=False,
    ),  # fmt: skip
)

CATALOG: dict[str, StepSpec] = {spec.name: spec for spec in STEPS}


def template_placeholders(text: str) -> list[str]:
    """The {names} a template uses; raises ValueError when the braces do not parse."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def render_template(text: str, facts: dict[str, str]) -> str:
    return text.format_map({name: facts.get(name, "") for name in template_placeholders(text)})


def catalog_table() -> str:
    """The catalog as docs/flows.md shows it (a test keeps the page in step with this)."""
    rows = [
        "| step | runs | needs earlier | `with:` | Shopify priority | what it does |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in STEPS:
        params = (
            ", ".join(f"`{name}`{' (required)' if name in spec.required_params else ''}" for name in spec.params) or "-"
        )
        needs = ", ".join(" or ".join(f"`{a}`" for a in r.split("|")) for r in spec.requires) or "-"
        runs = "once per return" if spec.scope == "return" else "once per state"
        outcomes = "".join(
            f" Outcome `{o}`: `on_{o}:` names where it leads." for o in spec.outcomes if o not in spec.summary
        )
        priority = str(spec.priority) if spec.activity and spec.calls_shopify else "-"
        rows.append(f"| `{spec.name}` | {runs} | {needs} | {params} | {priority} | {spec.summary}{outcomes} |")
    return "\n".join(rows)
