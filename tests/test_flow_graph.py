"""`returns flows graph`: a flow as a Mermaid state diagram, read back as Mermaid would read it (a structural check
of the statements the diagram uses: Mermaid's state-diagram grammar), and one return's way through it marked from
a real Temporal dev server."""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from engine.cli import main
from engine.definitions.flow import FlowDef, StateDef, StepCall, load_flow
from engine.definitions.flow_graph import ReturnPath, mermaid, node_ids, text
from engine.workflow.messages import OperatorAction, OverrideResult, workflow_id
from tests.conftest import Harness
from tests.paths import REPO_ROOT

ID = r"[A-Za-z]\w*"
NODE = rf"(?:\[\*\]|{ID})"
TEXT = r'(?:[^:;\n#%"<>]|#\w+;)+'  # what a description or a label may hold: `:` or `;` would end it
RESERVED = ("default", "acctitle", "accdescr", "statediagram", "hide", "direction", "scale", "note", "class", "state")


@dataclass
class Diagram:
    """What Mermaid reads in a diagram: states (title, description lines), arrows, classes, notes."""

    titles: dict[str, str] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)
    arrows: list[tuple[str, str, str]] = field(default_factory=list)
    class_defs: set[str] = field(default_factory=set)
    classes: dict[str, set[str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def arrow_labels(self, source: str, target: str) -> list[str]:
        return [label for a, b, label in self.arrows if (a, b) == (source, target)]


def read(diagram: str) -> Diagram:
    """Parse the diagram statement by statement; anything outside the grammar fails the test."""
    lines = diagram.splitlines()
    assert lines[0] == "stateDiagram-v2" and diagram.endswith("\n")
    d = Diagram()
    note: str | None = None
    for line in lines[1:]:
        if note is not None:
            if line == "    end note":
                note = None
            else:
                assert re.fullmatch(rf"        {TEXT}", line), line
                d.notes[note].append(line.strip())
            continue
        if m := re.fullmatch(rf'    state "({TEXT})" as ({ID})', line):
            assert m[2] not in d.titles, f"{m[2]} declared twice"
            d.titles[m[2]], d.lines[m[2]] = m[1], []
        elif m := re.fullmatch(rf"    ({NODE}) --> ({NODE})(?: : ({TEXT}))?", line):
            d.arrows.append((m[1], m[2], m[3] or ""))
        elif m := re.fullmatch(rf"    ({ID}) : ({TEXT})", line):
            d.lines[m[1]].append(m[2])
        elif m := re.fullmatch(r"    classDef (\w+) [\w:#,.-]+", line):
            d.class_defs.add(m[1])
        elif m := re.fullmatch(rf"    class ({ID}(?:,{ID})*) (\w+)", line):
            d.classes.setdefault(m[2], set()).update(m[1].split(","))
        elif m := re.fullmatch(rf"    note right of ({ID})", line):
            note = m[1]
            d.notes[note] = []
        else:
            assert re.fullmatch(r"    %% [^\n]*", line), f"not a statement Mermaid reads: {line!r}"
    assert note is None, "a note without `end note`"
    used = {n for a, b, _ in d.arrows for n in (a, b)} | set(d.notes) | {n for ids in d.classes.values() for n in ids}
    assert used - {"[*]"} <= set(d.titles), "an id used but never declared"
    assert set(d.classes) <= d.class_defs
    assert not [n for n in d.titles if n.lower().startswith(RESERVED)]
    return d


@pytest.mark.parametrize("name", ["return", "express"])
def test_the_diagram_shows_every_state_event_step_and_way_out(flows: dict[str, FlowDef], name: str) -> None:
    flow = flows[name]
    d = read(mermaid(flow))
    assert d.titles == {state: f"{state} ({st.kind})" for state, st in flow.states.items()}
    for state, st in flow.states.items():
        shown = [line.split(" ", 1) for line in d.lines[state] if re.match(r"\d+\. ", line)]
        assert [(n, line.split(" ")[0]) for n, line in shown] == [(f"{i}.", c.step) for i, c in enumerate(st.steps, 1)]
        if st.sla:
            assert any(line.startswith("needs attention after ") and st.sla.reason in line for line in d.lines[state])
        if st.then:
            assert "then" in d.arrow_labels(state, st.then)
        for call in st.steps:
            for outcome, target in call.outcomes.items():
                assert f"{call.step} {outcome}" in d.arrow_labels(state, target)
        if st.kind == "terminal":
            assert d.arrow_labels(state, "[*]") == [""]
    into = {b: {kind for a, t, label in d.arrows if t == b for kind in label.split(", ")} for _, b, _ in d.arrows}
    for kind, target in flow.events.items():
        assert kind in into[target], f"event {kind} -> {target} not drawn"
    for terminal, st in flow.states.items():
        if st.allowed_from:
            sources = {a for a, b, label in d.arrows if b == terminal and label in flow.events}
            assert sources == {"[*]", *st.allowed_from}
    assert d.arrow_labels("[*]", flow.start) == ["registered"]


def test_the_standard_flow_reads_as_its_lifecycle(flow: FlowDef) -> None:
    d = read(mermaid(flow))
    walk = [(a, b, label) for a, b, label in d.arrows if a in flow.milestones and b in flow.milestones]
    assert walk == [
        ("requested", "in_transit", "in_transit"),
        ("in_transit", "received", "received"),
        ("received", "inspected", "inspected"),
        ("inspected", "restocked", "then"),
        ("restocked", "refunded", "then"),
    ]
    assert d.lines["refunded"][0] == (
        "1. process_shopify_return (when mapping.refund.issuer == 'engine') (on_reaching mapping.refund.trigger)"
    )
    assert d.lines["requested"][:2] == [
        "1. validate_order (on_invalid → rejected)",
        "2. create_shopify_return (with fees=on_shopify_return)",
    ]


def test_express_draws_a_late_grade_onto_receipt(flows: dict[str, FlowDef]) -> None:
    d = read(mermaid(flows["express"]))
    assert d.arrow_labels("in_transit", "received") == ["received, inspected"]


def test_an_event_for_a_later_milestone_labels_the_walk_to_it(tmp_path: Path) -> None:
    """Without `registered` and `in_transit` events, the first event Rebound sends walks the return from the start:
    the arrows it walks carry it."""
    text_ = (REPO_ROOT / "flows" / "return.yaml").read_text()
    file = tmp_path / "late.yaml"
    file.write_text(text_.replace("  registered: requested\n", "").replace("  in_transit: in_transit\n", ""))
    d = read(mermaid(load_flow(file)))
    assert d.arrow_labels("[*]", "requested") == ["received, inspected"]
    assert d.arrow_labels("requested", "in_transit") == ["received, inspected"]
    assert d.arrow_labels("in_transit", "received") == ["received"]


def test_ids_and_text_are_made_safe_for_mermaid() -> None:
    """State names Mermaid would read as keywords or not as one id get `s_` ids; text that would end a statement
    or mark it up becomes entity codes."""
    names = ["default", "a-b", "a_b", "Note", "state2", "ok", "a b"]
    states = {n: StateDef(n, "terminal" if n == "ok" else "milestone") for n in names}
    states["default"].steps = [StepCall("tag_order", {"tag": "a:b;c #1 <x> 100%"}, when="return.items > `1`")]
    flow = FlowDef("odd", 1, "0" * 64, [n for n in names if n != "ok"], {"registered": "default"}, states)
    ids = node_ids(flow)
    assert ids == {"default": "s_default", "a-b": "s_a_b", "a_b": "a_b", "Note": "s_Note", "state2": "s_state2",
                   "ok": "ok", "a b": "s_a_b_2"}  # fmt: skip
    d = read(mermaid(flow))
    assert d.titles["s_a_b_2"] == "a b (milestone)"
    assert d.lines["s_default"] == [
        "1. tag_order (with tag=a#58;b#59;c #35;1 #lt;x#gt; 100#37;) (when return.items #gt; `1`)"
    ]
    assert text('say "hi"\nthere') == "say #quot;hi#quot; there"


def test_a_return_s_way_is_marked(flow: FlowDef) -> None:
    path = ReturnPath(
        "return-castore-(00)1",
        "received",
        (("new", "requested"), ("requested", "in_transit"), ("in_transit", "received")),
        frozenset({"validate_order", "in_transit:attach_tracking", "round1:received:sync_order_status"}),
        attention="SLA: received but not inspected within 7 days",
    )
    d = read(mermaid(flow, path))
    assert d.classes == {"visited": {"requested", "in_transit"}, "current": {"received"}}
    assert d.arrow_labels("[*]", "requested") == ["registered ✓"]
    assert d.arrow_labels("in_transit", "received") == ["received ✓"]
    assert d.arrow_labels("received", "inspected") == ["inspected"]
    assert d.lines["requested"][:2] == [
        "✓ 1. validate_order (on_invalid → rejected)",
        "2. create_shopify_return (with fees=on_shopify_return)",
    ]
    assert d.lines["in_transit"][0] == "✓ 1. attach_tracking" and d.lines["received"][0] == "✓ 1. sync_order_status"
    assert d.notes == {
        "received": [
            "return-castore-(00)1 is here",
            "needs attention - SLA#58; received but not inspected within 7 days",
        ]
    }
    held = read(mermaid(flow, ReturnPath("w", "received", path.transitions, attention="held", blocking=True)))
    assert held.classes["held"] == {"received"} and "current" not in held.classes


def test_cli_prints_the_diagram_of_a_flow_by_name_or_file(flow: FlowDef, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "graph", "return"]) == 0
    assert capsys.readouterr().out == mermaid(flow)
    assert main(["flows", "graph", str(REPO_ROOT / "flows" / "express.yaml")]) == 0
    assert capsys.readouterr().out.startswith("stateDiagram-v2\n    %% flow express v4")


def test_cli_says_in_one_line_when_there_is_no_such_flow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["flows", "graph", "retrun"]) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("returns flows graph: no flow named 'retrun' in ")
    assert "(flows there: express, return)" in out.err
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: 2\nname: broken\n")
    assert main(["flows", "graph", str(broken)]) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.endswith(f"returns flows graph: {broken} does not load as a flow; nothing drawn\n")
    monkeypatch.setenv("RETURNS_FLOWS_DIR", str(tmp_path))
    (tmp_path / "mine.yaml").write_text((REPO_ROOT / "flows" / "express.yaml").read_text().replace(
        "name: express", "name: quick"))  # fmt: skip
    broken.unlink()
    assert main(["flows", "graph", "quick"]) == 0
    assert "%% flow quick v4" in capsys.readouterr().out


