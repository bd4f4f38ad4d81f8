"""`returns demo`: the whole product on one machine, driven by a realistic batch of returns.

Starts the Temporal dev server (SQLite under .data/, UI on :8233), the Shopify emulator, a worker, feeds
Rebound's pushes for every scenario through translation and signal-with-start, then prints what happened
and checks it against Shopify's end state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from emulators.paths import flows_dir, mappings_dir
from emulators.progress import Progress
from emulators.rebound.scenarios import SHIPPING, Scenario, catalogue, demo_population
from emulators.rebound.server import PushFaults, PushStats, ReboundEmulator
from emulators.settlement import (
    STOCK_PER_LOCATION,
    exchange_problems,
    processed_record,
    processing_problems,
    stock_problems,
)
from emulators.shopify.cost import plan_named
from emulators.shopify.server import ShopifyEmulator
from emulators.shopify.store import OrderLineSeed, ShopifyStore
from engine.definitions.flow import FlowDef, load_flows
from engine.definitions.mapping import MappingDef, load_mappings
from engine.drift.activities import DriftActivities
from engine.drift.report import table as drift_table
from engine.drift.schedule import ensure_drift_schedule, run_now
from engine.drift.worker import DRIFT_TASK_QUEUE, build_drift_worker
from engine.drift.workflow import DriftInput
from engine.ingest.pull import (
    PULL_TASK_QUEUE,
    PullInput,
    ReboundPullActivities,
    ReboundPullWorkflow,
    ensure_pull_schedule,
)
from engine.ingest.receiver import Receiver, env_secret
from engine.ingest.serve import AppServer
from engine.ingest.store import open_event_store
from engine.money import show
from engine.refunds import RefundPlan
from engine.registry.client import ActiveMappings, deploy
from engine.registry.flows import ActiveFlows, deploy_flow
from engine.settings import Settings, token_env_name
from engine.shopify.plans import shop_limits, shop_task_queue
from engine.telemetry.gauges import Gauges
from engine.telemetry.setup import configure
from engine.temporal.codec import data_converter, load_keys
from engine.temporal.codec_server import create_codec_app
from engine.temporal.devserver import start_dev_server
from engine.temporal.sandbox import workflow_runner
from engine.workers.build import build_registry_worker, build_worker
from engine.workers.starter import handle_for
from engine.workflow import search
from engine.workflow.messages import ReturnStatus
from engine.workflow.return_workflow import ReturnWorkflow


@dataclass
class Outcome:
    scenario: Scenario
    status: ReturnStatus | None
    problems: list[str] = field(default_factory=list)


def inspects(flow: FlowDef) -> bool:
    """Whether a brand's returns get graded: its flow assigns dispositions from grades (the express flow does
    not: every item counts as the best grade on receipt), so the demo sends it inspections or not."""
    return any(
        call.step == "assign_dispositions" and call.params.get("ungraded", "missing") == "missing"
        for state in flow.states.values()
        for call in state.steps
    )


def seed_shopify(
    store: ShopifyStore, mappings: dict[str, MappingDef], scenarios: list[Scenario], tokens: dict[str, str]
) -> None:
    for mapping in mappings.values():
        # The production variable when set (tests put canaries there), else a fresh token for this run.
        given = os.environ.get(token_env_name(mapping.shop_domain))
        token = tokens.setdefault(mapping.shop_domain, given or "shpat_" + secrets.token_hex(16))
        store.add_shop(
            mapping.shop_domain,
            access_token=token,
            currency=mapping.currency,
            locations=[(loc.id, loc.name) for loc in mapping.locations.values()],
        )
        skus = {line.sku for sc in scenarios if sc.brand == mapping.brand for line in sc.order_lines}
        prices = {product.sku: product.price for product in catalogue(mapping.brand)}
        wanted: dict[str, int] = {}
        for sc in (sc for sc in scenarios if sc.brand == mapping.brand):
            prices |= sc.wanted_prices
            wanted |= {u.exchange_sku: sc.wanted_stock.get(u.exchange_sku, STOCK_PER_LOCATION)
                       for u in sc.units if u.exchange_sku}  # fmt: skip
        first = next(iter(mapping.locations.values())).id
        for sku in sorted(skus | set(wanted)):
            stock = {loc.id: STOCK_PER_LOCATION for loc in mapping.locations.values()}
            if sku in wanted and sku not in skus:  # a variant only wanted in exchange: its stock as the case says
                stock = {first: min(wanted[sku], STOCK_PER_LOCATION)}
            store.add_product(mapping.shop_domain, sku, stock=stock, price=prices.get(sku))
    for number, sc in enumerate(scenarios):
        if sc.same_order_as:
            continue  # a second return: the first one's scenario seeds the order
        money = sc.money
        first, last, email = customer_of(number)
        customer = store.add_customer(mappings[sc.brand].shop_domain, first_name=first, last_name=last, email=email)
        store.add_order(
            mappings[sc.brand].shop_domain,
            name=sc.order_name,
            processed_at=sc.order_processed_at,
            lines=[OrderLineSeed(line.sku, line.quantity, line.unit_price) for line in sc.order_lines],
            shipping=SHIPPING,
            presentment_currency=money.presentment_currency,
            exchange_rate=money.exchange_rate,
            taxes_included=money.taxes_included,
            tax_rate=money.tax_rate,
            payments=[(gateway, amount) for gateway, amount in money.payments],
            customer_id=customer,
        )


FIRST_NAMES = ("Amelia", "Oliver", "Isla", "Harry", "Ava", "Noah", "Mia", "Arthur", "Freya", "Leo")
LAST_NAMES = ("Hughes", "Okafor", "Patel", "MacLeod", "Nowak", "Evans", "Khan", "Fitzgerald", "Murphy", "Lewis")
EMAIL_DOMAIN = "customers.example.co.uk"


def customer_of(number: int) -> tuple[str, str, str]:
    """The demo's customers: real-looking personal data, so a leak of it would show (names and e-mails appear
    only in Shopify, never in logs, spans or histories)."""
    first, last = FIRST_NAMES[number % len(FIRST_NAMES)], LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return first, last, f"{first.lower()}.{last.lower()}.{number}@{EMAIL_DOMAIN}"


def apply_plans(emulator: ShopifyEmulator, mappings: dict[str, MappingDef]) -> None:
    """Put each emulated shop on the plan its mapping declares, so Shopify's bucket and the engine agree."""
    for mapping in mappings.values():
        emulator.set_plan(mapping.shop_domain, plan_named(mapping.plan))


