"""Exact real semantics in mpmath: the high-precision reference every float result is judged by.

``MpMath`` is the math namespace the op table's ``real`` functions run on; it raises
:class:`UndefinedError` outside an op's domain (log of a non-positive number, division by zero …)
and :class:`OutOfRangeError` where a value is too large to evaluate (exp beyond ``exp_limit``:
10^5 by default, any float for the IEEE-faithful check).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from egraph_dsl import ops
from egraph_dsl.term import Term, postorder

from .ufunc_semantics import MpMathUfuncs

PRECISION_BITS = 2200  # adds any two float64 values exactly (2^1024 .. 2^-1074)
EXP_LIMIT = 10**5
WIDE_EXP_LIMIT = 2**1100  # past every float: exp of any float64 (an int, larger than any float)


class UndefinedError(ArithmeticError):
    """The expression is not defined over the reals at this point."""


class OutOfRangeError(ArithmeticError):
    """The expression is defined but too large to evaluate; the point is skipped."""


class MpMath(MpMathUfuncs):
    """Math namespace over mpmath numbers at :data:`PRECISION_BITS` (the ufuncs beyond arithmetic:
    :class:`proofs.ufunc_semantics.MpMathUfuncs`)."""

    def __init__(self, prec: int = PRECISION_BITS, exp_limit: float | int = EXP_LIMIT) -> None:
        self.ctx = mpmath.MPContext()
        self.ctx.prec = prec
        self.exp_limit = exp_limit
        self.agreement = self.ctx.mpf(2) ** -(prec // 2 - 100)  # two exact sides agree this closely (2^-1000)
        self._big_exps: dict[Any, Any] = {}  # exp of huge arguments costs milliseconds; edge values repeat

    def _undefined(self, why: str) -> Any:
        raise UndefinedError(why)

    def const(self, v: Any) -> Any:
        if isinstance(v, Fraction):
            return self.ctx.mpf(v.numerator) / v.denominator
        return self.ctx.mpf(float(v)) if isinstance(v, (float, int, np.floating, np.integer)) else v

    def div(self, a: Any, b: Any) -> Any:
        if b == 0:
            raise UndefinedError("division by zero")
        return a / b

    def pow(self, a: Any, b: Any) -> Any:
        if a > 0:
            if abs(b * self.ctx.log(a)) > self.exp_limit:
                raise OutOfRangeError("power too large")
            return self.ctx.power(a, b)
        if a == 0:
            if b > 0:
                return self.ctx.mpf(0)
            raise UndefinedError("0 to a non-positive power")
        if b == int(b):
            if abs(b) > 4096:
                raise OutOfRangeError("integer power too large")
            return self.ctx.power(a, int(b))
        raise UndefinedError("negative base to a non-integer power")

    def maximum(self, a: Any, b: Any) -> Any:
        return a if a > b else b

    def minimum(self, a: Any, b: Any) -> Any:
        return a if a < b else b

    def exp(self, a: Any) -> Any:
        if abs(a) > self.exp_limit:
            raise OutOfRangeError("exp argument too large")
        if abs(a) < 10**4:
            return self.ctx.exp(a)
        if a not in self._big_exps:
            if len(self._big_exps) > 4096:
                self._big_exps.clear()
            self._big_exps[a] = self.ctx.exp(a)
        return self._big_exps[a]

    def log(self, a: Any) -> Any:
        if a <= 0:
            raise UndefinedError("log of a non-positive number")
        return self.ctx.log(a)

    def sqrt(self, a: Any) -> Any:
        if a < 0:
            raise UndefinedError("sqrt of a negative number")
        return self.ctx.sqrt(a)

    def abs(self, a: Any) -> Any:
        return abs(a)

    def tanh(self, a: Any) -> Any:
        return self.ctx.tanh(a)

    def compare(self, symbol: str, a: Any, b: Any) -> bool:
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[symbol])

    def select(self, c: Any, a: Any, b: Any) -> Any:
        return a if c else b


class ExtendedMpMath(MpMath):
    """:class:`MpMath` over the extended reals: exp(±inf), log(0) = -inf and log(inf) = inf.

    What is not determinate there comes out as mpmath's nan instead of raising, element by
    element: indeterminate forms (inf - inf, 0 * inf, inf / inf), division by zero (the sign of
    the infinity is unknown), values outside an op's domain, arguments too large to evaluate.
    """

    def __init__(self, prec: int = PRECISION_BITS, exp_limit: float | int = WIDE_EXP_LIMIT) -> None:
        super().__init__(prec, exp_limit)

    def _undefined(self, why: str) -> Any:
        return self.ctx.nan

    def exp(self, a: Any) -> Any:
        if self.ctx.isinf(a):
            return self.ctx.inf if a > 0 else self.ctx.zero
        if self.ctx.isnan(a) or abs(a) > self.exp_limit:
            return self.ctx.nan
        return super().exp(a)

    def log(self, a: Any) -> Any:
        if a == 0:
            return -self.ctx.inf
        return self.ctx.nan if self.ctx.isnan(a) or a < 0 else super().log(a)

    def div(self, a: Any, b: Any) -> Any:
        if self.ctx.isinf(b) and not self.ctx.isinf(a):
            return self.ctx.zero
        return self.ctx.nan if b == 0 else super().div(a, b)

    def sqrt(self, a: Any) -> Any:
        return self.ctx.nan if self.ctx.isnan(a) or a < 0 else super().sqrt(a)

    def pow(self, a: Any, b: Any) -> Any:
        try:
            return super().pow(a, b)
        except ArithmeticError:
            return self.ctx.nan


ADDITIVE = frozenset({"add", "sub", "sum", "mean", "matmul", "trace", "logaddexp", "expm1", "log1p"})


@dataclass
class RealValue:
    """A side's exact value, the largest magnitude of any node, and of any additive operand."""

    value: np.ndarray
    node_magnitudes: list[tuple[float, float]]  # (largest |v|, smallest non-zero |v|) per node
    additive_scale: float


