"""Random NumPy programs, their inputs, and a judge that tells *wrong* from *more accurate than NumPy*.

A program is Python source written the way a scientist writes NumPy (operators, ``np.*``
functions, ``.T`` / ``.reshape`` / ``.sum(axis=..., keepdims=...)``, ``np.broadcast_to``,
``np.where``, ``@``, ``.astype``, ``ed.sigmoid`` …) over 1-3 arguments of small shapes and the
five supported dtypes, mixed with Python and NumPy scalars. :func:`generate` builds one from a
seed (the same seed always gives the same program and inputs), so a failure message that prints
the seed, the source and the inputs is a complete reproducer.

:func:`judge` runs a case three ways: plain NumPy (the specification: NumPy 2, NEP 50 weak
scalars), ``ed.jit`` (the system under test), and a high-precision reference, and decides:

* dtype and shape must be NumPy's; NaN where NumPy (and the reference) give NaN, the same
  infinities, the same sign of zero;
* ints and bools must be NumPy's, except a bool that a float comparison decides as the exact
  comparison does, or as the comparison of the exactly rounded operands does, where NumPy's
  rounded operands decided otherwise (counted as a *flip*);
* where NumPy's own float answer carries nothing true (the wrong sign, an infinity, or a zero for
  a value of magnitude at least 1, where the exact value is finite and nonzero), the program is
  ill-conditioned at that point and NumPy is no specification: any non-NaN answer stands
  (counted as *ill-conditioned*); a float that depends on a comparison is also judged with the
  comparison decided exactly (a *flip*);
* the sign of a zero may differ from NumPy's only where NumPy's evaluation rounds a nonzero
  intermediate to zero (``log(sigmoid(164))``: NumPy 0.0, exactly -4.6e-72), so that an accurate
  jit computes ``0 * -4.6e-72 = -0.0`` where NumPy computes ``0 * 0.0`` (counted);
* NaN where NumPy gives a number is accepted only where the exact value does not exist, for the
  traced and for the optimized program (the log or square root of a number that rounding made
  zero but is negative: ``log(exp(x) - 1)``, ``sqrt(log(1 + x))`` at ``x = -1e-310``), and the
  trace computes what NumPy computes (counted as *undefined*);
* a float result may differ from NumPy's only if its error against the reference is at most
  ``max(NUMPY_FACTOR * numpy_error, TOL_ULPS * eps * |reference|)``, with ``eps`` that of the
  working precision (float32 if the program computes anything in float32, else the output's
  dtype). A finite result within ``sqrt(eps)`` of a finite true value where NumPy gave inf/nan is
  an *improvement* (counted, not a failure): NumPy's error sets no scale there;
* results never share memory with an input or with another result (unless NumPy's do), are
  writeable (when NumPy's are), are not zero-strided broadcast views, and inputs are left intact;
* where NumPy raises, jit raises too (an egraph-dsl error or the same exception class); where
  NumPy returns, jit may refuse only with :data:`REFUSALS` or a dtype error for a program that
  NumPy computes in a dtype egraph-dsl does not have (int8, float16): those programs are skipped.

The reference is the same source evaluated with float arguments and ``np.float64`` read as
``np.longdouble`` (x86 80-bit, 11 more bits than float64): independent of the tracer. Where
longdouble itself is blind (``log(sigmoid(50))`` rounds through 1 - 2e-22, ``log(exp(1e12))``
overflows), flagged elements are judged again against the unoptimized traced program evaluated in
mpmath at 2200 bits with the op table's ``real`` semantics, but only where that traced program
evaluates (in float64) as NumPy does, so a tracing bug cannot hide behind its own reference.
Where even that has no value (``1 - sigmoid(1e32)``) and NumPy overflowed, a jit result that
matches the exact value of the optimized program counts as an *unverified* improvement.

Run a batch from the command line: ``python tests/egraph_dsl/random_programs.py --count 1000``.
"""

from __future__ import annotations

import argparse
import copy
import linecache
import math
import re
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
from egraph_dsl.proofs.ufunc_semantics import MpMathUfuncs

import egraph_dsl as ed
from egraph_dsl import errors, ops
from egraph_dsl.errors import EgraphDslError
from egraph_dsl.program import Program, bind_inputs, evaluate, evaluate_node
from egraph_dsl.term import Term
from egraph_dsl.trace import trace_function

LIMITS = {"nodes": 3000, "seconds": 2}
SUPPORTED_DTYPES = frozenset({"bool", "int32", "int64", "float32", "float64"})
TOL_ULPS = 64  # a float result within 64 ulps (relative to the reference) is never wrong
NUMPY_FACTOR = 4  # ... nor one at most 4x NumPy's own error against the reference
MP_PRECISION = 2200  # bits of the mpmath reference: adds 2**1024 and 2**-1074 exactly, as proofs/semantics.py
# errors that refuse a construct on purpose, with advice: the program is skipped (and counted)
REFUSALS: tuple[type[Exception], ...] = tuple(
    getattr(errors, name) for name in ("UnsupportedOperationError", "ScalarOverflowError") if hasattr(errors, name))
MP_EXP_LIMIT = 2**1100  # exp of larger arguments (exp(exp(...))) is left unknown; 1/5e-324 is below it


# ================================================================== programs


@dataclass
class Case:
    """One program (source of ``def f(...)``) with its arguments."""

    source: str
    args: tuple[Any, ...]
    seed: int | None = None
    rulesets: Any = None  # None: the default rulesets
    strict: bool = False  # judge against the reference only: matching NumPy is not enough

    def function(self, namespace_np: Any = np) -> Callable[..., Any]:
        filename = f"<program seed={self.seed}>"
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        namespace: dict[str, Any] = {"np": namespace_np, "ed": ed}
        exec(compile(self.source, filename, "exec"), namespace)
        fn: Callable[..., Any] = namespace["f"]
        return fn

    def describe(self) -> str:
        names = _parameters(self.source)
        lines = [f"program (seed={self.seed}, rulesets={'default' if self.rulesets is None else self.rulesets}):",
                 self.source.rstrip()]
        lines += [f"{n} = {literal(a)}" for n, a in zip(names, self.args, strict=False)]
        lines.append(f"f({', '.join(names)})")
        return "\n".join(lines)


def _parameters(source: str) -> list[str]:
    head = source.split("def f(", 1)[1].split(")", 1)[0]
    return [p.strip() for p in head.split(",") if p.strip()]


def literal(value: Any) -> str:
    """Python source that rebuilds ``value`` exactly (float repr round-trips; nan/inf spelled out)."""
    if isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        return _float_literal(value)
    if isinstance(value, np.generic):
        item = value.item()
        inner = _float_literal(float(item)) if isinstance(item, float) else repr(item)
        return f"np.{value.dtype.name if value.dtype != bool else 'bool_'}({inner})"
    a = np.asarray(value)

    def rec(x: Any) -> str:
        if isinstance(x, list):
            return "[" + ", ".join(rec(v) for v in x) + "]"
        return _float_literal(x) if isinstance(x, float) else repr(x)

    dtype = "bool" if a.dtype == bool else f"np.{a.dtype.name}"
    return f"np.array({rec(a.tolist())}, dtype={dtype})"


def _float_literal(x: float) -> str:
    if math.isnan(x):
        return "np.nan"
    if math.isinf(x):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(x)


@dataclass(eq=False)  # compared by identity: values are arrays
class _Expr:
    src: str
    value: Any
    atom: bool  # a name or literal: needs no parentheses as an operand
    traced: bool = True  # computed from an argument (else a concrete array: a closed-over constant)

    @property
    def op(self) -> str:
        return self.src if self.atom else f"({self.src})"

    @property
    def dtype(self) -> str:
        return np.asarray(self.value).dtype.name

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.value))


FLOAT_SPECIALS = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, -1e308, 1e-310, -1e-310, 1.0, -1.0,
                  2.0**53, 0.5, 710.0, -745.0, 37.0, -37.0, 1e-8, 1e16, 5.0, 35.0]
FLOAT32_SPECIALS = [3e38, -3e38, 1e-40, 89.0, -104.0, 16777217.0, 1e-7]
INT64_SPECIALS = [0, 1, -1, 2, 2**53 + 1, 2**62, 2**63 - 1, -2**63, 3037000500, -3037000500, 2**31]
INT32_SPECIALS = [0, 1, -1, 2**31 - 1, -2**31, 46341, 2**16]

SHAPES = [(), (1,), (3,), (5,), (1, 1), (2, 3), (3, 3), (1, 4), (4, 1), (2, 1, 3), (2, 2, 2)]
SHAPE_WEIGHTS = [1.0, 1.0, 2.0, 1.0, 0.7, 2.5, 2.0, 1.0, 1.0, 1.0, 0.8]
DTYPES = ["float64", "float32", "int64", "int32", "bool"]
DTYPE_WEIGHTS = [0.42, 0.2, 0.15, 0.1, 0.13]

PY_SCALARS = ["0", "1", "2", "3", "-1", "10", "0.5", "2.0", "-1.0", "1.5", "10.0", "0.1", "-0.0", "0.0", "1e308",
              "1e-310", "1e-8", "700.0", "np.nan", "np.inf", "True", "False", "(2**53 + 1)", "2**31", "2**40",
              "2**63", "(-2**63 - 1)"]
PY_SCALAR_WEIGHTS = [1, 3, 3, 1, 2, 1, 3, 2, 2, 1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.4, 0.4, 0.5, 0.3, 0.3, 0.2,
                     0.2, 0.2, 0.1]
NP_SCALARS = ["np.float32(2.5)", "np.float64(0.1)", "np.float64(2.0)", "np.int64(3)", "np.int32(-2)",
              "np.bool_(True)", "np.float32(-0.0)", "np.float32(1e-3)", "np.int64(2**62)", "np.float64(-1e300)"]

