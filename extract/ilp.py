"""Exact extraction by 0-1 programming, warm-started from the best greedy answer.

Pipeline: greedy (tree and DAG, improved) → exact pruning → formulation (acyclicity only
inside non-trivial SCCs) → MIP solver (HiGHS by default, OR-Tools CP-SAT optional) with the
greedy choice as incumbent and a time limit → decode, verify, and keep the better of the
solver's answer and the incumbent (the result is never worse than greedy). The reported
lower bound is the solver's dual bound, clamped to the returned cost; ``optimal`` is set only
when the solver proves it or the bound meets the cost.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

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


def _after_solver_seconds(columns: int) -> float:
    """Time kept back from the solver for decoding and verifying its answer (herbie, 10^4
    columns: 3 ms; 10^6 columns: about 0.6 s), with room for a loaded machine."""
    return 0.05 + 1.5e-6 * columns


def ilp(model: EGraphModel, *, time_limit: float = 20.0, backend: str = "highs",
        seed: int = 0, node_limit: int | None = None) -> Extraction:
    """Optimal DAG extraction within ``time_limit`` seconds (see module docstring).

    The time limit covers the whole call (greedy, pruning, formulation, solver); when it is
    spent before the solver starts, the improved greedy answer is returned with stop reason
    ``time-limit``. ``node_limit`` caps HiGHS's branch-and-bound nodes.
    """
    start_time = time.perf_counter()
    deadline = start_time + time_limit
    if backend not in BACKENDS:
        raise ValueError(f"unknown ILP backend {backend!r}; choose one of {BACKENDS}")
    if node_limit is not None and backend != "highs":
        raise ValueError("node_limit is a HiGHS option; use backend='highs'")
    method = f"ilp-{backend}"
    usable = usable_nodes(model)
    greedy, greedy_name = best_greedy_choice(model, usable)
    stats: dict[str, object] = {"greedy": greedy_name}
    if time.perf_counter() >= deadline:  # greedy used up the time: skip pruning and the solver
        stats["status"] = "time limit spent before the solver started"
        stats["stop_reason"] = "time-limit"
        return build_extraction(model, greedy, method=method, seconds=time.perf_counter()
                                - start_time, stats=stats, stop_reason="time-limit",
                                stop_detail="time limit spent in greedy, before the solver")
    pruned = prune(model)
    incumbent = _project(model, greedy, pruned)
    inc_cost, inc_order = verify_choice(model, incumbent)
    stats.update({"greedy_cost": inc_cost,
                  "ilp_nodes": sum(len(v) for v in pruned.members.values()),
                  "ilp_classes": len(pruned.classes)})

    def finish(choice: list[int], bound: float | None, optimal: bool,
               result: SolverResult | None, source: str) -> Extraction:
        now = time.perf_counter()
        reason = _stop(result, optimal, now >= deadline - 0.05)
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
        lb = dag_lower_bounds(model, pruned)
        combinatorial = max(lb[r] for r in model.roots.tolist())
        stats["combinatorial_bound"] = combinatorial
        if _closed(inc_cost, combinatorial):
            stats["status"] = "greedy meets the combinatorial bound"
            return finish(incumbent, combinatorial, True, None, "incumbent")
        if time.perf_counter() >= deadline:
            stats["status"] = "time limit spent before the solver started"
            return finish(incumbent, combinatorial, False, None, "incumbent")
        pruned, dropped = prune_by_incumbent(model, pruned, inc_cost, lb)
        stats["incumbent_pruned"] = dropped
        stats["ilp_nodes"] = sum(len(v) for v in pruned.members.values())
        stats["ilp_classes"] = len(pruned.classes)
    form = formulate(model, pruned)
    stats["largest_scc"] = max(form.scc_size.values(), default=0)
    start = incumbent_vector(model, form, incumbent, inc_order)
    # the solver stops early enough to decode and verify its answer within the limit
    solver_deadline = deadline - _after_solver_seconds(len(form.nodes))
    remaining = solver_deadline - time.perf_counter()
    if remaining <= 0.05:
        stats["status"] = "time limit spent before the solver started"
        return finish(incumbent, combinatorial, False, None, "incumbent")
    result: SolverResult
    if backend == "highs":
        result = solve_highs(form, start, remaining, seed=seed, node_limit=node_limit,
                             deadline=solver_deadline)
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
