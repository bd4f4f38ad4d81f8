"""`returns flows test`: the shipped flows pass their scenarios on the real engine, and a flow changed in YAML
alone (tag the order when the parcel reaches the hub, note it) does what it says in the emulator's order."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from temporalio.exceptions import ApplicationError

from emulators.flow_tests import ExpectedFaults
from emulators.shopify.faults import Faults
from tests.paths import REPO_ROOT


def flows_test(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "flows", "test", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_the_shipped_flows_pass_their_scenarios() -> None:
    run = flows_test()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert (
        "flows/tests/return.yaml (flow return@5" in run.stdout
        and "flows/tests/express.yaml (flow express@4" in run.stdout
    )
    assert "FAIL" not in run.stdout
    assert "22/22 case(s) as expected in 3 file(s)" in run.stdout
    assert "flows/tests/tatty.yaml (flow return@5" in run.stdout


TAGGED = """
  received:
    description: At the hub; CX sees it on the order.
    steps:
      - step: sync_order_status
      - step: tag_order
        with: {tag: return-received}
      - step: add_order_note
        with: {text: "Rebound {rebound_return_id}: {items} item(s) at the hub"}
"""
SCENARIO = """mapping: castore
flow: {flow}
cases:
  - name: the order is tagged and noted when the parcel reaches the hub
    order:
      - {{sku: CAS-TAG-1, quantity: 1, price: "45.00"}}
    returned:
      - {{sku: CAS-TAG-1, grade: A, reason: Too large}}
    pushes: [returnOrderCreated, postalIncoming, arrivedAtHub]
    expect:
      state: received
      tags: [return-received]
      note_contains: "item(s) at the hub"
"""


def test_a_flow_changed_in_yaml_alone_tags_the_order_on_receipt(tmp_path: Path) -> None:
    standard = (REPO_ROOT / "flows" / "return.yaml").read_text()
    received = standard[standard.index("  received:\n") : standard.index("  inspected:\n")]
    tagged = standard.replace(
        received,
        TAGGED.lstrip("\n") + "    sla:\n      within: 7d\n      reason: received but not inspected within 7 days\n",
    )
    (tmp_path / "tagged.yaml").write_text(tagged.replace("name: return", "name: return-tagged"))
    (tmp_path / "with_tag.yaml").write_text(SCENARIO.format(flow="tagged.yaml"))
    (tmp_path / "without.yaml").write_text(SCENARIO.format(flow=str(REPO_ROOT / "flows" / "return.yaml")))
    validate = subprocess.run([sys.executable, "-m", "engine", "flows", "validate", str(tmp_path / "tagged.yaml")],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    assert validate.returncode == 0, validate.stdout
    run = flows_test(str(tmp_path / "with_tag.yaml"), str(tmp_path / "without.yaml"))
    out = run.stdout
    assert run.returncode == 1, out[-3000:] + run.stderr[-2000:]
    tagged_part, untagged_part = out.split(str(tmp_path / "without.yaml"))
    assert "PASS the order is tagged and noted" in tagged_part
    assert "step       tag_order: return-received" in tagged_part
    assert "Shopify: tags return-received" in tagged_part  # the flow's tag only: the engine's link writes none
    assert "FAIL the order is tagged and noted" in untagged_part
    assert "tag 'return-received' missing from the order" in untagged_part
    assert "1/2 case(s) as expected in 2 file(s)" in out


def test_a_scenario_file_that_does_not_validate_is_refused_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "mapping: castore\ncases:\n  - name: x\n    returned: []\n    pushes: [a]\n    expect: {}\n"
    )
    run = flows_test(str(tmp_path / "bad.yaml"))
    assert run.returncode == 2
    assert f"{tmp_path / 'bad.yaml'}:4:5: cases[0].returned: [] should be non-empty" in run.stdout, run.stdout


FAULTED = """mapping: castore
flow: return
cases:
  - name: Shopify loses the answer to processing the return; the retry finds it processed
    order:
      - {sku: CAS-FLT-1, quantity: 1, price: "45.00"}
    returned:
      - {sku: CAS-FLT-1, grade: A, reason: Too large}
    pushes: [returnOrderCreated, postalIncoming, arrivedAtHub, processed]
    faults:
      - {kind: lost_response, operation: ReturnProcess}
    expect:
      state: refunded
      refund: 42.05 GBP
      refunds_in_shopify: 1
"""


def test_a_fault_a_case_injects_is_one_line_of_its_timeline_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "faulted.yaml").write_text(FAULTED)
    run = flows_test(str(tmp_path / "faulted.yaml"))
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "Traceback" not in out and "Completing activity as failed" not in out, out[-3000:]
    faults = [line.strip() for line in run.stdout.splitlines() if line.strip().startswith("fault")]
    assert faults == ["fault      process_return attempt 1: ReturnProcess: HTTP 502 (injected lost_response), retrying"]
    timeline = [line.strip() for line in run.stdout.splitlines()]
    at = timeline.index(faults[0])
    assert timeline[at - 1].startswith("step       assign_dispositions"), timeline  # at its place in the timeline
    assert timeline[at + 1].startswith("step       process_shopify_return: already_issued"), timeline
    assert "1/1 case(s) as expected in 1 file(s)" in run.stdout
    assert "\r" not in out and "\x1b[K" not in out  # no progress line off a terminal


def failure(message: str, **activity: object) -> logging.LogRecord:
    """The record the SDK's activity worker logs when an activity raises."""
    try:
        raise ApplicationError(message, type="ShopifyTransient")
    except ApplicationError:
        exc_info = sys.exc_info()
    extra = {
        "__temporal_error_identifier": "ActivityFailure",
        "temporal_activity": {"activity_type": "process_return", "attempt": 1, "workflow_id": "wf", **activity},
    }
    record = logging.LogRecord("temporalio.activity", logging.WARNING, __file__, 1, "Completing activity as failed",
                               None, exc_info)  # fmt: skip
    record.__dict__.update(extra)
    return record


def test_only_as_many_failures_as_injected_faults_explain_lose_their_traceback() -> None:
    faults = Faults()
    expected = ExpectedFaults(faults)
    assert expected.filter(failure("ReturnProcess: HTTP 502"))  # nothing injected: logged, traceback and all
    faults.fail_next("lost_response", operation="ReturnProcess")
    faults.after_commit(True, "ReturnProcess")  # the emulator injects it
    assert not expected.filter(failure("ReturnProcess: HTTP 502"))
    assert expected.filter(failure("ReturnProcess: HTTP 502", attempt=2))  # a second failure: not explained
    assert expected.filter(failure("RefundCreate: HTTP 502"))  # another operation: not explained
    plain = logging.LogRecord("temporalio.activity", logging.WARNING, __file__, 1, "something else", None, None)
    assert expected.filter(plain)
    taken = expected.take("wf")
    assert [line for _, line in taken] == [
        "process_return attempt 1: ReturnProcess: HTTP 502 (injected lost_response), retrying"
    ]
    assert expected.take("wf") == []
    expected.clear()  # the next case: its own faults explain its failures
    faults.clear()
    assert expected.filter(failure("ReturnProcess: HTTP 502"))
