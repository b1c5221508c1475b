"""NumPy's reductions and scans beyond sum/mean/max/min, with NumPy's dtypes, axes and errors.

``prod``, ``argmax`` / ``argmin`` and ``cumsum`` / ``cumprod`` are ops of their own (their impls
are the NumPy calls, so results are NumPy's bit for bit). The rest are exact compositions:
``var`` / ``std`` follow ``numpy/_core/_methods.py:_var`` operation by operation (a keepdims sum,
a division by the count in float64, the squared deviations, a sum, a division by
``max(n - ddof, 0)``); ``any`` / ``all`` / ``count_nonzero`` count nonzeros with a sum;
``nansum`` sums with nans replaced by +0.0 (as ``np.nansum``); ``average`` is NumPy's
``multiply(a, w).sum() / w.sum()``; ``diff`` subtracts neighbouring slices (``!=`` for bools);
``ptp`` is ``max - min``. ``percentile``, ``quantile``, the nan-ignoring medians and partitions are
refused (np.sort and np.median: egraph_dsl/sorting.py).

Known difference: NumPy sums an integer array in float64 (``var`` / ``mean`` of ints) through
8192-element buffers, while the traced program casts first and sums pairwise over the whole
axis; the two agree whenever the partial sums are exact (integers below 2**53 / n in magnitude).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import dtypes, ops
from .errors import ShapeError, TraceError, UnsupportedOperationError
from .layout import concatenate
from .term import make
from .trace import LazyArray, _strong, _where, astype, elementwise, lift, reduce_, register_functions, reshape


def _array(a: Any, op: str) -> LazyArray:
    x = _strong(lift(np.asarray(a) if isinstance(a, (list, tuple)) else a))
    if x.term.weak:
        raise TraceError(f"{op} of a Python scalar{_where()}; reduce an array instead")
    return x


def _refuse(out: Any = None, where: Any = None, initial: Any = None, op: str = "") -> None:
    if out is not None:
        raise UnsupportedOperationError(f"np.{op}(..., out=...) writes into an array{_where()}: drop out=")
    if where is not None and where is not True:
        raise UnsupportedOperationError(f"np.{op}(..., where=...) is not supported{_where()}; use np.where first")
    if initial is not None:
        raise UnsupportedOperationError(f"np.{op}(..., initial=...) is not supported{_where()}")


def _axes(x: LazyArray, axis: Any, op: str) -> tuple[int, ...] | None:
    if x.ndim == 0 and op not in ("var", "average") and isinstance(axis, (int, np.integer)) and int(axis) in (0, -1):
        return None  # NumPy's reductions (not the mean-based var / std / average) accept axis 0 or -1 on 0-d
    try:
        return ops.normalize_axis(axis, x.ndim, op)
    except ShapeError as exc:
        raise ShapeError(f"{exc}{_where()}") from None


def _count(x: LazyArray, axes: tuple[int, ...] | None) -> int:
    return math.prod(x.shape[i] for i in (range(x.ndim) if axes is None else axes))


def _int64_accumulator(x: LazyArray) -> LazyArray:
    """bool and int32 sum and multiply in int64 (NumPy's default integer), as np.sum / np.prod do."""
    return astype(x, "int64") if x.term.dtype in ("bool", "int32") else x


def prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         initial: Any = None, where: Any = None) -> LazyArray:
    """np.prod: multiply.reduce, 1 for an empty product."""
    _refuse(out, where, initial, "prod")
    x = _array(a, "prod")
    x = astype(x, dtype) if dtype is not None else _int64_accumulator(x)
    return LazyArray(make("prod", [x.term], axis=_axes(x, axis, "prod"), keepdims=bool(keepdims)))


def _arg_extremum(name: str, a: Any, axis: Any, out: Any, keepdims: bool) -> LazyArray:
    _refuse(out, op=name)
    x = _array(a, name)
    if axis is not None and (isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer))):
        raise TypeError(f"np.{name}: axis must be an integer or None, got {axis!r}{_where()}")
    axes = _axes(x, axis, name)
    if _count(x, axes) == 0:
        raise ValueError(f"attempt to get {name} of an empty sequence (np.{name} over an axis of size 0 of an "
                         f"array of shape {x.shape}){_where()}")
    return LazyArray(make(name, [x.term], axis=axes, keepdims=bool(keepdims)))


