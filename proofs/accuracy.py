"""How far NumPy's own evaluation of a term may be from its exact value, and what non-finite inputs reach.

Both run the op table's ``real`` semantics over a different number type, so they need no
per-op tables of their own:

* :func:`error_bound`: each value carries a first-order bound on the absolute error of its
  float evaluation (propagated through every op by the arithmetic of :class:`Bound`), and each
  op adds its own rounding: ``ROUNDING_ULPS`` ulps of its result (a constant: how far it is from
  the nearest number of its dtype, 0 for most), plus, for reductions and
  products of ``n`` terms, ``n - 1`` ulps of the same op over the absolute values (a sum or a
  dot product loses to cancellation, relative to the magnitudes it cancels).
* :func:`tainted`: which output elements depend on a nan or ±inf input (there the exact value
  is not a real number, and only IEEE behaviour can be compared).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from egraph_dsl import ops
from egraph_dsl.term import Term, postorder

from .semantics import MpMath, OutOfRangeError, UndefinedError

ROUNDING_ULPS = 2  # trusted accuracy of one elementwise op (NumPy's exp/log/… are within ~1 ulp)


class Bound:
    """An exact value ``v`` and a bound ``e`` on the absolute error of its float evaluation."""

    __slots__ = ("e", "v")

    def __init__(self, v: Any, e: Any = 0) -> None:
        self.v = v
        self.e = e

    def __repr__(self) -> str:
        return f"Bound({self.v}, ±{self.e})"

    @staticmethod
    def of(x: Any) -> Bound:
        return x if isinstance(x, Bound) else Bound(x, 0)

    def __add__(self, other: Any) -> Bound:
        o = Bound.of(other)
        return Bound(self.v + o.v, self.e + o.e)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Bound:
        o = Bound.of(other)
        return Bound(self.v - o.v, self.e + o.e)

    def __rsub__(self, other: Any) -> Bound:
        return Bound.of(other) - self

    def __mul__(self, other: Any) -> Bound:
        o = Bound.of(other)
        return Bound(self.v * o.v, abs(self.v) * o.e + abs(o.v) * self.e + self.e * o.e)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Bound:
        return _div(self, Bound.of(other))

    def __rtruediv__(self, other: Any) -> Bound:
        return _div(Bound.of(other), self)

    def __neg__(self) -> Bound:
        return Bound(-self.v, self.e)

    def __pos__(self) -> Bound:
        return self

    def __abs__(self) -> Bound:
        return Bound(abs(self.v), self.e)

    def __int__(self) -> int:
        return int(self.v)

    def __float__(self) -> float:
        return float(self.v)

    def __lt__(self, other: Any) -> bool:
        return bool(self.v < Bound.of(other).v)

    def __le__(self, other: Any) -> bool:
        return bool(self.v <= Bound.of(other).v)

    def __gt__(self, other: Any) -> bool:
        return bool(self.v > Bound.of(other).v)

    def __ge__(self, other: Any) -> bool:
        return bool(self.v >= Bound.of(other).v)

    def __eq__(self, other: object) -> bool:
        return bool(self.v == Bound.of(other).v)

    def __ne__(self, other: object) -> bool:
        return bool(self.v != Bound.of(other).v)

    __hash__ = None  # type: ignore[assignment]


def _div(a: Bound, b: Bound) -> Bound:
    if b.v == 0:
        raise UndefinedError("division by zero")
    q = a.v / b.v
    slack = abs(b.v) - b.e
    e = (a.e + abs(q) * b.e) / slack if slack > 0 else math.inf
    return Bound(q, e)


class BoundMath:
    """The math namespace of :class:`Bound` numbers (values computed by an :class:`MpMath`)."""

    def __init__(self, m: MpMath) -> None:
        self.m = m
        self.inf = m.ctx.inf

    def const(self, v: Any) -> Bound:
        return Bound(self.m.const(v))

    def div(self, a: Any, b: Any) -> Bound:
        return _div(Bound.of(a), Bound.of(b))

    def exp(self, a: Any) -> Bound:
        a = Bound.of(a)
        v = self.m.exp(a.v)
        return Bound(v, v * self.m.ctx.expm1(a.e) if a.e < 10**4 else self.inf)

    def log(self, a: Any) -> Bound:
        a = Bound.of(a)
        v = self.m.log(a.v)
        slack = a.v - a.e
        return Bound(v, a.e / slack if slack > 0 else self.inf)

    def sqrt(self, a: Any) -> Bound:
        a = Bound.of(a)
        v = self.m.sqrt(a.v)
        low = self.m.ctx.sqrt(a.v - a.e) if a.v > a.e else 0
        return Bound(v, a.e / (v + low) if v + low > 0 else self.m.ctx.sqrt(a.e))

    def tanh(self, a: Any) -> Bound:
        a = Bound.of(a)
        return Bound(self.m.tanh(a.v), min(a.e, 2))

    def sin(self, a: Any) -> Bound:
        a = Bound.of(a)  # |sin'| <= 1 and |sin| <= 1
        return Bound(self.m.sin(a.v), min(a.e, 2))

    def cos(self, a: Any) -> Bound:
        a = Bound.of(a)
        return Bound(self.m.cos(a.v), min(a.e, 2))

    def abs(self, a: Any) -> Bound:
        return abs(Bound.of(a))

    def pow(self, a: Any, b: Any) -> Bound:
        a, b = Bound.of(a), Bound.of(b)
        v = self.m.pow(a.v, b.v)
        if a.v > a.e:
            return Bound(v, (self.exp(b * self.log(a)).e))
        if b.e == 0 and b.v == int(b.v):
            n = abs(int(b.v))
            big = abs(a.v) + a.e
            if b.v >= 0:
                return Bound(v, big**n - abs(a.v) ** n)
            small = abs(a.v) - a.e
            return Bound(v, 1 / small**n - 1 / abs(a.v) ** n if small > 0 else self.inf)
        return Bound(v, self.inf)

    def maximum(self, a: Any, b: Any) -> Bound:
        a, b = Bound.of(a), Bound.of(b)
        return Bound(a.v if a.v > b.v else b.v, max(a.e, b.e))

    def minimum(self, a: Any, b: Any) -> Bound:
        a, b = Bound.of(a), Bound.of(b)
        return Bound(a.v if a.v < b.v else b.v, max(a.e, b.e))

    def compare(self, symbol: str, a: Any, b: Any) -> bool:
        return self.m.compare(symbol, Bound.of(a).v, Bound.of(b).v)

    def select(self, c: Any, a: Any, b: Any) -> Any:
        return a if c else b

    def __getattr__(self, name: str) -> Callable[..., Any]:
        """Every other function of the exact math (atan, cbrt, asinh, hypot …): its value at the exact
        arguments, and as error the farthest its value gets at the corners of the arguments' error
        boxes, which bounds it for functions monotone in each argument there (those the op table
        has without a method above; first order for the others)."""
        if name.startswith("_"):
            raise AttributeError(name)
        fn = getattr(self.m, name)

        def lifted(*args: Any) -> Any:
            if any(_is_bool(a) for a in args):
                return fn(*(a.v if isinstance(a, Bound) else a for a in args))
            bounds = [Bound.of(a) for a in args]
            v = fn(*(b.v for b in bounds))
            if _is_bool(v):
                return v
            err: Any = 0
            for signs in itertools.product((-1, 1), repeat=len(bounds)):
                if all(b.e == 0 for b in bounds):
                    break
                try:
                    corner = fn(*(b.v + s * b.e for s, b in zip(signs, bounds, strict=True)))
                except (UndefinedError, OutOfRangeError, ArithmeticError, ValueError):
                    return Bound(v, self.inf)  # the error box leaves the function's domain
                err = max(err, abs(corner - v))
            return Bound(v, err)

        return lifted


def _eps(dtype: str | None) -> float:
    return float(np.finfo(dtype).eps) if dtype in ("float32", "float64") else 0.0


def error_bound(root: Term, env: Mapping[str, np.ndarray], m: MpMath, dtype: str) -> np.ndarray:
    """Per output element, a bound on ``|NumPy's float result - exact value|`` of ``root``.

    ``env`` maps input names to exact object arrays (see ``semantics.to_real``); ``dtype`` is the
    float type weak constants take. Raises what the exact evaluation raises.
    """
    bm = BoundMath(m)
    values: dict[int, np.ndarray] = {}
    for t in postorder([root]):
        if t.op == "input":
            v = _map(np.asarray(env[str(t.attr["name"])], dtype=object), lambda x: x if _is_bool(x) else Bound(x))
        else:
            spec = ops.spec(t.op)
            assert spec.real is not None, f"op {t.op} has no real semantics"
            args = [values[id(a)] for a in t.args]
            v = _map(np.asarray(spec.real(bm, *args, **t.attr), dtype=object),
                     lambda x: x if _is_bool(x) or isinstance(x, Bound) else Bound(x))
            eps = _eps(t.dtype or dtype)
            if eps and spec.kind is ops.Kind.LEAF:  # a constant: exact where the dtype holds it (1, 0.5, 1e-3 in f64)
                v = _constant_bounds(v, t.dtype or dtype, m)
            elif eps and spec.kind is ops.Kind.ELEMENTWISE:
                v = _map(v, lambda x: x if _is_bool(x) else Bound(x.v, x.e + ROUNDING_ULPS * eps * abs(x.v)))
            elif eps and spec.kind in (ops.Kind.REDUCTION, ops.Kind.LINALG):
                terms = _terms(spec, args, v)
                scale = _absolute_scale(spec, args, t.attr, m, v.shape)
                v = np.asarray(v, dtype=object)
                for idx in np.ndindex(v.shape):  # summing n terms: (n - 1) ulps of what they add up to
                    b = Bound.of(v[idx])
                    v[idx] = Bound(b.v, b.e + ROUNDING_ULPS * eps * abs(b.v) + (terms - 1) * eps * scale[idx])
        values[id(t)] = v
    return _map(values[id(root)], lambda x: m.ctx.mpf(0) if _is_bool(x) else x.e)


def _constant_bounds(values: np.ndarray, dtype: str, m: MpMath) -> np.ndarray:
    """A constant's values with their rounding to ``dtype`` as error bound."""
    return _map(values, lambda x: x if _is_bool(x) else Bound(x.v, _representation_error(x.v, dtype, m)))


