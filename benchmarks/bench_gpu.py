"""GPU benchmark: fused CuPy plans vs eager CuPy vs the NumPy backend (needs an NVIDIA GPU).

Workloads: the reactivity log-posterior (N=10^6 rows, K=16 features: ``X @ w + b``, a
Bernoulli-logistic log-likelihood and a normal prior) and a 10^8-element elementwise chain.
Prints times, ratios and the fraction of the device's memory bandwidth each run reached.

    python benchmarks/bench_gpu.py [--small] [--repeat 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from egraph_dsl.backends import cupy_backend, numpy_backend
from egraph_dsl.backends.cupy_cost import H200

from egraph_dsl.errors import BackendUnavailableError
from egraph_dsl.plan import build_plan
from egraph_dsl.trace import trace_function


def log_posterior(X: Any, y: Any, w: Any, b: Any) -> Any:
    z = X @ w + b
    loglik = np.sum(y * z - np.logaddexp(0.0, z))
    return loglik - 0.5 * np.sum(w * w) - 0.5 * b * b


def chain(x: Any) -> Any:
    return np.tanh(np.exp(-np.abs(x) * 0.5) + np.sqrt(x * x + 1.0)) * 2.0 - 1.0


def _time(fn: Callable[[], Any], sync: Callable[[], None], repeat: int) -> float:
    fn()
    sync()  # warm-up: kernel compilation and memory pools
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def run(name: str, fn: Callable[..., Any], args: list[np.ndarray], min_bytes: int, repeat: int,
        numpy_too: bool) -> None:
    import cupy

    sync = cupy.cuda.get_current_stream().synchronize
    plan = build_plan(trace_function(fn, args, name=name), reuse_buffers=False)
    fused = cupy_backend.compile_plan(plan)
    device_args = [cupy.asarray(a) for a in args]
    want = numpy_backend.compile_plan(plan)(*args) if numpy_too else None
    got = fused(*device_args)
    if want is not None:
        np.testing.assert_allclose(cupy.asnumpy(got), want, rtol=1e-8)
    times = {
        "fused (egraph-dsl cupy)": _time(lambda: fused(*device_args), sync, repeat),
        "eager CuPy (same code)": _time(lambda: fn(*device_args), sync, repeat),
    }
    if numpy_too:
        times["numpy backend (CPU)"] = _time(lambda: numpy_backend.compile_plan(plan)(*args), lambda: None,
                                             max(1, repeat // 10))
    lowered = fused.lower(*device_args)
    print(f"\n{name}: {len(lowered.kernels)} generated kernels, minimum traffic {min_bytes / 1e9:.2f} GB")
    base = times["fused (egraph-dsl cupy)"]
    for label, t in times.items():
        reached = min_bytes / t / H200.bandwidth
        print(f"  {label:26s} {t * 1e3:9.3f} ms   x{t / base:6.2f}   {100 * reached:5.1f}% of "
              f"{H200.bandwidth / 1e12:.1f} TB/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="10x smaller problems")
    parser.add_argument("--repeat", type=int, default=20)
    opts = parser.parse_args()
    try:
        cupy_backend.require_gpu()
    except BackendUnavailableError as exc:
        print(f"bench_gpu: skipped, {exc}", file=sys.stderr)
        return 2
    scale = 10 if opts.small else 1
    rng = np.random.default_rng(0)
    n, k = 1_000_000 // scale, 16
    X = rng.normal(size=(n, k))
    w, b = rng.normal(size=k) * 0.3, np.asarray(0.1)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w + b)))).astype(np.float64)
    run("log_posterior", log_posterior, [X, y, w, b], (X.size + y.size) * 8, opts.repeat, True)
    m = 100_000_000 // scale
    x = rng.normal(size=m)
    run("chain_1e8", chain, [x], 2 * m * 8, opts.repeat, numpy_too=bool(opts.small))
    return 0


if __name__ == "__main__":
    sys.exit(main())
