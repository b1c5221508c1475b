"""Dask benchmark (issue 16): the reactivity model's log-posterior (egraph_dsl/facade/demo_reactivity.py)
over data on disk, side by side in one run:

* naive: the NumPy log-posterior as written, evaluated on ``dask.array`` inputs directly (what a
  Dask user writes today: theta and the data as Dask arrays, every NumPy call a Dask op);
* ours on Dask: ``ed.jit(model, backend="dask")`` (one task per chunk running the fused native
  kernel, partial sums combined by a tree), and its value and gradient;
* ours in memory: ``ed.jit(model)`` on the arrays loaded into memory, where they fit.

The data (pairs i, j and outcomes y, simulated from the model) is written once per N to .npy files
(``--dir``, reused by later runs) and read lazily, each chunk by the worker that needs it
(``dask_backend.from_npy``). Every evaluation runs on a LocalCluster of 1 and 2 worker processes
(1 thread each). Reported: seconds per evaluation (best of ``--repeat`` after a warm-up that
includes tracing and kernel builds), the peak RSS of the client and of each worker during each
system's evaluations (peaks reset between systems), ours/naive, and the 1 -> 2 worker scaling.

    .venv/bin/python benchmarks/bench_dask.py --n 1000000 10000000 --workers 1 2
"""

from __future__ import annotations

import os

# one BLAS thread, as distributed gives its workers (pre-spawn-environ) and `make bench` the client:
# OpenBLAS's threads spin against the workers otherwise (in memory at N = 1e6: 0.57 s vs 0.08 s here)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import egraph_dsl as ed  # noqa: E402
from egraph_dsl.facade.demo_reactivity import Data, log_posterior_for, unpack  # noqa: E402


