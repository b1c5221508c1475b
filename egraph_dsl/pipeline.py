"""The optimizer pipeline: program -> e-graph -> saturate -> extract -> program.

This façade is the one place that composes the core with ``extract`` (and, for device cost
models, ``backends``); those packages are imported here lazily, inside functions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .engine.decode import program_from_choices
from .engine.egraph import EGraph, Snapshot
from .engine.limits import Limits
from .engine.report import RunReport
from .errors import EgraphDslError, ExtractionFailedError
from .program import Program
from .registry import Registry, RuleSet, RulesetSpec, combine, default_registry
from .term import Term


@dataclass(frozen=True)
class Extracted:
    program: Program
    cost: float
    lower_bound: float | None
    optimal: bool
    method: str
    seconds: float


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


def resolve_rulesets(spec: RulesetSpec | None, registry: Registry | None = None) -> RuleSet:
    if spec is None:
        spec = ["algebra", "stability", "linalg"]
    _ensure_shipped_rulesets()
    return (registry or default_registry).resolve(spec)


def _ensure_shipped_rulesets() -> None:
    import rulesets  # noqa: F401  (registers the shipped libraries)


def resolve_cost_model(spec: Any) -> Any:
    from extract.array_cost import cost_model

    if spec == "gpu":
        return GpuCost()
    return cost_model("cpu" if spec is None else spec)


class GpuCost:
    """The device-aware model of the CuPy backend (kernel launches, fusion, bandwidth), in ns."""

    def node_cost(self, op: str, attrs: dict[str, Any], arg_shapes: tuple[Any, ...],
                  arg_dtypes: tuple[str | None, ...], out_shape: Any, out_dtype: str | None) -> float:
        from backends.cupy_cost import gpu_node_cost

        if out_shape is None:
            return 1.0
        return 1e9 * float(gpu_node_cost(op, arg_shapes, out_shape, out_dtype or "float64"))


def program_cost(program: Program, model: Any) -> float:
    """DAG cost of a program (each distinct term priced once)."""
    total = 0.0
    for t in program.terms():
        total += model.node_cost(t.op, t.attr, tuple(a.shape for a in t.args), tuple(a.dtype for a in t.args),
                                 t.shape, t.dtype)
    return total


def snapshot_model(snapshot: Snapshot, roots: Sequence[str], model: Any) -> Any:
    """The snapshot as an ``extract.EGraphModel`` priced by ``model``."""
    from extract import EGraphModel

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
                             class_ids, [class_index[r] for r in roots])


def extract_program(snapshot: Snapshot, original: Program, root_classes: list[str], cost_model: Any,
                    method: str = "greedy", time_limit: float = 5.0) -> Extracted:
    import extract

    start = time.perf_counter()
    model = snapshot_model(snapshot, root_classes, cost_model)
    try:
        if method == "greedy":
            result = extract.greedy_dag(model)
        elif method in ("ilp", "greedy-tree", "greedy-dag") or method.startswith("ilp"):
            result = extract.extract(model, method=method, time_limit=time_limit)
        else:
            raise EgraphDslError(f"unknown extraction method {method!r}; use 'greedy', 'greedy-tree' or 'ilp'")
    except extract.ExtractionError as exc:
        raise ExtractionFailedError(f"extraction failed: {exc}") from exc
    program = program_from_choices(snapshot, result.choices, original, root_classes)
    return Extracted(program, float(result.cost), result.lower_bound, bool(result.optimal), result.method,
                     time.perf_counter() - start)


def root_classes(egraph: EGraph, snapshot: Snapshot, outputs: Sequence[Term]) -> list[str]:
    return [snapshot.handle_class[egraph.handle(t)] for t in outputs]


def optimize(program: Program, rulesets: RulesetSpec | None = None, *, limits: Limits | Mapping[str, Any] | None = None,
             cost_model: Any = None, extractor: str = "greedy", registry: Registry | None = None,
             time_limit: float = 5.0) -> Optimized:
    """Saturate ``program`` with ``rulesets`` under ``limits`` and extract the cheapest equivalent."""
    timings: dict[str, float] = {}
    lim = Limits.of(limits)  # type: ignore[arg-type]
    model = resolve_cost_model(cost_model)
    ruleset = resolve_rulesets(rulesets, registry)
    t0 = time.perf_counter()
    egraph = EGraph()
    egraph.load(program.outputs)
    timings["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = egraph.run(combine([ruleset], ruleset.name), lim)
    timings["saturate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    snapshot = egraph.snapshot()
    timings["serialize"] = time.perf_counter() - t0
    roots = root_classes(egraph, snapshot, program.outputs)
    extracted = extract_program(snapshot, program, roots, model, extractor, time_limit)
    timings["extract"] = extracted.seconds
    cost_before = program_cost(program, model)
    after = extracted.program
    if program_cost(after, model) > cost_before:  # never hand back something worse than the input
        after = program
    return Optimized(program, after, (report,), cost_before, program_cost(after, model),
                     extracted.lower_bound, extracted.optimal, extracted.method, timings, snapshot.n_nodes)
