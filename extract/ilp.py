"""Exact extraction by 0-1 programming, never worse than the best greedy answer.

Pipeline: greedy (tree and DAG, improved) → exact pruning, and pruning by the greedy
answer's cost → formulation (acyclicity only inside non-trivial SCCs: level rows, or with
``cycles="lazy"`` cycle cuts added round by round, :mod:`extract.cycles`) → MIP solver
(HiGHS by default, OR-Tools CP-SAT optional) with a time limit that holds (see
:mod:`extract.highs_backend`) → decode, verify, and keep the better of the solver's answer
and the greedy one. The reported lower bound is the solver's dual bound (or the
combinatorial one), clamped to the returned cost; ``optimal`` is set only when the solver
proves it or the bound meets the cost.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from ._deadline import OutOfTime
from .cycles import chosen_cycles, cycle_cut, two_cycles
from .errors import ExtractionError
from .extraction import Extraction
from .formulation import Formulation, formulate, incumbent_vector
from .graph import chosen_order, usable_nodes
from .greedy import best_greedy_choice
from .highs_backend import SolverResult, solve_highs
from .model import EGraphModel
from .prune import Pruned, dag_lower_bounds, prune, prune_by_incumbent
from .verify import build_extraction, verify_choice

__all__ = ["BACKENDS", "ilp"]

BACKENDS = ("highs", "cpsat")

CYCLES = ("levels", "lazy")

#: Whether HiGHS gets the greedy answer as its starting incumbent. It does not: with it, HiGHS
#: found worse answers in 20 s than without (maxsat s2v140c2600-3: -2138 vs -2164, tensat
#: resnet50: 4.3969 (greedy) vs 4.3870) and once stopped with an open gap (herbie 6713). The
#: greedy answer is still kept when the solver finds nothing cheaper, and its cost still
#: prunes the graph first, so the result is never worse than greedy.
WARM_START = False


def _project(model: EGraphModel, choice: list[int], pruned: Pruned) -> list[int]:
    """Replace dominated nodes by their keepers (never raises the cost, stays valid)."""
    out = list(choice)
    for c, node in enumerate(out):
        if node >= 0 and not pruned.keep[node]:
            out[c] = pruned.dominator.get(node, node)
    return out


def _decode(model: EGraphModel, form: Formulation, values: Sequence[float]) -> list[int] | None:
    choice = [-1] * model.num_classes
    classes = model.class_list
    for node, col in form.x_col.items():
        if values[col] > 0.5:
            cls = classes[node]
            if choice[cls] >= 0:
                return None
            choice[cls] = node
    return choice if chosen_order(model, choice) is not None else None


def _objective(form: Formulation, values: Sequence[float]) -> float:
    return sum(form.col_cost[col] * values[col] for col in form.x_col.values())


def _closed(cost: float, bound: float | None) -> bool:
    return bound is not None and cost - bound <= 1e-6 * max(1.0, abs(cost))


def _stop(result: SolverResult | None, optimal: bool, past_deadline: bool) -> str:
    if optimal:
        return "optimal"
    if result is not None and result.limit is not None:
        return result.limit
    return "time-limit" if past_deadline else "fallback"


def _raw_choice(model: EGraphModel, form: Formulation, values: Sequence[float]) -> list[int]:
    """The chosen node per class (-1: none) of a solver answer, cycles or not."""
    choice = [-1] * model.num_classes
    classes = model.class_list
    for node, col in form.x_col.items():
        if values[col] > 0.5:
            choice[classes[node]] = node
    return choice


def _repair(model: EGraphModel, pruned: Pruned, raw: list[int]
            ) -> tuple[list[int], list[int]] | None:
    """A valid extraction near a cyclic answer: greedy over the kept nodes with the answer's
    nodes at 1 % of their cost (so greedy keeps them where they make no cycle)."""
    costs = model.costs.copy()
    chosen = np.asarray([n for n in raw if n >= 0], dtype=np.int64)
    costs[chosen] *= 0.01
    costs[~np.asarray(pruned.keep, dtype=np.bool_)] = np.inf
    try:
        choice, _ = best_greedy_choice(model.with_costs(costs))
    except ExtractionError:
        return None
    order = chosen_order(model, choice)
    if order is None or any(not pruned.keep[choice[c]] for c in order):
        return None
    kept = [-1] * model.num_classes
    for c in order:
        kept[c] = choice[c]
    return kept, order


def _patch(model: EGraphModel, raw: list[int], incumbent: list[int],
           cycles: list[list[int]]) -> tuple[list[int], list[int]] | None:
    """A cyclic answer with the classes on its cycles set to the incumbent's nodes, if valid."""
    on_cycle = {c for cycle in cycles for c in cycle}
    patched = [incumbent[c] if c in on_cycle and incumbent[c] >= 0 else raw[c]
               for c in range(model.num_classes)]
    order = chosen_order(model, patched)
    if order is None:
        return None
    kept = [-1] * model.num_classes
    for c in order:
        kept[c] = patched[c]
    return kept, order


