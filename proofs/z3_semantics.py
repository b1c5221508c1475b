"""Op semantics in z3: over the reals (with domains and axioms) and in IEEE floating point.

``Z3Real`` models exp, log and tanh as uninterpreted functions; :meth:`Z3Real.axioms` returns
ground instances of their stated axioms for the applications that occur (exp(a+b) =
exp(a)·exp(b), exp(x) > 0, exp(x) ≥ 1 + x, log(exp(x)) = x, exp(log(x)) = x for x > 0,
log(xy) = log x + log y for x, y > 0, monotonicity, tanh odd and bounded). sqrt(x) is a fresh
y with y·y = x, y ≥ 0 (when x ≥ 0). Domain conditions are collected in ``defined``.
``Z3Float`` covers the ops z3's FP theory has, with NumPy's nan and signed-zero behaviour.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import z3

from .ufunc_semantics import UFUNC_FP_OPS, UnsupportedError, Z3FloatUfuncs, Z3RealUfuncs


class Z3Real(Z3RealUfuncs):
    """Math namespace over z3 reals; collects domain conditions and sqrt definitions (the ufuncs
    beyond arithmetic: :class:`proofs.ufunc_semantics.Z3RealUfuncs`)."""

    def __init__(self) -> None:
        r = z3.RealSort()
        self.E = z3.Function("exp", r, r)
        self.L = z3.Function("log", r, r)
        self.T = z3.Function("tanh", r, r)
        self.defined: list[z3.BoolRef] = []
        self.facts: list[z3.BoolRef] = []
        self._sqrt: dict[int, z3.ArithRef] = {}

    def const(self, v: Any) -> z3.ArithRef:
        f = Fraction(v) if not isinstance(v, Fraction) else v
        return z3.RealVal(f)

    def div(self, a: Any, b: Any) -> Any:
        self.defined.append(_real(b) != 0)
        return _real(a) / _real(b)

    def pow(self, a: Any, b: Any) -> Any:
        if z3.is_rational_value(_real(b)):
            n = Fraction(_real(b).as_fraction())
            if n.denominator == 1 and abs(n) <= 8:
                if n == 0:
                    return z3.RealVal(1)  # numpy: x**0 == 1 for every x
                prod = _real(a)
                for _ in range(abs(int(n)) - 1):
                    prod = prod * a
                return prod if n > 0 else self.div(z3.RealVal(1), prod)
            if n == Fraction(1, 2):
                return self.sqrt(a)
        self.defined.append(_real(a) > 0)
        return self.E(_real(b) * self.L(_real(a)))

    def maximum(self, a: Any, b: Any) -> Any:
        return z3.If(_real(a) > _real(b), a, b)

    def minimum(self, a: Any, b: Any) -> Any:
        return z3.If(_real(a) < _real(b), a, b)

    def exp(self, a: Any) -> Any:
        return self.E(_real(a))

    def log(self, a: Any) -> Any:
        self.defined.append(_real(a) > 0)
        return self.L(_real(a))

    def sqrt(self, a: Any) -> Any:
        a = _real(a)
        self.defined.append(a >= 0)
        key = a.get_id()
        if key not in self._sqrt:
            y = z3.FreshReal("sqrt")
            self._sqrt[key] = y
            self.facts.append(z3.Implies(a >= 0, z3.And(y * y == a, y >= 0)))
        return self._sqrt[key]

    def abs(self, a: Any) -> Any:
        return z3.If(_real(a) >= 0, a, -_real(a))

    def tanh(self, a: Any) -> Any:
        return self.T(_real(a))

    def compare(self, symbol: str, a: Any, b: Any) -> Any:
        a, b = _real(a), _real(b)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[symbol]

    def select(self, c: Any, a: Any, b: Any) -> Any:
        return z3.If(c, a, b)

    # ------------------------------------------------------------ ground axiom instances

    def axioms(self, exprs: list[z3.ExprRef], rounds: int = 2) -> list[z3.BoolRef]:
        """Ground instances of the exp/log/tanh axioms for the applications in ``exprs``."""
        out: list[z3.BoolRef] = [self.E(z3.RealVal(0)) == 1, self.L(z3.RealVal(1)) == 0]
        pool = list(exprs)
        for _ in range(rounds):
            apps = _applications(pool + out, {self.E.name(), self.L.name(), self.T.name()})
            exps = [a.arg(0) for a in apps if a.decl().name() == "exp"]
            logs = [a.arg(0) for a in apps if a.decl().name() == "log"]
            tanhs = [a.arg(0) for a in apps if a.decl().name() == "tanh"]
            new: list[z3.BoolRef] = []
            for e in exps:
                new += [self.E(e) > 0, self.E(e) >= 1 + e]
                new += self._exp_split(e)
                if _is(e, "log"):
                    new.append(z3.Implies(e.arg(0) > 0, self.E(e) == e.arg(0)))
            for s, t in itertools.combinations(exps, 2):
                new += [z3.Implies(s < t, self.E(s) < self.E(t)),
                        z3.Implies(t < s, self.E(t) < self.E(s)), z3.Implies(s == t, self.E(s) == self.E(t))]
            for u in logs:
                new.append(z3.Implies(u > 0, self.L(u) <= u - 1))
                if _is(u, "exp"):
                    new.append(self.L(u) == u.arg(0))
                if z3.is_mul(u) and u.num_args() == 2:
                    a, b = u.arg(0), u.arg(1)
                    new.append(z3.Implies(z3.And(a > 0, b > 0), self.L(u) == self.L(a) + self.L(b)))
                if z3.is_div(u):
                    a, b = u.arg(0), u.arg(1)
                    new.append(z3.Implies(z3.And(a > 0, b > 0), self.L(u) == self.L(a) - self.L(b)))
            for s, t in itertools.combinations(logs, 2):
                new += [z3.Implies(z3.And(s > 0, s < t), self.L(s) < self.L(t)),
                        z3.Implies(z3.And(t > 0, t < s), self.L(t) < self.L(s))]
            for u in tanhs:
                new += [self.T(u) > -1, self.T(u) < 1, self.T(-u) == -self.T(u)]
            for s, t in itertools.combinations(tanhs, 2):
                new += [z3.Implies(s < t, self.T(s) < self.T(t)), z3.Implies(t < s, self.T(t) < self.T(s))]
            out += new
        return out

    def _exp_split(self, e: z3.ExprRef) -> list[z3.BoolRef]:
        if z3.is_add(e):
            prod: z3.ArithRef = self.E(e.arg(0))
            for i in range(1, e.num_args()):
                prod = prod * self.E(e.arg(i))
            return [self.E(e) == prod]
        if z3.is_sub(e) and e.num_args() == 2:
            return [self.E(e) * self.E(e.arg(1)) == self.E(e.arg(0))]
        if _is_uminus(e):
            return [self.E(e) * self.E(e.arg(0)) == 1]
        return []


def _real(x: Any) -> Any:
    if isinstance(x, (int, float, Fraction)) and not isinstance(x, bool):
        return z3.RealVal(Fraction(x))
    return x


def _is(e: z3.ExprRef, name: str) -> bool:
    return bool(z3.is_app(e) and e.num_args() == 1 and e.decl().name() == name)


def _is_uminus(e: z3.ExprRef) -> bool:
    return bool(z3.is_app_of(e, z3.Z3_OP_UMINUS))


def _applications(exprs: list[z3.ExprRef], names: set[str]) -> list[z3.ExprRef]:
    seen: dict[int, z3.ExprRef] = {}
    stack = list(exprs)
    visited: set[int] = set()
    while stack:
        e = stack.pop()
        if not z3.is_app(e) or e.get_id() in visited:
            continue
        visited.add(e.get_id())
        if e.decl().name() in names and e.num_args() == 1:
            seen[e.get_id()] = e
        stack.extend(e.children())
    return list(seen.values())


# ------------------------------------------------------------------------ IEEE floats

FP_OPS = frozenset({"input", "const", "add", "sub", "mul", "div", "neg", "abs", "sqrt", "square",
                    "maximum", "minimum", "less", "less_equal", "greater", "greater_equal", "equal",
                    "not_equal", "where"}) | UFUNC_FP_OPS


class Z3Float(Z3FloatUfuncs):
    """Math namespace over z3 floating point (round to nearest even), NumPy's nan/zero semantics."""

    def __init__(self, sort: z3.FPSortRef) -> None:
        self.sort = sort
        self.rm = z3.RNE()

    def const(self, v: Any) -> Any:
        return z3.FPVal(float(v), self.sort)

    def div(self, a: Any, b: Any) -> Any:
        return z3.fpDiv(self.rm, a, b)

    def maximum(self, a: Any, b: Any) -> Any:  # np.maximum: nan propagates, else a > b ? a : b
        return z3.If(z3.fpIsNaN(a), a, z3.If(z3.fpIsNaN(b), b, z3.If(z3.fpGT(a, b), a, b)))

    def minimum(self, a: Any, b: Any) -> Any:
        return z3.If(z3.fpIsNaN(a), a, z3.If(z3.fpIsNaN(b), b, z3.If(z3.fpLT(a, b), a, b)))

    def sqrt(self, a: Any) -> Any:
        return z3.fpSqrt(self.rm, a)

    def abs(self, a: Any) -> Any:
        return z3.fpAbs(a)

    def compare(self, symbol: str, a: Any, b: Any) -> Any:
        return {"<": z3.fpLT, "<=": z3.fpLEQ, ">": z3.fpGT, ">=": z3.fpGEQ, "==": z3.fpEQ,
                "!=": lambda x, y: z3.Not(z3.fpEQ(x, y))}[symbol](a, b)

    def select(self, c: Any, a: Any, b: Any) -> Any:
        return z3.If(c, a, b)

    def __getattr__(self, name: str) -> Any:
        raise UnsupportedError(f"{name} has no model in z3's floating-point theory")


def fp_identical(a: Any, b: Any) -> z3.BoolRef:
    """Bit-identical up to nan payloads: both nan, or equal with the same sign (tells ±0 apart)."""
    if z3.is_bool(a):
        return a == b
    return z3.Or(z3.And(z3.fpIsNaN(a), z3.fpIsNaN(b)),
                 z3.And(z3.fpEQ(a, b), z3.fpIsNegative(a) == z3.fpIsNegative(b)))
