"""The compiled greedy passes (extract._native) must give exactly the Python answers.

Every compiled pass is compared with the pre-optimisation reference (greedy_reference.py) and
with the same call with the kernel switched off (``EGRAPH_DSL_EXTRACT_NATIVE=0``).
"""

from __future__ import annotations

import numpy as np
import pytest
from egraph_dsl.extract import EGraphModel, InvalidExtractionError, _native, greedy_dag, greedy_tree, load
from egraph_dsl.extract.graph import chosen_order, usable_nodes
from egraph_dsl.extract.greedy import (
    _dag_choice_native,
    dag_choice,
    dag_choice_python,
    improve,
    tree_choice,
)
from egraph_dsl.extract.verify import _verify_choice_python, verify_choice
from extract_helpers import DATA, random_cyclic, small_egraphs
from greedy_reference import reference_dag_choice, reference_improve, reference_tree_sweeps
from hypothesis import given
from test_greedy_fast import layered

pytestmark = pytest.mark.skipif(_native.kernel() is None,
                                reason="no C compiler: the compiled greedy passes are not built")

SAMPLES = sorted(DATA.glob("*.json"))


def integer_models() -> list[EGraphModel]:
    models = [random_cyclic(seed, 60 + 90 * seed, back=0.1 + 0.05 * (seed % 4), floats=False,
                            low=seed % 2) for seed in range(8)]
    models += [layered(600, 3, seed) for seed in range(4)]
    return models


@pytest.mark.parametrize("index", range(12))
@pytest.mark.parametrize("max_work", [None, -1, 0, 300, 5000])
def test_compiled_dag_choice_matches_the_reference(index: int, max_work: int | None) -> None:
    model = integer_models()[index]
    usable = usable_nodes(model)
    native = _dag_choice_native(model, usable, max_work)
    assert native is not None  # integer costs: the kernel applies
    assert native == reference_dag_choice(model, usable, max_work)
    assert native == dag_choice_python(model, usable, max_work)


@given(small_egraphs())
def test_compiled_dag_choice_matches_on_small_graphs(model: EGraphModel) -> None:
    usable = usable_nodes(model)
    native = _dag_choice_native(model, usable)
    if native is not None:
        assert native == reference_dag_choice(model, usable)


def test_negative_integer_costs_match() -> None:
    model = random_cyclic(3, 400, floats=False)
    rng = np.random.default_rng(1)
    model = model.with_costs(model.costs - rng.integers(0, 4, size=model.num_nodes))
    usable = usable_nodes(model)
    native = _dag_choice_native(model, usable)
    assert native is not None
    assert native == reference_dag_choice(model, usable)


def test_the_kernel_declines_what_it_cannot_reproduce_exactly() -> None:
    floats = random_cyclic(2, 200, floats=True)
    assert _dag_choice_native(floats, usable_nodes(floats)) is None
    huge = random_cyclic(2, 200, floats=False).with_costs(lambda i: 2.0**49)
    assert _dag_choice_native(huge, usable_nodes(huge)) is None
    for model in (floats, huge):  # dag_choice then runs the Python loop
        usable = usable_nodes(model)
        assert dag_choice(model, usable) == reference_dag_choice(model, usable)


@pytest.mark.parametrize("seed", range(10))
def test_compiled_tree_sweeps_and_tree_choice_match(seed: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from egraph_dsl.extract.greedy import _tree_choice_sweeps

    model = layered(300, 3, seed) if seed % 2 else random_cyclic(seed, 300, floats=seed % 4 == 0)
    usable = usable_nodes(model)
    fast = {s: _tree_choice_sweeps(model, usable, s) for s in (1, 2, 5, 64, 10_000)}
    trees = {(c, s): tree_choice(model, usable, complete=c, max_sweeps=s)
             for c in (False, True) for s in (0, 1, 3, 64)}
    monkeypatch.setenv(_native.DISABLE_ENV, "0")
    assert _native.kernel() is None
    for sweeps, result in fast.items():
        assert result == reference_tree_sweeps(model, usable, sweeps)
        assert result == _tree_choice_sweeps(model, usable, sweeps)
    for (complete, sweeps), result in trees.items():
        assert result == tree_choice(model, usable, complete=complete, max_sweeps=sweeps)


@pytest.mark.parametrize("seed", range(8))
def test_vectorised_improve_matches_the_loop(seed: int) -> None:
    model = random_cyclic(seed, 150 + 50 * seed, back=0.15, floats=seed % 2 == 0)
    usable = usable_nodes(model)
    for choice in (tree_choice(model, usable)[0], dag_choice(model, usable)):
        assert improve(model, choice, usable) == reference_improve(model, choice, usable)
        assert improve(model, choice, np.asarray(usable)) == reference_improve(model, choice, usable)


def test_compiled_search_reports_the_same_errors() -> None:
    model = random_cyclic(4, 120, back=0.3)
    usable = usable_nodes(model)
    good = dag_choice(model, usable)
    assert verify_choice(model, good) == _verify_choice_python(model, good)
    assert chosen_order(model, good) == _verify_choice_python(model, good)[1]
    rng = np.random.default_rng(0)
    broken = 0
    for _ in range(200):  # random choices: cycles, unchosen children, wrong classes
        choice = list(good)
        for cls in rng.integers(0, model.num_classes, size=8).tolist():
            choice[cls] = int(rng.integers(-1, model.num_nodes))
        try:
            expected: object = _verify_choice_python(model, choice)
        except InvalidExtractionError as exc:
            expected = str(exc)
            broken += 1
            with pytest.raises(InvalidExtractionError) as got:
                verify_choice(model, choice)
            assert str(got.value) == expected
            continue
        assert verify_choice(model, choice) == expected
        assert chosen_order(model, choice) == expected[1]  # type: ignore[index]
    assert broken > 10


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name.split("__")[0] for p in SAMPLES])
def test_greedy_results_do_not_depend_on_the_kernel(path: object,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    model = load(path)  # type: ignore[arg-type]
    fast_dag, fast_tree = greedy_dag(model), greedy_tree(model)
    monkeypatch.setenv(_native.DISABLE_ENV, "0")
    slow_model = load(path)  # type: ignore[arg-type]
    slow_dag, slow_tree = greedy_dag(slow_model), greedy_tree(slow_model)
    assert dict(fast_dag.choices) == dict(slow_dag.choices) and fast_dag.cost == slow_dag.cost
    assert dict(fast_dag.stats) == dict(slow_dag.stats)
    assert dict(fast_tree.choices) == dict(slow_tree.choices)
