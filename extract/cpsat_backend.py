"""Solve a :class:`~extract.formulation.Formulation` with OR-Tools CP-SAT.

CP-SAT needs integer objective coefficients: costs are scaled by a power of ten (1 when all
costs are integers) and rounded; the dual bound is converted back and lowered by the worst
rounding error, so it stays a valid bound on the exact objective. Acyclicity uses integer
levels with enforcement literals instead of big-M rows.
"""

from __future__ import annotations

import math

from .formulation import Formulation
from .highs_backend import SolverResult
from .model import EGraphModel

__all__ = ["solve_cpsat"]


def _scale(costs: list[float]) -> int:
    if all(float(c).is_integer() for c in costs):
        return 1
    biggest = max((abs(c) for c in costs), default=1.0) or 1.0
    digits = max(0, min(9, int(15 - math.log10(biggest * max(len(costs), 1)))))
    return int(10**digits)


def solve_cpsat(model: EGraphModel, form: Formulation, start: list[float] | None,
                time_limit: float, seed: int = 0) -> SolverResult:
    """Run CP-SAT (one worker, fixed seed) on ``form`` with ``start`` as a hint."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    n_int = len(form.x_col) + len(form.y_col)
    cols: list[cp_model.IntVar] = []
    for j in range(form.num_cols):
        low, high = round(form.col_lower[j]), round(form.col_upper[j])
        cols.append(m.new_bool_var(f"b{j}") if j < n_int and high <= 1 and low == 0
                    else m.new_int_var(low, high, f"v{j}"))
    for terms, lo, hi in form.rows:
        expr = sum(round(v) * cols[c] for c, v in terms)
        if lo == hi:
            m.add(expr == int(lo))
        else:
            if math.isfinite(lo):
                m.add(expr >= math.ceil(lo))
            if math.isfinite(hi):
                m.add(expr <= math.floor(hi))
    for n, c, d in form.level_edges:
        m.add(cols[form.level_col[c]] >= cols[form.level_col[d]] + 1).only_enforce_if(
            cols[form.x_col[n]])
    costs = [form.col_cost[j] for j in range(len(form.x_col))]
    scale = _scale(costs)
    int_costs = [round(c * scale) for c in costs]
    m.minimize(sum(w * cols[j] for j, w in enumerate(int_costs) if w))
    if start is not None:
        for j in range(n_int):
            m.add_hint(cols[j], round(start[j]))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = max(time_limit, 0.01)
    status = solver.solve(m)
    values: list[float] | None = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = [float(solver.value(cols[j])) for j in range(n_int)]
    rounding = 0.0 if scale == 1 else 0.5 * len(costs) / scale
    bound = solver.best_objective_bound / scale - rounding
    proven = status == cp_model.OPTIMAL and scale == 1
    # CP-SAT stops without proof (FEASIBLE / UNKNOWN) only at its time limit here
    limit = "time-limit" if status in (cp_model.FEASIBLE, cp_model.UNKNOWN) else None
    return SolverResult(values=values, bound=bound if math.isfinite(bound) else None,
                        status=solver.status_name(status), proven_optimal=proven,
                        start_accepted=None, limit=limit)
