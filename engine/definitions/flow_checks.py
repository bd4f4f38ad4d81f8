"""What no schema can say about a flow: references resolve, every state is reachable and has a way out, every
`with:` key is the step's, expressions read fields that exist; and, walking the flow as the interpreter would
(engine.definitions.flow_walk), every step finds what it needs on every path to it and every step can run. A flow
that passes cannot crash the interpreter or hold a return for a step that has not run. Each problem names
file:line:col and how to fix it; checks whose inputs are malformed (the schema already said so) are skipped rather
than guessed at."""

from __future__ import annotations

import difflib
from typing import Any

from engine.definitions.catalog import CATALOG, TEMPLATE_FIELDS, StepSpec, template_placeholders
from engine.definitions.expressions import expression_problems
from engine.definitions.flow import EVENT_KINDS, FlowDef, StateDef, StateKind, step_call
from engine.definitions.flow_walk import walk
from engine.definitions.yamlfile import LoadedYaml, Problem

NEW = "<not started>"  # the node before the first event
NOT_STARTED = "new"  # engine.workflow.facts.NOT_STARTED: a flow may not name a state so


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(str(word), options, n=1)
    return f"did you mean {close[0]!r}?" if close else f"one of: {', '.join(options)}"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _walkable(raw: Any) -> bool:
    """A step entry the schema accepts as far as the walk reads it."""
    return (
        isinstance(raw, dict)
        and raw.get("step") in CATALOG
        and isinstance(raw.get("with") or {}, dict)
        and all(isinstance(raw.get(key) or "", str) for key in raw if key == "when" or key.startswith("on_"))
    )


def _steps(state: Any) -> list[dict[str, Any]]:
    raw = _dict(state).get("steps")
    return [s for s in raw if isinstance(s, dict) and isinstance(s.get("step"), str)] if isinstance(raw, list) else []


