"""Dask benchmark (issue 16): the reactivity model's log-posterior (egraph_dsl/demo_reactivity.py)
on chunked data: naive NumPy code evaluated on dask.array inputs directly, ours on the Dask
backend, and ours in memory (NumPy backend), on a LocalCluster of 1 and 2 worker processes
(1 thread each). Data is written to .npy files and loaded lazily (np.load(mmap_mode="r") wrapped
by dask.array.from_array). Reports seconds per evaluation (best of --repeat, after a warm-up
that includes compilation) and the peak RSS of the client and of each worker.

    .venv/bin/python benchmarks/bench_dask.py --n 1000000 --workers 1 2
"""

from __future__ import annotations

import argparse
import importlib
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import egraph_dsl as ed
from egraph_dsl.facade.demo_reactivity import Data, log_posterior_for, make_data


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would carry the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def best(fn: Any, repeat: int) -> float:
    fn()  # warm-up: tracing, optimization, graph construction
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    da: Any = importlib.import_module("dask.array")  # dask ships no complete annotations
    distributed: Any = importlib.import_module("distributed")

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--m", type=int, default=200)
    ap.add_argument("--chunk", type=int, default=250_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for n in args.n:
        data, theta = make_data(args.m, n)
        M, K = data.M, data.K

        def model(th: Any, i: Any, j: Any, y: Any) -> Any:
            return log_posterior_for(Data(M, K, i, j, y))(th)

        ours_mem = ed.jit(model)
        ref = float(ours_mem(theta, data.i, data.j, data.y))
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for name in ("i", "j", "y"):
                files.append(Path(tmp) / f"{name}.npy")
                np.save(files[-1], getattr(data, name))
            del data
            lazy = [da.from_array(np.load(f, mmap_mode="r"), chunks=args.chunk) for f in files]
            mem = [np.load(f) for f in files]
            t_mem = best(lambda: ours_mem(theta, *mem), args.repeat)
            print(f"N={n:.0e} ours in memory (numpy backend): {t_mem:.3f} s")
            mem.clear()  # free the in-memory copy before the cluster runs
            for w in args.workers:
                with distributed.LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                              dashboard_address=None) as cluster, distributed.Client(cluster) as c:
                    naive = log_posterior_for(Data(M, K, *lazy))
                    ours = ed.jit(model, backend="dask")
                    got_naive = float(naive(da.from_array(theta)).compute())
                    got_ours = float(ours(theta, *lazy))
                    t_naive = best(lambda: naive(da.from_array(theta)).compute(), args.repeat)
                    t_ours = best(lambda: ours(theta, *lazy), args.repeat)
                    workers = c.run(peak_rss_mib)
                    print(f"N={n:.0e} workers={w}: naive numpy on dask {t_naive:.3f} s, ours on dask {t_ours:.3f} s "
                          f"(|ours-ref|={abs(got_ours - ref):.2e}, |naive-ref|={abs(got_naive - ref):.2e}); "
                          f"peak RSS client {peak_rss_mib():.0f} MiB, workers "
                          + ", ".join(f"{v:.0f}" for v in workers.values()) + " MiB")


if __name__ == "__main__":
    main()
