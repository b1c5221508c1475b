"""Layout functions (concatenate, stack, expand_dims, squeeze, swapaxes, moveaxis, ravel, flatten,
flip) traced and compiled, against NumPy: values, shapes, dtypes (promotion across inputs),
negative axes, and the errors NumPy raises (0-d, empty, mismatched shapes, bad axes)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl import ops
from egraph_dsl.errors import EgraphDslError, ShapeError, TraceError, UnsupportedOperationError

DTYPES = ["float64", "float32", "int64", "int32", "bool"]


def _sample(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    values = rng.normal(size=shape) * 3
    values.flat[:1] = [-0.0] if values.size and dtype.startswith("float") else values.flat[:1]
    return values.astype(dtype)


def check(fn: Callable[..., Any], *args: Any) -> None:
    """jit(fn) gives NumPy's result: same dtype, shape and values (signed zeros too), fresh arrays."""
    expected = fn(*args)
    got = ed.jit(fn, rulesets=[])(*args)
    exp_list = list(expected) if isinstance(expected, tuple) else [expected]
    got_list = list(got) if isinstance(got, tuple) else [got]
    assert len(exp_list) == len(got_list)
    for e, g in zip(exp_list, got_list, strict=True):
        e, g = np.asarray(e), np.asarray(g)
        assert g.dtype == e.dtype and g.shape == e.shape, (g.dtype, g.shape, e.dtype, e.shape)
        assert np.array_equal(g, e, equal_nan=True) and np.array_equal(np.signbit(g), np.signbit(e))
        assert not any(np.shares_memory(g, a) for a in args if isinstance(a, np.ndarray))


def raises_like_numpy(fn: Callable[..., Any], *args: Any) -> None:
    with pytest.raises(Exception) as numpy_error:
        fn(*args)
    with pytest.raises(Exception) as jit_error:
        ed.jit(fn, rulesets=[])(*args)
    assert isinstance(jit_error.value, (EgraphDslError, type(numpy_error.value))), (numpy_error.value, jit_error.value)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(DTYPES, DTYPES)))
def test_concatenate_and_stack_promote_as_numpy(a: str, b: str) -> None:
    x, y = _sample((2, 3), a, 1), _sample((2, 3), b, 2)
    check(lambda x, y: (np.concatenate([x, y]), np.concatenate((x, y), axis=-1), np.stack([x, y], axis=1)), x, y)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_concatenate_and_stack_axes(axis: int) -> None:
    x, y, z = _sample((2, 3, 1), "float64", 1), _sample((2, 3, 1), "float64", 2), _sample((2, 3, 1), "float64", 3)
    check(lambda x, y, z: np.concatenate([x, y, z], axis=axis), x, y, z)
    check(lambda x, y, z: np.stack([x, y, z], axis=axis), x, y, z)
    check(lambda x, y: np.stack((x, y), axis=axis - (axis < 0)), x, y)


def test_concatenate_shapes_and_special_inputs() -> None:
    x, y = np.arange(6.0).reshape(2, 3), np.arange(3.0)
    check(lambda x, y: np.concatenate([x, y[None]]), x, y)
    check(lambda x, y: np.concatenate([x, np.zeros((0, 3))]), x, y)  # an empty part
    check(lambda x, y: np.concatenate([x, y], axis=None), x, y)  # flattened
    check(lambda x: np.concatenate([x]), x)  # one array: a copy
    check(lambda x, y: np.concatenate([x, np.ones((1, 3), np.float32)]), x, y)  # a closed-over constant
    check(lambda x, y: np.concatenate([x, y[None]], dtype=np.float32), x, y)
    check(lambda y: np.stack([y, 2.0 * y, np.ones(3)]), y)
    check(lambda s: np.stack([s, s]), np.array(2.5))  # 0-d arrays stack
    check(lambda y: np.stack([y[0], 2.0]), y)  # a Python float is a float64 array here
    check(lambda y: np.stack([y, y]), np.zeros(0, np.int32))
    check(lambda y: np.concatenate([y, np.array([1, 2], np.int32)]), np.arange(3, dtype=np.int32))


