"""np.sort, np.argsort(kind='stable'), ndarray.sort and np.median against NumPy, bit for bit."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import egraph_dsl as ed
from egraph_dsl.errors import UnsupportedOperationError
from egraph_dsl.program import evaluate

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: reach the helpers
from sample_programs import central_difference

EDGE = np.array([-0.0, 0.0, np.nan, np.inf, -np.inf, 1.5, -2.0, 3.25, 1.5])


def values(shape: tuple[int, ...], seed: int, dtype: Any) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.choice(EDGE, size=shape).astype(dtype)
    return rng.integers(-3, 4, size=shape).astype(dtype)  # ties


def traced(fn: Any, *args: Any) -> Any:
    (out,) = evaluate(ed.trace(fn, *args), list(args))
    return out


def assert_same(got: Any, want: Any) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))


shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)
kinds = st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.bool_])


@given(shapes, st.integers(0, 1000), kinds, st.data())
def test_sort_and_stable_argsort_match_numpy(shape: tuple[int, ...], seed: int, dtype: Any, data: Any) -> None:
    x = values(shape, seed, dtype)
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)) if shape else st.none())
    assert_same(traced(lambda a: np.sort(a, axis=axis), x), np.sort(x, axis=axis))
    assert_same(traced(lambda a: np.argsort(a, axis=axis, kind="stable"), x),
                np.argsort(x, axis=axis, kind="stable").astype(np.int64))


@given(shapes, st.integers(0, 1000), kinds, st.data())
def test_median_matches_numpy(shape: tuple[int, ...], seed: int, dtype: Any, data: Any) -> None:
    x = values(shape, seed, dtype)
    if x.size == 0 or np.dtype(dtype) == np.bool_:
        return  # NumPy warns on an empty median (nan) and cannot subtract bools
    axes = list(range(len(shape)))
    axis = data.draw(st.one_of(st.none(), st.sampled_from(axes) if axes else st.none(),
                               st.lists(st.sampled_from(axes), unique=True, min_size=1).map(tuple) if axes
                               else st.none()))
    if axis is not None and any(shape[a] == 0 for a in np.atleast_1d(axis)):
        return
    keepdims = data.draw(st.booleans())
    with np.errstate(all="ignore"):
        want = np.median(x, axis=axis, keepdims=keepdims)
    assert_same(traced(lambda a: np.median(a, axis=axis, keepdims=keepdims), x), want)


def test_in_place_sort_gradients_and_errors() -> None:
    def fn(a: Any) -> Any:
        y = a * 1.0
        y.sort()
        return y[::-1] * 2.0 + np.median(a)

    x = np.array([3.0, -1.0, 2.0, np.nan, -0.0])
    assert_same(ed.jit(fn)(x), fn(x))

    def smooth(a: Any) -> Any:
        return np.sum(np.sort(a, axis=0)[1] * np.arange(3.0)) + np.median(a) ** 2

    y = np.random.default_rng(4).standard_normal((3, 3))
    np.testing.assert_allclose(ed.grad(smooth)(y), central_difference(smooth, [y], 0), rtol=1e-7, atol=1e-7)
    with pytest.raises(UnsupportedOperationError, match="kind='stable'"):
        ed.trace(lambda a: np.argsort(a), x)
    with pytest.raises(UnsupportedOperationError, match="writes into an argument"):
        ed.trace(lambda a: a.sort(), x)
    with pytest.raises(UnsupportedOperationError, match=r"np\.quantile is not supported .*test_sorting\.py"):
        ed.trace(lambda a: np.quantile(a, 0.5), x)
