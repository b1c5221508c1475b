"""np.linalg under tracing (egraph_dsl/linalg.py): solve, inv, det, slogdet and norm agree with NumPy bit
for bit (the same LAPACK call), cast like NumPy, refuse bad shapes clearly, and have correct gradients."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from egraph_dsl.proofs.semantics import MpMath
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import egraph_dsl as ed
from egraph_dsl import ops
from egraph_dsl.autodiff import value_and_grad_program
from egraph_dsl.errors import ShapeError, UnsupportedOperationError
from egraph_dsl.program import evaluate

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: reach the helpers
from sample_programs import central_difference

RNG = np.random.default_rng(11)


def well_conditioned(n: int, batch: tuple[int, ...] = (), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((*batch, n, n)) + n * np.eye(n)


def traced(fn: Callable[..., Any], *args: Any) -> Any:
    out = evaluate(ed.trace(fn, *args), list(args))
    return out[0] if isinstance(out, (tuple, list)) and len(out) == 1 else out


def assert_same(got: Any, want: Any) -> None:
    np.testing.assert_array_equal(got, want, strict=False)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    assert np.shape(got) == np.shape(want)


A = well_conditioned(4)
B = RNG.standard_normal((4, 3))
V = RNG.standard_normal(4)
CASES: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "solve-vector": (lambda a, b: np.linalg.solve(a, b), (A, V)),
    "solve-matrix": (lambda a, b: np.linalg.solve(a, b), (A, B)),
    "solve-batched": (lambda a, b: np.linalg.solve(a, b), (well_conditioned(3, (2,), 1), RNG.standard_normal((2, 3, 2)))),
    "solve-batched-vector": (lambda a, b: np.linalg.solve(a, b), (well_conditioned(3, (2,), 2), RNG.standard_normal(3))),
    "solve-broadcast-batch": (lambda a, b: np.linalg.solve(a, b), (well_conditioned(3, (2, 1), 3),
                                                                   RNG.standard_normal((4, 3, 1)))),
    "inv": (lambda a: np.linalg.inv(a), (A,)),
    "inv-batched": (lambda a: np.linalg.inv(a), (well_conditioned(3, (2, 2), 4),)),
    "det": (lambda a: np.linalg.det(a), (A,)),
    "det-batched": (lambda a: np.linalg.det(a), (well_conditioned(3, (5,), 5),)),
    "slogdet": (lambda a: tuple(np.linalg.slogdet(a)), (-A,)),
    "slogdet-singular": (lambda a: tuple(np.linalg.slogdet(a)), (np.ones((3, 3)),)),
    "slogdet-batched": (lambda a: tuple(np.linalg.slogdet(a)), (well_conditioned(2, (3,), 6) * [[[1.0]], [[-1.0]], [[2.0]]],)),
    "cholesky": (lambda a: np.linalg.cholesky(a), (A @ A.T,)),
    "cholesky-batched": (lambda a: np.linalg.cholesky(a), (np.eye(3) * 3.0 + np.ones((2, 3, 3)) * [[[1.0]], [[2.0]]],)),
    "cholesky-float32": (lambda a: np.linalg.cholesky(a), ((A @ A.T).astype(np.float32),)),
    "cholesky-int": (lambda a: np.linalg.cholesky(a), (np.array([[4, 2], [2, 3]]),)),
    "cholesky-reads-the-lower-triangle": (lambda a: np.linalg.cholesky(a), (np.tril(A @ A.T),)),
    "norm-vector": (lambda x: np.linalg.norm(x), (V,)),
    "norm-vector-ord2": (lambda x: np.linalg.norm(x, 2), (V,)),
    "norm-frobenius": (lambda x: np.linalg.norm(x, "fro"), (B,)),
    "norm-3d": (lambda x: np.linalg.norm(x), (RNG.standard_normal((2, 3, 4)),)),
    "norm-keepdims": (lambda x: np.linalg.norm(x, keepdims=True), (B,)),
    "norm-axis": (lambda x: np.linalg.norm(x, axis=1), (B,)),
    "norm-axis-keepdims": (lambda x: np.linalg.norm(x, axis=0, keepdims=True), (B,)),
    "norm-axes-fro": (lambda x: np.linalg.norm(x, "fro", axis=(1, 2)), (RNG.standard_normal((2, 3, 4)),)),
    "norm-int": (lambda x: np.linalg.norm(x), (np.arange(7),)),
    # dtypes as np.linalg casts them: integers and bools to float64, float32 kept only when all are
    "inv-int": (lambda a: np.linalg.inv(a), (np.array([[2, 1], [1, 3]]),)),
    "det-bool": (lambda a: np.linalg.det(a), (np.array([[True, False], [True, True]]),)),
    "inv-float32": (lambda a: np.linalg.inv(a), (A.astype(np.float32),)),
    "solve-float32": (lambda a, b: np.linalg.solve(a, b), (A.astype(np.float32), V.astype(np.float32))),
    "solve-mixed": (lambda a, b: np.linalg.solve(a, b), (A.astype(np.float32), V)),
    "solve-float32-int": (lambda a, b: np.linalg.solve(a, b), (A.astype(np.float32), np.arange(4))),
    "slogdet-float32": (lambda a: tuple(np.linalg.slogdet(a)), (A.astype(np.float32),)),
    "closed-over": (lambda b: np.linalg.solve(A, b) + np.linalg.det(A), (V,)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_traced_equals_numpy_bit_for_bit(name: str) -> None:
    fn, args = CASES[name]
    want = fn(*args)
    got = traced(fn, *args)
    for g, w in zip(got if isinstance(want, tuple) else (got,), want if isinstance(want, tuple) else (want,), strict=True):
        assert_same(g, w)


@pytest.mark.parametrize("name", ["solve-vector", "solve-matrix", "solve-batched", "inv", "inv-float32", "det",
                                  "slogdet", "norm-vector", "norm-axis", "solve-mixed"])
@pytest.mark.parametrize("backend", ["numpy", "native"])
def test_jit_equals_numpy_bit_for_bit(name: str, backend: str) -> None:
    fn, args = CASES[name]
    want = fn(*args)
    got = ed.jit(fn, backend=backend)(*args)
    for g, w in zip(got if isinstance(want, tuple) else (got,), want if isinstance(want, tuple) else (want,), strict=True):
        assert_same(g, w)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 6), k=st.integers(0, 3), seed=st.integers(0, 2**32 - 1), f32=st.booleans())
def test_solve_inv_slogdet_match_numpy_on_random_matrices(n: int, k: int, seed: int, f32: bool) -> None:
    rng = np.random.default_rng(seed)
    dt = np.float32 if f32 else np.float64
    a = (rng.standard_normal((n, n)) + 2 * n * np.eye(n)).astype(dt)
    b = rng.standard_normal((n, k) if k else (n,)).astype(dt)

    def fn(a: Any, b: Any) -> Any:
        s, logabs = np.linalg.slogdet(a)
        return np.linalg.solve(a, b), np.linalg.inv(a), np.linalg.det(a), s, logabs, np.linalg.norm(b)

    for g, w in zip(traced(fn, a, b), fn(a, b), strict=True):
        assert_same(g, w)


def test_a_singular_matrix_raises_like_numpy() -> None:
    singular = np.ones((3, 3))
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.solve(singular, np.ones(3))
    with pytest.raises(np.linalg.LinAlgError):
        traced(lambda a, b: np.linalg.solve(a, b), singular, np.ones(3))
    with pytest.raises(np.linalg.LinAlgError):
        traced(lambda a: np.linalg.inv(a), singular)
    assert traced(lambda a: np.linalg.det(a), singular) == np.linalg.det(singular)


@pytest.mark.parametrize(("fn", "args", "message"), [
    (lambda a: np.linalg.inv(a), (np.ones((2, 3)),), r"np\.linalg\.inv: last 2 dimensions .* square, got shape \(2, 3\)"),
    (lambda a: np.linalg.inv(a), (np.ones(3),), r"np\.linalg\.inv: 1-dimensional .*shape \(3,\)"),
    (lambda a: np.linalg.det(a), (np.ones((2, 4, 3)),), r"np\.linalg\.det: .*square, got shape \(2, 4, 3\)"),
    (lambda a: np.linalg.slogdet(a), (np.ones((3, 2)),), r"np\.linalg\.slogdet: .*square, got shape \(3, 2\)"),
    (lambda a, b: np.linalg.solve(a, b), (np.ones((3, 3)), np.ones(4)),
     r"np\.linalg\.solve: a of shape \(3, 3\) and b of shape \(4,\) are mismatched"),
    (lambda a, b: np.linalg.solve(a, b), (np.ones((3, 3)), np.ones((2, 5))),
     r"np\.linalg\.solve: a of shape \(3, 3\) and b of shape \(2, 5\) are mismatched: b needs 3 rows"),
    (lambda a, b: np.linalg.solve(a, b), (np.ones((2, 3, 3)), np.ones((4, 3, 1))), r"batch dimensions .* do not broadcast"),
    (lambda a, b: np.linalg.solve(a, b), (np.ones((3, 2)), np.ones(3)), r"np\.linalg\.solve: .*square"),
])
def test_bad_shapes_are_refused_at_trace_time(fn: Callable[..., Any], args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ShapeError, match=message) as info:
        ed.trace(fn, *args)
    assert "test_linalg.py" in str(info.value)  # the user's line


def test_numpy_refuses_the_same_shapes() -> None:
    for fn, args in [(np.linalg.inv, (np.ones((2, 3)),)), (np.linalg.solve, (np.ones((3, 3)), np.ones(4)))]:
        with pytest.raises((np.linalg.LinAlgError, ValueError)):
            fn(*args)


def test_cholesky_refuses_upper_and_non_positive_definite_matrices() -> None:
    with pytest.raises(UnsupportedOperationError, match=r"cholesky\(upper=True\).*np\.linalg\.cholesky\(a\)\.T"):
        ed.trace(lambda a: np.linalg.cholesky(a, upper=True), A @ A.T)
    with pytest.raises(ShapeError, match=r"np\.linalg\.cholesky: .*square, got shape \(2, 3\)"):
        ed.trace(lambda a: np.linalg.cholesky(a), np.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError):
        traced(lambda a: np.linalg.cholesky(a), -np.eye(3))


@pytest.mark.parametrize(("kwargs", "x"), [({"ord": 1}, V), ({"ord": np.inf}, B), ({"ord": "nuc"}, B),
                                           ({"ord": 1, "axis": 0}, B), ({"ord": "fro", "axis": 0}, B)])
def test_other_norms_are_refused_with_a_hint(kwargs: dict[str, Any], x: np.ndarray) -> None:
    with pytest.raises(UnsupportedOperationError, match=r"np\.linalg\.norm\(ord=.*np\.sum / np\.max"):
        ed.trace(lambda v: np.linalg.norm(v, **kwargs), x)


def test_slogdet_returns_named_fields() -> None:
    sign, logabs = traced(lambda a: (np.linalg.slogdet(a).sign, np.linalg.slogdet(a).logabsdet), -A)
    want = np.linalg.slogdet(-A)
    assert_same(sign, want.sign)
    assert_same(logabs, want.logabsdet)


# ------------------------------------------------------------------------ gradients


W3 = RNG.standard_normal(3)
GRADIENT_CASES: dict[str, tuple[Callable[..., Any], list[np.ndarray]]] = {
    "solve-vector": (lambda a, b: np.sum(np.linalg.solve(a, b) * W3), [well_conditioned(3, seed=7), RNG.standard_normal(3)]),
    "solve-matrix": (lambda a, b: np.sum(np.linalg.solve(a, b) ** 2), [well_conditioned(3, seed=8), RNG.standard_normal((3, 2))]),
    "solve-batched": (lambda a, b: np.sum(np.sin(np.linalg.solve(a, b))),
                      [well_conditioned(3, (2,), 9), RNG.standard_normal((2, 3, 2))]),
    "solve-batched-vector-broadcast": (lambda a, b: np.sum(np.linalg.solve(a, b) * W3),
                                       [well_conditioned(3, (2,), 10), RNG.standard_normal(3)]),
    "inv": (lambda a: np.sum(np.linalg.inv(a) * np.arange(9.0).reshape(3, 3)), [well_conditioned(3, seed=11)]),
    "inv-batched": (lambda a: np.sum(np.linalg.inv(a) ** 3), [well_conditioned(2, (3,), 12)]),
    "logabsdet": (lambda a: np.linalg.slogdet(a)[1], [well_conditioned(4, seed=13) * -1.0]),
    "logabsdet-batched": (lambda a: np.sum(np.linalg.slogdet(a)[1] * np.arange(1.0, 4.0)), [well_conditioned(2, (3,), 14)]),
    "det": (lambda a: np.linalg.det(a), [well_conditioned(3, seed=15)]),
    # cholesky reads only the lower triangle: through a symmetrization its gradient is the true one
    "cholesky": (lambda a: np.sum(np.linalg.cholesky(a @ a.T + 3.0 * np.eye(3)) * np.arange(9.0).reshape(3, 3)),
                 [RNG.standard_normal((3, 3))]),
    "cholesky-batched-logdet": (
        lambda a: np.sum(np.log(np.diagonal(np.linalg.cholesky(a @ np.swapaxes(a, 1, 2) + np.eye(3))[0]))),
        [RNG.standard_normal((2, 3, 3))]),
    "norm": (lambda x: np.linalg.norm(x) + np.sum(np.linalg.norm(x, axis=0)), [RNG.standard_normal((3, 4))]),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
def test_gradients_match_central_differences(name: str) -> None:
    fn, args = GRADIENT_CASES[name]
    program = ed.trace(fn, *args)
    for i in range(len(args)):
        value, grad = evaluate(value_and_grad_program(program, i), args)
        assert value == pytest.approx(float(fn(*args)), rel=1e-13)
        np.testing.assert_allclose(grad, central_difference(fn, args, i), rtol=1e-6, atol=1e-8,
                                   err_msg=f"{name}, d/d arg {i}")


def test_gradients_match_the_closed_forms() -> None:
    a, b = well_conditioned(4, seed=16), RNG.standard_normal(4)
    g = RNG.standard_normal(4)
    da, db = ed.grad(lambda a, b: np.sum(np.linalg.solve(a, b) * g), argnums=(0, 1))(a, b)
    x, a_inv_t = np.linalg.solve(a, b), np.linalg.inv(a).T
    np.testing.assert_allclose(db, a_inv_t @ g, rtol=1e-12)
    np.testing.assert_allclose(da, -np.outer(a_inv_t @ g, x), rtol=1e-12)
    np.testing.assert_allclose(ed.grad(lambda a: np.linalg.slogdet(a)[1])(a), a_inv_t, rtol=1e-12)
    gm = RNG.standard_normal((4, 4))
    np.testing.assert_allclose(ed.grad(lambda a: np.sum(np.linalg.inv(a) * gm))(a), -a_inv_t @ gm @ a_inv_t, rtol=1e-12)


def test_cholesky_gradient_is_the_symmetric_one() -> None:
    rng = np.random.default_rng(21)
    a = rng.standard_normal((4, 4))
    a = a @ a.T + 4 * np.eye(4)
    w = rng.standard_normal((4, 4))

    def f(x: Any) -> Any:
        return np.sum(np.linalg.cholesky(x) * w)

    g = ed.grad(f)(a)
    np.testing.assert_allclose(g, g.T, rtol=1e-13)
    for _ in range(3):  # directional derivatives along symmetric perturbations
        s = rng.standard_normal((4, 4))
        s = s + s.T
        eps = 1e-6
        fd = (f(a + eps * s) - f(a - eps * s)) / (2 * eps)
        assert float(np.sum(g * s)) == pytest.approx(fd, rel=1e-6)
    # log det a = 2 sum(log diag L): its gradient is inv(a) (symmetric)
    np.testing.assert_allclose(ed.grad(lambda x: 2.0 * np.sum(np.log(np.diagonal(np.linalg.cholesky(x)))))(a),
                               np.linalg.inv(a), rtol=1e-10)


# ------------------------------------------------------------- semantics for the checkers


def test_exact_semantics_agree_with_lapack() -> None:
    m = MpMath()
    a, b, c = well_conditioned(3, seed=17), RNG.standard_normal(3), RNG.standard_normal((3, 2))
    for op, args, want in [("solve", (a, b), np.linalg.solve(a, b)), ("solve", (a, c), np.linalg.solve(a, c)),
                           ("inv", (a,), np.linalg.inv(a)), ("det", (-a,), np.linalg.det(-a)),
                           ("slogdet_sign", (-a,), np.linalg.slogdet(-a)[0]),
                           ("logabsdet", (-a,), np.linalg.slogdet(-a)[1]),
                           ("cholesky", (a @ a.T,), np.linalg.cholesky(a @ a.T)),
                           ("inv", (well_conditioned(2, (2,), 18),), np.linalg.inv(well_conditioned(2, (2,), 18)))]:
        spec = ops.OPS[op]
        assert spec.real is not None
        got = np.asarray(spec.real(m, *args), dtype=object).astype(np.float64)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=op)
        assert got.shape == np.shape(want)
    singular = np.ones((2, 2))
    assert float(ops.OPS["slogdet_sign"].real(m, singular)) == 0.0
    assert float(ops.OPS["logabsdet"].real(m, singular)) == -np.inf


def test_cost_grows_like_a_factorization() -> None:
    small, big = ops.flops("solve", ((10, 10), (10,)), (10,)), ops.flops("solve", ((100, 100), (100,)), (100,))
    assert 500 < big / small < 1100  # n^3
    assert ops.flops("inv", ((10, 10),), (10, 10)) > ops.flops("det", ((10, 10),), ())


# ----------------------------------------------------------------------- user programs


def gaussian_log_density(mu: np.ndarray, cov: np.ndarray, x: np.ndarray) -> Any:
    """log N(x | mu, cov) summed over rows of x, as a statistician writes it."""
    d = x.shape[1]
    diff = x - mu
    _sign, logdet = np.linalg.slogdet(cov)
    maha = np.sum(diff * np.linalg.solve(cov, diff.T).T, axis=1)
    return np.sum(-0.5 * (maha + logdet + d * np.log(2 * np.pi)))


def ridge_loss(w0: np.ndarray, lam: float, X: np.ndarray, y: np.ndarray) -> Any:
    """Ridge regression: closed-form weights, then the validation-style loss of shifted weights."""
    n_features = X.shape[1]
    w = np.linalg.solve(X.T @ X + lam * np.eye(n_features), X.T @ y)
    resid = X @ (w + w0) - y
    return np.mean(resid ** 2) + lam * np.linalg.norm(w + w0) ** 2


def test_gaussian_log_density_jits_and_differentiates() -> None:
    rng = np.random.default_rng(19)
    d = 3
    L = rng.standard_normal((d, d))
    cov, mu, x = L @ L.T + d * np.eye(d), rng.standard_normal(d), rng.standard_normal((20, d))
    want = gaussian_log_density(mu, cov, x)
    assert ed.jit(gaussian_log_density)(mu, cov, x) == pytest.approx(want, rel=1e-13)
    dmu, dcov = ed.grad(gaussian_log_density, argnums=(0, 1))(mu, cov, x)
    cov_inv = np.linalg.inv(cov)
    diff = x - mu
    np.testing.assert_allclose(dmu, np.sum(diff @ cov_inv, axis=0), rtol=1e-10)  # cov is symmetric
    want_cov = -0.5 * len(x) * cov_inv.T + 0.5 * (cov_inv.T @ diff.T @ diff @ cov_inv.T)
    np.testing.assert_allclose(dcov, want_cov, rtol=1e-10)
    np.testing.assert_allclose(dcov, central_difference(lambda c: gaussian_log_density(mu, c, x), [cov], 0),
                               rtol=1e-6, atol=1e-7)


def test_ridge_regression_jits_and_differentiates() -> None:
    rng = np.random.default_rng(20)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    w0 = rng.standard_normal(4) * 0.1
    want = ridge_loss(w0, 0.5, X, y)
    assert ed.jit(ridge_loss)(w0, 0.5, X, y) == pytest.approx(want, rel=1e-13)
    dw0, dX = ed.grad(ridge_loss, argnums=(0, 2))(w0, 0.5, X, y)
    np.testing.assert_allclose(dw0, central_difference(lambda w: ridge_loss(w, 0.5, X, y), [w0], 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dX, central_difference(lambda m: ridge_loss(w0, 0.5, m, y), [X], 0), rtol=1e-5, atol=1e-7)
