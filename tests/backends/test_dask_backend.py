"""The Dask backend: results over chunked arrays equal the NumPy backend's (exactly for
elementwise work and ints; float sums within n * eps * sum(|terms|), their reordering bound)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import egraph_dsl as ed
from egraph_dsl.errors import BackendError

da = pytest.importorskip("dask.array")

EDGE = [0.0, -0.0, 1.0, -1.5, np.inf, -np.inf, np.nan, 1e300, -1e-300]
floats = st.one_of(st.sampled_from(EDGE), st.floats(-1e3, 1e3))


def _same(got: Any, want: Any, n_terms: int = 1, scale: Any = 0.0) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    if want.dtype.kind != "f" or n_terms <= 1:
        np.testing.assert_array_equal(got, want)  # NaN == NaN here; signed zeros checked below
        assert np.array_equal(np.signbit(got), np.signbit(want))
        return
    bound = n_terms * np.finfo(want.dtype).eps * np.asarray(scale)
    # an overflowed bound allows nothing beyond agreement on which results overflowed
    assert np.array_equal(np.isinf(got) & ~np.isfinite(bound), np.isinf(want) & ~np.isfinite(bound))
    with np.errstate(invalid="ignore"):
        close = (np.abs(got - want) <= bound) | (np.isnan(got) & np.isnan(want)) | (got == want)
    assert close.all(), (got, want, bound)


def _elementwise(x: Any, y: Any) -> Any:
    return np.where(x > y, np.exp(-np.abs(x)) * y, x - 2.0 * y), np.maximum(x, y) + 0.5


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(floats, floats), min_size=1, max_size=40), st.integers(1, 7))
def test_elementwise_chunked_exact(rows: list[tuple[float, float]], chunk: int) -> None:
    x = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    ours = ed.jit(_elementwise, backend="dask")
    ref = ed.jit(_elementwise)
    for g, w in zip(ours(da.from_array(x, chunks=chunk), da.from_array(y, chunks=chunk)), ref(x, y), strict=True):
        _same(g, w)


def _reductions(x: Any) -> Any:
    return np.sum(x * x, axis=0), np.max(x, axis=0), np.min(x + 1.0), np.sum(x)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(floats, min_size=3, max_size=3), min_size=1, max_size=30), st.integers(1, 6))
def test_tree_reductions_match_numpy(rows: list[list[float]], chunk: int) -> None:
    x = np.array(rows)
    got = ed.jit(_reductions, backend="dask")(da.from_array(x, chunks=(chunk, 3)))
    want = ed.jit(_reductions)(x)
    n = x.shape[0]
    finite = np.where(np.isfinite(x), np.abs(x), 0.0)
    with np.errstate(over="ignore"):
        squares = np.sum(finite * finite, axis=0)
    _same(got[0], want[0], n, squares)
    _same(got[1], want[1])
    _same(got[2], want[2])
    _same(got[3], want[3], n * 3, np.sum(finite))


def test_logsumexp_across_chunks() -> None:
    x = np.random.default_rng(0).standard_normal((200, 4)) * 30.0
    x[3, 1] = np.inf
    x[:, 2] = -np.inf

    def f(a: Any) -> Any:
        return ed.logsumexp(a, axis=0) if hasattr(ed, "logsumexp") else np.log(np.sum(np.exp(a), axis=0))

    got = ed.jit(f, backend="dask")(da.from_array(x, chunks=(17, 4)))
    want = ed.jit(f)(x)
    _same(got, want, 200, np.ones(4))


def test_ints_exact_and_zero_d() -> None:
    x = np.arange(-500, 700, dtype=np.int64)

    def f(a: Any, s: Any) -> Any:
        return np.sum(a * a - 3), a * s

    got = ed.jit(f, backend="dask", chunks=97)(x, np.int64(5))
    want = ed.jit(f)(x, np.int64(5))
    for g, w in zip(got, want, strict=True):
        _same(g, w)
    empty = ed.jit(lambda a: np.sum(a * 2.0), backend="dask", chunks=4)(np.zeros(0))
    _same(empty, np.float64(0.0))


def test_matmul_contraction_over_chunked_axis() -> None:
    rng = np.random.default_rng(1)
    a, w = rng.standard_normal((300, 8)), rng.standard_normal((8, 3))

    def gram(x: Any) -> Any:
        return x.T @ x, x @ w

    got = ed.jit(gram, backend="dask")(da.from_array(a, chunks=(64, 8)))
    want = ed.jit(gram)(a)
    _same(got[0], want[0], 300, np.abs(a).T @ np.abs(a))
    _same(got[1], want[1], 8, np.abs(a) @ np.abs(w))


def _posterior(theta: Any, i: Any, j: Any, y: Any) -> Any:
    p = theta[:20].reshape(10, 2)
    z = np.sum(p[i] * p[j], axis=1) + theta[20]
    return np.sum(y * z - np.logaddexp(0.0, z)) - 0.5 * np.sum(theta * theta)


def _posterior_data(n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(2)
    return (rng.standard_normal(21) * 0.5, rng.integers(0, 10, n), rng.integers(0, 10, n),
            (rng.random(n) < 0.5).astype(np.float64))


def test_gather_and_gradients_per_chunk() -> None:
    theta, i, j, y = _posterior_data(5000)
    chunked = [da.from_array(v, chunks=700) for v in (i, j, y)]
    value = ed.jit(_posterior, backend="dask")(theta, *chunked)
    want = ed.jit(_posterior)(theta, i, j, y)
    _same(value, want, 5000, 10.0 * 5000)
    vg_dask = ed.jit(ed.value_and_grad(_posterior), backend="dask")
    v, g = vg_dask(theta, *chunked)
    v2, g2 = ed.jit(ed.value_and_grad(_posterior))(theta, i, j, y)
    _same(v, v2, 5000, 10.0 * 5000)
    _same(g, g2, 5000, 10.0 * 5000 * np.ones(21))


def test_memmap_inputs_stay_lazy(tmp_path: Path) -> None:
    theta, i, j, y = _posterior_data(20000)
    paths = []
    for name, v in (("i", i), ("j", j), ("y", y)):
        paths.append(tmp_path / f"{name}.npy")
        np.save(paths[-1], v)
    lazy = [da.from_array(np.load(p, mmap_mode="r"), chunks=4096) for p in paths]
    graph = ed.jit(_posterior, backend="dask", compute=False)(theta, *lazy)
    assert isinstance(graph, da.Array) and graph.shape == ()
    assert all(isinstance(v, da.Array) for v in lazy)  # nothing was read into client memory to build it
    _same(graph.compute(), ed.jit(_posterior)(theta, i, j, y), 20000, 10.0 * 20000)


def test_unknown_option_and_unlowerable_scatter() -> None:
    with pytest.raises(TypeError, match="chunks= and compute="):
        ed.jit(lambda a: a + 1.0, backend="dask", bogus=1)(np.ones(3))
    from egraph_dsl.backends.dask_backend import _scatter_add

    from egraph_dsl.plan import Instruction

    ins = Instruction("scatter_add", (0, 1), 2, (("dim", 1), ("size", 4)), (3, 4), "float64", "float64", None)
    with pytest.raises(BackendError, match="only along axis 0"):
        _scatter_add(ins, da.ones((3, 5), chunks=2), da.zeros(5, dtype=np.int64, chunks=2))
