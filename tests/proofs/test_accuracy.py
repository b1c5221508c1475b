"""Error bounds of NumPy's own evaluation, and which outputs non-finite inputs reach."""

from __future__ import annotations

import numpy as np
from egraph_dsl.proofs.accuracy import error_bound, tainted
from egraph_dsl.proofs.semantics import MpMath, to_real

from egraph_dsl import term

EPS = 2.0**-52


def x_(shape: tuple[int, ...] = ()) -> term.Term:
    return term.input_("x", shape, "float64")


def bound(t: term.Term, **args: object) -> float:
    m = MpMath()
    env = {k: to_real(np.asarray(v, dtype=np.float64), m) for k, v in args.items()}
    return float(np.asarray(error_bound(t, env, m, "float64")).ravel()[0])


def test_cancellation_shows_in_the_bound() -> None:
    x = x_()
    one = term.const(1.0)
    cancel = term.make("sub", [term.make("add", [x, one]), one])  # (x + 1) - 1: error ~ eps, not eps * x
    assert bound(cancel, x=1e-10) > 1e-16 > 1e-10 * EPS * 10
    assert bound(term.make("mul", [x, x]), x=3.0) <= 9 * 4 * EPS * 1.01


def test_exp_amplifies_and_log_near_one_does_not() -> None:
    x = x_()
    e = term.make("exp", [term.make("mul", [x, term.const(3.0)])])
    assert bound(e, x=100.0) > np.exp(300) * 300 * EPS  # the rounding of 3x, times exp'
    assert bound(term.make("log", [x]), x=1.0 + 2**-40) < 4 * EPS


def test_sums_and_products_of_terms_are_judged_against_what_cancels() -> None:
    a = term.input_("x", (3,), "float64")
    s = term.make("sum", [a], axis=None, keepdims=False)
    assert bound(s, x=[1e10, -1e10, 1.0]) >= 2e10 * EPS


def test_taint_follows_the_data() -> None:
    a = term.input_("x", (3,), "float64")
    elementwise = term.make("exp", [a])
    np.testing.assert_array_equal(tainted(elementwise, {"x": np.array([1.0, np.nan, np.inf])}), [False, True, True])
    np.testing.assert_array_equal(tainted(elementwise, {"x": np.array([1.0, np.nan, np.inf])}, nan_only=True),
                                  [False, True, False])
    total = term.make("sum", [a], axis=None, keepdims=False)
    assert bool(tainted(total, {"x": np.array([1.0, 2.0, np.inf])}))
    assert not bool(tainted(total, {"x": np.array([1.0, 2.0, 3.0])}))
