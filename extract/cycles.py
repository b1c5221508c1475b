"""Cycles among chosen nodes, and the cuts that forbid them (lazy acyclicity for the ILP).

When a strongly connected component of the class graph is large, the level (big-M) rows
that keep chosen nodes acyclic are weak and slow the solver down (tensat resnet50: 1,875
classes in one component; HiGHS did not improve on greedy in 20 s). Instead the program is
solved without them, the cycles in its answer are found, and for each cycle
``c0 -> c1 -> ... -> c(k-1) -> c0`` of classes the cut

    sum over i of sum(x[n] for kept n in c_i having c_(i+1) as a child) <= k - 1

is added before solving again. At most one node per class is chosen, so the left side is k
exactly when the cycle is chosen: every acyclic choice satisfies the cut, and the answer
that broke it does not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from .graph import strongly_connected_components
from .model import EGraphModel

__all__ = ["chosen_cycles", "cycle_cut", "two_cycles"]

Row = tuple[list[tuple[int, float]], float, float]


def chosen_cycles(model: EGraphModel, choice: Sequence[int], limit: int = 200
                  ) -> list[list[int]]:
    """Up to ``limit`` distinct simple cycles of classes through the chosen nodes.

    ``choice[c]`` is the node chosen for class ``c`` or -1. Per non-trivial strongly
    connected component of the chosen graph, a shortest cycle through each of its classes
    (breadth-first search), duplicates dropped.
    """
    uniq = model.unique_children
    chosen = [c for c in range(model.num_classes) if choice[c] >= 0]
    local = {c: i for i, c in enumerate(chosen)}
    succ = [[local[d] for d in uniq[choice[c]] if d in local] for c in chosen]
    comp = strongly_connected_components(len(chosen), succ)
    groups: dict[int, list[int]] = {}
    for v, cid in enumerate(comp):
        groups.setdefault(cid, []).append(v)
    cycles: list[list[int]] = []
    seen: set[frozenset[tuple[int, int]]] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        cid = comp[members[0]]
        for start in members:
            if len(cycles) >= limit:
                return cycles
            parent = {start: -1}
            queue = deque([start])
            end = -1
            while queue and end < 0:
                v = queue.popleft()
                for w in succ[v]:
                    if comp[w] != cid:
                        continue
                    if w == start:
                        end = v
                        break
                    if w not in parent:
                        parent[w] = v
                        queue.append(w)
            if end < 0:
                continue
            path = [end]
            while path[-1] != start:
                path.append(parent[path[-1]])
            path.reverse()  # start -> ... -> end, and end -> start closes it
            cycle = [chosen[v] for v in path]
            key = frozenset(zip(cycle, cycle[1:] + cycle[:1], strict=True))
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
    return cycles


def cycle_cut(model: EGraphModel, members: Mapping[int, Sequence[int]],
              x_col: Mapping[int, int], cycle: Sequence[int]) -> Row:
    """The cut forbidding ``cycle`` (module docstring) over the kept nodes ``members``."""
    uniq = model.unique_children
    terms: list[tuple[int, float]] = []
    k = len(cycle)
    for i, cls in enumerate(cycle):
        nxt = cycle[(i + 1) % k]
        terms.extend((x_col[n], 1.0) for n in members[cls] if nxt in uniq[n])
    return terms, -float("inf"), float(k - 1)


def two_cycles(model: EGraphModel, members: Mapping[int, Sequence[int]]) -> list[list[int]]:
    """Every pair of kept classes with nodes using each other (``c -> d -> c``)."""
    uniq = model.unique_children
    uses = {c: {d for n in members[c] for d in uniq[n]} for c in members}
    return [[c, d] for c, kids in uses.items() for d in kids
            if c < d and d in uses and c in uses[d]]
