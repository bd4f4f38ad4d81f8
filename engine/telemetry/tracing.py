"""One trace per Rebound event: Temporal's tracing interceptor, with the activities a return runs while it applies
an event parented on that event's signal (its push's trace), not on the workflow's first trace.

Temporal's interceptor puts everything a workflow does under the context it was started with, and only links later
signals; a return lives for weeks and applies each push separately, so the workflow tells the interceptor which
event it is working on (`follow_event`) and the interceptor starts that work's activity spans from the context the
event's signal carried.
"""

from __future__ import annotations

from typing import Any

import temporalio.client
import temporalio.worker
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.contrib.opentelemetry._context import attached_context

from engine.telemetry.instruments import annotate


class ReturnTracingInterceptor(TracingInterceptor):
    def __init__(self) -> None:
        super().__init__(always_create_workflow_spans=True)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers the span extern function
        return EventTracingInbound


class EventTracingInbound(TracingWorkflowInboundInterceptor):
    def __init__(self, next: temporalio.worker.WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self._event_carriers: dict[str, Any] = {}
        self.following: str | None = None
        self.attributes: dict[str, str] = {}  # the return's id, brand and order on every workflow span

    async def handle_signal(self, input: temporalio.worker.HandleSignalInput) -> None:
        header = input.headers.get(self.header_key)
        event_id = getattr(input.args[0], "event_id", None) if input.signal == "event" and input.args else None
        if header and event_id:
            self._event_carriers[event_id] = self.payload_converter.from_payloads([header])[0]
        await super().handle_signal(input)

    def _completed_span(self, span_name: str, **kwargs: Any) -> None:
        if not span_name.startswith("HandleQuery:"):  # a status read is not the return's work
            kwargs["additional_attributes"] = {**self.attributes, **(kwargs.get("additional_attributes") or {})}
        carrier = self._event_carriers.get(self.following or "")
        if carrier and span_name.startswith("StartActivity:"):
            with attached_context(self._set_on_context(self.text_map_propagator.extract(carrier))):
                super()._completed_span(span_name, **kwargs)
            return
        super()._completed_span(span_name, **kwargs)


def follow_event(event_id: str | None, **attributes: str) -> None:
    """From the workflow: the activities it starts now do the work of this event (None: of the return itself).
    `attributes` (rebound__return_id=..., shopify__order=...) go on the workflow's spans from now on."""
    interceptor = TracingWorkflowInboundInterceptor._from_context()
    if isinstance(interceptor, EventTracingInbound):
        interceptor.following = event_id
        interceptor.attributes.update({k.replace("__", "."): v for k, v in attributes.items() if v})


class ActivityAttributes(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """The return's id and brand, and the shop, on each activity's span (from its input). A client interceptor too
    (passing client calls through) so it rides on the client and every worker built from it."""

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        return _ActivityAttributes(next)


class _ActivityAttributes(temporalio.worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        arg = input.args[0] if input.args else None
        shop = getattr(arg, "shop", None)
        annotate(
            rebound__return_id=getattr(arg, "rebound_return_id", None),
            rebound__brand=getattr(shop, "brand", None),
            shopify__shop=getattr(shop, "domain", None),
            shopify__order=getattr(arg, "order_name", None),
        )
        return await super().execute_activity(input)