UNARY = ["-{A}", "np.negative({a})", "np.abs({a})", "abs({a})", "np.exp({a})", "np.exp(-{A})", "np.log({a})",
         "np.log1p({a})", "np.expm1({a})", "np.tanh({a})", "np.sqrt({a})", "np.square({a})", "{A} ** 2", "{A} ** 3",
         "{A} ** 0.5", "{A} ** -1", "{A} ** 2.0", "ed.sigmoid({a})", "ed.softplus({a})", "1 / (1 + np.exp(-{A}))",
         "np.log(1 + np.exp({a}))", "np.log(ed.sigmoid({a}))", "np.log(1 - ed.sigmoid({a}))", "np.exp({a}) - 1",
         "np.log({A} + 1.0)", "np.log(1 + {A})", "np.sqrt(np.square({a}))", "1.0 / {A}", "{A} - {A}", "{A} * 1",
         "{A} + 0", "{A} * 0", "-(-{A})", "{A} / {A}", "np.log(np.exp({a}))", "np.exp(np.log({a}))",
         "np.clip({a}, -1.0, 1.0)", "np.maximum({a}, 0)", "np.tanh({a}) * 0.5 + 0.5", "{A} * {A}",
         "1 - ed.sigmoid({a})", "np.log1p(np.exp({a}))",
         # the rest of the ufuncs (tests/egraph_dsl/test_ufuncs.py checks each spelling alone)
         "np.sin({a})", "np.cos({a})", "np.tan({a})", "np.arcsin({a})", "np.arccos({a})", "np.arctan({a})",
         "np.sinh({a})", "np.cosh({a})", "np.arcsinh({a})", "np.arccosh({a})", "np.arctanh({a})", "np.exp2({a})",
         "np.log2({a})", "np.log10({a})", "np.cbrt({a})", "np.reciprocal({a})", "np.sign({a})", "np.floor({a})",
         "np.ceil({a})", "np.trunc({a})", "np.rint({a})", "np.round({a})", "np.isfinite({a})", "np.isnan({a})",
         "np.isinf({a})", "np.signbit({a})", "np.logical_not({a})", "~({A} > 0)", "np.fabs({a})",
         "np.where(np.isnan({a}), 0.0, {a})"]
BOOL_SAFE_UNARY = {"np.abs({a})", "abs({a})", "{A} * 1", "{A} + 0", "{A} * 0", "ed.sigmoid({a})", "ed.softplus({a})",
                   "np.maximum({a}, 0)", "{A} * {A}", "1.0 / {A}", "1 - ed.sigmoid({a})", "np.isfinite({a})",
                   "np.isnan({a})", "np.isinf({a})", "np.logical_not({a})", "~({A} > 0)", "np.floor({a})",
                   "np.signbit({a})"}
BINARY = ["{A} + {B}", "{A} - {B}", "{A} * {B}", "{A} / {B}", "np.maximum({a}, {b})", "np.minimum({a}, {b})",
          "np.logaddexp({a}, {b})", "np.where({A} > {B}, {a}, {b})", "{A} > {B}", "{A} <= {B}", "{A} == {B}",
          "{A} != {B}", "np.add({a}, {b})", "np.multiply({a}, {b})", "np.subtract({a}, {b})",
          "np.true_divide({a}, {b})", "np.exp({a}) * np.exp({b})", "np.log(np.exp({a}) + np.exp({b}))",
          "{A} * ({B} - {A})", "({A} + {B}) - {B}", "np.dot({a}, {b})",
          "np.arctan2({a}, {b})", "np.hypot({a}, {b})", "np.copysign({a}, {b})", "np.logical_and({a}, {b})",
          "np.logical_or({a}, {b})", "np.logical_xor({a}, {b})", "({A} > 0) & ({B} < 1)", "({A} > 0) | ({B} > 0)",
          "({A} > 0) ^ ({B} > 0)", "{A} // {B}", "{A} % {B}", "np.fmod({a}, {b})", "np.floor_divide({a}, {b})"]
SCALAR_BINARY = ["{A} * {s}", "{s} * {A}", "{A} + {s}", "{s} + {A}", "{A} - {s}", "{s} - {A}", "{A} / {s}",
                 "{s} / {A}", "np.maximum({a}, {s})", "np.minimum({s}, {a})", "{A} > {s}", "{A} ** {s}",
                 "np.where({A} > {s}, {a}, {s})", "np.logaddexp({a}, {s})", "np.multiply({a}, {s})",
                 "{A} // {s}", "{A} % {s}", "{s} % {A}", "np.fmod({a}, {s})", "np.copysign({a}, {s})",
                 "np.arctan2({s}, {a})"]
REDUCERS = ["np.sum({a}{ax})", "{A}.sum({ax0})", "np.mean({a}{ax})", "{A}.mean({ax0})", "np.max({a}{ax})",
            "{A}.max({ax0})", "np.min({a}{ax})", "{A}.min({ax0})", "ed.logsumexp({a}{ax})",
            "np.log(np.sum(np.exp({a}){ax}))", "np.exp({a}) / np.sum(np.exp({a}){axk})", "np.add.reduce({a}{axr})",
            "np.maximum.reduce({a}{axr})", "np.var({a}{ax}) + np.prod({a}{ax})",
            "np.where(np.any({a}{ax}), np.count_nonzero({a}{ax}), np.nansum({a}{ax}))"]
CASTS = ["{A}.astype(np.float32)", "{A}.astype(np.float64)", "{A}.astype(np.int64)", "{A}.astype(np.int32)",
         "{A}.astype(bool)", "({A} > 0).astype(np.float64)", "({A} > 0).astype(np.int32)"]


def _weighted(rng: np.random.Generator, items: Sequence[Any], weights: Sequence[float]) -> Any:
    p = np.asarray(weights, dtype=float)
    return items[int(rng.choice(len(items), p=p / p.sum()))]