def _representation_error(x: Any, dtype: str, m: MpMath) -> Any:
    """How far ``x`` is from the nearest ``dtype`` number (a constant's rounding, 0 where it is exact)."""
    with np.errstate(over="ignore"):
        rounded = float(np.asarray(float(x), dtype=dtype))
    return abs(x - m.ctx.mpf(rounded)) if math.isfinite(rounded) else m.ctx.inf


def _terms(spec: ops.OpSpec, args: list[np.ndarray], out: np.ndarray) -> int:
    """How many terms one output element sums: the reduced elements, or a product's inner dimension."""
    first = np.shape(args[0]) if args else ()
    if spec.kind is ops.Kind.REDUCTION:
        return max(1, int(np.prod(first)) // max(1, int(np.size(out))))
    return max(1, int(first[-1]) if first else 1)


def _absolute_scale(spec: ops.OpSpec, args: list[np.ndarray], attrs: Mapping[str, Any], m: MpMath,
                    shape: tuple[int, ...]) -> np.ndarray:
    """The op over the absolute values of its arguments: what a sum or product of terms can cancel."""
    absolute = [_map(a, lambda x: x if _is_bool(x) else abs(x.v)) for a in args]
    assert spec.real is not None
    try:
        out = np.asarray(spec.real(m, *absolute, **attrs), dtype=object)
        return np.broadcast_to(_map(out, abs), shape)
    except (ArithmeticError, OverflowError):
        largest = max((abs(x) for a in absolute for x in np.asarray(a).ravel() if not _is_bool(x)), default=0)
        return np.full(shape, largest, dtype=object)


def _is_bool(x: Any) -> bool:
    return isinstance(x, (bool, np.bool_))


def _map(a: np.ndarray, fn: Callable[[Any], Any]) -> np.ndarray:
    a = np.asarray(a, dtype=object)
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        out[idx] = fn(a[idx])
    return out


# --------------------------------------------------------------------------- taint


class _Taint:
    """Whether a value depends on a non-finite input; every operation ORs its operands."""

    __slots__ = ("t",)

    def __init__(self, t: bool) -> None:
        self.t = t

    @staticmethod
    def of(*xs: Any) -> _Taint:
        return _Taint(any(isinstance(x, _Taint) and x.t for x in xs))

    def _op(self, other: Any) -> _Taint:
        return _Taint.of(self, other)

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _op
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = _op

    def __neg__(self) -> _Taint:
        return self

    __pos__ = __abs__ = __neg__


class _TaintMath:
    """The math namespace of :class:`_Taint` values."""

    def const(self, v: Any) -> _Taint:
        return _Taint(False)

    def _any(self, *xs: Any) -> _Taint:
        return _Taint.of(*xs)

    div = pow = maximum = minimum = _any
    exp = log = sqrt = abs = tanh = _any

    def __getattr__(self, name: str) -> Any:
        """Every other math function (sin, cos, hypot, asinh …) depends on all its arguments."""
        if name.startswith("_"):
            raise AttributeError(name)
        return self._any

    def compare(self, symbol: str, a: Any, b: Any) -> _Taint:
        return _Taint.of(a, b)

    def select(self, c: Any, a: Any, b: Any) -> _Taint:
        return _Taint.of(c, a, b)


def tainted(root: Term, args: Mapping[str, np.ndarray], nan_only: bool = False) -> np.ndarray:
    """A bool array of ``root``'s shape: True where the element depends on a nan or ±inf input
    (on a nan input with ``nan_only``)."""
    tm = _TaintMath()
    values: dict[int, np.ndarray] = {}
    for t in postorder([root]):
        if t.op == "input":
            a = np.asarray(args[str(t.attr["name"])])
            special = np.isnan if nan_only else (lambda x: ~np.isfinite(x))
            flags = special(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
            v = _map(flags, lambda f: _Taint(bool(f)))
        else:
            spec = ops.spec(t.op)
            assert spec.real is not None
            v = np.asarray(spec.real(tm, *[values[id(a)] for a in t.args], **t.attr), dtype=object)
        values[id(t)] = v
    out = _map(values[id(root)], lambda x: bool(isinstance(x, _Taint) and x.t))
    return np.asarray(out, dtype=bool)


__all__ = ["ROUNDING_ULPS", "Bound", "BoundMath", "OutOfRangeError", "error_bound", "tainted"]
