"""emcee's "fitting a model to data" problem, with the log-probability jitted by egraph-dsl.

A straight line with an underestimated noise term (parameters m, b, log f), a box prior, and a
log-probability vectorized over walkers (emcee's ``vectorize=True``): it closes over the data
``x, y, yerr`` and broadcasts them against the walkers' parameters (``m[:, None] * x``). The same
sampler runs twice from the same seed, with the plain NumPy function and with ``ed.jit`` of it;
the chains are compared.

    python examples/emcee_line_fit.py          (needs: pip install emcee)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import egraph_dsl as ed

rng = np.random.default_rng(123)
m_true, b_true, f_true = -0.9594, 4.294, 0.534
x = np.sort(10 * rng.random(50))
yerr = 0.1 + 0.5 * rng.random(50)
y = m_true * x + b_true
y += np.abs(f_true * y) * rng.standard_normal(50)
y += yerr * rng.standard_normal(50)


def log_prob(theta: Any) -> Any:
    """Log-probability of each walker's (m, b, log f); -inf outside the prior box."""
    m, b, log_f = theta[:, 0], theta[:, 1], theta[:, 2]
    model = m[:, None] * x + b[:, None]
    sigma2 = yerr**2 + model**2 * np.exp(2 * log_f[:, None])
    log_like = -0.5 * np.sum((y - model) ** 2 / sigma2 + np.log(sigma2), axis=1)
    inside = (m > -5.0) & (m < 0.5) & (b > 0.0) & (b < 10.0) & (log_f > -10.0) & (log_f < 1.0)
    return np.where(inside, log_like, -np.inf)


def run(fn: Callable[[Any], Any], n_steps: int = 300, seed: int = 42) -> tuple[np.ndarray, float]:
    import emcee

    n_walkers = 32
    jitter = np.random.default_rng(seed).standard_normal((n_walkers, 3))
    start = np.array([m_true, b_true, np.log(f_true)]) + 1e-4 * jitter
    sampler = emcee.EnsembleSampler(n_walkers, 3, fn, vectorize=True)
    sampler.random_state = np.random.RandomState(seed).get_state()  # the same proposals for both runs
    t0 = time.perf_counter()
    sampler.run_mcmc(start, n_steps, progress=False)
    return sampler.get_chain(), time.perf_counter() - t0


def main(n_steps: int = 300) -> int:
    jitted = ed.jit(log_prob)
    chain, seconds = run(log_prob, n_steps)
    jit_chain, jit_seconds = run(jitted, n_steps)
    same = bool(np.array_equal(chain, jit_chain))
    flat = jit_chain[n_steps // 3:].reshape(-1, 3)
    print(f"emcee, 32 walkers x {n_steps} steps: NumPy {seconds:.2f} s, egraph-dsl jit {jit_seconds:.2f} s; "
          f"chains {'identical' if same else 'DIFFER'}")
    for name, k, true in (("m", 0, m_true), ("b", 1, b_true), ("log f", 2, np.log(f_true))):
        print(f"  {name:5s} = {flat[:, k].mean():+.3f} +- {flat[:, k].std():.3f} (true {true:+.3f})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(*map(int, sys.argv[1:2])))
