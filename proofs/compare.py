"""The comparison policy: when do the two sides of a rule agree, per claim.

- ``exact``: same shape and dtype; bit-identical values, signed zeros included; any nan
  matches any nan (payloads are not compared).
- ``real`` / ``guarded`` (:func:`compare_faithful`, the default rulesets' floating-point policy):
  at output elements that depend on a nan or ±inf input, the right side must give what NumPy
  gives for the left side: the same nan-ness, the same infinity, the same signed zero (finite
  values within ``rtol``). Elsewhere (1) over the reals both sides, evaluated in mpmath, must
  agree wherever the left side is defined (the right side must be defined there too), and (2)
  the right side's float result must be within ``max(rtol_eff * |ref|, bound) + tiny`` of the
  exact value ``ref``, where ``bound`` is how far NumPy's own evaluation of the left side may
  be off (``accuracy.error_bound``), or no farther from ``ref`` than NumPy's left result is; it
  may be nan or ±inf only where NumPy's is too (or where the rounded exact value is), and a
  zero must carry NumPy's sign, or the exact value's sign where that is not zero. Where NumPy's
  left result is nan or ±inf although the exact value is finite (an intermediate overflowed),
  the right side cannot be less accurate: any result passes (that is what stability rules fix).
- ``real`` / ``guarded`` in a ``fast-math`` rule or ruleset (:func:`compare_real`): finite
  inputs only; (1), then (2) with ``tol = rtol_eff * max(|ref|, C) + tiny`` where ``C`` is the
  largest operand of an additive op on either side; (2) is skipped when an intermediate leaves
  the normal range of the dtype.
- ``approx``: only (2) of the fast-math policy, with the rule's ``rtol``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from egraph_dsl import ops
from egraph_dsl.rules import Claim, Rule
from egraph_dsl.term import Term, postorder

from .accuracy import error_bound, tainted
from .semantics import WIDE_EXP_LIMIT, ExtendedMpMath, MpMath, OutOfRangeError, RealValue, UndefinedError, evaluate_real, to_real

EPS64 = 2.0**-52


@dataclass(frozen=True)
class Verdict:
    """The outcome of one comparison: ``checked`` is False when the point was out of scope."""

    checked: bool
    failure: str | None = None
    note: str = ""
    index: tuple[int, ...] | None = None  # the element that failed, when elements are judged one by one


def same_type(lhs: Term, rhs: Term) -> str | None:
    """Shape/dtype mismatch message (a weak right side takes the left side's type)."""
    if rhs.weak:
        return None
    if lhs.shape != rhs.shape or lhs.dtype != rhs.dtype:
        return f"the sides have different types: left {lhs.dtype}{list(lhs.shape or ())}, " \
               f"right {rhs.dtype}{list(rhs.shape or ())}"
    return None


def first_difference(a: np.ndarray, b: np.ndarray) -> tuple[int, ...] | None:
    """The first index where ``a`` and ``b`` (same shape and dtype) are not bit-identical (nan matches nan)."""
    if a.dtype.kind != "f":
        bad = a != b
    else:
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        bad = (nan_a != nan_b) | (~nan_a & ~nan_b & ((a != b) | (np.signbit(a) != np.signbit(b))))
    if not np.any(bad):
        return None
    return tuple(int(i) for i in np.argwhere(np.asarray(bad))[0])


def bits_equal(a: np.ndarray, b: np.ndarray) -> str | None:
    """None when ``a`` and ``b`` are bit-identical (nan matches nan), else where they differ."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"outputs differ in type: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
    idx = first_difference(a, b)
    if idx is None:
        return None
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
        failure = _reals_agree(left, right, m)
        if failure:
            return Verdict(True, failure)
    dtype = str(lhs_out.dtype)
    if dtype not in ("float32", "float64"):
        return Verdict(True, bits_equal(lhs_out, rhs_out))
    if not _in_normal_range(left, dtype) or not _in_normal_range(right, dtype):
        return Verdict(True, note="float comparison skipped: an intermediate leaves the normal range")
    return Verdict(True, _floats_close(rule, left, right, np.asarray(rhs_out), dtype))


def _reals_agree(left: RealValue, right: RealValue, m: MpMath | None = None) -> str | None:
    """Both exact sides agree to ``m.agreement`` of their magnitude (or of what they cancel)."""
    m = m or MpMath()
    lv, rv = np.broadcast_arrays(left.value, right.value)
    scale = m.ctx.mpf(max(left.additive_scale, right.additive_scale))
    for idx in np.ndindex(lv.shape):
        a, b = lv[idx], rv[idx]
        if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
            if bool(a) != bool(b):
                return f"over the reals at index {idx}: left {a}, right {b}"
            continue
        bound: Any = max(abs(a), abs(b), scale)
        if abs(a - b) > m.agreement * bound:
            return f"over the reals at index {idx}: left {_mp(a)}, right {_mp(b)}"
    return None


def _mp(x: object, digits: int = 17) -> str:
    import mpmath

    return str(mpmath.nstr(x, digits))


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


# ------------------------------------------------------- the IEEE-faithful policy (default)


PLACEHOLDER = 1.0  # stands in for nan/±inf inputs when the exact value of the other elements is computed


def compare_faithful(rule: Rule, lhs: Term, rhs: Term, args: Mapping[str, np.ndarray],
                     lhs_out: np.ndarray, rhs_out: np.ndarray, m: MpMath | None = None) -> Verdict:
    """Apply the default rulesets' floating-point policy at one point (see the module docstring).

    An elementwise rule is judged element by element, each as a point of its own, so one element
    out of scope does not take the others with it.
    """
    m = m or MpMath(exp_limit=WIDE_EXP_LIMIT)
    if lhs_out.ndim == 0 or not (_elementwise(lhs) and _elementwise(rhs)):
        return _faithful_point(rule, lhs, rhs, args, lhs_out, rhs_out, m)
    lv, rv = np.broadcast_arrays(lhs_out, rhs_out)
    checked = False
    for idx in np.ndindex(lv.shape):
        sub = {k: np.asarray(v[idx] if v.shape == lv.shape else v) for k, v in args.items()}
        verdict = _faithful_point(rule, lhs, rhs, sub, np.asarray(lv[idx]), np.asarray(rv[idx]), m)
        if verdict.failure:
            return Verdict(True, verdict.failure, index=idx)
        checked |= verdict.checked
    return Verdict(checked)


def _elementwise(side: Term) -> bool:
    return all(ops.spec(t.op).kind in (ops.Kind.ELEMENTWISE, ops.Kind.LEAF) for t in postorder([side]))


def _faithful_point(rule: Rule, lhs: Term, rhs: Term, args: Mapping[str, np.ndarray], lhs_out: np.ndarray,
                    rhs_out: np.ndarray, m: MpMath) -> Verdict:
    """The policy at one point."""

    def at(idx: tuple[int, ...]) -> str:
        return f"at index {idx}"

    dtype = str(lhs_out.dtype)
    floats = dtype in ("float32", "float64")
    rtol = effective_rtol(rule, dtype)
    special = np.broadcast_to(tainted(lhs, args), lhs_out.shape)
    lv, rv = np.broadcast_arrays(lhs_out, rhs_out)
    extended = _extended_value(lhs, args, lhs_out.shape, m.ctx.prec) if special.any() and floats else None
    for idx in np.ndindex(special.shape):
        if not special[idx]:
            continue
        failure = (_special_element(float(lv[idx]), float(rv[idx]), None if extended is None else extended[idx],
                                    rtol, dtype) if floats
                   else (None if lv[idx] == rv[idx] else f"left {lv[idx]}, right {rv[idx]}"))
        if failure:
            return Verdict(True, f"{at(idx)}, which depends on a nan or ±inf input: {failure}")
    checked = bool(special.any())
    if special.all():
        return Verdict(checked)
    env = {k: to_real(np.where(np.isfinite(v), v, PLACEHOLDER) if v.dtype.kind == "f" else v, m)
           for k, v in args.items()}
    try:
        left = evaluate_real(lhs, env, m)
    except UndefinedError as exc:
        return Verdict(checked, note=f"left side undefined over the reals ({exc})")
    except OutOfRangeError as exc:
        return Verdict(checked, note=f"out of range ({exc})")
    try:
        right = evaluate_real(rhs, env, m)
    except UndefinedError as exc:
        return Verdict(True, f"{at(())}: over the reals the left side is defined but the right side is not ({exc})")
    except OutOfRangeError as exc:
        return Verdict(checked, note=f"out of range ({exc})")
    failure = _reals_agree(left, right, m)
    if failure:
        return Verdict(True, failure)
    if not floats:
        return Verdict(True, bits_equal(np.where(special, False, lv), np.where(special, False, rv)))
    bound = np.broadcast_to(error_bound(lhs, env, m, dtype), lhs_out.shape)
    ref = np.broadcast_to(left.value, lhs_out.shape)
    for idx in np.ndindex(lhs_out.shape):
        if special[idx]:
            continue
        failure = _faithful_element(float(lv[idx]), float(rv[idx]), ref[idx], bound[idx], rtol, dtype)
        if failure:
            return Verdict(True, f"{at(idx)}: {failure}")
    return Verdict(True)


@cache
def _extended_math(prec: int) -> ExtendedMpMath:
    """One per precision, reused: it caches exp of huge arguments."""
    return ExtendedMpMath(prec)


def _extended_value(lhs: Term, args: Mapping[str, np.ndarray], shape: tuple[int, ...],
                    prec: int) -> np.ndarray | None:
    """The left side's value over the extended reals (None per element where a nan input reaches it
    or the form is indeterminate); None when it cannot be evaluated at all."""
    m = _extended_math(prec)
    try:
        value = evaluate_real(lhs, {k: to_real(v, m) for k, v in args.items()}, m).value
    except (ArithmeticError, ValueError):
        return None
    out = np.broadcast_to(np.asarray(value, dtype=object), shape).copy()
    nan_reached = np.broadcast_to(tainted(lhs, args, nan_only=True), shape)
    for idx in np.ndindex(shape):
        x = out[idx]
        if nan_reached[idx] or isinstance(x, (bool, np.bool_)) or m.ctx.isnan(x):
            out[idx] = None
    return out


def _special_element(left: float, right: float, exact: Any, rtol: float, dtype: str) -> str | None:
    """An element that depends on a ±inf or nan input: NumPy's IEEE value, or else the exact value
    over the extended reals where it is determinate (NumPy's intermediate over- or underflowed)."""
    failure = _same_ieee_value(left, right, rtol, dtype)
    if failure is None or exact is None:
        return failure
    rounded = _rounded(exact, dtype)
    if not np.isfinite(rounded):
        return None if right == rounded else failure
    if not np.isfinite(right) or abs(right - exact) > rtol * abs(exact) + float(np.finfo(dtype).tiny):
        return failure
    if right == 0 and left == 0 and np.signbit(right) != np.signbit(left):
        if exact == 0 or bool(np.signbit(right)) != bool(exact < 0):
            return failure
    return None


def _same_ieee_value(left: float, right: float, rtol: float, dtype: str) -> str | None:
    """Where the exact value is not a real number: NumPy's nan-ness, infinity and signed zero."""
    show = f"left {_show(left)}, right {_show(right)}"
    if np.isnan(left) or np.isnan(right):
        return None if np.isnan(left) and np.isnan(right) else f"nan-ness differs: {show}"
    if np.isinf(left) or np.isinf(right):
        return None if left == right else f"infinities differ: {show}"
    if left == 0 and right == 0:
        return None if np.signbit(left) == np.signbit(right) else f"signed zeros differ: {show}"
    tol = rtol * max(abs(left), abs(right)) + float(np.finfo(dtype).tiny)
    return None if abs(left - right) <= tol else f"values differ: {show}"


def _rounded(x: Any, dtype: str) -> float:
    """The exact value ``x`` rounded to ``dtype`` (±inf past the largest finite value)."""
    with np.errstate(over="ignore", under="ignore"):
        return float(np.asarray(float(x), dtype=dtype))


def _faithful_element(left: float, right: float, ref: Any, bound: Any, rtol: float, dtype: str) -> str | None:
    """One output element at finite inputs: not less accurate than NumPy, NumPy's nan/inf/zero sign."""
    exact = _rounded(ref, dtype)
    if np.isnan(left) or (np.isinf(left) and left != exact):
        return None  # NumPy overflowed although the exact value is finite: nothing can be less accurate

    def show() -> str:
        return f"left {_show(left)}, right {_show(right)}, exact {_mp(ref)}"

    if not np.isfinite(right):
        return None if right in (exact, left) else f"the right side is {_show(right)} where NumPy is not: {show()}"
    err_right = 0 if right == exact else abs(right - ref)
    err_left = 0 if left == exact else abs(left - ref)
    tol = max(rtol * abs(ref), bound) + float(np.finfo(dtype).tiny)
    if err_right > tol and err_right > err_left:
        return (f"the right side is less accurate than NumPy's left side: {show()} (error {_mp(err_right, 3)}, "
                f"NumPy's {_mp(err_left, 3)}, allowed {_mp(tol, 3)})")
    if right == 0 and left == 0 and np.signbit(right) != np.signbit(left):
        if ref == 0 or bool(np.signbit(right)) != bool(ref < 0):
            return f"signed zeros differ: {show()}"
    return None
