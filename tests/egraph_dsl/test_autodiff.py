"""Gradients: every VJP against finite differences and mpmath, the where trap, scatters, errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import egraph_dsl as ed
from egraph_dsl import ops
from egraph_dsl.autodiff import value_and_grad_program
from egraph_dsl.errors import GradientError
from egraph_dsl.program import evaluate
from egraph_dsl.term import postorder
from egraph_dsl.vjp import NONDIFFERENTIABLE, NOT_YET, VJPS

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: reach the helpers
from sample_programs import central_difference

RNG = np.random.default_rng(7)
IDX = np.array([0, 2, 2, 1, 0, 3, 3, 3])  # repeated indices: the scatter must accumulate
ROWS, COLS = np.array([0, 1, 1, 2]), np.array([2, 0, 0, 1])


def _writes(x: Any, v: Any) -> Any:
    """Writes into an array the function created: setitem (the last write wins), add.at, bincount."""
    out = np.zeros(6, like=x)
    out[[0, 2, 2, 5]] = v[:4]
    np.add.at(out, IDX[:5], x[:5])
    return np.sum(out ** 2) + np.sum(np.bincount(IDX, weights=x, minlength=5) ** 3)


# one program per differentiable op (some reach several); positive inputs where the domain needs it
CASES: dict[str, tuple[Callable[..., Any], tuple[tuple[int, ...], ...], str]] = {
    "add-sub-neg": (lambda x, y: np.sum(x + y - (-x) * 3.0 - 2.0), ((3, 4), (4,)), "any"),
    "mul-div": (lambda x, y: np.sum(x * y / (y * y + 1.0) + 1.0 / (x * x + 2.0)), ((3, 4), (3, 4)), "any"),
    "pow": (lambda x, y: np.sum(x ** y + x ** 3 + x ** 0.5), ((5,), (5,)), "positive"),
    "maximum-minimum": (lambda x, y: np.sum(np.maximum(x, y) * 2.0 + np.minimum(x, 0.3)), ((6,), (6,)), "any"),
    "logaddexp": (lambda x, y: np.sum(np.logaddexp(x, y)), ((6,), (6,)), "any"),
    "abs-sqrt-square": (lambda x: np.sum(np.sqrt(np.abs(x)) + np.square(x)), ((6,),), "nonzero"),
    "exp-log": (lambda x: np.sum(np.exp(x) * np.log(x)), ((6,),), "positive"),
    "log1p-expm1": (lambda x: np.sum(np.log1p(x) + np.expm1(x)), ((6,),), "positive"),
    "tanh-sigmoid-softplus": (lambda x: np.sum(np.tanh(x) + ed.sigmoid(x) * ed.softplus(x)), ((6,),), "any"),
    "where": (lambda x, y: np.sum(np.where(x > y, x * y, np.exp(y))), ((6,), (6,)), "any"),
    "reductions": (lambda x: np.sum(x, axis=1) @ np.mean(x, axis=1, keepdims=True)[:, 0] + np.max(x) - np.min(x, axis=1)[1]
                   + ed.logsumexp(x, axis=0)[2], ((3, 4),), "any"),
    "matmul": (lambda a, b, v: np.sum((a @ b) @ v) + v @ v + np.sum(b.T @ a.T), ((2, 3), (3, 4), (4,)), "any"),
    "matmul-vector-left": (lambda v, b: np.sum(v @ b), ((3,), (3, 4)), "any"),
    "batched-matmul": (lambda a, b: np.sum(a @ b), ((2, 3, 4), (4, 2)), "any"),
    "trace-diagonal": (lambda a, b: np.trace(a) + np.sum(np.diagonal(b) * 2.0), ((3, 3), (2, 4)), "any"),
    "layout": (lambda x: np.sum(x.T.reshape(-1)[::2] * np.arange(6.0)) + np.sum(np.broadcast_to(x, (2, 3, 4)) ** 2),
               ((3, 4),), "any"),
    "slices": (lambda x: np.sum(x[1:, ::-2] ** 3) + np.sum(x[-1] * x[0]), ((3, 4),), "any"),
    "gathers": (lambda mu, x: np.sum((mu[IDX] - 1.0) ** 2) + np.sum(x[ROWS, COLS] * 3.0) + np.sum(x[:, IDX[:3]]),
                ((4,), (3, 4)), "any"),
    "writes": (_writes, ((8,), (4,)), "any"),
    "sort-median": (lambda x: np.sum(np.sort(x, axis=1) * np.arange(4.0)) + np.median(x) ** 2, ((3, 4),), "any"),
    "concat-stack": (lambda x, y: np.sum(np.concatenate([x, y * 2.0], axis=1) ** 2) + np.sum(np.stack([x, y]) * 0.5),
                     ((2, 3), (2, 3)), "any"),
    "astype": (lambda x: np.sum(np.arange(4).astype(np.float64) * x), ((4,),), "any"),
    "trigonometric": (lambda x: np.sum(np.sin(x) * np.cos(x) + np.tan(x) + np.arctan(x) + np.arctan2(x, 1.5 - x)),
                      ((6,),), "unit"),
    "inverse-trigonometric": (lambda x: np.sum(np.arcsin(x) + np.arccos(x) * 2.0 + np.arctanh(x)), ((6,),), "unit"),
    "hyperbolic": (lambda x: np.sum(np.sinh(x) + np.cosh(x) * 0.5 + np.arcsinh(x) + np.arccosh(np.abs(x) + 1.5)), ((6,),), "any"),
    "exponents-logarithms": (lambda x: np.sum(np.exp2(x) + np.log2(x) + np.log10(x) + np.cbrt(x) + np.reciprocal(x)),
                             ((6,),), "positive"),
    "hypot-remainder": (lambda x, y: np.sum(np.hypot(x, y) + np.remainder(x, y) + np.fmod(x, y) + np.copysign(x, y)),
                        ((6,), (6,)), "nonzero"),
    "products-scans-moments": (lambda x: np.sum(np.prod(x, axis=1)) + np.sum(np.cumsum(x, axis=0) * x)
                               + np.sum(np.var(x, axis=0)) + np.std(x), ((3, 4),), "any"),
    # np.linalg (egraph_dsl/linalg.py): well conditioned by a diagonal shift
    "linalg-solve-inv": (lambda a, b: np.sum(np.linalg.solve(a + 5.0 * np.eye(3), b) * b)
                         + np.sum(np.linalg.inv(a + 5.0 * np.eye(3)) ** 2), ((3, 3), (3,)), "any"),
    "linalg-slogdet-det": (lambda a: (lambda sl: sl.sign * sl.logabsdet)(np.linalg.slogdet(a + 5.0 * np.eye(3)))
                           + np.linalg.det(a + 5.0 * np.eye(3)), ((3, 3),), "any"),
    "linalg-cholesky": (lambda a: np.sum(np.linalg.cholesky(a @ a.T + 3.0 * np.eye(3)) * np.arange(9.0).reshape(3, 3)),
                        ((3, 3),), "any"),
    "piecewise-constant": (lambda x: np.sum(x * np.floor(x) + np.ceil(x) + np.trunc(x) + np.rint(x) * np.sign(x)
                                            + x // 0.7), ((6,),), "any"),
}
try:
    import scipy.special as sc

    CASES["scipy-special"] = (lambda x, y: np.sum(sc.erf(x) + sc.erfc(x) * 2.0 + sc.ndtr(x) + sc.log_ndtr(x)
                                                  + sc.log_expit(x) + sc.logit(sc.expit(x)) * 0.5
                                                  + sc.xlogy(x, y) + sc.xlog1py(x, y)), ((6,), (6,)), "positive")
except ImportError:  # scipy is optional
    pass


def _draw(shapes: tuple[tuple[int, ...], ...], domain: str, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes:
        x = rng.standard_normal(s)
        if domain == "positive":
            x = np.abs(x) + 0.2
        elif domain == "unit":
            x = np.tanh(x) * 0.9
        elif domain == "nonzero":
            x = np.where(np.abs(x) < 0.2, 0.5, x)
        out.append(x)
    return out


def test_every_op_has_a_vjp_or_is_declared_nondifferentiable() -> None:
    missing = sorted(set(ops.OPS) - set(VJPS) - NONDIFFERENTIABLE)
    assert not missing, f"ops with neither a VJP nor a nondifferentiable declaration: {missing}"
    assert not set(VJPS) & NONDIFFERENTIABLE


def test_the_cases_reach_every_vjp() -> None:
    reached: set[str] = set()
    for fn, shapes, domain in CASES.values():
        args = _draw(shapes, domain, 0)
        program = ed.trace(fn, *args)
        for i in range(len(args)):
            joint = value_and_grad_program(program, i)
            reached |= {t.op for t in postorder(program.outputs)}
            reached |= {t.op for t in postorder(joint.outputs[1:])}
    untested = set(VJPS) - reached - set(NOT_YET)
    assert not untested, f"no test case differentiates {sorted(untested)}"


def test_an_op_without_a_derivative_yet_says_so() -> None:
    sc = pytest.importorskip("scipy.special")
    with pytest.raises(GradientError, match="gradient of gammaln is not available: it needs digamma"):
        ed.grad(lambda x: np.sum(sc.gammaln(x)))(np.ones(3))


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_gradient_matches_central_differences(name: str, seed: int) -> None:
    fn, shapes, domain = CASES[name]
    args = _draw(shapes, domain, seed)
    program = ed.trace(fn, *args)
    for i in range(len(args)):
        value, grad = evaluate(value_and_grad_program(program, i), args)
        assert value == pytest.approx(float(fn(*args)), rel=1e-12, abs=1e-12)
        fine, coarse = central_difference(fn, args, i, 1e-6), central_difference(fn, args, i, 1e-5)
        smooth = np.isclose(fine, coarse, rtol=1e-4, atol=1e-6)  # a kink (max tie, where edge) is skipped
        assert smooth.mean() >= 0.5  # at most half the points on a kink (remainder and fmod jump: 3 of 6 at seed 17415)
        np.testing.assert_allclose(grad[smooth], fine[smooth], rtol=2e-5, atol=2e-6, err_msg=f"{name}, d/d arg {i}")
        assert grad.shape == args[i].shape and grad.dtype == args[i].dtype


UNARY = {
    "exp": (np.exp, (-30.0, 30.0)), "log": (np.log, (1e-3, 1e6)), "log1p": (np.log1p, (-0.9, 1e6)),
    "expm1": (np.expm1, (-30.0, 30.0)), "tanh": (np.tanh, (-20.0, 20.0)), "sqrt": (np.sqrt, (1e-3, 1e6)),
    "sigmoid": (ed.sigmoid, (-40.0, 40.0)), "softplus": (ed.softplus, (-40.0, 40.0)), "square": (np.square, (-1e3, 1e3)),
    "abs": (np.abs, (0.1, 1e3)), "neg": (np.negative, (-1e3, 1e3)),
    "sin": (np.sin, (-10.0, 10.0)), "cos": (np.cos, (-10.0, 10.0)), "tan": (np.tan, (-1.5, 1.5)),
    "arcsin": (np.arcsin, (-0.999, 0.999)), "arccos": (np.arccos, (-0.999, 0.999)), "arctan": (np.arctan, (-1e3, 1e3)),
    "sinh": (np.sinh, (-20.0, 20.0)), "cosh": (np.cosh, (-20.0, 20.0)), "arcsinh": (np.arcsinh, (-1e6, 1e6)),
    "arccosh": (np.arccosh, (1.001, 1e6)), "arctanh": (np.arctanh, (-0.999, 0.999)), "exp2": (np.exp2, (-30.0, 30.0)),
    "log2": (np.log2, (1e-3, 1e6)), "log10": (np.log10, (1e-3, 1e6)), "cbrt": (np.cbrt, (0.01, 1e6)),
    "reciprocal": (np.reciprocal, (0.01, 1e6)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_elementwise_derivatives_are_accurate_against_mpmath(name: str, data: st.DataObject) -> None:
    """d/dx of each unary op, in float64, within a few ulps of mpmath's derivative of its exact semantics."""
    import mpmath

    fn, (lo, hi) = UNARY[name]
    xs = data.draw(hnp.arrays(np.float64, (5,), elements=st.floats(lo, hi)))
    (_value, grad) = evaluate(value_and_grad_program(ed.trace(lambda x: np.sum(fn(x)), xs), 0), [xs])
    real = ops.spec(name).real

    class M:
        abs = staticmethod(abs)
        div = staticmethod(lambda a, b: a / b)

        def __getattr__(self, attr: str) -> Any:
            return getattr(mpmath, attr)

        @staticmethod
        def const(v: Any) -> Any:
            return mpmath.mpf(v)

    with mpmath.workdps(700):  # wide enough for a tiny x next to the 1e-30 step
        for x, g in zip(xs, grad, strict=True):
            point = mpmath.mpf(float(x))
            step = max(abs(point), mpmath.mpf(1)) * mpmath.mpf(10) ** -30
            exact = mpmath.diff(lambda t: real(M(), np.array([t], dtype=object))[0], point, h=step)
            assert abs(g - exact) <= 8 * np.finfo(np.float64).eps * abs(exact) + 1e-300, (name, x, g, exact)


