"""`returns flows test`: run a flow and a brand's mapping against scenario files on the real engine, an embedded
Temporal dev server and worker, and the Shopify emulator. Each case is a return: its order, the units sent back,
the Rebound pushes in the order they arrive, optional Shopify faults, and what it must come to (state, refund,
stock by location, tags, note, held or not). Prints each return's timeline and what it did to Shopify; the exit
status is the number of cases that did not come out as expected (capped at 1 by the CLI).

A Shopify fault a case injects makes an activity fail on purpose: the SDK's warning for it, traceback and all,
becomes one `fault` line in that return's timeline (`ExpectedFaults`); any other activity failure is logged as the
SDK logs it. On a terminal a progress line (emulators.progress) counts the cases."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from emulators.progress import Progress
from emulators.rebound.scenarios import OrderLineSpec, ReturnedUnit, Scenario, ScenarioBuilder
from emulators.shopify.cost import plan_named
from emulators.shopify.faults import Faults
from emulators.shopify.server import ShopifyEmulator
from emulators.shopify.store import OrderLineSeed
from engine.definitions.flow import FlowDef, load_flow
from engine.definitions.mapping import MappingDef, load_mapping
from engine.definitions.schema_check import schema_problems
from engine.definitions.yamlfile import read_yaml
from engine.errors import DefinitionError
from engine.ingest.receiver import Receiver
from engine.ingest.store import open_event_store
from engine.money import show
from engine.settings import Settings
from engine.shopify.plans import shop_limits
from engine.temporal.binaries import temporal_cli
from engine.temporal.converter import DATA_CONVERTER
from engine.workers.build import build_worker
from engine.workers.starter import handle_for
from engine.workflow import search
from engine.workflow.messages import ReturnStatus, workflow_id
from engine.workflow.return_workflow import ReturnWorkflow

SETTLE_SECONDS = 2.0  # a return whose status has not moved for this long (and is not finished) has settled
CASE_TIMEOUT = 60.0


@dataclass
class Suite:
    path: Path
    mapping: MappingDef
    flow: FlowDef
    cases: list[dict[str, Any]]


@dataclass
class CaseResult:
    name: str
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


class ExpectedFaults(logging.Filter):
    """On the SDK's activity logger (`temporalio.activity`) for a run: an activity failure that a Shopify fault the
    emulator injected explains (the failure names the operation, and that operation had a fault injected that no
    earlier failure was put down to) is kept as one line for its return's timeline and not logged; every other
    record passes, an unexpected failure with its traceback."""

    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults
        self.explained: dict[str, int] = {}  # operation -> failures put down to its injected faults
        self.lines: dict[str, list[tuple[float, str]]] = {}  # workflow id -> (when, line)

    def filter(self, record: logging.LogRecord) -> bool:
        err = record.exc_info[1] if record.exc_info else None
        if record.__dict__.get("__temporal_error_identifier") != "ActivityFailure" or not isinstance(
            err, ApplicationError
        ):
            return True
        operation = (err.message or "").split(":", 1)[0]
        kinds = {kind: n for (op, kind), n in self.faults.injected_by_operation.items() if op == operation and n}
        if self.explained.get(operation, 0) >= sum(kinds.values()):
            return True
        self.explained[operation] = self.explained.get(operation, 0) + 1
        info: dict[str, Any] = record.__dict__.get("temporal_activity") or {}
        then = "not retried" if err.non_retryable else "retrying"
        line = (
            f"{info.get('activity_type', 'activity')} attempt {info.get('attempt', '?')}: {err.message} "
            f"(injected {', '.join(sorted(kinds))}), {then}"
        )
        self.lines.setdefault(str(info.get("workflow_id", "")), []).append((record.created, line))
        return False

    def clear(self) -> None:
        """Between cases, with the emulator's faults."""
        self.explained.clear()

    def take(self, workflow_id: str) -> list[tuple[float, str]]:
        return self.lines.pop(workflow_id, [])


