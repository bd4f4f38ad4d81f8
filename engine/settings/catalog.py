"""The settings catalog: every environment variable the engine reads, declared once (name, default, meaning, who
reads it, secret or not), as the step catalog declares steps. One place: the code reads the environment only
through it (engine.settings.environment refuses a name not declared here), each command's `--help` lists the
settings it reads from it, and docs/deploy.md's reference table is generated from it (engine.settings.reference;
tests/test_settings_catalog.py checks the table, and scans the code for environment reads not declared here).

Defaults are written as they would be in the environment; the code's defaults are parsed from them. A name ending
in `<...>` is a family: one variable per brand, shop or notify target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Reader = Literal[
    "serve", "worker", "drift", "events", "flows", "mappings", "legacy", "trace", "codec-server", "devserver", "demo",
    "compose",
]  # fmt: skip
ReadBy = Literal["engine", "temporalio", "opentelemetry", "compose"]

# What each reader is, for the reference table.
READERS: dict[str, str] = {
    "serve": "`returns serve`",
    "worker": "`returns worker`",
    "drift": "`returns drift`",
    "events": "`returns events`",
    "flows": "`returns flows`",
    "mappings": "`returns mappings`",
    "legacy": "`returns legacy`",
    "trace": "`returns trace`",
    "codec-server": "`returns codec-server`",
    "devserver": "`returns devserver`",
    "demo": "`returns demo`",
    "compose": "`docker-compose.temporal.yml`",
}
# Every command that connects to Temporal: each reads the connection and the payload codec's settings.
CLIENTS: tuple[Reader, ...] = ("serve", "worker", "drift", "events", "flows", "mappings", "legacy")


@dataclass(frozen=True)
class Setting:
    name: str  # the variable; `PREFIX<WHAT>` for a family
    meaning: str
    readers: tuple[Reader, ...]
    default: str | None = None  # as written in the environment; None: unset (the meaning says what that does)
    shown_default: str = ""  # for a default that is not one value ("the shipped flows")
    secret: bool = False  # never printed: shown as set or unset
    flag: str = ""  # the command-line option this variable is the default of
    read_by: ReadBy = "engine"  # who parses it: the engine, or a library the engine hands the environment to

    @property
    def family(self) -> str | None:
        """`REBOUND_SECRET__` for `REBOUND_SECRET__<BRAND>`; None for a single variable."""
        return self.name.partition("<")[0] if self.name.endswith(">") else None

    @property
    def default_text(self) -> str:
        return self.shown_default or (self.default if self.default is not None else "unset")


S = Setting
SETTINGS: tuple[Setting, ...] = (
    # ------------------------------------------------------------------------------------------------ Temporal
    S("TEMPORAL_ADDRESS", "The Temporal frontend, host:port.", CLIENTS, "127.0.0.1:7233"),
    S("TEMPORAL_NAMESPACE", "The Temporal namespace.", CLIENTS, "default"),
    S("RETURNS_TASK_QUEUE", "The return workflows' task queue; the shops' queues are derived from it "
      "(`<queue>.shopify.<shop>`). The same on every process of a deployment.", ("serve", "worker", "drift", "events"),
      "returns"),
    S("TEMPORAL_API_KEY", "Temporal Cloud API key (turns TLS on).", CLIENTS, secret=True, read_by="temporalio"),
    S("TEMPORAL_TLS_CLIENT_CERT_PATH", "Client certificate for mTLS.", CLIENTS, read_by="temporalio"),
    S("TEMPORAL_TLS_CLIENT_KEY_PATH", "Client certificate's private key for mTLS.", CLIENTS, read_by="temporalio"),
    S("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "CA certificate the server's is checked against.", CLIENTS,
      read_by="temporalio"),
    S("TEMPORAL_PROFILE", "A profile of Temporal's TOML configuration file (TEMPORAL_CONFIG_FILE).", CLIENTS,
      read_by="temporalio"),
    S("DRIFT_TASK_QUEUE", "The drift monitor's task queue.", ("worker", "drift"), "returns-drift"),
    # ------------------------------------------------------------------------------------------ payload codec
    S("RETURNS_PAYLOAD_ENCRYPTION", "`required`: refuse to start without keys and refuse plaintext payloads; "
      "`optional` (local use only): encrypt when keys are set.", CLIENTS, "required"),
    S("RETURNS_CODEC_KEYS", "Payload keys, `<id>:<base64 key>` comma-separated, the active first.",
      (*CLIENTS, "codec-server", "demo"), secret=True),
    S("RETURNS_CODEC_KEYS_FILE", "A file of `<id> <base64 key>` lines, the active first (instead of "
      "RETURNS_CODEC_KEYS).", (*CLIENTS, "codec-server")),
    S("RETURNS_CODEC_TOKEN", "The codec server's access token (`Authorization: Bearer <token>`).",
      ("codec-server", "demo"), secret=True),
    S("RETURNS_CODEC_UI_ORIGINS", "Origins (comma-separated) the UI is served from, for CORS.", ("codec-server",),
      "http://127.0.0.1:8233", flag="--ui-origin"),
    S("RETURNS_CODEC_TOKEN_IN_PATH", "`1`: also accept the token as the URL's first segment (a local UI only).",
      ("codec-server",), "0", flag="--allow-token-in-path"),
    S("RETURNS_CODEC_HOST", "The codec server's address.", ("codec-server",), "127.0.0.1", flag="--host"),
    S("RETURNS_CODEC_PORT", "The codec server's port.", ("codec-server",), "8899", flag="--port"),
    S("RETURNS_UI_CODEC_ENDPOINT", "The codec server the dev server's UI decodes payloads with.", ("devserver",),
      flag="--ui-codec-endpoint"),
    # ------------------------------------------------------------------------------------------------ storage
    S("RETURNS_DATA_DIR", "The embedded default's files: SQLite event store, dev server database, telemetry "
      "files.", ("serve", "worker", "events", "devserver", "trace", "demo"), ".data"),
    S("RETURNS_DATABASE_URL", "The event store: `postgresql://...` (percent-encoded password); unset: SQLite under "
      "RETURNS_DATA_DIR.", ("serve", "worker", "events"), secret=True),
    S("RETURNS_FLOWS_DIR", "Flow files: the worker's gauges read the flows' states here; `returns flows test` and "
      "`returns demo` read their flows (and the test its scenarios) here, default `./flows`.",
      ("worker", "flows", "demo"), shown_default="the shipped flows"),
    S("RETURNS_MAPPINGS_DIR", "Mapping files the worker and `returns drift` serve instead of the deployed mappings; "
      "`returns flows test` and `returns demo` read theirs here, default `./mappings`.",
      ("worker", "drift", "flows", "demo"), shown_default="the deployed mappings"),
    S("USER", "The operator recorded by a deploy or rollback without `--operator`.", ("flows", "mappings"),
      "unknown", flag="--operator"),
    # ------------------------------------------------------------------------------------------ push receiver
    S("RETURNS_SERVE_HOST", "Address the receiver binds.", ("serve",), "127.0.0.1", flag="--host"),
    S("RETURNS_SERVE_PORT", "Port the receiver binds (and the image's health check asks).", ("serve",), "8000",
      flag="--port"),
    S("RETURNS_SERVE_WORKERS", "Receiver processes behind the one port.", ("serve",), "1", flag="--workers"),
    S("RETURNS_SERVE_PROXY_HEADERS", "`1`: trust X-Forwarded-For/Proto from FORWARDED_ALLOW_IPS.", ("serve",), "1",
      flag="--proxy-headers"),
    S("FORWARDED_ALLOW_IPS", "Proxies (addresses or networks, comma-separated) whose X-Forwarded-* are trusted.",
      ("serve",), "127.0.0.1", flag="--forwarded-allow-ips"),
    S("RETURNS_SERVE_ACCESS_LOG", "`1`: one line per request (client, method, path, status).", ("serve",), "1",
      flag="--access-log"),
    S("RETURNS_SERVE_GRACEFUL_SECONDS", "Seconds to finish requests in flight on SIGTERM.", ("serve",), "20",
      flag="--graceful-timeout"),
    S("RETURNS_LOG_LEVEL", "The receiver's log level.", ("serve",), "info", flag="--log-level"),
    S("REBOUND_SECRET__<BRAND>", "A brand's push secret (brand upper-cased, `-` as `_`).", ("serve", "demo"),
      secret=True),
    S("REBOUND_AUTH_MODE", "`hmac` (signed pushes) or `bearer` (the secret as a bearer token).", ("serve",), "hmac"),
    S("REBOUND_SIGNATURE_TOLERANCE", "Seconds a signed push's timestamp may be off (replays, clock skew).",
      ("serve",), "300"),
    S("RETURNS_MAX_BODY", "Largest push body, bytes (413 over it).", ("serve",), "524288"),
    S("RETURNS_RATE_PER_CLIENT", "Requests a second per client address, `<rate>/<burst>`, before authentication; "
      "`0`: off.", ("serve",), "100/1000"),
    S("RETURNS_RATE_PER_BRAND", "Authenticated pushes a second per brand, `<rate>/<burst>`; `0`: off.", ("serve",),
      "200/2000"),
    # ------------------------------------------------------------------------------------------------- worker
    S("RETURNS_WORKER_ROLES", "The roles one worker process serves: `all` or a comma list of returns, shops, "
      "registry, pull, drift, events.", ("worker",), "all", flag="--roles"),
    S("SHOPIFY_ENDPOINT", "Shopify's address; `{shop}` is the shop's myshopify domain.", ("worker", "drift"),
      "https://{shop}"),
    S("SHOPIFY_TOKEN__<SHOP>", "A shop's Admin API token (domain upper-cased, non-alphanumerics as `_`).",
      ("worker", "drift", "demo"), secret=True),
    S("SHOPIFY_TOKENS_FILE", "A JSON file `{\"<shop domain>\": \"<token>\"}`, read when a shop has no "
      "SHOPIFY_TOKEN__<SHOP>.", ("worker", "drift")),
    S("RETURNS_SHOPIFY_POINTS_PER_ACTIVITY", "Shopify cost points one activity spends on average; each shop's "
      "queue is dispatched at restore rate / this. The same on every worker.", ("worker",), "14"),
    S("RETURNS_MAX_CONCURRENT_ACTIVITIES", "Activities one worker process runs at once, per queue.", ("worker",),
      "8"),
    S("REBOUND_API_URL", "Rebound's API (roles pull and drift refuse to start without it).", ("worker", "drift")),
    S("REBOUND_API_TOKEN", "Rebound's API token.", ("worker", "drift"), secret=True),
    S("RETURNS_PULL_EVERY", "How often the pull fallback asks Rebound for each brand's returns.", ("worker",), "5m"),
    S("DRIFT_ALERT_URL", "Webhook new drift exceptions are posted to (Slack-compatible); unset: no alert.",
      ("worker", "drift"), secret=True, flag="--alert-url"),
    S("RETURNS_NOTIFY_<NAME>", "The URL a flow's `notify` step posts to (`url_env` in the flow).", ("worker",),
      secret=True),
    S("RETURNS_PURGE_EVERY", "How often the events role purges the event store.", ("worker",), "1h"),
    S("RETURNS_SLA_SWEEP_EVERY", "How often the returns role's SLA sweep wakes returns whose SLA fell due (a breach "
      "is flagged up to this late).", ("worker",), "10m"),
    S("RETURNS_HELD_RETENTION", "How long rejected, late and replayed held pushes are kept (`never`: kept).",
      ("worker", "events"), "30d"),
    S("RETURNS_FAILED_RETENTION", "How long failed held pushes are kept (a duration opts in to purging them).",
      ("worker", "events"), "never"),
    S("RETURNS_ACCEPTED_RETENTION", "How long accepted pushes' ids are kept for dedupe.", ("worker", "events"), "30d"),
    # ------------------------------------------------------------------------------------------------- telemetry
    S("OTEL_SERVICE_NAME", "The service name on traces and metrics.", ("serve", "worker"),
      shown_default="rebound-returns-serve / -worker"),
    S("OTEL_TRACES_EXPORTER", "`otlp` or `console`; unset: OTLP when an endpoint is set, else no traces.",
      ("serve", "worker")),
    S("OTEL_EXPORTER_OTLP_ENDPOINT", "The OTLP/HTTP collector (traces, and metrics with `otlp`).", ("serve", "worker")),
    S("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "The collector for traces only.", ("serve", "worker")),
    S("OTEL_METRICS_EXPORTER", "`otlp` or `prometheus`; unset: no metrics.", ("serve", "worker")),
    S("OTEL_METRIC_EXPORT_INTERVAL", "Milliseconds between metric exports.", ("serve", "worker"), "15000"),
    S("OTEL_EXPORTER_PROMETHEUS_HOST", "The Prometheus scrape endpoint's address.", ("serve", "worker"), "127.0.0.1"),
    S("OTEL_EXPORTER_PROMETHEUS_PORT", "The Prometheus scrape endpoint's port.", ("serve", "worker"), "9464"),
    S("OTEL_TRACES_SAMPLER", "The trace sampler, e.g. `parentbased_traceidratio`.", ("serve", "worker"),
      read_by="opentelemetry"),
    S("OTEL_TRACES_SAMPLER_ARG", "The sampler's argument, e.g. `0.1`.", ("serve", "worker"), read_by="opentelemetry"),
    S("OTEL_RESOURCE_ATTRIBUTES", "Extra resource attributes, `key=value,...`.", ("serve", "worker"),
      read_by="opentelemetry"),
    # ------------------------------------------------------------------------------- the compose file, not the engine
    S("POSTGRES_PASSWORD", "PostgreSQL's password (Temporal's database and the event store's URL); URL-safe.",
      ("compose",), secret=True, read_by="compose"),
    S("RETURNS_ENV_FILE", "The env file the engine's containers read (keep it outside the checkout).", ("compose",),
      "./returns.env", read_by="compose"),
    S("RETURNS_IMAGE_TAG", "The engine image's tag.", ("compose",), "local", read_by="compose"),
)  # fmt: skip
del S

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
FAMILIES: dict[str, Setting] = {s.family: s for s in SETTINGS if s.family}