def test_where_does_not_leak_the_branch_it_did_not_take() -> None:
    """np.where(x > 0, np.log(x), 0): naive reverse mode gives nan at x = 0 (0 * inf); we give 0."""
    vg = ed.value_and_grad(lambda x: np.sum(np.where(x > 0, np.log(x), 0.0)))
    x = np.array([0.0, -1.0, 2.0, 4.0, -0.0])
    value, grad = vg(x)
    assert value == pytest.approx(np.log(8.0))
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.5, 0.25, 0.0])
    # nested: the untaken branch of an inner where inside the taken branch of an outer one
    vg2 = ed.value_and_grad(lambda x: np.sum(np.where(x > -5, np.where(x > 0, np.sqrt(x), 0.0) * 2.0, np.log(-x))))
    _, grad2 = vg2(np.array([0.0, 1.0, -1.0, -6.0]))
    np.testing.assert_allclose(grad2, [0.0, 1.0, 0.0, -1 / 6.0])
    assert np.isfinite(grad2).all()


def test_gather_gradients_accumulate_repeated_indices() -> None:
    idx = np.array([1, 1, 1, 0, -1])
    _, grad = ed.value_and_grad(lambda mu: np.sum(mu[idx] * np.arange(1.0, 6.0)))(np.zeros(3))
    np.testing.assert_array_equal(grad, [4.0, 1.0 + 2.0 + 3.0, 5.0])
    rows = np.array([0, 0, 2])
    _, g2 = ed.value_and_grad(lambda P: np.sum(P[rows] ** 2))(np.ones((3, 2)))
    np.testing.assert_array_equal(g2, [[4.0, 4.0], [0.0, 0.0], [2.0, 2.0]])