def _resolve(ref: str, beside: Path, folder: Path) -> Path:
    if ref.endswith((".yaml", ".yml")):
        return (beside / ref).resolve()
    return folder / f"{ref}.yaml"


def load_suite(path: Path, *, flows_dir: Path, mappings_dir: Path) -> Suite:
    doc = read_yaml(path)
    problems = schema_problems(doc, "flow-test.schema.json")
    if problems:
        raise DefinitionError(problems)
    mapping = load_mapping(_resolve(doc.data["mapping"], path.parent, mappings_dir))
    flow = load_flow(_resolve(doc.data.get("flow") or mapping.flow, path.parent, flows_dir))
    return Suite(path, mapping, flow, list(doc.data["cases"]))


class FlowTestRun:
    """One dev server, one Shopify emulator and one worker for every suite of a run."""

    def __init__(self, suites: list[Suite], say: Callable[[str], None]) -> None:
        self.suites = suites
        self.say = say
        self.counter = 0
        self.failures = 0
        self.run_id = secrets.randbelow(10**8)
        self.now = datetime.now(UTC)
        self.tokens: dict[str, str] = {}
        self.shopify = ShopifyEmulator()
        self.expected_faults = ExpectedFaults(self.shopify.faults)
        self.progress = Progress("cases", sum(len(s.cases) for s in suites))

    async def run(self) -> int:
        activity_log = logging.getLogger("temporalio.activity")
        activity_log.addFilter(self.expected_faults)
        self.say = self.progress.above(self.say)
        try:
            return await self._run()
        finally:
            activity_log.removeFilter(self.expected_faults)
            for workflow, lines in self.expected_faults.lines.items():  # none: each case takes its own
                for _, line in lines:
                    self.say(f"fault {workflow}: {line}")

    async def _run(self) -> int:
        env = await WorkflowEnvironment.start_local(
            data_converter=DATA_CONVERTER,
            dev_server_existing_path=str(temporal_cli()),
            search_attributes=search.ALL,
            dev_server_log_level="error",
        )
        base_url = await self.shopify.start()
        failed = 0
        try:
            mappings = {s.mapping.shop_domain: s.mapping for s in self.suites}
            for mapping in mappings.values():
                token = self.tokens.setdefault(mapping.shop_domain, "shpat_" + secrets.token_hex(16))
                locations = [(loc.id, loc.name) for loc in mapping.locations.values()]
                self.shopify.store.add_shop(mapping.shop_domain, access_token=token, currency=mapping.currency,
                                            locations=locations)  # fmt: skip
                self.shopify.set_plan(mapping.shop_domain, plan_named(mapping.plan))
            settings = Settings(task_queue=f"flows-test-{uuid.uuid4()}", shopify_endpoint=f"{base_url}/shops/{{shop}}")
            with tempfile.TemporaryDirectory() as tmp:
                store = await open_event_store(f"sqlite:///{Path(tmp) / 'events.sqlite'}")
                async with httpx.AsyncClient(timeout=15) as http:
                    limits = shop_limits(mappings.values())
                    async with build_worker(env.client, settings, http, token_lookup=self.tokens.__getitem__,
                                            shops=limits), self.progress.ticking():  # fmt: skip
                        for suite in self.suites:  # the progress line once the dev server has said its piece
                            failed += await self._suite(env, suite, store, settings.task_queue)
                await store.close()
        finally:
            await self.shopify.stop()
            await env.shutdown()
        return failed

    async def _suite(self, env: WorkflowEnvironment, suite: Suite, store: Any, task_queue: str) -> int:
        self.say(f"{suite.path} (flow {suite.flow.ref}, mapping {suite.mapping.brand}@{suite.mapping.version})")

        async def mapping_for(_brand: str) -> MappingDef:
            return suite.mapping

        async def flow_for(_name: str) -> FlowDef:
            return suite.flow

        receiver = Receiver(client=env.client, flows=flow_for, mappings=mapping_for, store=store,
                            task_queue=task_queue, start_options={"activity_timeout_seconds": 10})  # fmt: skip
        failed = 0
        for case in suite.cases:
            result = await self._case(env, suite, receiver, case)
            failed += bool(result.problems)
            self.failures += bool(result.problems)
            self.progress.update(self.progress.done + 1, detail=f"{self.failures} failed" if self.failures else "")
            self.say(f"  {'FAIL' if result.problems else 'PASS'} {result.name}")
            for line in result.lines:
                self.say(f"       {line}")
            for problem in result.problems:
                self.say(f"     ! {problem}")
        return failed

    def _scenario(self, suite: Suite, case: dict[str, Any]) -> Scenario:
        mapping = suite.mapping
        self.counter += 1
        default_reason = next((c for c, r in mapping.reasons.items() if r.fault == "customer"), "Changed my mind")
        units = [
            ReturnedUnit(
                f"(00)988{self.run_id:08d}{self.counter:04d}{i:03d}",
                u["sku"],
                u.get("reason", default_reason),
                u.get("grade"),
                u.get("exchange"),
            )  # fmt: skip
            for i, u in enumerate(case["returned"])
        ]
        if case.get("order"):
            lines = [OrderLineSpec(line["sku"], line["quantity"], Decimal(line["price"])) for line in case["order"]]
        else:
            counts: dict[str, int] = {}
            for unit in units:
                counts[unit.sku] = counts.get(unit.sku, 0) + 1
            lines = [OrderLineSpec(sku, qty, Decimal("50.00")) for sku, qty in counts.items()]
        return Scenario(
            name=case["name"],
            brand=mapping.brand,
            rebound_return_id=f"(00)689{self.run_id:08d}{self.counter:06d}",
            order_name=f"#FT{self.run_id % 10000:04d}{self.counter:03d}",
            order_processed_at=self.now - timedelta(days=int(case.get("days_since_order", 10))),
            order_lines=lines,
            units=units,
        )

    async def _case(
        self, env: WorkflowEnvironment, suite: Suite, receiver: Receiver, case: dict[str, Any]
    ) -> CaseResult:
        mapping, store = suite.mapping, self.shopify.store
        sc = self._scenario(suite, case)
        result = CaseResult(case["name"])
        domain = mapping.shop_domain
        for line in sc.order_lines:
            if store.shop(domain).item_by_sku(line.sku) is None:
                store.add_product(domain, line.sku, stock={loc.id: 0 for loc in mapping.locations.values()})
        first = next(iter(mapping.locations.values())).id
        for variant in case.get("variants") or []:  # variants wanted in exchange: their price and stock
            if store.shop(domain).item_by_sku(variant["sku"]) is None:
                store.add_product(domain, variant["sku"], stock={first: int(variant.get("stock", 5))},
                                  price=Decimal(variant["price"]))  # fmt: skip
        seeds = [OrderLineSeed(ln.sku, ln.quantity, ln.unit_price) for ln in sc.order_lines]
        order_id = store.add_order(domain, name=sc.order_name, processed_at=sc.order_processed_at, lines=seeds)
        skus = sorted({line.sku for line in sc.order_lines})
        before = {sku: store.stock(domain, sku) for sku in skus}
        for fault in case.get("faults") or []:
            self.shopify.faults.fail_next(
                fault["kind"], int(fault.get("times", 1)), operation=fault.get("operation", "*")
            )
        builder = ScenarioBuilder({mapping.brand: mapping}, now=self.now, seed=self.counter)
        at = self.now - timedelta(hours=12)  # registered half a day ago; the order is `days_since_order` old
        for status in case["pushes"]:
            graded = mapping.statuses.get(status) == "inspected"
            payload = builder.push(sc, status, at, graded=graded)
            outcome = await receiver.ingest(mapping.brand, {}, json.dumps(payload).encode(), authenticated=True)
            if outcome.http_status not in (200, 202):
                result.problems.append(f"push {status}: {outcome.http_status} {outcome.body.get('reason', '')}")
            at += timedelta(hours=1)
        pays = case.get("customer_pays", False)
        status = await self._settle(
            env, sc, case["expect"], lambda: pays and store.pay_exchange_balance(domain, order_id)
        )
        self.shopify.faults.clear()
        self.expected_faults.clear()
        faults = self.expected_faults.take(workflow_id(sc.brand, sc.rebound_return_id))
        if status is None:
            result.lines = [f"{'fault':<10} {line}" for _, line in faults]
            result.problems.append("no workflow: no push reached the engine")
            return result
        result.lines = timeline(status, faults) + effects(store, mapping, domain, order_id, before)
        result.problems += check(case["expect"], status, store, mapping, domain, order_id, before)
        return result

    async def _settle(self, env: WorkflowEnvironment, sc: Scenario, expect: dict[str, Any],
                      each_round: Callable[[], object] = lambda: None) -> ReturnStatus | None:  # fmt: skip
        handle = handle_for(env.client, sc.brand, sc.rebound_return_id)
        deadline = time.monotonic() + CASE_TIMEOUT
        last: tuple[Any, ...] | None = None
        still_since = time.monotonic()
        status: ReturnStatus | None = None
        while time.monotonic() < deadline:
            each_round()  # the customer pays what a dearer exchange costs, when the case says so
            try:
                status = await handle.query(ReturnWorkflow.status)
            except Exception:
                await asyncio.sleep(0.2)
                continue
            if status.finished:  # needing attention is not settled: a finance flag does not stop the steps
                return status
            mark = (status.state, len(status.audit), len(status.steps_done))
            paying = any(item.exchange == "awaiting_payment" for item in status.items)
            if mark != last or paying:  # a payment on its way: the engine looks again within seconds
                last, still_since = mark, time.monotonic()
            elif time.monotonic() - still_since > SETTLE_SECONDS:
                return status
            await asyncio.sleep(0.2)
        return status


