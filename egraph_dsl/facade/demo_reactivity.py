"""The demo's model of chemical reactivity: compounds with latent properties, observed reacting pairs.

M compounds with K latent properties ``P``, a K x K interaction ``W``, a per-compound bias ``c``
and an intercept ``b0``; N observed pairs ``(i[k], j[k])`` with outcome ``y[k]``. The logit is
``z = sum((P[i] @ W) * P[j], axis=1) + c[i] + c[j] + b0``, the likelihood Bernoulli-logistic,
the priors standard normal. A sampler passes the parameters as one flat vector ``theta``.

``log_posterior`` is written the naive way a scientist writes it (sigmoid, then ``log(p)`` and
``log(1 - p)``); ``hand_value_and_grad`` is the careful hand-written NumPy gradient a user would
otherwise have to derive and maintain.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .timing import interleaved_times


@dataclass(frozen=True)
class Data:
    M: int
    K: int
    i: np.ndarray
    j: np.ndarray
    y: np.ndarray

    @property
    def dim(self) -> int:
        return self.M * self.K + self.K * self.K + self.M + 1


def make_data(M: int, N: int, K: int = 8, seed: int = 0) -> tuple[Data, np.ndarray]:
    """Pairs and outcomes simulated from the model itself, and the true parameters."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, M, N), rng.integers(0, M, N)
    theta = rng.standard_normal(M * K + K * K + M + 1) * 0.5
    data = Data(M, K, i, j, np.zeros(N))
    P, W, c, b0 = unpack(theta, data)
    z = np.sum((P[i] @ W) * P[j], axis=1) + c[i] + c[j] + b0
    y = (rng.random(N) < 1 / (1 + np.exp(-z))).astype(np.float64)
    return Data(M, K, i, j, y), theta


def unpack(theta: Any, data: Data) -> tuple[Any, Any, Any, Any]:
    M, K = data.M, data.K
    P = theta[:M * K].reshape(M, K)
    W = theta[M * K:M * K + K * K].reshape(K, K)
    c = theta[M * K + K * K:M * K + K * K + M]
    return P, W, c, theta[-1]


def log_posterior_for(data: Data) -> Callable[[Any], Any]:
    """The log-posterior of ``theta``, closing over the data (as samplers want it)."""
    i, j, y = data.i, data.j, data.y

    def log_posterior(theta: Any) -> Any:
        P, W, c, b0 = unpack(theta, data)
        z = np.sum((P[i] @ W) * P[j], axis=1) + c[i] + c[j] + b0
        p = 1 / (1 + np.exp(-z))
        log_lik = np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))
        return log_lik - 0.5 * np.sum(P ** 2) - 0.5 * np.sum(W ** 2) - 0.5 * np.sum(c ** 2) - 0.5 * b0 ** 2

    return log_posterior


