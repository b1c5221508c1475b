"""Exact semantics of the elementwise ufuncs beyond arithmetic (trig, rounding, predicates, logic,
bitwise, floor division, scipy.special), as mixins of the math namespaces.

:class:`MpMathUfuncs` serves every mpmath namespace (:class:`proofs.semantics.MpMath`, its
extended-real subclass, the fuzzer's IEEE namespace): it needs ``ctx`` (an mpmath context),
``exp``/``log`` of the namespace itself (so their limits and infinities apply) and
``_undefined(why)``, which raises where the namespace refuses undefined points and returns nan
where it marks them. :class:`Z3RealUfuncs` models the ops over z3 reals: rounding and division
with ``ToInt``, transcendental functions as uninterpreted functions (sound: nothing is assumed
of them but what the namespace's axioms say), and bitwise operations on integers as *not
provable* (:class:`UnsupportedError`). :class:`Z3FloatUfuncs` adds the IEEE models z3 has
(rounding to integers, the nan/inf predicates).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import z3

# ops of the op table whose IEEE semantics Z3FloatUfuncs models bit for bit
UFUNC_FP_OPS = frozenset({"floor", "ceil", "trunc", "rint", "isnan", "isinf", "isfinite", "logical_not",
                          "logical_and", "logical_or", "logical_xor"})


class UnsupportedError(Exception):
    """The op (or constant) has no model in this z3 namespace (here, and in z3_semantics)."""


def _real(x: Any) -> Any:
    if isinstance(x, (int, float, Fraction)) and not isinstance(x, bool):
        return z3.RealVal(Fraction(x))
    return x


def _is_bool(x: Any) -> bool:
    return isinstance(x, bool) or type(x).__name__ == "bool_"


class MpMathUfuncs:
    """Trig, rounding, predicates, logic, bitwise and division ops over an mpmath context."""

    ctx: Any

    def exp(self, a: Any) -> Any:
        raise NotImplementedError

    def log(self, a: Any) -> Any:
        raise NotImplementedError

    def _undefined(self, why: str) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def _isnan(self, *xs: Any) -> bool:
        return any(not _is_bool(x) and bool(self.ctx.isnan(x)) for x in xs)

    def _isinf(self, *xs: Any) -> bool:
        return any(not _is_bool(x) and bool(self.ctx.isinf(x)) for x in xs)

    def _fraction(self, x: Any) -> Fraction:
        sign, man, exp, _ = self.ctx.mpf(x)._mpf_  # man_exp drops the sign
        return (-1 if sign else 1) * Fraction(int(man)) * Fraction(2) ** int(exp)

    def _mpf(self, f: Fraction | int) -> Any:
        f = Fraction(f)
        return self.ctx.mpf(f.numerator) / f.denominator

    def _truth(self, x: Any) -> bool:
        return bool(x) if _is_bool(x) else bool(x != 0)  # nan is true, as in NumPy

    def _integer(self, x: Any, op: str) -> int:
        if _is_bool(x):
            return int(x)
        if self._isnan(x) or self._isinf(x) or x != self.ctx.floor(x):
            return int(self._undefined(f"{op} of a non-integer"))
        return int(x)

    def _unary(self, fn: Any, a: Any) -> Any:
        return self.ctx.nan if self._isnan(a) else fn(a)

    # -------------------------------------------------------------- trigonometric
    def _periodic(self, fn: Any, a: Any, name: str) -> Any:
        if self._isnan(a) or self._isinf(a):
            return self._undefined(f"{name} of an infinity") if self._isinf(a) else self.ctx.nan
        return fn(a)

    def sin(self, a: Any) -> Any:
        return self._periodic(self.ctx.sin, a, "sin")

    def cos(self, a: Any) -> Any:
        return self._periodic(self.ctx.cos, a, "cos")

    def tan(self, a: Any) -> Any:
        return self._periodic(self.ctx.tan, a, "tan")

    def asin(self, a: Any) -> Any:
        return self._undefined("arcsin outside [-1, 1]") if self._isnan(a) or abs(a) > 1 else self.ctx.asin(a)

    def acos(self, a: Any) -> Any:
        return self._undefined("arccos outside [-1, 1]") if self._isnan(a) or abs(a) > 1 else self.ctx.acos(a)

    def atan(self, a: Any) -> Any:
        return self._unary(self.ctx.atan, a)

    def atan2(self, a: Any, b: Any) -> Any:
        if self._isnan(a, b) or self._isinf(a, b) or (a == 0 and b == 0):
            return self._undefined("arctan2 at (0, 0) or of an infinity")
        return self.ctx.atan2(a, b)

    def sinh(self, a: Any) -> Any:
        return (self.exp(a) - self.exp(-a)) / 2

    def cosh(self, a: Any) -> Any:
        return (self.exp(a) + self.exp(-a)) / 2

    def asinh(self, a: Any) -> Any:
        return self._unary(self.ctx.asinh, a)

    def acosh(self, a: Any) -> Any:
        return self._undefined("arccosh below 1") if self._isnan(a) or a < 1 else self.ctx.acosh(a)

    def atanh(self, a: Any) -> Any:
        return self._undefined("arctanh outside (-1, 1)") if self._isnan(a) or abs(a) >= 1 else self.ctx.atanh(a)

    # --------------------------------------------------------- exponentials, roots
    def exp2(self, a: Any) -> Any:
        return self.exp(a * self.ctx.ln2)

    def log2(self, a: Any) -> Any:
        return self.log(a) / self.ctx.ln2

    def log10(self, a: Any) -> Any:
        return self.log(a) / self.ctx.ln10

    def cbrt(self, a: Any) -> Any:
        return self._unary(lambda x: self.ctx.sign(x) * self.ctx.cbrt(abs(x)), a)

    # ------------------------------------------------------------------- rounding
    def _round(self, fn: Any, a: Any) -> Any:
        return a if _is_bool(a) or self._isnan(a) or self._isinf(a) else fn(a)

    def floor(self, a: Any) -> Any:
        return self._round(self.ctx.floor, a)

    def ceil(self, a: Any) -> Any:
        return self._round(self.ctx.ceil, a)

    def trunc(self, a: Any) -> Any:
        return self._round(lambda x: self.ctx.floor(x) if x >= 0 else self.ctx.ceil(x), a)

    def rint(self, a: Any) -> Any:
        return self._round(self.ctx.nint, a)  # ties to even

    def sign(self, a: Any) -> Any:
        return self._unary(self.ctx.sign, a)

    def copysign(self, a: Any, b: Any) -> Any:
        if self._isnan(b):
            return self._undefined("copysign with a nan sign")
        return abs(a) if b >= 0 else -abs(a)

    # ------------------------------------------------------------------ predicates
    def isnan(self, a: Any) -> bool:
        return self._isnan(a)

    def isinf(self, a: Any) -> bool:
        return self._isinf(a)

    def isfinite(self, a: Any) -> bool:
        return not (self._isnan(a) or self._isinf(a))

    def signbit(self, a: Any) -> bool:
        if self._isnan(a):
            return bool(self._undefined("the sign bit of a nan"))
        return not _is_bool(a) and bool(a < 0)  # the reals have no -0.0

    # ------------------------------------------------------------- logic, bitwise
    def logical_not(self, a: Any) -> bool:
        return not self._truth(a)

    def logical_and(self, a: Any, b: Any) -> bool:
        return self._truth(a) and self._truth(b)

    def logical_or(self, a: Any, b: Any) -> bool:
        return self._truth(a) or self._truth(b)

    def logical_xor(self, a: Any, b: Any) -> bool:
        return self._truth(a) != self._truth(b)

    def _bitwise(self, a: Any, b: Any, fn: Any, op: str) -> Any:
        if _is_bool(a) and _is_bool(b):
            return bool(fn(bool(a), bool(b)))
        return self.ctx.mpf(fn(self._integer(a, op), self._integer(b, op)))

    def bitwise_and(self, a: Any, b: Any) -> Any:
        return self._bitwise(a, b, lambda x, y: x & y, "bitwise_and")

    def bitwise_or(self, a: Any, b: Any) -> Any:
        return self._bitwise(a, b, lambda x, y: x | y, "bitwise_or")

    def bitwise_xor(self, a: Any, b: Any) -> Any:
        return self._bitwise(a, b, lambda x, y: x ^ y, "bitwise_xor")

    def invert(self, a: Any) -> Any:
        return (not a) if _is_bool(a) else self.ctx.mpf(~self._integer(a, "invert"))

    # -------------------------------------------------------------------- division
    def _quotient(self, a: Any, b: Any, op: str) -> tuple[Fraction, Fraction, Fraction] | None:
        if self._isnan(a, b) or self._isinf(a, b) or b == 0:
            return None
        fa, fb = self._fraction(a), self._fraction(b)
        return fa, fb, fa / fb

    def floor_divide(self, a: Any, b: Any) -> Any:
        q = self._quotient(a, b, "floor_divide")
        return self._undefined("floor division by zero or of an infinity") if q is None else self._mpf(q[2].__floor__())

    def remainder(self, a: Any, b: Any) -> Any:
        q = self._quotient(a, b, "remainder")
        return self._undefined("remainder by zero or of an infinity") if q is None else self._mpf(q[0] - q[1] * q[2].__floor__())

    def fmod(self, a: Any, b: Any) -> Any:
        q = self._quotient(a, b, "fmod")
        return self._undefined("fmod by zero or of an infinity") if q is None else self._mpf(q[0] - q[1] * q[2].__trunc__())

    # --------------------------------------------------------------- scipy.special
    def erf(self, a: Any) -> Any:
        return self._unary(self.ctx.erf, a)

    def erfc(self, a: Any) -> Any:
        return self._unary(self.ctx.erfc, a)

    def ndtr(self, a: Any) -> Any:
        return self._unary(lambda x: self.ctx.erfc(-x / self.ctx.sqrt(2)) / 2, a)

    def gammaln(self, a: Any) -> Any:
        if self._isnan(a) or (self._isinf(a) and a < 0) or (a <= 0 and a == self.ctx.floor(a)):
            return self._undefined("gammaln at a pole")
        if self._isinf(a):
            return a
        return self.ctx.re(self.ctx.loggamma(a))

    def xlogy(self, a: Any, b: Any) -> Any:
        if a == 0 and not self._isnan(b):
            return self.ctx.mpf(0)
        return a * self.log(b)

    def xlog1py(self, a: Any, b: Any) -> Any:
        if a == 0 and not self._isnan(b):
            return self.ctx.mpf(0)
        return a * self.log(1 + b)


class _Z3Logic:
    """Logical ops over z3, given each namespace's truth of a value (``_truth``)."""

    def _truth(self, x: Any) -> Any:
        raise NotImplementedError

    def logical_not(self, a: Any) -> Any:
        return z3.Not(self._truth(a))

    def logical_and(self, a: Any, b: Any) -> Any:
        return z3.And(self._truth(a), self._truth(b))

    def logical_or(self, a: Any, b: Any) -> Any:
        return z3.Or(self._truth(a), self._truth(b))

    def logical_xor(self, a: Any, b: Any) -> Any:
        return z3.Xor(self._truth(a), self._truth(b))