def rebound_app_refund(store: ShopifyStore, mapping: MappingDef, sc: Scenario, event_kind: str) -> None:
    """Play Rebound's own Shopify app: it refunds at the brand's milestone, behind the engine's back."""
    if mapping.refund.issuer != "rebound_app" or event_kind != mapping.refund.trigger:
        return
    order_id = store.find_order_id(mapping.shop_domain, sc.order_name)
    if order_id is None or store.refunds(mapping.shop_domain, order_id):
        return
    lines, amount = sc.app_refund()
    store.refund_by_hand(mapping.shop_domain, order_id, lines, amount, note="Refunded by the ReBound app")


def interleave(scenarios: list[Scenario]) -> list[tuple[Scenario, dict]]:
    """Pushes arrive mixed across returns, each return's own order preserved (as the scenario set it)."""
    queues = [list(sc.pushes) for sc in scenarios]
    out = []
    while any(queues):
        for sc, queue in zip(scenarios, queues, strict=True):
            if queue:
                out.append((sc, queue.pop(0)))
    return out


def settled(sc: Scenario, s: ReturnStatus) -> bool:
    """Where the demo stops waiting for a return: at its expected state and finished (or held there), or held for
    anything but an SLA."""
    return (
        s.state == sc.expected_state
        and (s.finished or s.needs_attention)
        or s.needs_attention
        and "SLA" not in (s.attention_reason or "")
    )


