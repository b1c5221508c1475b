"""Independent check of an extraction; every extractor calls it before returning.

Checks: every root chosen; every chosen node belongs to its class, is not subsumed and has
a finite cost; the child classes of every chosen node are chosen; no cycle among the chosen
nodes reachable from the roots; the reported cost equals the recomputed DAG cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from . import _native
from .errors import CostOverflowError, InvalidExtractionError, overflow_message
from .extraction import Extraction, choices_from_dict
from .model import EGraphModel

__all__ = ["costs_match", "verify", "verify_choice"]


def costs_match(a: float, b: float) -> bool:
    """Equal up to float summation-order noise."""
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def verify_choice(model: EGraphModel, choice: Sequence[int]) -> tuple[float, list[int]]:
    """Verify an internal choice array; return ``(dag_cost, reachable classes in topo order)``.

    The search runs compiled (:mod:`extract._native`) when it can; on any failure the Python
    search below reruns, so the error names the same class or node either way.
    """
    fast = _verify_choice_native(model, choice)
    if fast is not None:
        return fast
    return _verify_choice_python(model, choice)


def _verify_choice_native(model: EGraphModel, choice: Sequence[int]
                          ) -> tuple[float, list[int]] | None:
    """:func:`verify_choice` by the compiled search; ``None`` when it fails or is unavailable."""
    try:
        array = np.asarray(choice, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        return None
    native = _native.native_chosen_post(model, array)
    if native is None or native[0] != 0:
        return None
    post = native[1]
    nodes = array[post]
    costs = model.costs[nodes]
    if not (bool(np.all(model.node_class[nodes] == post)) and not bool(model.subsumed[nodes].any())
            and bool(np.isfinite(costs).all())):
        return None
    try:
        total = math.fsum(costs.tolist())
    except OverflowError:
        total = math.inf
    if total in (math.inf, -math.inf):
        raise CostOverflowError(overflow_message("the DAG cost of the extraction"))
    return total, post.tolist()


def _verify_choice_python(model: EGraphModel, choice: Sequence[int]) -> tuple[float, list[int]]:
    uniq = model.unique_children
    classes = model.class_list
    costs = model.cost_list
    subsumed = model.subsumed
    cids, nids = model.class_ids, model.node_ids
    state = [0] * model.num_classes
    post: list[int] = []

    def check_node(cls: int, parent: int | None) -> None:
        node = choice[cls]
        if node < 0:
            where = "it is a root" if parent is None else f"node {nids[parent]!r} uses it"
            raise InvalidExtractionError(f"e-class {cids[cls]!r} is not chosen but {where}")
        if classes[node] != cls:
            raise InvalidExtractionError(
                f"e-class {cids[cls]!r} is mapped to node {nids[node]!r} of another class "
                f"({cids[classes[node]]!r})")
        if subsumed[node]:
            raise InvalidExtractionError(f"node {nids[node]!r} is subsumed and cannot be chosen")
        if not math.isfinite(costs[node]):
            raise InvalidExtractionError(f"node {nids[node]!r} has non-finite cost {costs[node]}")

    for root in model.roots.tolist():
        if state[root]:
            continue
        check_node(root, None)
        state[root] = 1
        work: list[tuple[int, int]] = [(root, 0)]
        while work:
            cls, i = work[-1]
            kids = uniq[choice[cls]]
            if i < len(kids):
                work[-1] = (cls, i + 1)
                kid = kids[i]
                if state[kid] == 1:
                    cycle = [c for c, _ in work[[c for c, _ in work].index(kid):]]
                    names = " -> ".join(cids[c] for c in [*cycle, kid])
                    raise InvalidExtractionError(f"chosen nodes form a cycle: {names}")
                if state[kid] == 0:
                    check_node(kid, choice[cls])
                    state[kid] = 1
                    work.append((kid, 0))
            else:
                work.pop()
                state[cls] = 2
                post.append(cls)
    post.reverse()
    try:
        total = math.fsum(costs[choice[c]] for c in post)
    except OverflowError:
        total = math.inf
    if total in (math.inf, -math.inf):
        raise CostOverflowError(overflow_message("the DAG cost of the extraction"))
    return total, post


def verify(model: EGraphModel, result: Extraction | Mapping[str, str] | Sequence[int],
           cost: float | None = None) -> float:
    """Verify an :class:`Extraction`, a ``{class id: node id}`` mapping or a choice array.

    Returns the recomputed DAG cost; raises :class:`InvalidExtractionError` on any failure,
    including a reported ``cost`` (or ``Extraction.cost``) that differs from the recomputed one.
    """
    if isinstance(result, Extraction):
        cost = result.cost if cost is None else cost
        choice = choices_from_dict(model, result.choices)
    elif isinstance(result, Mapping):
        choice = choices_from_dict(model, result)
    else:
        choice = list(result)
    total, _ = verify_choice(model, choice)
    if cost is not None and not costs_match(total, cost):
        raise InvalidExtractionError(
            f"reported cost {cost!r} differs from the recomputed DAG cost {total!r}")
    return total


def build_extraction(model: EGraphModel, choice: Sequence[int], *, method: str, seconds: float,
                     lower_bound: float | None = None, optimal: bool = False,
                     stats: Mapping[str, object] | None = None, stop_reason: str = "greedy",
                     fallback: str | None = None, stop_detail: str = "") -> Extraction:
    """Verify ``choice`` and package it as an :class:`Extraction` (reachable classes only).

    The lower bound is clamped so it never exceeds the cost; an invalid choice raises.
    """
    from types import MappingProxyType

    from .extraction import choices_to_dict

    total, order = verify_choice(model, choice)
    if lower_bound is not None:
        if not math.isfinite(lower_bound):
            lower_bound = None
        else:
            lower_bound = min(lower_bound, total)
    return Extraction(choices=MappingProxyType(choices_to_dict(model, choice, order)),
                      cost=total, lower_bound=lower_bound, optimal=optimal,
                      seconds=seconds, method=method,
                      stats=MappingProxyType(dict(stats or {})), stop_reason=stop_reason,
                      fallback=fallback, stop_detail=stop_detail)
