"""What people read on the order and in their channels: tags, a note line, a notification."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import NotifyInput, OrderNoteInput, OrderTagInput
    from engine.definitions.catalog import render_template
    from engine.definitions.flow import StepCall
    from engine.workflow.state import ReturnState
    from engine.workflow.steps.base import Outcome, Request, Step, need_order


def _tag(r: ReturnState, call: StepCall) -> list[Request]:
    order = need_order(r, call.step)
    verb = "tagsAdd" if call.step == "tag_order" else "tagsRemove"
    return [Request(OrderTagInput(r.shop, order.order_id, str(call.params["tag"])), f"{verb} {call.params['tag']}")]


def _tagged(r: ReturnState, call: StepCall, request: Request, result: Any) -> Outcome:
    r.log("step", f"{call.step}: {call.params['tag']}")
    return None


def _note(r: ReturnState, call: StepCall) -> list[Request]:
    order = need_order(r, "add_order_note")
    text = render_template(str(call.params["text"]), r.template_facts())
    marker = f"[rebound {r.start.rebound_return_id} {r.state}]"
    return [Request(OrderNoteInput(r.shop, order.order_id, marker, text), "add_order_note")]


def _noted(r: ReturnState, call: StepCall, request: Request, result: Any) -> Outcome:
    r.log("step", f"add_order_note: {request.arg.text}")
    return None


def _notify(r: ReturnState, call: StepCall) -> list[Request]:
    facts = r.template_facts()
    message = render_template(str(call.params["message"]), facts)
    request = NotifyInput(str(call.params["url_env"]), str(call.params.get("format", "json")), message, facts)
    return [Request(request, f"notify {call.params['url_env']}")]


def _notified(r: ReturnState, call: StepCall, request: Request, result: Any) -> Outcome:
    r.log("step", f"notify {call.params['url_env']}: {request.arg.message}")
    return None


STEPS = {
    "tag_order": Step(_tag, _tagged),
    "untag_order": Step(_tag, _tagged),
    "add_order_note": Step(_note, _noted),
    "notify": Step(_notify, _notified),
}
