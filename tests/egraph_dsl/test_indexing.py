"""Indexing traced arrays: basic indexing (slice + reshape) and gathers (take), against NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import egraph_dsl as ed
from egraph_dsl.errors import UnsupportedOperationError
from egraph_dsl.program import evaluate

EDGE = [-0.0, 0.0, np.nan, np.inf, -np.inf, 1.5, -2.0]


def values(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(np.array(EDGE), size=shape) if shape else np.array(rng.choice(EDGE))


def assert_same(got: Any, want: Any) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))


def traced(fn: Any, *args: Any) -> Any:
    (out,) = evaluate(ed.trace(fn, *args), list(args))
    return out


@st.composite
def basic_keys(draw: Any) -> tuple[tuple[int, ...], tuple[Any, ...]]:
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))
    bound = st.one_of(st.none(), st.integers(-6, 6))
    items: list[Any] = []
    for n in shape:
        if n and draw(st.booleans()) and draw(st.booleans()):
            items.append(draw(st.integers(-n, n - 1)))
        else:
            items.append(slice(draw(bound), draw(bound), draw(st.one_of(st.none(), st.sampled_from([1, 2, 3, -1, -2, -3])))))
    items = items[:draw(st.integers(0, len(items)))]  # fewer indices than axes: the rest are full
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    if draw(st.booleans()):  # ... stands for the axes no other item indexes (perhaps none)
        items.insert(draw(st.integers(0, len(items))), Ellipsis)
    return shape, tuple(items)


@given(basic_keys(), st.integers(0, 100))
def test_basic_indexing_matches_numpy(case: tuple[tuple[int, ...], tuple[Any, ...]], seed: int) -> None:
    shape, key = case
    x = values(shape, seed)
    try:  # an int drawn for one axis may land on a shorter one once ... moves the items
        want = x[key]
    except IndexError as exc:
        with pytest.raises(IndexError, match="out of bounds"):
            traced(lambda a: a[key], x)
        assert "out of bounds" in str(exc)
        return
    assert_same(traced(lambda a: a[key], x), want)


@pytest.mark.parametrize("key", [
    np.s_[1:], np.s_[1:-1], np.s_[::2], np.s_[-1], np.s_[::-1], np.s_[::-3], np.s_[5:1:-2], np.s_[:, None],
    np.s_[..., None], np.s_[None], np.s_[...], np.s_[0:0], np.s_[10:], np.s_[-100:100], np.s_[()],
])
def test_spelled_basic_keys_on_a_vector(key: Any) -> None:
    x = values((7,), 1)
    assert_same(traced(lambda a: a[key], x), x[key])


@pytest.mark.parametrize("key", [np.s_[:, 0], np.s_[..., None], np.s_[1, ::-2], np.s_[None, :, -1],
                                 np.s_[-1, -1], np.s_[::2, 1:], np.s_[..., 0], np.s_[0, ...]])
def test_spelled_basic_keys_on_a_matrix(key: Any) -> None:
    x = values((4, 5), 2)
    assert_same(traced(lambda a: a[key], x), x[key])


def test_zero_d_arrays_index_with_none_and_ellipsis() -> None:
    x = np.array(-0.0)
    for key in (np.s_[None], np.s_[...], np.s_[()]):
        assert_same(traced(lambda a: a[key], x), x[key])


def test_finite_differences_jit_through_the_default_rulesets() -> None:
    def laplacian(u: Any) -> Any:
        return (u[2:] - 2.0 * u[1:-1] + u[:-2]) / 0.01

    f = ed.jit(laplacian)
    u = np.sin(np.linspace(0.0, 3.0, 50))
    np.testing.assert_array_equal(f(u), laplacian(u))
    out = f(u)
    out[:] = 0.0  # a fresh array, never a view of the argument
    assert u[0] == 0.0 and np.all(u[1:] != 0.0)
    g = ed.jit(lambda x: (x[::-1], x[1:], x.T[0]))
    x = np.arange(12.0).reshape(3, 4)
    for got, want in zip(g(x), (x[::-1], x[1:], x.T[0]), strict=True):
        assert_same(got, want)
        assert not np.shares_memory(got, x)


def test_basic_index_errors_are_numpys() -> None:
    x = np.ones((3, 4))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        ed.trace(lambda a: a[3], x)
    with pytest.raises(IndexError, match="out of bounds for axis 1 with size 4"):
        ed.trace(lambda a: a[:, -5], x)
    with pytest.raises(IndexError, match="too many indices"):
        ed.trace(lambda a: a[0, 0, 0], x)
    with pytest.raises(IndexError, match="single ellipsis"):
        ed.trace(lambda a: a[..., ...], x)
    with pytest.raises(ValueError, match="step cannot be zero"):
        ed.trace(lambda a: a[::0], x)
    with pytest.raises(IndexError, match="only integers"):
        ed.trace(lambda a: a[1.5], x)


# ------------------------------------------------------------------------------ gathers


@st.composite
def gathers(draw: Any) -> tuple[np.ndarray, int, np.ndarray]:
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    axis = draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    idx_shape = tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=2)))
    idx = np.asarray(draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(idx_shape)),
                                   max_size=int(np.prod(idx_shape)))), dtype=draw(st.sampled_from(["int64", "int32"])))
    return values(shape, draw(st.integers(0, 50))), axis, idx.reshape(idx_shape)


@given(gathers())
def test_take_and_integer_array_indexing_match_numpy(case: tuple[np.ndarray, int, np.ndarray]) -> None:
    x, axis, idx = case
    assert_same(traced(lambda a, i: np.take(a, i, axis=axis), x, idx), np.take(x, idx, axis=axis))
    key = (slice(None),) * axis + (idx,)
    assert_same(traced(lambda a, i: a[(slice(None),) * axis + (i,)], x, idx), x[key])
    assert_same(traced(lambda a: a[key], x), x[key])  # the index closed over: a constant


@pytest.mark.parametrize("key", [
    lambda r, c: np.s_[r, c], lambda r, c: np.s_[r[:, None], c], lambda r, c: np.s_[0, :, c],
    lambda r, c: np.s_[r, :, c], lambda r, c: np.s_[:, r, c], lambda r, c: np.s_[r, 1], lambda r, c: np.s_[..., c],
    lambda r, c: np.s_[None, r, c], lambda r, c: np.s_[r, ::-1, 0],
])
def test_several_index_arrays_follow_numpys_placement(key: Any) -> None:
    x = values((4, 5, 5), 3)
    rows, cols = np.array([0, -1, 2, 1]), np.array([4, 0, -5, 2])
    assert_same(traced(lambda a, r, c: a[key(r, c)], x, rows, cols), x[key(rows, cols)])


def test_the_motivating_models_jit_through_the_default_rulesets() -> None:
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    i, j = rng.integers(0, 6, size=40), rng.integers(0, 5, size=40)

    def pairwise(A: Any, B: Any, i: Any, j: Any) -> Any:
        return np.sum(A[i] * B[j], axis=1)

    np.testing.assert_allclose(ed.jit(pairwise)(A, B, i, j), pairwise(A, B, i, j), rtol=1e-14)
    mu, group = rng.normal(size=4), rng.integers(0, 4, size=30)
    y = rng.normal(size=30)

    def hierarchical(mu: Any) -> Any:
        return -0.5 * np.sum((y - mu[group]) ** 2)

    assert ed.jit(hierarchical)(mu) == pytest.approx(hierarchical(mu), rel=1e-13)
    logits, labels = rng.normal(size=(30, 4)), group

    def nll(z: Any) -> Any:
        return -np.sum(z[np.arange(30), labels])

    assert ed.jit(nll)(logits) == pytest.approx(nll(logits), rel=1e-13)


def test_out_of_bounds_gathers_raise_index_error_at_run_time() -> None:
    x = np.arange(5.0)
    f = ed.jit(lambda a, i: a[i])
    assert f(x, np.array([4, -5])).tolist() == [4.0, 0.0]
    with pytest.raises(IndexError):
        f(x, np.array([5]))
    with pytest.raises(IndexError):
        f(x, np.array([-6]))
    g = ed.jit(lambda a, r, c: a[r, c])
    m = np.arange(12.0).reshape(3, 4)
    with pytest.raises(IndexError, match="out of bounds"):
        g(m, np.array([0]), np.array([4]))  # in range once raveled: still an error, as in NumPy
    with pytest.raises(IndexError):
        ed.jit(lambda a, i: np.take(a, i, axis=1))(m, np.array([7]))


def test_gather_errors() -> None:
    x = np.ones(4)
    with pytest.raises(UnsupportedOperationError, match=r"np\.where"):
        ed.trace(lambda a: a[a > 0], x)
    with pytest.raises(UnsupportedOperationError, match=r"np\.where"):
        ed.trace(lambda a, m: a[m], x, np.ones(4, dtype=bool))
    with pytest.raises(IndexError, match="integer"):
        ed.trace(lambda a, i: a[i], x, np.ones(2))
    with pytest.raises(IndexError, match="broadcast"):
        ed.trace(lambda a, i, j: a[i, j], np.ones((3, 3)), np.zeros(2, int), np.zeros(3, int))
    with pytest.raises(UnsupportedOperationError, match="mode"):
        ed.trace(lambda a, i: np.take(a, i, mode="wrap"), x, np.zeros(2, int))
    with pytest.raises(ed.errors.TraceError, match=r"constant\(A\)\[i\]"):
        ed.trace(lambda i: np.ones(4)[i], np.zeros(2, int))


def test_take_method_and_flat_take() -> None:
    m = values((3, 4), 5)
    i = np.array([[0, -1], [11, 3]])
    assert_same(traced(lambda a, k: a.take(k), m, i), m.take(i))
    assert_same(traced(lambda a, k: np.take(a, k, axis=-1), m, i % 4), np.take(m, i % 4, axis=-1))
    def pick(k: Any) -> Any:
        return ed.constant(np.arange(5.0))[k]

    assert_same(traced(pick, np.array([1, -1])), pick(np.array([1, -1])))  # eager: plain NumPy
