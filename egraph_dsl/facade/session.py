"""Interactive, scoped optimization: apply rulesets step by step, look, undo, explain, compile.

>>> import numpy as np, egraph_dsl as ed
>>> s = ed.Session(lambda x: np.log(1 + np.exp(x)), np.ones(3))
>>> step = s.apply("stability", scope=s.find("log(_)"))
>>> sorted(step.fired)
['log1p-def', 'softplus-def', 'softplus-log1p']
>>> [t.op for t in s.ops()]
['softplus']
>>> _ = s.undo(); [t.op for t in s.ops()]
['exp', 'add', 'log']

Each ``apply`` saturates one ruleset in a scope (the whole program, one op's e-class, the
subgraph below an op, or the ops a pattern matches) inside an egglog ``push``, then extracts
the cheapest program; ``undo`` pops, so the e-graph and the extraction come back exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..cost_model import CostModel, program_cost, term_cost
from ..engine.egraph import EGraph, Snapshot
from ..engine.limits import Limits, StopReason
from ..engine.report import RunReport
from ..errors import HistoryError, ScopeError, SignatureError
from ..matching import Match, find_all
from ..pattern import Pattern
from ..plan import Plan, build_plan
from ..program import Program
from ..registry import Registry, RuleSet, RulesetSpec
from ..rules import Rule
from ..term import Term, format_attr, format_type, postorder
from ..trace import trace_function
from .jitted import Compiled, choose_backend, declared_backend, signature_of
from .pipeline import (
    CostModelSpec,
    Optimized,
    Optimizer,
    check_extractor,
    resolve_cost_model,
    resolve_rulesets,
    snapshot_model,
)

# ------------------------------------------------------------------------ records


@dataclass(frozen=True)
class Below:
    """Scope marker: the subgraphs under ``terms`` (each op and everything it reads)."""

    terms: tuple[Term, ...]


class Found(list[Match]):
    """The matches of one pattern in the current program (a list, remembering the pattern)."""

    def __init__(self, pattern: str, matches: Sequence[Match], labels: Mapping[Term, str]) -> None:
        super().__init__(matches)
        self.pattern = pattern
        self._labels = dict(labels)

    @property
    def terms(self) -> list[Term]:
        return [m.term for m in self]

    def __str__(self) -> str:
        if not self:
            return f"{self.pattern}: no match"
        lines = [f"{self.pattern}: {len(self)} match(es)"]
        for m in self:
            binds = ", ".join(f"?{k}={self._labels.get(v, format_type(v))}" for k, v in m.bindings.terms.items())
            binds += "".join(f", ?{k}={format_attr(v)}" for k, v in m.bindings.attrs.items())
            lines.append(f"  {self._labels.get(m.term, '?')}: {m.term.op}  {binds.lstrip(', ')}".rstrip())
        return "\n".join(lines)


@dataclass(frozen=True)
class Extraction:
    """The program in force: what an extraction chose, with its cost under a cost model."""

    program: Program
    cost: float
    cost_model: CostModel
    method: str
    lower_bound: float | None = None
    optimal: bool = False


@dataclass(frozen=True)
class StepReport:
    """What one step did: rules fired, e-graph growth, cost before/after and why it stopped."""

    index: int
    kind: str  # "apply" or "extract"
    what: str  # ruleset name, or the extraction method
    scope: str
    run: RunReport | None
    nodes_before: int
    nodes_after: int
    cost_before: float
    cost_after: float
    program_before: Program
    program_after: Program

    @property
    def fired(self) -> dict[str, int]:
        return self.run.fired if self.run is not None else {}

    @property
    def stop_reason(self) -> StopReason | None:
        return self.run.stop_reason if self.run is not None else None

    @property
    def changed(self) -> bool:
        return self.program_before.outputs != self.program_after.outputs

    def __str__(self) -> str:
        if self.kind == "extract":
            head = f"step {self.index}: extract ({self.what})"
        else:
            assert self.run is not None
            head = (f"step {self.index}: apply {self.what} to {self.scope}: {self.run.iterations} iteration(s), "
                    f"stopped: {self.run.stop_reason.value}")
        lines = [head, f"  e-graph {self.nodes_before} -> {self.nodes_after} e-nodes; cost "
                       f"{self.cost_before:,.0f} -> {self.cost_after:,.0f}"
                       f"{'' if self.changed else ' (program unchanged)'}"]
        for name, n in sorted(self.fired.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {n:6d}  {name}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Alternative:
    """One of the k cheapest distinct programs in the e-graph."""

    rank: int
    program: Program
    cost: float
    optimal: bool

    def __str__(self) -> str:
        return f"#{self.rank} cost {self.cost:,.0f}{' (proven)' if self.optimal else ''}\n{self.program}"


@dataclass
class _Entry:
    report: StepReport
    before: Extraction
    after: Extraction
    pushed: bool
    ruleset: RuleSet | None = None
    scope_terms: tuple[Term, ...] | None = None


ScopeSpec = None | Term | Match | Below | str | Sequence[Term | Match]

# ------------------------------------------------------------------------ session


class Session:
    """An e-graph holding one program, optimized step by step under the user's control."""

    def __init__(self, fn: Callable[..., Any], *args: Any, cost_model: CostModelSpec = None, method: str = "greedy",
                 registry: Registry | None = None, name: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"Session() needs a function and example arguments, got {type(fn).__name__}")
        self._setup(trace_function(fn, args, name), cost_model, method, registry)

    @classmethod
    def from_program(cls, program: Program, *, cost_model: CostModelSpec = None, method: str = "greedy",
                     registry: Registry | None = None) -> Session:
        """A session on an already traced program."""
        self = cls.__new__(cls)
        self._setup(program, cost_model, method, registry)
        return self

    def _setup(self, program: Program, cost_model: CostModelSpec, method: str, registry: Registry | None) -> None:
        # bad names fail before any work; the cost model in force is the last extraction's (undoable)
        self._optimizer = Optimizer.of(cost_model=cost_model, extractor=method, registry=registry)
        model = self._optimizer.cost_model
        self.program = program
        self.registry = registry
        self._egraph = EGraph()
        self._egraph.load(program.outputs)
        self._current = Extraction(program, program_cost(program, model), model, "original")
        self._done: list[_Entry] = []
        self._undone: list[_Entry] = []
        self._snapshot: Snapshot | None = None

    # -------------------------------------------------------------------- looking
    @property
    def current(self) -> Program:
        """The program the last extraction chose (the traced program before any step)."""
        return self._current.program

    @property
    def cost(self) -> float:
        return self._current.cost

    @property
    def extraction(self) -> Extraction:
        return self._current

    def size(self) -> int:
        """E-nodes in the e-graph now."""
        return self._egraph.size()

    def snapshot(self) -> Snapshot:
        """The e-graph as plain data (cached until the next step)."""
        if self._snapshot is None:
            self._snapshot = self._egraph.snapshot()
        return self._snapshot

    def labels(self) -> dict[Term, str]:
        """``%n`` label of each op of the current program, as ``show()`` prints them."""
        out: dict[Term, str] = {}
        for t in self.current.terms():
            if t.op == "input":
                out[t] = str(t.attr["name"])
            elif t.op == "const":
                out[t] = format_attr(t.attr["value"])
            else:
                out[t] = f"%{sum(1 for v in out.values() if v.startswith('%'))}"
        return out

    def ops(self) -> list[Term]:
        """The ops of the current program, in ``show()`` order (inputs and constants left out)."""
        return [t for t in self.current.terms() if t.op not in ("input", "const")]

    def op_costs(self) -> dict[Term, float]:
        """The cost of each op of the current program under the session's cost model."""
        model = self.extraction.cost_model
        return {t: term_cost(model, t) for t in self.ops()}

    def op(self, ref: int | str) -> Term:
        """An op of the current program by its label (``"%3"`` or ``3``)."""
        index = int(ref[1:]) if isinstance(ref, str) and ref.startswith("%") else ref
        ops_ = self.ops()
        if not isinstance(index, int) or not 0 <= index < len(ops_):
            raise ScopeError(f"no op {ref!r} in the current program; it has %0 .. %{len(ops_) - 1} (see show())")
        return ops_[index]

    def show(self, file: Any = None, *, rich: bool = False) -> str:
        """The current program with the cost of each op; printed (to ``file``) and returned."""
        text = self._text()
        if rich:
            from rich.console import Console
            from rich.syntax import Syntax

            Console(file=file).print(Syntax(text, "python", theme="ansi_dark"))
        else:
            print(text, file=file)
        return text

    def _text(self) -> str:
        prog, model = self.current, self._current.cost_model
        labels = self.labels()
        params = ", ".join(f"{t.attr['name']}: {format_type(t)}" for t in prog.inputs)
        lines = [f"def {prog.name}({params}):"]
        rows = []
        for t in prog.terms():
            if t.op in ("input", "const"):
                continue
            args = ", ".join(labels[a] for a in t.args)
            attrs = "".join(f", {k}={format_attr(v)}" for k, v in t.attrs)
            rows.append((f"  {labels[t]}: {format_type(t)} = {t.op}({args}{attrs})", term_cost(model, t)))
        width = max((len(r[0]) for r in rows), default=0) + 2
        lines += [f"{code:<{width}}# cost {cost:,.0f}" for code, cost in rows]
        lines.append("  return " + ", ".join(labels[o] for o in prog.outputs))
        lines.append(f"# total cost {self.cost:,.0f} ({type(model).__name__}, {self._current.method}); "
                     f"{prog.op_count()} ops; original {program_cost(self.program, model):,.0f}; "
                     f"e-graph {self.size()} e-nodes; {len(self._done)} step(s)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._text()

    def _repr_html_(self) -> str:
        from .viz import session_html

        return session_html(self)

    def find(self, pattern: Pattern | str) -> Found:
        """The ops of the current program that ``pattern`` matches (same notation as rules)."""
        matches = find_all(pattern, self.current.outputs)
        return Found(str(pattern), matches, self.labels())

    def below(self, op: Term | Match | str | int | Sequence[Term | Match]) -> Below:
        """Scope: the subgraph under ``op`` (the op and every op it reads); a list: the union."""
        if isinstance(op, (Term, Match, str, int)):
            return Below((self._term(op),))
        tops = tuple(self._term(t) for t in op)
        if not tops:
            what = f"pattern {op.pattern!r} matches nothing" if isinstance(op, Found) else "below([]) is empty"
            raise ScopeError(f"{what} in the current program; nothing was applied (see s.show())")
        return Below(tops)

    # ------------------------------------------------------------------- applying
    def apply(self, rules: RulesetSpec, scope: ScopeSpec = None,
              limits: Limits | Mapping[str, Any] | None = None) -> StepReport:
        """Saturate with ``rules`` only in ``scope``, then extract; returns the step's report.

        ``scope``: None (whole program), one op (its e-class), ``s.below(op)``, the result of
        ``s.find(...)`` (or a pattern string), or a list of ops. A scope that matches nothing
        raises ScopeError and applies nothing.
        """
        ruleset = resolve_rulesets(rules, self.registry)
        scope_terms, scope_text = self._resolve_scope(scope)
        lim = Limits.of(limits)  # type: ignore[arg-type]
        before = self._current
        nodes_before = self.size()
        self._egraph.push()
        try:
            relation = self._egraph.new_scope(scope_terms) if scope_terms is not None else None
            run = self._egraph.run(ruleset, lim, scope=relation)
            self._snapshot = None
            after = self._extract(before.cost_model, self._optimizer.extractor)
        except BaseException:
            self._egraph.pop()
            self._snapshot = None
            raise
        report = StepReport(len(self._done) + 1, "apply", ruleset.name, scope_text, run, nodes_before,
                            run.nodes_after, before.cost, after.cost, before.program, after.program)
        self._record(_Entry(report, before, after, True, ruleset, scope_terms))
        return report

    def _term(self, ref: Term | Match | str | int) -> Term:
        if isinstance(ref, Match):
            ref = ref.term
        if isinstance(ref, (str, int)):
            return self.op(ref)
        if not isinstance(ref, Term):
            raise ScopeError(f"{ref!r} is not an op of the program; use s.op('%3'), s.find(...) or s.ops()")
        if ref not in set(self.current.terms()):
            raise ScopeError(f"{ref!r} is not an op of the current program (it may be from before a step "
                             "that changed the program); look it up again with s.find(...) or s.op(...)")
        return ref

    def _resolve_scope(self, scope: ScopeSpec) -> tuple[tuple[Term, ...] | None, str]:
        labels = self.labels()
        if scope is None:
            return None, "the whole program"
        if isinstance(scope, str) and not scope.startswith("%"):
            scope = self.find(scope)
        if isinstance(scope, Below):
            tops = [self._term(t) for t in scope.terms]
            terms = tuple(t for t in postorder(tops) if t.op not in ("input", "const"))
            return terms, f"below {', '.join(labels[t] for t in tops)} ({len(terms)} ops)"
        if isinstance(scope, (Term, Match, int)) or isinstance(scope, str):
            t = self._term(scope)
            return (t,), f"op {labels[t]} ({t.op})"
        items = list(scope)
        if not items:
            what = f"pattern {scope.pattern!r} matches nothing" if isinstance(scope, Found) else "the scope is empty"
            raise ScopeError(f"{what} in the current program; nothing was applied (see s.show())")
        terms = tuple(dict.fromkeys(self._term(i) for i in items))
        names = ", ".join(labels[t] for t in terms[:6]) + (" …" if len(terms) > 6 else "")
        source = f"matches of {scope.pattern}" if isinstance(scope, Found) else "ops"
        return terms, f"{len(terms)} {source} ({names})"

    def _roots(self, snapshot: Snapshot) -> list[str]:
        return [snapshot.handle_class[self._egraph.handle(t)] for t in self.program.outputs]

    def root_classes(self) -> list[str]:
        """The e-classes of the program's outputs in ``snapshot()``."""
        return self._roots(self.snapshot())

    def _extract(self, model: CostModel, method: str, time_limit: float = 5.0) -> Extraction:
        snap = self.snapshot()
        optimizer = replace(self._optimizer, cost_model=model, extractor=method, time_limit=time_limit)
        # the program in force is in the e-graph too: never hand back a worse one
        got = optimizer.extract(snap, self.program, self._roots(snap), fallback=self._current.program)
        return Extraction(got.program, program_cost(got.program, model), model, got.method, got.lower_bound,
                          got.optimal)

    def extract(self, cost_model: CostModelSpec = None, method: str = "greedy", *, time_limit: float = 5.0) -> Extraction:
        """Re-extract the cheapest program from the e-graph (``greedy`` DAG or exact ``ilp``); undoable.

        The cost model and method stay in force for later steps.
        """
        check_extractor(method)
        model = self._current.cost_model if cost_model is None else resolve_cost_model(cost_model)
        before = self._current
        after = self._extract(model, method, time_limit)
        self._optimizer = replace(self._optimizer, extractor=method)
        n = self.size()
        report = StepReport(len(self._done) + 1, "extract", after.method, "the whole program", None, n, n,
                            program_cost(before.program, model), after.cost, before.program, after.program)
        self._record(_Entry(report, before, after, False))
        return after

    def alternatives(self, k: int = 3, op: Term | Match | str | int | None = None, *,
                     time_limit: float = 10.0) -> list[Alternative]:
        """The ``k`` cheapest distinct programs in the e-graph now (or for one op's e-class), with costs."""
        from egraph_dsl import extract as ex

        from ..engine.decode import program_from_choices, terms_from_choices

        if not isinstance(k, int) or k < 1:
            raise ValueError(f"alternatives(k) needs k >= 1, got {k!r}")
        snap = self.snapshot()
        model = self._current.cost_model
        if op is None:
            roots = self._roots(snap)
        else:
            from .session_explain import classes_of

            term = self._term(op)
            roots = [classes_of(snap, [term])[term]]
        priced = snapshot_model(snap, roots, model)
        out = []
        inputs = {str(t.attr["name"]): t for t in self.program.inputs}
        for i, e in enumerate(ex.top_k(priced, k, time_limit=time_limit), 1):
            if op is None:
                prog = program_from_choices(snap, e.choices, self.program, roots)
            else:
                prog = Program(self.program.inputs, tuple(terms_from_choices(snap, e.choices, roots, inputs)),
                               f"{self.program.name}_{self.labels()[self._term(op)].lstrip('%')}")
            out.append(Alternative(i, prog, program_cost(prog, model), bool(e.optimal)))
        return out

    # -------------------------------------------------------------------- history
    def _record(self, entry: _Entry) -> None:
        self._done.append(entry)
        self._undone.clear()
        self._current = entry.after

    def history(self) -> list[StepReport]:
        """The steps in force, oldest first (undone steps are left out until redone)."""
        return [e.report for e in self._done]

    def undo(self) -> StepReport:
        """Take back the last step: the e-graph (egglog pop) and the extraction come back exactly."""
        if not self._done:
            raise HistoryError("nothing to undo: no step has been applied (or every step was undone)")
        entry = self._done.pop()
        if entry.pushed:
            self._egraph.pop()
            self._snapshot = None
        self._current = entry.before
        self._undone.append(entry)
        return entry.report

    def redo(self) -> StepReport:
        """Apply the last undone step again, exactly: the same rules, scope and number of iterations."""
        if not self._undone:
            raise HistoryError("nothing to redo: no step has been undone since the last change")
        entry = self._undone.pop()
        if entry.pushed:
            assert entry.ruleset is not None and entry.report.run is not None
            run = entry.report.run
            self._egraph.push()
            relation = self._egraph.new_scope(entry.scope_terms) if entry.scope_terms is not None else None
            if run.iterations:
                self._egraph.run(entry.ruleset, Limits(nodes=2**62, iterations=run.iterations, seconds=1e9),
                                 scope=relation)
            self._snapshot = None
            if self.size() != entry.report.nodes_after:  # egglog is deterministic; this is a bug if hit
                self._egraph.pop()
                raise HistoryError(f"redo of step {entry.report.index} rebuilt {self.size()} e-nodes, "
                                   f"not {entry.report.nodes_after}; the step was not redone")
        self._done.append(entry)
        self._current = entry.after
        return entry.report

    # -------------------------------------------------------------------- explain
    def explain(self, op: Term | Match | str | int | None = None, *, budget: int = 4000) -> Any:
        """Why ``op`` (default: the first output) has its form: the chain of rules from the original.

        Returns an ``Explanation`` (print it); ``found`` is False when no chain was found within
        ``budget`` searched terms.
        """
        from .session_explain import EGraphFacts, classes_of, explain_chain

        labels = self.labels()
        snap = self.snapshot()
        index_facts = EGraphFacts(snap)
        chosen = self.current.outputs[0] if op is None else self._term(op)
        current_classes = classes_of(snap, self.current.outputs, index_facts.index)
        original_classes = classes_of(snap, self.program.outputs, index_facts.index)
        by_class: dict[str, Term] = {}
        for t in self.program.terms():
            cls = original_classes.get(t)
            if cls is not None:
                by_class[cls] = t  # postorder: the largest original term of a class wins
        original = by_class.get(current_classes.get(chosen, ""))
        label = labels.get(chosen, "?")
        if original is None:
            # no original subterm is this op's equal: explain the nearest op above it that has one
            for t in self.current.terms():
                if chosen in postorder([t]) and by_class.get(current_classes.get(t, "")) is not None:
                    label = f"{label} (via {labels[t]}, the nearest op above it that the original program has)"
                    chosen, original = t, by_class[current_classes[t]]
                    break
        return explain_chain(label, original, chosen, self._rules_in_force(), index_facts, budget)

    def _rules_in_force(self) -> list[Rule]:
        """The rules that fired in the steps in force, in order, each once."""
        rules: dict[str, Rule] = {}
        for e in self._done:
            if e.ruleset is None:
                continue
            fired = e.report.fired
            for r in e.ruleset.rules:
                if fired.get(r.name):
                    rules.setdefault(r.name, r)
        return list(rules.values())

    # -------------------------------------------------------------------- compile
    def compile(self, backend: str = "auto", **options: Any) -> SessionFunction:
        """The current program as a callable, planned and compiled for ``backend`` as ``jit`` does it
        (the same plan, the same 'auto' choice between NumPy and native, the same compiled form)."""
        declared_backend(backend, options)
        t0 = time.perf_counter()
        plan = build_plan(self.current)
        reports = tuple(e.report.run for e in self._done if e.report.run is not None)
        optimized = Optimized(self.program, self.current, reports, program_cost(self.program, self._current.cost_model),
                              self.cost, self._current.lower_bound, self._current.optimal, self._current.method,
                              {}, self.snapshot().n_nodes)
        compiled = Compiled(optimized, plan, {}, choose_backend(backend, plan), dict(options))
        compiled.executable  # build it now, so compile errors show here  # noqa: B018
        compiled.timings["plan"] = time.perf_counter() - t0
        return SessionFunction(compiled)


@dataclass
class SessionFunction:
    """A compiled program: call it with arrays of the traced shapes (like a ``jit`` specialization)."""

    compiled: Compiled

    @property
    def optimized(self) -> Optimized:
        return self.compiled.optimized

    @property
    def plan(self) -> Plan:
        return self.compiled.plan

    @property
    def backend(self) -> str:
        return self.compiled.backend

    @property
    def timings(self) -> dict[str, float]:
        return self.compiled.timings

    @property
    def program(self) -> Program:
        return self.optimized.after

    def __call__(self, *args: Any) -> Any:
        prog = self.program
        want = tuple((t.shape, t.dtype) for t in prog.inputs)
        if len(args) != len(want):
            raise SignatureError(f"{prog.name} takes {len(want)} arguments ({', '.join(prog.input_names)}), "
                                 f"got {len(args)}")
        for name, (shape, dtype), key in zip(prog.input_names, want, signature_of(args), strict=True):
            if len(key) == 2 and (key[0], key[1]) != (shape, dtype):
                raise SignatureError(f"{prog.name}: argument {name!r} is {key[1]}{list(key[0])}, but the session "
                                     f"was traced with {dtype}{list(shape or ())}; start a Session with these shapes")
        return self.compiled.executable(*args)

    def explain(self) -> str:
        from .explain import explain_text

        return explain_text(self.optimized, self.timings, self.plan)