class Z3RealUfuncs(_Z3Logic):
    """The same ops over z3 reals; needs ``E``, ``L`` (exp and log), ``defined`` and ``facts``."""

    E: Any
    L: Any
    defined: list[z3.BoolRef]
    facts: list[z3.BoolRef]

    def abs(self, a: Any) -> Any:
        raise NotImplementedError

    def sqrt(self, a: Any) -> Any:
        raise NotImplementedError

    def _function(self, name: str, arity: int = 1) -> Any:
        functions: dict[str, Any] = self.__dict__.setdefault("_functions", {})
        if name not in functions:
            functions[name] = z3.Function(name, *([z3.RealSort()] * (arity + 1)))
        return functions[name]

    def _apply(self, name: str, *args: Any, domain: Any = None) -> Any:
        if domain is not None:
            self.defined.append(domain)
        return self._function(name, len(args))(*[_real(a) for a in args])

    def sin(self, a: Any) -> Any:
        return self._apply("sin", a)

    def cos(self, a: Any) -> Any:
        return self._apply("cos", a)

    def tan(self, a: Any) -> Any:
        return self._apply("tan", a)

    def asin(self, a: Any) -> Any:
        return self._apply("asin", a, domain=z3.And(_real(a) >= -1, _real(a) <= 1))

    def acos(self, a: Any) -> Any:
        return self._apply("acos", a, domain=z3.And(_real(a) >= -1, _real(a) <= 1))

    def atan(self, a: Any) -> Any:
        return self._apply("atan", a)

    def atan2(self, a: Any, b: Any) -> Any:
        return self._apply("atan2", a, b, domain=z3.Or(_real(a) != 0, _real(b) != 0))

    def sinh(self, a: Any) -> Any:
        return (self.E(_real(a)) - self.E(-_real(a))) / 2

    def cosh(self, a: Any) -> Any:
        return (self.E(_real(a)) + self.E(-_real(a))) / 2

    def asinh(self, a: Any) -> Any:
        return self._apply("asinh", a)

    def acosh(self, a: Any) -> Any:
        return self._apply("acosh", a, domain=_real(a) >= 1)

    def atanh(self, a: Any) -> Any:
        return self._apply("atanh", a, domain=z3.And(_real(a) > -1, _real(a) < 1))

    def exp2(self, a: Any) -> Any:
        return self.E(_real(a) * self.L(z3.RealVal(2)))

    def log2(self, a: Any) -> Any:
        self.defined.append(_real(a) > 0)
        return self.L(_real(a)) / self.L(z3.RealVal(2))

    def log10(self, a: Any) -> Any:
        self.defined.append(_real(a) > 0)
        return self.L(_real(a)) / self.L(z3.RealVal(10))

    def cbrt(self, a: Any) -> Any:
        y = z3.FreshReal("cbrt")
        self.facts.append(y * y * y == _real(a))
        return y

    def floor(self, a: Any) -> Any:
        return a if z3.is_bool(a) else z3.ToReal(z3.ToInt(_real(a)))

    def ceil(self, a: Any) -> Any:
        return a if z3.is_bool(a) else -z3.ToReal(z3.ToInt(-_real(a)))

    def trunc(self, a: Any) -> Any:
        return a if z3.is_bool(a) else z3.If(_real(a) >= 0, self.floor(a), self.ceil(a))

    def rint(self, a: Any) -> Any:
        half = _real(a) + z3.RealVal(Fraction(1, 2))
        n = z3.ToInt(half)
        tie_to_odd = z3.And(z3.ToReal(n) == half, n % 2 == 1)
        return z3.ToReal(z3.If(tie_to_odd, n - 1, n))

    def sign(self, a: Any) -> Any:
        a = _real(a)
        return z3.If(a > 0, z3.RealVal(1), z3.If(a < 0, z3.RealVal(-1), z3.RealVal(0)))

    def copysign(self, a: Any, b: Any) -> Any:
        return z3.If(_real(b) >= 0, self.abs(a), -self.abs(a))

    def isnan(self, a: Any) -> Any:
        return z3.BoolVal(False)

    def isinf(self, a: Any) -> Any:
        return z3.BoolVal(False)

    def isfinite(self, a: Any) -> Any:
        return z3.BoolVal(True)

    def signbit(self, a: Any) -> Any:
        return z3.BoolVal(False) if z3.is_bool(a) else _real(a) < 0

    def _truth(self, x: Any) -> Any:
        if isinstance(x, bool):
            return z3.BoolVal(x)
        return x if z3.is_bool(x) else _real(x) != 0


    def _boolean(self, *xs: Any) -> bool:
        return all(isinstance(x, bool) or z3.is_bool(x) for x in xs)

    def _not_provable(self, op: str) -> Exception:
        return UnsupportedError(f"{op}: not provable: bitwise operations on integers have no model over the reals")

    def bitwise_and(self, a: Any, b: Any) -> Any:
        if self._boolean(a, b):
            return self.logical_and(a, b)
        raise self._not_provable("bitwise_and")

    def bitwise_or(self, a: Any, b: Any) -> Any:
        if self._boolean(a, b):
            return self.logical_or(a, b)
        raise self._not_provable("bitwise_or")

    def bitwise_xor(self, a: Any, b: Any) -> Any:
        if self._boolean(a, b):
            return self.logical_xor(a, b)
        raise self._not_provable("bitwise_xor")

    def invert(self, a: Any) -> Any:
        if self._boolean(a):
            return self.logical_not(a)
        raise self._not_provable("invert")

    def floor_divide(self, a: Any, b: Any) -> Any:
        self.defined.append(_real(b) != 0)
        return self.floor(_real(a) / _real(b))

    def remainder(self, a: Any, b: Any) -> Any:
        return _real(a) - _real(b) * self.floor_divide(a, b)

    def fmod(self, a: Any, b: Any) -> Any:
        self.defined.append(_real(b) != 0)
        return _real(a) - _real(b) * self.trunc(_real(a) / _real(b))

    def erf(self, a: Any) -> Any:
        return self._apply("erf", a)

    def erfc(self, a: Any) -> Any:
        return 1 - self.erf(a)

    def ndtr(self, a: Any) -> Any:
        return self._apply("ndtr", a)

    def gammaln(self, a: Any) -> Any:
        a = _real(a)
        self.defined.append(z3.Or(a > 0, z3.ToReal(z3.ToInt(a)) != a))
        return self._apply("gammaln", a)

    def xlogy(self, a: Any, b: Any) -> Any:
        a, b = _real(a), _real(b)
        self.defined.append(z3.Or(a == 0, b > 0))
        return z3.If(a == 0, z3.RealVal(0), a * self.L(b))

    def xlog1py(self, a: Any, b: Any) -> Any:
        a, b = _real(a), _real(b)
        self.defined.append(z3.Or(a == 0, b > -1))
        return z3.If(a == 0, z3.RealVal(0), a * self.L(1 + b))


class Z3FloatUfuncs(_Z3Logic):
    """IEEE models of the ops in :data:`UFUNC_FP_OPS` (rounding modes, nan/inf predicates)."""

    sort: Any

    def _round(self, mode: Any, a: Any) -> Any:
        return z3.fpRoundToIntegral(mode, a)

    def floor(self, a: Any) -> Any:
        return self._round(z3.RTN(), a)

    def ceil(self, a: Any) -> Any:
        return self._round(z3.RTP(), a)

    def trunc(self, a: Any) -> Any:
        return self._round(z3.RTZ(), a)

    def rint(self, a: Any) -> Any:
        return self._round(z3.RNE(), a)

    def isnan(self, a: Any) -> Any:
        return z3.fpIsNaN(a)

    def isinf(self, a: Any) -> Any:
        return z3.fpIsInf(a)

    def isfinite(self, a: Any) -> Any:
        return z3.Not(z3.Or(z3.fpIsNaN(a), z3.fpIsInf(a)))

    def _truth(self, x: Any) -> Any:
        return x if z3.is_bool(x) else z3.Not(z3.fpIsZero(x))  # nan is true

