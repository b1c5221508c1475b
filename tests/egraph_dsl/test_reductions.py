"""Reductions and scans (prod, var, std, argmax, argmin, any, all, count_nonzero, nansum, average,
cumsum, cumprod, diff, ptp) traced and compiled, against NumPy bit for bit: values (nan, signed
zeros), dtypes and shapes, every axis / keepdims / ddof, empty and 0-d arrays, NumPy's errors."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import egraph_dsl as ed
from egraph_dsl import ops
from egraph_dsl.errors import ShapeError, UnsupportedOperationError

EDGES = [0.0, -0.0, 1.0, -1.5, np.inf, -np.inf, np.nan, 1e308, 5e-324, 3.0]
DTYPES = ["float64", "float32", "int64", "int32", "bool"]


def check(fn: Callable[..., Any], *args: Any, rulesets: Any = ()) -> None:
    """jit(fn) gives NumPy's result: same dtype, shape and values (nan, signed zeros)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fn(*args)
        got = ed.jit(fn, rulesets=list(rulesets))(*args)
    exp_list = list(expected) if isinstance(expected, tuple) else [expected]
    got_list = list(got) if isinstance(got, tuple) else [got]
    for e, g in zip(exp_list, got_list, strict=True):
        e, g = np.asarray(e), np.asarray(g)
        assert g.dtype == e.dtype and g.shape == e.shape, (g.dtype, g.shape, e.dtype, e.shape)
        assert np.array_equal(g, e, equal_nan=True), (g, e)
        assert np.array_equal(np.signbit(g), np.signbit(e)) if g.dtype.kind == "f" else True


def raises_like_numpy(fn: Callable[..., Any], *args: Any) -> None:
    with pytest.raises(Exception) as numpy_error:
        fn(*args)
    with pytest.raises(Exception) as jit_error:
        ed.jit(fn, rulesets=[])(*args)
    expected = ValueError if isinstance(numpy_error.value, np.exceptions.AxisError) else type(numpy_error.value)
    assert isinstance(jit_error.value, expected), (numpy_error.value, jit_error.value)
    assert "test_reductions.py" in str(jit_error.value), jit_error.value  # names the user's line


def arrays(dtype: str, max_dims: int = 3) -> st.SearchStrategy[np.ndarray]:
    shapes = hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=4)
    if dtype == "bool":
        return hnp.arrays(bool, shapes)
    if dtype.startswith("int"):
        return hnp.arrays(dtype, shapes, elements=st.integers(-50, 50))
    width: Literal[32, 64] = 32 if dtype == "float32" else 64
    return hnp.arrays(dtype, shapes, elements=st.one_of(
        st.sampled_from([v for v in EDGES if width == 64 or v in (0.0, 1.0, -1.5, np.inf, -np.inf, 3.0) or v != v]),
        st.floats(width=width)))


def _axes_of(x: np.ndarray) -> list[Any]:
    return [None, *range(-x.ndim, x.ndim)] + ([(0, x.ndim - 1)] if x.ndim > 1 else [])


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=6)
@given(data=st.data())
def test_counting_reductions_match_numpy(dtype: str, data: st.DataObject) -> None:
    x = data.draw(arrays(dtype))

    def fn(x: Any) -> tuple[Any, ...]:
        out: list[Any] = []
        for axis in _axes_of(x):
            for keepdims in (False, True):
                out += [np.any(x, axis=axis, keepdims=keepdims), x.all(axis=axis, keepdims=keepdims),
                        np.count_nonzero(x, axis=axis, keepdims=keepdims), np.nansum(x, axis=axis, keepdims=keepdims)]
                if dtype != "bool":
                    out += [np.prod(x, axis=axis, keepdims=keepdims), x.prod(axis=axis)]
        return tuple(out)

    check(fn, x)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=6)
@given(data=st.data())
def test_var_std_match_numpy_bit_for_bit(dtype: str, data: st.DataObject) -> None:
    x = data.draw(arrays(dtype))
    ddof = data.draw(st.sampled_from([0, 1, 2, 0.5]))
    check(lambda x: tuple(v for axis in _axes_of(x) for v in (
        np.var(x, axis=axis, ddof=ddof), x.std(axis=axis, ddof=ddof, keepdims=True),
        x.var(axis=axis, keepdims=True), np.std(x, axis=axis))), x)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "bool"])
@settings(max_examples=6)
@given(data=st.data())
def test_argmax_argmin_first_occurrence_and_nan(dtype: str, data: st.DataObject) -> None:
    x = data.draw(arrays(dtype).filter(lambda a: a.size > 0 and all(n > 0 for n in a.shape)))
    check(lambda x: tuple(v for axis in [None, *range(-x.ndim, x.ndim)] for v in (
        np.argmax(x, axis=axis), x.argmin(axis=axis), np.argmin(x, axis=axis, keepdims=True),
        x.argmax(axis=axis, keepdims=True))), x)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=6)
@given(data=st.data())
def test_scans_diff_ptp_match_numpy(dtype: str, data: st.DataObject) -> None:
    x = data.draw(arrays(dtype))

    def fn(x: Any) -> tuple[Any, ...]:
        out: list[Any] = [np.cumsum(x), x.cumprod()]
        for axis in range(-x.ndim, x.ndim):
            out += [np.cumsum(x, axis=axis), np.cumprod(x, axis=axis), x.cumsum(axis)]
            out += [np.diff(x, n=n, axis=axis) for n in (0, 1, 2)]
            if dtype != "bool" and x.shape[axis] > 0:
                out.append(np.ptp(x, axis=axis, keepdims=True))
        return tuple(out)

    check(fn, x)


