"""Validation that simulates: a flow walked the way the interpreter (engine.workflow.return_workflow) walks a return,
every order of events at once, to find what no rule about one field can see: a step that could run before a step it
needs, a step that can never run, a state a return can never reach. A pure function of the flow and the catalog.

What the walk mirrors, and where the interpreter does it:

* events are applied only where a return rests (`run`: the inbox waits while `_drive` works): in a milestone without
  `then:` that the events have reached, in a finished terminal (events there matter only to a late parcel), or
  before the first event. Any event may come next, in any order; a milestone event only moves the target forward
  (`_apply_event`), a parcel gate may stop it just before the arrival milestone (`parcels.gate_for_parcels`);
  a terminal event needs the terminal's `allowed_from` (any terminal before the first event);
* from a finished state the return takes `then:`, else a pending terminal, else the next milestone while the target
  is ahead (`_drive`): a later milestone implies the earlier ones, whose steps run in order;
* a state runs its own steps in order, then the steps `on_reaching:` may bring forward to it, after its own steps
  (`_calls`; a milestone only, and any milestone unless the expression is a plain string); a step runs once per
  return (per state for `scope: state`) and only when its `when:` holds (`_run_steps`); a step's outcome leaves at
  once for the state it names, the steps after it not run, its own result not there (`validate_order` found no
  usable order);
* a late parcel's round walks again from the milestone before arrival with fresh step keys; the order and the
  Shopify return stay known, the items' dispositions are the new parcel's to assign (`parcels.next_round`).

For every place a step can run the walk keeps what is guaranteed done there: the intersection over every path to
it. A `when:` is known by its comparisons of the mapping (`expressions.mapping_conditions`), which hold for the
return's whole life: a step that ran under `mapping.refund.issuer == 'engine'` is guaranteed for a step whose own
`when:` says so too. A requirement `a|b` is met by either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from engine.definitions.catalog import CATALOG
from engine.definitions.expressions import literal_name, mapping_conditions
from engine.definitions.flow import FlowDef, StepCall

NEW = "<not started>"  # engine.workflow.state.NOT_STARTED: no state yet, rank -1
ENTER, DONE = "enter", "done"  # a state's steps still to run; its steps done, the next move to make

Cond = frozenset[str]  # the mapping comparisons under which a fact holds; empty: always
Node = tuple[str, str, int, str | None]  # (state, ENTER or DONE, target rank, pending terminal)


@dataclass(frozen=True)
class Finding:
    """Something the walk found, at a state (and a step of it, by its index in the state's steps)."""

    state: str
    index: int | None
    field: str  # "step", "on_reaching" or "" (the state itself)
    message: str
    hint: str = ""


@dataclass
class Known:
    """What is guaranteed on every path so far: step -> under which conditions its result is there (`done`), and
    once-key -> under which conditions it has run, so a second call is skipped (`ran`)."""

    done: dict[str, Cond] = field(default_factory=dict)
    ran: dict[str, Cond] = field(default_factory=dict)

    def copy(self) -> Known:
        return Known(dict(self.done), dict(self.ran))

    def meet(self, other: Known) -> Known:
        """Another path joins: only what both guarantee, under both conditions."""
        return Known({k: v | other.done[k] for k, v in self.done.items() if k in other.done},
                     {k: v | other.ran[k] for k, v in self.ran.items() if k in other.ran})  # fmt: skip

    def holds(self, step: str, when: Cond) -> bool:
        return step in self.done and self.done[step] <= when


def _stronger(old: Cond | None, new: Cond) -> Cond:
    """Two claims for one fact: keep the one that holds more often when one implies the other (either is true)."""
    return new if old is None or new <= old else old


@dataclass
class _Site:
    """One place a step can be called: its own place in its state, or brought forward (`on_reaching`)."""

    runs: bool = False  # on some path it is not already done
    missing: dict[str, list[str]] = field(default_factory=dict)  # requirement -> states where it can run without
    absent: set[str] = field(default_factory=set)  # requirements not done at all on some path there


class _Walk:
    def __init__(self, flow: FlowDef) -> None:
        self.flow = flow
        self.milestones = flow.milestones
        self.early = [
            (name, i, call) for name, st in flow.states.items() for i, call in enumerate(st.steps) if call.on_reaching
        ]
        ranks = {flow.rank(t) for t in flow.events.values() if t in self.milestones}
        arrival = flow.events.get("received")
        self.arrival = flow.rank(arrival) if arrival in self.milestones else -1
        if self.arrival >= 1 and any(r >= self.arrival for r in ranks):
            ranks.add(self.arrival - 1)  # a parcel still out holds the return just before arrival
        self.targets = sorted(ranks)
        self.values: dict[Node, Known] = {}
        self.sites: dict[tuple[str, int, bool], _Site] = {}
        self.entered: set[str] = set()

    # ---------------------------------------------------------------- the interpreter, abstractly

    def terminal(self, state: str) -> bool:
        return state != NEW and self.flow.is_terminal(state)

    def allowed(self, terminal: str, state: str) -> bool:
        allowed_from = self.flow.states[terminal].allowed_from
        return state == NEW or allowed_from is None or state in allowed_from

    def may_name(self, call: StepCall, state: str) -> bool:
        """Can `on_reaching` bring this call forward to the state (`ReturnWorkflow._reaches`)?"""
        if state not in self.milestones:
            return False
        named = literal_name(call.on_reaching)
        return named is None or named == state

    def steps(self, node: Node, known: Known, observe: bool) -> Iterator[tuple[Node, Known]]:
        """A state's calls in order (`_run_steps`): where outcomes lead, then the state done."""
        state, _, target, _ = node
        k = known.copy()
        own = [(state, i, call, False) for i, call in enumerate(self.flow.states[state].steps)]
        early = [(origin, i, call, True) for origin, i, call in self.early if self.may_name(call, state)]
        for origin, i, call, brought in own + early:
            spec = CATALOG[call.step]
            key = call.key if spec.scope == "return" else f"{state}:{call.key}"
            when, whole = mapping_conditions(call.when)
            site = self.sites.setdefault((origin, i, brought), _Site()) if observe else None
            if key in k.ran and k.ran[key] <= when:
                continue  # done already wherever its `when:` holds: skipped
            if site is not None:
                site.runs = True
                for need in spec.requires:
                    if not any(k.holds(alt, when) for alt in need.split("|")):
                        site.missing.setdefault(need, [])
                        if state not in site.missing[need]:
                            site.missing[need].append(state)
                        if not any(alt in k.done for alt in need.split("|")):
                            site.absent.add(need)  # else done there, under other `when:` conditions
            certain = whole and (not brought or literal_name(call.on_reaching) == state)
            if call.outcomes:
                left = k.copy()
                if certain:
                    left.ran[key] = _stronger(left.ran.get(key), when)
                for to in call.outcomes.values():
                    yield (to, ENTER, target, None), left
            if certain:
                k.done[call.step] = _stronger(k.done.get(call.step), when)
                k.ran[key] = _stronger(k.ran.get(key), when)
        yield (state, DONE, node[2], node[3]), k

    def moves(self, node: Node, known: Known) -> Iterator[tuple[Node, Known]]:
        """From a state whose steps are done (`_drive`), and the events a return at rest may take."""
        state, _, target, pending = node
        flow = self.flow
        if self.terminal(state):
            if state in self.milestones and self.arrival >= 0:  # a late parcel (each_parcel): another round
                walk_from = self.milestones[self.arrival - 1]
                fresh = Known({s: c for s, c in known.done.items() if not CATALOG[s].items_in_hand}, {})
                graded = flow.events.get("inspected")
                rounds = {self.arrival, max(self.arrival, flow.rank(graded) if graded in self.milestones else -1)}
                for to in sorted(rounds):
                    yield (walk_from, DONE, to, pending), fresh
                for t in flow.events.values():  # still open for its parcels: a terminal event waits for the round
                    if self.terminal(t) and self.allowed(t, state) and t != pending:
                        yield (state, DONE, target, t), known
            return
        then = flow.states[state].then if state in flow.states else None
        rank = flow.rank(state)
        if then:
            yield (then, ENTER, target, pending), known
        elif pending:
            yield (pending, ENTER, target, None), known
        elif rank < target:
            yield (self.milestones[rank + 1], ENTER, target, pending), known
        else:  # at rest: whichever event comes next
            for t in flow.events.values():
                if self.terminal(t) and self.allowed(t, state):
                    yield (t, ENTER, target, None), known
            for to in self.targets:
                if to > rank:
                    yield (self.milestones[rank + 1], ENTER, to, None), known

    def successors(self, node: Node, known: Known, observe: bool = False) -> Iterator[tuple[Node, Known]]:
        return self.steps(node, known, observe) if node[1] == ENTER else self.moves(node, known)

    def run(self) -> None:
        start: Node = (NEW, DONE, -1, None)
        self.values[start] = Known()
        todo = [start]
        while todo:
            node = todo.pop()
            for nxt, known in self.successors(node, self.values[node]):
                old = self.values.get(nxt)
                new = known if old is None else old.meet(known)
                if new != old:
                    self.values[nxt] = new
                    todo.append(nxt)
        for node, known in self.values.items():
            if node[1] == ENTER:
                self.entered.add(node[0])
                for _ in self.steps(node, known, observe=True):
                    pass

    # ---------------------------------------------------------------- what it found

    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        order = {name: n for n, name in enumerate(self.flow.states)}
        for name in self.flow.states:
            if name not in self.entered:
                out.append(Finding(name, None, "", f"state {name!r} can never be reached",
                                   "a return rests (and takes events) only in a milestone without then: that an "
                                   "event reaches; target it from there, or remove it"))  # fmt: skip
        for (origin, i, brought), site in sorted(self.sites.items(), key=lambda s: (order[s[0][0]], s[0][1:])):
            call = self.flow.states[origin].steps[i]
            if not brought and not site.runs:
                never = f"{call.step} can never run here: it has already run on every path to it (once per return)"
                out.append(Finding(origin, i, "step", never, "remove it, or give it other parameters"))
            for need, states in site.missing.items():
                out.append(self.missing(origin, i, call, need, states, brought, need not in site.absent))
        return out

    def missing(self, origin: str, i: int, call: StepCall, need: str, states: list[str], brought: bool,
                conditional: bool) -> Finding:  # fmt: skip
        wanted = need.replace("|", " or ")
        alts = need.split("|")
        if conditional:
            whens = sorted(
                {c.when or "" for st in self.flow.states.values() for c in st.steps if c.step in alts} - {""}
            )
            return Finding(origin, i, "on_reaching" if brought else "step",
                           f"{call.step} needs {wanted} earlier, which runs only when {' or '.join(whens)}",
                           f"give {call.step} a `when:` that says so too (`&&` to add to its own)")  # fmt: skip
        if brought:
            where = ", ".join(repr(s) for s in sorted(states, key=self.flow.rank))
            return Finding(origin, i, "on_reaching",
                           f"{call.step} needs {wanted} earlier, but on_reaching can bring it forward to {where} "
                           f"(after that state's steps), where {wanted} has not run on every path",
                           f"list {wanted} in or before {where.split(', ')[0]}, or remove on_reaching")  # fmt: skip
        steps = self.flow.states[origin].steps
        after = [s.step for s in steps[i + 1 :] if s.step in alts]
        failed = [(c.step, o) for st in self.flow.states.values() for c in st.steps if c.step in alts
                  for o, to in c.outcomes.items() if to == origin]  # fmt: skip
        if after:
            hint = f"move {call.step} below {after[0]} (a state's steps run in the order listed)"
        elif failed:
            step, outcome = failed[0]
            hint = f"a return comes here when {step} is {outcome}, without what {step} gives: remove {call.step} here"
        else:
            hint = f"list {wanted} in an earlier state (or earlier in this one)"
        return Finding(origin, i, "step", f"{call.step} needs {wanted} earlier on every path to it", hint)


def walk(flow: FlowDef) -> list[Finding]:
    """What the walk finds in a flow whose references resolve (the rule checks run first)."""
    w = _Walk(flow)
    w.run()
    return w.findings()
