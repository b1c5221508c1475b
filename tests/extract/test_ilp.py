from __future__ import annotations

import csv

import pytest
from egraph_dsl.extract import EGraphModel, NoFiniteExtractionError, greedy_dag, ilp, load, verify
from extract_helpers import DATA, all_extractions, make, small_egraphs
from hypothesis import example, given


def test_finds_dag_optimum_greedy_misses(shared: EGraphModel) -> None:
    assert greedy_dag(shared).cost == 9.0
    result = ilp(shared, time_limit=5)
    assert result.cost == 8.0 and result.optimal and result.lower_bound == 8.0
    assert result.choices == {"r": "r.0", "a": "a.0", "b": "b.0", "s": "s.0"}


def test_cycle_inside_scc_is_forbidden() -> None:
    # the cheapest nodes form a cycle a -> b -> a; the ILP must break it
    m = make({
        "r": [("f", ["a"], 1.0)],
        "a": [("ga", ["b"], 0.0), ("la", [], 5.0)],
        "b": [("gb", ["a"], 0.0), ("lb", [], 3.0)],
    }, ["r"])
    result = ilp(m, time_limit=5)
    assert result.cost == 4.0 and result.optimal
    assert result.choices == {"r": "r.0", "a": "a.0", "b": "b.1"}


def test_negative_costs_count_each_node_once() -> None:
    # a negative node reachable twice is paid once; an unreachable negative node is not taken
    m = make({
        "r": [("f", ["a", "a"], 1.0), ("g", ["x"], 2.0)],
        "a": [("n", [], -4.0)],
        "x": [("m", [], -1.0)],
        "u": [("free", [], -100.0)],
    }, ["r"])
    result = ilp(m, time_limit=5)
    assert result.cost == -3.0 and result.optimal
    assert "u" not in result.choices


def test_negative_cycle_cannot_be_exploited() -> None:
    m = make({
        "r": [("f", ["a"], 0.0)],
        "a": [("loop", ["b"], -5.0), ("leaf", [], 1.0)],
        "b": [("back", ["a"], -5.0), ("lb", [], 2.0)],
    }, ["r"])
    result = ilp(m, time_limit=5)
    assert result.cost == -3.0 and result.optimal
    assert verify(m, result) == -3.0


def test_repeated_children_and_multiple_roots() -> None:
    m = make({
        "x": [("add", ["s", "s"], 1.0), ("lx", [], 6.0)],
        "y": [("mul", ["s", "x"], 1.0), ("ly", [], 3.0)],
        "s": [("s", [], 4.0)],
    }, ["x", "y"])
    result = ilp(m, time_limit=5)
    assert result.cost == 6.0 and result.optimal


def test_no_finite_extraction() -> None:
    m = make({"r": [("f", ["r"], 1.0)]}, ["r"])
    with pytest.raises(NoFiniteExtractionError, match="'r'"):
        ilp(m)


@given(small_egraphs())
@example(make({"c0": [("a", ["c1"], 0.0)], "c1": [("b", ["c0"], 0.0), ("l", [], 1.0)]}, ["c0"]))
def test_ilp_equals_brute_force(model: EGraphModel) -> None:
    costs = all_extractions(model)
    if not costs:
        with pytest.raises(NoFiniteExtractionError):
            ilp(model, time_limit=5)
        return
    result = ilp(model, time_limit=5)
    assert result.optimal
    assert result.cost == pytest.approx(min(costs.values()))
    assert result.lower_bound is not None and result.lower_bound <= result.cost
    assert verify(model, result) == result.cost


@given(small_egraphs())
@example(make({"c0": [("a", ["c1"], 0.0)], "c1": [("b", ["c0"], 0.0), ("l", [], 1.0)]}, ["c0"]))
def test_lazy_cycle_cuts_equal_brute_force(model: EGraphModel) -> None:
    costs = all_extractions(model)
    if not costs:
        with pytest.raises(NoFiniteExtractionError):
            ilp(model, time_limit=5, cycles="lazy")
        return
    result = ilp(model, time_limit=5, cycles="lazy")
    verify(model, result)
    assert result.optimal and result.cost == pytest.approx(min(costs.values()))


@given(small_egraphs())
def test_cpsat_equals_brute_force(model: EGraphModel) -> None:
    costs = all_extractions(model)
    if not costs:
        return
    result = ilp(model, time_limit=5, backend="cpsat")
    assert result.cost == pytest.approx(min(costs.values()))
    assert result.optimal


def reference() -> dict[str, dict[str, str]]:
    with (DATA / "reference.csv").open() as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


PROVEN = [name for name, row in reference().items() if row["ilp_optimal"] == "1"]
OPEN = [name for name, row in reference().items() if row["ilp_optimal"] != "1"]


@pytest.mark.parametrize("name", PROVEN, ids=lambda n: n.split("__")[0])
def test_sample_files_reach_the_proven_optimum(name: str) -> None:
    model = load(DATA / name)
    best = float(reference()[name]["ref_best"])
    result = ilp(model, time_limit=15)
    assert verify(model, result) == result.cost
    assert result.cost <= best + 1e-9
    assert result.optimal
    assert result.lower_bound is not None and result.lower_bound <= result.cost


@pytest.mark.parametrize("name", OPEN, ids=lambda n: n.split("__")[0])
def test_hard_sample_files_are_not_worse_than_reference(name: str) -> None:
    model = load(DATA / name)
    best = float(reference()[name]["ref_best"])
    result = ilp(model, time_limit=2)
    assert result.cost <= best * (1 + 1e-12)
    assert result.lower_bound is not None and result.lower_bound <= result.cost
    assert not result.optimal or result.lower_bound == pytest.approx(result.cost)


@given(small_egraphs(negative=False))
def test_combinatorial_bound_and_incumbent_pruning_are_exact(model: EGraphModel) -> None:
    from egraph_dsl.extract.prune import dag_lower_bounds, prune, prune_by_incumbent

    costs = all_extractions(model)
    if not costs:
        return
    best = min(costs.values())
    pruned = prune(model)
    lb = dag_lower_bounds(model, pruned)
    assert max(lb[r] for r in model.roots.tolist()) <= best + 1e-9
    worst = max(costs.values())
    for incumbent in (best, worst):
        kept, _ = prune_by_incumbent(model, pruned, incumbent, lb)
        assert set(model.roots.tolist()) <= set(kept.classes)
    result = ilp(model, time_limit=5)
    assert result.cost == pytest.approx(best) and result.optimal


@pytest.mark.parametrize("seed", range(12))
def test_never_gives_up_where_a_plain_ilp_proves_the_optimum(seed: int) -> None:
    # issue 17: early returns, worse than the optimum and unproven, well before the limit;
    # ours must match a plain HiGHS ILP (no pruning, bounds or warm start) and prove it too
    from extract_helpers import plain_ilp, random_cyclic

    model = random_cyclic(seed, 60, back=0.3 + 0.3 * (seed % 2), low=-2 if seed % 3 == 0 else 1,
                          floats=seed % 2 == 0)
    try:
        result = ilp(model, time_limit=10)
    except NoFiniteExtractionError:
        return
    reference, proven = plain_ilp(model, time_limit=10)
    assert reference is not None
    assert result.cost <= reference + 1e-9
    if proven:
        assert result.optimal and result.stop_reason == "optimal"
        assert result.cost == pytest.approx(reference)
