"""`returns flows test`: the shipped flows pass their scenarios on the real engine, and a flow changed in YAML
alone (tag the order when the parcel reaches the hub, note it) does what it says in the emulator's order."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.paths import REPO_ROOT


def flows_test(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "flows", "test", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_the_shipped_flows_pass_their_scenarios() -> None:
    run = flows_test()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert (
        "flows/tests/return.yaml (flow return@4" in run.stdout
        and "flows/tests/express.yaml (flow express@3" in run.stdout
    )
    assert "FAIL" not in run.stdout
    assert "18/18 case(s) as expected in 3 file(s)" in run.stdout
    assert "flows/tests/tatty.yaml (flow return@4" in run.stdout


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
    assert "Shopify: tags rebound-return, rebound:" in tagged_part and "return-received" in tagged_part
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