def pay_owed(store: ShopifyStore, mappings: dict[str, MappingDef], scenarios: list[Scenario]) -> None:
    """Customers who owe for a dearer exchange pay Shopify's invoice as soon as it is there (0 paid before)."""
    for sc in scenarios:
        if sc.expected_owed > 0 and (order_id := store.find_order_id(mappings[sc.brand].shop_domain, sc.order_name)):
            store.pay_exchange_balance(mappings[sc.brand].shop_domain, order_id)


async def wait_for(client: Client, scenarios: list[Scenario], timeout: float,
                   each_round: Callable[[], None] = lambda: None) -> dict[str, ReturnStatus]:  # fmt: skip
    deadline = time.monotonic() + timeout
    statuses: dict[str, ReturnStatus] = {}
    progress = Progress("returns settled", len(scenarios))
    async with progress.ticking():
        while True:
            each_round()
            for sc in scenarios:
                status = await handle_for(client, sc.brand, sc.rebound_return_id).query(ReturnWorkflow.status)
                statuses[sc.rebound_return_id] = status
            done = sum(settled(sc, statuses[sc.rebound_return_id]) for sc in scenarios)
            held = sum(s.needs_attention for s in statuses.values())
            progress.update(done, detail=f"{held} held" if held else "")
            if done == len(scenarios) or time.monotonic() > deadline:
                return statuses
            await asyncio.sleep(0.5)


def check(store: ShopifyStore, mappings: dict[str, MappingDef], sc: Scenario, status: ReturnStatus) -> list[str]:
    """Compare the workflow's view and Shopify's end state with what the scenario should produce."""
    problems = []
    domain = mappings[sc.brand].shop_domain
    if status.state != sc.expected_state:
        problems.append(f"state {status.state}, expected {sc.expected_state}")
    if sc.expected_attention and sc.expected_attention not in (status.attention_reason or ""):
        problems.append(f"attention {status.attention_reason!r}, expected it to name {sc.expected_attention}")
    order_id = store.find_order_id(domain, sc.order_name)
    refunds = store.refunds(domain, order_id) if order_id else []
    if mappings[sc.brand].refund.issuer == "engine":  # an order may carry several returns' refunds: ours only
        refunds = [r for r in refunds if f"[rebound-return:{sc.rebound_return_id}]" in (r["note"] or "")]
    total = sum((Decimal(str(r["amount"])) for r in refunds), Decimal(0))
    if sc.expected_state == "refunded":
        if len(refunds) != sc.expected_refunds:
            problems.append(f"{len(refunds)} refunds in Shopify, expected {sc.expected_refunds}")
        if total != sc.expected_refund:
            problems.append(f"Shopify refunded {total}, expected {sc.expected_refund}")
        currencies = {r["currency"] for r in refunds}
        if sc.expected_currency and currencies - {sc.expected_currency}:
            problems.append(f"refunded in {', '.join(sorted(currencies))}, expected {sc.expected_currency}")
        if sc.expected_transactions:
            paid_back = sorted((g, Decimal(str(a))) for r in refunds for g, a in r["transactions"])
            if paid_back != sorted(sc.expected_transactions):
                problems.append(f"transactions {paid_back}, expected {sorted(sc.expected_transactions)}")
        record = processed_record(store, domain, order_id, status)
        if record is not None and mappings[sc.brand].refund.issuer == "engine" and status.refund is not None and (
                status.refund.status != "preempted"):  # fmt: skip
            problems += processing_problems(record, status, refunds)
        if sc.expected_bonus and order_id:
            customer = store.order_summary(domain, order_id)["customer_id"]
            balance = store.store_credit(domain, customer).get(mappings[sc.brand].currency, Decimal(0))
            if balance != sc.expected_refund + sc.expected_bonus:
                problems.append(f"store credit {balance}, expected {sc.expected_refund} + {sc.expected_bonus} bonus")
    elif refunds:
        problems.append(f"{len(refunds)} refund(s) in Shopify for a {sc.expected_state} return")
    restocked = dict(status.restocked)
    if restocked != sc.expected_restock:
        problems.append(f"restocked {restocked}, expected {sc.expected_restock}")
    if sc.expected_problem and not any(sc.expected_problem in entry.detail for entry in status.audit):
        problems.append(f"the return's log never says {sc.expected_problem!r}")
    refused = sorted({text.split(":")[0] for text in status.refused.values()})
    if refused != sorted(sc.expected_refused):
        problems.append(f"refused {refused}, expected {sorted(sc.expected_refused)}")
    on_return = {sku for ret in (store.returns(domain, order_id) if order_id else []) for sku in ret["lines"]}
    if on_return & set(refused):
        problems.append(f"final-sale {sorted(on_return & set(refused))} on the Shopify return")
    if sc.expected_exchanges and order_id:
        problems += exchange_problems(store, domain, order_id, sc, status)
    return problems


