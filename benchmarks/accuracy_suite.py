"""Numerically fragile formulas as scientists write them in NumPy, each with inputs where it is fragile.

The formulas come from Herbie's ``hamming`` benchmarks (Hamming, *Numerical Methods for Scientists
and Engineers*, ch. 3: ``2sqrt``, ``cos2``, ``2log``, ``expm1``, ``quadp`` …; github.com/herbie-fp/
herbie, ``bench/hamming``) and from PyTensor's stability rewrites (``log1mexp``, ``softplus``,
``logsumexp``, ``log_sigmoid``; pytensor/tensor/rewriting/math.py). ``measure`` compares naive NumPy
and ``ed.jit`` against the exact value (mpmath at 2200 bits, ``proofs.semantics.evaluate_real`` of
the traced program).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Sampler = Callable[[np.random.Generator, int], tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class Formula:
    """One fragile formula: the NumPy function, an input sampler over its fragile range, its source."""

    name: str
    fn: Callable[..., Any]
    sample: Sampler
    source: str
    fixed: bool  # the default rulesets make it accurate (<= 4 ulps); tests hold them to it
    herbie_bits: tuple[float, float] | None = None  # Herbie's published (before, after) bits of error
    herbie_source: str = ""  # the report the bits come from


# Herbie's nightly reports: "Average Error: before -> after" in bits, averaged over Herbie's own sample
# of all floats, not over the fragile ranges here (side by side, not the same measurement); None where
# no report was found (searched: 2sqrt, 2atan, 2cbrt, 2log, expm1, cos2, 2frac, quadp)
HERBIE_REPORTS = "https://nightly.cs.washington.edu/reports/herbie/"


def _log_uniform(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), n))


def _pos(low: float, high: float) -> Sampler:
    return lambda rng, n: (_log_uniform(rng, n, low, high),)


def _neg(low: float, high: float) -> Sampler:
    return lambda rng, n: (-_log_uniform(rng, n, low, high),)


def _uniform(low: float, high: float) -> Sampler:
    return lambda rng, n: (rng.uniform(low, high, n),)


def _pair(low: float, high: float) -> Sampler:
    return lambda rng, n: (_log_uniform(rng, n, low, high), _log_uniform(rng, n, low, high))


def _near_pair(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    x = _log_uniform(rng, n, 1e-3, 1e3)
    return x, x * (1 + _log_uniform(rng, n, 1e-12, 1e-4))


def _logits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    return (rng.uniform(700.0, 750.0, (n, 4)),)


def _near_logits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    a = rng.uniform(700.0, 750.0, n)
    return a, a - _log_uniform(rng, n, 1e-6, 10.0)


def _one_plus(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    return (1 + _log_uniform(rng, n, 1e-10, 1e-3),)


FORMULAS: tuple[Formula, ...] = (
    Formula("sqrt-diff", lambda x: np.sqrt(x + 1) - np.sqrt(x), _pos(1e8, 1e15), "hamming 2sqrt", True,
            (30.7, 0.2), HERBIE_REPORTS + "1548885159:warfa:develop:56eb91ce3e/hamming/32-2sqrtexample31/graph.html"),
    Formula("cos2", lambda x: (1 - np.cos(x)) / x**2, _pos(1e-8, 1e-3), "hamming cos2", True,
            (31.0, 0.3), HERBIE_REPORTS + "1533828391:warfa:develop:2fcc19fe07/hamming/4-cos2problem341/graph.html"),
    Formula("one-minus-cos", lambda x: 1 - np.cos(x), _pos(1e-8, 1e-3), "Herbie rules 1-cos", True),
    Formula("log1mexp-near-0", lambda x: np.log(1 - np.exp(x)), _neg(1e-10, 1e-2), "PyTensor log1mexp", True),
    Formula("log1mexp-tail", lambda x: np.log(1 - np.exp(x)), _uniform(-700.0, -40.0), "PyTensor log1mexp", True),
    Formula("hypot-large", lambda x, y: np.sqrt(x * x + y * y), _pair(1e160, 1e300), "Herbie hypot", True),
    Formula("hypot-small", lambda x, y: np.sqrt(x**2 + y**2), _pair(1e-300, 1e-160), "Herbie hypot", True),
    Formula("tanh-exp-small", lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)), _pos(1e-10, 1e-3),
            "Herbie rules tanh", True),
    Formula("tanh-exp-large", lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)), _uniform(710.0, 750.0),
            "Herbie rules tanh", True),
    Formula("tanh-exp2", lambda x: (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1), _pos(1e-10, 1e-3),
            "Herbie expm1(2x)/(expm1(2x)+2)", True),
    Formula("asinh-log", lambda x: np.log(x + np.sqrt(x * x + 1)), _pos(1e-10, 1e-3), "Herbie rules asinh", True),
    Formula("asinh-log-large", lambda x: np.log(x + np.sqrt(x**2 + 1)), _pos(1e160, 1e300), "Herbie rules asinh",
            True),
    Formula("acosh-log", lambda x: np.log(x + np.sqrt(x * x - 1)), _one_plus, "Herbie rules acosh", True),
    Formula("atanh-log", lambda x: 0.5 * np.log((1 + x) / (1 - x)), _pos(1e-10, 1e-3), "Herbie rules atanh", True),
    Formula("diff-of-squares", lambda x, y: x * x - y * y, _near_pair, "Herbie rules difference-of-squares", True),
    Formula("log-ratio-next", lambda x: np.log(x + 1) - np.log(x), _pos(1e6, 1e15), "hamming 2log", True,
            (29.8, 0.1), HERBIE_REPORTS + "1533459363:warfa:clean-out-code:cee863e6ad/hamming/10-2logproblem336/graph.html"),
    Formula("log1p", lambda x: np.log(1 + x), _pos(1e-12, 1e-4), "hamming logs", True),
    Formula("expm1", lambda x: np.exp(x) - 1, _pos(1e-12, 1e-4), "hamming expm1", True,
            (58.6, 0.0), HERBIE_REPORTS + "1533459363:warfa:clean-out-code:cee863e6ad/hamming/23-expm1example37/graph.html"),
    Formula("expq2", lambda x: np.exp(x) / (np.exp(x) - 1), _pos(1e-12, 1e-4), "hamming expq2", True),
    Formula("softplus", lambda x: np.log(1 + np.exp(x)), _uniform(-700.0, 700.0), "PyTensor softplus", True),
    Formula("logaddexp", lambda a, b: np.log(np.exp(a) + np.exp(b)),
            lambda rng, n: (rng.uniform(700.0, 750.0, n), rng.uniform(700.0, 750.0, n)), "PyTensor logaddexp", True),
    Formula("sigmoid-tail", lambda x: 1 / (1 + np.exp(-x)), _uniform(-740.0, -40.0), "PyTensor sigmoid", True),
    Formula("log-sigmoid", lambda x: np.log(1 / (1 + np.exp(-x))), _uniform(40.0, 700.0), "PyTensor log_sigmoid",
            True),
    Formula("logsumexp", lambda x: np.log(np.sum(np.exp(x), axis=1)), _logits, "PyTensor logsumexp", True),
    Formula("softmax", lambda x: np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True), _logits, "PyTensor softmax",
            True),
    Formula("logdiffexp", lambda a, b: np.log(np.exp(a) - np.exp(b)), _near_logits, "PyTensor logdiffexp", True),
    Formula("softmax-exp-log", lambda x: np.exp(x - np.log(np.sum(np.exp(x), axis=1, keepdims=True))), _logits,
            "PyTensor softmax (via log-sum-exp)", True),
    Formula("quadp", lambda a, b, c: (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a),
            lambda rng, n: (np.ones(n), _log_uniform(rng, n, 1e4, 1e8), np.ones(n)), "hamming quadp", True),
    Formula("quadp-large", lambda a, b, c: (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a),
            lambda rng, n: (_log_uniform(rng, n, 1e-3, 1e3), _log_uniform(rng, n, 1e160, 1e300),
                            _log_uniform(rng, n, 1e-3, 1e3)), "hamming quadp (b * b overflows)", True),
    Formula("2frac", lambda x: 1 / (x + 1) - 1 / x, _pos(1e5, 1e10), "hamming 2frac", True),
    Formula("2cbrt", lambda x: np.cbrt(x + 1) - np.cbrt(x), _pos(1e5, 1e10), "hamming 2cbrt", True,
            (29.7, 0.6), HERBIE_REPORTS + "1550840447:warfa:develop:33ce407800/hamming/17-2cbrtproblem334/graph.html"),
    Formula("2atan", lambda x: np.arctan(x + 1) - np.arctan(x), _pos(1e5, 1e10), "hamming 2atan", True,
            (14.8, 0.4), HERBIE_REPORTS + "1548491684:warfa:develop:56eb91ce3e/hamming/35-2atanexample35/graph.html"),
    Formula("log-diff", lambda x, y: np.log(x) - np.log(y), _near_pair, "Herbie rules log-div", True),
)


def by_name(name: str) -> Formula:
    """The formula called ``name``; a ValueError lists the known names."""
    for f in FORMULAS:
        if f.name == name:
            return f
    raise ValueError(f"no formula {name!r} in the accuracy suite; known: {', '.join(f.name for f in FORMULAS)}")


@dataclass(frozen=True)
class Errors:
    """Max relative error and max ulps of one evaluation on the samples (inf where not finite)."""

    max_rel: float
    max_ulps: float


def reference(fn: Callable[..., Any], args: tuple[np.ndarray, ...]) -> np.ndarray:
    """The exact value of ``fn`` at ``args`` (rounded to float64), by mpmath on the traced program."""
    from egraph_dsl.proofs.semantics import MpMath, evaluate_real, to_real

    import egraph_dsl as ed

    program = ed.trace(fn, *args)
    m = MpMath()
    env = {name: to_real(a, m) for name, a in zip(program.input_names, args, strict=True)}
    exact = evaluate_real(program.outputs[0], env, m).value
    return np.vectorize(float, otypes=[np.float64])(exact)


def errors(computed: np.ndarray, exact: np.ndarray) -> Errors:
    """Max relative error and ulps of ``computed`` against ``exact`` (both float64)."""
    computed, exact = np.asarray(computed, np.float64), np.asarray(exact, np.float64)
    with np.errstate(all="ignore"):
        diff = np.abs(computed - exact)
        same = computed == exact
        rel = np.where(same, 0.0, diff / np.abs(exact))
        ulps = np.where(same, 0.0, diff / np.spacing(np.abs(exact)))
    bad = ~np.isfinite(computed)
    rel, ulps = np.where(bad, np.inf, rel), np.where(bad, np.inf, ulps)
    return Errors(float(np.max(rel)), float(np.max(ulps)))


def measure(formula: Formula, n: int = 200, seed: int = 0) -> tuple[Errors, Errors]:
    """(naive NumPy, ``ed.jit``) errors of ``formula`` on ``n`` samples from its fragile range."""
    import egraph_dsl as ed

    args = formula.sample(np.random.default_rng(seed), n)
    exact = reference(formula.fn, args)
    with np.errstate(all="ignore"):
        naive = formula.fn(*args)
        jitted = ed.jit(formula.fn)(*args)
    return errors(naive, exact), errors(jitted, exact)


__all__ = ["FORMULAS", "Errors", "Formula", "by_name", "errors", "measure", "reference"]