def argmax(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> LazyArray:
    """np.argmax: the first maximum (a nan is the maximum), the flat index for axis=None."""
    return _arg_extremum("argmax", a, axis, out, keepdims)


def argmin(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> LazyArray:
    """np.argmin: the first minimum (a nan is the minimum), the flat index for axis=None."""
    return _arg_extremum("argmin", a, axis, out, keepdims)


def _nonzero_count(a: Any, axis: Any, keepdims: bool, op: str, zeros: bool = False) -> LazyArray:
    x = _array(a, op)
    test = elementwise("equal" if zeros else "not_equal", x, 0)
    return reduce_("sum", test, _axes(x, axis, op), keepdims)


def count_nonzero(a: Any, axis: Any = None, *, keepdims: bool = False) -> LazyArray:
    """np.count_nonzero: an int64 count (nan counts as nonzero)."""
    return _nonzero_count(a, axis, keepdims, "count_nonzero")


def any_(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, *, where: Any = None) -> LazyArray:
    """np.any: whether some element is nonzero (False for an empty array)."""
    _refuse(out, where, op="any")
    return elementwise("greater", _nonzero_count(a, axis, keepdims, "any"), 0)


def all_(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, *, where: Any = None) -> LazyArray:
    """np.all: whether no element is zero (True for an empty array; nan is nonzero)."""
    _refuse(out, where, op="all")
    return elementwise("equal", _nonzero_count(a, axis, keepdims, "all", zeros=True), 0)


def nansum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
           initial: Any = None, where: Any = None) -> LazyArray:
    """np.nansum: the sum with every nan replaced by +0.0 (integers and bools sum as they are)."""
    _refuse(out, where, initial, "nansum")
    x = _array(a, "nansum")
    if dtypes.is_float(x.term.dtype):
        x = elementwise("where", elementwise("isnan", x), 0.0, x)
    if dtype is not None:
        x = astype(x, dtype)
    return reduce_("sum", x, _axes(x, axis, "nansum"), keepdims)


def _divide_by_count(total: LazyArray, count: float) -> LazyArray:
    """``total / count`` as _methods does it: true_divide by an intp, computed in float64 and cast
    back (casting='unsafe') for a float32 total."""
    dtype = str(total.term.dtype)
    quotient = elementwise("div", astype(total, "float64"), float(count))
    return astype(quotient, dtype)


def var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, keepdims: bool = False, *,
        where: Any = None, mean: Any = None, correction: Any = None) -> LazyArray:
    """np.var, operation by operation as numpy/_core/_methods.py:_var computes it."""
    _refuse(out, where, op="var")
    if mean is not None:
        raise UnsupportedOperationError(f"np.var(..., mean=...) is not supported{_where()}")
    if correction is not None:
        if ddof != 0:
            raise ValueError(f"ddof and correction can't be provided simultaneously{_where()}")
        ddof = correction
    x = _array(a, "var")
    if dtype is not None:
        acc = dtypes.canonical(dtype, f"var{_where()}: ")
    else:
        acc = "float64" if not dtypes.is_float(x.term.dtype) else str(x.term.dtype)
    if not dtypes.is_float(acc):
        raise UnsupportedOperationError(f"np.var with an integer dtype={acc} is not supported{_where()}")
    axes = _axes(x, axis, "var")
    count = _count(x, axes)
    arrmean = _divide_by_count(reduce_("sum", astype(x, acc), axes, True), count)
    deviation = elementwise("sub", x, arrmean)
    if deviation.term.dtype != acc:
        deviation = astype(deviation, acc)
    total = reduce_("sum", elementwise("square", deviation), axes, keepdims)
    return _divide_by_count(total, max(count - ddof, 0))


def std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, keepdims: bool = False, *,
        where: Any = None, mean: Any = None, correction: Any = None) -> LazyArray:
    """np.std: the square root of :func:`var`."""
    return elementwise("sqrt", var(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean, correction=correction))


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: bool = False) -> Any:
    """np.average. With traced weights that sum to zero the result is nan / inf where NumPy raises
    ZeroDivisionError (a data-dependent error); concrete weights are checked here, as NumPy does."""
    x = _array(a, "average")
    axes = None if axis is None else _axes(x, axis, "average")
    if weights is None:
        avg = reduce_("mean", x, axes, keepdims)
        ratio = float(x.size / max(avg.size, 1)) if avg.size else float("nan")
        return (avg, LazyArray(make("broadcast_to", [make("astype", [make("const", value=ratio)], dtype=str(avg.term.dtype))],
                                    shape=avg.shape))) if returned else avg
    concrete = np.asarray(weights) if isinstance(weights, (np.ndarray, list, tuple)) else None
    w = _array(weights, "average")
    if w.shape != x.shape:
        if axes is None:
            raise TypeError(f"Axis must be specified when shapes of a and weights differ{_where()}")
        if w.shape != tuple(x.shape[i] for i in axes):
            raise ValueError(f"Shape of weights must be consistent with shape of a along specified axis{_where()}")
        full = [1] * x.ndim
        for i, n in zip(axes, w.shape, strict=True):
            full[i] = n
        w = LazyArray(make("broadcast_to", [reshape(w, tuple(full)).term], shape=x.shape))
        if concrete is not None:
            concrete = np.broadcast_to(concrete.reshape(full), x.shape)
    if x.term.dtype in ("bool", "int32", "int64"):
        result = dtypes.canonical(np.result_type(np.dtype(x.term.dtype), np.dtype(w.term.dtype), "f8"))
    else:
        result = dtypes.promote(str(x.term.dtype), str(w.term.dtype))
    weight_sums: Any = None if concrete is None else concrete.astype(result).sum(axis=axes, keepdims=keepdims)  # type: ignore[call-overload]
    if weight_sums is not None and bool(np.any(weight_sums == 0.0)):
        raise ZeroDivisionError(f"Weights sum to zero, can't be normalized{_where()}")
    scale = reduce_("sum", astype(w, result), axes, keepdims)
    weighted = elementwise("mul", astype(x, result), astype(w, result))
    avg = elementwise("div", reduce_("sum", weighted, axes, keepdims), scale)
    return (avg, scale) if returned else avg


