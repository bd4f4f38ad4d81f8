"""`make chaos` in small: 100 returns of every kind the demo has, through the engine's own processes, while
workers are SIGKILLed, the dev server and the receiver restart, Shopify fails calls, Rebound duplicates, reorders
and drops pushes and a person refunds one return by hand first; then the invariant checker."""

from __future__ import annotations

from pathlib import Path

from emulators.chaos.__main__ import render
from emulators.chaos.invariants import violations
from emulators.chaos.soak import Settings, soak


async def test_a_100_return_soak_under_faults_keeps_every_invariant(tmp_path: Path) -> None:
    result = await soak(Settings(returns=100, seed=11, plan="plus", data=tmp_path / "chaos"), say=print)
    report = render(result)
    print(report)
    # The faults ran (else the soak proves nothing) ...
    assert result.scenarios == 100
    assert result.kills >= 1 and result.restarts["temporal"] == 2 and result.restarts["receiver"] == 2
    assert sum(result.shopify_faults.values()) > 0 and result.pushes.duplicated > 0 and result.pushes.dropped > 0
    assert result.staff_refunds == 1
    # ... and every invariant held: each was checked, none violated.
    assert all(inv.checked > 0 for inv in result.invariants if "held pushes" not in inv.name), report
    assert violations(result.invariants) == 0, report
    assert report.endswith("invariant violations: 0")