def _pick(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Values of one argument: ordinary values, often with NaN, ±inf, ±0, huge, tiny, 2**53 … sprinkled in."""
    size = math.prod(shape)
    mode = _pick(rng, ["plain", "plain", "special", "special", "all-special"])
    rate = {"plain": 0.0, "special": 0.35, "all-special": 1.0}[mode]
    if dtype == "bool":
        return rng.random(size).reshape(shape) < 0.5
    if dtype.startswith("float"):
        scale = _pick(rng, [1.0, 1.0, 3.0, 0.1, 100.0])
        values = rng.normal(size=size) * scale
        if rng.random() < 0.3:
            values = np.round(values, 1)
        specials = FLOAT_SPECIALS + (FLOAT32_SPECIALS if dtype == "float32" else [])
    else:
        values = rng.integers(-5, 10, size=size).astype(object)
        specials = INT64_SPECIALS if dtype == "int64" else INT32_SPECIALS
    out = [(_pick(rng, specials) if rng.random() < rate else v) for v in values.tolist()]
    return np.array(out, dtype=dtype).reshape(shape)


def random_scalar_argument(rng: np.random.Generator) -> Any:
    kind = _pick(rng, ["float", "float", "int", "bool", "np.float64", "np.float32", "np.int64"])
    x = float(np.round(rng.normal() * 2, 2))
    if rng.random() < 0.25:
        x = _pick(rng, FLOAT_SPECIALS)
    if kind == "float":
        return x
    if kind == "int":
        return int(_pick(rng, [0, 1, 2, -3, 7, 2**53 + 1, 2**62]))
    if kind == "bool":
        return bool(rng.random() < 0.5)
    if kind == "np.int64":
        return np.int64(_pick(rng, [0, 1, 3, -2, 2**40]))
    return np.float64(x) if kind == "np.float64" else np.float32(x)


INDEX_NAMES = ["i", "j"]
INDEX_SHAPES = [(), (1,), (2,), (3,), (4,), (2, 2), (0,), (3, 1)]
INDEX_SHAPE_WEIGHTS = [1.5, 1.0, 2.0, 2.0, 1.0, 1.0, 0.3, 0.5]


def random_index_array(rng: np.random.Generator, base: tuple[int, ...]) -> np.ndarray:
    """An integer-array index argument, its values in [-m, m) for an axis size m of ``base`` (or 1-3):
    negative indices count from the end, as in NumPy."""
    m = _pick(rng, [n for n in base if n] or [1]) if rng.random() < 0.7 else int(rng.integers(1, 4))
    shape = _weighted(rng, INDEX_SHAPES, INDEX_SHAPE_WEIGHTS)
    values = rng.integers(-m, m, size=math.prod(shape)).reshape(shape)
    return values.astype(_pick(rng, ["int64", "int64", "int32"]))


def _related_shape(rng: np.random.Generator, base: tuple[int, ...]) -> tuple[int, ...]:
    how = _weighted(rng, ["same", "suffix", "ones", "reversed", "any"], [4, 2, 2, 1, 1])
    if how == "same":
        return base
    if how == "suffix":
        return base[int(rng.integers(0, len(base) + 1)):]
    if how == "ones":
        return tuple(1 if rng.random() < 0.5 else n for n in base)
    if how == "reversed":
        return tuple(reversed(base))
    return _weighted(rng, SHAPES, SHAPE_WEIGHTS)


class _Builder:
    """Grows a program one NumPy expression at a time, checking each against NumPy on the inputs."""

    def __init__(self, rng: np.random.Generator, names: list[str], args: list[Any],
                 constants: dict[str, np.ndarray] | None = None, orderings: bool = False) -> None:
        self.rng = rng
        self.env: dict[str, Any] = dict(zip(names, args, strict=True))
        self.pool = [_Expr(n, a, True) for n, a in zip(names, args, strict=True)]
        self.traced_names = set(names)
        # integer-array arguments meant as indices: name -> (min, max) of their values (None if empty)
        self.indices = {n: ((int(a.min()), int(a.max())) if a.size else None)
                        for n, a in zip(names, args, strict=True) if n in INDEX_NAMES}
        for name, value in (constants or {}).items():  # closed-over arrays: concrete in the traced function
            self.env[name] = value
            self.pool.append(_Expr(name, value, True, traced=False))
        self.lines: list[str] = []
        self.raising: str | None = None  # an expression NumPy raises on, kept as the output
        self.temps = 0
        self.orderings = orderings  # also np.take_along_axis, np.sort, np.median, np.bincount, np.einsum

    def evaluate(self, src: str) -> Any:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return eval(src, {"np": np, "ed": ed}, dict(self.env))

    def add(self, src: str) -> _Expr | None:
        try:
            value = self.evaluate(src)
        except (ValueError, TypeError, OverflowError, IndexError):
            if self.raising is None and self.rng.random() < 0.15:
                self.raising = src
            return None
        except Exception:  # e.g. numpy.exceptions.AxisError from an impossible axis
            return None
        if not isinstance(value, (np.ndarray, np.generic)):
            return None
        traced = "ed.constant(" in src or any(w in self.traced_names for w in re.findall(r"[A-Za-z_]\w*", src))
        expr = _Expr(src, value, False, traced)
        if self.rng.random() < 0.3:  # a named temporary, as people write them
            name = f"t{self.temps}"
            self.temps += 1
            self.lines.append(f"    {name} = {src}")
            self.env[name] = value
            if traced:
                self.traced_names.add(name)
            expr = _Expr(name, value, True, traced)
        self.pool.append(expr)
        return expr

    # ------------------------------------------------------------- operand choice
    def operand(self) -> _Expr:
        return self.pool[-1] if self.rng.random() < 0.5 else _pick(self.rng, self.pool)

    def partner(self, a: _Expr) -> _Expr | None:
        """An operand that broadcasts with ``a``: preferably the previous expression or an input."""
        candidates = [e for e in self.pool if e is not a]
        concrete = [e for e in candidates if not e.traced and e.atom]  # closed-over arrays: used often
        if concrete and a.traced and self.rng.random() < 0.5:
            b = _pick(self.rng, concrete)
            try:
                np.broadcast_shapes(a.shape, b.shape)
                return b
            except ValueError:
                pass
        for _ in range(6):
            if not candidates:
                return None
            b = candidates[-1] if self.rng.random() < 0.4 else _pick(self.rng, candidates)
            try:
                np.broadcast_shapes(a.shape, b.shape)
                return b
            except ValueError:
                continue
        return None

    # ------------------------------------------------------------- expressions
    def step(self) -> None:
        kind = _weighted(self.rng, ["unary", "binary", "scalar", "reduce", "layout", "matmul", "cast", "where",
                                    "index", "gather"],
                         [0.24, 0.22, 0.15, 0.13, 0.16, 0.05, 0.05, 0.04, 0.12, 0.1])
        getattr(self, f"make_{kind}")()

    def _fill(self, template: str, a: _Expr, b: _Expr | None = None, **extra: str) -> str:
        return template.format(a=a.src, A=a.op, b=b.src if b else "", B=b.op if b else "", **extra)

    def make_unary(self) -> None:
        a = self.operand()
        template = _pick(self.rng, UNARY)
        if a.dtype == "bool" and template not in BOOL_SAFE_UNARY and self.rng.random() < 0.9:
            a = _Expr(f"{a.op}.astype({_pick(self.rng, ['np.float64', 'np.float32', 'np.int64'])})", None, False)
        self.add(self._fill(template, a))

    def make_binary(self) -> None:
        a = self.operand()
        b = self.partner(a)
        if b is None:
            return self.make_scalar()
        template = _pick(self.rng, BINARY)
        if template.startswith("np.dot") and (a.shape and b.shape):
            return self.make_matmul()
        self.add(self._fill(template, a, b))

    def make_scalar(self) -> None:
        a = self.operand()
        s = _pick(self.rng, NP_SCALARS) if self.rng.random() < 0.25 else _weighted(self.rng, PY_SCALARS, PY_SCALAR_WEIGHTS)
        template = _pick(self.rng, SCALAR_BINARY)
        if "**" in template:
            s = _pick(self.rng, ["2", "3", "0.5", "-1", "2.0", "np.int64(2)", "np.float32(0.5)", "-2"])
        if s.startswith("-") and ("{s} " in template or "{s} *" in template):
            s = f"({s})"
        self.add(self._fill(template, a, s=s))

    def _axis_args(self, ndim: int) -> tuple[str, str, str, str]:
        """Axis keywords: for np.sum(a<kw>), a.sum(<kw>), a keepdims=True variant, and a ufunc.reduce."""
        keep = self.rng.random() < 0.35
        if ndim == 0:
            choice = ""
        else:
            options = ["none", "int", "int", "negative"] + (["tuple"] if ndim >= 2 else [])
            how = _pick(self.rng, options)
            if how == "none":
                choice = ""
            elif how == "int":
                choice = f"axis={int(self.rng.integers(ndim))}"
            elif how == "negative":
                choice = f"axis={-int(self.rng.integers(1, ndim + 1))}"
            else:
                axes = sorted(int(i) for i in self.rng.choice(ndim, size=2, replace=False))
                choice = f"axis=({axes[0]}, {axes[1]})"
        kw = ", ".join(k for k in (choice, "keepdims=True" if keep else "") if k)
        keep_kw = ", ".join(k for k in (choice or ("axis=-1" if ndim else ""), "keepdims=True") if k)
        reduce_kw = choice or ("axis=None" if not ndim or self.rng.random() < 0.5 else "axis=0")
        return (f", {kw}" if kw else ""), kw, f", {keep_kw}", f", {reduce_kw}"

    def make_reduce(self) -> None:
        a = self.operand()
        ax, ax0, axk, axr = self._axis_args(len(a.shape))
        template = _pick(self.rng, REDUCERS)
        if a.dtype == "bool" and ("exp" in template or "logsumexp" in template) and self.rng.random() < 0.9:
            a = _Expr(f"{a.op}.astype(np.float64)", None, False)
        self.add(self._fill(template, a, ax=ax, ax0=ax0, axk=axk, axr=axr))

    def make_layout(self) -> None:
        a = self.operand()
        shape = a.shape
        rng = self.rng
        options = ["reshape", "reshape", "broadcast", "join", "join", "newaxes", "flat", "flip"] + (
            ["T", "T", "transpose", "swap"] if len(shape) >= 2 else [])
        how = _pick(rng, options)
        if not isinstance(a.value, (np.ndarray, np.generic)):
            how = "reshape"  # a Python scalar: no ndarray methods
        if how == "join":
            others = [e for e in self.pool if isinstance(e.value, (np.ndarray, np.generic))
                      and len(e.shape) == len(shape) and e is not a]
            b = _pick(rng, others) if others and rng.random() < 0.7 else a
            ndim = len(shape) + (1 if rng.random() < 0.4 else 0)
            axis = int(rng.integers(-ndim, ndim)) if ndim else 0
            fn = "np.stack" if ndim > len(shape) else "np.concatenate"
            parts = [a.src, b.src] + ([a.src] if rng.random() < 0.2 else [])
            bracket = "[]" if rng.random() < 0.5 else "()"
            src = f"{fn}({bracket[0]}{', '.join(parts)}{bracket[1]}, axis={axis})"
            self.add(src)
            return
        if how == "newaxes":
            axis = int(rng.integers(-len(shape) - 1, len(shape) + 1))
            src = _pick(rng, [f"np.expand_dims({a.src}, {axis})", f"np.squeeze({a.src})",
                              f"np.squeeze(np.expand_dims({a.src}, {axis}), axis={axis})", f"{a.op}.squeeze()"])
            self.add(src)
            return
        if how == "flat":
            self.add(_pick(rng, [f"{a.op}.ravel()", f"{a.op}.flatten()", f"np.ravel({a.src})"]))
            return
        if how == "flip":
            axis = "" if not shape or rng.random() < 0.4 else f", {int(rng.integers(-len(shape), len(shape)))}"
            self.add(f"np.flip({a.src}{axis})")
            return
        if how == "swap":
            i, j = (int(v) for v in rng.integers(-len(shape), len(shape), size=2))
            return self.add(_pick(rng, [f"np.swapaxes({a.src}, {i}, {j})", f"{a.op}.swapaxes({i}, {j})",
                                        f"np.moveaxis({a.src}, {i}, {j})"]))
            return
        if how == "T":
            src = _pick(rng, [f"{a.op}.T", f"np.transpose({a.src})", f"{a.op}.transpose()"])
        elif how == "transpose":
            perm = tuple(int(i) for i in rng.permutation(len(shape)))
            src = _pick(rng, [f"np.transpose({a.src}, {perm})", f"{a.op}.transpose({', '.join(map(str, perm))})"])
        elif how == "reshape":
            target = self._reshape_target(math.prod(shape))
            text = ", ".join(map(str, target))
            src = _pick(rng, [f"{a.op}.reshape({text})", f"{a.op}.reshape(({text}{',' if len(target) == 1 else ''}))",
                              f"np.reshape({a.src}, ({text}{',' if len(target) == 1 else ''}))"])
        else:
            target = self._broadcast_target(shape)
            src = f"np.broadcast_to({a.src}, {target})"
        self.add(src)

    def _reshape_target(self, size: int) -> tuple[int, ...]:
        rng = self.rng
        special = _pick(rng, [(-1,), (-1, 1), (1, -1), None, None, None])
        if special is not None:
            return special
        if size == 0:  # an empty slice
            return _pick(rng, [(0,), (0, 2), (2, -1), (1, 0, 3)])
        dims: list[int] = []
        rest = size
        for _ in range(int(rng.integers(1, 4)) - 1):
            divisors = [d for d in range(1, rest + 1) if rest % d == 0]
            d = _pick(rng, divisors)
            dims.append(d)
            rest //= d
        dims.append(rest)
        rng.shuffle(dims)
        if rng.random() < 0.2:
            dims[int(rng.integers(len(dims)))] = -1
        return tuple(dims)

    def _broadcast_target(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        rng = self.rng
        expanded = tuple(int(rng.integers(2, 4)) if n == 1 and rng.random() < 0.7 else n for n in shape)
        prefix = tuple(int(rng.integers(1, 4)) for _ in range(int(rng.integers(0, 2 if shape else 3))))
        target = prefix + expanded
        return target if target else (int(rng.integers(1, 4)),)

    def make_matmul(self) -> None:
        a = self.operand()
        others = [e for e in self.pool if len(e.shape) in (1, 2)]
        if len(a.shape) not in (1, 2) or not others:
            return self.make_layout()
        spelled = _pick(self.rng, ["{A} @ {B}", "{A} @ {B}", "np.matmul({a}, {b})", "np.dot({a}, {b})"])
        for b in sorted(others, key=lambda _: self.rng.random()):
            try:
                np.matmul(np.empty(a.shape), np.empty(b.shape))
                self.add(self._fill(spelled, a, b))
                return
            except ValueError:
                continue
        self.add(_pick(self.rng, [f"{a.op} @ {a.op}.T", f"{a.op}.T @ {a.op}"]) if len(a.shape) == 2 else f"{a.op} @ {a.op}")

    def make_cast(self) -> None:
        a = self.operand()
        template = _pick(self.rng, CASTS)
        if "np.int" in template and a.dtype.startswith("float"):
            template = "({A} > 0).astype(np.int64)"  # float -> int casts of nan/inf/huge are undefined in C
        self.add(self._fill(template, a))

    def _indexable(self) -> _Expr | None:
        """An array operand (not a Python scalar), preferably one with axes."""
        arrays = [e for e in self.pool if isinstance(e.value, (np.ndarray, np.generic))]
        if not arrays:
            return None
        a = self.operand()
        if a not in arrays or (not a.shape and self.rng.random() < 0.7):
            with_axes = [e for e in arrays if e.shape]
            a = _pick(self.rng, with_axes or arrays)
        return a

    def _basic_item(self, n: int) -> str:
        """One axis's basic index: an int (negative too), or a slice with any step (negative too)."""
        rng = self.rng
        how = _weighted(rng, ["int", "full", "common", "random"], [3, 1, 3, 3])
        if how == "int":
            if rng.random() < 0.03 or n == 0:
                return str(_pick(rng, [n, -n - 1]))  # out of range: IndexError, as in NumPy
            return str(int(rng.integers(-n, n)))
        if how == "full":
            return ":"
        if how == "common":
            return _pick(rng, ["1:", ":-1", "::2", "::-1", "1:-1", "-2:", "::-2", ":1", "-1::-1", ":0"])
        def bound() -> str:
            return "" if rng.random() < 0.3 else str(int(rng.integers(-n - 2, n + 3)))
        step = _pick(rng, ["", "1", "2", "3", "-1", "-2", "-3"])
        return f"{bound()}:{bound()}" + (f":{step}" if step else "")

    def make_index(self) -> None:
        a = self._indexable()
        if a is None:
            return self.make_unary()
        rng = self.rng
        shape = a.shape
        used = len(shape) if rng.random() < 0.7 else int(rng.integers(0, len(shape) + 1))  # x[1:] of 2-D
        items = [self._basic_item(n) for n in shape[:used]]
        if rng.random() < 0.25:  # a new axis
            items.insert(int(rng.integers(0, len(items) + 1)), _pick(rng, ["None", "np.newaxis"]))
        if rng.random() < 0.2:  # an ellipsis for a run of full axes
            at = int(rng.integers(0, len(items) + 1))
            items = [*items[:at], "...", *[k for k in items[at:] if rng.random() < 0.5 or k == "None"]]
        if not items:
            items = [_pick(rng, ["...", "None", ":"] if shape else ["...", "None"])]
        if items == [":"] and not shape:
            items = ["None"]
        self.add(f"{a.op}[{', '.join(items)}]")

    def _fits(self, name: str, n: int) -> bool:
        bounds = self.indices[name]
        return bounds is None or (bounds[0] >= -n and bounds[1] < n)

    def _index_for(self, n: int) -> str:
        """An integer-array index into an axis of size ``n``: an index argument that fits (or, rarely,
        one that does not: IndexError), a list, or a concrete array."""
        rng = self.rng
        names = sorted(self.indices)
        fitting = [k for k in names if self._fits(k, n)]
        if fitting and rng.random() < 0.8:
            return _pick(rng, fitting)
        if names and rng.random() < 0.3:
            return _pick(rng, names)
        values = [int(v) for v in rng.integers(-n, n, size=int(rng.integers(1, 4)))] if n else []
        return str(values) if rng.random() < 0.5 else f"np.array({values}, dtype=np.int64)"

    def make_gather(self) -> None:
        arrays = [e for e in self.pool if isinstance(e.value, (np.ndarray, np.generic)) and e.shape]
        if not arrays:
            return self.make_index()
        rng = self.rng
        a = self.operand()
        if a not in arrays:
            a = _pick(rng, arrays)
        shape = a.shape
        base = a.op
        if not a.traced:  # NumPy cannot index a concrete array by a traced index: make it a traced constant
            base = f"ed.constant({a.src})"
        more = 1.0 if self.orderings else 0.0  # zero weights leave the draws (and so every seed's program) as they were
        how = _weighted(rng, ["first", "axis", "pair", "arange", "take", "take-flat", "method", "along", "sort",
                              "median", "bincount", "einsum"],
                        [3, 2, 2 if len(shape) >= 2 else 0, 1 if len(shape) >= 2 else 0, 2, 1, 1, more, more,
                         0.5 * more, 0.5 * more if len(shape) == 1 else 0, 0.5 * more])
        k = int(rng.integers(len(shape)))
        if how in ("along", "sort", "median", "bincount", "einsum"):
            self.add(self._ordering(how, base, shape, k))
            return
        if how == "first":
            src = f"{base}[{self._index_for(shape[0])}]"
        elif how == "axis":
            lead = _pick(rng, [", ".join([":"] * k), "..."]) if k else ""
            if lead == "...":
                k = len(shape) - 1
            src = f"{base}[{lead + ', ' if lead else ''}{self._index_for(shape[k])}]"
        elif how == "pair":
            first, second = self._index_for(shape[0]), self._index_for(shape[1])
            rest = ", :" if len(shape) > 2 and rng.random() < 0.5 else ""
            if rest and rng.random() < 0.5:  # arrays apart: the gathered dimensions come first
                src = f"{base}[{first}, :, {self._index_for(shape[2])}]" if len(shape) > 2 else f"{base}[{first}, {second}]"
            else:
                src = f"{base}[{first}, {second}{rest}]"
        elif how == "arange":
            src = f"{base}[np.arange({shape[0]}), {self._index_for(shape[1])}]"
        elif how == "take":
            axis = k - len(shape) if rng.random() < 0.3 else k
            src = f"np.take({base}, {self._index_for(shape[k])}, axis={axis})"
        elif how == "take-flat":
            src = f"np.take({base}, {self._index_for(math.prod(shape))})"
        else:
            src = f"{base if base != a.src else a.op}.take({self._index_for(shape[k])}, axis={k})"
        self.add(src)

    def _ordering(self, how: str, base: str, shape: tuple[int, ...], k: int) -> str:
        """np.take_along_axis (by a constant index or a stable argsort), np.sort, np.median,
        np.bincount of a 1-D operand by constant bins, a one-operand np.einsum."""
        rng = self.rng
        if how == "along":
            if rng.random() < 0.5:
                return f"np.take_along_axis({base}, np.argsort({base}, axis={k}, kind='stable'), axis={k})"
            ishape = [1 if rng.random() < 0.5 else n for n in shape]
            ishape[k] = int(rng.integers(0, 4))
            n = shape[k]
            values = rng.integers(-n, n, size=math.prod(ishape)) if n else np.zeros(math.prod(ishape), dtype=int)
            return f"np.take_along_axis({base}, np.array({values.tolist()}, dtype=np.int64).reshape({tuple(ishape)}), axis={k})"
        if how == "sort":
            return f"np.sort({base}, axis={_pick(rng, [str(k), 'None', '-1'])})"
        if how == "median":
            return f"np.median({base}, axis={_pick(rng, [str(k), 'None'])})"
        if how == "bincount":
            bins = [int(v) for v in rng.integers(0, 4, size=shape[0])]
            return f"np.bincount(np.array({bins}, dtype=np.int64), weights={base}, minlength={int(rng.integers(0, 6))})"
        letters = "abc"[:len(shape)]
        kept = [c for c in letters if rng.random() < 0.5]
        output = "".join(rng.permutation(kept).tolist()) if kept else ""
        return f"np.einsum('{letters}->{output}', {base})"

    def make_where(self) -> None:
        a = self.operand()
        b = self.partner(a)
        conds = [e for e in self.pool if e.dtype == "bool"]
        if b is None:
            return self.make_scalar()
        if conds and self.rng.random() < 0.6:
            c = _pick(self.rng, conds)
            self.add(f"np.where({c.src}, {a.src}, {b.src})")
        else:
            s = _weighted(self.rng, PY_SCALARS, PY_SCALAR_WEIGHTS)
            self.add(f"np.where({a.op} > {s}, {a.src}, {b.src})")


def generate(seed: int, orderings: bool = False) -> Case:
    """The random program and inputs of ``seed`` (deterministic); ``orderings`` lets gathers also be
    np.take_along_axis, np.sort, np.median, np.bincount and np.einsum (other programs then differ too)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float32(1e308) and friends overflow on purpose
        return _generate(seed, orderings)


def _generate(seed: int, orderings: bool = False) -> Case:
    rng = np.random.default_rng(seed)
    n_args = int(_weighted(rng, [1, 2, 3], [0.35, 0.45, 0.2]))
    names = ["x", "y", "z"][:n_args]
    base = _weighted(rng, SHAPES, SHAPE_WEIGHTS)
    args: list[Any] = []
    for i in range(n_args):
        if i > 0 and rng.random() < 0.18:
            args.append(random_scalar_argument(rng))
            continue
        shape = base if i == 0 else _related_shape(rng, base)
        args.append(random_array(rng, shape, _weighted(rng, DTYPES, DTYPE_WEIGHTS)))
    for name in INDEX_NAMES[:int(_weighted(rng, [0, 1, 2], [0.6, 0.3, 0.1]))]:  # integer-array indices
        names.append(name)
        args.append(random_index_array(rng, base))
    constants: dict[str, np.ndarray] = {}
    for c in range(int(_weighted(rng, [0, 1, 2], [0.7, 0.24, 0.06]))):  # closed-over arrays
        constants[f"C{c}"] = np.asarray(random_array(rng, _related_shape(rng, base), _weighted(rng, DTYPES, DTYPE_WEIGHTS)))
    builder = _Builder(rng, names, args, constants, orderings)
    for _ in range(int(rng.integers(1, 8))):
        builder.step()
        if builder.raising is not None:
            break
    outputs = _outputs(builder)
    body = "\n".join([*builder.lines, f"    return {outputs}"])
    source = f"def f({', '.join(names)}):\n{body}\n"
    if constants:
        lines = [f"{name} = {literal(value)}" for name, value in constants.items()]
        if rng.random() < 0.4:  # a closure over them instead of module globals
            inner = "".join(f"    {line}\n" for line in [*lines, *source.splitlines(), "return f"])
            source = f"def make():\n{inner}\n\nf = make()\n"
        else:
            source = "\n".join(lines) + "\n\n\n" + source
    rulesets = [] if rng.random() < 0.25 else None
    return Case(source, tuple(args), seed, rulesets)


def _outputs(builder: _Builder) -> str:
    rng = builder.rng
    if builder.raising is not None:
        return builder.raising
    last = builder.pool[-1]
    r = rng.random()
    if r < 0.06 and not last.atom:
        return f"{last.src}, {last.src}"  # the same expression twice: two fresh arrays in NumPy
    if r < 0.14 and len(builder.pool) > 1:
        other = _pick(rng, builder.pool[:-1])
        return f"{last.src}, {other.src}"
    return last.src


# ================================================================== references


class _LongdoubleNumpy:
    """``np`` for the reference run: ``np.float64`` means ``np.longdouble`` (80-bit on x86)."""

    float64 = np.longdouble

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def _to_longdouble(a: Any) -> Any:
    if isinstance(a, (bool, int)) or (isinstance(a, np.generic) and a.dtype.kind in "biu"):
        return a
    if isinstance(a, (float, np.floating)):
        return np.longdouble(a)
    arr = np.asarray(a)
    return arr.astype(np.longdouble) if arr.dtype.kind == "f" else arr.copy()


def longdouble_reference(case: Case) -> list[Any] | None:
    """The program evaluated with float arguments (and np.float64) in longdouble; None if it fails."""
    try:
        fn = case.function(_LongdoubleNumpy())
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(*[_to_longdouble(a) for a in case.args])
    except Exception:
        return None
    return list(out) if isinstance(out, (tuple, list)) else [out]


class IeeeMpMath(MpMathUfuncs):
    """Math namespace for the op table's ``real`` semantics: mpmath, with IEEE infinities, and NaN
    meaning "no exact value known" (undefined, a division by a zero of unknown sign, or too large
    to evaluate). The judge only uses the finite values. (Trig, rounding, logic and division ops:
    :class:`proofs.ufunc_semantics.MpMathUfuncs`.)"""

    def _undefined(self, why: str) -> Any:
        return self.nan

    def __init__(self, prec: int = MP_PRECISION) -> None:
        self.ctx = mpmath.MPContext()
        self.ctx.prec = prec
        self.nan = self.ctx.mpf("nan")
        self.inf = self.ctx.mpf("inf")

    def _nan(self, *xs: Any) -> bool:
        return any(self.ctx.isnan(x) for x in xs)

    def const(self, v: Any) -> Any:
        if isinstance(v, (bool, np.bool_, int, np.integer)):
            return self.ctx.mpf(int(v))
        v = float(v)
        return self.nan if math.isnan(v) else self.ctx.mpf(v)

    def div(self, a: Any, b: Any) -> Any:
        if self._nan(a, b) or b == 0 or (self.ctx.isinf(a) and self.ctx.isinf(b)):
            return self.nan
        return a / b

    def pow(self, a: Any, b: Any) -> Any:
        if self._nan(a, b) or self.ctx.isinf(a) or self.ctx.isinf(b):
            return self.nan
        if a > 0:
            return self.nan if abs(b * self.ctx.log(a)) > MP_EXP_LIMIT else self.ctx.power(a, b)
        if a == 0:
            return self.ctx.mpf(0) if b > 0 else self.nan
        if b == int(b) and abs(b) <= 4096:
            return self.ctx.power(a, int(b))
        return self.nan

    def maximum(self, a: Any, b: Any) -> Any:
        return self.nan if self._nan(a, b) else (a if a > b else b)

    def minimum(self, a: Any, b: Any) -> Any:
        return self.nan if self._nan(a, b) else (a if a < b else b)

    def exp(self, a: Any) -> Any:
        if self._nan(a):
            return self.nan
        if self.ctx.isinf(a):
            return self.inf if a > 0 else self.ctx.mpf(0)
        return self.nan if abs(a) > MP_EXP_LIMIT else self.ctx.exp(a)

    def log(self, a: Any) -> Any:
        if self._nan(a) or a < 0:
            return self.nan
        return -self.inf if a == 0 else self.inf if self.ctx.isinf(a) else self.ctx.log(a)

    def sqrt(self, a: Any) -> Any:
        return self.nan if self._nan(a) or a < 0 else self.ctx.sqrt(a)

    def abs(self, a: Any) -> Any:
        return abs(a)

    def tanh(self, a: Any) -> Any:
        if self._nan(a):
            return self.nan
        return self.ctx.mpf(1 if a > 0 else -1) if self.ctx.isinf(a) else self.ctx.tanh(a)

    def compare(self, symbol: str, a: Any, b: Any) -> bool:
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[symbol])

    def select(self, c: Any, a: Any, b: Any) -> Any:
        return a if c else b

    def to_real(self, value: Any) -> np.ndarray:
        a = np.asarray(value)
        out = np.empty(a.shape, dtype=object)
        for idx in np.ndindex(a.shape):
            x = a[idx]
            out[idx] = self.const(x.item() if isinstance(x, np.generic) else x)
        return out

    def to_longdouble(self, value: Any) -> np.ndarray:
        a = np.asarray(value, dtype=object)
        out = np.empty(a.shape, dtype=np.longdouble)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for idx in np.ndindex(a.shape):
                x = a[idx]
                if self.ctx.isnan(x) or self.ctx.isinf(x):
                    out[idx] = np.longdouble(float(x))
                else:
                    out[idx] = np.longdouble(self.ctx.nstr(x, 30))
        return out


def mpmath_reference(program: Program, args: Sequence[Any], real_comparisons: bool = False,
                     rounded: bool = False, absorbed: list[Term] | None = None) -> list[np.ndarray]:
    """Exact value of each output of ``program``: float outputs as longdouble (NaN where unknown),
    int and bool outputs as arrays.

    Int and bool nodes take their NumPy values (integer wrap-around is NumPy's), and so do
    comparisons, unless ``real_comparisons``: then a comparison of two known, unequal exact values
    is decided exactly (and ``np.where`` follows it); with ``rounded`` too, it compares the exact
    operands rounded to their dtype (what a correctly rounded evaluation decides:
    ``log(1 + exp(800)) <= 800`` is false exactly but true on the rounded operands). Float nodes use
    the op table's ``real`` semantics; an explicit cast to float32 rounds.
    """
    m = IeeeMpMath()
    env = bind_inputs(program, args)
    concrete: dict[int, Any] = {}
    real: dict[int, np.ndarray] = {}

    def real_of(t: Any) -> Any:
        return real[id(t)] if id(t) in real else m.to_real(concrete[id(t)])

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in program.terms():
            concrete[id(t)] = evaluate_node(t, [concrete[id(a)] for a in t.args], env)
            spec = ops.spec(t.op)
            if t.dtype == "bool" and spec.result_dtype == "bool" and real_comparisons and any(id(a) in real for a in t.args):
                a, b = (real_of(x) for x in t.args)
                if rounded:
                    a, b = (m.to_real(np.asarray(m.to_longdouble(v), dtype=x.dtype or "float64"))
                            for v, x in zip((a, b), t.args, strict=True))
                exact = np.asarray(spec.real(m, a, b), dtype=bool) if spec.real else concrete[id(t)]
                # a tie at this precision may be a difference far below it (log1p(exp(-2**31))): unknown,
                # unless the operands are rounded (then a tie is what rounding decides)
                decided = np.vectorize(lambda u, v: not (m.ctx.isnan(u) or m.ctx.isnan(v) or (u == v and not rounded)),
                                       otypes=[bool])
                known = decided(a, b)
                concrete[id(t)] = np.where(known, exact, concrete[id(t)])
            if t.dtype not in (None, "float32", "float64"):
                continue
            if t.op == "input":
                real[id(t)] = m.to_real(env[str(t.attr["name"])])
            elif t.op == "const":
                real[id(t)] = np.asarray(m.const(t.attr["value"]), dtype=object)
            elif t.op == "astype":
                value = real_of(t.args[0])
                if t.dtype == "float32":  # the program rounds here: so does the reference
                    value = m.to_real(np.asarray(m.to_longdouble(value), dtype=np.float32))
                real[id(t)] = np.asarray(value, dtype=object)
            elif t.op == "div":
                real[id(t)] = _signed_division(m, real_of(t.args[0]), real_of(t.args[1]), concrete[id(t.args[1])])
            else:
                assert spec.real is not None
                real[id(t)] = np.asarray(spec.real(m, *[real_of(a) for a in t.args], **t.attr), dtype=object)
                if absorbed is not None and _zero_for_nonzero(concrete[id(t)], real[id(t)], m):
                    absorbed.append(t)
    return [m.to_longdouble(real[id(o)]) if id(o) in real else np.asarray(concrete[id(o)]) for o in program.outputs]


def _signed_division(m: IeeeMpMath, a: Any, b: Any, b_float: Any) -> np.ndarray:
    """a / b exactly; where b is exactly zero and so is its float value (an int 0 cast to float, a
    literal -0.0), a nonzero a gives the infinity IEEE gives: the sign of the float zero is exact there."""
    a, b, z = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object), np.asarray(b_float))
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        x, y, zero = a[idx], b[idx], z[idx]
        if y == 0 and zero == 0 and not m.ctx.isnan(x) and x != 0:
            out[idx] = m.inf if (x > 0) != bool(np.signbit(zero)) else -m.inf
        else:
            out[idx] = m.div(x, y)
    return out


def _zero_for_nonzero(value: Any, exact: np.ndarray, m: IeeeMpMath) -> bool:
    """Does the float64 ``value`` hold a zero anywhere the exact value is a finite nonzero number?"""
    v = np.broadcast_to(np.asarray(value), exact.shape)
    return any(v[i] == 0 and not (m.ctx.isnan(exact[i]) or m.ctx.isinf(exact[i])) and exact[i] != 0
               for i in np.ndindex(exact.shape))


def absorbs_a_value(case: Case) -> bool:
    """Does NumPy's evaluation round some nonzero intermediate to zero (log(sigmoid(164)) is
    -4.6e-72, NumPy's log(1.0) is 0.0)? An accurate jit then carries the tiny value on, and a
    later ``0 * -4.6e-72`` is -0.0 where NumPy's ``0 * 0.0`` is +0.0."""
    args = _fresh(case.args)
    try:
        program = trace_function(case.function(), args)
        found: list[Term] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mpmath_reference(program, args, absorbed=found)
        return bool(found)
    except Exception:
        return False


# ================================================================== the judge


@dataclass
class Problem:
    kind: str  # dtype, shape, int-value, bool-value, nan, inf, signed-zero, value, accuracy, alias-input, ...
    detail: str


@dataclass
class Verdict:
    case: Case
    status: str = "ok"  # ok | skip | wrong
    problems: list[Problem] = field(default_factory=list)
    skip_reason: str = ""
    improvements: int = 0  # elements finite and accurate where NumPy gave inf/nan
    sharper: int = 0  # elements accurate where NumPy's finite result was not
    unverified: int = 0  # improvements checked against the optimized program's exact value only
    zero_signs_after_absorption: int = 0  # a zero's sign that follows from a value NumPy rounded to 0
    ill_conditioned: int = 0  # elements where NumPy's answer has the wrong sign or is inf (exact: finite)
    undefined: int = 0  # NaN where the exact value does not exist and NumPy's rounding made one up
    flips: int = 0  # bool/int elements that differ from NumPy's but agree with the exact comparison
    numpy: Any = None
    jit: Any = None
    reference: Any = None
    optimized: str = ""
    jitted: Any = field(default=None, repr=False)

    def wrong(self, kind: str, detail: str) -> None:
        self.status = "wrong"
        self.problems.append(Problem(kind, detail))

    @property
    def kinds(self) -> list[str]:
        return sorted({p.kind for p in self.problems})

    def report(self) -> str:
        lines = [self.case.describe()]
        with np.printoptions(precision=17, floatmode="unique"):
            lines += [f"numpy:     {self.numpy!r}", f"jit:       {self.jit!r}", f"reference: {self.reference!r}"]
        lines += [f"  [{p.kind}] {p.detail}" for p in self.problems]
        if self.optimized:
            lines.append("optimized program:\n" + self.optimized)
        return "\n".join(lines)


def _fresh(args: Sequence[Any]) -> list[Any]:
    return [copy.deepcopy(a) for a in args]


def _run(fn: Callable[..., Any], args: Sequence[Any]) -> tuple[Any, Exception | None]:
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args), None
    except Exception as exc:
        return None, exc


def _other_values(a: Any) -> Any:
    """Data of the same type, shape and dtype as ``a`` but other values (jit does not retrace)."""
    if isinstance(a, np.ndarray) and a.size > 1:
        return np.ascontiguousarray(a.ravel()[::-1].reshape(a.shape)) if a.flags.c_contiguous else a[::-1]
    if isinstance(a, np.ndarray) and a.dtype.kind in "fc":
        with np.errstate(all="ignore"):
            return a * 2 + 1
    return a


def _outputs_of(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (tuple, list)) else [value]


class _DtypeProbe(np.ndarray):
    """An ndarray that records the dtype of every ufunc and NumPy function result computed from it."""

    seen: set[str] = set()

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _probe(getattr(ufunc, method)(*_plain(inputs), **{k: _plain(v) for k, v in kwargs.items()}))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _probe(func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()}))


