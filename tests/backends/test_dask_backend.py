"""The Dask backend: results over chunked arrays equal the NumPy backend's (exactly for
elementwise work and ints; float sums within n * eps * sum(|terms|), their reordering bound)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from egraph_dsl.backends import native_build
from hypothesis import given, settings
from hypothesis import strategies as st

import egraph_dsl as ed
from egraph_dsl.errors import BackendError
from egraph_dsl.facade.demo_reactivity import Data, hand_value_and_grad_for, log_posterior_for, make_data

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

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


# jitted once: examples of one shape reuse a specialization (NumPy per chunk: bit for bit)
_ELEMENTWISE = (ed.jit(_elementwise, backend="dask", chunk_backend="numpy"), ed.jit(_elementwise, backend="numpy"))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(floats, floats), min_size=1, max_size=40), st.integers(1, 7))
def test_elementwise_chunked_exact(rows: list[tuple[float, float]], chunk: int) -> None:
    x = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    ours, ref = _ELEMENTWISE
    for g, w in zip(ours(da.from_array(x, chunks=chunk), da.from_array(y, chunks=chunk)), ref(x, y), strict=True):
        _same(g, w)


def _reductions(x: Any) -> Any:
    return np.sum(x * x, axis=0), np.max(x, axis=0), np.min(x + 1.0), np.sum(x)


_REDUCTIONS = (ed.jit(_reductions, backend="dask", chunk_backend="numpy"), ed.jit(_reductions, backend="numpy"))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(floats, min_size=3, max_size=3), min_size=1, max_size=30), st.integers(1, 6))
def test_tree_reductions_match_numpy(rows: list[list[float]], chunk: int) -> None:
    x = np.array(rows)
    ours, ref = _REDUCTIONS
    got = ours(da.from_array(x, chunks=(chunk, 3)))
    want = ref(x)
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

    got = ed.jit(f, backend="dask", chunk_backend="numpy")(da.from_array(x, chunks=(17, 4)))
    want = ed.jit(f)(x)
    _same(got, want, 200, np.ones(4))


def test_ints_exact_and_zero_d() -> None:
    x = np.arange(-500, 700, dtype=np.int64)

    def f(a: Any, s: Any) -> Any:
        return np.sum(a * a - 3), a * s

    got = ed.jit(f, backend="dask", chunks=97, chunk_backend="numpy")(x, np.int64(5))
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

    got = ed.jit(gram, backend="dask", chunk_backend="numpy")(da.from_array(a, chunks=(64, 8)))
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
    value = ed.jit(_posterior, backend="dask", chunk_backend="numpy")(theta, *chunked)
    want = ed.jit(_posterior)(theta, i, j, y)
    _same(value, want, 5000, 10.0 * 5000)
    vg_dask = ed.jit(ed.value_and_grad(_posterior), backend="dask", chunk_backend="numpy")
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
    graph = ed.jit(_posterior, backend="dask", compute=False, chunk_backend="numpy")(theta, *lazy)
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


# ---------------------------------------------------------------- one task per chunk per segment

NATIVE = native_build.compiler() is not None


def _reactivity(M: int, K: int) -> Any:
    def model(th: Any, i: Any, j: Any, y: Any) -> Any:
        return log_posterior_for(Data(M, K, i, j, y))(th)

    return model


def _graph(outs: Any) -> dict[Any, Any]:
    from dask.highlevelgraph import HighLevelGraph

    outs = [o for o in (outs if isinstance(outs, (tuple, list)) else [outs]) if isinstance(o, da.Array)]
    return dict(HighLevelGraph.merge(*(o.__dask_graph__() for o in outs)))


def _tasks(outs: Any, inputs: list[Any]) -> dict[str, int]:
    """Keys of the graph of ``outs`` not from ``inputs``, counted by layer kind (data keys hold values)."""
    known = set().union(*(set(_graph(a)) for a in inputs))
    counts: dict[str, int] = {}
    for key in _graph(outs):
        if key in known:
            continue
        name = key[0] if isinstance(key, tuple) else key
        kind = name.rsplit("-", 1)[-1].rstrip("0123456789")
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _last_lowering(fn: Any) -> Any:
    jitted = fn.jitted if hasattr(fn, "jitted") else fn
    return jitted._last.executable.last


def test_value_and_grad_is_one_task_per_chunk() -> None:
    data, theta = make_data(40, 6000, K=4, seed=5)
    model = _reactivity(data.M, data.K)
    lazy = [da.from_array(v, chunks=1000) for v in (data.i, data.j, data.y)]
    ours = ed.value_and_grad(model, backend="dask", compute=False)
    outs = ours(theta, *lazy)
    low = _last_lowering(ours)
    assert not low.lazy and set(low.segments) == {0} and low.segments[0].code.backend == ("native" if NATIVE else "numpy")
    counts = _tasks(outs, lazy)
    # 6 chunk tasks (gathers, matmuls, softplus, sigmoids and 7 partial sums/scatters each), one combine,
    # one tail (the prior terms and the concatenated gradient), one pick per returned value
    assert counts.pop("data", 0) >= 1  # the small values of theta, computed on the client, each held once
    assert counts.pop("code") == 2  # the segment's and the tail's sub-plans, each held once
    assert counts == {"seg": 6, "combine": 1, "tail": 1, "small": 2}
    per_op = ed.value_and_grad(model, backend="dask", compute=False, fuse=False)(theta, *lazy)
    assert sum(_tasks(per_op, lazy).values()) > 20 * sum(counts.values())
    v, g = (np.asarray(o) for o in dask.compute(*outs))
    v2, g2 = ed.value_and_grad(model, backend="numpy")(theta, data.i, data.j, data.y)
    hv, hg = hand_value_and_grad_for(data)(theta)
    n = len(data.y)
    _same(v, v2, n, 10.0 * n)
    _same(g, g2, n, 10.0 * n * np.ones_like(g2))
    assert abs(v - hv) <= 1e-9 * abs(hv) and np.max(np.abs(g - hg)) <= 1e-9 * np.max(np.abs(hg))


@pytest.mark.parametrize("chunk_backend", ["numpy", pytest.param("native", marks=pytest.mark.skipif(
    not NATIVE, reason="no C++ compiler"))])
def test_reactivity_gradient_threaded(chunk_backend: str) -> None:
    data, theta = make_data(40, 6003, K=4, seed=7)  # chunks of 1000 (the plan above: its kernel) and a last one of 3
    model = _reactivity(data.M, data.K)
    lazy = [da.from_array(v, chunks=1000) for v in (data.i, data.j, data.y)]
    v, g = ed.value_and_grad(model, backend="dask", chunk_backend=chunk_backend)(theta, *lazy)
    v2, g2 = ed.value_and_grad(model, backend="numpy")(theta, data.i, data.j, data.y)
    n = len(data.y)
    _same(v, v2, n, 10.0 * n)
    _same(g, g2, n, 10.0 * n * np.ones_like(g2))
    assert g.dtype == g2.dtype and g.shape == g2.shape


def _two_stage(a: Any) -> Any:
    centered = a - np.mean(a, axis=0)
    return np.sum(centered * centered, axis=0), np.max(np.abs(centered)), centered


def test_reduction_then_rows_again_is_a_second_segment() -> None:
    x = np.random.default_rng(4).standard_normal((1000, 3)) * 5.0 + 2.0
    fn = ed.jit(_two_stage, backend="dask", chunk_backend="numpy")
    got = fn(da.from_array(x, chunks=(128, 3)))
    want = ed.jit(_two_stage, backend="numpy")(x)
    low = _last_lowering(fn)
    assert set(low.segments) == {0, 1} and not low.lazy
    scale = np.sum(np.abs(x), axis=0)
    _same(got[0], want[0], 2000, np.sum((np.abs(x) + scale / 1000) ** 2, axis=0))
    assert abs(got[1] - want[1]) <= 2000 * np.finfo(float).eps * np.max(scale)
    np.testing.assert_allclose(got[2], want[2], rtol=0, atol=1000 * np.finfo(float).eps * np.max(scale) / 1000 * 4)


def _lse_max_min(a: Any) -> Any:
    return ed.logsumexp(a, axis=0), ed.logsumexp(a * 0.5), np.max(a, axis=0), np.min(a), np.mean(a, axis=0)


@pytest.mark.parametrize("chunk_backend", ["numpy", pytest.param("native", marks=pytest.mark.skipif(
    not NATIVE, reason="no C++ compiler"))])
def test_partials_edge_values(chunk_backend: str) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((300, 5)) * 40.0
    x[:, 1] = -np.inf  # an all -inf column: logsumexp -inf
    x[17, 2] = np.inf  # an inf in one chunk only
    x[250, 3] = np.nan  # a nan: max, min, logsumexp and mean are nan
    x[:100, 4] = -np.inf  # the first chunks all -inf in a column that is finite later
    fn = ed.jit(_lse_max_min, backend="dask", chunk_backend=chunk_backend)
    got = fn(da.from_array(x, chunks=(50, 5)))
    want = ed.jit(_lse_max_min, backend="numpy")(x)
    assert not _last_lowering(fn).lazy
    ulps = 1 if chunk_backend == "numpy" else 4  # the native kernels' exp and log: libmvec, within 4 ulp
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape
        assert np.array_equal(np.isnan(g), np.isnan(w)) and np.array_equal(np.isinf(g), np.isinf(w)), k
        ok = np.isfinite(w)
        tol = ulps * 300 * np.finfo(float).eps * np.maximum(np.abs(w[ok]), 1.0) * (40 if k == 4 else 1)
        assert np.all(np.abs(g[ok] - w[ok]) <= tol), (k, g, w)
        assert np.array_equal(g[~ok], w[~ok], equal_nan=True)


def _unsupported(a: Any, w: Any) -> Any:
    return np.sum(np.cumsum(a * w, axis=0) ** 2)


def test_unfit_instructions_run_op_by_op() -> None:
    x = np.random.default_rng(6).standard_normal((400, 2))
    fn = ed.jit(_unsupported, backend="dask", chunk_backend="numpy")
    got = fn(da.from_array(x, chunks=(64, 2)), np.array([1.5, -0.5]))
    low = _last_lowering(fn)
    assert [low.plan.instructions[i].op for i in low.lazy] == ["cumsum", "square", "sum"]
    want = ed.jit(_unsupported, backend="numpy")(x, np.array([1.5, -0.5]))
    assert abs(got - want) <= 400 * 400 * np.finfo(float).eps * abs(want)


def test_rows_chunked_differently_are_rechunked() -> None:
    theta, i, j, y = _posterior_data(3000)
    args = (theta, da.from_array(i, chunks=700), da.from_array(j, chunks=1000), da.from_array(y, chunks=256))
    fn = ed.jit(_posterior, backend="dask", chunk_backend="numpy")
    got = fn(*args)
    assert not _last_lowering(fn).lazy
    _same(got, ed.jit(_posterior, backend="numpy")(theta, i, j, y), 3000, 10.0 * 3000)


# ---------------------------------------------------------------- chunking the plan needs


def _row_norms(x: Any, w: Any) -> Any:
    return np.sum(np.exp(-x * x), axis=1), x @ w


def test_split_columns_are_rechunked_when_cheap() -> None:
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((600, 6)), rng.standard_normal((6, 2))
    fn = ed.jit(_row_norms, backend="dask", chunk_backend="numpy")
    got = fn(da.from_array(x, chunks=(100, 2)), w)  # columns split in 3: whole rows are 4.7 KiB chunks
    low = _last_lowering(fn)
    assert not low.lazy and set(low.segments) == {0}
    want = ed.jit(_row_norms, backend="numpy")(x, w)
    _same(got[0], want[0], 6, np.full(600, 1.0))
    _same(got[1], want[1], 6, np.abs(x) @ np.abs(w))


def test_split_columns_too_large_to_rechunk_are_refused() -> None:
    x = np.ones((600, 64))
    w = np.ones((64, 2))
    split = da.from_array(x, chunks=(100, 16))  # whole rows: 100 x 64 x 8 = 50 KiB per chunk
    with dask.config.set({"array.chunk-size": "4KiB"}):
        with pytest.raises(BackendError, match=r"sum \(v\d+\) reduces over axis 1 of x, which is split into 4 chunks "
                                               r"\(16, 16, 16, \.\.\.\).*e\.g\. \.rechunk\(\{0: 8, 1: -1\}\)"):
            ed.jit(lambda x: np.sum(x * 2.0, axis=1), backend="dask")(split)
        with pytest.raises(BackendError, match=r"matmul \(v\d+\) contracts axis 1 of x"):
            ed.jit(lambda x, w: x @ w, backend="dask")(split, w)
        # elementwise work and reductions over the rows need no whole rows: op by op, as Dask chunks it
        got = ed.jit(lambda x: np.sum(np.sqrt(x) + 1.0, axis=0), backend="dask")(split)
    np.testing.assert_array_equal(got, np.full(64, 1200.0))


def test_first_call_reads_only_the_first_rows() -> None:
    """Tracing and the error model's samples read a Dask argument's first rows only (np.asarray of
    it would compute it all on the client); computing reads every chunk once."""
    read: list[Any] = []

    def tracked(block: Any, block_info: Any = None) -> Any:
        read.append(block_info[0]["chunk-location"][0])
        return block

    x = da.from_array(np.arange(100_000.0), chunks=10_000).map_blocks(tracked, dtype=np.float64)
    graph = ed.jit(lambda a: np.sum(np.exp(-a * a)), backend="dask", compute=False)(x)
    assert sorted(read) == [0, 1]  # 2**14 rows: the first two chunks
    read.clear()
    assert abs(float(graph.compute()) - float(np.sum(np.exp(-np.arange(100_000.0) ** 2)))) < 1e-12
    assert sorted(read) == list(range(10))
