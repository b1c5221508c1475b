from __future__ import annotations

import numpy as np
import pytest
from egraph_dsl.extract import (
    EGraphModel,
    NoFiniteExtractionError,
    greedy_dag,
    greedy_tree,
    verify,
)
from egraph_dsl.extract.graph import usable_nodes
from egraph_dsl.extract.greedy import best_greedy_choice, dag_choice, improve, tree_choice
from extract_helpers import all_extractions, make, small_egraphs
from hypothesis import given


def test_tree_greedy_pays_shared_subterm_per_use(shared: EGraphModel) -> None:
    result = greedy_tree(shared)
    assert result.choices == {"r": "r.0", "a": "a.1", "b": "b.1"}
    assert result.cost == 9.0 and result.stats["tree_cost"] == 9.0
    assert result.lower_bound is None and not result.optimal


def test_dag_greedy_counts_shared_subterm_once() -> None:
    # b's node fb reuses a and s: its tree cost is 7.5 > 4.6 but its cost set is 4.5
    m = make({
        "r": [("pair", ["a", "b"], 1.0)],
        "a": [("fa", ["s"], 1.0), ("la", [], 4.5)],
        "b": [("fb", ["a", "s"], 0.5), ("lb", [], 4.6)],
        "s": [("big", [], 3.0)],
    }, ["r"])
    assert greedy_tree(m).cost == pytest.approx(9.6)
    result = greedy_dag(m)
    assert result.cost == 5.5
    assert result.choices == {"r": "r.0", "a": "a.0", "b": "b.0", "s": "s.0"}


def test_cycles_are_avoided() -> None:
    m = make({
        "r": [("f", ["a"], 1.0)],
        "a": [("g", ["r"], 0.0), ("leaf", [], 10.0)],
    }, ["r"])
    for result in (greedy_tree(m), greedy_dag(m)):
        assert result.choices == {"r": "r.0", "a": "a.1"}
        assert result.cost == 11.0


def test_only_cyclic_roots_raise() -> None:
    m = make({"r": [("f", ["a"], 1.0)], "a": [("g", ["r"], 1.0)]}, ["r"])
    with pytest.raises(NoFiniteExtractionError, match="root e-class 'r' has no finite"):
        greedy_dag(m)


def test_multiple_roots_share_work() -> None:
    m = make({"x": [("f", ["s"], 1.0)], "y": [("g", ["s"], 1.0)], "s": [("s", [], 7.0)]},
             ["x", "y"])
    assert greedy_dag(m).cost == 9.0


def test_negative_costs_stay_valid() -> None:
    m = make({"r": [("f", ["a", "a"], -1.0), ("l", [], 0.0)], "a": [("n", [], -2.0)]}, ["r"])
    result = greedy_dag(m)
    assert result.cost == -3.0  # the repeated child is paid once
    assert verify(m, result) == -3.0


def test_improve_is_never_worse(shared: EGraphModel) -> None:
    usable = usable_nodes(shared)
    choice, _ = tree_choice(shared, usable)
    assert verify(shared, improve(shared, choice, usable)) <= verify(shared, choice)


@given(small_egraphs())
def test_greedy_results_are_valid_and_not_below_optimum(model: EGraphModel) -> None:
    costs = all_extractions(model)
    if not costs:
        with pytest.raises(NoFiniteExtractionError):
            greedy_dag(model)
        return
    best = min(costs.values())
    for result in (greedy_tree(model), greedy_dag(model)):
        assert verify(model, result) == result.cost
        assert result.cost >= best - 1e-9
    choice, _ = best_greedy_choice(model)
    assert verify(model, choice) <= greedy_dag(model).cost


def synthetic(n_classes: int, per_class: int, seed: int) -> EGraphModel:
    """Layered random e-graph: class i's nodes point to 1-3 lower classes (plus back edges)."""
    rng = np.random.default_rng(seed)
    node_class, children, costs = [], [], []
    for cls in range(n_classes):
        for _ in range(per_class if cls >= 10 else 1):
            node_class.append(cls)
            k = 0 if cls < 10 else int(rng.integers(1, 4))
            kids = rng.integers(max(0, cls - 200), cls, size=k).tolist()
            if cls >= 10 and rng.random() < 0.05:
                kids.append(int(rng.integers(cls, n_classes)))  # a back edge: cycles
            children.append(kids)
            costs.append(float(rng.integers(1, 10)))
    first_node = {}
    for node, cls in enumerate(node_class):
        first_node.setdefault(cls, node)
    return EGraphModel.build(
        node_ids=[f"n{i}" for i in range(len(node_class))], ops=["op"] * len(node_class),
        node_class=node_class, costs=costs,
        children=[[first_node[k] for k in kids] for kids in children],
        class_ids=[f"c{i}" for i in range(n_classes)], roots=[n_classes - 1])


def test_synthetic_graph_is_extracted_validly() -> None:
    model = synthetic(3000, 3, seed=1)
    tree, dag = greedy_tree(model), greedy_dag(model)
    assert verify(model, dag) == dag.cost and verify(model, tree) == tree.cost
    assert dag.cost <= tree.cost * 1.5


@given(small_egraphs())
def test_greedy_dag_is_never_worse_than_greedy_tree(model: EGraphModel) -> None:
    if not all_extractions(model):
        return
    assert greedy_dag(model).cost <= greedy_tree(model).cost


@given(small_egraphs(negative=False))
def test_tree_sweeps_match_the_priority_queue(model: EGraphModel) -> None:
    usable = usable_nodes(model)
    swept = tree_choice(model, usable)  # vectorised sweeps (costs >= 0)
    queued = tree_choice(model, usable, complete=True, max_sweeps=0)
    assert swept[1] == pytest.approx(queued[1])
    for choice in (swept[0], queued[0]):
        if all(choice[r] >= 0 for r in model.roots.tolist()):
            verify(model, choice)


def test_dag_work_budget_falls_back_validly() -> None:
    model = synthetic(600, 3, seed=2)
    usable = usable_nodes(model)
    for budget in (0, 50, 10**9):
        choice = dag_choice(model, usable, max_work=budget)
        verify(model, choice)
    assert greedy_dag(model).cost == greedy_dag(model).cost  # deterministic


def test_dag_greedy_is_deterministic() -> None:
    model = synthetic(2000, 3, seed=3)
    assert greedy_dag(model).choices == greedy_dag(model).choices
