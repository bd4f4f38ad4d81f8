"""The step table: every catalog step's two functions (engine.workflow.steps.base), found by the step's name in
one dictionary, so a step reads from the catalog entry to its functions to its activity. Adding a step: its entry
in engine.definitions.catalog, its functions in one of these modules, its activity (tests/test_layout.py checks the
three agree)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.workflow.steps import exchange, money, notes, order, stock
    from engine.workflow.steps.base import Again, Outcome, Request, Step

STEPS: dict[str, Step] = {**order.STEPS, **stock.STEPS, **money.STEPS, **exchange.STEPS, **notes.STEPS}

__all__ = ["STEPS", "Again", "Outcome", "Request", "Step"]