def test_cli_says_in_one_line_when_temporal_cannot_be_reached(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the command connects: nobody listens there
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
    assert main(["flows", "graph", "return", "--return", "return-castore-x"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith(f"returns flows graph: cannot reach Temporal at 127.0.0.1:{port} ")
    assert len(out.err.splitlines()) == 1


async def test_cli_marks_a_running_return_s_way_from_temporal(
    harness: Harness, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    sc = h.new_return("graph", "castore", ("A",), until="arrivedAtHub")
    await h.push_all(sc)
    status = await h.wait_for(sc, lambda s: "received:sync_order_status" in s.steps_done)
    assert status.state == "received", status.attention_reason
    monkeypatch.setenv("TEMPORAL_ADDRESS", h.client.service_client.config.target_host)
    wid = workflow_id("castore", sc.rebound_return_id)

    async def graph(*args: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, ["flows", "graph", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = await graph("return", "--return", wid)
    assert (code, err) == (0, "")
    d = read(out)
    assert d.classes == {"visited": {"requested", "in_transit"}, "current": {"received"}}
    assert d.arrow_labels("[*]", "requested") == ["registered ✓"]
    assert d.arrow_labels("requested", "in_transit") == ["in_transit ✓"]
    assert d.arrow_labels("in_transit", "received") == ["received ✓"]
    assert [line[:2] for line in d.lines["requested"][:2]] == ["✓ ", "✓ "]
    assert d.lines["in_transit"][0] == "✓ 1. attach_tracking" and d.lines["received"][0] == "✓ 1. sync_order_status"
    assert not any(line.startswith("✓") for line in d.lines["refunded"] + d.lines["inspected"])
    assert d.notes == {"received": [f"{text(wid)} is here"]}

    handle = h.client.get_workflow_handle(wid)
    await handle.execute_update("hold", OperatorAction("ana", "parcel looks opened"), result_type=OverrideResult)
    code, out, err = await graph("return", "--return", wid)
    d = read(out)
    assert code == 0 and d.classes["held"] == {"received"}
    assert d.notes["received"][1] == "waits for a person - held by ana#58; parcel looks opened"

    code, out, err = await graph("express", "--return", wid)
    assert code == 0 and err.startswith(
        f"returns flows graph: note: {wid} runs on flow {h.flow.ref}, drawn on express@"
    )

    code, out, err = await graph("return", "--return", "return-castore-(00)nothing")
    assert (code, out) == (1, "")
    assert err.startswith("returns flows graph: no workflow 'return-castore-(00)nothing' in Temporal at ")
    assert len(err.splitlines()) == 1


async def test_cli_says_in_one_line_when_no_worker_answers_or_the_workflow_is_no_return(
    temporal_env: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = temporal_env.client
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
    monkeypatch.setattr("engine.cli.graph.QUERY_SECONDS", 2)
    queue = f"nobody-{uuid.uuid4()}"  # no worker polls it: the workflows stay unanswered
    unanswered = await client.start_workflow("Return", "x", id=f"return-castore-{uuid.uuid4()}", task_queue=queue)
    other = await client.start_workflow("Other", "x", id=f"other-{uuid.uuid4()}", task_queue=queue)
    try:
        for handle, code, message in [
            (unanswered, 2, f"returns flows graph: {unanswered.id!r} did not answer its status query ("),
            (other, 1, f"returns flows graph: {other.id!r} is a Other workflow, not a return on a flow (Return)\n"),
        ]:
            assert await asyncio.to_thread(main, ["flows", "graph", "return", "--return", handle.id]) == code
            out = capsys.readouterr()
            assert out.out == "" and out.err.startswith(message) and len(out.err.splitlines()) == 1, out.err
            if code == 2:
                assert out.err.endswith(f"is a worker serving task queue {queue!r}?\n")
    finally:
        for handle in (unanswered, other):
            await handle.terminate("test done")