def _solve_lazy(model: EGraphModel, form: Formulation, pruned: Pruned, incumbent: list[int],
                start: list[float], deadline: float, seed: int, node_limit: int | None,
                stats: dict[str, object]) -> SolverResult:
    """Solve without level rows, cut off the cycles in each answer, solve again (see
    :mod:`extract.cycles`), always warm-started from the best acyclic answer so far.

    Each round's dual bound is a bound for the real program (it has fewer rows); an answer
    with no cycle among its chosen nodes is feasible for it, so when HiGHS proves such an
    answer optimal it is optimal. A cyclic answer is also repaired (:func:`_repair`) into the
    next warm start when that gives a cheaper valid extraction.
    """
    cuts = [cycle_cut(model, pruned.members, form.x_col, pair)
            for pair in two_cycles(model, pruned.members)]
    stats["two_cycle_cuts"] = len(cuts)
    best_values, best_obj = start, _objective(form, start)
    bound: float | None = None
    rounds = 0
    accepted: bool | None = None
    while True:
        left = deadline - time.perf_counter()
        if left <= 0.05:
            stats.update(lazy_rounds=rounds, cycle_cuts=len(cuts))
            return SolverResult(values=best_values, bound=bound, status="time limit between "
                                "cut rounds", proven_optimal=False, start_accepted=accepted,
                                limit="time-limit")
        res = solve_highs(form, best_values, left, seed=seed, node_limit=node_limit,
                          deadline=deadline, levels=False, extra_rows=cuts)
        rounds += 1
        accepted = res.start_accepted if accepted is None else accepted
        if res.bound is not None and math.isfinite(res.bound):
            bound = res.bound if bound is None else max(bound, res.bound)
        cycles: list[list[int]] = []
        if res.values is not None:
            raw = _raw_choice(model, form, res.values)
            cycles = chosen_cycles(model, raw)
            if not cycles:
                obj = _objective(form, res.values)
                if obj <= best_obj + 1e-9:
                    best_values, best_obj = list(res.values), obj
                    stats.update(lazy_rounds=rounds, cycle_cuts=len(cuts))
                    return SolverResult(values=best_values, bound=bound, status=res.status,
                                        proven_optimal=res.proven_optimal,
                                        start_accepted=accepted, limit=res.limit)
            else:
                for repaired in (_repair(model, pruned, raw),
                                 _patch(model, raw, incumbent, cycles)):
                    if repaired is not None:
                        vector = incumbent_vector(model, form, *repaired)
                        obj = _objective(form, vector)
                        if obj < best_obj - 1e-9:
                            best_values, best_obj = vector, obj
                cuts.extend(cycle_cut(model, pruned.members, form.x_col, cycle)
                            for cycle in cycles)
        if not cycles or res.limit is not None:
            stats.update(lazy_rounds=rounds, cycle_cuts=len(cuts))
            return SolverResult(values=best_values, bound=bound, status=res.status,
                                proven_optimal=False, start_accepted=accepted, limit=res.limit)