def test_gradient_of_an_index_argument_gathers_by_the_traced_indices() -> None:
    vg = ed.value_and_grad(lambda mu, i: np.sum(mu[i] ** 2), argnums=0)
    value, grad = vg(np.array([1.0, 2.0, 3.0]), np.array([2, 2, 0]))
    assert value == 19.0
    np.testing.assert_array_equal(grad, [2.0, 0.0, 12.0])


def test_stable_forms_give_stable_gradients() -> None:
    """d/dz log(1 - sigmoid(z)) = -sigmoid(z): the naive chain rule gives nan past z ~ 37 (0 / 0)."""
    vg = ed.value_and_grad(lambda z: np.sum(np.log(1 - 1 / (1 + np.exp(-z)))))
    z = np.array([-800.0, -30.0, 0.0, 30.0, 40.0, 800.0])
    value, grad = vg(z)
    assert np.isfinite(value)
    with np.errstate(over="ignore"):
        expected = -1 / (1 + np.exp(-z))
    np.testing.assert_allclose(grad, expected, rtol=1e-15)
    vg2 = ed.value_and_grad(lambda x: ed.logsumexp(x))  # logsumexp' = softmax, no overflow
    _, g2 = vg2(np.array([1000.0, 1000.0, -1000.0]))
    np.testing.assert_allclose(g2, [0.5, 0.5, 0.0])