def test_average_with_and_without_weights() -> None:
    x = np.array([[1.0, -0.0, 3.0], [np.inf, 2.0, 5.0]])
    w = np.array([1.0, 2.0, 0.5])
    check(lambda x: (np.average(x), np.average(x, axis=1), np.average(x, axis=1, weights=w),
                     np.average(x, axis=-1, weights=[1, 2, 3])), x)
    check(lambda x, w: np.average(x, weights=w), x, np.ones((2, 3), np.float32))
    check(lambda x, w: np.average(x, axis=0, weights=w, keepdims=True), np.arange(6).reshape(2, 3), np.array([1, 3]))
    check(lambda x, w: np.average(x, axis=1, weights=w, returned=True), x, w)
    raises_like_numpy(lambda x: np.average(x, weights=np.zeros((2, 3))), x)  # ZeroDivisionError
    raises_like_numpy(lambda x: np.average(x, weights=w), x)  # axis needed
    raises_like_numpy(lambda x: np.average(x, axis=0, weights=w), x)


def test_empty_and_zero_d_behave_as_numpy() -> None:
    e, s = np.zeros((0, 3)), np.array(-2.5)
    check(lambda e: (np.prod(e), np.prod(e, axis=0), np.any(e), np.all(e), np.var(e), np.std(e, axis=1),
                     np.cumsum(e), np.count_nonzero(e), np.nansum(e), np.argmax(e, axis=1)), e)
    check(lambda s: (np.prod(s), np.argmax(s), np.argmin(s, axis=0), np.any(s), np.cumsum(s), s.cumprod(axis=-1),
                     np.var(s), np.std(s), np.ptp(s)), s)
    raises_like_numpy(lambda s: np.std(s, axis=0), s)
    check(lambda x: np.var(x, ddof=3), np.arange(3.0))  # ddof >= n: 0 / 0
    raises_like_numpy(lambda e: np.argmax(e), e)
    raises_like_numpy(lambda e: np.argmin(e, axis=0), e)
    raises_like_numpy(lambda e: np.ptp(e), e)
    raises_like_numpy(lambda s: np.diff(s), s)


def test_bad_input_errors_as_numpy() -> None:
    x = np.zeros((2, 3))
    raises_like_numpy(lambda x: np.argmax(x, axis=2), x)
    raises_like_numpy(lambda x: np.argmax(x, axis=(0,)), x)  # type: ignore[call-overload]
    raises_like_numpy(lambda x: np.prod(x, axis=3), x)
    raises_like_numpy(lambda x: np.cumsum(x, axis=-3), x)
    raises_like_numpy(lambda x: np.diff(x, n=-1), x)
    raises_like_numpy(lambda x: np.ptp(x > 0), x)  # bool subtract
    raises_like_numpy(lambda x: np.var(x, axis=(1, 1)), x)
    for fn in (np.percentile, np.quantile):  # np.sort and np.median trace (test_sorting.py)
        with pytest.raises(UnsupportedOperationError, match=f"np.{fn.__name__}.*np.sort"):
            ed.jit(lambda x, fn=fn: fn(x, 0.5))(x)
    with pytest.raises(UnsupportedOperationError, match="out="):
        ed.jit(lambda x: np.prod(x, out=x))(x)


def test_default_rulesets_keep_the_results() -> None:
    x = np.array([[1e308, -0.0, 2.0], [np.nan, 4.0, -3.0]], dtype=np.float64)
    check(lambda x: (np.var(x, axis=0), np.std(x * 2.0, axis=1), np.prod(np.exp(x), axis=1),
                     np.argmax(x, axis=0)), x, rulesets=("algebra", "stability", "linalg"))
    # a scan is an ordinary operand of the rewrites: log(exp(.)) under it is the value itself (NumPy overflows)
    got = ed.jit(lambda x: np.cumsum(np.log(np.exp(x)), axis=1))(x)
    np.testing.assert_array_equal(got, np.cumsum(x, axis=1))


def test_new_ops_are_declared() -> None:
    assert ops.infer_shape("cumsum", ((2, 3),), {"dim": 1}) == (2, 3)
    assert ops.infer_dtype("argmax", ("float32",), {"axis": None, "keepdims": False}) == "int64"
    with pytest.raises(ShapeError, match="cumprod"):
        ops.infer_shape("cumprod", ((2, 3),), {"dim": 2})
    # exact semantics on object arrays, as the proofs' checkers evaluate them
    class M:
        @staticmethod
        def compare(symbol: str, a: Any, b: Any) -> bool:
            return bool(a > b) if symbol == ">" else bool(a < b)

    def real(op: str) -> Callable[..., Any]:
        semantics = ops.spec(op).real
        assert semantics is not None
        return semantics

    obj = np.array([[1, 5, 5], [3, 2, 1]], dtype=object)
    assert real("argmax")(M, obj, axis=(1,)).tolist() == [1, 0]
    assert real("argmax")(M, obj, axis=None) == 1 and real("argmin")(M, obj, axis=None) == 0
    assert real("cumsum")(M, obj, dim=1).tolist() == [[1, 6, 11], [3, 5, 6]]
    assert real("prod")(M, obj, axis=(0,)).tolist() == [3, 10, 5]
    with pytest.raises(ValueError, match="empty sequence"):
        ed.jit(lambda x: np.argmax(x))(np.zeros(0))