def test_concatenate_and_stack_errors() -> None:
    x, y = np.arange(6.0).reshape(2, 3), np.arange(3.0)
    raises_like_numpy(lambda x, y: np.concatenate([x, y]), x, y)  # dimensions differ
    raises_like_numpy(lambda x, y: np.concatenate([x, y[:2, None]], axis=0), x, y)  # off-axis sizes differ
    raises_like_numpy(lambda x, y: np.concatenate([x[0, 0], y[0]]), x, y)  # 0-d
    raises_like_numpy(lambda x: np.concatenate([]), x)
    raises_like_numpy(lambda x: np.concatenate([x, x], axis=2), x)
    raises_like_numpy(lambda x: np.concatenate([x, x], axis=-3), x)
    raises_like_numpy(lambda x, y: np.stack([x, y]), x, y)  # shapes differ
    raises_like_numpy(lambda x: np.stack([x, x], axis=3), x)
    raises_like_numpy(lambda x: np.stack([]), x)
    raises_like_numpy(lambda x, y: np.concatenate([x, y[None]], dtype=np.int64), x, y)  # same_kind casting
    raises_like_numpy(lambda x: np.stack([x, x], axis=1.0), x)  # type: ignore[call-overload]


def test_concat_op_shape_rule() -> None:
    assert ops.infer_shape("concat", ((2, 3), (4, 3)), {"dim": 0}) == (6, 3)
    assert ops.infer_dtype("concat", ("int32", "int32"), {"dim": 0}) == "int32"
    for a, b, dim in (((), ()), (2,), 0), (((2,), (2, 1), 0)), (((2, 3), (2, 4), 0)), (((2,), (3,), 1)):
        with pytest.raises(ShapeError, match="concat"):
            ops.infer_shape("concat", (a, b), {"dim": dim})  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", DTYPES)
def test_reshaping_compositions(dtype: str) -> None:
    x = _sample((2, 1, 3), dtype)
    check(lambda x: (np.expand_dims(x, 0), np.expand_dims(x, -1), np.expand_dims(x, (0, 2)), np.expand_dims(x, (-1, 1))), x)
    check(lambda x: (np.squeeze(x), np.squeeze(x, 1), np.squeeze(x, axis=-2), x.squeeze(), x.squeeze((1,))), x)
    check(lambda x: (x.ravel(), x.flatten(), np.ravel(x), np.ravel(x.T), (x * 1).flatten()), x)
    check(lambda x: (np.swapaxes(x, 0, 2), np.swapaxes(x, -1, 0), x.swapaxes(1, 1), np.moveaxis(x, 0, -1),
                     np.moveaxis(x, [0, 1], [-1, -2]), np.moveaxis(x, -1, 0)), x)
    check(lambda x: (np.flip(x), np.flip(x, 0), np.flip(x, -1), np.flip(x, (0, 2)), np.flip(x, axis=1)), x)


def test_compositions_on_0d_and_empty_arrays() -> None:
    s, e = np.array(1.5), np.zeros((0, 2))
    check(lambda s: (np.expand_dims(s, 0), np.squeeze(s), s.ravel(), np.flip(s), np.expand_dims(s, (0, 1))), s)
    check(lambda e: (np.flip(e), e.ravel(), np.expand_dims(e, 1), np.swapaxes(e, 0, 1), np.squeeze(e)), e)
    check(lambda x: np.flip(x) + 1.0, np.arange(4.0))


def test_composition_errors() -> None:
    x = np.zeros((2, 1, 3))
    raises_like_numpy(lambda x: np.squeeze(x, 0), x)  # not of size 1
    raises_like_numpy(lambda x: np.squeeze(x, 3), x)
    raises_like_numpy(lambda x: np.expand_dims(x, 4), x)
    raises_like_numpy(lambda x: np.expand_dims(x, (0, 0)), x)
    raises_like_numpy(lambda x: np.swapaxes(x, 0, 3), x)
    raises_like_numpy(lambda x: np.moveaxis(x, [0, 1], [0]), x)
    raises_like_numpy(lambda x: np.moveaxis(x, 0, -4), x)
    raises_like_numpy(lambda x: np.flip(x, 3), x)
    raises_like_numpy(lambda x: np.transpose(x, (0, 1, 3)), x)
    raises_like_numpy(lambda s: np.flip(s, 0), np.array(1.0))


def test_layout_feeds_rewrites() -> None:
    """A concatenation is an ordinary operand of the rewrites: log(exp(.)) of one is the value itself
    (NumPy overflows at 1e308)."""
    x = np.array([1e308, -0.0, 2.0])
    got = ed.jit(lambda x: np.log(np.exp(np.concatenate([x, np.flip(x)]))))(x)
    assert got.tolist() == [1e308, -0.0, 2.0, 2.0, -0.0, 1e308]