def _scan(op: str, a: Any, axis: Any, dtype: Any, out: Any) -> LazyArray:
    _refuse(out, op=op)
    x = _array(a, op)
    if axis is None or x.ndim == 0:
        if axis is not None and not (isinstance(axis, (int, np.integer)) and int(axis) in (0, -1)):
            raise ShapeError(f"{op}: axis {axis} is out of bounds for array of dimension {max(x.ndim, 1)}{_where()}")
        x = reshape(x, (x.size,))
        axis = 0
    (dim,) = _axes(x, axis, op) or (0,)
    x = astype(x, dtype) if dtype is not None else _int64_accumulator(x)
    if x.size == 0:
        return LazyArray(x.term, array0d=True)
    return LazyArray(make(op, [x.term], dim=dim))


def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> LazyArray:
    """np.cumsum: a running sum along ``axis`` (the flattened array for axis=None)."""
    return _scan("cumsum", a, axis, dtype, out)


def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> LazyArray:
    """np.cumprod: a running product along ``axis`` (the flattened array for axis=None)."""
    return _scan("cumprod", a, axis, dtype, out)


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = np._NoValue, append: Any = np._NoValue) -> LazyArray:
    """np.diff: ``a[1:] - a[:-1]`` along ``axis``, ``n`` times (``!=`` for bools)."""
    x = _array(a, "diff")
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}{_where()}")
    if x.ndim == 0:
        raise ValueError(f"diff requires input that is at least one dimensional{_where()}")
    (dim,) = _axes(x, axis, "diff") or (0,)
    parts = []
    for extra in (prepend,):
        if extra is not np._NoValue:
            parts.append(_edge(extra, x, dim))
    parts.append(x)
    if append is not np._NoValue:
        parts.append(_edge(append, x, dim))
    if len(parts) > 1:
        x = concatenate(parts, axis=dim)
    op = "not_equal" if x.term.dtype == "bool" else "sub"
    for _ in range(n):
        length = x.shape[dim]
        upper = tuple(slice(1, None) if i == dim else slice(None) for i in range(x.ndim))
        lower = tuple(slice(None, -1) if i == dim else slice(None) for i in range(x.ndim))
        x = elementwise(op, x[upper], x[lower]) if length else x[upper]
    return x


def _edge(value: Any, x: LazyArray, dim: int) -> LazyArray:
    v = _strong(lift(np.asarray(value) if isinstance(value, (list, tuple)) else value))
    if v.ndim == 0:
        shape = tuple(1 if i == dim else n for i, n in enumerate(x.shape))
        v = LazyArray(make("broadcast_to", [v.term], shape=shape))
    return v


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> LazyArray:
    """np.ptp: ``max - min`` (refused for bools, as NumPy's subtract refuses them)."""
    _refuse(out, op="ptp")
    x = _array(a, "ptp")
    axes = _axes(x, axis, "ptp")
    return elementwise("sub", reduce_("max", x, axes, keepdims), reduce_("min", x, axes, keepdims))


def refused(name: str, hint: str) -> Any:
    def handler(*args: Any, **kwargs: Any) -> Any:
        raise UnsupportedOperationError(f"np.{name} is not supported by egraph-dsl's tracer{_where()}: {hint}")

    handler.__name__ = name
    return handler


_SORT_HINT = ("it is not traced yet (np.sort and np.median are, egraph_dsl/sorting.py); compute it on the jitted "
              "function's result with NumPy, or from np.sort(x) where that serves")

percentile = refused("percentile", _SORT_HINT)
quantile = refused("quantile", _SORT_HINT)
nanmedian = refused("nanmedian", _SORT_HINT)
nanpercentile = refused("nanpercentile", _SORT_HINT)
nanquantile = refused("nanquantile", _SORT_HINT)
partition = refused("partition", _SORT_HINT)
argpartition = refused("argpartition", _SORT_HINT)

# reductions and scans (np.any / np.all are any_ / all_ here)
register_functions({getattr(np, name): globals()[name] for name in (
    "prod", "argmax", "argmin", "count_nonzero", "nansum", "var", "std", "average", "cumsum", "cumprod", "diff",
    "ptp", "percentile", "quantile", "nanmedian", "nanpercentile", "nanquantile", "partition", "argpartition")}
    | {np.any: any_, np.all: all_})

__all__ = ["all_", "any_", "argmax", "argmin", "average", "count_nonzero", "cumprod", "cumsum", "diff", "nansum",
           "percentile", "prod", "ptp", "quantile", "std", "var"]
