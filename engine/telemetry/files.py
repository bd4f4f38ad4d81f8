"""Traces and metrics written as OTLP JSON lines (one export request per line, as the OpenTelemetry Collector's file
exporter writes them): what `make demo` leaves under .data/telemetry/ and `returns trace` reads, so a person can
look without a tracing backend; any OTLP tool can load the files."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class _Lines:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()

    def write(self, message: Any) -> None:
        body = json_format.MessageToDict(message)
        _hex_ids(body)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(body, separators=(",", ":")) + "\n")


def _hex_ids(node: Any) -> None:
    """OTLP/JSON writes trace and span ids in hex (protobuf's JSON would give base64)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


class SpanFileExporter(SpanExporter):
    def __init__(self, path: Path) -> None:
        self._lines = _Lines(path)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._lines.write(encode_spans(spans))
        return SpanExportResult.SUCCESS


class MetricFileExporter(MetricExporter):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self._lines = _Lines(path)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        self._lines.write(encode_metrics(metrics_data))
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None
