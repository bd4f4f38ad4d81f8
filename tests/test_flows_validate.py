# ruff: noqa: E501  (the table of broken flows reads best one case a line)
"""`returns flows validate`: a flow is checked before anything runs it. Each broken flow below is refused with
its file, line, column, field and a hint; a flow that passes cannot crash the interpreter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.definitions.flow import FlowDef, load_flow
from engine.definitions.flow_schema import flow_schema
from engine.errors import DefinitionError
from tests.paths import REPO_ROOT

FLOW = (REPO_ROOT / "flows" / "return.yaml").read_text()


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(DefinitionError) as err:
        load_flow(path)
    return [str(p) for p in err.value.problems]


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = text.splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if needle in line]
    return hits[occurrence - 1]


def edit(old: str, new: str, count: int = 1) -> str:
    assert old in FLOW, old
    return FLOW.replace(old, new, count)


REQUESTED_STEPS = """      - step: validate_order
        on_invalid: rejected
      - step: create_shopify_return
        with: {fees: on_shopify_return}
"""
REJECTED = """  rejected:
    kind: terminal
    description: The order cannot take this return (not found, not fulfilled, outside the window, over quantity).
"""

# name -> (broken text, the line's marker (text found on the reported line), words the message must contain)
CASES: dict[str, tuple[str, str, list[str]]] = {
    "unknown step": (edit("- step: attach_tracking", "- step: attach_trackin"), "attach_trackin",
                     ["states.in_transit.steps[0].step", "did you mean 'attach_tracking'"]),
    "unknown parameter": (edit("- step: assign_dispositions\n", "- step: assign_dispositions\n        with: {colour: red}\n"),
                          "colour: red", ["states.inspected.steps[0].with.colour", "allowed keys here: ungraded"]),
    "parameter value": (edit("- step: assign_dispositions\n", "- step: assign_dispositions\n        with: {ungraded: all}\n"),
                        "ungraded: all", ["with.ungraded", "'all' is not one of"]),
    "parameter type": (edit("- step: sync_order_status\n    sla:\n      within: 7d",
                            "- step: tag_order\n        with: {tag: 42}\n      - step: sync_order_status\n    sla:\n      within: 7d"),
                       "tag: 42", ["with.tag", "42 is not of type 'string'"]),
    "missing parameter": (edit("- step: sync_order_status\n    sla:\n      within: 7d",
                               "- step: tag_order\n      - step: sync_order_status\n    sla:\n      within: 7d"),
                          "- step: tag_order", ["states.received.steps[0]", "'with' is a required property"]),
    "unknown key on a step": (edit("      - step: close_shopify_return\n", "      - step: close_shopify_return\n        retry: 3\n"),
                              "retry: 3", ["states.refunded.steps[4].retry", "Additional properties"]),
    "steps in the wrong order": (edit(REQUESTED_STEPS, "      - step: create_shopify_return\n        with: {fees: on_shopify_return}\n      - step: validate_order\n        on_invalid: rejected\n"),
                                 "- step: create_shopify_return", ["create_shopify_return needs validate_order earlier on every path"]),
    "rejected dropped": (edit(REJECTED, ""), "on_invalid: rejected", ["on_invalid 'rejected' is not a state of this flow"]),
    "validation with nowhere to reject to": (edit("        on_invalid: rejected\n", ""), "- step: validate_order",
                                             ["validate_order needs on_invalid"]),
    "outcome to a milestone": (edit("on_invalid: rejected", "on_invalid: received"), "on_invalid: received",
                               ["on_invalid must lead to a terminal state"]),
    "outcome a step does not have": (edit("      - step: create_shopify_return\n", "      - step: create_shopify_return\n        on_invalid: cancelled\n"),
                                     "on_invalid: cancelled", ["create_shopify_return has no outcome 'invalid'"]),
    "event to an unknown state": (edit("  received: received\n", "  received: recieved\n"), "received: recieved",
                                  ["events.received", "event 'received' targets 'recieved' is not a state", "did you mean 'received'"]),
    "unknown event": (edit("  cancelled: cancelled\n", "  canceled: cancelled\n"), "canceled: cancelled",
                      ["events.canceled", "'canceled' is not a canonical event", "did you mean 'cancelled'"]),
    "then to an unknown state": (edit("then: restocked", "then: restock"), "then: restock", ["then: 'restock' is not a state"]),
    "then going backwards": (edit("then: restocked", "then: received"), "then: received", ["goes back in the milestones"]),
    "unreachable state": (FLOW + "  lost:\n    kind: terminal\n", "  lost:", ["state 'lost' can never be reached"]),
    "a state with no way out": (edit("    then: refunded\n", ""), "  restocked:", ["state 'restocked' has no way out"]),
    "no terminal state": (edit("  refunded:\n    kind: terminal", "  refunded:\n    kind: milestone")
                          .replace("  cancelled:\n    kind: terminal", "  cancelled:\n    kind: milestone")
                          .replace("  rejected:\n    kind: terminal", "  rejected:\n    kind: milestone"),
                          "states:", ["no terminal state"]),
    "no start state": (edit("    kind: start\n", ""), "states:", ["no start state"]),
    "two start states": (edit("  in_transit:\n", "  in_transit:\n    kind: start  # a second one\n"), "# a second one", ["a second start state"]),
    "milestone missing from the states": (edit("restocked, refunded]", "restocked, reimbursed, refunded]"),
                                          "milestones:", ["milestone 'reimbursed' is not a state"]),
    "when that does not compile": (edit("when: \"mapping.refund.issuer == 'rebound_app'\"", "when: \"mapping.refund.issuer ==\""),
                                   "mapping.refund.issuer ==\"", ["states.refunded.steps[2].when", "JMESPath does not compile"]),
    "when naming a field that does not exist": (edit("mapping.refund.method == 'store_credit'", "mapping.refund.methd == 'store_credit'"),
                                                "methd", ["mapping.refund.methd does not exist", "fields here: gift_cards, issuer, method"]),
    "on_reaching naming a context that does not exist": (edit("on_reaching: mapping.refund.trigger", "on_reaching: refund.trigger"),
                                                          "on_reaching: refund.trigger", ["refund does not exist", "fields here: mapping, return"]),
    "template placeholder": (edit("- step: sync_order_status\n    sla:\n      within: 7d",
                                  "- step: add_order_note\n        with: {text: 'parcel for {customer_email}'}\n      - step: sync_order_status\n    sla:\n      within: 7d"),
                             "customer_email", ["{customer_email}, which a return does not have"]),
    "format 1 file": (edit("format: 2\n", ""), "name: return", ["'format' is a required property"]),
    "terminal with then": (edit("  rejected:\n    kind: terminal\n", "  rejected:\n    kind: terminal\n    then: requested\n"),
                           "then: requested", ["a terminal state has no `then`"]),
    "a parameter to a step that takes none": (edit("      - step: attach_tracking\n", "      - step: attach_tracking\n        with: {carrier: dhl}\n"), "carrier: dhl",
                                              ["states.in_transit.steps[0].with.carrier", "attach_tracking takes no parameters"]),
    "the refund brought forward, listed first": (edit("      - step: validate_order\n", "      - step: issue_refund\n        on_reaching: mapping.refund.trigger\n      - step: validate_order\n"),
                                                 "- step: issue_refund", ["states.requested.steps[0].step", "issue_refund needs validate_order earlier on every path", "move issue_refund below validate_order"]),
    "a step where an outcome leads, without what it needs": (edit(REJECTED, REJECTED + "    steps:\n      - step: tag_order\n        with: {tag: rejected}\n"), "- step: tag_order",
                                                             ["states.rejected.steps[0].step", "tag_order needs validate_order", "when validate_order is invalid"]),
    "a terminal reached before anything ran": (edit("      - step: cancel_shopify_return\n", "      - step: close_shopify_return  # when cancelled\n"), "# when cancelled",
                                               ["states.cancelled.steps[0].step", "close_shopify_return needs create_shopify_return earlier on every path"]),
    "a step that can never run": (edit("      - step: attach_tracking\n", "      - step: attach_tracking\n      - step: validate_order  # again\n        on_invalid: rejected\n"), "# again", ["states.in_transit.steps[1].step", "validate_order can never run here"]),
    "on_reaching bringing a step before what it needs": (edit("      - step: restock_items\n", "      - step: restock_items\n        on_reaching: mapping.refund.trigger\n"), "on_reaching: mapping.refund.trigger",
                                                          ["states.restocked.steps[0].on_reaching", "on_reaching can bring it forward to 'requested', 'in_transit', 'received'", "assign_dispositions"]),
    "a requirement under another when": (edit("when: \"mapping.refund.method == 'store_credit' && mapping.refund.issuer == 'engine'\"", "when: \"mapping.refund.method == 'store_credit'\""),
                                         "- step: credit_store_credit_bonus", ["states.refunded.steps[1].step", "which runs only when mapping.refund.issuer == 'engine'"]),
    "a state named like the interpreter's start": (edit("  rejected:\n", "  new:\n    kind: terminal\n  rejected:\n"), "  new:",
                                                   ["'new' is the name the engine gives a return before its first event"]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_broken_flow_is_refused_at_its_line_with_a_hint(tmp_path: Path, name: str) -> None:
    text, marker, words = CASES[name]
    found = problems_of(tmp_path, text)
    line = line_of(text, marker)
    located = [p for p in found if p.startswith(f"{tmp_path / 'broken.yaml'}:{line}:")]
    assert located, (name, line, found)
    for word in words:
        assert any(word in p for p in located), (name, word, located)


def test_at_least_twenty_different_mistakes_are_each_refused_for_their_own_reason(tmp_path: Path) -> None:
    """The table is twenty ways to break a flow, not one mistake twenty times: no two cases read alike."""
    refusals = {name: frozenset(p.split(": ", 1)[1] for p in problems_of(tmp_path, text))
                for name, (text, _, _) in CASES.items()}  # fmt: skip
    alike = {a: b for a in refusals for b in refusals if a < b and refusals[a] == refusals[b]}
    assert alike == {}
    assert len(set(refusals.values())) >= 20


def test_every_problem_in_a_file_is_reported_in_one_run(tmp_path: Path) -> None:
    text = edit("- step: attach_tracking", "- step: attach_trackin").replace("then: restocked", "then: restock")
    text = text.replace("mapping.refund.method == 'store_credit'", "mapping.refund.methd == 'store_credit'")
    found = problems_of(tmp_path, text)
    at = f"{tmp_path / 'broken.yaml'}:"
    expected = [
        (line_of(text, "- step: attach_trackin"), "states.in_transit.steps[0].step:", "did you mean 'attach_tracking'"),
        (line_of(text, "then: restock"), "states.inspected.then:", "'restock' is not a state of this flow"),
        (line_of(text, "mapping.refund.methd"), "states.refunded.steps[1].when:", "mapping.refund.methd does not exist"),
    ]  # fmt: skip
    assert len(found) == len(expected), found
    for problem, (line, path, words) in zip(found, expected, strict=True):
        assert problem.startswith(f"{at}{line}:") and path in problem and words in problem, (problem, line)


def test_the_shipped_flows_pass_and_name_their_schema() -> None:
    for path in sorted((REPO_ROOT / "flows").glob("*.yaml")):
        assert path.read_text().startswith("# yaml-language-server: $schema=../schemas/flow.schema.json")
        flow = load_flow(path)
        assert isinstance(flow, FlowDef) and flow.format == 2
    assert {load_flow(p).name for p in (REPO_ROOT / "flows").glob("*.yaml")} >= {"return", "express"}


def test_the_checked_in_schema_is_generated_from_the_catalog() -> None:
    checked_in = json.loads((REPO_ROOT / "schemas" / "flow.schema.json").read_text())
    assert checked_in == flow_schema(), "stale: python -m engine.definitions.flow_schema --write"


def test_flow_hash_ignores_comments_but_not_content(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(FLOW)
    (tmp_path / "b.yaml").write_text("# a comment\n" + FLOW)
    (tmp_path / "c.yaml").write_text(FLOW.replace("within: 21d", "within: 20d"))
    a, b, c = (load_flow(tmp_path / f"{n}.yaml") for n in "abc")
    assert a.content_hash == b.content_hash != c.content_hash


def test_validate_command_lists_every_problem_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "validate", *map(str, sorted((REPO_ROOT / "flows").glob("*.yaml")))]) == 0
    assert "0 problem(s)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(CASES["steps in the wrong order"][0])
    assert main(["flows", "validate", "--format", "json", str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    [problem] = report["problems"]
    assert problem["path"] == "states.requested.steps[0].step" and problem["line"] == line_of(
        CASES["steps in the wrong order"][0], "- step: create_shopify_return"
    )


def test_the_two_flows_of_issue_23_are_refused_at_the_step_with_what_it_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A parameter given to a step that takes none; the refund, brought forward by on_reaching, listed before the
    step it needs in the start state (every return would hold at registration: "the order is not known")."""
    parameter = CASES["a parameter to a step that takes none"][0]
    first = CASES["the refund brought forward, listed first"][0]
    (tmp_path / "parameter.yaml").write_text(parameter)
    (tmp_path / "first.yaml").write_text(first)
    assert main(["flows", "validate", str(tmp_path / "parameter.yaml"), str(tmp_path / "first.yaml")]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'parameter.yaml'}:{line_of(parameter, 'with: {carrier: dhl}')}:16: "
        "states.in_transit.steps[0].with.carrier: attach_tracking takes no parameters, so `with: carrier` means "
        "nothing to it (hint: remove it (or the whole `with:`))",
        f"{tmp_path / 'first.yaml'}:{line_of(first, '- step: issue_refund')}:9: states.requested.steps[0].step: "
        "issue_refund needs validate_order earlier on every path to it (hint: move issue_refund below validate_order "
        "(a state's steps run in the order listed))",
        "2 file(s) checked, 2 problem(s)",
    ]
