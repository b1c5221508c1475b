"""The op table: every op is declared once, here, with everything each layer needs.

An :class:`OpSpec` gives an op's arity and attributes, its shape and dtype rules, its
implementation against an array namespace (NumPy or CuPy: ``impl(xp, *arrays, **attrs)``), the
scalar C expression used by fused GPU kernels, its exact real semantics for proofs
(``real(m, *args, **attrs)`` over a math namespace ``m`` such as mpmath or z3, on object
arrays of scalars), its domain of definition, and a FLOP formula for cost models. Coverage tests
check that every op has an entry for every backend and checker.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from .errors import ShapeError

Shape = tuple[int, ...]
Axis = tuple[int, ...] | None
Slices = tuple[tuple[int, int, int], ...]  # per axis: start, stop, step as slice.indices gives them


class Kind(Enum):
    """How an op relates its inputs to its output; drives shape rules, fusion and costs."""

    LEAF = "leaf"
    ELEMENTWISE = "elementwise"
    REDUCTION = "reduction"
    LINALG = "linalg"
    LAYOUT = "layout"


@dataclass(frozen=True)
class OpSpec:
    """Everything the library knows about one op."""

    name: str
    egg: str
    kind: Kind
    arity: int
    impl: Callable[..., Any]
    attrs: tuple[str, ...] = ()
    c_expr: str | None = None  # scalar C template over {0}, {1}, … for fused kernels
    real: Callable[..., Any] | None = None  # exact semantics over a math namespace
    domain: str = "all reals"
    flops_per_element: float = 1.0
    symbol: str | None = None  # infix symbol for printing and patterns
    result_dtype: str | None = None  # fixed result dtype (comparisons give bool)
    ufunc: str | None = None  # the NumPy/CuPy ufunc it is, if one: backends call it with out=
    spellings: tuple[str, ...] = ()  # other NumPy ufunc names (``ufunc.__name__``) traced to this op
    scipy: str | None = None  # the scipy.special ufunc traced to this op, if one (scipy is optional)
    view: bool = False  # its result may be a view of its first argument (never written into)

    @property
    def elementwise(self) -> bool:
        return self.kind is Kind.ELEMENTWISE


# ---------------------------------------------------------------- numerically careful impls


def _sigmoid(xp: Any, x: Any) -> Any:
    """scipy.special.expit semantics without overflow: exp only of non-positive numbers."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def _softplus(xp: Any, x: Any) -> Any:
    """log(1 + exp(x)), accurate for every x (as np.logaddexp(0, x))."""
    return xp.logaddexp(0.0, x)  # a Python float is weak: the result keeps x's dtype


def _special(xp: Any) -> Any:
    """scipy.special (cupyx.scipy.special under CuPy), imported when an op needs it: only a program
    that called a scipy.special ufunc holds these ops, so scipy is there (it is never required)."""
    return importlib.import_module("scipy.special" if xp is np else "cupyx.scipy.special")


def _normalize_axis(axis: Axis, ndim: int) -> tuple[int, ...]:
    return tuple(range(ndim)) if axis is None else axis


def _logsumexp(xp: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """log(sum(exp(x))) shifted by the (finite) maximum, as scipy.special.logsumexp."""
    if x.size == 0:
        return xp.log(xp.sum(xp.exp(x), axis=axis, keepdims=keepdims))
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros((), dtype=x.dtype))
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = out.reshape([n for i, n in enumerate(out.shape) if i not in _normalize_axis(axis, x.ndim)])
    return out.astype(x.dtype, copy=False)


