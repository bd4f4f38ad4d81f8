"""Turning telemetry on, from the standard OpenTelemetry variables; nothing set means no exporter and no cost.

Traces: OTEL_TRACES_EXPORTER=otlp (or OTEL_EXPORTER_OTLP_ENDPOINT alone) sends OTLP over HTTP to
OTEL_EXPORTER_OTLP_ENDPOINT; `console` prints them. Metrics: OTEL_METRICS_EXPORTER=otlp, or `prometheus` for a scrape
endpoint on OTEL_EXPORTER_PROMETHEUS_HOST:PORT (default 127.0.0.1:9464). OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
and OTEL_TRACES_SAMPLER(_ARG) are read by the SDK as usual. `files_dir` (the demo) adds OTLP JSON lines files.
Temporal's own SDK metrics (workers, task slots, latencies) go through the same meter provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.contrib.opentelemetry import MetricsExporter
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig

from engine.settings.environment import env_given, env_int, env_value
from engine.telemetry.files import MetricFileExporter, SpanFileExporter
from engine.telemetry.tracing import ActivityAttributes, ReturnTracingInterceptor

TRACES_FILE = "traces.jsonl"
METRICS_FILE = "metrics.jsonl"


@dataclass
class Telemetry:
    """What `configure` turned on; `interceptors` go on the Temporal client (workers inherit them)."""

    tracing: bool = False
    meter_provider: MeterProvider | None = None
    tracer_provider: TracerProvider | None = None
    runtime: Runtime | None = None
    where: list[str] = field(default_factory=list)
    _sdk_metrics: MetricsExporter | None = None

    def interceptors(self) -> list[Any]:
        return [ReturnTracingInterceptor(), ActivityAttributes()] if self.tracing else []

    async def start(self) -> None:
        if self._sdk_metrics is not None:
            await self._sdk_metrics.__aenter__()

    async def shutdown(self) -> None:
        if self._sdk_metrics is not None:
            await self._sdk_metrics.__aexit__(None, None, None)
            self._sdk_metrics = None
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()


def _wants(value: str, name: str) -> bool:
    return name in {part.strip().lower() for part in value.split(",")}


def configure(service: str, *, files_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> Telemetry:
    """Install the process's tracer and meter providers (once per process) as the environment asks."""
    resource = Resource.create({"service.name": env_given("OTEL_SERVICE_NAME", environ) or service})
    telemetry = Telemetry()
    traces = env_value("OTEL_TRACES_EXPORTER", environ) or ""
    endpoint = env_given("OTEL_EXPORTER_OTLP_ENDPOINT", environ)
    endpoint = endpoint or env_given("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", environ)
    exporters: list[SpanExporter] = []
    if files_dir is not None:
        exporters.append(SpanFileExporter(files_dir / TRACES_FILE))
        telemetry.where.append(f"traces: {files_dir / TRACES_FILE}")
    if _wants(traces, "otlp") or (endpoint and not traces):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporters.append(OTLPSpanExporter())
        telemetry.where.append(f"traces: OTLP {endpoint or 'http://localhost:4318'}")
    if _wants(traces, "console"):
        exporters.append(ConsoleSpanExporter())
    if exporters and not _wants(traces, "none"):
        provider = TracerProvider(resource=resource)
        for exporter in exporters:
            provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
        telemetry.tracing, telemetry.tracer_provider = True, provider

    readers = _metric_readers(environ, files_dir, telemetry.where)
    if readers:
        meter_provider = MeterProvider(metric_readers=readers, resource=resource)
        metrics.set_meter_provider(meter_provider)
        buffer = MetricBuffer(10_000)
        telemetry.runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
        telemetry._sdk_metrics = MetricsExporter(buffer, meter_provider)
        telemetry.meter_provider = meter_provider
    return telemetry


def _metric_readers(env: Mapping[str, str] | None, files_dir: Path | None, where: list[str]) -> list[MetricReader]:
    chosen = env_value("OTEL_METRICS_EXPORTER", env) or ""
    interval = env_int("OTEL_METRIC_EXPORT_INTERVAL", env)
    readers: list[MetricReader] = []
    if files_dir is not None:
        readers.append(PeriodicExportingMetricReader(MetricFileExporter(files_dir / METRICS_FILE), interval))
        where.append(f"metrics: {files_dir / METRICS_FILE}")
    if _wants(chosen, "otlp"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(), interval))
        where.append("metrics: OTLP")
    if _wants(chosen, "prometheus"):
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        host = str(env_value("OTEL_EXPORTER_PROMETHEUS_HOST", env))
        port = env_int("OTEL_EXPORTER_PROMETHEUS_PORT", env)
        start_http_server(port, addr=host)
        readers.append(PrometheusMetricReader())
        where.append(f"metrics: Prometheus http://{host}:{port}/metrics")
    return readers
