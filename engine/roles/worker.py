"""`returns worker`: one process serving every queue the product needs, or the roles a team chooses to split
across processes, and making sure each brand's Schedules exist (create-if-missing: safe when several workers
start at once, and an operator's changes to a schedule are kept).

Roles: `returns` (the return workflows), `shops` (each shop's Shopify queue, dispatched at its plan's rate),
`registry` (the brands' mapping registries), `pull` (Rebound's pull fallback, which catches lost pushes),
`drift` (the drift monitor) and `events` (the event store's retention purge, one schedule for the deployment).
`pull` and `drift` need Rebound's API; a worker asked for them without it refuses to start rather than silently
losing the safety net.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from engine.definitions.durations import duration_setting
from engine.definitions.mapping import MappingDef, load_mappings
from engine.errors import ConfigError
from engine.ingest.retention import RetentionPolicy
from engine.registry.client import REGISTRY_TASK_QUEUE, deployed_mappings
from engine.roles import startup
from engine.settings import Settings, shopify_token
from engine.settings.environment import default_of, env_given, env_value
from engine.shopify.plans import shop_limits, shop_task_queue
from engine.telemetry.setup import configure
from engine.temporal.connection import connect
from engine.temporal.sandbox import workflow_runner
from engine.workers.build import build_registry_worker, build_worker

ROLES: dict[str, str] = {
    "returns": "the return workflows and the SLA sweep's schedule (RETURNS_SLA_SWEEP_EVERY)",
    "shops": "each shop's Shopify queue, at its plan's rate",
    "registry": "the brands' mapping registries",
    "pull": "Rebound's pull fallback and its schedules (needs REBOUND_API_URL, REBOUND_API_TOKEN)",
    "drift": "the drift monitor and its schedules (needs REBOUND_API_URL, REBOUND_API_TOKEN)",
    "events": "the event store's retention purge and its schedule (RETURNS_PURGE_EVERY, RETURNS_*_RETENTION)",
}


def parse_roles(text: str) -> tuple[str, ...]:
    if text.strip() in ("", "all"):
        return tuple(ROLES)
    roles = tuple(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ConfigError(f"unknown role(s) {', '.join(unknown)}: use all or some of {', '.join(ROLES)}")
    return roles


def _every(env: Mapping[str, str] | None, name: str) -> timedelta:
    """A positive interval from the environment (unset or empty: its declared default); a bad one names its
    variable."""
    seconds = duration_setting(name, str(env_given(name, env)))
    assert seconds is not None
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class WorkerConfig:
    roles: tuple[str, ...] = tuple(ROLES)
    rebound_api_url: str | None = None
    rebound_api_token: str | None = field(default=None, repr=False)  # secrets: never in a repr or a log
    pull_every: timedelta = _every({}, "RETURNS_PULL_EVERY")  # the declared defaults: 5m
    drift_alert_url: str | None = field(default=None, repr=False)
    drift_task_queue: str = default_of("DRIFT_TASK_QUEUE")
    retention: RetentionPolicy = RetentionPolicy()
    purge_every: timedelta = _every({}, "RETURNS_PURGE_EVERY")  # 1h
    sla_sweep_every: timedelta = _every({}, "RETURNS_SLA_SWEEP_EVERY")  # 10m
    events_task_queue: str = "returns-events"
    graceful_shutdown: timedelta = timedelta(seconds=10)

    @classmethod
    def from_env(cls, roles: str | None = None, environ: Mapping[str, str] | None = None) -> WorkerConfig:
        env = environ  # None: the process environment
        config = cls(
            roles=parse_roles(roles if roles is not None else str(env_value("RETURNS_WORKER_ROLES", env))),
            rebound_api_url=env_given("REBOUND_API_URL", env),
            rebound_api_token=env_given("REBOUND_API_TOKEN", env),
            pull_every=_every(env, "RETURNS_PULL_EVERY"),
            drift_alert_url=env_given("DRIFT_ALERT_URL", env),
            drift_task_queue=str(env_value("DRIFT_TASK_QUEUE", env)),
            retention=RetentionPolicy.from_env(env),
            purge_every=_every(env, "RETURNS_PURGE_EVERY"),
            sla_sweep_every=_every(env, "RETURNS_SLA_SWEEP_EVERY"),
        )
        needs_rebound = [r for r in config.roles if r in ("pull", "drift")]
        if needs_rebound and not (config.rebound_api_url and config.rebound_api_token):
            raise ConfigError(
                f"role(s) {', '.join(needs_rebound)} need Rebound's API: set REBOUND_API_URL and REBOUND_API_TOKEN, "
                "or leave them out (--roles returns,shops,registry,events)"
            )
        return config


async def brand_mappings(client: Client, settings: Settings) -> dict[str, MappingDef]:
    """The brands this worker serves: RETURNS_MAPPINGS_DIR when set, else every deployed mapping."""
    if settings.mappings_dir is not None:
        return load_mappings(settings.mappings_dir)
    async with build_registry_worker(client):  # the registry must answer even if no other process serves it
        return await deployed_mappings(client)


async def serve(
    client: Client,
    settings: Settings,
    config: WorkerConfig,
    stop: asyncio.Event,
    *,
    token_lookup: Callable[[str], str] = shopify_token,
    say: Callable[[str], None] = print,
    gauges: bool = False,
) -> None:
    """Serve the configured roles until `stop` is set; in-flight activities get the grace period, then retry.
    `gauges`: keep the telemetry gauges (returns by state, shop queue backlogs) fresh from this process."""
    mappings = await brand_mappings(client, settings)
    limits = list(shop_limits(mappings.values()))
    options: dict[str, object] = {"graceful_shutdown_timeout": config.graceful_shutdown}
    roles = config.roles
    say(startup.connected(settings, roles))
    if not mappings:
        say(startup.NO_BRANDS)
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)) as http, AsyncExitStack() as stack:
        returns = build_worker(client, settings, http, token_lookup=token_lookup, shops=limits,
                               serve_returns="returns" in roles, serve_shops="shops" in roles, **options)  # fmt: skip
        await stack.enter_async_context(returns)
        if "returns" in roles:
            from engine.workers.sla_sweep import ensure_sweep_schedule

            sweep = await ensure_sweep_schedule(client, task_queue=settings.task_queue, every=config.sla_sweep_every)
            say(startup.returns(settings.task_queue))
            say(startup.sla_sweep(config.sla_sweep_every, sweep))
        if "shops" in roles:
            for limit in limits:
                say(startup.shop(limit, shop_task_queue(settings.task_queue, limit.domain)))
        if "registry" in roles:
            await stack.enter_async_context(build_registry_worker(client))
            say(startup.registry(REGISTRY_TASK_QUEUE))
        if "pull" in roles:
            await stack.enter_async_context(await _pull_worker(client, settings, config, http, stack))
            sids = [await _ensure_pull(client, brand, config) for brand in sorted(mappings)]
            say(startup.pull(config.pull_every, sids))
        if "drift" in roles:
            from engine.drift.activities import DriftActivities
            from engine.drift.schedule import ensure_drift_schedule, interval_for
            from engine.drift.worker import build_drift_worker
            from engine.drift.workflow import DriftInput
            from engine.registry.client import ActiveMappings

            assert config.rebound_api_url and config.rebound_api_token
            drift = DriftActivities(client, settings, http, rebound_api_url=config.rebound_api_url,
                                    rebound_api_token=config.rebound_api_token, mappings=ActiveMappings(client).get,
                                    token_lookup=token_lookup, budget=returns.activities.budget,
                                    alert_url=config.drift_alert_url)  # fmt: skip
            await stack.enter_async_context(build_drift_worker(client, drift, task_queue=config.drift_task_queue))
            for brand, mapping in sorted(mappings.items()):
                inp = DriftInput(brand, workflow_task_queue=settings.task_queue)
                sid = await ensure_drift_schedule(client, mapping, inp, task_queue=config.drift_task_queue)
                say(startup.drift(sid, interval_for(mapping)))
        if "events" in roles:
            from engine.ingest.purge import EventsPurgeActivities, build_events_worker, ensure_purge_schedule

            purge = EventsPurgeActivities(settings.event_store_url, config.retention)
            await stack.enter_async_context(build_events_worker(client, purge, task_queue=config.events_task_queue,
                                                                **options))  # fmt: skip
            sid = await ensure_purge_schedule(client, every=config.purge_every, task_queue=config.events_task_queue)
            say(startup.events(config.purge_every, config.retention.describe(), sid))
        if gauges and "returns" in roles:
            from engine.definitions.flow import load_flows
            from engine.ingest.store import open_event_store
            from engine.telemetry.gauges import Gauges

            states = {state for flow in load_flows(settings.flows).values() for state in flow.states}
            queues = {limit.domain: shop_task_queue(settings.task_queue, limit.domain) for limit in limits}
            held = await open_event_store(settings.event_store_url)  # held pushes, as `returns events list` counts
            stack.push_async_callback(held.close)
            task = asyncio.create_task(Gauges(client, sorted(mappings), states, queues, held).run())
            stack.callback(task.cancel)
        say(startup.READY)
        await stop.wait()
        say(startup.STOPPING)


async def _pull_worker(
    client: Client, settings: Settings, config: WorkerConfig, http: httpx.AsyncClient, stack: AsyncExitStack
) -> Worker:
    from engine.ingest.pull import PULL_TASK_QUEUE, ReboundPullActivities, ReboundPullWorkflow
    from engine.ingest.receiver import Receiver
    from engine.ingest.store import open_event_store
    from engine.registry.client import ActiveMappings
    from engine.registry.flows import ActiveFlows

    assert config.rebound_api_url and config.rebound_api_token
    store = await open_event_store(settings.event_store_url)
    stack.push_async_callback(store.close)
    receiver = Receiver(client=client, flows=ActiveFlows(client).get, mappings=ActiveMappings(client).get, store=store,
                        task_queue=settings.task_queue, source="pull")  # fmt: skip
    stack.push_async_callback(receiver.drain)  # before the store closes (callbacks run last in, first out)
    pull = ReboundPullActivities(receiver, config.rebound_api_url, config.rebound_api_token, http)
    return Worker(client, task_queue=PULL_TASK_QUEUE, workflows=[ReboundPullWorkflow], activities=[pull.pull_rebound],
                  workflow_runner=workflow_runner(), graceful_shutdown_timeout=config.graceful_shutdown)  # fmt: skip


async def _ensure_pull(client: Client, brand: str, config: WorkerConfig) -> str:
    from engine.ingest.pull import PULL_TASK_QUEUE, ensure_pull_schedule

    return await ensure_pull_schedule(client, brand, every=config.pull_every, task_queue=PULL_TASK_QUEUE)


async def run_worker(settings: Settings, config: WorkerConfig) -> int:
    """The `returns worker` process: connect, serve, and stop cleanly on SIGINT or SIGTERM (exit 0)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    telemetry = configure("rebound-returns-worker")
    await telemetry.start()
    try:
        try:
            client = await connect(settings, telemetry=telemetry)
        except RuntimeError as err:
            print(f"cannot reach Temporal at {settings.temporal_address}: {err}", flush=True)
            return 2
        for where in telemetry.where:
            print(f"telemetry: {where}", flush=True)
        await serve(client, settings, config, stop, say=lambda line: print(line, flush=True),
                    gauges=telemetry.meter_provider is not None)  # fmt: skip
        return 0
    finally:
        await telemetry.shutdown()
