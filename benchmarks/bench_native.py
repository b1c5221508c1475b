"""Native CPU backend vs naive NumPy, the numpy backend jit, numexpr and JAX (those installed).

Run single-threaded for a fair comparison:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        .venv/bin/python benchmarks/bench_native.py [--repeats 7]
Repeats are interleaved (system A, B, C, A, B, C, ...); min and median per call, ratio vs naive.
Also prints the native backend's first-call build time and the load time from the disk cache.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

import egraph_dsl as ed


def sigmoid(z: Any) -> Any:
    return 1 / (1 + np.exp(-z))


def log_posterior(X: Any, y: Any, w: Any) -> Any:
    return np.sum(y * np.log(sigmoid(X @ w)) + (1 - y) * np.log(1 - sigmoid(X @ w)))


def chain(x: Any) -> Any:
    return np.tanh(np.sin(np.exp(-x * x)) * 2.0 + x)


def row_logsumexp(x: Any) -> Any:
    m = np.max(x, axis=1, keepdims=True)
    return np.log(np.sum(np.exp(x - m), axis=1)) + m[:, 0]


def _numexpr(case: str) -> Callable[..., Any] | None:
    try:
        import numexpr as ne
    except ImportError:
        return None
    ne.set_num_threads(1)
    if case == "logpost":
        return lambda X, y, w: ne.evaluate("sum(y*log(1/(1+exp(-z))) + (1-y)*log(1-1/(1+exp(-z))))",
                                           local_dict={"y": y, "z": X @ w})
    if case == "chain":
        return lambda x: ne.evaluate("tanh(sin(exp(-x*x))*2.0 + x)")
    return None  # numexpr has no axis reductions inside expressions beyond a full sum


def _jax(fn: Callable[..., Any]) -> Callable[..., Any] | None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]

    def translate(*args: Any) -> Any:
        saved = globals()["np"]
        globals()["np"] = jnp
        try:
            return fn(*args)
        finally:
            globals()["np"] = saved

    jitted = jax.jit(translate)
    return lambda *a: jitted(*a).block_until_ready()


def measure(systems: dict[str, Callable[..., Any]], args: tuple[Any, ...], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in systems}
    for fn in systems.values():
        fn(*args)  # warm up (trace, compile)
    for _ in range(repeats):
        for name, fn in systems.items():
            number = 1
            t0 = time.perf_counter()
            fn(*args)
            elapsed = time.perf_counter() - t0
            if elapsed < 1e-3:  # small cases: average over a loop
                number = max(1, int(2e-3 / max(elapsed, 1e-7)))
                t0 = time.perf_counter()
                for _ in range(number):
                    fn(*args)
                elapsed = (time.perf_counter() - t0) / number
            times[name].append(elapsed)
    return times


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e6:9.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:9.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    opts = parser.parse_args()
    rng = np.random.default_rng(0)
    cases: list[tuple[str, str, Callable[..., Any], tuple[Any, ...]]] = []
    for n in (500, 200_000):
        X = rng.normal(size=(n, 8))
        cases.append((f"log-posterior N={n} K=8", "logpost", log_posterior,
                      (X, (rng.random(n) < 0.5).astype(float), rng.normal(size=8) * 0.5)))
    cases.append(("exp/sin/tanh chain 1e7", "chain", chain, (rng.normal(size=10_000_000),)))
    cases.append(("row logsumexp 4000x1000", "lse", row_logsumexp, (rng.normal(size=(4000, 1000)),)))
    print(f"{'case':28s} {'system':12s} {'min':>12s} {'median':>12s}  naive/this (min)")
    for label, key, fn, args in cases:
        systems: dict[str, Callable[..., Any]] = {"naive numpy": fn,
                                                  "jit numpy": ed.jit(fn, backend="numpy")}
        t0 = time.perf_counter()
        native = ed.jit(fn, backend="native")
        native(*args)
        first = time.perf_counter() - t0
        systems["jit native"] = native
        for name, peer in (("numexpr", _numexpr(key)), ("jax", _jax(fn))):
            if peer is not None:
                systems[name] = peer
        want = fn(*args)
        for name, system in systems.items():
            got = system(*args)
            assert np.allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12), (label, name)
        times = measure(systems, args, opts.repeats)
        base = min(times["naive numpy"])
        for name, ts in times.items():
            print(f"{label:28s} {name:12s} {_fmt(min(ts))} {_fmt(statistics.median(ts))}  {base / min(ts):6.2f}x")
        print(f"{label:28s} (native first call incl. trace+optimize+build: {first:.2f} s)")
    _cache_load_time()


def _cache_load_time() -> None:
    """Build time of one kernel module in a fresh cache, then its load time in a second process."""
    import tempfile

    script = ("import time, numpy as np\n"
              "from egraph_dsl.backends import native_backend\n"
              "from egraph_dsl.plan import build_plan\n"
              "from egraph_dsl.trace import trace_function\n"
              "p = build_plan(trace_function(lambda a, y: np.sum(y * np.log1p(np.exp(-a))), [np.ones(1000), np.ones(1000)]))\n"
              "ex = native_backend.compile_plan(p)\n"
              "t0 = time.perf_counter(); ex(np.ones(1000), np.ones(1000)); print(time.perf_counter() - t0)\n")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "EGRAPH_DSL_NATIVE_CACHE": cache}
        root = Path(__file__).resolve().parents[1]
        runs = [float(subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True,
                                     text=True, check=True).stdout) for _ in range(2)]
    print(f"one kernel module: build + first call {runs[0] * 1e3:.0f} ms; second process (disk cache) {runs[1] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
