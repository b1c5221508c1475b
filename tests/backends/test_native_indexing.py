"""Native scatter-adds and row gathers: NumPy's results bit for bit, NumPy's IndexErrors."""

from __future__ import annotations

import numpy as np
import pytest
from egraph_dsl.backends import native_build
from egraph_dsl.backends.native_indexing import scatter_add_rows, take_rows
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
