"""The value fuzzer's random programs, differentiated: jitted gradients against finite differences.

Each program's float arguments are redrawn, as float64, from a normal distribution (edge values have no
finite differences), its float outputs are contracted with fixed random weights into one scalar,
and ``ed.value_and_grad`` of that (optimized, compiled) is compared with central differences of
the plain NumPy function. Entries where two step sizes disagree sit on a kink (a max tie, a where
edge, floor) and are not judged; programs whose value is not finite are skipped, and so are
gradients that are nan where finite differences are not because an intermediate's derivative is
infinite (``sqrt(z * 0)``: inf * 0 by the chain rule, as in JAX and PyTorch).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import egraph_dsl as ed

from .random_programs import REFUSALS, generate
from .test_autodiff import central_difference

SEEDS = range(120)


def _contracted(fn: Callable[..., Any], weights: list[np.ndarray]) -> Callable[..., Any]:
    def scalar(*args: Any) -> Any:
        out = fn(*args)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        total = 0.0
        for o, w in zip(outs, weights, strict=False):
            if _kind(o) == "f":
                total = total + np.sum(o * w)
        return total

    return scalar


def _kind(x: Any) -> str:
    return str(x.dtype.kind if hasattr(x, "dtype") else np.asarray(x).dtype.kind)


def judge(seed: int) -> str:
    """'ok', 'skipped: why', or a failure description."""
    case = generate(seed)
    rng = np.random.default_rng(seed + 10**6)
    # every float array argument as float64 (float32 rounding would swamp finite differences)
    args = [rng.standard_normal(a.shape) * 1.5 if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in case.args]
    if not any(isinstance(a, np.ndarray) and a.dtype == np.float64 and a.size for a in args):
        return "skipped: no float64 array argument"
    fn = case.function()
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = fn(*args)
        except Exception as exc:  # the program raises in NumPy (the value fuzzer checks we raise too)
            return f"skipped: NumPy raises {type(exc).__name__}"
        outs = out if isinstance(out, (tuple, list)) else (out,)
        weights = [rng.standard_normal(np.shape(o)) for o in outs]
        scalar = _contracted(fn, weights)
        value = float(scalar(*args))
        if not np.isfinite(value) or not any(_kind(o) == "f" for o in outs):
            return "skipped: no finite float output"
        argnums = tuple(i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype == np.float64)
        try:
            got_value, grads = ed.value_and_grad(scalar, argnums=argnums, rulesets=case.rulesets)(*args)
        except REFUSALS as exc:  # refused at trace time where NumPy computes (the value fuzzer's business)
            return f"skipped: refused ({type(exc).__name__})"
        if not np.isclose(got_value, value, rtol=1e-9, atol=1e-9):
            return f"value {got_value!r} != NumPy's {value!r}"
        for i, g in zip(argnums, grads, strict=True):
            fine, coarse = central_difference(scalar, args, i, 1e-6), central_difference(scalar, args, i, 1e-5)
            smooth = np.isclose(fine, coarse, rtol=1e-4, atol=1e-6) & np.isfinite(fine)
            if g.shape != args[i].shape or g.dtype != np.float64:
                return f"d/d arg {i}: shape {g.shape} {g.dtype}, expected {args[i].shape} float64"
            noise = 100 * abs(value) * np.finfo(np.float64).eps / 1e-6  # rounding of the differenced values
            if (smooth & ~np.isfinite(g)).any():
                # an intermediate with an infinite derivative where its own argument is constant, e.g.
                # sqrt(z * 0): the chain rule gives inf * 0 = nan, as JAX and PyTorch do
                return "skipped: an infinite intermediate derivative (nan by the chain rule)"
            bad = smooth & ~np.isclose(g, fine, rtol=1e-4, atol=max(1e-5, noise))
            if bad.any():
                k = np.argwhere(bad)[0]
                return f"d/d arg {i} at {tuple(k)}: {g[tuple(k)]!r}, finite differences {fine[tuple(k)]!r}"
    return "ok"


@pytest.mark.parametrize("seed", SEEDS)
def test_random_program_gradients_match_finite_differences(seed: int) -> None:
    verdict = judge(seed)
    if verdict.startswith("skipped"):
        return
    assert verdict == "ok", f"{verdict}\n{generate(seed).describe()}"


def test_the_gradient_fuzzer_judges_most_programs() -> None:
    """Most programs are judged, not skipped (a fuzzer that skips everything finds nothing)."""
    verdicts = [judge(seed) for seed in range(40)]
    judged = sum(v == "ok" for v in verdicts)
    assert judged >= 15, verdicts


def test_the_gradient_fuzzer_finds_a_planted_vjp_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sum whose VJP doubles the cotangent is caught within a few dozen programs."""
    from egraph_dsl import vjp

    def doubled(t: Any, g: Any) -> Any:
        return (vjp.expand_back(vjp.make("mul", [g, vjp.const(2.0)]), t.args[0].shape, t.attr["axis"],
                                t.attr["keepdims"]),)

    monkeypatch.setitem(vjp.VJPS, "sum", doubled)
    found = [seed for seed in range(30) if not (v := judge(seed)).startswith("skipped") and v != "ok"]
    assert found, "the planted bug went unnoticed"