def to_real(array: Any, m: MpMath) -> np.ndarray:
    """Exact conversion of a NumPy array (float or bool) to an object array of mpf / bool."""
    a = np.asarray(array)
    if a.dtype == bool:
        return np.asarray(a, dtype=object)
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        out[idx] = m.ctx.mpf(float(a[idx]))
    return out


def evaluate_real(root: Term, env: Mapping[str, np.ndarray], m: MpMath) -> RealValue:
    """Evaluate ``root`` exactly; ``env`` maps input names to object arrays (see :func:`to_real`)."""
    values: dict[int, np.ndarray] = {}
    mags: list[tuple[float, float]] = []
    additive = 0.0
    for t in postorder([root]):
        if t.op == "input":
            v = np.asarray(env[str(t.attr["name"])], dtype=object)
        else:
            spec = ops.spec(t.op)
            assert spec.real is not None, f"op {t.op} has no real semantics"
            args = [values[id(a)] for a in t.args]
            v = np.asarray(spec.real(m, *args, **t.attr), dtype=object)
            if t.op in ADDITIVE:
                additive = max(additive, *(_largest(a) for a in args))
        values[id(t)] = v
        mags.append((_largest(v), _smallest_nonzero(v)))
    return RealValue(values[id(root)], mags, additive)


def _numbers(v: np.ndarray) -> list[Any]:
    return [x for x in np.asarray(v, dtype=object).ravel() if not isinstance(x, (bool, np.bool_))]


def _largest(v: np.ndarray) -> float:
    return max((float(abs(x)) for x in _numbers(v)), default=0.0)


def _smallest_nonzero(v: np.ndarray) -> float:
    return min((float(abs(x)) for x in _numbers(v) if x != 0), default=float("inf"))