def test_argnums_tuple_grad_only_and_jit_options() -> None:
    def f(w: Any, b: Any, X: Any) -> Any:
        return np.sum(np.tanh(X @ w + b))

    X, w, b = RNG.standard_normal((5, 3)), RNG.standard_normal(3), np.array(0.3)
    value, (gw, gb) = ed.value_and_grad(f, argnums=(0, 1))(w, b, X)
    assert value == pytest.approx(float(f(w, b, X)))
    t = 1 - np.tanh(X @ w + b) ** 2
    np.testing.assert_allclose(gw, X.T @ t)
    np.testing.assert_allclose(gb, np.sum(t))
    assert gb.shape == () and isinstance(gb, np.ndarray)
    gw2 = ed.grad(f)(w, b, X)
    np.testing.assert_allclose(gw2, gw)
    plain = ed.jit(ed.value_and_grad(f, argnums=(0, 1)), rulesets=[])
    v3, (gw3, gb3) = plain(w, b, X)
    assert v3 == pytest.approx(value)
    np.testing.assert_allclose(gw3, gw)
    np.testing.assert_allclose(gb3, gb)
    assert "saturation" in plain.explain() and "shared with the value" in plain.explain()


def test_gradient_through_keepdims_broadcasting_and_empty_arrays() -> None:
    def f(x: Any, y: Any) -> Any:
        return np.sum((x - np.mean(x, axis=1, keepdims=True)) ** 2 * y)

    x, y = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    _, (gx, gy) = ed.value_and_grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, central_difference(f, [x, y], 0, 1e-6), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(gy, central_difference(f, [x, y], 1, 1e-6), rtol=1e-5, atol=1e-8)
    value, g = ed.value_and_grad(lambda x: np.sum(np.exp(x)))(np.zeros((0, 3)))
    assert value == 0.0 and g.shape == (0, 3)