@pytest.mark.parametrize("dtype", DTYPES)
def test_stacking_splitting_and_rolling(dtype: str) -> None:
    x, v = _sample((3, 4), dtype, 1), _sample((4,), dtype, 2)
    check(lambda x, v: (np.hstack([x, x]), np.hstack([v, v[:2]]), np.vstack([x, v]), np.vstack([v, v]),
                        np.column_stack([x, v[:3]]), np.column_stack([v, v])), x, v)
    check(lambda x: (*np.split(x, 2, axis=1), *np.split(x, [1, 5]), *np.array_split(x, 3, axis=-1),
                     *np.array_split(x, [2, 1])), x)
    check(lambda x: (np.roll(x, 5), np.roll(x, -1, axis=0), np.roll(x, (1, -2), axis=(0, 1)), np.roll(x, 2, axis=(1, 1)),
                     np.roll(x, 0)), x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_outer_triangles_and_diagonals(dtype: str) -> None:
    x, v = _sample((3, 4), dtype, 3), _sample((3,), dtype, 4)
    check(lambda x: tuple(f(x, k) for k in (-4, -1, 0, 1, 2, 5) for f in (np.triu, np.tril, np.diag)), x)
    check(lambda v: tuple(f(v, k) for k in (-2, 0, 1) for f in (np.diag, np.triu, np.tril)), v)
    if dtype != "bool":
        check(lambda x, v: (np.outer(v, x), np.outer(x[0], v)), x, v)
    check(lambda e: (np.diag(e), np.triu(e), np.hstack([e, e]), np.roll(e, 3), *np.array_split(e, 2)), np.zeros((0, 2)))


def test_more_layout_errors() -> None:
    x = np.zeros((3, 4))
    raises_like_numpy(lambda x: np.split(x, 3, axis=1), x)  # unequal
    raises_like_numpy(lambda x: np.array_split(x, 0), x)
    raises_like_numpy(lambda x: np.vstack([x, x[:, :2]]), x)
    raises_like_numpy(lambda x: np.diag(x[None]), x)
    raises_like_numpy(lambda x: np.roll(x, (1, 2, 3), axis=(0, 1)), x)
    with pytest.raises(TraceError, match="iteration"):  # NumPy's dispatcher iterates over the rows
        ed.jit(lambda x: np.hstack(x))(x)
    with pytest.raises(EgraphDslError, match=r"test_layout\.py"):
        ed.jit(lambda x: np.triu(x[0, 0]))(x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tile_repeat_kron_pad(dtype: str) -> None:
    x, v = _sample((2, 3), dtype, 5), _sample((3,), dtype, 6)
    check(lambda x: (np.tile(x, 2), np.tile(x, (2, 1, 2)), np.tile(x, 0), np.tile(x, (1, 1))), x)
    check(lambda v: (np.tile(v, (3, 2)), np.repeat(v, 2), np.repeat(v, [1, 0, 2]), np.repeat(v, np.array([2, 2, 1]))), v)
    check(lambda x: (np.repeat(x, 2), np.repeat(x, [1, 0, 2], axis=1), np.repeat(x, 3, axis=-2)), x)
    check(lambda x, v: (np.kron(x, v), np.kron(v, x), np.kron(x, x)), x, v)
    check(lambda x: (np.pad(x, 1), np.pad(x, ((1, 0), (0, 2)), constant_values=-0.0), np.pad(x, (2, 1), constant_values=7),
                     np.pad(x, 0)), x)
    check(lambda e: (np.tile(e, 2), np.repeat(e, 2, axis=1), np.pad(e, 1), np.kron(e, e)), np.zeros((0, 2), dtype))


def test_tile_repeat_pad_errors() -> None:
    x = np.zeros((2, 3))
    raises_like_numpy(lambda x: np.repeat(x, [1, 2], axis=1), x)
    raises_like_numpy(lambda x: np.repeat(x, -1), x)
    raises_like_numpy(lambda x: np.repeat(x, 2, axis=2), x)
    raises_like_numpy(lambda x: np.pad(x, -1), x)
    raises_like_numpy(lambda x: np.pad(x, ((1, 2, 3),)), x)
    raises_like_numpy(lambda x: np.pad(x, 1.5), x)  # type: ignore[call-overload]
    for bad in (lambda x: np.pad(x, 1, mode="edge"), lambda x: np.repeat(x, x.astype(np.int64).ravel())):
        with pytest.raises(UnsupportedOperationError, match=r"test_layout\.py"):
            ed.jit(bad)(x)
