"""``ed.jit`` with the default rulesets makes the fragile formulas the stability rules cover accurate.

For each formula of ``benchmarks/accuracy_suite.py`` marked ``fixed``: on samples from its fragile
range, the jitted result is within 4 ulps of the exact value (mpmath), and naive NumPy is not (so
each case shows a rule at work). The others are pinned as still inaccurate, so that a rule that
starts fixing one is noticed and the suite's ``fixed`` flag updated.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

from accuracy_suite import FORMULAS, by_name, errors, measure

SAMPLES = 24
ULPS_BOUND = 4.0
FIXED = [f for f in FORMULAS if f.fixed]
NOT_FIXED = [f for f in FORMULAS if not f.fixed]


@pytest.mark.parametrize("name", [f.name for f in FIXED])
def test_jit_is_accurate_where_numpy_is_not(name: str) -> None:
    naive, jitted = measure(by_name(name), SAMPLES)
    assert jitted.max_ulps <= ULPS_BOUND, f"{name}: ed.jit is {jitted.max_ulps:.3g} ulps off"
    assert naive.max_ulps > 100 * ULPS_BOUND, f"{name}: naive NumPy is only {naive.max_ulps:.3g} ulps off"


@pytest.mark.parametrize("name", [f.name for f in NOT_FIXED])
def test_formulas_not_yet_fixed_stay_marked(name: str) -> None:
    _, jitted = measure(by_name(name), SAMPLES)
    assert jitted.max_ulps > ULPS_BOUND, f"{name} is now accurate: mark it fixed in accuracy_suite.py"


def test_the_suite_has_enough_formulas_and_most_are_fixed() -> None:
    assert len(FORMULAS) >= 25
    assert len({f.name for f in FORMULAS}) == len(FORMULAS)
    assert len(FIXED) / len(FORMULAS) >= 0.9  # the target of issue 15


def test_errors_count_ulps_and_non_finite_results() -> None:
    exact = np.array([1.0, 2.0])
    assert errors(exact, exact).max_ulps == 0.0
    assert errors(np.nextafter(exact, 3.0), exact).max_ulps == 1.0
    assert errors(np.array([1.0, np.inf]), exact).max_rel == np.inf


def test_unknown_formula_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="sqrt-diff"):
        by_name("nope")
