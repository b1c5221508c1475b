"""Exact real semantics in mpmath: the high-precision reference every float result is judged by.

``MpMath`` is the math namespace the op table's ``real`` functions run on; it raises
:class:`UndefinedError` outside an op's domain (log of a non-positive number, division by zero …)
and :class:`OutOfRangeError` where a value is too large to evaluate (exp of 10^5 and beyond).
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

PRECISION_BITS = 2200  # adds any two float64 values exactly (2^1024 .. 2^-1074)
EXP_LIMIT = 10**5


class UndefinedError(ArithmeticError):
    """The expression is not defined over the reals at this point."""


class OutOfRangeError(ArithmeticError):
    """The expression is defined but too large to evaluate; the point is skipped."""


class MpMath:
    """Math namespace over mpmath numbers at :data:`PRECISION_BITS`."""

    def __init__(self, prec: int = PRECISION_BITS) -> None:
        self.ctx = mpmath.MPContext()
        self.ctx.prec = prec

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
            if abs(b * self.ctx.log(a)) > EXP_LIMIT:
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
        if abs(a) > EXP_LIMIT:
            raise OutOfRangeError("exp argument too large")
        return self.ctx.exp(a)

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