def timeline(status: ReturnStatus, faults: list[tuple[float, str]] | None = None) -> list[str]:
    """The return's log as a person reads it; each injected fault's line (its time, as a POSIX timestamp) before
    the first entry logged after it."""
    shown = ("transition", "step", "hold", "sla", "ignored", "refused")
    pending = sorted(faults or [])
    lines = []
    for entry in status.audit:
        if entry.kind not in shown:
            continue
        when = datetime.fromisoformat(entry.at)
        at = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
        while pending and pending[0][0] < at:
            lines.append(f"{'fault':<10} {pending.pop(0)[1]}")
        lines.append(f"{entry.kind:<10} {entry.detail}")
    return lines + [f"{'fault':<10} {line}" for _, line in pending]


def _stock_changes(store: Any, mapping: MappingDef, domain: str, before: dict[str, Any]) -> dict[str, int]:
    names = {loc.id: key for key, loc in mapping.locations.items()}
    changes: dict[str, int] = {}
    for sku, levels in before.items():
        for location_id, level in store.stock(domain, sku).items():
            delta = level.get("available", 0) - levels.get(location_id, {}).get("available", 0)
            if delta:
                changes[f"{sku}@{names.get(location_id, location_id)}"] = delta
    return changes


def effects(store: Any, mapping: MappingDef, domain: str, order_id: str, before: dict[str, Any]) -> list[str]:
    refunds = [show(r["amount"], mapping.currency) for r in store.refunds(domain, order_id)]
    order = store.order_summary(domain, order_id)
    stock = ", ".join(f"{qty:+d} {key}" for key, qty in sorted(_stock_changes(store, mapping, domain, before).items()))
    lines = [f"Shopify: refunds [{', '.join(refunds) or 'none'}]; stock {stock or 'unchanged'}"]
    lines.append(
        f"Shopify: tags {', '.join(order['tags']) or 'none'}" + (f"; note {order['note']!r}" if order["note"] else "")
    )
    return lines


