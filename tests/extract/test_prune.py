from __future__ import annotations

from egraph_dsl.extract import EGraphModel
from egraph_dsl.extract.prune import prune
from extract_helpers import all_extractions, make, small_egraphs
from hypothesis import given


def test_drops_dominated_self_loop_and_unreachable() -> None:
    m = make({
        "r": [("cheap", ["a"], 1.0), ("dear", ["a", "b"], 2.0), ("self", ["r"], 0.0)],
        "a": [("a", [], 1.0)],
        "b": [("b", [], 1.0)],
        "u": [("u", [], 1.0)],
    }, ["r"])
    p = prune(m)
    kept = {m.node_ids[n] for n in range(m.num_nodes) if p.keep[n]}
    assert kept == {"r.0", "a.0"}
    assert p.dominator[m.node_index["r.1"]] == m.node_index["r.0"]


def test_negative_costs_only_merge_equal_child_sets() -> None:
    m = make({"r": [("f", ["a"], 1.0), ("g", ["a", "b"], 1.0)], "a": [("a", [], 1.0)],
              "b": [("b", [], -5.0)]}, ["r"])
    p = prune(m)
    assert p.keep[m.node_index["r.1"]]


@given(small_egraphs())
def test_pruning_keeps_an_optimal_extraction(model: EGraphModel) -> None:
    costs = all_extractions(model)
    if not costs:
        return
    p = prune(model)
    best = min(costs.values())
    kept_best = min(c for key, c in costs.items() if all(p.keep[n] for _, n in key))
    assert kept_best == best