def test_an_argument_the_value_does_not_depend_on_has_zero_gradient() -> None:
    _, (gx, gy) = ed.value_and_grad(lambda x, y: np.sum(x * 2.0), argnums=(0, 1))(np.ones(2), np.ones((2, 2)))
    np.testing.assert_array_equal(gx, [2.0, 2.0])
    np.testing.assert_array_equal(gy, np.zeros((2, 2)))
    assert gy.flags.writeable


def test_bad_gradients_get_clear_errors() -> None:
    x = np.ones(3)
    with pytest.raises(GradientError, match=r"scalar output.*np\.sum"):
        ed.grad(lambda x: x * 2.0)(x)
    with pytest.raises(GradientError, match="one scalar output"):
        ed.grad(lambda x: (np.sum(x), np.sum(x)))(x)
    with pytest.raises(GradientError, match=r"argument 1 \('i'\).*int64.*float"):
        ed.grad(lambda x, i: np.sum(x[i]), argnums=1)(x, np.array([0, 1]))
    with pytest.raises(GradientError, match="bool"):
        ed.grad(lambda x: x[0] > 0)(x)
    with pytest.raises(GradientError, match="int64 value"):
        ed.grad(lambda x: np.sum(x > 0))(x)
    with pytest.raises(GradientError, match="out of range"):
        ed.grad(lambda x: np.sum(x), argnums=2)(x)
    with pytest.raises(GradientError, match="twice"):
        ed.grad(lambda x, y: np.sum(x * y), argnums=(0, -2))(x, x)
    with pytest.raises(GradientError, match="argnums must be"):
        ed.grad(lambda x: np.sum(x), argnums="x")(x)
    with pytest.raises(TypeError, match="plain NumPy function"):
        ed.grad(ed.jit(lambda x: np.sum(x)))


def test_a_float32_round_trip_passes_the_gradient_through_in_the_arguments_dtype() -> None:
    x = np.array([0.1, -2.5, 3.0], dtype=np.float32)
    value, grad = ed.value_and_grad(lambda x: np.sum(x.astype(np.float64) ** 2))(x)
    assert value == pytest.approx(float(np.sum(x.astype(np.float64) ** 2)))
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, (2 * x.astype(np.float64)).astype(np.float32))


def test_grad_inside_a_traced_function_and_grad_of_grad() -> None:
    def f(x: Any) -> Any:
        return np.sum(np.sin(x) * x)

    x = np.array([0.3, 1.2, -2.0])
    g = ed.grad(f)
    np.testing.assert_allclose(g(x), np.cos(x) * x + np.sin(x), rtol=1e-15)
    np.testing.assert_allclose(ed.jit(lambda x: g(x) * 2.0 + 1.0)(x), 2 * (np.cos(x) * x + np.sin(x)) + 1, rtol=1e-15)
    hessian_diagonal = ed.grad(lambda x: np.sum(g(x)))  # d/dx_i of sum_j d f / d x_j = f''(x_i) here
    np.testing.assert_allclose(hessian_diagonal(x), -np.sin(x) * x + 2 * np.cos(x), rtol=1e-14)
    mixed = ed.jit(lambda x, s: ed.grad(lambda x, s: np.sum(x * s))(x, s))
    np.testing.assert_array_equal(mixed(x, 2.5), np.full(3, 2.5))
