from __future__ import annotations

from egraph_dsl.extract.graph import (
    chosen_order,
    derivable,
    strongly_connected_components,
    usable_nodes,
)
from extract_helpers import make


def test_scc_finds_cycles() -> None:
    comp = strongly_connected_components(4, [[1], [0, 2], [], [3]])
    assert comp[0] == comp[1] != comp[2]
    assert len(set(comp)) == 3


def test_derivable_and_chosen_order() -> None:
    m = make({"r": [("f", ["a"], 1.0)], "a": [("g", ["r"], 1.0), ("l", [], 1.0)],
              "z": [("z", ["z"], 1.0)]}, ["r"])
    class_ok, _ = derivable(m, usable_nodes(m))
    assert class_ok == [True, True, False]
    r, a = m.class_index["r"], m.class_index["a"]
    choice = [m.node_index["r.0"], m.node_index["a.1"], -1]
    assert chosen_order(m, choice) == [r, a]
    choice[a] = m.node_index["a.0"]
    assert chosen_order(m, choice) is None