def _after_solver_seconds(columns: int) -> float:
    """Time kept back from the solver for decoding and verifying its answer (herbie, 10^4
    columns: 3 ms; 10^6 columns: about 0.6 s), with room for a loaded machine."""
    return 0.05 + 1.5e-6 * columns


def ilp(model: EGraphModel, *, time_limit: float = 20.0, backend: str = "highs",
        seed: int = 0, node_limit: int | None = None, cycles: str = "levels"
        ) -> Extraction:
    """Optimal DAG extraction within ``time_limit`` seconds (see module docstring).

    The time limit covers the whole call (greedy, pruning, formulation, solver); when it is
    spent before the solver starts, the improved greedy answer is returned with stop reason
    ``time-limit``. ``node_limit`` caps HiGHS's branch-and-bound nodes. ``cycles="lazy"``
    (HiGHS only) keeps chosen nodes acyclic by cycle cuts added round by round
    (:func:`_solve_lazy`) instead of level rows.
    """
    start_time = time.perf_counter()
    deadline = start_time + time_limit
    if backend not in BACKENDS:
        raise ValueError(f"unknown ILP backend {backend!r}; choose one of {BACKENDS}")
    if cycles not in CYCLES:
        raise ValueError(f"unknown cycle handling {cycles!r}; choose one of {CYCLES}")
    if node_limit is not None and backend != "highs":
        raise ValueError("node_limit is a HiGHS option; use backend='highs'")
    method = f"ilp-{backend}"
    usable = usable_nodes(model)
    greedy, greedy_name = best_greedy_choice(model, usable)
    stats: dict[str, object] = {"greedy": greedy_name}
    # pruning and formulation check this as they go (10^6 nodes: 6 s and 2 s), leaving time
    # to verify and return the greedy answer when it passes
    stage_deadline = deadline - (0.05 + 2e-7 * model.num_nodes)

    def spent(where: str) -> Extraction:
        stats["status"] = "time limit spent before the solver started"
        stats["stop_reason"] = "time-limit"
        return build_extraction(model, greedy, method=method, seconds=time.perf_counter()
                                - start_time, stats=stats, stop_reason="time-limit",
                                stop_detail=f"time limit spent in {where}, before the solver")

    if time.perf_counter() >= stage_deadline:  # greedy used up the time
        return spent("greedy")
    try:
        pruned = prune(model, deadline=stage_deadline)
    except OutOfTime:
        return spent("pruning")
    incumbent = _project(model, greedy, pruned)
    inc_cost, inc_order = verify_choice(model, incumbent)
    stats.update({"greedy_cost": inc_cost,
                  "ilp_nodes": sum(len(v) for v in pruned.members.values()),
                  "ilp_classes": len(pruned.classes)})

    def finish(choice: list[int], bound: float | None, optimal: bool,
               result: SolverResult | None, source: str, timed_out: bool = False
               ) -> Extraction:
        now = time.perf_counter()
        reason = _stop(result, optimal, timed_out or now >= deadline - 0.05)
        fallback = None
        detail = "" if result is None else f"solver status: {result.status}"
        if reason == "fallback":
            fallback = greedy_name if source == "incumbent" else f"{method} (unproven)"
        elif reason == "time-limit" and result is None:
            detail = "time limit spent before the solver started"
        stats["stop_reason"] = reason
        return build_extraction(model, choice, method=method, lower_bound=bound,
                                optimal=optimal, seconds=now - start_time, stats=stats,
                                stop_reason=reason, fallback=fallback, stop_detail=detail)

    if all(len(pruned.members[c]) == 1 for c in pruned.classes):
        stats["status"] = "unique extraction after pruning"
        return finish(incumbent, inc_cost, True, None, "incumbent")
    combinatorial: float | None = None
    if pruned.nonnegative:
        # a combinatorial bound (dearest-child recursion), then drop the nodes that cannot
        # be in anything cheaper than the incumbent; both exact for costs >= 0
        try:
            lb = dag_lower_bounds(model, pruned, deadline=stage_deadline)
        except OutOfTime:
            stats["status"] = "time limit spent before the solver started"
            return finish(incumbent, None, False, None, "incumbent", timed_out=True)
        combinatorial = max(lb[r] for r in model.roots.tolist())
        stats["combinatorial_bound"] = combinatorial
        if _closed(inc_cost, combinatorial):
            stats["status"] = "greedy meets the combinatorial bound"
            return finish(incumbent, combinatorial, True, None, "incumbent")
        try:
            pruned, dropped = prune_by_incumbent(model, pruned, inc_cost, lb,
                                                 deadline=stage_deadline)
        except OutOfTime:
            stats["status"] = "time limit spent before the solver started"
            return finish(incumbent, combinatorial, False, None, "incumbent", timed_out=True)
        stats["incumbent_pruned"] = dropped
        stats["ilp_nodes"] = sum(len(v) for v in pruned.members.values())
        stats["ilp_classes"] = len(pruned.classes)
    try:
        form = formulate(model, pruned, deadline=stage_deadline)
    except OutOfTime:
        stats["status"] = "time limit spent before the solver started"
        return finish(incumbent, combinatorial, False, None, "incumbent", timed_out=True)
    stats["largest_scc"] = max(form.scc_size.values(), default=0)
    start = incumbent_vector(model, form, incumbent, inc_order)
    # the solver stops early enough to decode and verify its answer within the limit
    solver_deadline = deadline - _after_solver_seconds(len(form.nodes))
    remaining = solver_deadline - time.perf_counter()
    if remaining <= 0.05:
        stats["status"] = "time limit spent before the solver started"
        return finish(incumbent, combinatorial, False, None, "incumbent", timed_out=True)
    result: SolverResult
    if backend == "highs" and cycles == "lazy" and form.level_edges:
        result = _solve_lazy(model, form, pruned, incumbent, start, solver_deadline, seed,
                             node_limit, stats)
    elif backend == "highs":
        result = solve_highs(form, start if WARM_START else None, remaining, seed=seed,
                             node_limit=node_limit, deadline=solver_deadline)
    else:
        from .cpsat_backend import solve_cpsat

        result = solve_cpsat(model, form, start, remaining, seed=seed)
    if (backend == "highs" and result.limit is None and result.values is not None
            and not _closed(_objective(form, result.values), result.bound)
            and solver_deadline - time.perf_counter() > 0.5):
        # HiGHS can stop with status Optimal while its own dual bound is below the
        # incumbent's cost (seen on herbie with the warm start): solve again without the
        # start and with another seed for the rest of the time, keep the better answer
        stats["first_status"] = f"{result.status}, bound {result.bound}"
        retry = solve_highs(form, None, solver_deadline - time.perf_counter(), seed=seed + 1,
                            node_limit=node_limit, deadline=solver_deadline)
        if retry.values is not None and _objective(form, retry.values) <= _objective(
                form, result.values) + 1e-9:
            result = retry
        else:
            result = SolverResult(values=result.values, bound=max(
                (b for b in (result.bound, retry.bound) if b is not None), default=None),
                status=retry.status, proven_optimal=False, start_accepted=result.start_accepted,
                limit=retry.limit)
        stats["retried"] = True
    stats["status"] = result.status
    stats["start_accepted"] = result.start_accepted
    best, best_cost, source = incumbent, inc_cost, "incumbent"
    if result.values is not None:
        decoded = _decode(model, form, result.values)
        if decoded is not None:
            cost, _ = verify_choice(model, decoded)
            if cost < best_cost:
                best, best_cost, source = decoded, cost, "solver"
        else:
            stats["solver_solution_rejected"] = True
    stats["source"] = source
    bound = result.bound
    if bound is not None and not math.isfinite(bound):
        bound = None
    if combinatorial is not None and (bound is None or combinatorial > bound):
        bound = combinatorial
    optimal = (result.proven_optimal and bound is not None and best_cost - bound
               <= 1e-6 * max(1.0, abs(best_cost))) or _closed(best_cost, bound)
    return finish(best, bound, optimal, result, source)
