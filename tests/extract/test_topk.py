from __future__ import annotations

import pytest
from egraph_dsl.extract import EGraphModel, NoFiniteExtractionError, top_k, verify
from extract_helpers import all_extractions, make, small_egraphs
from hypothesis import given, settings


def test_top_k_of_shared_example(shared: EGraphModel) -> None:
    results = top_k(shared, 10)
    assert [r.cost for r in results] == [8.0, 9.0, 11.0, 11.0]
    assert len({tuple(sorted(r.choices.items())) for r in results}) == 4
    for r in results:
        assert verify(shared, r) == r.cost


def test_top_k_for_a_chosen_root(shared: EGraphModel) -> None:
    assert [r.cost for r in top_k(shared, 5, root="a")] == [4.0, 6.0]


@settings(max_examples=30)
@given(small_egraphs())
def test_top_k_equals_brute_force(model: EGraphModel) -> None:
    costs = sorted(all_extractions(model).values())
    if not costs:
        with pytest.raises(NoFiniteExtractionError):
            top_k(model, 3)
        return
    got = [r.cost for r in top_k(model, 4)]
    assert got == pytest.approx(costs[:4])


def test_k_zero_or_one() -> None:
    m = make({"r": [("a", [], 1.0), ("b", [], 2.0)]}, ["r"])
    assert [r.choices["r"] for r in top_k(m, 1)] == ["r.0"]
    assert top_k(m, 0) == []
