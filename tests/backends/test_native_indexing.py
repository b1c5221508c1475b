"""Native scatter-adds and row gathers: NumPy's results bit for bit, NumPy's IndexErrors."""

from __future__ import annotations

import numpy as np
import pytest
from egraph_dsl.backends import native_build
from egraph_dsl.backends.native_indexing import (
    SMALL_MATMUL_SHAPES,
    scatter_add_rows,
    small_matmul,
    small_transposed_matmul,
    take_rows,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import egraph_dsl as ed

pytestmark = pytest.mark.skipif(native_build.compiler() is None, reason="no C++ compiler (g++) for native kernels")


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 6), width=st.sampled_from([(), (1,), (3,), (2, 2)]), n=st.integers(0, 12),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**31))
def test_scatter_add_and_take_match_numpy_bit_for_bit(rows: int, width: tuple[int, ...], n: int, dtype: type,
                                                      seed: int) -> None:
    rng = np.random.default_rng(seed)
    idx = rng.integers(-rows, rows, n)
    updates = rng.standard_normal((n, *width)).astype(dtype)
    updates[updates > 1.5] = -0.0  # signed zeros travel too
    expected = np.zeros((rows, *width), dtype=dtype)
    np.add.at(expected, idx, updates)
    got = scatter_add_rows(updates, idx, rows)
    assert got.dtype == dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    source = rng.standard_normal((rows, *width)).astype(dtype)
    taken = take_rows(source, idx)
    np.testing.assert_array_equal(taken, np.take(source, idx, axis=0))
    assert taken.dtype == dtype


def test_out_of_range_indices_raise_as_numpy_does() -> None:
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        scatter_add_rows(np.ones(2), np.array([0, 3]), 3)
    with pytest.raises(IndexError, match="index -4 is out of bounds"):
        take_rows(np.ones((3, 2)), np.array([-4]))


def test_the_native_backend_runs_gradient_scatters_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    from egraph_dsl.backends import native_indexing

    calls = []
    real = native_indexing.scatter_add_rows
    monkeypatch.setattr(native_indexing, "scatter_add_rows", lambda *a: calls.append(a) or real(*a))
    idx = np.array([0, 2, 2, 1, 2])
    vg = ed.value_and_grad(lambda P: np.sum(P[idx] ** 2), backend="native")
    P = np.arange(6.0).reshape(3, 2)
    _, grad = vg(P)
    expected = np.zeros_like(P)
    np.add.at(expected, idx, 2 * P[idx])
    np.testing.assert_array_equal(grad, expected)
    assert len(calls) == 1  # the gradient's scatter-add ran natively


@settings(max_examples=60, deadline=None)
@given(shape=st.sampled_from(sorted(SMALL_MATMUL_SHAPES)), n=st.sampled_from([0, 1, 7, 63, 64, 65, 150, 5000]),
       dtype=st.sampled_from([np.float64, np.float32]), transposed=st.booleans(), seed=st.integers(0, 2**31))
def test_small_matmuls_are_within_their_error_bounds(shape: tuple[int, int], n: int, dtype: type, transposed: bool,
                                                     seed: int) -> None:
    """Against an extended-precision product, each entry within its bound times the sum of |terms|:
    a @ w, K ulps (K products summed in order, the bound BLAS keeps too); x.T @ b, 64 + log2 n + 1
    ulps (blocks of 64 rows in order, the blocks combined pairwise; one run over n allows n)."""
    rng = np.random.default_rng(seed)
    K, C = shape
    left = rng.standard_normal((n, K)).astype(dtype)
    right = rng.standard_normal((n, C) if transposed else (K, C)).astype(dtype)
    if transposed:
        got, left, ulps = small_transposed_matmul(left, right), left.T, 64 + np.log2(max(n, 1)) + 1
    else:
        got, ulps = small_matmul(left, right), K
    assert got.dtype == dtype and got.shape == (left.shape[0], C)
    exact = left.astype(np.longdouble) @ right.astype(np.longdouble)
    terms = np.abs(left).astype(np.longdouble) @ np.abs(right).astype(np.longdouble)
    assert np.all(np.abs(got - exact) <= ulps * np.finfo(dtype).eps * terms)


def test_small_matmul_keeps_blas_zeros_nans_and_infinities() -> None:
    a = np.full((70, 8), -0.0)
    w = np.ones((8, 8))
    assert not np.signbit(small_matmul(a, w)).any() and not np.signbit(a @ w).any()  # sums start at +0.0
    a[3, 2], a[5, 0], w[1, 4] = np.inf, np.nan, 0.0
    a[7, 1], w[1, 6] = np.inf, -np.inf
    with np.errstate(invalid="ignore"):  # inf * 0 and inf - inf
        want = a @ w
    np.testing.assert_array_equal(small_matmul(a, w), want)  # nan where BLAS has nan, the same infinities


def test_jitted_matmuls_by_small_operands_go_native_and_others_to_blas(monkeypatch: pytest.MonkeyPatch) -> None:
    from egraph_dsl.backends import native_indexing

    calls: list[tuple[int, ...]] = []
    real = native_indexing.small_matmul

    def spy(a: np.ndarray, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        calls.append(w.shape)
        return real(a, w, out)

    transposed: list[tuple[int, ...]] = []
    real_t = native_indexing.small_transposed_matmul

    def spy_t(x: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        transposed.append(b.shape)
        return real_t(x, b, out)

    monkeypatch.setattr(native_indexing, "small_matmul", spy)
    monkeypatch.setattr(native_indexing, "small_transposed_matmul", spy_t)
    rng = np.random.default_rng(1)
    A, W, V = rng.standard_normal((3000, 8)), rng.standard_normal((8, 8)), rng.standard_normal((8, 7))

    def f(A: np.ndarray, W: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, ...]:
        # a transposed W is made contiguous; A.T @ (A * 2) is a gradient's shape of product
        return np.exp(A @ W), A @ W.T, A @ V, A.T[:, :8] @ W, A.T @ (A * 2.0)

    got = ed.jit(f, backend="native")(A, W, V)
    for g, want in zip(got, f(A, W, V), strict=True):
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-11)
    assert calls.count((8, 8)) >= 2 and (8, 7) not in calls  # 8 x 7 has no native instance: BLAS
    assert (3000, 8) in transposed  # A.T @ (A * 2); A.T[:, :8] is the transpose of A[:8] too


def test_a_failed_build_is_warned_once_and_not_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from egraph_dsl.backends import native_indexing

    from egraph_dsl.errors import BackendUnavailableError
    from egraph_dsl.plan import build_plan
    from egraph_dsl.trace import trace_function

    attempts: list[int] = []

    def failing() -> None:
        attempts.append(1)
        raise BackendUnavailableError("the native build failed (g++, exit 1): simulated")

    native_indexing._built.cache_clear()
    monkeypatch.setattr(native_indexing, "_build", failing)
    try:
        take = build_plan(trace_function(lambda P, i: P[i], [np.ones((4, 2)), np.array([0, 3])])).instructions[-1]
        with pytest.warns(RuntimeWarning, match="fall back to NumPy: the native build failed"):
            assert native_indexing.native_function(take, np.take) is None
        assert native_indexing.native_function(take, np.take) is None  # no second build, no second warning
        assert attempts == [1]
    finally:
        native_indexing._built.cache_clear()
