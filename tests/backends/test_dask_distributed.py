"""The Dask backend on a distributed LocalCluster (2 worker processes x 1 thread): the same
results, gradients summed across workers, and a worker killed mid-computation loses nothing."""

from __future__ import annotations

import importlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl.facade.demo_reactivity import Data, log_posterior_for, make_data

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", memory_limit="1GiB")  # any free port
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def _model(theta: Any, i: Any, y: Any) -> Any:
    z = theta[i] * 2.0 + theta[0]
    return np.sum(y * z - np.logaddexp(0.0, z)) - 0.5 * np.sum(theta * theta)


def _data(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.standard_normal(16), rng.integers(0, 16, n), (rng.random(n) < 0.3).astype(np.float64)


def test_value_and_grad_on_cluster(client: Any) -> None:
    theta, i, y = _data(40000)
    args = (theta, da.from_array(i, chunks=5000), da.from_array(y, chunks=5000))
    v, g = ed.jit(ed.value_and_grad(_model), backend="dask", chunk_backend="numpy")(*args)
    v2, g2 = ed.jit(ed.value_and_grad(_model))(theta, i, y)
    bound = 40000 * np.finfo(np.float64).eps * 40000 * 10.0  # n * eps * sum(|terms|), |terms| <= 10 here
    assert v.dtype == v2.dtype and g.shape == g2.shape and g.dtype == g2.dtype
    assert abs(v - v2) <= bound
    assert np.all(np.abs(g - g2) <= bound)


def test_reactivity_value_and_grad_on_cluster(client: Any) -> None:
    """The demo's model: per-chunk partial gradients (sums, scatter_adds, a contraction over the
    rows) computed on two worker processes and summed, equal to the NumPy backend's."""
    data, theta = make_data(40, 30000, K=4, seed=11)
    M, K = data.M, data.K

    def model(th: Any, i: Any, j: Any, y: Any) -> Any:
        return log_posterior_for(Data(M, K, i, j, y))(th)

    lazy = [da.from_array(v, chunks=4000) for v in (data.i, data.j, data.y)]
    vg = ed.value_and_grad(model, backend="dask")
    v, g = vg(theta, *lazy)
    low = vg.jitted._last.executable.last
    assert not low.lazy and set(low.segments) == {0}
    v2, g2 = ed.value_and_grad(model, backend="numpy")(theta, data.i, data.j, data.y)
    n = len(data.y)
    bound = n * np.finfo(np.float64).eps * n * 10.0  # n * eps * sum(|terms|), |terms| <= 10 here
    assert v.dtype == v2.dtype and g.shape == g2.shape and g.dtype == g2.dtype
    assert abs(v - v2) <= bound and np.all(np.abs(g - g2) <= bound)
    # the chunk tasks ran in the worker processes: they compiled (or loaded) the segment's kernels there
    compiled = client.run(lambda: len(importlib.import_module("egraph_dsl.backends.dask_segments")._COMPILED))
    assert len(compiled) == 2 and sum(compiled.values()) >= 1


def test_npy_files_are_read_by_the_workers(client: Any, tmp_path: Any) -> None:
    """from_npy: each chunk is read from the file by the worker running its task; the graph holds
    paths, never the data (a memmap in the graph would pickle as all of it)."""
    import pickle

    from egraph_dsl.backends.dask_backend import from_npy

    theta, i, y = _data(60000)
    for name, v in (("i", i), ("y", y)):
        np.save(tmp_path / f"{name}.npy", v)
    lazy = [from_npy(tmp_path / f"{name}.npy", chunks=8000) for name in ("i", "y")]
    graph = ed.jit(_model, backend="dask", compute=False, chunk_backend="numpy")(theta, *lazy)
    assert len(pickle.dumps(dict(graph.__dask_graph__()))) < 100_000 < i.nbytes + y.nbytes
    (culled,) = dask.optimize(graph)  # the chunk tasks read their rows themselves: no read tasks
    assert not [k for k in dict(culled.__dask_graph__()) if str(k[0] if isinstance(k, tuple) else k).startswith("npy-")]
    got = client.compute(graph).result()
    np.testing.assert_allclose(got, ed.jit(_model, backend="numpy")(theta, i, y), rtol=1e-12)


# a few seconds: the killed worker's tasks rerun on the other while the nanny restarts it (the last
# test of the module: the cluster it leaves has a new worker process)
def test_worker_killed_mid_computation(client: Any) -> None:
    theta, i, y = _data(12000)

    def slow_copy(block: Any) -> Any:  # pickled by value: the workers need not import this module
        time.sleep(0.3)
        return block.copy()

    slow_y = da.from_array(y, chunks=1000).map_blocks(slow_copy, dtype=y.dtype)
    graph = ed.jit(_model, backend="dask", compute=False, chunk_backend="numpy")(theta, da.from_array(i, chunks=1000),
                                                                                 slow_y)
    pids_before = client.run(os.getpid)
    future = client.compute(graph)
    deadline = time.monotonic() + 30.0
    while not any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = next(w for w, tasks in sorted(client.processing().items()) if tasks)  # one that holds tasks now
    os.kill(pids_before[victim], signal.SIGKILL)
    result = future.result(timeout=120)
    assert future.status == "finished"
    np.testing.assert_allclose(result, ed.jit(_model)(theta, i, y), rtol=1e-12)
    client.wait_for_workers(2, timeout=60)
    assert pids_before[victim] not in client.run(os.getpid).values()  # the killed process really died
