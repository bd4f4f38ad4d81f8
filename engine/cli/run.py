"""Running the engine. Production: `serve` (the push receiver under uvicorn) and `worker`. The embedded default:
`devserver` (Temporal with our search attributes) and `demo` (needs the emulators' distribution)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from engine.cli.common import reads
from engine.settings.environment import default_of, env_flag, env_int, env_value


def _demo(args: argparse.Namespace) -> int:
    try:
        from emulators.demo import run_demo  # the product's test doubles: installed by `make demo`, never in prod
    except ImportError as err:
        print(f"returns demo needs the emulators ({err}): pip install ./emulators, or run `make demo`", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_demo(exit_after=args.exit, port=args.port, ui_port=args.ui_port))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0


def _worker(args: argparse.Namespace) -> int:
    from engine.errors import ConfigError
    from engine.roles.worker import WorkerConfig, run_worker
    from engine.settings import Settings
    from engine.temporal.codec import converter_from_env

    try:
        config = WorkerConfig.from_env(args.roles)
        converter_from_env()  # encryption required without keys: refuse before connecting to anything
    except ConfigError as err:
        print(f"returns worker: {err}", file=sys.stderr)
        return 2
    return asyncio.run(run_worker(Settings.from_env(), config))


def _serve(args: argparse.Namespace) -> int:
    import signal

    import uvicorn

    from engine.ingest.limits import Limits
    from engine.temporal.codec import converter_from_env

    converter_from_env()  # ConfigError (encryption required, no keys): refused before the port opens
    Limits.from_env()  # a wrong RETURNS_RATE_* or RETURNS_MAX_BODY: said now, not per request

    # uvicorn stops gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler it found; with this one
    # the process exits 0 instead of dying by the signal: a requested stop is not a failure.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: None)
    uvicorn.run(
        "engine.ingest.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        access_log=args.access_log,
        timeout_graceful_shutdown=args.graceful_timeout,
        log_level=args.log_level,
        server_header=False,
    )
    return 0


def _devserver(args: argparse.Namespace) -> int:
    from engine.settings import Settings
    from engine.temporal.devserver import start_dev_server
    from engine.workflow import search

    async def serve() -> None:
        server = await start_dev_server(
            Settings.from_env().data_dir / "temporal.db",
            search_attributes=search.ALL,
            port=args.port,
            ui_port=args.ui_port,
            codec_endpoint=args.ui_codec_endpoint,
        )
        print(f"Temporal dev server on {server.address}, UI {server.ui_url}; Ctrl-C to stop", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            server.stop()

    try:
        asyncio.run(serve())
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    return 0


def _codec_server(args: argparse.Namespace) -> int:
    import signal

    import uvicorn

    from engine.errors import ConfigError
    from engine.temporal.codec import load_keys, new_key
    from engine.temporal.codec_server import create_codec_app

    if args.new_key:
        print(new_key())
        return 0
    try:
        keys = load_keys()
    except ConfigError as err:
        print(f"returns codec-server: {err}", file=sys.stderr)
        return 2
    token = env_value("RETURNS_CODEC_TOKEN") or ""
    if keys is None or not token:
        print("returns codec-server: set RETURNS_CODEC_KEYS (or RETURNS_CODEC_KEYS_FILE) and RETURNS_CODEC_TOKEN",
              file=sys.stderr)  # fmt: skip
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: None)
    origins = args.ui_origin or str(env_value("RETURNS_CODEC_UI_ORIGINS")).split(",")
    in_path = args.allow_token_in_path or env_flag("RETURNS_CODEC_TOKEN_IN_PATH")
    app = create_codec_app(keys, token=token, ui_origins=[o.strip() for o in origins if o.strip()],
                           token_in_path=in_path)  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning", server_header=False)
    return 0


def _by(name: str, text: str = "") -> str:
    """An option's help: what it does, and the variable it defaults from."""
    return f"{text}{' ' if text else ''}({name}; default {default_of(name)})"