def peak_rss_mib() -> float:
    """This process's peak resident set since the last reset (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def reset_peak() -> None:
    """Reset VmHWM to the current resident set (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def write_data(folder: Path, M: int, K: int, N: int, seed: int, block: int = 5_000_000) -> tuple[np.ndarray, list[Path]]:
    """theta and the files i.npy, j.npy, y.npy of N pairs simulated from the model (written a block
    at a time, so N may exceed memory); reused when a previous run wrote the same data."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(M * K + K * K + M + 1) * 0.5
    paths = [folder / f"{name}.npy" for name in ("i", "j", "y")]
    meta = folder / "meta.json"
    want = {"M": M, "K": K, "N": N, "seed": seed}
    if meta.exists() and json.loads(meta.read_text()) == want and all(p.exists() for p in paths):
        return theta, paths
    P, W, c, b0 = unpack(theta, Data(M, K, np.zeros(0), np.zeros(0), np.zeros(0)))
    files = [np.lib.format.open_memmap(p, mode="w+", dtype=dt, shape=(N,)) for p, dt in
             zip(paths, (np.int64, np.int64, np.float64), strict=True)]
    for start in range(0, N, block):
        n = min(block, N - start)
        i, j = rng.integers(0, M, n), rng.integers(0, M, n)
        z = np.sum((P[i] @ W) * P[j], axis=1) + c[i] + c[j] + b0
        y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.float64)
        for f, v in zip(files, (i, j, y), strict=True):
            f[start:start + n] = v
    for f in files:
        f.flush()
    del files
    meta.write_text(json.dumps(want))
    return theta, paths


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    value = fn()  # warm-up: tracing, optimization, kernel builds, graph construction
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def measured(client: Any, fn: Callable[[], Any], repeat: int) -> tuple[float, Any, float, list[float]]:
    """Seconds (best of repeat), the value, and the peak RSS (MiB) of the client and of each worker."""
    reset_peak()
    client.run(reset_peak)
    seconds, value = best(fn, repeat)
    workers = client.run(peak_rss_mib)
    return seconds, value, peak_rss_mib(), [workers[w] for w in sorted(workers)]


def main() -> None:
    da: Any = importlib.import_module("dask.array")  # dask ships no complete annotations
    distributed: Any = importlib.import_module("distributed")
    from egraph_dsl.backends.dask_backend import from_npy

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n", type=float, nargs="+", default=[1e6, 1e7])
    ap.add_argument("--m", type=int, default=200)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--chunk", type=int, default=1_000_000, help="rows per chunk (at most N/8)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--once-above", type=float, default=5e7, help="above this N, one timed run after the warm-up")
    ap.add_argument("--in-memory-max", type=float, default=2e7, help="largest N also run in memory")
    ap.add_argument("--dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "egd-bench-dask")
    ap.add_argument("--no-naive-above", type=float, default=float("inf"), help="skip the naive run above this N")
    args = ap.parse_args()
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    rows = []
    for n_float in args.n:
        N = int(n_float)
        chunk = min(args.chunk, math.ceil(N / 8))
        repeat = 1 if N > args.once_above else args.repeat
        t0 = time.perf_counter()
        theta, paths = write_data(args.dir / f"n{N}", args.m, args.k, N, seed=0)
        print(f"N={N:.0e}: data ready in {time.perf_counter() - t0:.1f} s ({sum(p.stat().st_size for p in paths) / 2**30:.2f} "
              f"GiB on disk), chunks of {chunk} rows")
        M, K = args.m, args.k

        def model(th: Any, i: Any, j: Any, y: Any) -> Any:
            return log_posterior_for(Data(M, K, i, j, y))(th)

        lazy = [from_npy(p, chunks=chunk) for p in paths]
        ours = ed.jit(model, backend="dask")
        ours_vg = ed.value_and_grad(model, backend="dask")
        for w in args.workers:
            with distributed.LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=":0",
                                          memory_limit=f"{max(2, 20 // w)}GiB") as cluster, \
                    distributed.Client(cluster) as client:
                load = os.getloadavg()[0]
                if N <= args.no_naive_above:
                    naive = lambda: float(log_posterior_for(Data(M, K, *lazy))(da.from_array(theta)).compute())
                    t_naive, v_naive, c_naive, w_naive = measured(client, naive, repeat)
                else:
                    t_naive, v_naive, c_naive, w_naive = float("nan"), float("nan"), float("nan"), []
                t_ours, v_ours, c_ours, w_ours = measured(client, lambda: float(ours(theta, *lazy)), repeat)
                t_vg, _vg, c_vg, w_vg = measured(client, lambda: ours_vg(theta, *lazy), repeat)
                gap = abs(v_ours - v_naive) / abs(v_naive)
                row = {"N": N, "workers": w, "naive": t_naive, "ours": t_ours, "ours_vg": t_vg, "mem": float("nan"),
                       "naive_rss": (c_naive, w_naive), "ours_rss": (c_ours, w_ours), "vg_rss": (c_vg, w_vg),
                       "gap": gap, "load": load, "chunk": chunk}
                rows.append(row)
                print(f"  workers={w}: naive {t_naive:.3f} s, ours {t_ours:.3f} s (ours/naive {t_ours / t_naive:.3f}), "
                      f"ours value+grad {t_vg:.3f} s; |ours-naive|/|naive| {gap:.1e}; load {load:.2f}")
                print(f"    peak RSS MiB, client / workers: naive {c_naive:.0f} / {_mib(w_naive)}, ours {c_ours:.0f} / "
                      f"{_mib(w_ours)}, ours value+grad {c_vg:.0f} / {_mib(w_vg)}")
        if N <= args.in_memory_max:  # last: the in-memory executable keeps its buffers (client RSS)
            arrays = [np.load(p) for p in paths]
            ours_mem = ed.jit(model)
            t_mem, _ = best(lambda: float(ours_mem(theta, *arrays)), repeat)
            print(f"  ours in memory ({ours_mem.lower(theta, *arrays).backend} backend): {t_mem:.3f} s")
            for r in rows:
                if r["N"] == N:
                    r["mem"] = t_mem
            del arrays, ours_mem
    _table(rows)


def _mib(values: list[float]) -> str:
    return "+".join(f"{v:.0f}" for v in values) or "-"


def _table(rows: list[dict[str, Any]]) -> None:
    print("\nseconds per evaluation (best of repeats); RSS: peak MiB, client / each worker")
    head = (f"{'N':>7} {'w':>2} {'naive dask':>10} {'ours dask':>9} {'ours/naive':>10} {'ours v+g':>8} {'in memory':>9} "
            f"{'naive RSS':>16} {'ours RSS':>16} {'v+g RSS':>16} {'scale naive':>11} {'scale ours':>10}")
    print(head)
    by = {(r["N"], r["workers"]): r for r in rows}
    for r in rows:
        one = by.get((r["N"], 1))
        scale_naive = one["naive"] / r["naive"] if one and r["workers"] != 1 else float("nan")
        scale_ours = one["ours"] / r["ours"] if one and r["workers"] != 1 else float("nan")

        def rss(pair: tuple[float, list[float]]) -> str:
            return f"{pair[0]:.0f}/{_mib(pair[1])}"

        print(f"{r['N']:>7.0e} {r['workers']:>2} {r['naive']:>10.3f} {r['ours']:>9.3f} {r['ours'] / r['naive']:>10.3f} "
              f"{r['ours_vg']:>8.3f} {r['mem']:>9.3f} {rss(r['naive_rss']):>16} {rss(r['ours_rss']):>16} "
              f"{rss(r['vg_rss']):>16} {scale_naive:>11.2f} {scale_ours:>10.2f}")


if __name__ == "__main__":
    main()