class _Checker:
    def __init__(self, doc: LoadedYaml) -> None:
        self.doc = doc
        data = _dict(doc.data)
        self.states = {str(k): _dict(v) for k, v in _dict(data.get("states")).items()}
        raw = data.get("milestones")
        self.milestones = [m for m in raw if isinstance(m, str)] if isinstance(raw, list) else []
        self.events = {str(k): v for k, v in _dict(data.get("events")).items()}
        self.problems: list[Problem] = []

    def add(self, path: tuple[str | int, ...], message: str, hint: str = "") -> None:
        self.problems.append(self.doc.problem(path, message, hint))

    def kind(self, name: str) -> str:
        return str(self.states.get(name, {}).get("kind", "milestone"))

    def ref(self, path: tuple[str | int, ...], target: Any, what: str) -> bool:
        if isinstance(target, str) and target in self.states:
            return True
        self.add(path, f"{what} {target!r} is not a state of this flow", _suggest(str(target), list(self.states)))
        return False

    # ---------------------------------------------------------------- structure

    def structure(self) -> None:
        names = list(self.states)
        starts = [n for n in names if self.kind(n) == "start"]
        if not starts:
            self.add(("states",), "no start state", "give the first milestone `kind: start`")
        for extra in starts[1:]:
            self.add(("states", extra, "kind"), f"a second start state (the first is {starts[0]!r})", "one only")
        if not any(self.kind(n) == "terminal" for n in names):
            self.add(("states",), "no terminal state: a return could never finish", "add a state with kind: terminal")
        seen: set[str] = set()
        for i, m in enumerate(self.milestones):
            if m in seen:
                self.add(("milestones", i), f"milestone {m!r} is listed twice")
            seen.add(m)
            self.ref(("milestones", i), m, "milestone")
        if self.milestones and starts and self.milestones[0] != starts[0]:
            self.add(("milestones", 0), f"the first milestone must be the start state {starts[0]!r}")
        for name in names:
            kind = self.kind(name)
            if name == NOT_STARTED:
                self.add(("states", name), f"{name!r} is the name the engine gives a return before its first event",
                         "call the state something else")  # fmt: skip
            if kind != "terminal" and name not in self.milestones:
                self.add(("states", name), f"{kind} state {name!r} is not in milestones", "list it in milestones")
            if kind == "terminal" and "then" in self.states[name]:
                self.add(("states", name, "then"), "a terminal state has no `then`", "remove it")
            if kind != "terminal" and "allowed_from" in self.states[name]:
                self.add(("states", name, "allowed_from"), "only terminal states take allowed_from")
        for kind_name, target in self.events.items():
            if kind_name not in EVENT_KINDS:
                self.add(
                    ("events", kind_name),
                    f"{kind_name!r} is not a canonical event",
                    _suggest(kind_name, list(EVENT_KINDS)),
                )
            self.ref(("events", kind_name), target, f"event {kind_name!r} targets")
        for name, st in self.states.items():
            if "then" in st and self.ref(("states", name, "then"), st["then"], "then:"):
                target = st["then"]
                if target == name:
                    self.add(("states", name, "then"), "a state cannot follow itself")
                elif self.kind(target) != "terminal" and self.rank(target) <= self.rank(name):
                    self.add(("states", name, "then"), f"then: {target!r} goes back in the milestones",
                             "a return only moves forward")  # fmt: skip
            for i, src in enumerate(st.get("allowed_from") or [] if isinstance(st.get("allowed_from"), list) else []):
                self.ref(("states", name, "allowed_from", i), src, "allowed_from")

    def rank(self, name: str) -> int:
        return self.milestones.index(name) if name in self.milestones else -1

    # ---------------------------------------------------------------- steps

    def steps(self) -> None:
        for name, st in self.states.items():
            keys: set[str] = set()
            for j, raw in enumerate(_steps(st)):
                path: tuple[str | int, ...] = ("states", name, "steps", j)
                spec = CATALOG.get(raw["step"])
                if spec is None:
                    continue  # the schema names the unknown step
                key = f"{raw['step']}:{raw.get('with')}"
                if key in keys:
                    self.add((*path, "step"), f"{raw['step']} is listed twice in {name!r} with the same parameters")
                keys.add(key)
                for outcome in spec.outcomes:
                    target = raw.get(f"on_{outcome}")
                    if target is None:
                        self.add((*path, "step"), f"{spec.name} needs on_{outcome}: the state a return goes to when "
                                 f"it is {outcome}", f"e.g. on_{outcome}: rejected")  # fmt: skip
                    elif (
                        self.ref((*path, f"on_{outcome}"), target, f"on_{outcome}") and self.kind(target) != "terminal"
                    ):
                        self.add((*path, f"on_{outcome}"), f"on_{outcome} must lead to a terminal state")
                for other in [k for k in raw if k.startswith("on_") and k != "on_reaching"]:
                    if other.removeprefix("on_") not in spec.outcomes:
                        named = ", ".join(f"on_{o}" for o in spec.outcomes) or "none"
                        self.add((*path, other), f"{spec.name} has no outcome {other.removeprefix('on_')!r}",
                                 f"its outcomes: {named}")  # fmt: skip
                given = raw.get("with")
                for param in given if isinstance(given, dict) else {}:
                    if param not in spec.params:
                        self.unknown_param((*path, "with", param), spec, str(param))
                for param in spec.template_params():
                    text = _dict(raw.get("with")).get(param)
                    if isinstance(text, str):
                        self.template((*path, "with", param), text)
                for field in ("when", "on_reaching"):
                    if isinstance(raw.get(field), str):
                        for message, hint in expression_problems(raw[field]):
                            self.add((*path, field), message, hint)
                if raw.get("on_reaching") and (self.kind(name) != "terminal" and name not in self.milestones):
                    self.add((*path, "on_reaching"), "on_reaching belongs to a step of a milestone or terminal state")

    def unknown_param(self, path: tuple[str | int, ...], spec: StepSpec, param: str) -> None:
        if not spec.params:
            self.add(path, f"{spec.name} takes no parameters, so `with: {param}` means nothing to it",
                     "remove it (or the whole `with:`)")  # fmt: skip
            return
        close = difflib.get_close_matches(param, list(spec.params), n=1)
        allowed = f"allowed keys here: {', '.join(spec.params)}"
        self.add(path, f"{spec.name} has no parameter {param!r}",
                 f"did you mean {close[0]!r}? ({allowed})" if close else allowed)  # fmt: skip

    def template(self, path: tuple[str | int, ...], text: str) -> None:
        try:
            names = template_placeholders(text)
        except ValueError as exc:
            self.add(path, f"template does not parse: {exc}", "write a literal brace as {{ or }}")
            return
        for name in names:
            if name not in TEMPLATE_FIELDS:
                self.add(path, f"template names {{{name}}}, which a return does not have",
                         _suggest(name, list(TEMPLATE_FIELDS)))  # fmt: skip

    # ---------------------------------------------------------------- paths

    def edges(self) -> dict[str, list[tuple[str, int | None]]]:
        """Where a return can go from each state; the int is the step index an outcome leaves from."""
        out: dict[str, list[tuple[str, int | None]]] = {NEW: []}
        targets = [t for t in self.events.values() if isinstance(t, str) and t in self.states]
        terminals = [t for t in targets if self.kind(t) == "terminal"]
        top = max((self.rank(t) for t in targets), default=-1)
        if self.milestones and self.milestones[0] in self.states and top >= 0:
            out[NEW].append((self.milestones[0], None))
        out[NEW].extend((t, None) for t in terminals)
        for name, st in self.states.items():
            edges: list[tuple[str, int | None]] = []
            if self.kind(name) != "terminal":
                if isinstance(st.get("then"), str) and st["then"] in self.states:
                    edges.append((st["then"], None))
                elif 0 <= self.rank(name) < top and self.rank(name) + 1 < len(self.milestones):
                    edges.append((self.milestones[self.rank(name) + 1], None))
                for t in terminals:
                    allowed = self.states[t].get("allowed_from")
                    if not isinstance(allowed, list) or name in allowed:
                        edges.append((t, None))
            for j, raw in enumerate(_steps(st)):
                spec = CATALOG.get(raw["step"])
                for outcome in spec.outcomes if spec else ():
                    if raw.get(f"on_{outcome}") in self.states:
                        edges.append((raw[f"on_{outcome}"], j))
            out[name] = edges
        return out

    def paths(self) -> None:
        edges = self.edges()
        reached, todo = {NEW}, [NEW]
        while todo:
            for target, _ in edges.get(todo.pop(), []):
                if target not in reached:
                    reached.add(target)
                    todo.append(target)
        for name in self.states:
            if name not in reached:
                self.add(("states", name), f"state {name!r} can never be reached",
                         "target it from an event, a then: or a step outcome, or remove it")  # fmt: skip
            elif self.kind(name) != "terminal" and not edges.get(name):
                hint = "add then:, an event to a later milestone, or list it in a terminal's allowed_from"
                self.add(("states", name), f"state {name!r} has no way out: a return there could never finish", hint)
        self.simulate(reached)

    def simulate(self, reached: set[str]) -> None:
        """Walk the flow as the interpreter would (engine.definitions.flow_walk): every step finds what it needs on
        every path to it, every step can run, every state is reached the way events really arrive."""
        states: dict[str, StateDef] = {}
        for name, st in self.states.items():
            raw = st.get("steps") or []
            if not isinstance(raw, list) or not all(_walkable(s) for s in raw):
                return  # a step the schema refuses: the walk would only guess around it
            calls = [step_call(s) for s in raw]
            for call in calls:  # an outcome to no state is said already; the walk follows the others
                call.outcomes = {o: to for o, to in call.outcomes.items() if o in CATALOG[call.step].outcomes
                                 and to in self.states}  # fmt: skip
            then, allowed = st.get("then"), st.get("allowed_from")
            kind: StateKind = "terminal" if self.kind(name) == "terminal" else "milestone"
            states[name] = StateDef(name, kind, calls, then if isinstance(then, str) else None,
                                    allowed if isinstance(allowed, list) else None)  # fmt: skip
        events = {k: v for k, v in self.events.items() if isinstance(v, str)}
        flow = FlowDef(str(_dict(self.doc.data).get("name")), 0, "", self.milestones, events, states)
        for found in walk(flow):
            if found.index is None and found.state not in reached:
                continue  # already said: no edge at all leads there
            path: tuple[str | int, ...] = ("states", found.state)
            if found.index is not None:
                path = (*path, "steps", found.index, found.field)
            self.add(path, found.message, found.hint)


def semantic_problems(doc: LoadedYaml, *, schema_failed: bool = False) -> list[Problem]:
    checker = _Checker(doc)
    if not checker.states:
        return []
    checker.structure()
    broken_structure = bool(checker.problems)
    checker.steps()
    if not broken_structure:  # paths over unresolved states would only repeat those problems
        checker.paths()
    return checker.problems
