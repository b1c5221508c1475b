"""Tracing plain NumPy code: explicit broadcasting and promotion, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

import egraph_dsl as ed
from egraph_dsl.errors import DTypeError, ShapeError, TraceError, UnsupportedOperationError
from egraph_dsl.program import evaluate


def test_numpy_protocols_trace_and_evaluate_like_numpy() -> None:
    def f(X, w, b, y):
        z = X @ w + b
        p = scipy.special.expit(z)
        a = np.where(z > 0, np.log(p), np.log1p(-p))
        return np.sum(a * y, axis=0), np.mean(X.T, axis=1, keepdims=True), np.max(np.abs(X), axis=(0, 1)), X.sum()

    rng = np.random.default_rng(1)
    args = (rng.normal(size=(5, 3)), rng.normal(size=3), 0.25, rng.normal(size=5))
    program = ed.trace(f, *args)
    got = evaluate(program, args)
    for g, e in zip(got, f(*args), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-14)
    text = str(program)
    assert "broadcast_to(b, shape=(5,))" in text and "sigmoid" in text


def test_promotion_is_explicit() -> None:
    program = ed.trace(lambda x, i: x * 2.0 + i, np.ones(3, np.float32), np.ones(3, np.int32))
    text = str(program)
    assert "astype" in text and program.outputs[0].dtype == "float64"
    program = ed.trace(lambda x: x * 2.0, np.ones(3, np.float32))
    assert program.outputs[0].dtype == "float32"  # Python scalars are weak, as in NumPy 2


def test_unsupported_function_names_it_and_the_source_line() -> None:
    with pytest.raises(UnsupportedOperationError) as info:
        ed.trace(lambda x: np.convolve(x, x), np.ones(3))
    assert "np.convolve" in str(info.value) and "test_trace.py" in str(info.value)


def test_unsupported_ufunc() -> None:
    with pytest.raises(UnsupportedOperationError, match=r"np\.ldexp"):
        ed.trace(lambda x: np.ldexp(x, 2), np.ones(3))


def test_shape_mismatch_in_matmul_and_broadcasting() -> None:
    with pytest.raises(ShapeError, match=r"matmul.*\(3, 4\).*\(5,\)"):
        ed.trace(lambda a, b: a @ b, np.ones((3, 4)), np.ones(5))
    with pytest.raises(ShapeError, match="cannot be broadcast"):
        ed.trace(lambda a, b: a + b, np.ones((3, 4)), np.ones(5))


@pytest.mark.parametrize("bad", [np.array(["a"]), np.array([1 + 2j]), np.array([None], dtype=object)])
def test_unsupported_dtypes(bad: np.ndarray) -> None:
    with pytest.raises(DTypeError, match="not supported"):
        ed.trace(lambda x: x + 1, bad)


def test_data_dependent_control_flow_and_eager_escape_are_refused() -> None:
    def branchy(x):
        if np.sum(x) > 0:
            return x
        return -x

    with pytest.raises(TraceError, match=r"np\.where"):
        ed.trace(branchy, np.ones(3))
    with pytest.raises(TraceError, match="concrete NumPy array"):
        ed.trace(lambda x: np.asarray(x) + 1, np.ones(3))


def test_reshape_transpose_trace_diagonal() -> None:
    A = np.arange(12.0).reshape(3, 4)
    f = lambda a: (a.reshape(4, 3), np.transpose(a), np.trace(a @ a.T), np.diagonal(a.T @ a))
    got = evaluate(ed.trace(f, A), [A])
    for g, e in zip(got, f(A), strict=True):
        np.testing.assert_allclose(g, e)


def test_ndarray_methods_trace_like_their_numpy_functions() -> None:
    """Methods go through the same handlers as the NumPy functions that indexing/layout/reductions register."""
    A = np.arange(12.0).reshape(3, 1, 4)
    methods = lambda a: (a[0], a.take([2, 0], axis=2), a.ravel(), a.flatten(), a.squeeze(1), a.swapaxes(0, 2),
                         a.prod(axis=0), a.var(), a.std(axis=2), a.argmax(axis=2), a.argmin(), a.any(), a.all(),
                         a.cumsum(axis=2), a.cumprod())
    functions = lambda a: (a[0], np.take(a, [2, 0], axis=2), np.ravel(a), np.ravel(a), np.squeeze(a, 1),
                           np.swapaxes(a, 0, 2), np.prod(a, axis=0), np.var(a), np.std(a, axis=2),
                           np.argmax(a, axis=2), np.argmin(a), np.any(a), np.all(a), np.cumsum(a, axis=2),
                           np.cumprod(a))
    by_method, by_function = ed.trace(methods, A), ed.trace(functions, A)
    assert str(by_method).replace("<lambda>", "") == str(by_function).replace("<lambda>", "")
    for got, expected in zip(evaluate(by_method, [A]), methods(A), strict=True):
        np.testing.assert_allclose(got, expected)


def test_a_numpy_function_has_one_tracing_handler() -> None:
    from egraph_dsl.trace import register_functions

    with pytest.raises(TraceError, match=r"take already have a tracing handler"):
        register_functions({np.take: lambda *a, **k: None})
    with pytest.raises(UnsupportedOperationError, match=r"np\.convolve is not supported") as info:
        ed.trace(lambda a: np.convolve(a, a), np.ones(2))
    supported = str(info.value).split("supported NumPy functions: ")[1].split(", ")
    assert {"take", "concatenate", "cumsum", "sum"} <= set(supported) and "getitem" not in supported
