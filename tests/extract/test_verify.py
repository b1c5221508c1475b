from __future__ import annotations

import pytest
from egraph_dsl.extract import EGraphModel, InvalidExtractionError, greedy_tree, verify
from egraph_dsl.extract.verify import build_extraction
from extract_helpers import make


def test_accepts_valid_and_returns_cost(shared: EGraphModel) -> None:
    assert verify(shared, {"r": "r.0", "a": "a.1", "b": "b.1"}) == 9.0
    assert verify(shared, greedy_tree(shared)) == 9.0


@pytest.mark.parametrize(("choices", "message"), [
    ({"a": "a.1"}, "'r' is not chosen but it is a root"),
    ({"r": "r.0", "a": "a.0", "b": "b.1"}, "'s' is not chosen but node 'a.0' uses it"),
    ({"r": "r.0", "a": "b.1", "b": "b.1"}, "'a' is mapped to node 'b.1' of another class"),
    ({"r": "r.0", "a": "a.1", "zz": "b.1"}, "'zz', which is not in the graph"),
    ({"r": "r.0", "a": "nope"}, "'nope', which is not a node"),
])
def test_rejects_invalid(shared: EGraphModel, choices: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidExtractionError, match=message):
        verify(shared, choices)


def test_rejects_cycles_and_wrong_costs() -> None:
    m = make({"r": [("f", ["a"], 1.0)], "a": [("g", ["r"], 0.0), ("l", [], 1.0)]}, ["r"])
    with pytest.raises(InvalidExtractionError, match="cycle: r -> a -> r"):
        verify(m, {"r": "r.0", "a": "a.0"})
    with pytest.raises(InvalidExtractionError, match="differs from the recomputed"):
        verify(m, {"r": "r.0", "a": "a.1"}, cost=3.0)


def test_subsumed_nodes_are_rejected() -> None:
    from egraph_dsl.extract import from_dict

    m = from_dict({"nodes": {"x": {"op": "x", "children": [], "eclass": "r", "subsumed": True},
                             "y": {"op": "y", "children": [], "eclass": "r"}},
                   "root_eclasses": ["r"]})
    with pytest.raises(InvalidExtractionError, match="subsumed"):
        verify(m, {"r": "x"})


def test_build_extraction_clamps_bound_and_keeps_reachable_only(shared: EGraphModel) -> None:
    choice = [-1] * shared.num_classes
    for cls, node in {"r": "r.0", "a": "a.1", "b": "b.1", "s": "s.0"}.items():
        choice[shared.class_index[cls]] = shared.node_index[node]
    result = build_extraction(shared, choice, method="t", seconds=0.0, lower_bound=100.0)
    assert "s" not in result.choices
    assert result.lower_bound == result.cost == 9.0