def check(expect: dict[str, Any], status: ReturnStatus, store: Any, mapping: MappingDef, domain: str, order_id: str,
          before: dict[str, Any]) -> list[str]:  # fmt: skip
    problems = []
    if "state" in expect and status.state != expect["state"]:
        problems.append(f"state: expected {expect['state']}, got {status.state}")
    if "held" in expect and status.needs_attention != expect["held"]:
        problems.append(f"held: expected {expect['held']}, got {status.needs_attention} ({status.attention_reason})")
    if "reason_contains" in expect and expect["reason_contains"] not in (status.attention_reason or ""):
        problems.append(
            f"hold reason: expected to contain {expect['reason_contains']!r}, got {status.attention_reason!r}"
        )
    if "refund" in expect:
        got = show(status.refund.amount, mapping.currency) if status.refund and status.refund.refund_id else "none"
        if got != expect["refund"]:
            problems.append(f"refund: expected {expect['refund']}, got {got}")
    refunds = store.refunds(domain, order_id)
    if "refunds_in_shopify" in expect and len(refunds) != expect["refunds_in_shopify"]:
        problems.append(f"refunds in Shopify: expected {expect['refunds_in_shopify']}, got {len(refunds)}")
    returns = store.returns(domain, order_id)
    if "processed" in expect:
        processed = {sku: qty for ret in returns for sku, qty in ret["processed"].items()}
        if processed != dict(expect["processed"]):
            problems.append(f"processed on the Shopify return: expected {dict(expect['processed'])}, got {processed}")
    if "shopify_fees" in expect:
        fees = show(sum((ret["fees_charged"] for ret in returns), Decimal(0)), mapping.currency)
        if fees != expect["shopify_fees"]:
            problems.append(f"fees Shopify recorded: expected {expect['shopify_fees']}, got {fees}")
    if "exchanges" in expect:
        states = {item.exchange_sku: item.exchange for item in status.items if item.exchange_sku}
        if states != dict(expect["exchanges"]):
            problems.append(f"exchanges: expected {dict(expect['exchanges'])}, got {states}")
        shopify = {e["sku"]: e["processed"] for e in store.exchanges(domain, order_id)}
        released = {sku: 1 for sku, state in expect["exchanges"].items() if state == "released"}
        if {sku: n for sku, n in shopify.items() if n} != released:
            problems.append(f"exchanges processed in Shopify: expected {released}, got {shopify}")
    if "refused" in expect:
        refused = sorted({text.split(":")[0] for text in status.refused.values()})
        if refused != sorted(expect["refused"]):
            problems.append(f"refused: expected {sorted(expect['refused'])}, got {refused}")
    if "restocked" in expect:
        got_stock = _stock_changes(store, mapping, domain, before)
        if got_stock != dict(expect["restocked"]):
            problems.append(f"stock made available: expected {dict(expect['restocked'])}, got {got_stock}")
    order = store.order_summary(domain, order_id)
    for tag in expect.get("tags", []):
        if tag not in order["tags"]:
            problems.append(f"tag {tag!r} missing from the order (tags: {order['tags']})")
    for tag in expect.get("no_tags", []):
        if tag in order["tags"]:
            problems.append(f"tag {tag!r} should not be on the order")
    if "note_contains" in expect and expect["note_contains"] not in (order["note"] or ""):
        problems.append(f"order note: expected to contain {expect['note_contains']!r}, got {order['note']!r}")
    return problems


async def run_flow_tests(
    paths: list[Path], *, flows_dir: Path, mappings_dir: Path, say: Callable[[str], None] = print
) -> int:
    """Run every scenario file; returns how many cases failed (2 for files that do not validate)."""
    suites = []
    try:
        suites = [load_suite(p, flows_dir=flows_dir, mappings_dir=mappings_dir) for p in paths]
    except DefinitionError as err:
        for problem in err.problems:
            say(str(problem))
        return -1
    failed = await FlowTestRun(suites, say).run()
    total = sum(len(s.cases) for s in suites)
    say(f"{total - failed}/{total} case(s) as expected in {len(suites)} file(s)")
    return failed
