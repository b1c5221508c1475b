"""The k cheapest distinct extractions by DAG cost (Lawler-Murty partitioning over the ILP).

Two extractions are distinct when their choice maps over the reachable classes differ.
After each best solution with reachable classes ``c1..cm`` (parents first) and nodes
``n1..nm``, the rest of its subspace splits into disjoint parts ``i``: keep ``n1..n(i-1)``,
forbid ``ni``. Each part's optimum comes from the exact ILP (without dominance pruning,
which is exact only for the single best). Results are verified and sorted by cost;
``optimal`` on each entry says whether its solve was proven.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import replace

from .extraction import Extraction
from .formulation import Formulation, formulate
from .graph import chosen_order
from .highs_backend import solve_highs
from .ilp import _decode
from .model import EGraphModel
from .prune import prune
from .verify import build_extraction, verify_choice

__all__ = ["top_k"]


def _solve(model: EGraphModel, form: Formulation, on: frozenset[int], off: frozenset[int],
           time_limit: float) -> tuple[float, list[int], bool] | None:
    lower = list(form.col_lower)
    upper = list(form.col_upper)
    for node in on:
        lower[form.x_col[node]] = 1.0
    for node in off:
        upper[form.x_col[node]] = 0.0
    result = solve_highs(replace(form, col_lower=lower, col_upper=upper), None, time_limit)
    if result.values is None:
        return None
    choice = _decode(model, form, result.values)
    if choice is None:
        return None
    cost, _ = verify_choice(model, choice)
    return cost, choice, result.proven_optimal


def top_k(model: EGraphModel, k: int, root: int | str | None = None, *,
          time_limit: float = 10.0) -> list[Extraction]:
    """Up to ``k`` cheapest distinct extractions (DAG cost) for ``root`` (default: the roots)."""
    start = time.perf_counter()
    if root is not None:
        model = model.with_roots([root])
    pruned = prune(model, dominance=False)
    form = formulate(model, replace(pruned, nonnegative=False))  # reachability rows: exact maps
    deadline = start + time_limit
    out: list[Extraction] = []
    first = _solve(model, form, frozenset(), frozenset(), time_limit)
    if first is None:
        return out
    counter = 0
    heap: list[tuple[float, int, list[int], bool, frozenset[int], frozenset[int]]] = [
        (first[0], counter, first[1], first[2], frozenset(), frozenset())]
    while heap and len(out) < k:
        _, _, choice, proven, on, off = heapq.heappop(heap)
        out.append(build_extraction(model, choice, method="top-k", optimal=proven,
                                    stop_reason="optimal" if proven else "time-limit",
                                    seconds=time.perf_counter() - start))
        order = chosen_order(model, choice)
        assert order is not None
        fixed: list[int] = []
        for cls in order:
            node = choice[cls]
            if node in on:
                fixed.append(node)
                continue
            if len(pruned.members.get(cls, ())) > 1:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                part = _solve(model, form, on | frozenset(fixed), off | {node}, left)
                if part is not None:
                    counter += 1
                    heapq.heappush(heap, (part[0], counter, part[1], part[2],
                                          on | frozenset(fixed), off | {node}))
            fixed.append(node)
    return out
