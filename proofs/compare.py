"""The comparison policy: when do the two sides of a rule agree, per claim.

- ``exact``: same shape and dtype; bit-identical values, signed zeros included; any nan
  matches any nan (payloads are not compared).
- ``real`` / ``guarded``: (1) over the reals, both sides evaluated exactly in mpmath must agree
  wherever the left side is defined (the right side must be defined there too); (2) the
  right side's float result must be within ``tol = rtol_eff * max(|ref|, C) + tiny`` of the
  exact left value ``ref``, where ``C`` is the largest operand of an additive op (add, sub,
  sum, matmul …) on either side, so cancellation is judged against the magnitudes that
  cancelled. (2) is skipped when some intermediate value of either side leaves the normal
  range of the dtype (overflow, underflow, subnormals).
- ``approx``: only (2), with the rule's ``rtol``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from egraph_dsl.rules import Claim, Rule
from egraph_dsl.term import Term

from .semantics import MpMath, OutOfRangeError, RealValue, UndefinedError, evaluate_real, to_real

EPS64 = 2.0**-52
REAL_AGREEMENT = 2.0**-1000  # relative agreement demanded of the two exact (mpmath) sides


@dataclass(frozen=True)
class Verdict:
    """The outcome of one comparison: ``checked`` is False when the point was out of scope."""

    checked: bool
    failure: str | None = None
    note: str = ""


def same_type(lhs: Term, rhs: Term) -> str | None:
    """Shape/dtype mismatch message (a weak right side takes the left side's type)."""
    if rhs.weak:
        return None
    if lhs.shape != rhs.shape or lhs.dtype != rhs.dtype:
        return f"the sides have different types: left {lhs.dtype}{list(lhs.shape or ())}, " \
               f"right {rhs.dtype}{list(rhs.shape or ())}"
    return None


def bits_equal(a: np.ndarray, b: np.ndarray) -> str | None:
    """None when ``a`` and ``b`` are bit-identical (nan matches nan), else where they differ."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"outputs differ in type: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
    if a.dtype.kind != "f":
        bad = a != b
    else:
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        bad = (nan_a != nan_b) | (~nan_a & ~nan_b & ((a != b) | (np.signbit(a) != np.signbit(b))))
    if not np.any(bad):
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"at index {idx}: left {_show(a[idx])}, right {_show(b[idx])}"


def _show(x: object) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x)!r} ({float(x).hex()})"
    return repr(x)


def effective_rtol(rule: Rule, dtype: str) -> float:
    """The rule's ``rtol`` (stated for float64), scaled by machine epsilon for float32."""
    eps = float(np.finfo(dtype).eps) if dtype in ("float32", "float64") else EPS64
    return max(rule.rtol * eps / EPS64, 4 * eps)


def compare_real(rule: Rule, lhs: Term, rhs: Term, args: Mapping[str, np.ndarray],
                 lhs_out: np.ndarray, rhs_out: np.ndarray, m: MpMath | None = None) -> Verdict:
    """Apply the ``real``/``guarded``/``approx`` policy at one point."""
    m = m or MpMath()
    if any(a.dtype.kind == "f" and not np.all(np.isfinite(a)) for a in args.values()):
        return Verdict(False, note="non-finite input: not a real number")
    env = {k: to_real(v, m) for k, v in args.items()}
    try:
        left = evaluate_real(lhs, env, m)
    except UndefinedError as exc:
        return Verdict(False, note=f"left side undefined over the reals ({exc})")
    except OutOfRangeError as exc:
        return Verdict(False, note=f"out of range ({exc})")
    try:
        right = evaluate_real(rhs, env, m)
    except UndefinedError as exc:
        if rule.claim is Claim.APPROX:
            return Verdict(False, note="right side undefined")
        return Verdict(True, f"over the reals the left side is defined but the right side is not ({exc})")
    except OutOfRangeError as exc:
        return Verdict(False, note=f"out of range ({exc})")
    if rule.claim is not Claim.APPROX:
        failure = _reals_agree(left, right)
        if failure:
            return Verdict(True, failure)
    dtype = str(lhs_out.dtype)
    if dtype not in ("float32", "float64"):
        return Verdict(True, bits_equal(lhs_out, rhs_out))
    if not _in_normal_range(left, dtype) or not _in_normal_range(right, dtype):
        return Verdict(True, note="float comparison skipped: an intermediate leaves the normal range")
    return Verdict(True, _floats_close(rule, left, right, np.asarray(rhs_out), dtype))


def _reals_agree(left: RealValue, right: RealValue) -> str | None:
    lv, rv = np.broadcast_arrays(left.value, right.value)
    scale = max(left.additive_scale, right.additive_scale)
    for idx in np.ndindex(lv.shape):
        a, b = lv[idx], rv[idx]
        if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
            if bool(a) != bool(b):
                return f"over the reals at index {idx}: left {a}, right {b}"
            continue
        bound: Any = max(abs(a), abs(b), scale)
        if abs(a - b) > REAL_AGREEMENT * bound:
            return f"over the reals at index {idx}: left {_mp(a)}, right {_mp(b)}"
    return None


def _mp(x: object) -> str:
    import mpmath

    return str(mpmath.nstr(x, 17))


def _in_normal_range(side: RealValue, dtype: str) -> bool:
    info = np.finfo(dtype)
    return all(big <= float(info.max) and small >= float(info.tiny) for big, small in side.node_magnitudes)


def _floats_close(rule: Rule, left: RealValue, right: RealValue, rhs_out: np.ndarray, dtype: str) -> str | None:
    rtol = effective_rtol(rule, dtype)
    tiny = float(np.finfo(dtype).tiny)
    scale = max(left.additive_scale, right.additive_scale)
    ref, got = np.broadcast_arrays(left.value, rhs_out)
    for idx in np.ndindex(ref.shape):
        r = ref[idx]
        g = float(got[idx])
        if isinstance(r, (bool, np.bool_)):
            continue
        tol = rtol * max(float(abs(r)), scale) + tiny
        if not np.isfinite(g) or float(abs(g - r)) > tol:
            return (f"float result of the right side at index {idx} is {_show(g)}, exact value of the "
                    f"left side is {_mp(r)} (allowed error {tol:.3g})")
    return None