def check_stock(store: ShopifyStore, mappings: dict[str, MappingDef], scenarios: list[Scenario],
                statuses: dict[str, ReturnStatus]) -> list[str]:  # fmt: skip
    """Shopify's available stock must equal the seed plus exactly what the scenarios restocked, less exchanges."""
    return stock_problems(store, mappings, scenarios, statuses)[1]


def money_ledger(store: ShopifyStore, mappings: dict[str, MappingDef], scenarios: list[Scenario]) -> str:
    """What Shopify recorded for the returns whose money is not one card in the shop's currency: each refund's
    transactions, in the customer's currency and the shop's."""
    lines = ["refund transactions Shopify recorded (orders in another currency, split payments, several returns or"
             " parcels):"]  # fmt: skip
    for sc in scenarios:
        mapping = mappings[sc.brand]
        plain = not (sc.money.presentment_currency or sc.money.payments or not sc.money.taxes_included)
        if (plain and not sc.same_order_as and sc.expected_refunds == 1) or mapping.refund.issuer != "engine":
            continue
        order_id = store.find_order_id(mapping.shop_domain, sc.order_name)
        marker = f"[rebound-return:{sc.rebound_return_id}]"
        for refund in store.refunds(mapping.shop_domain, order_id) if order_id else []:
            if marker not in (refund["note"] or ""):
                continue
            paid = " + ".join(f"{show(amount, refund['currency'])} to {gateway}" for gateway, amount in
                              refund["transactions"])  # fmt: skip
            shop = (
                f" (shop: {show(refund['shop_amount'], mapping.currency)})"
                if refund["currency"] != mapping.currency
                else ""
            )
            lines.append(f"  {sc.order_name} {sc.name}: {refund['id']} {paid}{shop}")
    return "\n".join(lines)


def fees_shown(plan: RefundPlan | None, currency: str) -> str:
    """The fees a refund kept back, and those recorded on the Shopify return that it gave back."""
    if plan is None:
        return ""
    fees = (("return fee", plan.shipping_fee), ("restocking fee", plan.restocking_fee))
    kept = [f"{show(amount, currency)} {name}" for name, amount in fees if Decimal(amount)]
    text = f" less {' + '.join(kept)}" if kept else ""
    if Decimal(plan.fees_waived):
        text += f" ({show(plan.fees_waived, currency)} fees given back: not the customer's fault)"
    return text