def add_commands(sub: Any) -> None:
    serve = sub.add_parser(
        "serve",
        help="serve Rebound's pushes (POST /rebound/<brand>/events, GET /healthz, GET /readyz)",
        description="The push receiver under uvicorn. Plain HTTP: put it behind your HTTPS terminator (load "
        "balancer, ingress, nginx) and keep --proxy-headers so the access log shows the client's address. "
        "SIGINT/SIGTERM: stop accepting, finish the requests in flight, exit 0.",
        **reads("serve"),
    )
    serve.add_argument("--host", default=env_value("RETURNS_SERVE_HOST"), help=_by("RETURNS_SERVE_HOST"))
    serve.add_argument("--port", type=int, default=env_int("RETURNS_SERVE_PORT"), help=_by("RETURNS_SERVE_PORT"))
    serve.add_argument("--workers", type=int, default=env_int("RETURNS_SERVE_WORKERS"),
                       help=_by("RETURNS_SERVE_WORKERS", "worker processes"))  # fmt: skip
    serve.add_argument("--proxy-headers", action=argparse.BooleanOptionalAction,
                       default=env_flag("RETURNS_SERVE_PROXY_HEADERS"),
                       help=_by("RETURNS_SERVE_PROXY_HEADERS", "trust X-Forwarded-For/Proto from "
                                "--forwarded-allow-ips"))  # fmt: skip
    serve.add_argument("--forwarded-allow-ips", default=env_value("FORWARDED_ALLOW_IPS"),
                       help=_by("FORWARDED_ALLOW_IPS", "proxies whose X-Forwarded-* headers are trusted"))  # fmt: skip
    serve.add_argument("--access-log", action=argparse.BooleanOptionalAction,
                       default=env_flag("RETURNS_SERVE_ACCESS_LOG"),
                       help=_by("RETURNS_SERVE_ACCESS_LOG", "one line per request: client, method, path, status; "
                                "never bodies or headers"))  # fmt: skip
    serve.add_argument("--graceful-timeout", type=int, default=env_int("RETURNS_SERVE_GRACEFUL_SECONDS"),
                       help=_by("RETURNS_SERVE_GRACEFUL_SECONDS", "seconds to finish hand-offs in flight on "
                                "shutdown"))  # fmt: skip
    serve.add_argument("--log-level", default=env_value("RETURNS_LOG_LEVEL"),
                       choices=("critical", "error", "warning", "info", "debug"),
                       help=_by("RETURNS_LOG_LEVEL"))  # fmt: skip
    serve.set_defaults(func=_serve)

    worker = sub.add_parser(
        "worker",
        help="run the engine's workers: every queue and schedule, or the roles given",
        description="Serves the return workflows, each shop's Shopify queue (at its plan's rate), the mapping "
        "registries, Rebound's pull fallback, the drift monitor and the event store's retention purge, and creates "
        "the brands' pull and drift Schedules and the events-purge Schedule if missing. Brands: RETURNS_MAPPINGS_DIR "
        "when set, else every deployed mapping. SIGINT/SIGTERM: finish activities in flight (10 s grace), exit 0.",
        **reads("worker"),
    )
    worker.add_argument("--roles", default=None,
                        help=_by("RETURNS_WORKER_ROLES", "all or a comma list of: returns, shops, registry, pull, "
                                 "drift, events"))  # fmt: skip
    worker.set_defaults(func=_worker)

    dev = sub.add_parser("devserver", help="run the embedded Temporal dev server with the search attributes",
                         **reads("devserver"))  # fmt: skip
    dev.add_argument("--port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.add_argument("--ui-codec-endpoint", default=env_value("RETURNS_UI_CODEC_ENDPOINT"),
                     help="the codec server the UI decodes payloads with (returns codec-server; "
                     "RETURNS_UI_CODEC_ENDPOINT)")  # fmt: skip
    dev.set_defaults(func=_devserver)

    codec = sub.add_parser(
        "codec-server",
        help="serve the Temporal UI's codec endpoint (decrypts payloads for people allowed to see them)",
        description="Keys: RETURNS_CODEC_KEYS or RETURNS_CODEC_KEYS_FILE (the same the engine encrypts with); "
        "access: RETURNS_CODEC_TOKEN as `Authorization: Bearer <token>` (one token per deployment). A UI that cannot "
        "send headers (a local dev server's) may put it in the URL with --allow-token-in-path: "
        "`temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8899/<token>`. Operators' CLI: "
        "`temporal ... --codec-endpoint http://127.0.0.1:8899 --codec-auth 'Bearer <token>'`. --new-key prints a "
        "fresh key and exits.",
        **reads("codec-server"),
    )
    codec.add_argument("--host", default=env_value("RETURNS_CODEC_HOST"), help=_by("RETURNS_CODEC_HOST"))
    codec.add_argument("--port", type=int, default=env_int("RETURNS_CODEC_PORT"), help=_by("RETURNS_CODEC_PORT"))
    codec.add_argument("--ui-origin", action="append", default=None,
                       help=_by("RETURNS_CODEC_UI_ORIGINS", "an origin the UI is served from (repeat; the variable "
                                "is comma separated)"))  # fmt: skip
    codec.add_argument("--new-key", action="store_true", help="print a new AES-256 key (base64) and exit")
    codec.add_argument("--allow-token-in-path", action="store_true",
                       help=_by("RETURNS_CODEC_TOKEN_IN_PATH", "also accept the token as the URL's first segment (a "
                                "local UI that cannot send headers)"))  # fmt: skip
    codec.set_defaults(func=_codec_server)

    demo = sub.add_parser("demo", help="run everything locally and drive a batch of returns through (make demo)",
                          **reads("demo"))  # fmt: skip
    demo.add_argument("--exit", action="store_true", help="exit after the report (status 0 only if all is as expected)")
    demo.add_argument("--port", type=int, default=7233, help="the dev server's port (default 7233)")
    demo.add_argument("--ui-port", type=int, default=8233, help="the Temporal UI's port (default 8233)")
    demo.set_defaults(func=_demo)
