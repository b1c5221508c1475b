from __future__ import annotations

import numpy as np
import pytest
from egraph_dsl.extract import EGraphModel, MalformedEGraphError
from extract_helpers import make


def test_structure_is_indexed_and_frozen(shared: EGraphModel) -> None:
    m = shared
    assert m.num_nodes == 6 and m.num_classes == 4
    assert m.class_ids[m.roots[0]] == "r"
    r = m.node_index["r.0"]
    assert [m.class_ids[c] for c in m.children_lists[r]] == ["a", "b"]
    assert sorted(m.node_ids[n] for n in m.class_node_lists[m.class_index["a"]]) == ["a.0", "a.1"]
    with pytest.raises(ValueError):
        m.costs[0] = 3.0


def test_repeated_children_kept_but_unique_deduplicated() -> None:
    m = make({"r": [("add", ["x", "x"], 1.0)], "x": [("v", [], 2.0)]}, ["r"])
    r = m.node_index["r.0"]
    assert len(m.children_lists[r]) == 2
    assert len(m.unique_children[r]) == 1


def test_with_costs_vector_and_function(shared: EGraphModel) -> None:
    doubled = shared.with_costs(shared.costs * 2)
    assert np.allclose(doubled.costs, shared.costs * 2)
    assert shared.costs.tolist() == [1.0, 1.0, 4.0, 1.0, 4.0, 5.0]  # original untouched
    ones = shared.with_costs(lambda i: 1.0)
    assert ones.costs.tolist() == [1.0] * shared.num_nodes
    assert ones.children_lists == shared.children_lists
    with pytest.raises(MalformedEGraphError, match="one cost per node"):
        shared.with_costs([1.0])
    with pytest.raises(MalformedEGraphError, match="NaN"):
        shared.with_costs([float("nan")] * shared.num_nodes)


def test_with_roots(shared: EGraphModel) -> None:
    sub = shared.with_roots(["a"])
    assert [sub.class_ids[r] for r in sub.roots] == ["a"]


def test_build_rejects_out_of_range_child() -> None:
    with pytest.raises(MalformedEGraphError, match="child index out of range"):
        EGraphModel.build(node_ids=["n"], ops=["f"], node_class=[0], costs=[1.0],
                          children=[[5]], class_ids=["c"], roots=[0])
