"""Value and gradient of the reactivity model's log-posterior, side by side with the peers.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 python benchmarks/bench_gradients.py

For M=200, N=5,000 and M=2,000, N=200,000 (K=8): time per value-and-gradient evaluation of
the hand-written NumPy gradient, ``jax.jit(jax.value_and_grad)``, PyMC's compiled
``logp_dlogp_function`` (PyTensor's C backend) and ``ed.value_and_grad`` of the naive NumPy code,
plus each one's first call (trace + compile; for the native backend the C++ build, or its disk
cache from an earlier run). Repeats are interleaved; min and median are
printed, and ratios against the hand-written gradient. Peers that are not installed are skipped
with a note. Every system's gradient is checked against the hand-written one first.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402  (after the thread settings)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import egraph_dsl as ed  # noqa: E402
from egraph_dsl.facade.demo_reactivity import Data, hand_value_and_grad_for, log_posterior_for, make_data  # noqa: E402

System = Callable[[np.ndarray], tuple[Any, Any]]


def jax_system(data: Data) -> System | str:
    try:
        import jax
        import jax.numpy as jnp
    except Exception as exc:
        return f"jax not installed ({type(exc).__name__})"
    jax.config.update("jax_enable_x64", True)
    i, j, y, M, K = jnp.asarray(data.i), jnp.asarray(data.j), jnp.asarray(data.y), data.M, data.K

    def log_post(theta: Any) -> Any:
        P = theta[:M * K].reshape(M, K)
        W = theta[M * K:M * K + K * K].reshape(K, K)
        c = theta[M * K + K * K:M * K + K * K + M]
        b0 = theta[-1]
        z = jnp.sum((P[i] @ W) * P[j], axis=1) + c[i] + c[j] + b0
        p = jax.nn.sigmoid(z)
        ll = jnp.sum(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))
        return ll - 0.5 * jnp.sum(theta ** 2)

    fn = jax.jit(jax.value_and_grad(log_post))

    def run(theta: np.ndarray) -> tuple[Any, Any]:
        v, g = fn(theta)
        return float(v), np.asarray(g)

    return run


def pymc_system(data: Data) -> System | str:
    try:
        import pymc as pm
        import pytensor.tensor as pt
    except Exception as exc:
        return f"pymc not installed ({type(exc).__name__})"
    M, K = data.M, data.K
    with pm.Model() as model:
        theta = pm.Normal("theta", 0.0, 1.0, shape=data.dim)
        P = theta[:M * K].reshape((M, K))
        W = theta[M * K:M * K + K * K].reshape((K, K))
        c = theta[M * K + K * K:M * K + K * K + M]
        z = pt.sum(pt.dot(P[data.i], W) * P[data.j], axis=1) + c[data.i] + c[data.j] + theta[-1]
        pm.Bernoulli("y", logit_p=z, observed=data.y)
    fn = model.logp_dlogp_function(ravel_inputs=True)
    fn.set_extra_values({})
    constant = 0.5 * data.dim * np.log(2 * np.pi)  # PyMC's normal prior keeps its normalizing constant

    def run(theta: np.ndarray) -> tuple[Any, Any]:
        v, g = fn(theta)
        return float(v) + constant, g

    return run


def measure(name: str, build: Callable[[], System | str], theta: np.ndarray,
            reference: tuple[float, np.ndarray]) -> tuple[System, float] | str:
    t0 = time.perf_counter()
    system = build()
    if isinstance(system, str):
        return system
    value, grad = system(theta)
    first = time.perf_counter() - t0
    ref_value, ref_grad = reference
    if not np.isclose(value, ref_value, rtol=1e-9) or not np.allclose(grad, ref_grad, rtol=1e-8, atol=1e-8):
        return f"{name} disagrees with the hand-written gradient (value {value} vs {ref_value})"
    return system, first


def main() -> None:
    for M, N in ((200, 5_000), (2_000, 200_000)):
        data, theta = make_data(M, N, K=8, seed=0)
        hand = hand_value_and_grad_for(data)
        reference = hand(theta)
        builders: dict[str, Callable[[], System | str]] = {
            "hand NumPy": lambda: hand,
            "egraph-dsl (numpy)": lambda: ed.value_and_grad(log_posterior_for(data), backend="numpy"),
            "egraph-dsl (native)": lambda: ed.value_and_grad(log_posterior_for(data), backend="native"),
            "JAX jit": lambda: jax_system(data),
            "PyMC (PyTensor C)": lambda: pymc_system(data),
        }
        systems: dict[str, System] = {}
        firsts: dict[str, float] = {}
        print(f"\nreactivity log-posterior value + gradient, M={M} N={N} K=8 (dim {data.dim}); one BLAS thread")
        for name, build in builders.items():
            got = measure(name, build, theta, reference)
            if isinstance(got, str):
                print(f"  {name}: skipped: {got}")
                continue
            systems[name], firsts[name] = got
        repeats = 30 if N < 50_000 else 8
        times: dict[str, list[float]] = {name: [] for name in systems}
        for _ in range(repeats):  # interleaved
            for name, system in systems.items():
                t0 = time.perf_counter()
                system(theta)
                times[name].append(time.perf_counter() - t0)
        base = float(np.median(times["hand NumPy"]))
        print(f"  {'system':20s} {'min ms':>9s} {'median ms':>10s} {'vs hand':>8s} {'first call s':>13s}")
        for name, ts in times.items():
            med = float(np.median(ts))
            print(f"  {name:20s} {min(ts) * 1e3:9.3f} {med * 1e3:10.3f} {base / med:7.2f}x {firsts[name]:13.3f}")


if __name__ == "__main__":
    main()
