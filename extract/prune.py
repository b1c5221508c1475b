"""Exact pruning before the ILP: keep only nodes that some optimal extraction may use.

Removed, in order: unusable nodes (subsumed, infinite cost, own class as child); nodes with
no finite derivation; classes unreachable from the roots; dominated nodes. Node ``n`` is
dominated by ``m`` in the same class when ``cost(m) <= cost(n)`` and ``m``'s child classes
are a subset of ``n``'s (with a negative cost anywhere, only equal child sets count, since
dropping a subterm could lose a negative cost). Swapping ``n`` for ``m`` keeps any extraction
valid and acyclic and never raises its cost, so the optimum is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from .graph import derivable, reachable_classes, usable_nodes
from .greedy import check_roots_finite
from .model import EGraphModel

__all__ = ["Pruned", "prune"]

_SUBSET_CHECK_LIMIT = 400  # nodes per class above which only equal child sets are merged


@dataclass(frozen=True)
class Pruned:
    """The kept nodes per reachable class, and for every dropped-by-dominance node its keeper."""

    keep: list[bool]
    classes: list[int]
    members: dict[int, list[int]]
    dominator: dict[int, int]
    nonnegative: bool


def _dominance(model: EGraphModel, cls_nodes: list[int], subset: bool
               ) -> tuple[list[int], dict[int, int]]:
    costs = model.cost_list
    uniq = model.unique_children
    ordered = sorted(cls_nodes, key=lambda n: (costs[n], len(uniq[n]), n))
    kept: list[int] = []
    kept_sets: list[frozenset[int]] = []
    by_set: dict[tuple[int, ...], int] = {}
    dominated: dict[int, int] = {}
    use_subset = subset and len(ordered) <= _SUBSET_CHECK_LIMIT
    for node in ordered:
        key = uniq[node]
        if key in by_set:
            dominated[node] = by_set[key]
            continue
        if use_subset:
            mine = frozenset(key)
            dom = next((k for k, s in zip(kept, kept_sets) if s <= mine), None)
            if dom is not None:
                dominated[node] = dom
                continue
            kept_sets.append(mine)
        by_set[key] = node
        kept.append(node)
    return kept, dominated


def prune(model: EGraphModel, dominance: bool = True) -> Pruned:
    """Exactly prune ``model`` for the ILP (see module docstring)."""
    usable = usable_nodes(model)
    check_roots_finite(model, usable)
    _, node_ok = derivable(model, usable)
    roots = model.roots.tolist()
    reach = reachable_classes(model, roots, node_ok)
    members_all = model.class_node_lists
    costs = model.cost_list
    nonnegative = all(costs[n] >= 0 for c in range(model.num_classes) if reach[c]
                      for n in members_all[c] if node_ok[n])
    keep = list(node_ok)
    dominator: dict[int, int] = {}
    if dominance:
        for cls in range(model.num_classes):
            if not reach[cls]:
                continue
            nodes = [n for n in members_all[cls] if keep[n]]
            if len(nodes) < 2:
                continue
            _, dominated = _dominance(model, nodes, nonnegative)
            for node, dom in dominated.items():
                keep[node] = False
                dominator[node] = dom
        reach = reachable_classes(model, roots, keep)
    classes = [c for c in range(model.num_classes) if reach[c]]
    members = {c: [n for n in members_all[c] if keep[n]] for c in classes}
    for cls in range(model.num_classes):
        if not reach[cls]:
            for n in members_all[cls]:
                keep[n] = False
    return Pruned(keep=keep, classes=classes, members=members, dominator=dominator,
                  nonnegative=nonnegative)
