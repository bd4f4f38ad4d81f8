"""`returns trace <rebound id>`: a return's traces from the OTLP JSON lines files, as indented trees with durations
and Shopify's cost, so a person can follow a push to the Shopify calls it caused without a tracing backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.telemetry.setup import TRACES_FILE

QUERY_SPANS = ("QueryWorkflow:", "HandleQuery:")


@dataclass
class SpanRecord:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)
    children: list[SpanRecord] = field(default_factory=list)

    @property
    def millis(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def _value(raw: dict[str, Any]) -> Any:
    for key in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if key in raw:
            return int(raw[key]) if key == "intValue" else raw[key]
    return None


def read_spans(path: Path) -> Iterator[SpanRecord]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        for resource in json.loads(line).get("resourceSpans", []):
            for scope in resource.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    yield SpanRecord(
                        span["traceId"], span["spanId"], span.get("parentSpanId", ""), span["name"],
                        int(span["startTimeUnixNano"]), int(span.get("endTimeUnixNano", span["startTimeUnixNano"])),
                        {a["key"]: _value(a.get("value", {})) for a in span.get("attributes", [])},
                    )  # fmt: skip


def traces_of(spans: list[SpanRecord], rebound_id: str) -> list[list[SpanRecord]]:
    """The traces of this return's work, oldest first, each as its root spans (children attached). A trace that
    also carries other returns (a pull run) keeps only the branches of this one."""
    named = {s.trace_id for s in spans if s.attributes.get("rebound.return_id") == rebound_id}
    # A status query (the UI, the CLI, the demo polling) is a trace of its own: not the return's work.
    wanted = {s.trace_id for s in spans if s.trace_id in named and not s.name.startswith(QUERY_SPANS)}
    by_id = {s.span_id: s for s in spans if s.trace_id in wanted}
    keep: set[str] = set()
    for span in by_id.values():
        if span.attributes.get("rebound.return_id") == rebound_id:
            keep |= _ancestors(span, by_id) | _descendants(span, by_id)
    roots: dict[str, list[SpanRecord]] = {}
    for span in sorted((by_id[k] for k in keep), key=lambda s: s.start_ns):
        parent = by_id.get(span.parent_id)
        if parent is not None and parent.span_id in keep:
            parent.children.append(span)
        else:
            roots.setdefault(span.trace_id, []).append(span)
    return sorted(roots.values(), key=lambda r: r[0].start_ns)


def _ancestors(span: SpanRecord, by_id: dict[str, SpanRecord]) -> set[str]:
    found = {span.span_id}
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        found.add(span.span_id)
    return found


def _descendants(span: SpanRecord, by_id: dict[str, SpanRecord]) -> set[str]:
    """Its subtree, stopping at spans that name another return."""
    children: dict[str, list[SpanRecord]] = {}
    for other in by_id.values():
        children.setdefault(other.parent_id, []).append(other)
    found, todo = set(), [span]
    while todo:
        current = todo.pop()
        found.add(current.span_id)
        own = (None, span.attributes.get("rebound.return_id"))
        todo += [c for c in children.get(current.span_id, []) if c.attributes.get("rebound.return_id") in own]
    return found


def _label(span: SpanRecord) -> str:
    a = span.attributes
    extra = []
    if "rebound.event" in a:
        extra.append(f"event {a['rebound.event']}")
    if "shopify.cost.actual" in a:
        extra.append(f"cost {a.get('shopify.cost.actual')}/{a.get('shopify.cost.requested')}"
                     f", {a.get('shopify.throttle.available', '?')} left")  # fmt: skip
    if a.get("shopify.budget_wait_s"):
        extra.append(f"waited {a['shopify.budget_wait_s']}s for budget")
    if a.get("shopify.throttled_retries"):
        extra.append(f"THROTTLED x{a['shopify.throttled_retries']}")
    if "http.response.status_code" in a or "http.status_code" in a:
        extra.append(f"HTTP {a.get('http.response.status_code', a.get('http.status_code'))}")
    return f"{span.name}  {span.millis:.1f} ms" + (f"  [{'; '.join(extra)}]" if extra else "")


def render(files_dir: Path, rebound_id: str) -> str:
    path = files_dir / TRACES_FILE
    if not path.exists():
        return f"no traces at {path} (telemetry writes them there while `make demo` runs)"
    traces = traces_of(list(read_spans(path)), rebound_id)
    if not traces:
        return f"no trace names Rebound return {rebound_id} in {path}"
    out: list[str] = []
    for roots in traces:
        first = roots[0]
        when = datetime.fromtimestamp(first.start_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")
        cost = sum(int(s.attributes.get("shopify.cost.actual") or 0) for s in _walk(roots))
        out.append(f"trace {first.trace_id}  {when} UTC  Shopify cost {cost}")

        def show(span: SpanRecord, depth: int) -> None:
            out.append("  " * (depth + 1) + _label(span))
            for child in span.children:
                show(child, depth + 1)

        for root in roots:
            show(root, 0)
    return "\n".join(out)


def _walk(spans: list[SpanRecord]) -> Iterator[SpanRecord]:
    for span in spans:
        yield span
        yield from _walk(span.children)