def _mean(xp: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    return xp.mean(x, axis=axis, keepdims=keepdims).astype(x.dtype, copy=False)


def _sum(xp: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    # the tracer casts bool/int32 to int64 first, so the accumulator dtype is already right
    return xp.add.reduce(x, axis=axis, keepdims=keepdims)


def _max(xp: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    return xp.max(x, axis=axis, keepdims=keepdims)


def _min(xp: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    return xp.min(x, axis=axis, keepdims=keepdims)


def _square(xp: Any, x: Any) -> Any:
    """x * x. np.square of a bool array gives int8, but a square the rewrites make from a bool
    product (``b * b``) is bool in the IR: it is ``b * b``, a logical and, as np.multiply gives."""
    if getattr(x, "dtype", None) == np.bool_:
        return xp.logical_and(x, x)
    return xp.square(x)


def _slice(xp: Any, a: Any, slices: Slices) -> Any:
    """``a[start:stop:step, ...]`` from normalized triples (a stop of -1 runs to the front)."""
    return a[tuple(slice(s, None if e < 0 else e, st) for s, e, st in slices)]


def _take(xp: Any, a: Any, indices: Any, dim: int) -> Any:
    """np.take along ``dim``: negative indices count from the end, others out of range raise
    IndexError (checked here for array namespaces whose take wraps instead, such as CuPy's)."""
    if xp is not np and indices.size:
        n = a.shape[dim]
        if bool(((indices < -n) | (indices >= n)).any()):
            raise IndexError(f"an index is out of bounds for axis {dim} with size {n}")
    return xp.take(a, indices, axis=dim)


def _scatter_add(xp: Any, updates: Any, indices: Any, dim: int, size: int) -> Any:
    """The adjoint of ``take(a, indices, dim)`` for an axis of ``size``: zeros, with each slice of
    ``updates`` added at its index (repeated indices accumulate, as ``np.add.at``)."""
    before, after = updates.shape[:dim], updates.shape[dim + indices.ndim:]
    if indices.size and bool(((indices < -size) | (indices >= size)).any()):
        raise IndexError(f"an index is out of bounds for axis {dim} with size {size}")
    if updates.dtype == object:
        out = np.zeros((*before, size, *after), dtype=object)
        np.add.at(out, (slice(None),) * dim + (indices,), updates)
        return out
    flat_index = xp.asarray(indices).ravel()
    flat_index = xp.where(flat_index < 0, flat_index + size, flat_index)
    rows = xp.moveaxis(updates.reshape((*before, flat_index.size, *after)), dim, 0)
    rows = rows.reshape(flat_index.size, math.prod((*before, *after)))
    summed = xp.zeros((size, rows.shape[1]), dtype=updates.dtype)
    if updates.dtype.kind == "f" and 0 < rows.shape[1] <= 64:  # a few bincounts beat add.at (2-3x at 10^5 rows)
        for k in range(rows.shape[1]):
            summed[:, k] = xp.bincount(flat_index, weights=rows[:, k], minlength=size)
    else:
        xp.add.at(summed, flat_index, rows)
    out = xp.moveaxis(summed.reshape((size, *before, *after)), 0, dim)
    return xp.ascontiguousarray(out)


def _scatter(xp: Any, base: Any, updates: Any, indices: Any) -> Any:
    """A copy of the 1-D ``base`` with ``base[indices[k]] = updates[k]`` in order, so that the last
    write to a repeated index wins (as NumPy's ``a[idx] = v``). The indices are in [0, n): the
    tracer makes them by gathering from positions, which checks them."""
    out = base.copy()
    if indices.size == 0:
        return out
    if xp is np or updates.dtype == object:
        out[indices] = updates
        return out
    # namespaces that leave the order of repeated writes unspecified (CuPy): keep each index's last
    k = indices.size
    key = xp.sort(indices.astype(np.int64) * k + xp.arange(k, dtype=np.int64))
    target, source = key // k, key % k
    last = xp.concatenate((target[1:] != target[:-1], xp.ones(1, dtype=bool)))
    out[target[last]] = updates[source[last]]
    return out


def _bincount(xp: Any, x: Any, weights: Any, size: int) -> Any:
    """np.bincount(x, weights, minlength=size) of a traced length ``size``: every x in [0, size)
    (a larger one would make NumPy's result longer than the traced program's)."""
    if x.size:
        low, high = int(x.min()), int(x.max())
        if low < 0:
            raise ValueError(f"np.bincount: the indices must be non-negative, got {low}")
        if high >= size:
            raise ValueError(f"np.bincount: index {high} does not fit the traced length {size} (minlength): NumPy "
                             f"would return {high + 1} bins; pass a minlength of at least {high + 1}")
    if weights.dtype == object:
        out = np.zeros(size, dtype=object)
        np.add.at(out, np.asarray(x, dtype=np.int64), weights)
        return out
    return xp.bincount(x, weights=weights, minlength=size).astype(np.float64, copy=False)


def _arg_extremum(xp: Any, name: str, a: Any, axis: Axis, keepdims: bool) -> Any:
    """np.argmax / np.argmin as int64: the flat index for ``axis=None``, else along the one axis."""
    one = None if axis is None else axis[0]
    return getattr(xp, name)(a, axis=one, keepdims=keepdims).astype(np.int64, copy=False)


def _arg_extremum_real(m: Any, name: str, a: Any, axis: Axis, keepdims: bool) -> Any:
    """The index of the first extremum, chosen with the namespace's comparisons (concrete values
    only: a symbolic comparison cannot choose an index, so z3 cannot prove rules about it)."""
    x = np.asarray(a, dtype=object)
    rows = x.reshape(1, -1) if axis is None else np.moveaxis(x, axis[0], -1).reshape(-1, x.shape[axis[0]])
    symbol = ">" if name == "argmax" else "<"
    found = []
    for row in rows:
        best = 0
        for k in range(1, len(row)):
            better = m.compare(symbol, row[k], row[best])
            if not isinstance(better, (bool, np.bool_)):
                raise TypeError(f"{name}: not provable: a symbolic comparison cannot choose an index")
            best = k if better else best
        found.append(best)
    if axis is None:
        out = np.asarray(found[0], dtype=object)
        return out.reshape((1,) * x.ndim) if keepdims else out
    result = np.asarray(found, dtype=object).reshape([n for i, n in enumerate(x.shape) if i != axis[0]])
    return np.expand_dims(result, axis[0]) if keepdims else result


def _accumulate_real(ufunc: str, a: Any, dim: int) -> Any:
    """A running sum or product on object arrays (exact in the namespace's arithmetic)."""
    x = np.moveaxis(np.asarray(a, dtype=object), dim, 0).copy()
    for k in range(1, x.shape[0]):
        x[k] = x[k - 1] + x[k] if ufunc == "add" else x[k - 1] * x[k]
    return np.moveaxis(x, 0, dim)


def _sort_real(m: Any, a: Any, dim: int, positions: bool) -> Any:
    """Stable sort (or its permutation) along ``dim`` with the namespace's comparisons (concrete
    values only: a symbolic comparison cannot order entries, so z3 cannot prove rules about it)."""
    x = np.moveaxis(np.asarray(a, dtype=object), dim, -1)
    out = np.empty(x.shape, dtype=object)
    for idx in np.ndindex(x.shape[:-1]):
        row = list(x[idx])
        order = list(range(len(row)))
        for i in range(1, len(order)):  # insertion sort: stable, compares with m.compare
            j = i
            while j > 0:
                less = m.compare("<", row[order[j]], row[order[j - 1]])
                if not isinstance(less, (bool, np.bool_)):
                    raise TypeError("sort: not provable: a symbolic comparison cannot order entries")
                if not less:
                    break
                order[j - 1], order[j] = order[j], order[j - 1]
                j -= 1
        out[idx] = np.asarray(order, dtype=object) if positions else np.asarray([row[k] for k in order], dtype=object)
    return np.moveaxis(out, -1, dim)


def _index_check(xp: Any, indices: Any, shape: Shape) -> Any:
    """Indices into an axis of size ``shape[0]`` with negatives counted from the end; IndexError,
    as NumPy raises it, for any outside [-n, n)."""
    n = shape[0]
    bad = (indices < -n) | (indices >= n)
    if indices.size and bool(bad.any()):
        first = int(xp.asarray(indices)[bad].ravel()[0])
        raise IndexError(f"index {first} is out of bounds for axis with size {n}")
    # C-contiguous whatever the indices' layout (a where keeps a transposed input's order; kernels read C order)
    return xp.ascontiguousarray(xp.where(indices < 0, indices + n, indices), dtype=np.int64)


def _cast_like(xp: Any, x: Any, like: Any) -> Any:
    return x if getattr(like, "dtype", None) is None else x.astype(like.dtype, copy=False)


# ------------------------------------------------------- real semantics on object arrays


def _vectorize(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Lift a scalar semantics ``fn(m, a, b)`` to object arrays, with NumPy broadcasting."""

    def lifted(m: Any, *args: Any) -> Any:
        arrays = [np.asarray(a, dtype=object) for a in args]
        out = np.frompyfunc(lambda *xs: fn(m, *xs), len(arrays), 1)(*arrays)
        return np.asarray(out, dtype=object)

    return lifted


def _reduce_real(combine: Callable[[Any, Any, Any], Any]) -> Callable[..., Any]:
    def real(m: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        x = np.asarray(x, dtype=object)
        axes = _normalize_axis(axis, x.ndim)
        moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
        flat = moved.reshape((*moved.shape[:x.ndim - len(axes)], -1))
        out = np.empty(flat.shape[:-1], dtype=object)
        for idx in np.ndindex(out.shape):
            items = list(flat[idx])
            acc = items[0]
            for item in items[1:]:
                acc = combine(m, acc, item)
            out[idx] = acc
        if keepdims:
            out = out.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])
        return out

    return real


def _reduce_count(x: Any, axis: Axis) -> int:
    shape = np.shape(x)
    return math.prod(shape[i] for i in _normalize_axis(axis, len(shape)))


def _mean_real(m: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    total = _reduce_real(lambda m_, a, b: a + b)(m, x, axis, keepdims)
    count = _reduce_count(x, axis)
    return _vectorize(lambda m_, t: t / m_.const(count))(m, total)


def _lse_real(m: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    e = _vectorize(lambda m_, a: m_.exp(a))(m, x)
    s = _reduce_real(lambda m_, a, b: a + b)(m, e, axis, keepdims)
    return _vectorize(lambda m_, a: m_.log(a))(m, s)


def _structural_real(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Semantics of ops that only move or sum entries: apply NumPy itself to object arrays."""

    def real(m: Any, *args: Any, **attrs: Any) -> Any:
        return np.asarray(fn(*[np.asarray(a, dtype=object) for a in args], **attrs), dtype=object)

    return real


def _constant_real(m: Any, value: np.ndarray[Any, Any]) -> Any:
    if value.dtype == np.bool_:
        return np.asarray(value, dtype=object)
    return np.asarray(np.frompyfunc(lambda v: m.const(float(v)), 1, 1)(value), dtype=object)


def _take_real(m: Any, a: Any, indices: Any, dim: int) -> Any:
    """Structural: the indices are concrete integers (a symbolic index has no semantics here)."""
    return np.take(np.asarray(a, dtype=object), np.asarray(indices).astype(np.int64), axis=dim)


def _matmul_real(a: Any, b: Any) -> Any:
    out = np.matmul(a, b)
    return out


def _trace_real(a: Any) -> Any:
    return np.asarray(sum(a[i, i] for i in range(min(a.shape))) if min(a.shape) else 0, dtype=object)



def _pivot(m: Any, col: list[Any]) -> int:
    """The row of the largest |entry| (concrete values only: a symbolic comparison cannot choose)."""
    best = 0
    for k in range(1, len(col)):
        bigger = m.compare(">", m.abs(col[k]), m.abs(col[best]))
        if not isinstance(bigger, (bool, np.bool_)):
            raise TypeError("linear algebra: not provable: a symbolic comparison cannot choose a pivot")
        best = k if bigger else best
    return best


def _eliminate(m: Any, a: Any, b: Any | None) -> tuple[list[list[Any]], list[list[Any]], int]:
    """Gaussian elimination with partial pivoting on one square matrix (exact in the namespace's
    arithmetic): the upper triangle, the transformed right-hand sides and the permutation's sign."""
    n = a.shape[0]
    rows = [list(a[i]) for i in range(n)]
    rhs = [list(b[i]) for i in range(n)] if b is not None else [[] for _ in range(n)]
    sign = 1
    for j in range(n):
        p = j + _pivot(m, [rows[i][j] for i in range(j, n)])
        if p != j:
            rows[j], rows[p], rhs[j], rhs[p], sign = rows[p], rows[j], rhs[p], rhs[j], -sign
        if m.compare("==", rows[j][j], m.const(0.0)):
            return rows, rhs, 0
        for i in range(j + 1, n):
            f = rows[i][j] / rows[j][j]
            rows[i] = [x - f * y for x, y in zip(rows[i], rows[j], strict=True)]
            rhs[i] = [x - f * y for x, y in zip(rhs[i], rhs[j], strict=True)]
    return rows, rhs, sign


def _solve_one(m: Any, a: Any, b: Any) -> Any:
    rows, rhs, sign = _eliminate(m, a, b)
    if sign == 0:
        raise ArithmeticError("solve: singular matrix")
    n, k = b.shape
    x: list[list[Any]] = [[None] * k for _ in range(n)]
    for i in reversed(range(n)):
        for c in range(k):
            acc = rhs[i][c]
            for j in range(i + 1, n):
                acc = acc - rows[i][j] * x[j][c]
            x[i][c] = acc / rows[i][i]
    out = np.empty((n, k), dtype=object)
    for i in range(n):
        for c in range(k):
            out[i, c] = x[i][c]
    return out


def _batched(fn: Callable[..., Any], *arrays: Any, core: tuple[int, ...]) -> Any:
    """Apply ``fn`` to each matrix of broadcast stacks (``core``: each array's number of core axes)."""
    batch = np.broadcast_shapes(*(x.shape[:x.ndim - c] for x, c in zip(arrays, core, strict=True)))
    full = [np.broadcast_to(x, (*batch, *x.shape[x.ndim - c:])) for x, c in zip(arrays, core, strict=True)]
    results = [fn(*(f[idx] for f in full)) for idx in np.ndindex(batch)]
    if not results:
        raise ArithmeticError("linear algebra: an empty batch has no exact semantics here")
    out = np.empty((*batch, *np.shape(results[0])), dtype=object)
    for idx, r in zip(np.ndindex(batch), results, strict=True):
        out[idx] = r
    return out


def _solve_real(m: Any, a: Any, b: Any) -> Any:
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if b.ndim == 1:
        return _batched(lambda x: _solve_one(m, x, b.reshape(-1, 1))[:, 0], a, core=(2,))
    return _batched(lambda x, y: _solve_one(m, x, y), a, b, core=(2, 2))


def _inv_real(m: Any, a: Any) -> Any:
    a = np.asarray(a, dtype=object)
    n = a.shape[-1]
    eye = np.asarray([[m.const(float(i == j)) for j in range(n)] for i in range(n)], dtype=object).reshape(n, n)
    return _batched(lambda x: _solve_one(m, x, eye), a, core=(2,))


def _cholesky_one(m: Any, a: Any) -> Any:
    """Cholesky-Banachiewicz from the lower triangle (what LAPACK's potrf with 'L' reads)."""
    n = a.shape[0]
    low = np.full((n, n), m.const(0.0), dtype=object)
    for i in range(n):
        for j in range(i + 1):
            acc = a[i, j]
            for k in range(j):
                acc = acc - low[i, k] * low[j, k]
            if i == j:
                if not m.compare(">", acc, m.const(0.0)):
                    raise ArithmeticError("cholesky: matrix is not positive definite")
                low[i, i] = m.sqrt(acc)
            else:
                low[i, j] = acc / low[j, j]
    return low

def _det_real(m: Any, a: Any, part: str) -> Any:
    def one(x: Any) -> Any:
        rows, _, sign = _eliminate(m, x, None)
        det = m.const(float(sign))
        if sign:
            for i in range(x.shape[0]):
                det = det * rows[i][i]
        if part == "det":
            return det
        positive, negative = m.compare(">", det, m.const(0.0)), m.compare("<", det, m.const(0.0))
        if part == "sign":
            return m.const(1.0 if positive else -1.0 if negative else 0.0)
        return m.log(m.abs(det)) if (positive or negative) else m.const(-math.inf)

    return _batched(one, np.asarray(a, dtype=object), core=(2,))

# ----------------------------------------------------------------------- the table

OPS: dict[str, OpSpec] = {}


def _declare(spec: OpSpec) -> OpSpec:
    if spec.name in OPS:
        raise ValueError(f"op {spec.name!r} declared twice")
    OPS[spec.name] = spec
    return spec


def _unary(name: str, egg: str, impl: Callable[..., Any], c_expr: str, real: Callable[..., Any],
           domain: str = "all reals", flops: float = 1.0, result_dtype: str | None = None,
           ufunc: str | None = None, spellings: tuple[str, ...] = (), scipy: str | None = None) -> None:
    _declare(OpSpec(name, egg, Kind.ELEMENTWISE, 1, impl, c_expr=c_expr, real=_vectorize(real),
                    domain=domain, flops_per_element=flops, result_dtype=result_dtype, ufunc=ufunc,
                    spellings=spellings, scipy=scipy))


def _binary(name: str, egg: str, impl: Callable[..., Any], c_expr: str, real: Callable[..., Any],
            symbol: str | None = None, domain: str = "all reals", flops: float = 1.0,
            result_dtype: str | None = None, ufunc: str | None = None,
            spellings: tuple[str, ...] = (), scipy: str | None = None) -> None:
    _declare(OpSpec(name, egg, Kind.ELEMENTWISE, 2, impl, c_expr=c_expr, real=_vectorize(real),
                    symbol=symbol, domain=domain, flops_per_element=flops, result_dtype=result_dtype,
                    ufunc=ufunc, spellings=spellings, scipy=scipy))


# leaves: a named input, and a weak scalar constant (its dtype is the dtype of the op it feeds)
# input: bound to an argument at call time
_declare(OpSpec("input", "Var", Kind.LEAF, 0, lambda xp: None, attrs=("name",), flops_per_element=0.0,
                real=lambda m: None, c_expr="{name}"))
# const: weak scalar: takes the dtype of the elementwise op it feeds
_declare(OpSpec("const", "Const", Kind.LEAF, 0, lambda xp, value: value, attrs=("value",),
                c_expr="{value}", real=lambda m, value: m.const(value), flops_per_element=0.0))

# an array the traced function closed over (or passed to NumPy), by value at trace time; the
# value lives outside the e-graph, which sees only its key (egraph_dsl/constants.py)
# array_const: a read-only snapshot; never written into, copied when returned
_declare(OpSpec("array_const", "ArrayConst", Kind.LEAF, 0, lambda xp, array: xp.asarray(array.value),
                attrs=("array",), flops_per_element=0.0, domain="all reals",
                real=lambda m, array: _constant_real(m, array.value)))

_binary("add", "Add", lambda xp, a, b: xp.add(a, b), "({0} + {1})", lambda m, a, b: a + b, "+", ufunc="add")
_binary("sub", "Sub", lambda xp, a, b: xp.subtract(a, b), "({0} - {1})", lambda m, a, b: a - b, "-",
        ufunc="subtract")
_binary("mul", "Mul", lambda xp, a, b: xp.multiply(a, b), "({0} * {1})", lambda m, a, b: a * b, "*",
        ufunc="multiply")
_binary("div", "Div", lambda xp, a, b: xp.true_divide(a, b), "({0} / {1})", lambda m, a, b: m.div(a, b), "/",
        domain="divisor != 0", flops=4.0, ufunc="divide", spellings=("true_divide",))
_binary("pow", "Pow", lambda xp, a, b: xp.power(a, b), "pow({0}, {1})", lambda m, a, b: m.pow(a, b), "**",
        domain="base > 0, or base = 0 with exponent > 0, or an integer exponent", flops=40.0, ufunc="power")
# maximum: propagates nan like np.maximum
_binary("maximum", "Maximum", lambda xp, a, b: xp.maximum(a, b), "fmax_nan({0}, {1})",
        lambda m, a, b: m.maximum(a, b), ufunc="maximum")
# minimum: propagates nan like np.minimum
_binary("minimum", "Minimum", lambda xp, a, b: xp.minimum(a, b), "fmin_nan({0}, {1})",
        lambda m, a, b: m.minimum(a, b), ufunc="minimum")
_binary("logaddexp", "Logaddexp", lambda xp, a, b: xp.logaddexp(a, b), "logaddexp_({0}, {1})",
        lambda m, a, b: m.log(m.exp(a) + m.exp(b)), flops=30.0, ufunc="logaddexp")
for _name, _egg, _fn, _sym, _c in (
    ("less", "Less", np.less, "<", "({0} < {1})"),
    ("less_equal", "LessEqual", np.less_equal, "<=", "({0} <= {1})"),
    ("greater", "Greater", np.greater, ">", "({0} > {1})"),
    ("greater_equal", "GreaterEqual", np.greater_equal, ">=", "({0} >= {1})"),
    ("equal", "Equal", np.equal, "==", "({0} == {1})"),
    ("not_equal", "NotEqual", np.not_equal, "!=", "({0} != {1})"),
):
    _binary(_name, _egg, (lambda f: lambda xp, a, b: getattr(xp, f.__name__)(a, b))(_fn), _c,
            (lambda s: lambda m, a, b: m.compare(s, a, b))(_sym), _sym, result_dtype="bool", ufunc=_fn.__name__)

_unary("neg", "Neg", lambda xp, a: xp.negative(a), "(-{0})", lambda m, a: -a, ufunc="negative")
_unary("abs", "Abs", lambda xp, a: xp.abs(a), "fabs({0})", lambda m, a: m.abs(a), ufunc="absolute", spellings=("fabs",))
_unary("sqrt", "Sqrt", lambda xp, a: xp.sqrt(a), "sqrt({0})", lambda m, a: m.sqrt(a), domain="x >= 0", flops=4.0,
       ufunc="sqrt")
_unary("square", "Square", _square, "({0} * {0})", lambda m, a: a * a, ufunc="square")
_unary("exp", "Exp", lambda xp, a: xp.exp(a), "exp({0})", lambda m, a: m.exp(a), flops=20.0, ufunc="exp")
_unary("log", "Log", lambda xp, a: xp.log(a), "log({0})", lambda m, a: m.log(a), domain="x > 0", flops=20.0,
       ufunc="log")
_unary("log1p", "Log1p", lambda xp, a: xp.log1p(a), "log1p({0})", lambda m, a: m.log(1 + a),
       domain="x > -1", flops=20.0, ufunc="log1p")
_unary("expm1", "Expm1", lambda xp, a: xp.expm1(a), "expm1({0})", lambda m, a: m.exp(a) - 1, flops=20.0,
       ufunc="expm1")
_unary("tanh", "Tanh", lambda xp, a: xp.tanh(a), "tanh({0})", lambda m, a: m.tanh(a), flops=25.0, ufunc="tanh")
_unary("sigmoid", "Sigmoid", _sigmoid, "sigmoid_({0})", lambda m, a: 1 / (1 + m.exp(-a)), flops=25.0,
       scipy="expit")
_unary("softplus", "Softplus", _softplus, "softplus_({0})", lambda m, a: m.log(1 + m.exp(a)), flops=40.0)

# the rest of NumPy's elementwise ufuncs (the dtype each computes in is the ufunc's own choice,
# asked by the tracer); C helpers with a trailing _ live in backends/cupy_codegen.PREAMBLE
for _name, _egg, _c, _method, _domain, _flops in (
    ("sin", "Sin", "sin({0})", "sin", "all reals", 20.0),
    ("cos", "Cos", "cos({0})", "cos", "all reals", 20.0),
    ("tan", "Tan", "tan({0})", "tan", "x not an odd multiple of pi/2", 25.0),
    ("arcsin", "Arcsin", "asin({0})", "asin", "-1 <= x <= 1", 25.0),
    ("arccos", "Arccos", "acos({0})", "acos", "-1 <= x <= 1", 25.0),
    ("arctan", "Arctan", "atan({0})", "atan", "all reals", 25.0),
    ("sinh", "Sinh", "sinh({0})", "sinh", "all reals", 25.0),
    ("cosh", "Cosh", "cosh({0})", "cosh", "all reals", 25.0),
    ("arcsinh", "Arcsinh", "asinh({0})", "asinh", "all reals", 30.0),
    ("arccosh", "Arccosh", "acosh({0})", "acosh", "x >= 1", 30.0),
    ("arctanh", "Arctanh", "atanh({0})", "atanh", "-1 < x < 1", 30.0),
    ("exp2", "Exp2", "exp2({0})", "exp2", "all reals", 20.0),
    ("log2", "Log2", "log2({0})", "log2", "x > 0", 20.0),
    ("log10", "Log10", "log10({0})", "log10", "x > 0", 20.0),
    ("cbrt", "Cbrt", "cbrt({0})", "cbrt", "all reals", 20.0),
    ("floor", "Floor", "floor({0})", "floor", "all reals (integers and bools: the identity)", 1.0),
    ("ceil", "Ceil", "ceil({0})", "ceil", "all reals (integers and bools: the identity)", 1.0),
    ("trunc", "Trunc", "trunc({0})", "trunc", "all reals (integers and bools: the identity)", 1.0),
    ("rint", "Rint", "rint({0})", "rint", "all reals (ties to even)", 1.0),
    ("sign", "Sign", "({0} > 0 ? 1 : ({0} < 0 ? -1 : ({0} == 0 ? 0 : {0})))", "sign",
     "all reals (sign(-0.0) is +0.0, sign(nan) is nan)", 1.0),
):
    _unary(_name, _egg, (lambda u: lambda xp, a: getattr(xp, u)(a))(_name), _c,
           (lambda f: lambda m, a: getattr(m, f)(a))(_method), domain=_domain, flops=_flops, ufunc=_name)
_unary("reciprocal", "Reciprocal", lambda xp, a: xp.reciprocal(a), "(1 / {0})", lambda m, a: m.div(m.const(1.0), a),
       domain="x != 0; float operands only (the tracer writes NumPy's integer reciprocal as a where)",
       flops=4.0, ufunc="reciprocal")
for _name, _egg, _c in (
    ("isfinite", "Isfinite", "(isfinite({0}) != 0)"), ("isnan", "Isnan", "(isnan({0}) != 0)"),
    ("isinf", "Isinf", "(isinf({0}) != 0)"), ("signbit", "Signbit", "(signbit({0}) != 0)"),
):
    _unary(_name, _egg, (lambda u: lambda xp, a: getattr(xp, u)(a))(_name), _c,
           (lambda f: lambda m, a: getattr(m, f)(a))(_name), result_dtype="bool", ufunc=_name,
           domain="all reals (the real line has no nan, no infinity and no -0.0)")
_unary("logical_not", "LogicalNot", lambda xp, a: xp.logical_not(a), "(!{0})", lambda m, a: m.logical_not(a),
       result_dtype="bool", ufunc="logical_not")
# invert: ~ on bool is logical not; the C expression is for integers only
_unary("invert", "Invert", lambda xp, a: xp.invert(a), "(~{0})", lambda m, a: m.invert(a), ufunc="invert",
       domain="bools and integers (two's complement); NumPy refuses floats")
for _name, _egg, _c, _symbol, _bool in (
    ("logical_and", "LogicalAnd", "({0} && {1})", None, True),
    ("logical_or", "LogicalOr", "({0} || {1})", None, True),
    ("logical_xor", "LogicalXor", "(!{0} != !{1})", None, True),
    ("bitwise_and", "BitwiseAnd", "({0} & {1})", "&", False),
    ("bitwise_or", "BitwiseOr", "({0} | {1})", "|", False),
    ("bitwise_xor", "BitwiseXor", "({0} ^ {1})", "^", False),
):
    _binary(_name, _egg, (lambda u: lambda xp, a, b: getattr(xp, u)(a, b))(_name), _c,
            (lambda f: lambda m, a, b: getattr(m, f)(a, b))(_name), _symbol,
            result_dtype="bool" if _bool else None, ufunc=_name,
            domain="all reals (nonzero is true)" if _bool else "bools and integers (two's complement)")
# floor_divide: floor(a / b) as NumPy's npy_divmod rounds it
_binary("floor_divide", "FloorDivide", lambda xp, a, b: xp.floor_divide(a, b), "floor_divide_({0}, {1})",
        lambda m, a, b: m.floor_divide(a, b), "//", domain="divisor != 0 (NumPy: 0 for integers, a / b for floats)",
        flops=8.0, ufunc="floor_divide")
# remainder: Python's %: the sign of the divisor
_binary("remainder", "Remainder", lambda xp, a, b: xp.remainder(a, b), "remainder_({0}, {1})",
        lambda m, a, b: m.remainder(a, b), "%", domain="divisor != 0 (NumPy: 0 for integers, nan for floats)",
        flops=8.0, ufunc="remainder")
# fmod: C's fmod: the sign of the dividend
_binary("fmod", "Fmod", lambda xp, a, b: xp.fmod(a, b), "fmod_({0}, {1})", lambda m, a, b: m.fmod(a, b),
        domain="divisor != 0 (NumPy: 0 for integers, nan for floats)", flops=8.0, ufunc="fmod")
_binary("arctan2", "Arctan2", lambda xp, a, b: xp.arctan2(a, b), "atan2({0}, {1})", lambda m, a, b: m.atan2(a, b),
        domain="(y, x) != (0, 0) (IEEE: decided by the zero signs)", flops=30.0, ufunc="arctan2")
_binary("hypot", "Hypot", lambda xp, a, b: xp.hypot(a, b), "hypot({0}, {1})", lambda m, a, b: m.sqrt(a * a + b * b),
        flops=10.0, ufunc="hypot")
_binary("copysign", "Copysign", lambda xp, a, b: xp.copysign(a, b), "copysign({0}, {1})",
        lambda m, a, b: m.copysign(a, b), ufunc="copysign",
        domain="all reals (the sign of a zero or nan divisor is lost over the reals)")

# scipy.special ufuncs: traced when scipy is importable (never required); impls call scipy itself
_unary("log_expit", "LogExpit", lambda xp, a: _special(xp).log_expit(a), "log_expit_({0})",
       lambda m, a: -m.log(1 + m.exp(-a)), flops=40.0, scipy="log_expit")
_unary("logit", "Logit", lambda xp, a: _special(xp).logit(a), "logit_({0})",
       lambda m, a: m.log(m.div(a, 1 - a)), domain="0 < x < 1", flops=25.0, scipy="logit")
_unary("erf", "Erf", lambda xp, a: _special(xp).erf(a), "erf({0})", lambda m, a: m.erf(a), flops=25.0, scipy="erf")
_unary("erfc", "Erfc", lambda xp, a: _special(xp).erfc(a), "erfc({0})", lambda m, a: m.erfc(a), flops=25.0,
       scipy="erfc")
_unary("ndtr", "Ndtr", lambda xp, a: _special(xp).ndtr(a), "ndtr_({0})", lambda m, a: m.ndtr(a), flops=25.0,
       scipy="ndtr")
_unary("log_ndtr", "LogNdtr", lambda xp, a: _special(xp).log_ndtr(a), "log_ndtr_({0})",
       lambda m, a: m.log(m.ndtr(a)), flops=40.0, scipy="log_ndtr")
_unary("gammaln", "Gammaln", lambda xp, a: _special(xp).gammaln(a), "gammaln_({0})", lambda m, a: m.gammaln(a),
       domain="x not a non-positive integer (poles)", flops=40.0, scipy="gammaln")
_binary("xlogy", "Xlogy", lambda xp, a, b: _special(xp).xlogy(a, b), "xlogy_({0}, {1})",
        lambda m, a, b: m.xlogy(a, b), domain="x = 0, or y > 0", flops=25.0, scipy="xlogy")
_binary("xlog1py", "Xlog1py", lambda xp, a, b: _special(xp).xlog1py(a, b), "xlog1py_({0}, {1})",
        lambda m, a, b: m.xlog1py(a, b), domain="x = 0, or y > -1", flops=25.0, scipy="xlog1py")

# where: the condition is bool; branches share a dtype
_declare(OpSpec("where", "Where", Kind.ELEMENTWISE, 3, lambda xp, c, a, b: xp.where(c, a, b),
                c_expr="({0} ? {1} : {2})", real=_vectorize(lambda m, c, a, b: m.select(c, a, b))))

for _name, _egg, _impl, _real, _flops in (
    ("sum", "Sum", _sum, _reduce_real(lambda m, a, b: a + b), 1.0),
    ("mean", "Mean", _mean, _mean_real, 1.0),
    ("max", "Max", _max, _reduce_real(lambda m, a, b: m.maximum(a, b)), 1.0),
    ("min", "Min", _min, _reduce_real(lambda m, a, b: m.minimum(a, b)), 1.0),
    ("logsumexp", "Logsumexp", _logsumexp, _lse_real, 25.0),
):
    _declare(OpSpec(_name, _egg, Kind.REDUCTION, 1, _impl, attrs=("axis", "keepdims"), real=_real,
                    flops_per_element=_flops,
                    domain="non-empty reduced axes" if _name in ("max", "min") else
                    "all reals; -inf over an empty axis (log of an empty sum)" if _name == "logsumexp" else "all reals"))

# matmul: np.matmul semantics for 1-D and 2-D operands (and stacks)
_declare(OpSpec("matmul", "Matmul", Kind.LINALG, 2, lambda xp, a, b: xp.matmul(a, b),
                real=_structural_real(_matmul_real), symbol="@", flops_per_element=2.0))
# trace: 2-D only
_declare(OpSpec("trace", "Trace", Kind.LINALG, 1, lambda xp, a: xp.trace(a),
                real=_structural_real(_trace_real)))
# diagonal: 2-D only, main diagonal
_declare(OpSpec("diagonal", "Diagonal", Kind.LAYOUT, 1, lambda xp, a: xp.diagonal(a).copy(),
                real=_structural_real(np.diagonal)))
_declare(OpSpec("transpose", "Transpose", Kind.LAYOUT, 1,
                lambda xp, a, axes: xp.transpose(a, axes), attrs=("axes",),
                real=_structural_real(lambda a, axes: np.transpose(a, axes)), view=True))
_declare(OpSpec("reshape", "Reshape", Kind.LAYOUT, 1, lambda xp, a, shape: xp.reshape(a, shape),
                attrs=("shape",), real=_structural_real(lambda a, shape: np.reshape(a, shape)), view=True))
_declare(OpSpec("broadcast_to", "BroadcastTo", Kind.LAYOUT, 1,
                lambda xp, a, shape: xp.broadcast_to(a, shape), attrs=("shape",),
                real=_structural_real(lambda a, shape: np.broadcast_to(a, shape)), view=True))
# slice: basic indexing: start:stop:step on every axis (ints and None add a reshape)
_declare(OpSpec("slice", "Slice", Kind.LAYOUT, 1, _slice, attrs=("slices",),
                real=_structural_real(lambda a, slices: _slice(np, a, slices)), view=True))
# take: np.take(a, indices, axis=dim): a gather by an integer array, a copy
_declare(OpSpec("take", "Take", Kind.LAYOUT, 2, _take, attrs=("dim",), real=_take_real,
                domain="every index in [-n, n) for the axis size n (else IndexError)"))
# index_check: normalizes the indices of one axis of a multi-array gather (x[rows, cols])
_declare(OpSpec("index_check", "IndexCheck", Kind.LAYOUT, 1, _index_check, attrs=("shape",),
                real=_structural_real(lambda i, shape: np.where(np.asarray(i) < 0, np.asarray(i) + shape[0], i)),
                domain="every index in [-n, n) for n = shape[0] (else IndexError)"))
# concat: np.concatenate of two arrays of one dtype along dim (more: nested); a copy
_declare(OpSpec("concat", "Concat", Kind.LAYOUT, 2,
                lambda xp, a, b, dim: xp.concatenate((a, b), axis=dim), attrs=("dim",),
                real=_structural_real(lambda a, b, dim: np.concatenate((a, b), axis=dim))))
# scatter_add: the adjoint of take: zeros of size `size` along dim, updates added at the indices
# (repeated indices accumulate, as np.add.at); a copy
_declare(OpSpec("scatter_add", "ScatterAdd", Kind.LAYOUT, 2, _scatter_add, attrs=("dim", "size"),
                real=lambda m, u, i, dim, size: _scatter_add(np, np.asarray(u, dtype=object),
                                                             np.asarray(i).astype(np.int64), dim, size),
                domain="every index in [-size, size) (else IndexError)"))
# scatter: a functional ``base[indices] = updates`` on flat arrays (setitem on an array the
# function created, egraph_dsl/indexing.py): a copy, the last write to a repeated index wins
_declare(OpSpec("scatter", "Scatter", Kind.LAYOUT, 3, _scatter,
                real=lambda m, b, u, i: _scatter(np, np.asarray(b, dtype=object), np.asarray(u, dtype=object),
                                                 np.asarray(i).astype(np.int64)),
                domain="every index in [0, n) (the tracer gathers them from positions, which checks them)"))
# bincount: np.bincount(x, weights, minlength=size) with a static length: float64 sums of the
# weights per non-negative integer x (the tracer counts without weights as sums of ones); a copy
_declare(OpSpec("bincount", "Bincount", Kind.LAYOUT, 2, _bincount, attrs=("size",), result_dtype="float64",
                real=lambda m, x, w, size: _bincount(np, np.asarray(x).astype(np.int64), np.asarray(w, dtype=object),
                                                     size),
                domain="every x in [0, size) (else ValueError: NumPy's result would be longer)"))
# reductions and scans traced by egraph_dsl/reductions.py;
# each impl is the NumPy call the user's code makes, so results are NumPy's bit for bit
# prod: np.prod (multiply.reduce); the tracer casts bool/int32 to int64 first, as NumPy does
_declare(OpSpec("prod", "Prod", Kind.REDUCTION, 1,
                lambda xp, a, axis=None, keepdims=False: xp.multiply.reduce(a, axis=axis, keepdims=keepdims),
                attrs=("axis", "keepdims"), real=_reduce_real(lambda m, a, b: a * b)))
for _name, _egg in (("argmax", "Argmax"), ("argmin", "Argmin")):
    # np.argmax / np.argmin over all axes (the flat index) or one axis
    _declare(OpSpec(_name, _egg, Kind.REDUCTION, 1,
                    (lambda f: lambda xp, a, axis=None, keepdims=False: _arg_extremum(xp, f, a, axis, keepdims))(_name),
                    attrs=("axis", "keepdims"), result_dtype="int64",
                    real=(lambda f: lambda m, a, axis=None, keepdims=False: _arg_extremum_real(m, f, a, axis, keepdims))(_name),
                    domain="non-empty reduced axis; the first occurrence (a nan counts as the extremum)"))
for _name, _egg, _ufunc in (("cumsum", "Cumsum", "add"), ("cumprod", "Cumprod", "multiply")):
    # np.cumsum / np.cumprod along axis dim: a running add / multiply, in order (not pairwise); a copy
    _declare(OpSpec(_name, _egg, Kind.LINALG, 1,
                    (lambda u: lambda xp, a, dim: getattr(xp, u).accumulate(a, axis=dim))(_ufunc), attrs=("dim",),
                    real=(lambda u: lambda m, a, dim: _accumulate_real(u, a, dim))(_ufunc)))
# sort: np.sort along axis dim (nan last, as NumPy orders them); argsort: np.argsort(kind='stable')'s
# int64 permutation (ties in their order); copies. Exact semantics only for concrete values: a
# symbolic comparison cannot order entries
# (np.sort keeps a transposed input's memory order: the results are made C-contiguous, as backends expect)
_declare(OpSpec("sort", "Sort", Kind.LINALG, 1, lambda xp, a, dim: xp.ascontiguousarray(xp.sort(a, axis=dim)),
                attrs=("dim",),
                real=lambda m, a, dim: _sort_real(m, a, dim, False),
                domain="all reals (nan sorts last)"))
_declare(OpSpec("argsort", "Argsort", Kind.LINALG, 1,
                lambda xp, a, dim: xp.ascontiguousarray(xp.argsort(a, axis=dim, kind="stable"), dtype=np.int64),
                attrs=("dim",), result_dtype="int64", real=lambda m, a, dim: _sort_real(m, a, dim, True),
                domain="all reals (nan sorts last); ties in their order (a stable sort)"))
# astype: explicit dtype conversion inserted by the tracer
_declare(OpSpec("astype", "Astype", Kind.ELEMENTWISE, 1,
                lambda xp, a, dtype: xp.asarray(a).astype(dtype), attrs=("dtype",),
                c_expr="(({dtype}){0})", real=lambda m, a, dtype: np.asarray(a, dtype=object),
                domain="exact between floats only when the value is representable"))


# linear algebra traced by egraph_dsl/linalg.py; each impl is the np.linalg call itself (the same
# LAPACK routine), so results are NumPy's bit for bit. Operands are float32 or float64 (the tracer
# casts as np.linalg does); a matrix is the last two axes, leading axes are a batch.
# solve: np.linalg.solve(a, b): b a vector (1-D) or a stack of matrices
_declare(OpSpec("solve", "Solve", Kind.LINALG, 2, lambda xp, a, b: xp.linalg.solve(a, b),
                real=lambda m, a, b: _solve_real(m, a, b), domain="a non-singular (else LinAlgError)"))
# inv: np.linalg.inv
_declare(OpSpec("inv", "Inv", Kind.LINALG, 1, lambda xp, a: xp.linalg.inv(a),
                real=lambda m, a: _inv_real(m, a), domain="a non-singular (else LinAlgError)"))
# det: np.linalg.det (LU); slogdet's two results are two ops, each np.linalg.slogdet(a)[k]
_declare(OpSpec("det", "Det", Kind.LINALG, 1, lambda xp, a: xp.linalg.det(a),
                real=lambda m, a: _det_real(m, a, "det")))
_declare(OpSpec("slogdet_sign", "SlogdetSign", Kind.LINALG, 1, lambda xp, a: xp.linalg.slogdet(a)[0],
                real=lambda m, a: _det_real(m, a, "sign")))
_declare(OpSpec("logabsdet", "Logabsdet", Kind.LINALG, 1, lambda xp, a: xp.linalg.slogdet(a)[1],
                real=lambda m, a: _det_real(m, a, "logabs"), domain="all matrices; -inf when singular"))
# cholesky: np.linalg.cholesky(a), the lower factor; LAPACK reads only a's lower triangle
_declare(OpSpec("cholesky", "Cholesky", Kind.LINALG, 1, lambda xp, a: xp.linalg.cholesky(a),
                real=lambda m, a: _batched(lambda x: _cholesky_one(m, x), np.asarray(a, dtype=object), core=(2,)),
                domain="a symmetric positive definite (else LinAlgError); its upper triangle is not read"))


# the tracer's tables, derived from the declarations: NumPy ufunc names (``ufunc.__name__``) and
# scipy.special ufunc names to the op each traces to
NUMPY_UFUNCS: Mapping[str, str] = {u: s.name for s in OPS.values() for u in ((s.ufunc,) if s.ufunc else ()) + s.spellings}
SCIPY_UFUNCS: Mapping[str, str] = {s.scipy: s.name for s in OPS.values() if s.scipy}


def spec(name: str) -> OpSpec:
    """The declaration of op ``name``; a KeyError that lists the known ops otherwise."""
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; known ops: {', '.join(sorted(OPS))}") from None


BY_EGG: Mapping[str, OpSpec] = {s.egg: s for s in OPS.values()}


# ------------------------------------------------------------------ shape and dtype rules


def normalize_axis(axis: object, ndim: int, op: str) -> tuple[int, ...] | None:
    """Axis argument (None, int or tuple) as a sorted tuple of non-negative axes, or None."""
    if axis is None:
        return None
    items = (axis,) if isinstance(axis, (int, np.integer)) else axis
    try:
        axes = tuple(int(a) for a in items)  # type: ignore[attr-defined]
    except TypeError:
        raise ShapeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}") from None
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ShapeError(f"{op}: axis {a} is out of bounds for an array of {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def reduce_shape(shape: Shape, axis: tuple[int, ...] | None, keepdims: bool) -> Shape:
    axes = _normalize_axis(axis, len(shape))
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def matmul_shape(a: Shape, b: Shape) -> Shape:
    if not a or not b:
        raise ShapeError(f"matmul: operands must be at least 1-D, got shapes {a} and {b}")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ShapeError(
            f"matmul: shapes {a} and {b} are not aligned: {a2[-1]} (last dim of the left) "
            f"!= {b2[-2]} (dim {len(b2) - 2} of the right)"
        )
    try:
        batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    except ValueError:
        raise ShapeError(f"matmul: batch dimensions of {a} and {b} do not broadcast") from None
    out = (*tuple(batch), a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out



def linalg_shape(op: str, a: Shape, b: Shape | None = None) -> Shape:
    """Shape of np.linalg.solve(a, b) / inv(a) / det(a) / slogdet(a): ``a`` a (stack of) square
    matrices; ``b`` a vector (1-D, as NumPy 2 reads it) or a (stack of) matrices with ``a``'s rows."""
    name = {"slogdet_sign": "slogdet", "logabsdet": "slogdet"}.get(op, op)
    if len(a) < 2:
        raise ShapeError(f"np.linalg.{name}: {len(a)}-dimensional array given; it needs at least 2 dimensions "
                         f"(a square matrix), got shape {a}")
    if a[-1] != a[-2]:
        raise ShapeError(f"np.linalg.{name}: last 2 dimensions of the array must be square, got shape {a}")
    if op in ("inv", "cholesky"):
        return a
    if op != "solve":
        return a[:-2]
    assert b is not None
    if len(b) == 1:
        if b[0] != a[-1]:
            raise ShapeError(f"np.linalg.solve: a of shape {a} and b of shape {b} are mismatched: b needs "
                             f"{a[-1]} entries")
        return a[:-1]
    if not b:
        raise ShapeError(f"np.linalg.solve: b must be at least 1-dimensional, got shape {b}")
    if b[-2] != a[-1]:
        raise ShapeError(f"np.linalg.solve: a of shape {a} and b of shape {b} are mismatched: b needs "
                         f"{a[-1]} rows (its axis -2), has {b[-2]}")
    try:
        batch = np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        raise ShapeError(f"np.linalg.solve: batch dimensions of a {a} and b {b} do not broadcast") from None
    return (*tuple(batch), a[-1], b[-1])

def slice_shape(shape: Shape, slices: Slices) -> Shape:
    """Shape of ``a[start:stop:step, ...]`` for normalized triples, one per axis."""
    if len(slices) != len(shape):
        raise ShapeError(f"slice: {len(slices)} slices for an array of {len(shape)} dimensions")
    out = []
    for n, (start, stop, step) in zip(shape, slices, strict=True):
        length = len(range(start, stop, step)) if step else 0
        if not step or (length and not (0 <= start < n and -1 <= stop <= n)) or (not length and (start, stop, step) != (0, 0, 1)):
            raise ShapeError(f"slice: {start}:{stop}:{step} is not normalized for an axis of size {n}")
        out.append(length)
    return tuple(out)


def concat_shape(a: Shape, b: Shape, dim: int) -> Shape:
    """Shape of ``np.concatenate((a, b), axis=dim)``: equal shapes but for ``dim``."""
    if not a or not b:
        raise ShapeError("concat: zero-dimensional arrays cannot be concatenated")
    if len(a) != len(b):
        raise ShapeError(f"concat: all the input arrays must have the same number of dimensions, got shapes {a} and {b}")
    if not 0 <= dim < len(a):
        raise ShapeError(f"concat: axis {dim} is out of bounds for arrays of {len(a)} dimensions")
    if any(m != n for i, (m, n) in enumerate(zip(a, b, strict=True)) if i != dim):
        raise ShapeError(f"concat: shapes {a} and {b} differ off the concatenation axis {dim}")
    return tuple(m + n if i == dim else m for i, (m, n) in enumerate(zip(a, b, strict=True)))


def normalize_slice(item: slice, n: int) -> tuple[int, int, int]:
    """One axis's slice as the triple the slice op stores: slice.indices, empty ones as 0:0:1."""
    start, stop, step = item.indices(n)
    return (start, stop, step) if len(range(start, stop, step)) else (0, 0, 1)


def infer_shape(op: str, arg_shapes: tuple[Shape | None, ...], attrs: Mapping[str, Any]) -> Shape | None:
    """Output shape of ``op``; None means a weak scalar (a constant expression).

    Elementwise operands are already broadcast explicitly, so all non-weak shapes must agree.
    """
    s = spec(op)
    if s.kind is Kind.LEAF:
        if op == "array_const":
            return tuple(attrs["array"].shape)
        return None if op == "const" else tuple(attrs["shape"])
    if s.kind is Kind.ELEMENTWISE:
        shapes = {sh for sh in arg_shapes if sh is not None}
        if len(shapes) > 1:
            raise ShapeError(f"{op}: operand shapes {sorted(shapes)} differ (broadcast them first)")
        return shapes.pop() if shapes else None
    (first, *rest) = [() if sh is None else sh for sh in arg_shapes]
    if s.kind is Kind.REDUCTION:
        return reduce_shape(first, attrs["axis"], attrs["keepdims"])
    if op == "matmul":
        return matmul_shape(first, rest[0])
    if op in ("trace", "diagonal"):
        if len(first) != 2:
            raise ShapeError(f"{op}: needs a 2-D array, got shape {first}")
        return () if op == "trace" else (min(first),)
    if op == "transpose":
        return tuple(first[i] for i in attrs["axes"])
    if op in ("reshape", "broadcast_to"):
        return tuple(attrs["shape"])
    if op == "slice":
        return slice_shape(first, attrs["slices"])
    if op == "take":
        dim = int(attrs["dim"])
        if not 0 <= dim < len(first):
            raise ShapeError(f"take: axis {dim} is out of bounds for an array of {len(first)} dimensions")
        return (*first[:dim], *rest[0], *first[dim + 1:])
    if op == "index_check":
        return first
    if op == "scatter_add":
        dim, size, idx = int(attrs["dim"]), int(attrs["size"]), rest[0]
        if not 0 <= dim <= len(first) - len(idx):
            raise ShapeError(f"scatter_add: axis {dim} is out of bounds for updates of shape {first} "
                             f"and indices of shape {idx}")
        if tuple(first[dim:dim + len(idx)]) != tuple(idx):
            raise ShapeError(f"scatter_add: updates of shape {first} do not hold indices of shape {idx} "
                             f"at axis {dim}")
        return (*first[:dim], size, *first[dim + len(idx):])
    if op == "scatter":
        if len(first) != 1 or rest[0] != rest[1] or len(rest[0]) != 1:
            raise ShapeError(f"scatter: needs a 1-D base and 1-D updates and indices of one length, got shapes "
                             f"{first}, {rest[0]} and {rest[1]}")
        return first
    if op == "bincount":
        if len(first) != 1 or rest[0] != first:
            raise ShapeError(f"bincount: needs 1-D indices and weights of one length, got shapes {first} and {rest[0]}")
        return (int(attrs["size"]),)
    if op in ("cumsum", "cumprod", "sort", "argsort"):
        if not 0 <= int(attrs["dim"]) < len(first):
            raise ShapeError(f"{op}: axis {attrs['dim']} is out of bounds for an array of {len(first)} dimensions")
        return first
    if op == "concat":
        return concat_shape(first, rest[0], int(attrs["dim"]))
    if op in ("solve", "inv", "det", "slogdet_sign", "logabsdet", "cholesky"):
        return linalg_shape(op, first, rest[0] if rest else None)
    raise AssertionError(f"no shape rule for {op}")  # coverage test keeps this unreachable


def infer_dtype(op: str, arg_dtypes: tuple[str | None, ...], attrs: Mapping[str, Any]) -> str | None:
    """Output dtype of ``op``; None means weak (a constant expression)."""
    s = spec(op)
    if op == "astype":
        return str(attrs["dtype"])
    if op == "array_const":
        return str(attrs["array"].dtype)
    if op == "index_check":
        return "int64"
    if op == "scatter_add":
        if arg_dtypes[1] not in ("int32", "int64"):
            raise ShapeError(f"scatter_add: indices must be integers, got {arg_dtypes[1]}")
        return arg_dtypes[0]
    if op == "scatter":
        if arg_dtypes[2] != "int64" or arg_dtypes[0] != arg_dtypes[1]:
            raise ShapeError(f"scatter: needs updates of the base's dtype and int64 indices, got {arg_dtypes}")
        return arg_dtypes[0]
    if op == "bincount" and arg_dtypes[0] not in ("bool", "int32", "int64"):
        raise ShapeError(f"bincount: indices must be integers, got {arg_dtypes[0]}")
    if op == "take":
        if arg_dtypes[1] not in ("int32", "int64"):
            raise ShapeError(f"take: indices must be integers, got {arg_dtypes[1]}")
        return arg_dtypes[0]
    if s.result_dtype is not None:
        return s.result_dtype
    if op == "where":
        arg_dtypes = arg_dtypes[1:]
    known = {d for d in arg_dtypes if d is not None}
    if len(known) > 1:
        raise ShapeError(f"{op}: operand dtypes {sorted(known)} differ (cast them first)")
    return known.pop() if known else None


def flops(op: str, arg_shapes: tuple[Shape | None, ...], out_shape: Shape | None) -> float:
    """Floating-point operations of one application of ``op`` (a cost-model input)."""
    s = spec(op)
    out_size = math.prod(out_shape or ())
    if s.kind is Kind.LEAF or s.kind is Kind.LAYOUT:
        return 0.0
    if s.kind is Kind.ELEMENTWISE:
        return s.flops_per_element * out_size
    in_size = math.prod(arg_shapes[0] or ())
    if s.kind is Kind.REDUCTION:
        return s.flops_per_element * in_size
    if op == "matmul":
        a, _b = arg_shapes[0] or (), arg_shapes[1] or ()
        return 2.0 * out_size * (a[-1] if a else 1)
    if op == "trace":
        return float(min(arg_shapes[0] or (0,)))
    if op == "cholesky":
        a = arg_shapes[0] or (0, 0)
        return math.prod(a[:-2]) * a[-1] ** 3 / 3.0  # potrf
    if op in ("solve", "inv", "det", "slogdet_sign", "logabsdet"):
        a = arg_shapes[0] or (0, 0)
        n, batch = a[-1], math.prod(a[:-2])
        lu = 2.0 * n**3 / 3.0  # an LU factorization (getrf)
        if op == "solve":
            b = arg_shapes[1] or ()
            rhs = 1 if len(b) == 1 else (b[-1] if b else 1)
            return batch * (lu + 2.0 * n * n * rhs)
        return batch * (lu + (4.0 * n**3 / 3.0 if op == "inv" else 0.0))
    return float(out_size)
