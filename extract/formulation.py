"""The 0-1 program for optimal DAG extraction, solver-neutral.

Variables: ``x[n]`` (node chosen) per kept node, ``y[c]`` (class chosen) per kept class,
and a continuous level ``L[c]`` only for classes inside a non-trivial strongly connected
component of the class graph. Constraints:

* ``sum(x[n] for n in c) == y[c]``; ``y[root] == 1``  (one node per used class);
* ``sum(x[n] for n in c using d) <= y[d]`` for each class ``c`` and child class ``d`` of its
  nodes (children are chosen; one row per pair, tighter than per-node ``x[n] <= y[d]``);
* ``L[c] - L[d] >= 1 - M (1 - x[n])`` for ``n`` in ``c`` with child ``d`` in the same SCC
  (``M`` = SCC size): chosen edges strictly descend in level, so no cycle;
* ``y[c] <= sum(x[p] for parents p of c)`` for non-roots (reachability): only reachable
  nodes are chosen, so with a negative cost the objective equals the DAG cost. With costs
  >= 0 the rows are redundant for the optimum but not for the LP: without them HiGHS could
  not close the gap in 20 s on e-graphs (babble, herbie) where a plain ILP that has them
  proves the optimum in seconds, so they are always added (``REACHABILITY``).

Objective: ``sum(cost[n] x[n])``. With non-negative costs extra chosen nodes only add cost,
so the optimum equals the optimal DAG cost either way.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._deadline import check
from .graph import strongly_connected_components
from .model import EGraphModel
from .prune import Pruned

__all__ = ["Formulation", "formulate", "incumbent_levels"]

AGGREGATE = True  # False: the weaker per-node rows x[n] <= y[d] (for comparisons)
REACHABILITY = True  # False: reachability rows only with negative costs (for comparisons)


@dataclass(frozen=True)
class Formulation:
    """Column indices and rows of the program; rows are ``(terms, lower, upper)``."""

    nodes: list[int]
    x_col: dict[int, int]
    y_col: dict[int, int]
    level_col: dict[int, int]
    scc_of: dict[int, int]
    scc_size: dict[int, int]
    num_cols: int
    col_cost: list[float]
    col_lower: list[float]
    col_upper: list[float]
    col_integer: list[bool]
    rows: list[tuple[list[tuple[int, float]], float, float]]
    level_edges: list[tuple[int, int, int]]

    def level_rows(self) -> list[tuple[list[tuple[int, float]], float, float]]:
        """Big-M rows ``L[c] - L[d] - M x[n] >= 1 - M`` for the level edges ``(n, c, d)``."""
        out: list[tuple[list[tuple[int, float]], float, float]] = []
        for n, c, d in self.level_edges:
            big = float(self.scc_size[self.scc_of[c]])
            out.append(([(self.level_col[c], 1.0), (self.level_col[d], -1.0),
                         (self.x_col[n], -big)], 1.0 - big, float("inf")))
        return out


def formulate(model: EGraphModel, pruned: Pruned, deadline: float | None = None
              ) -> Formulation:
    """Build the program for the pruned graph (past ``deadline`` it raises
    :class:`~extract._deadline.OutOfTime`)."""
    uniq = model.unique_children
    costs = model.cost_list
    classes = pruned.classes
    members = pruned.members
    roots = set(model.roots.tolist())
    nodes = [n for c in classes for n in members[c]]
    x_col = {n: i for i, n in enumerate(nodes)}
    y_col = {c: len(nodes) + i for i, c in enumerate(classes)}
    # class graph restricted to kept nodes, for the SCCs
    local = {c: i for i, c in enumerate(classes)}
    edges = [sorted({local[k] for n in members[c] for k in uniq[n]}) for c in classes]
    check(deadline)
    comp = strongly_connected_components(len(classes), edges)
    check(deadline)
    size: dict[int, int] = {}
    for cid in comp:
        size[cid] = size.get(cid, 0) + 1
    scc_of = {c: comp[local[c]] for c in classes if size[comp[local[c]]] > 1}
    scc_size = {cid: s for cid, s in size.items() if s > 1}
    level_col: dict[int, int] = {}
    next_col = len(nodes) + len(classes)
    for c in classes:
        if c in scc_of:
            level_col[c] = next_col
            next_col += 1
    col_cost = [costs[n] for n in nodes] + [0.0] * (next_col - len(nodes))
    col_lower = [0.0] * next_col
    col_upper = [1.0] * (len(nodes) + len(classes))
    col_upper += [float(scc_size[scc_of[c]] - 1) for c in classes if c in scc_of]
    for r in roots:
        col_lower[y_col[r]] = 1.0
    col_integer = [True] * (len(nodes) + len(classes)) + [False] * len(level_col)
    rows: list[tuple[list[tuple[int, float]], float, float]] = []
    for c in classes:
        terms = [(x_col[n], 1.0) for n in members[c]]
        terms.append((y_col[c], -1.0))
        rows.append((terms, 0.0, 0.0))
    level_edges: list[tuple[int, int, int]] = []
    for i, c in enumerate(classes):
        if not i & 1023:
            check(deadline)
        users: dict[int, list[int]] = {}
        for n in members[c]:
            for d in uniq[n]:
                users.setdefault(d, []).append(n)
                if c in scc_of and scc_of.get(d) == scc_of[c]:
                    level_edges.append((n, c, d))
        # at most one node of c is chosen, so the nodes of c using d may share one row:
        # sum(x[n] for n in c using d) <= y[d], which implies (and is tighter in the LP
        # than) the per-node rows x[n] <= y[d]
        for d in sorted(users):
            if AGGREGATE:
                terms = [(x_col[n], 1.0) for n in users[d]]
                terms.append((y_col[d], -1.0))
                rows.append((terms, -float("inf"), 0.0))
            else:
                for n in users[d]:
                    rows.append(([(x_col[n], 1.0), (y_col[d], -1.0)], -float("inf"), 0.0))
    check(deadline)
    if REACHABILITY or not pruned.nonnegative:
        parents: dict[int, list[int]] = {c: [] for c in classes}
        for n in nodes:
            for d in uniq[n]:
                parents[d].append(n)
        for c in classes:
            if c not in roots:
                terms = [(y_col[c], 1.0)] + [(x_col[p], -1.0) for p in parents[c]]
                rows.append((terms, -float("inf"), 0.0))
    return Formulation(nodes=nodes, x_col=x_col, y_col=y_col, level_col=level_col,
                       scc_of=scc_of, scc_size=scc_size, num_cols=next_col, col_cost=col_cost,
                       col_lower=col_lower, col_upper=col_upper, col_integer=col_integer,
                       rows=rows, level_edges=level_edges)


def incumbent_levels(model: EGraphModel, form: Formulation, choice: list[int],
                     order: list[int]) -> dict[int, float]:
    """Levels for the classes in SCCs that make a valid (acyclic) choice feasible."""
    uniq = model.unique_children
    levels: dict[int, float] = {c: 0.0 for c in form.level_col}
    for c in reversed(order):  # children before parents
        if c not in form.scc_of:
            continue
        same = [levels[d] for d in uniq[choice[c]] if form.scc_of.get(d) == form.scc_of[c]]
        levels[c] = 1.0 + max(same) if same else 0.0
    return levels


def incumbent_vector(model: EGraphModel, form: Formulation, choice: list[int],
                     order: list[int]) -> list[float]:
    """Full column vector for a valid choice that uses only kept nodes."""
    values = [0.0] * form.num_cols
    for c in order:
        values[form.x_col[choice[c]]] = 1.0
        values[form.y_col[c]] = 1.0
    for c, level in incumbent_levels(model, form, choice, order).items():
        values[form.level_col[c]] = level
    return values