def hand_value_and_grad_for(data: Data) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Value and gradient by hand: stable softplus form, bincount scatters, one pass per term."""
    i, j, y, M, K = data.i, data.j, data.y, data.M, data.K

    def value_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        P, W, c, b0 = unpack(theta, data)
        A, B = P[i], P[j]
        AW = A @ W
        z = np.sum(AW * B, axis=1) + c[i] + c[j] + b0
        softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
        value = np.sum(y * z - softplus) - 0.5 * float(theta @ theta)
        r = y - 1 / (1 + np.exp(-z))  # d log-likelihood / dz
        gA, gB = r[:, None] * (B @ W.T), r[:, None] * AW
        gP = np.empty((M, K))
        for k in range(K):
            gP[:, k] = np.bincount(i, gA[:, k], M) + np.bincount(j, gB[:, k], M)
        gW = A.T @ (r[:, None] * B)
        gc = np.bincount(i, r, M) + np.bincount(j, r, M)
        grad = np.concatenate([gP.ravel(), gW.ravel(), gc, [np.sum(r)]]) - theta
        return float(value), grad

    return value_and_grad


def run_nuts(value_and_grad: Callable[[np.ndarray], tuple[Any, Any]], init: np.ndarray, n_warm: int,
             n_draws: int, seed: int, step_size: float | None = None) -> tuple[np.ndarray, float]:
    """Draws of one chain (``n_draws`` x dim) and the seconds it took."""
    import mici

    def grad_and_value(q: np.ndarray) -> tuple[np.ndarray, float]:
        value, grad = value_and_grad(q)
        return -np.asarray(grad), -float(value)  # mici works with the negative log density

    system = mici.systems.EuclideanMetricSystem(neg_log_dens=lambda q: grad_and_value(q)[1],
                                                grad_neg_log_dens=grad_and_value)
    integrator = mici.integrators.LeapfrogIntegrator(system, step_size=step_size)
    sampler = mici.samplers.DynamicMultinomialHMC(system, integrator, np.random.default_rng(seed))
    adapters = [] if step_size is not None else [mici.adapters.DualAveragingStepSizeAdapter(0.8)]
    t0 = time.perf_counter()
    _final, traces, _stats = sampler.sample_chains(
        n_warm if step_size is None else 0, n_draws, [init], adapters=adapters,
        n_worker=1, display_progress=False, trace_funcs=[lambda state: {"q": state.pos}])
    return np.asarray(traces["q"][0]), time.perf_counter() - t0


def demo_section(console: Any) -> None:
    """``make demo``'s gradient part: the joint program, a short NUTS run, and the speed table."""
    from rich.table import Table

    import egraph_dsl as ed

    console.rule("[bold]value and gradient: the reactivity model for NUTS")
    data, theta = make_data(200, 5_000, K=8, seed=0)
    vg = ed.value_and_grad(log_posterior_for(data))
    t0 = time.perf_counter()
    value, grad = vg(theta)
    first = time.perf_counter() - t0
    hand_value, hand_grad = hand_value_and_grad_for(data)(theta)
    optimized = vg.lower(theta).optimized
    fired = {k: v for r in optimized.reports for k, v in r.fired.items()}
    console.print(f"M={data.M} compounds, K={data.K} latent properties, N={len(data.y)} pairs: theta has {data.dim} entries")
    console.print(f"value and gradient traced, optimized and compiled in {first * 1e3:.0f} ms (first call); "
                  f"joint program {optimized.before.op_count()} -> {optimized.after.op_count()} ops, "
                  f"cost {optimized.cost_before:,.0f} -> {optimized.cost_after:,.0f}")
    console.print(f"rules fired: {', '.join(f'{k} x{v}' for k, v in sorted(fired.items(), key=lambda kv: -kv[1]))}")
    from .gradients import sharing_report

    console.print(sharing_report(optimized.after))
    gap = float(np.max(np.abs(grad - hand_grad)) / np.max(np.abs(hand_grad)))
    console.print(f"against the hand-derived gradient: value {float(value):.12g} vs {hand_value:.12g}, "
                  f"largest gradient difference {gap:.1e} (relative)")
    console.print("the joint program after optimization (value first, then the gradient):")
    console.print(str(optimized.after), markup=False, highlight=False)

    try:
        import mici  # noqa: F401
    except ImportError:
        console.print("NUTS: skipped (pip install mici to run the sampler)")
    else:
        small, _ = make_data(50, 1_000, K=4, seed=3)
        init = np.random.default_rng(0).standard_normal(small.dim) * 0.1
        ours_vg = ed.value_and_grad(log_posterior_for(small))
        ours_vg(init)
        ours, seconds = run_nuts(ours_vg, init, 0, 20, seed=42, step_size=0.02)
        hand, hand_seconds = run_nuts(hand_value_and_grad_for(small), init, 0, 20, seed=42, step_size=0.02)
        console.print(f"NUTS (mici, fixed step 0.02), M=50 N=1,000: 20 draws in {seconds:.2f} s "
                      f"(hand-written gradient {hand_seconds:.2f} s); the two chains differ by at most "
                      f"{float(np.max(np.abs(ours - hand))):.1e}")

    table = Table(title="value + gradient, ms per evaluation (median of interleaved repeats; BLAS as configured)")
    for col in ("M x N", "hand-written NumPy", "ours, numpy backend", "ours, native backend", "hand / native"):
        table.add_column(col, justify="right")
    for M, N in ((200, 5_000), (2_000, 200_000)):
        d, th = make_data(M, N, K=8, seed=1)
        hand_fn = hand_value_and_grad_for(d)
        systems = [ed.value_and_grad(log_posterior_for(d), backend=b) for b in ("numpy", "native")]
        for fn in systems:
            fn(th)  # compile (the native build is cached on disk after the first run)
        repeats = 20 if N < 50_000 else 5
        times = interleaved_times([hand_fn, *systems], (th,), repeats=repeats, inner=1)
        hand_ms, numpy_ms, native_ms = (float(np.median(t)) * 1e3 for t in times)
        table.add_row(f"{M} x {N}", f"{hand_ms:.2f}", f"{numpy_ms:.2f}", f"{native_ms:.2f}", f"{hand_ms / native_ms:.2f}x")
    console.print(table)
    console.print("JAX and PyMC side by side: python benchmarks/bench_gradients.py (needs the bench extra)")
