"""Ordinary scientific NumPy functions, written as users write them: each traces under jit and
agrees with NumPy, or is listed in NOT_YET with the reason (the coverage figure of the README).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import egraph_dsl as ed

rng = np.random.default_rng(0)
X = rng.standard_normal((40, 5))
y = (rng.random(40) < 0.5).astype(np.float64)
labels = rng.integers(0, 3, 40)
group = rng.integers(0, 4, 40)
pairs_i, pairs_j = rng.integers(0, 10, 60), rng.integers(0, 10, 60)
A_data = rng.standard_normal((10, 3))
B_data = rng.standard_normal((10, 3))
counts = rng.poisson(3.0, 40).astype(np.float64)


def logistic_log_post(w: Any) -> Any:
    p = 1 / (1 + np.exp(-(X @ w)))
    return np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) - 0.5 * np.sum(w ** 2)


def hierarchical_means(mu: Any, sigma: Any) -> Any:
    resid = X[:, 0] - mu[group]
    return -0.5 * np.sum(resid ** 2) / sigma ** 2 - len(resid) * np.log(sigma)


def latent_factor(A: Any, B: Any) -> Any:
    return np.sum(A[pairs_i] * B[pairs_j], axis=1)


def gaussian_mixture(x: Any, means: Any, log_w: Any) -> Any:
    d = x[:, None] - means[None, :]
    return np.sum(ed.logsumexp(log_w - 0.5 * d ** 2 - 0.5 * np.log(2 * np.pi), axis=1))


def rbf_kernel(x: Any, lengthscale: Any) -> Any:
    sq = np.sum(x ** 2, axis=1)
    d2 = sq[:, None] + sq[None, :] - 2 * x @ x.T
    return np.exp(-0.5 * d2 / lengthscale ** 2)


def layer_norm(x: Any) -> Any:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5)


def finite_differences(u: Any) -> Any:
    return (u[2:] - 2 * u[1:-1] + u[:-2]) / 0.01 ** 2


def cross_entropy(logits: Any) -> Any:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(len(labels)), labels])


def softmax_rows(z: Any) -> Any:
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def poisson_regression(beta: Any) -> Any:
    eta = X @ beta
    return np.sum(counts * eta - np.exp(eta))


def standardize(x: Any) -> Any:
    return (x - x.mean(axis=0)) / x.std(axis=0)


def moving_average(x: Any) -> Any:
    c = np.cumsum(x)
    return (c[3:] - c[:-3]) / 3.0


def huber(r: Any) -> Any:
    a = np.abs(r)
    return np.sum(np.where(a <= 1.0, 0.5 * r ** 2, a - 0.5))


def polynomial_features(x: Any) -> Any:
    return np.stack([np.ones_like(x), x, x ** 2, x ** 3], axis=1)


def cosine_similarity(a: Any, b: Any) -> Any:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def distance_matrix(p: Any) -> Any:
    diff = p[:, None, :] - p[None, :, :]
    return np.sqrt(np.sum(diff ** 2, axis=-1))


def log_normal_pdf(x: Any, mu: Any, s: Any) -> Any:
    return -np.log(x * s * np.sqrt(2 * np.pi)) - (np.log(x) - mu) ** 2 / (2 * s ** 2)


def student_t_logpdf(x: Any, nu: Any) -> Any:
    return -(nu + 1) / 2 * np.log1p(x ** 2 / nu)


def clipped_relu_net(x: Any, W1: Any, W2: Any) -> Any:
    h = np.clip(x @ W1, 0.0, 6.0)
    return np.tanh(h @ W2)


def angles(v: Any) -> Any:
    return np.arctan2(v[:, 1], v[:, 0]) + np.hypot(v[:, 0], v[:, 1])


def mvn_logpdf_diag(x: Any, mu: Any, log_sd: Any) -> Any:
    z = (x - mu) / np.exp(log_sd)
    return -0.5 * np.sum(z ** 2, axis=-1) - np.sum(log_sd) - 0.5 * x.shape[-1] * np.log(2 * np.pi)


def trapezoid(f: Any) -> Any:
    return np.sum((f[1:] + f[:-1]) * 0.5 * 0.1)


def one_hot_counts(x: Any) -> Any:
    return np.sum((x[:, None] > np.array([-1.0, 0.0, 1.0])[None, :]).astype(np.float64), axis=0)


def product_likelihood(p: Any) -> Any:
    return np.prod(np.where(y > 0, p, 1 - p))


def signal_energy(s: Any) -> Any:
    return np.sum(np.diff(s) ** 2) + np.ptp(s)


def outer_update(u: Any, v: Any) -> Any:
    return np.eye(len(u)) + np.outer(u, v)


def triangular_mask(S: Any) -> Any:
    return np.sum(np.tril(S, -1) ** 2)


def mvn_logpdf(x: Any, mu: Any, cov: Any) -> Any:
    d = x - mu
    return -0.5 * d @ np.linalg.solve(cov, d) - 0.5 * np.linalg.slogdet(cov)[1]


def median_center(x: Any) -> Any:
    return x - np.median(x)


def assign_then_sum(v: Any) -> Any:
    out = np.zeros(6)
    out[:3] = v
    return np.sum(out)


def group_means(x: Any) -> Any:
    totals = np.bincount(group, weights=x, minlength=4)
    return totals / np.maximum(np.bincount(group, minlength=4), 1)


def fill_then_sum(v: Any) -> Any:
    out = np.zeros(6, like=v)
    out[:3] = v
    out[3:] = v ** 2
    return np.sum(out)


def histogram_by_add_at(w: Any) -> Any:
    hist = np.zeros_like(w, shape=3)
    np.add.at(hist, labels, w)
    return hist / np.sum(hist)


def chosen_log_probs(logits: Any) -> Any:
    logp = logits - ed.logsumexp(logits, axis=1, keepdims=True)
    return np.take_along_axis(logp, labels[:, None], axis=1)[:, 0]


def phase_wrap(t: Any) -> Any:
    cycles, phase = np.divmod(t, 2 * np.pi)
    return np.sin(phase) + 0.01 * cycles


def mahalanobis(x: Any, precision: Any) -> Any:
    return np.einsum("ni,ij,nj->n", x, precision, x)


pos = np.abs(rng.standard_normal(7)) + 0.1
PROGRAMS: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "logistic_log_post": (logistic_log_post, (rng.standard_normal(5),)),
    "hierarchical_means": (hierarchical_means, (rng.standard_normal(4), 1.3)),
    "latent_factor": (latent_factor, (A_data, B_data)),
    "gaussian_mixture": (gaussian_mixture, (X[:, 0], np.array([-1.0, 0.0, 2.0]), np.log(np.array([0.2, 0.5, 0.3])))),
    "rbf_kernel": (rbf_kernel, (X[:6], 0.7)),
    "layer_norm": (layer_norm, (X,)),
    "finite_differences": (finite_differences, (np.sin(np.linspace(0, 3, 30)),)),
    "cross_entropy": (cross_entropy, (rng.standard_normal((40, 3)),)),
    "softmax_rows": (softmax_rows, (rng.standard_normal((5, 4)) * 30,)),
    "poisson_regression": (poisson_regression, (rng.standard_normal(5) * 0.1,)),
    "standardize": (standardize, (X,)),
    "moving_average": (moving_average, (rng.standard_normal(20),)),
    "huber": (huber, (rng.standard_normal(30) * 2,)),
    "polynomial_features": (polynomial_features, (rng.standard_normal(8),)),
    "cosine_similarity": (cosine_similarity, (A_data, B_data)),
    "distance_matrix": (distance_matrix, (A_data[:5],)),
    "log_normal_pdf": (log_normal_pdf, (pos, 0.2, 0.9)),
    "student_t_logpdf": (student_t_logpdf, (rng.standard_normal(9), 4.0)),
    "clipped_relu_net": (clipped_relu_net, (X[:4], rng.standard_normal((5, 6)), rng.standard_normal((6, 2)))),
    "angles": (angles, (A_data[:, :2],)),
    "mvn_logpdf_diag": (mvn_logpdf_diag, (X[:5], np.zeros(5), np.full(5, 0.1))),
    "trapezoid": (trapezoid, (np.cos(np.linspace(0, 2, 21)),)),
    "one_hot_counts": (one_hot_counts, (X[:, 1],)),
    "product_likelihood": (product_likelihood, (np.clip(rng.random(40), 0.05, 0.95),)),
    "signal_energy": (signal_energy, (rng.standard_normal(25),)),
    "outer_update": (outer_update, (rng.standard_normal(4), rng.standard_normal(4))),
    "triangular_mask": (triangular_mask, (rng.standard_normal((4, 4)),)),
    "mvn_logpdf": (mvn_logpdf, (rng.standard_normal(3), np.zeros(3), np.eye(3) * 2.0)),
    "median_center": (median_center, (rng.standard_normal(9),)),
    "assign_then_sum": (assign_then_sum, (rng.standard_normal(3),)),
    "group_means": (group_means, (X[:, 2],)),
    "fill_then_sum": (fill_then_sum, (rng.standard_normal(3),)),
    "histogram_by_add_at": (histogram_by_add_at, (np.abs(X[:, 3]),)),
    "chosen_log_probs": (chosen_log_probs, (rng.standard_normal((40, 3)),)),
    "phase_wrap": (phase_wrap, (rng.standard_normal(12) * 20,)),
    "mahalanobis": (mahalanobis, (X[:6], np.eye(5) * 2.0 + 0.1)),
}

NOT_YET = {  # what does not trace yet, and why
    "assign_then_sum": "np.zeros(6) without like= is a NumPy array, which cannot hold a traced value: a clear "
                       "error names the line and suggests np.zeros(6, like=v) (fill_then_sum)",
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_user_program_traces_and_agrees_with_numpy(name: str) -> None:
    fn, args = PROGRAMS[name]
    if name in NOT_YET:
        with pytest.raises(ed.errors.TraceError):
            ed.jit(fn)(*args)
        return
    with np.errstate(all="ignore"):
        expected = fn(*args)
    got = ed.jit(fn)(*args)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert np.asarray(got).dtype == np.asarray(expected).dtype and np.shape(got) == np.shape(expected)


def test_the_coverage_figure() -> None:
    """35 of these 36 programs trace today (97 %; the README quotes the figure)."""
    assert (len(PROGRAMS) - len(NOT_YET)) / len(PROGRAMS) >= 0.9
