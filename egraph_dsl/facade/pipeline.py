"""The optimizer pipeline: program -> e-graph -> saturate -> extract -> program.

This façade is the one place that composes the core with ``extract`` (and, for device cost
models, ``backends``); those packages are imported here lazily, inside functions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..cost_model import CostModel, Shape, program_cost
from ..engine.decode import program_from_choices, replaced_terms
from ..engine.egraph import EGraph, Snapshot
from ..engine.limits import Budget, Limits, StopReason
from ..engine.report import RunReport
from ..errors import ExtractionFailedError, OptionError
from ..program import Program
from ..registry import Registry, RuleSet, RulesetSpec, combine, default_registry
from ..term import Term


@dataclass(frozen=True)
class Extracted:
    program: Program
    cost: float
    lower_bound: float | None
    optimal: bool
    method: str
    seconds: float
    choices: Mapping[str, str] = field(default_factory=dict)  # e-class -> e-node
    model: Any = None  # the priced extract.EGraphModel the choices come from


@dataclass(frozen=True)
class Optimized:
    """Everything one optimization did, for ``explain()``."""

    before: Program
    after: Program
    reports: tuple[RunReport, ...]
    cost_before: float
    cost_after: float
    lower_bound: float | None
    optimal: bool
    method: str
    timings: dict[str, float] = field(default_factory=dict)
    egraph_nodes: int = 0
    time_limit_stage: str | None = None  # saturate / serialize / extract: the stage that used up limits.seconds
    stop: str = ""  # why the optimization stopped where it did, in words
    accuracy: Any = None  # proofs.error_model.AccuracyRecord: error before/after on the samples (None: fast)


DEFAULT_TAG = "default"  # rulesets=None selects the registered rulesets carrying this tag


def resolve_rulesets(spec: RulesetSpec | None, registry: Registry | None = None) -> RuleSet:
    if registry is None:
        from egraph_dsl import rulesets

        reg = rulesets.register_shipped(default_registry)
    else:
        reg = registry
    if spec is None:
        spec = f"tag:{DEFAULT_TAG}"
    _check_user_rules(reg, spec)
    return reg.resolve(spec)


def _check_user_rules(registry: Registry, spec: RulesetSpec) -> None:
    """Property-test, once, the rules of rulesets the library does not ship (proofs/first_use.py).

    The checker (hypothesis, mpmath: a quarter of a second to import) loads only when a selection
    holds a rule the library does not ship.
    """
    parts = registry.parts(spec)
    from egraph_dsl import rulesets

    shipped = rulesets.shipped_rules()
    if all(rule in shipped for rs in parts for rule in rs.rules):
        return
    from egraph_dsl.proofs.first_use import check_first_use

    check_first_use(parts, registry)


COST_MODELS = ("cpu", "ops", "flops", "gpu")
CostModelSpec = str | CostModel | None  # a name of COST_MODELS, a model, or None for "cpu"
EXTRACTORS = ("greedy", "greedy-dag", "greedy-tree", "ilp", "ilp-highs", "ilp-cpsat")


def resolve_cost_model(spec: CostModelSpec) -> CostModel:
    """A cost model by name (see COST_MODELS) or an object with ``node_cost``; None is ``cpu``."""
    from egraph_dsl.extract.array_cost import cost_model

    if isinstance(spec, str) and spec not in COST_MODELS:
        raise OptionError(f"unknown cost model {spec!r}; use one of {', '.join(COST_MODELS)} "
                          "or an object with a node_cost(op, attrs, arg_shapes, arg_dtypes, out_shape, out_dtype) method")
    if spec is not None and not isinstance(spec, str) and not callable(getattr(spec, "node_cost", None)):
        raise OptionError(f"cost_model={spec!r} is neither a name ({', '.join(COST_MODELS)}) nor an object with a "
                          "node_cost(op, attrs, arg_shapes, arg_dtypes, out_shape, out_dtype) method")
    if spec == "gpu":
        return GpuCost()
    return cost_model("cpu" if spec is None else spec)


def check_extractor(method: object) -> str:
    """``method`` if it names an extractor (see EXTRACTORS), else an OptionError listing them."""
    if not isinstance(method, str) or method not in EXTRACTORS:
        raise OptionError(f"unknown extractor {method!r}; use one of {', '.join(EXTRACTORS)}")
    return method


class GpuCost:
    """The device-aware model of the CuPy backend (kernel launches, fusion, bandwidth), in ns."""

    def node_cost(self, op: str, attrs: dict[str, Any], arg_shapes: tuple[Shape, ...],
                  arg_dtypes: tuple[str | None, ...], out_shape: Shape, out_dtype: str | None) -> float:
        from egraph_dsl.backends.cupy_cost import gpu_node_cost

        if out_shape is None:
            return 1.0
        return 1e9 * float(gpu_node_cost(op, arg_shapes, out_shape, out_dtype or "float64"))


def snapshot_model(snapshot: Snapshot, roots: Sequence[str], model: CostModel) -> Any:
    """The snapshot as an ``extract.EGraphModel`` priced by ``model``, with the e-nodes that replacing
    rules subsumed marked so (every extractor honours the mark)."""
    from egraph_dsl.extract import EGraphModel

    node_ids = list(snapshot.nodes)
    index = {nid: i for i, nid in enumerate(node_ids)}
    class_ids = list(snapshot.classes)
    class_index = {c: i for i, c in enumerate(class_ids)}
    representative = {c: index[nodes[0]] for c, nodes in snapshot.classes.items()}
    costs = []
    children = []
    memo: dict[tuple[Any, ...], float] = {}  # most e-nodes share an (op, attrs, types) signature
    for nid in node_ids:
        n = snapshot.nodes[nid]
        kid_shapes = tuple(snapshot.shapes.get(c) for c in n.children)
        kid_dtypes = tuple(snapshot.dtypes.get(c) for c in n.children)
        if n.eclass not in snapshot.shapes:
            costs.append(float("inf"))  # untyped: unreachable from typed leaves
        else:
            out = (snapshot.shapes[n.eclass], snapshot.dtypes[n.eclass])
            key = (n.op, n.attrs, kid_shapes, kid_dtypes, out)
            if key not in memo:
                memo[key] = float(model.node_cost(n.op, dict(n.attrs), kid_shapes, kid_dtypes, *out))
            costs.append(memo[key])
        children.append([representative[c] for c in n.children])
    return EGraphModel.build(node_ids, [snapshot.nodes[n].op for n in node_ids],
                             [class_index[snapshot.nodes[n].eclass] for n in node_ids], costs, children,
                             class_ids, [class_index[r] for r in roots],
                             subsumed=[snapshot.nodes[n].subsumed for n in node_ids])  # replaced: never chosen


def extract_program(snapshot: Snapshot, original: Program, root_classes: list[str], cost_model: CostModel,
                    method: str = "greedy", time_limit: float = 5.0) -> Extracted:
    from egraph_dsl import extract

    start = time.perf_counter()
    model = snapshot_model(snapshot, root_classes, cost_model)
    try:
        if check_extractor(method) == "greedy":
            result = extract.greedy_dag(model)
        else:
            result = extract.extract(model, method=method, time_limit=time_limit)
    except extract.ExtractionError as exc:
        raise ExtractionFailedError(f"extraction failed: {exc}") from exc
    program = program_from_choices(snapshot, result.choices, original, root_classes)
    return Extracted(program, float(result.cost), result.lower_bound, bool(result.optimal), result.method,
                     time.perf_counter() - start, dict(result.choices), model)


def keeps(snapshot: Snapshot, program: Program) -> bool:
    """Whether ``program`` may stand in for an extraction from ``snapshot``: every one of its terms
    is an e-node there that no replacing rule subsumed.

    The "never worse than the input" fallback uses it: a rule that ``replaces`` its left side
    (``rewrite(..., replaces=True)``, the stability rules) says the left side must not be chosen
    however cheap it is, so a program holding a replaced form is no fallback; the extraction,
    the cheapest program the replacing rules allow, is returned even when it costs more.
    """
    if not any(n.subsumed for n in snapshot.nodes.values()):
        return True  # loaded or extracted from this e-graph (or an earlier state of it): it is all there
    return not replaced_terms(snapshot, program.outputs)


def no_worse(snapshot: Snapshot, extracted: Program, fallback: Program, model: CostModel) -> Program:
    """``extracted``, unless ``fallback`` (the input, or the program in force) costs less and may
    stand in for it (``keeps``): optimizing never hands back something worse than what it was
    given, and a program that equals the fallback is the fallback itself, not a copy."""
    if extracted.outputs == fallback.outputs:
        return fallback
    if program_cost(fallback, model) < program_cost(extracted, model) and keeps(snapshot, fallback):
        return fallback
    return extracted


def root_classes(egraph: EGraph, snapshot: Snapshot, outputs: Sequence[Term]) -> list[str]:
    return [snapshot.handle_class[egraph.handle(t)] for t in outputs]


# What the stages after saturation cost in CPU time, measured on e-graphs of 10^4 to 2*10^5 op
# e-nodes (AC rules, and wide loaded programs with up to 5*10^5 egglog rows): serializing 12-18 us
# per egglog row (op e-nodes, analysis facts, handles: 1.9 to 7 rows per op e-node), greedy
# extraction with pricing 10-28 us per op e-node. Saturation keeps about 1.1x the worst of both,
# scaled by how much slower the wall clock runs (a busy machine), so ``limits.seconds`` holds for
# the whole optimization.
SERIALIZE_SECONDS_PER_ROW = 20e-6
EXTRACT_SECONDS_PER_NODE = 30e-6
FIXED_SECONDS = 0.02  # pricing the input and the result, building the record
ILP_SHARE = 0.25  # of limits.seconds, kept from saturation for the ILP (at most its time_limit)
ILP_SETUP_SECONDS_PER_NODE = 40e-6  # the ILP's greedy start, pruning, bounds and model, beyond its time limit


@dataclass(frozen=True)
class Optimizer:
    """How to optimize, validated once: ``optimize()``, ``jit`` (and its gradients) and ``Session``
    each hold one, so every path resolves rulesets, prices programs, extracts and keeps the
    never-worse rule (``no_worse``) the same way. Build one with :meth:`of`.

    ``rulesets`` stays a spec (``None``: those tagged ``default``) and is resolved at each
    optimization, so a ruleset registered after ``jit()`` still counts.
    """

    rulesets: RulesetSpec | None
    cost_model: CostModel
    extractor: str = "greedy"
    limits: Limits = field(default_factory=Limits)
    registry: Registry | None = None
    time_limit: float = 5.0  # the ILP extractor's own limit (within limits.seconds)
    accuracy: str = "balanced"

    @classmethod
    def of(cls, rulesets: RulesetSpec | None = None, *, cost_model: CostModelSpec = None, extractor: str = "greedy",
           limits: Limits | Mapping[str, Any] | None = None, registry: Registry | None = None,
           time_limit: float = 5.0, accuracy: str = "balanced") -> Optimizer:
        """An optimizer from user options; unknown names and bad values fail here, before any work."""
        return cls(rulesets, resolve_cost_model(cost_model), check_extractor(extractor),
                   Limits.of(limits),  # type: ignore[arg-type]
                   registry, time_limit, check_accuracy(accuracy))

    def optimize(self, program: Program, *, samples: Any = None,
                 input_ranges: Mapping[str, Any] | None = None) -> Optimized:
        """Saturate ``program`` under ``limits`` and extract the cheapest equivalent (see :func:`optimize`)."""
        timings: dict[str, float] = {}
        accuracy, extractor, time_limit, lim, model = self.accuracy, self.extractor, self.time_limit, self.limits, self.cost_model
        # the clock starts here: resolving rulesets (imports, the first-use check of user rules) counts too
        ilp = extractor.startswith("ilp")
        budget = Budget.starting_now(lim.seconds, SERIALIZE_SECONDS_PER_ROW,
                                     EXTRACT_SECONDS_PER_NODE + (ILP_SETUP_SECONDS_PER_NODE if ilp else 0.0),
                                     FIXED_SECONDS + (min(time_limit, ILP_SHARE * lim.seconds) if ilp else 0.0))
        ruleset = resolve_rulesets(self.rulesets, self.registry)
        timings["resolve"] = lim.seconds - budget.remaining()
        stage: str | None = None  # the stage that used up limits.seconds
        stop = ""
        t0 = time.perf_counter()
        egraph = EGraph()
        egraph.load(program.outputs)
        timings["load"] = time.perf_counter() - t0
        for name in ("resolve", "load"):  # not interruptible: they can only be reported
            if stage is None and sum(timings.values()) >= lim.seconds:
                stage, stop = name, f"time limit in {name}: it took {timings[name]:.2f} s of the {lim.seconds:g} s"
        t0 = time.perf_counter()
        report = egraph.run(combine([ruleset], ruleset.name), lim, budget=budget)
        timings["saturate"] = time.perf_counter() - t0
        if stage is None:
            stop = report.stop_reason.value + (f" ({report.note})" if report.note else "")
            if report.stop_reason is StopReason.TIME_LIMIT:
                stage, stop = "saturate", f"time limit in saturate: {report.note or 'no time left for another step'}"
        t0 = time.perf_counter()
        snapshot = egraph.snapshot()
        timings["serialize"] = time.perf_counter() - t0
        cost_before = program_cost(program, model)
        greedy_seconds = EXTRACT_SECONDS_PER_NODE * snapshot.n_nodes * budget.slowdown()
        left = budget.remaining()
        if left < 0.5 * greedy_seconds:  # (the estimate is the worst case seen, about twice the usual time)
            # extracting now would break the deadline: keep the input program
            why = f"{-left:.2f} s past the deadline" if left < 0 else f"{left:.2f} s left"
            if stage is None or stage == "saturate":
                stage, stop = "serialize", f"time limit in serialize: {why}"
            return Optimized(program, program, (report,), cost_before, cost_before, None, False, "none", timings,
                             snapshot.n_nodes, stage,
                             f"{stop}; no time to extract from {snapshot.n_nodes} e-nodes, returned the input program")
        roots = root_classes(egraph, snapshot, program.outputs)
        method = extractor
        ilp_setup = ILP_SETUP_SECONDS_PER_NODE * snapshot.n_nodes * budget.slowdown()
        ilp_seconds = min(time_limit, left - greedy_seconds - ilp_setup - FIXED_SECONDS)
        if method.startswith("ilp") and ilp_seconds < max(0.05, greedy_seconds):  # no time: the greedy DAG it starts from
            method, stage, stop = "greedy", "extract", (f"time limit in extract: {extractor} needs more than the "
                                                        f"{max(0.0, ilp_seconds):.2f} s left; extracted greedily")
        extracted = extract_program(snapshot, program, roots, model, method, max(ilp_seconds, 0.01))
        timings["extract"] = extracted.seconds
        if stage != "extract" and method.startswith("ilp") and not extracted.optimal and ilp_seconds < time_limit:
            stage, stop = "extract", f"time limit in extract: the ILP stopped after {ilp_seconds:.2f} s, unproven"
        elif stage != "extract" and budget.remaining() < 0:
            stage, stop = "extract", f"time limit in extract: {-budget.remaining():.2f} s past the deadline"
        after = extracted.program
        record = None
        improved = False
        if accuracy != "fast":
            t0 = time.perf_counter()
            # what is left of limits.seconds, less what building the record and the result takes
            deadline = budget.deadline - FIXED_SECONDS / 2
            after, finish = _error_model(snapshot, roots, extracted, program, accuracy, samples, input_ranges, deadline)
            improved = after is not extracted.program
        if not improved:  # (the error model may choose a dearer, more accurate program)
            after = no_worse(snapshot, after, program, model)
        if accuracy != "fast":
            record = finish(after, time.perf_counter() - t0)
            timings["accuracy"] = time.perf_counter() - t0
        return Optimized(program, after, (report,), cost_before, program_cost(after, model),
                         extracted.lower_bound, extracted.optimal, extracted.method, timings, snapshot.n_nodes,
                         stage, stop, record)



    def extract(self, snapshot: Snapshot, original: Program, roots: list[str], fallback: Program) -> Extracted:
        """The cheapest program in ``snapshot`` for ``roots`` under this optimizer's cost model and
        extractor, or ``fallback`` where that is no worse (``no_worse``; ``optimal`` then only when
        the extraction found ``fallback`` itself)."""
        got = extract_program(snapshot, original, roots, self.cost_model, self.extractor, self.time_limit)
        chosen = no_worse(snapshot, got.program, fallback, self.cost_model)
        if chosen is got.program:
            return got
        optimal = got.optimal and chosen.outputs == got.program.outputs
        return replace(got, program=chosen, cost=program_cost(chosen, self.cost_model), optimal=optimal)


def optimize(program: Program, rulesets: RulesetSpec | None = None, *, limits: Limits | Mapping[str, Any] | None = None,
             cost_model: CostModelSpec = None, extractor: str = "greedy", registry: Registry | None = None,
             time_limit: float = 5.0, accuracy: str = "balanced", samples: Any = None,
             input_ranges: Mapping[str, Any] | None = None) -> Optimized:
    """Saturate ``program`` with ``rulesets`` under ``limits`` and extract the cheapest equivalent.

    ``limits.seconds`` is a deadline for the whole call (load, saturate, serialize, extract):
    saturation stops early enough to leave what serializing and extracting its e-graph will take,
    and extraction gets what is left (an ILP extractor also keeps a quarter of the limit, and uses
    at most ``time_limit``). If serializing leaves no time to extract, the input program is
    returned. ``Optimized.stop`` says which stage used up the time.

    ``accuracy`` (``"fast"``, ``"balanced"``, ``"accurate"``) weighs numerical error on sample
    points against cost (``proofs.error_model``, ``docs/accuracy.md``); ``samples`` (from
    ``error_model.draw_samples``) or ``input_ranges`` (``{name: (lo, hi)}``) say where to sample.
    """
    return Optimizer.of(rulesets, cost_model=cost_model, extractor=extractor, limits=limits, registry=registry,
                        time_limit=time_limit, accuracy=accuracy).optimize(program, samples=samples,
                                                                           input_ranges=input_ranges)


def check_accuracy(mode: object) -> str:
    """``mode`` if it names an accuracy mode (fast, balanced, accurate), else an OptionError listing them."""
    if mode == "fast":
        return mode
    from egraph_dsl.proofs.error_model import check_accuracy as check

    return check(mode)


def _error_model(snapshot: Snapshot, roots: list[str], extracted: Extracted, program: Program, mode: str,
                 samples: Any, input_ranges: Mapping[str, Any] | None, deadline: float) -> tuple[Program, Any]:
    """The error model's program (``extracted.program`` itself if it changed nothing), and a function
    of the final program and the seconds spent that builds the accuracy record. Past ``deadline``
    (a ``time.perf_counter()`` value) the cost model's choices stand."""
    from egraph_dsl.proofs import error_model

    if samples is None:
        samples = error_model.draw_samples(program, (), input_ranges)
    costs = extracted.model.costs
    index = extracted.model.node_index

    def node_cost(nid: str) -> float:
        return float(costs[index[nid]])

    improvement = None
    chosen = extracted.program
    why = "no decision: no e-class has two float elementwise candidates"
    if time.perf_counter() >= deadline:
        why = "no decision: the time limit left no time for the error model"
    elif error_model.worth_running(snapshot):
        improvement = error_model.improve(snapshot, roots, extracted.choices, samples, node_cost, program, mode,
                                          deadline=deadline)
        if improvement.changed:
            try:
                chosen = program_from_choices(snapshot, improvement.choices, program, roots)
            except ExtractionFailedError:  # a cycle through an e-class outside the model: keep the cost's
                chosen = extracted.program

    def finish(final: Program, seconds: float) -> Any:
        changed = improvement.changed if improvement is not None and final is chosen else ()
        skipped = "" if improvement is not None else why
        if improvement is not None and improvement.model.out_of_time:
            skipped = "time limit: the e-classes not decided by then kept the cost model's choice"
        elif improvement is not None and improvement.model.unmeasured:
            skipped = (f"exact budget spent: {improvement.model.unmeasured} e-class(es) kept the cost model's "
                       "choice unmeasured")
        return error_model.accuracy_record(snapshot, roots, extracted.choices, samples, node_cost, improvement,
                                           program, final, mode, seconds, changed, skipped)
    return chosen, finish