def render(outcomes: list[Outcome], mappings: dict[str, MappingDef]) -> str:
    names = {loc.id: loc.name for m in mappings.values() for loc in m.locations.values()}
    rows = [("return", "brand", "order", "scenario", "state", "restocked", "refund", "check")]
    for o in outcomes:
        s = o.status
        restocked = (
            ", ".join(
                f"{qty}x {key.split('@')[0]} -> {names.get(key.split('@')[1], key.split('@')[1])}"
                for key, qty in sorted((s.restocked if s else {}).items())
            )
            or "-"
        )
        refund = "-"
        if s and s.refund and s.refund.status in ("issued", "already_issued", "verified"):
            currency = s.refund.currency or mappings[o.scenario.brand].currency
            amount = sum((Decimal(r.amount) for r in s.refunds), Decimal(0)) if s.refunds else Decimal(s.refund.amount)
            refund = show(amount, currency)
            if len(s.refunds) > 1:
                refund += f" in {len(s.refunds)} refunds"
            if len(s.refund.tenders) > 1:
                refund += " (" + " + ".join(f"{show(t.amount, currency)} {t.gateway}" for t in s.refund.tenders) + ")"
            if s.refund_plan and s.refund_plan.method == "store_credit":
                refund += f" store credit (+{show(s.refund_plan.store_credit_bonus, s.refund_plan.currency)} bonus)"
            refund += fees_shown(s.refund.plan or s.refund_plan, currency)
            if s.refund.status == "verified":
                refund += " (by Rebound app)"
        elif s and s.refund:
            refund = "no refund" if s.refund.status == "nothing_to_refund" else s.refund.status
        if s:
            for item in (i for i in s.items if i.exchange_sku):
                refund += f"; exchanged for {item.exchange_sku}" if item.exchange == "released" else (
                    f"; exchange {item.exchange_sku} {(item.exchange or 'requested').replace('_', ' ')}")  # fmt: skip
        rows.append(
            (
                o.scenario.rebound_return_id,
                o.scenario.brand,
                o.scenario.order_name,
                o.scenario.name,
                (s.state if s else "?") + (" (!)" if s and s.needs_attention else ""),
                restocked,
                refund,
                "ok" if not o.problems else "MISMATCH: " + "; ".join(o.problems),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
        if i == 0:
            lines.append("-" * (sum(widths) + 2 * len(widths) + 5))
    return "\n".join(lines)


def app_refund_hook(
    store: ShopifyStore, mappings: dict[str, MappingDef], scenarios: list[Scenario]
) -> Callable[[str, dict[str, Any]], None]:
    """What happens at Rebound when a milestone is published: for brands whose refunds Rebound's app makes, the
    app refunds in Shopify at its milestone (ReboundEmulator's `on_publish`)."""
    by_id = {sc.rebound_return_id: sc for sc in scenarios}

    def on_publish(brand: str, payload: dict[str, Any]) -> None:
        sc = by_id.get(str(payload["order"]["reboundOrderId"]))
        if sc is not None:
            mapping = mappings[brand]
            kind = mapping.statuses.get(str(payload["order"]["statusDescription"]), "")
            rebound_app_refund(store, mapping, sc, kind)

    return on_publish


async def push_through_receiver(
    rebound: ReboundEmulator,
    shopify: ShopifyStore,
    mappings: dict[str, MappingDef],
    scenarios: list[Scenario],
    receiver_url: str,
    *,
    seed: int,
    drop_rate: float = 0.04,
    duplicate_rate: float = 0.1,
) -> PushStats:
    """Each milestone happens at Rebound (recorded for the pull API, Rebound's app may refund), then is pushed,
    signed, to the receiver, four at a time as a busy Rebound sends them; some pushes are lost and some arrive twice,
    as in production."""
    app_refund = app_refund_hook(shopify, mappings, scenarios)
    pushes = [(sc.brand, payload) for sc, payload in interleave(scenarios)]
    faults = PushFaults(drop_rate=drop_rate, duplicate_rate=duplicate_rate, seed=seed)
    before = rebound.milestones
    async with Progress("pushes", len(pushes)).ticking(lambda: rebound.milestones - before):
        return await rebound.push_stream(receiver_url, pushes, faults, on_publish=app_refund, in_flight=4)


def seed_drift(store: ShopifyStore, rebound: ReboundEmulator, mappings: dict[str, MappingDef],
               scenarios: list[Scenario]) -> list[str]:  # fmt: skip
    """What the drift monitor must find: a staff refund on an order whose return we already refunded, and a
    Rebound return registered after the last pull whose push never arrived."""
    seeded = []
    done = next(sc for sc in scenarios if sc.brand == "castore" and sc.expected_state == "refunded")
    domain = mappings[done.brand].shop_domain
    order_id = store.find_order_id(domain, done.order_name)
    if order_id is not None:
        store.refund_by_hand(domain, order_id, {}, Decimal("5.00"), note="goodwill gesture by store staff")
        seeded.append(f"a manual refund on {done.order_name}")
    ghost = next(sc for sc in scenarios if sc.brand == "cult" and sc.pushes)
    payload = json.loads(json.dumps(ghost.pushes[0]))
    payload["order"]["reboundOrderId"] = ghost.rebound_return_id[:-2] + "99"
    rebound.publish("cult", payload)
    seeded.append(f"a Rebound return never pushed ({payload['order']['reboundOrderId']})")
    return seeded


async def drift_report(client: Client, store: ShopifyStore, rebound: ReboundEmulator, mappings: dict[str, MappingDef],
                       scenarios: list[Scenario], task_queue: str) -> str:  # fmt: skip
    seeded = seed_drift(store, rebound, mappings, scenarios)
    findings = []
    for brand in sorted(mappings):
        inp = DriftInput(brand, workflow_task_queue=task_queue, unknown_grace_seconds=0)
        sid = await ensure_drift_schedule(client, mappings[brand], inp, task_queue=DRIFT_TASK_QUEUE)
        findings.extend((await run_now(client, sid, timeout=300)).findings)
    seeded.append(
        "the 'missing item in parcel' returns of brands refunding before inspection: CULT (on receipt) and LOUNGE"
        " (Rebound's app, at drop-off) paid for an item the hub then found missing"
    )
    if any(sc.name == "parcel lost" for sc in scenarios):
        seeded.append("CASTORE's 'parcel lost' return waits for a parcel that never came")
    return f"drift report (seeded: {'; '.join(seeded)}):\n{drift_table(findings)}"


async def run_demo(
    *, exit_after: bool = False, settings: Settings | None = None, port: int = 7233, ui_port: int = 8233
) -> int:
    settings = settings or Settings.from_env()
    main = asyncio.current_task()
    if main is not None:  # SIGTERM stops the demo as Ctrl-C does: workers first, then the dev server
        for sig in (signal.SIGTERM, signal.SIGHUP):  # a closed terminal too
            asyncio.get_running_loop().add_signal_handler(sig, main.cancel)
    # A retried Shopify call (throttling, 5xx) is normal; its outcome shows in each return's status.
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    logging.getLogger("engine.ingest").setLevel(logging.ERROR)
    flows: dict[str, FlowDef] = load_flows(settings.flows_dir or flows_dir())
    mappings = load_mappings(settings.mappings_dir or mappings_dir())
    print("flows: " + ", ".join(flow.ref for _, flow in sorted(flows.items())))
    print("brands: " + ", ".join(f"{b}@{m.version} on {m.flow}" for b, m in sorted(mappings.items())))
    # Each demo starts from a fresh Temporal database: the emulators' state is in memory, so returns left by a
    # previous run could never complete (and would be drift).
    for stale in [*settings.data_dir.glob("temporal.db*"), *(settings.data_dir / "telemetry").glob("*.jsonl")]:
        stale.unlink()
    telemetry = configure("rebound-returns-demo", files_dir=settings.data_dir / "telemetry")
    await telemetry.start()
    keys = load_keys()  # RETURNS_CODEC_KEYS(_FILE): payloads encrypted, the UI decodes through the codec server
    codec_server: AppServer | None = None
    codec_endpoint = None
    if keys is not None:
        token = os.environ.get("RETURNS_CODEC_TOKEN") or secrets.token_urlsafe(24)
        ui_origins = [f"http://127.0.0.1:{ui_port}", f"http://localhost:{ui_port}"]
        # The dev server's UI sends no headers: the demo (local use only) lets it carry the token in the URL.
        codec_server = AppServer(create_codec_app(keys, token=token, ui_origins=ui_origins, token_in_path=True))
        codec_endpoint = f"{await codec_server.start()}/{token}"
    server = await start_dev_server(settings.data_dir / "temporal.db", search_attributes=search.ALL, port=port,
                                    ui_port=ui_port, codec_endpoint=codec_endpoint)  # fmt: skip
    print(f"Temporal dev server on {server.address}, UI {server.ui_url}")
    if keys is not None and codec_server is not None:
        print(f"payloads encrypted (AES-256-GCM, key {keys.active}); the UI decodes them through {codec_server.url}")
    secrets_by_brand = {brand: env_secret(brand) or secrets.token_hex(24) for brand in mappings}
    emulator = ShopifyEmulator()
    rebound = ReboundEmulator(api_token=secrets.token_hex(16), secrets=secrets_by_brand)
    store = await open_event_store(settings.event_store_url)
    receiver_server: AppServer | None = None
    background: list[asyncio.Task[None]] = []
    try:
        base_url = await emulator.start()
        rebound_url = await rebound.start()
        tokens: dict[str, str] = {}
        now = datetime.now(UTC)
        inspected = {brand for brand, m in mappings.items() if inspects(flows[m.flow])}
        scenarios = demo_population(mappings, now=now, seed=int(now.timestamp()), inspected=inspected)
        seed_shopify(emulator.store, mappings, scenarios, tokens)
        apply_plans(emulator, mappings)
        print(f"Shopify emulator on {base_url} (API {sorted({m.api_version for m in mappings.values()})})")
        run_settings = Settings(
            temporal_address=server.address,
            namespace=settings.namespace,
            task_queue=settings.task_queue,
            shopify_endpoint=f"{base_url}/shops/{{shop}}",
            flows_dir=settings.flows_dir,
            mappings_dir=settings.mappings_dir,
            data_dir=settings.data_dir,
            database_url=settings.database_url,
        )
        client = await Client.connect(server.address, namespace=settings.namespace, data_converter=data_converter(keys),
                                      interceptors=telemetry.interceptors(), runtime=telemetry.runtime)  # fmt: skip
        active = ActiveMappings(client)
        receiver = Receiver(client=client, flows=ActiveFlows(client).get, mappings=active.get, store=store,
                            task_queue=settings.task_queue, secrets=secrets_by_brand.get)  # fmt: skip
        receiver_server = AppServer(OpenTelemetryMiddleware(receiver.app()) if telemetry.tracing else receiver.app())
        receiver_url = await receiver_server.start()
        print(f"Rebound emulator (pull API) on {rebound_url}; push receiver on {receiver_url}/rebound/<brand>/events")
        async with httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)) as http:
            pull = ReboundPullActivities(receiver, rebound_url, rebound.api_token, http)
            pull_worker = Worker(client, task_queue=PULL_TASK_QUEUE, workflows=[ReboundPullWorkflow],
                                 activities=[pull.pull_rebound], workflow_runner=workflow_runner())  # fmt: skip
            worker = build_worker(client, run_settings, http, token_lookup=tokens.__getitem__,
                                  shops=shop_limits(mappings.values()))  # fmt: skip
            drift = DriftActivities(client, run_settings, http, rebound_api_url=rebound_url,
                                    rebound_api_token=rebound.api_token, mappings=active.get,
                                    token_lookup=tokens.__getitem__, budget=worker.activities.budget,
                                    alert_url=os.environ.get("DRIFT_ALERT_URL"))  # fmt: skip
            async with worker, build_registry_worker(client), pull_worker, build_drift_worker(client, drift):
                states = {state for flow in flows.values() for state in flow.states}
                queues = {m.shop_domain: shop_task_queue(settings.task_queue, m.shop_domain) for m in mappings.values()}
                gauges = asyncio.create_task(Gauges(client, sorted(mappings), states, queues, store).run())
                background.append(gauges)
                for flow in flows.values():
                    result = await deploy_flow(client, flow, operator="demo", note="make demo")
                    print(f"flow {flow.name}: {result.message} ({result.version})")
                for mapping in mappings.values():
                    result = await deploy(client, mapping, operator="demo", note="make demo")
                    print(f"mapping {mapping.brand}: {result.message} ({result.version})")
                print(f"driving {len(scenarios)} returns through signed Rebound pushes ...")
                report = await push_through_receiver(
                    rebound, emulator.store, mappings, scenarios, receiver_url, seed=int(now.timestamp())
                )
                print(
                    f"pushes: {report.sent} sent ({report.duplicated} duplicated), {report.dropped} lost on the way; "
                    f"receiver answered {dict(sorted(report.statuses.items()))}"
                )
                pulled = []
                for brand in sorted(mappings):
                    sid = await ensure_pull_schedule(
                        client, brand, every=timedelta(minutes=5), task_queue=PULL_TASK_QUEUE
                    )
                    pull_result = await client.execute_workflow(
                        ReboundPullWorkflow.run,
                        PullInput(brand),
                        id=f"rebound-pull-now-{brand}",
                        task_queue=PULL_TASK_QUEUE,
                        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
                    )
                    got = pull_result
                    pulled.append(f"{brand}: {got.accepted} caught, {got.duplicates} had, {got.held} held ({sid})")
                print("pull (Temporal Schedule, every 5 min; run now): " + "; ".join(pulled))
                statuses = await wait_for(client, scenarios, timeout=180,
                                          each_round=lambda: pay_owed(emulator.store, mappings, scenarios))  # fmt: skip
                outcomes = []
                for sc in scenarios:
                    status = statuses.get(sc.rebound_return_id)
                    problems = check(emulator.store, mappings, sc, status) if status else ["no status"]
                    outcomes.append(Outcome(sc, status, problems))
                stock_problems = check_stock(emulator.store, mappings, scenarios, statuses)
                print()
                print(render(outcomes, mappings))
                print()
                print(money_ledger(emulator.store, mappings, scenarios))
                print()
                failed = [o for o in outcomes if o.problems]
                refunds = sum(
                    1 for o in outcomes if o.status and o.status.refund and o.status.refund.status == "issued"
                )
                print(
                    f"{len(outcomes) - len(failed)}/{len(outcomes)} returns as expected; {refunds} refunds issued; "
                    f"stock check: {'ok' if not stock_problems else '; '.join(stock_problems)}; "
                    f"held pushes: {await store.counts() or 'none'}"
                )
                print()
                print(await drift_report(client, emulator.store, rebound, mappings, scenarios, settings.task_queue))
                print()
                example = next((sc for sc in scenarios if sc.name == "gift card + card"), scenarios[0])
                print("telemetry (OTLP JSON lines): " + "; ".join(telemetry.where))
                print(f"  returns trace '{example.rebound_return_id}'   # {example.brand} {example.order_name}: "
                      "each push's trace, to the Shopify calls")  # fmt: skip
                print(f"Temporal UI: {server.ui_url}/namespaces/{settings.namespace}/workflows")
                print(f"  temporal workflow list --address {server.address} --query \"ReturnState='refunded'\"")
                ok = not failed and not stock_problems
                if not exit_after:
                    print("running; Ctrl-C to stop")
                    try:
                        await asyncio.Event().wait()
                    except (asyncio.CancelledError, KeyboardInterrupt):
                        pass
                return 0 if ok else 1
    finally:
        for task in background:
            task.cancel()
        if receiver_server is not None:
            await receiver_server.stop()
            await receiver.drain()
        if codec_server is not None:
            await codec_server.stop()
        await telemetry.shutdown()
        await rebound.stop()
        await emulator.stop()
        await store.close()
        server.stop()
