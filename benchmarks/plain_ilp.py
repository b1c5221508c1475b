"""A plain HiGHS ILP for optimal DAG extraction: the reference our ``ilp`` must never lose to.

No pruning, no warm start, no bounds: columns ``x[n]`` per usable node, ``y[c]`` per class
and a continuous topological level ``t[c]``; rows ``sum(x[n] in c) == y[c]``, ``y[root] == 1``,
``x[n] <= y[d]`` for each child class ``d``, ``t[c] - t[d] >= 1 - M (1 - x[n])`` on every
edge (acyclicity), and ``y[c] <= sum(x[p] for parents p)`` for non-roots (so negative costs
count only when reachable). Its answer is decoded and its DAG cost recomputed by
:func:`egraph_dsl.extract.verify.verify_choice`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from egraph_dsl.extract import EGraphModel
from egraph_dsl.extract.graph import chosen_order, usable_nodes
from egraph_dsl.extract.highs_backend import _new_highs
from egraph_dsl.extract.verify import verify_choice

__all__ = ["PlainResult", "plain_ilp"]


@dataclass(frozen=True)
class PlainResult:
    """The plain ILP's verified DAG cost (``None``: no valid answer), proof flag and time."""

    cost: float | None
    optimal: bool
    seconds: float
    status: str


def plain_ilp(model: EGraphModel, time_limit: float = 20.0) -> PlainResult:
    """Solve the plain formulation (module docstring) with HiGHS, one thread."""
    import highspy

    start = time.perf_counter()
    usable = usable_nodes(model)
    uniq, classes, costs = model.unique_children, model.class_list, model.cost_list
    nodes = [n for n in range(model.num_nodes) if usable[n]]
    n_cls, n_x = model.num_classes, len(nodes)
    x = {n: i for i, n in enumerate(nodes)}
    n_int = n_x + n_cls
    n_cols = n_int + n_cls
    big = float(n_cls)
    inf = highspy.kHighsInf
    lows: list[float] = []
    highs: list[float] = []
    starts: list[int] = [0]
    index: list[int] = []
    value: list[float] = []

    def row(low: float, high: float, terms: list[tuple[int, float]]) -> None:
        lows.append(low)
        highs.append(high)
        index.extend(c for c, _ in terms)
        value.extend(v for _, v in terms)
        starts.append(len(index))

    members: list[list[int]] = [[] for _ in range(n_cls)]
    parents: list[list[int]] = [[] for _ in range(n_cls)]
    for n in nodes:
        members[classes[n]].append(n)
        for d in uniq[n]:
            parents[d].append(n)
            row(-inf, 0.0, [(x[n], 1.0), (n_x + d, -1.0)])
            row(1.0 - big, inf, [(n_int + classes[n], 1.0), (n_int + d, -1.0), (x[n], -big)])
    roots = set(model.roots.tolist())
    for c in range(n_cls):
        row(0.0, 0.0, [(x[n], 1.0) for n in members[c]] + [(n_x + c, -1.0)])
        if c not in roots:
            row(-inf, 0.0, [(n_x + c, 1.0)] + [(x[p], -1.0) for p in parents[c]])
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = len(lows)
    lp.col_cost_ = np.array([costs[n] for n in nodes] + [0.0] * (2 * n_cls))
    col_lower = np.zeros(n_cols)
    col_lower[[n_x + r for r in roots]] = 1.0
    lp.col_lower_ = col_lower
    lp.col_upper_ = np.concatenate([np.ones(n_int), np.full(n_cls, big - 1)])
    lp.row_lower_ = np.array(lows)
    lp.row_upper_ = np.array(highs)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = len(lows)
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value, dtype=np.float64)
    integer, continuous = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
    lp.integrality_ = [integer] * n_int + [continuous] * n_cls
    h = _new_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-9)
    h.setOptionValue("time_limit", max(0.01, time_limit - (time.perf_counter() - start)))
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    cost: float | None = None
    if h.getInfo().primal_solution_status == 2:
        values = h.getSolution().col_value
        choice = [-1] * n_cls
        for n in nodes:
            if values[x[n]] > 0.5:
                choice[classes[n]] = n
        if chosen_order(model, choice) is not None:
            cost = verify_choice(model, choice)[0]
    return PlainResult(cost=cost, optimal=status == highspy.HighsModelStatus.kOptimal,
                       seconds=time.perf_counter() - start, status=h.modelStatusToString(status))