def _plain(value: Any) -> Any:
    if isinstance(value, _DtypeProbe):
        return value.view(np.ndarray)
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    return value


def _probe(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_probe(v) for v in value)
    if isinstance(value, (np.ndarray, np.generic)):
        _DtypeProbe.seen.add(np.asarray(value).dtype.name)
        return np.asarray(value).view(_DtypeProbe)
    return value


class _ProbeNumpy:
    """``np`` whose ``np.array`` makes probes: closed-over constants are followed too."""

    def array(self, *args: Any, **kwargs: Any) -> Any:
        return _probe(np.array(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def numpy_dtypes(case: Case) -> set[str]:
    """The dtypes of every intermediate NumPy computes for ``case`` (int8 and float16 included)."""
    _DtypeProbe.seen = set()
    # Python bools too (bool is the lowest dtype, so a 0-d bool array promotes as the weak scalar does)
    args = [_probe(np.asarray(a)) if isinstance(a, (np.ndarray, np.generic, bool)) else a for a in _fresh(case.args)]
    _run(case.function(_ProbeNumpy()), args)
    return set(_DtypeProbe.seen)


_COMPUTES_IN = re.compile(r"^(\w+) of \(([\w, ]+)\) computes in (\w+) in NumPy")


def _numpy_computes_exotic(error: Exception) -> str:
    """The unsupported dtype a refusal names ("exp of (bool) computes in float16 in NumPy"), if NumPy
    agrees (the probe cannot follow values through eager ``ed.*`` calls); else ''."""
    m = _COMPUTES_IN.match(str(error))
    ufunc = getattr(np, m.group(1), None) if m else None
    if m is None or not isinstance(ufunc, np.ufunc) or m.group(3) in SUPPORTED_DTYPES:
        return ""
    try:
        operands = [np.ones(1, dtype=d.strip()) for d in m.group(2).split(",")]
        with np.errstate(all="ignore"):
            return m.group(3) if np.asarray(ufunc(*operands)).dtype.name == m.group(3) else ""
    except Exception:
        return ""


def _exotic(case: Case, expected: Any) -> set[str]:
    outputs = {np.asarray(o).dtype.name for o in _outputs_of(expected)}
    return (numpy_dtypes(case) | outputs) - SUPPORTED_DTYPES


def _identical(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    return bool(np.all((a == b) & (np.signbit(a) == np.signbit(b)) | (np.isnan(a) & np.isnan(b))))


def judge(case: Case, backend: str = "numpy") -> Verdict:
    """Run ``case`` in NumPy, in ``ed.jit`` (on ``backend``) and in the reference, and say whether
    jit is wrong; then call the jitted function again on other data and check that its first
    results did not change (a result must never share memory the next call writes)."""
    verdict = Verdict(case)
    fn = case.function()
    expected, numpy_error = _run(fn, _fresh(case.args))
    jit_args = _fresh(case.args)
    jitted = ed.jit(fn, rulesets=case.rulesets, limits=LIMITS, backend=backend)
    verdict.jitted = jitted
    got, jit_error = _run(jitted, jit_args)
    verdict.numpy = expected if numpy_error is None else numpy_error
    verdict.jit = got if jit_error is None else jit_error
    _judge_results(verdict, fn, case, expected, numpy_error, got, jit_error, jit_args)
    if jit_error is None and verdict.status != "skip":
        kept = [np.array(out, copy=True) for out in _outputs_of(got)]
        _run(jitted, [_other_values(a) for a in _fresh(case.args)])
        for k, (out, before) in enumerate(zip(_outputs_of(got), kept, strict=True)):
            if not _identical(out, before):
                verdict.wrong("result-overwritten", f"output {k} changed when jit was called again on other data: "
                                                    f"{before!r} became {out!r}")
    if verdict.status == "wrong":
        try:
            verdict.optimized = str(jitted.program(*_fresh(case.args)))
        except Exception as exc:
            verdict.optimized = f"(no program: {type(exc).__name__}: {exc})"
    return verdict


def _judge_results(verdict: Verdict, fn: Callable[..., Any], case: Case, expected: Any, numpy_error: Exception | None,
                   got: Any, jit_error: Exception | None, jit_args: list[Any]) -> None:
    for original, passed in zip(case.args, jit_args, strict=True):
        if not _identical(original, passed):
            verdict.wrong("input-mutated", f"jit wrote into an argument: {passed!r}, was {original!r}")
    if numpy_error is not None:
        if jit_error is None:
            verdict.wrong("missing-error", f"NumPy raises {type(numpy_error).__name__}: {numpy_error}; jit returned a value")
        elif not (isinstance(jit_error, EgraphDslError) or isinstance(jit_error, type(numpy_error))):
            verdict.wrong("error-mismatch", f"NumPy raises {type(numpy_error).__name__}: {numpy_error}; "
                                            f"jit raises {type(jit_error).__name__}: {jit_error}")
        return
    if jit_error is not None:
        if isinstance(jit_error, REFUSALS):
            verdict.status, verdict.skip_reason = "skip", f"{type(jit_error).__name__}: {jit_error}"
        elif isinstance(jit_error, EgraphDslError) and (_exotic(case, expected) or _numpy_computes_exotic(jit_error)):
            exotic = ", ".join(sorted(_exotic(case, expected) or {_numpy_computes_exotic(jit_error)}))
            verdict.status, verdict.skip_reason = "skip", f"NumPy computes in {exotic}: {jit_error}"
        else:
            verdict.wrong("spurious-error", f"NumPy returns a value; jit raises {type(jit_error).__name__}: {jit_error}")
        return
    _compare(verdict, fn, _outputs_of(expected), _outputs_of(got), jit_args, isinstance(expected, (tuple, list)))


def _compare(verdict: Verdict, fn: Callable[..., Any], expected: list[Any], got: list[Any], jit_args: list[Any],
             is_tuple: bool) -> None:
    if is_tuple != isinstance(verdict.jit, (tuple, list)) or len(expected) != len(got):
        verdict.wrong("structure", f"NumPy returns {len(expected)} output(s) (tuple={is_tuple}); "
                                   f"jit returns a {type(verdict.jit).__name__}")
        return
    _check_memory(verdict, expected, got, jit_args)
    reference: list[Any] | None = None
    references: list[Any] = []
    for k, (n, j) in enumerate(zip(expected, got, strict=True)):
        where = f"output {k}: " if len(expected) > 1 else ""
        n_arr, j_arr = np.asarray(n), np.asarray(j)
        if n_arr.dtype != j_arr.dtype:
            verdict.wrong("dtype", f"{where}NumPy gives {n_arr.dtype}, jit {j_arr.dtype}")
        if n_arr.shape != j_arr.shape:
            verdict.wrong("shape", f"{where}NumPy gives shape {n_arr.shape}, jit {j_arr.shape}")
            continue
        if n_arr.dtype.kind in "biu":
            _compare_exact(verdict, where, k, n_arr, j_arr)
            continue
        if n_arr.dtype.kind != "f" or (_identical(n_arr, j_arr) and not verdict.case.strict):
            continue
        if reference is None:
            reference = longdouble_reference(verdict.case) or []
        references.append(_compare_floats(verdict, where, k, n_arr, j_arr, _reference_for(reference, k, n_arr)))
    if references:
        verdict.reference = references[0] if len(references) == 1 else references


def _reference_for(reference: list[Any], k: int, n: np.ndarray) -> np.ndarray:
    if k < len(reference):
        r = np.asarray(reference[k])
        if r.shape == n.shape and r.dtype.kind == "f":
            return r.astype(np.longdouble)
    return n.astype(np.longdouble)  # no reference: NumPy's own value stands in (mpmath may refine it)


def _check_memory(verdict: Verdict, expected: list[Any], got: list[Any], jit_args: list[Any]) -> None:
    arrays = [a for a in jit_args if isinstance(a, np.ndarray)]
    for k, j in enumerate(got):
        if not isinstance(j, np.ndarray):
            continue
        n = expected[k]
        if any(np.shares_memory(j, a) for a in arrays):
            verdict.wrong("alias-input", f"output {k} shares memory with an argument")
        numpy_writeable = isinstance(n, np.ndarray) and n.flags.writeable  # a NumPy scalar is immutable anyway
        if not j.flags.writeable and numpy_writeable:
            verdict.wrong("readonly", f"output {k} is read-only (NumPy's is writeable)")
        if j.size > 1 and any(s == 0 and d > 1 for s, d in zip(j.strides, j.shape, strict=True)):
            if not (isinstance(n, np.ndarray) and any(s == 0 and d > 1 for s, d in zip(n.strides, n.shape, strict=True))):
                verdict.wrong("zero-stride", f"output {k} is a broadcast view (strides {j.strides})")
        for i in range(k):
            other, n_other = got[i], expected[i]
            if isinstance(other, np.ndarray) and np.shares_memory(j, other):
                if not (isinstance(n, np.ndarray) and isinstance(n_other, np.ndarray) and np.shares_memory(n, n_other)):
                    verdict.wrong("alias-output", f"outputs {i} and {k} share memory (NumPy's do not)")


def _compare_exact(verdict: Verdict, where: str, k: int, n: np.ndarray, j: np.ndarray) -> None:
    """Ints and bools must be NumPy's, except where a float comparison that NumPy decided on rounded
    values comes out as the exact comparison does (jit computed the operands more accurately)."""
    n_items, j_items = n.ravel().tolist(), j.ravel().tolist()
    bad = [i for i, (a, b) in enumerate(zip(n_items, j_items, strict=True))
           if not ((a == b and type(a) is type(b)) or _same_number(a, b))]
    if bad and n.dtype == j.dtype:
        decisions = [e.ravel().tolist() for e in _exact_comparisons(verdict.case, k, n)]
        if decisions and all(any(d[i] == j_items[i] for d in decisions) for i in bad):
            verdict.flips += len(bad)
            return
    if bad:
        i = bad[0]
        kind = "bool-value" if n.dtype == bool else "int-value"
        verdict.wrong(kind, f"{where}{len(bad)} of {n.size} elements differ; first at flat index {i}: "
                            f"NumPy {n_items[i]!r}, jit {j_items[i]!r}")


def _exact_comparisons(case: Case, k: int, n: np.ndarray) -> list[np.ndarray]:
    """Output ``k`` of the traced program with float comparisons decided exactly, and decided on the
    exactly rounded operands (none if the trace does not compute what NumPy computes)."""
    args = _fresh(case.args)
    try:
        program = trace_function(case.function(), args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not _identical(np.asarray(evaluate(program, args)[k]), n):
                return []
            return [np.asarray(mpmath_reference(program, args, real_comparisons=True, rounded=rounded)[k])
                    for rounded in (False, True)]
    except Exception:
        return []


def _same_number(a: Any, b: Any) -> bool:
    """Exact equality of an int with whatever jit returned (an int, or a float of the same value)."""
    try:
        return bool(a == b) and (not isinstance(b, float) or int(b) == a)
    except (OverflowError, ValueError):
        return False


ELEMENT_PROBLEMS = ("nan", "inf", "signed-zero", "value", "accuracy")


def float_kinds(n: np.ndarray, j: np.ndarray, r: np.ndarray, working: str, strict: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per element: the problem kind ('' when fine), and masks of improvements and sharper results.

    ``n`` NumPy, ``j`` jit, ``r`` reference (longdouble). Tolerance: ``TOL_ULPS`` ulps of the
    ``working`` precision (float32 when the program computes anything in float32, else the output's
    dtype) relative to the reference, and that many subnormal steps absolute, or ``NUMPY_FACTOR``
    times NumPy's own error, whichever is larger (``strict``: the ulp tolerance only). Where NumPy
    gives inf/nan and the true value is finite, NumPy's error sets no scale; any result within
    ``sqrt(eps)`` relative is then an improvement.
    """
    dtype = n.dtype
    fi = np.finfo(working)
    with np.errstate(all="ignore"):
        n = n.astype(np.longdouble)
        j = np.asarray(j).astype(np.longdouble)
        r_rounded = r.astype(dtype).astype(np.longdouble)  # +-inf where the true value overflows dtype
        same = ((j == n) & (np.signbit(j) == np.signbit(n))) | (np.isnan(j) & np.isnan(n))
        tol = np.maximum(TOL_ULPS * fi.eps * np.abs(r), TOL_ULPS * np.longdouble(fi.smallest_subnormal))
        err_j, err_n = np.abs(j - r), np.abs(n - r)
        allowed = tol if strict else np.maximum(tol, np.where(np.isfinite(err_n), NUMPY_FACTOR * err_n, 0))
        accurate = np.isfinite(j) & (err_j <= allowed)
        improvable = np.isfinite(j) & ~np.isfinite(n) & (err_j <= np.sqrt(fi.eps) * np.abs(r))
        gross = err_j > np.sqrt(fi.eps) * np.maximum(np.abs(r), np.longdouble(fi.tiny))
    kinds = np.full(n.shape, "", dtype=object)
    improved = np.zeros(n.shape, dtype=bool)
    sharper = np.zeros(n.shape, dtype=bool)
    for idx in np.ndindex(n.shape):
        if same[idx] and not strict:
            continue
        nv, jv, rv, rr = n[idx], j[idx], r[idx], r_rounded[idx]
        if nv == 0 and jv == 0 and np.signbit(nv) != np.signbit(jv) and not strict:
            kinds[idx] = "signed-zero"
        elif np.isnan(rv):  # no real value: follow NumPy's NaN
            if np.isnan(nv) and not np.isnan(jv):
                kinds[idx] = "nan"
            elif not np.isnan(nv) and not np.isnan(jv) and abs(jv - nv) > TOL_ULPS * fi.eps * abs(nv):
                kinds[idx] = "value"
        elif np.isinf(rr):  # the true value is +-inf in this dtype
            if jv != rr and not (same[idx] and np.isinf(nv)):
                kinds[idx] = "nan" if np.isnan(jv) else "inf"
            elif np.isnan(nv):
                improved[idx] = True
        elif accurate[idx] or (improvable[idx] and not strict):
            if not np.isfinite(nv):
                improved[idx] = True
            elif err_n[idx] > tol[idx]:
                sharper[idx] = True
        else:
            kinds[idx] = "nan" if np.isnan(jv) else "inf" if np.isinf(jv) else "value" if gross[idx] else "accuracy"
    return kinds, improved, sharper


def _compare_floats(verdict: Verdict, where: str, k: int, n: np.ndarray, j: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Judge one float output element by element; returns the reference it was judged by.

    Elements the longdouble reference flags are judged again against the exact value of the traced
    program (mpmath), where that program computes what NumPy computes. Where even that is unknown
    (1 - sigmoid(1e32) needs 10**32 bits) and NumPy overflowed, a finite jit result that matches the
    exact value of the optimized program counts as an unverified improvement.
    """
    strict = verdict.case.strict
    working = working_precision(verdict.case, n.dtype.name)
    kinds, improved, sharper = float_kinds(n, j, r, working, strict)
    flagged = kinds != ""
    if strict or flagged.any():  # the longdouble verdict may be blind: ask mpmath where it can
        exact, faithful = _exact_of_trace(verdict.case, k, n, r, working)
        use = faithful & np.isfinite(exact) & (flagged | strict)
        if use.any():
            r = np.where(use, exact, r)
            kinds, improved, sharper = float_kinds(n, j, r, working, strict)
        # no real value (log(exp(x) - 1) at x = -1e-310 is the log of a negative number; so is
        # sqrt(log(1 + x)), which NumPy computes as sqrt(log(1.0)) = 0): NumPy's answer exists only
        # because rounding absorbed x; NaN, what the exact intermediate gives, is faithful too
        undefined = (kinds == "nan") & faithful & np.isnan(exact) & ~np.isnan(n) & np.isnan(j)
        if undefined.any() and not strict:
            undefined &= np.isnan(_exact_of_optimized(verdict, k, n))  # and the optimized one has none
            kinds[undefined] = ""
            verdict.undefined += int(undefined.sum())
        # a float that depends on a comparison NumPy decided on rounded operands ((1 - sigmoid(97)) > 0
        # is false in NumPy, true exactly): judged against the program with comparisons decided
        # exactly, or on the exactly rounded operands
        for rounded in (False, True):
            still = kinds != ""
            if strict or not still.any():
                break
            alt, alt_faithful = _exact_of_trace(verdict.case, k, n, r, working, real_comparisons=True, rounded=rounded)
            use = still & alt_faithful & np.isfinite(alt)
            if use.any():
                again, _, _ = float_kinds(n, j, np.where(use, alt, r), working)
                decided = use & (again == "")
                kinds[decided] = ""
                verdict.flips += int(decided.sum())
        # NumPy's answer carries nothing true (the wrong sign, an infinity, or a zero for a value of
        # magnitude >= 1, where the exact value is finite: y / (y - log(1 - sigmoid(x - y))) at
        # y = -3e38 is 2e38, NumPy -0.0): the program is ill-conditioned there and NumPy is no
        # specification; any non-nan answer stands
        def clueless_against(truth: np.ndarray) -> np.ndarray:
            wrong_sign = np.where(n == 0, np.abs(truth) >= 1, np.signbit(n) != np.signbit(truth))  # 0 for 1e-22: rounding
            return np.isfinite(truth) & (truth != 0) & (np.isinf(n) | wrong_sign) & ~np.isnan(j) & (kinds != "")

        clueless = faithful & clueless_against(exact)
        if clueless.any() and not strict:
            kinds[clueless] = ""
            verdict.ill_conditioned += int(clueless.sum())
        # where even 2200 bits are blind (1 - sigmoid(3e38) is 0 at that precision, so the trace's exact
        # value is 0 or infinite), the exact value of the optimized program decides: unverified
        blind = (kinds != "") & ~(np.isfinite(exact) & (exact != 0))
        if blind.any() and not strict:
            clueless = blind & clueless_against(_exact_of_optimized(verdict, k, n))
            kinds[clueless] = ""
            verdict.ill_conditioned += int(clueless.sum())
            verdict.unverified += int(clueless.sum())
        candidates = (kinds != "") & ~np.isfinite(n) & ~np.isfinite(exact)
        if candidates.any() and not strict:
            after = _exact_of_optimized(verdict, k, n)
            use = candidates & np.isfinite(after)
            if use.any():
                again, _, _ = float_kinds(n, j, np.where(use, after, r), working)
                rescued = use & (again == "")
                kinds[rescued] = ""
                verdict.unverified += int(rescued.sum())
    zero_signs = kinds == "signed-zero"
    if zero_signs.any() and not strict and absorbs_a_value(verdict.case):
        kinds[zero_signs] = ""
        verdict.zero_signs_after_absorption += int(zero_signs.sum())
    verdict.improvements += int(improved.sum())
    verdict.sharper += int(sharper.sum())
    for kind in ELEMENT_PROBLEMS:
        idx = np.argwhere(kinds == kind)
        if len(idx):
            first = tuple(int(i) for i in idx[0])
            with np.printoptions(precision=20):
                verdict.wrong(kind, f"{where}{len(idx)} of {n.size} elements; first at {first}: NumPy {n[first]!r}, "
                                    f"jit {j[first]!r}, reference {r[first]!r}")
    return r


def working_precision(case: Case, dtype: str) -> str:
    """float32 if the traced program computes anything in float32, else ``dtype``."""
    if dtype == "float32":
        return dtype
    try:
        program = trace_function(case.function(), _fresh(case.args))
    except Exception:
        return dtype
    return "float32" if any(t.dtype == "float32" for t in program.terms()) else dtype


def _exact_of_trace(case: Case, k: int, n: np.ndarray, r: np.ndarray, working: str, *,
                    real_comparisons: bool = False, rounded: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Exact value of output ``k`` of the traced program (NaN where unknown), and where the trace is
    faithful: its float64 evaluation agrees with NumPy there, so a tracing bug cannot hide behind
    its own reference."""
    unknown = np.full(n.shape, np.nan, dtype=np.longdouble), np.zeros(n.shape, dtype=bool)
    args = _fresh(case.args)
    try:
        program = trace_function(case.function(), args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = np.asarray(evaluate(program, args)[k])
            exact = np.asarray(mpmath_reference(program, args, real_comparisons, rounded)[k])
    except Exception:
        return unknown
    if exact.shape != n.shape or traced.shape != n.shape or exact.dtype != np.longdouble:
        return unknown
    faithful_kinds, _, _ = float_kinds(n, traced.astype(n.dtype), r, working)
    return exact, faithful_kinds == ""


def _exact_of_optimized(verdict: Verdict, k: int, n: np.ndarray) -> np.ndarray:
    args = _fresh(verdict.case.args)
    try:
        program = verdict.jitted.program(*args)
        exact = np.asarray(mpmath_reference(program, args)[k])
    except Exception:
        return np.full(n.shape, np.nan, dtype=np.longdouble)
    return exact if exact.shape == n.shape and exact.dtype == np.longdouble else np.full(n.shape, np.nan, np.longdouble)


# ================================================================== batches


@dataclass
class Summary:
    ran: int = 0
    skipped: int = 0
    wrong: int = 0
    improved_programs: int = 0
    improved_elements: int = 0
    sharper_programs: int = 0
    unverified_elements: int = 0
    flipped_programs: int = 0
    undefined_programs: int = 0
    ill_conditioned_programs: int = 0
    absorbed_zero_programs: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    skips: Counter[str] = field(default_factory=Counter)
    examples: dict[str, Verdict] = field(default_factory=dict)  # the shortest failing program per kind
    failures: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, v: Verdict) -> None:
        self.ran += 1
        if v.status == "skip":
            self.skipped += 1
            self.skips[v.skip_reason.split(" (at ")[0][:90]] += 1
        elif v.status == "wrong":
            self.wrong += 1
            self.failures.append(v)
            for kind in v.kinds:
                self.kinds[kind] += 1
                best = self.examples.get(kind)
                if best is None or len(v.case.source) < len(best.case.source):
                    self.examples[kind] = v
        if v.improvements:
            self.improved_programs += 1
            self.improved_elements += v.improvements
        if v.sharper:
            self.sharper_programs += 1
        self.unverified_elements += v.unverified
        self.flipped_programs += bool(v.flips)
        self.undefined_programs += bool(v.undefined)
        self.ill_conditioned_programs += bool(v.ill_conditioned)
        self.absorbed_zero_programs += bool(v.zero_signs_after_absorption)

    @property
    def skip_rate(self) -> float:
        return self.skipped / max(self.ran, 1)

    def line(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in self.kinds.most_common())
        return (f"differential: ran {self.ran} programs in {self.seconds:.1f}s, skipped {self.skipped} "
                f"({self.skip_rate:.1%}), wrong {self.wrong}" + (f" [{kinds}]" if kinds else "") +
                f", improvements {self.improved_programs} programs ({self.improved_elements} elements finite and "
                f"accurate where NumPy overflowed, {self.unverified_elements} of them checked against the optimized "
                f"program only), more accurate than NumPy {self.sharper_programs}, comparisons decided exactly "
                f"where NumPy's rounding decided otherwise {self.flipped_programs}, nan where no real value "
                f"exists and NumPy's rounding made one up {self.undefined_programs}, ill-conditioned where "
                f"NumPy's answer has the wrong sign or is infinite {self.ill_conditioned_programs}, zero signs that "
                f"follow from a value NumPy rounded to zero {self.absorbed_zero_programs}")


def run_seeds(seeds: Sequence[int], backend: str = "numpy", orderings: bool = False) -> Summary:
    summary = Summary()
    start = time.perf_counter()
    for seed in seeds:
        summary.add(judge(generate(seed, orderings), backend))
    summary.seconds = time.perf_counter() - start
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run the random-program differential test")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--examples", action="store_true", help="print the shortest failing program per kind")
    parser.add_argument("--all", action="store_true", help="print every failing program")
    parser.add_argument("--backend", default="numpy", help="the backend jit runs on (numpy, native, ...)")
    ns = parser.parse_args(argv)
    summary = run_seeds(range(ns.start, ns.start + ns.count), ns.backend)
    print(summary.line())
    for reason, count in summary.skips.most_common(10):
        print(f"  skip x{count}: {reason}")
    if ns.examples:
        for kind, v in sorted(summary.examples.items()):
            print(f"\n===== {kind} ({summary.kinds[kind]} programs)\n{v.report()}")
    if ns.all:
        for v in summary.failures:
            print(f"\n===== {', '.join(v.kinds)}\n{v.report()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
