"""Sorting traced arrays: np.sort and np.argsort (ops of their own), ndarray.sort (in place, on an
array the function created) and np.median from the sorted array, as NumPy computes it.

np.median is NumPy's own arithmetic on the sorted values: the mean of the middle one or two
(``np.mean`` of that slice, so float32 stays float32 and integers give float64), nan wherever the
reduced values hold a nan (NumPy's check of the last sorted value). np.argsort is traced with
``kind='stable'`` (or ``stable=True``) only: NumPy's default kind orders ties in a way of its own,
which another algorithm (or device) would not reproduce. Gradients: a sort's cotangent is scattered
back by the permutation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import dtypes, ops
from .errors import ShapeError, TraceError, UnsupportedOperationError
from .term import make
from .trace import (
    LazyArray,
    _strong,
    _where,
    check_writable,
    elementwise,
    lift,
    overwrite,
    reduce_,
    register_functions,
    reshape,
    transpose,
)


def _operand(a: Any, op: str) -> LazyArray:
    x = _strong(lift(np.asarray(a) if isinstance(a, (list, tuple)) else a))
    if x.term.weak:
        raise TraceError(f"np.{op} of a Python scalar{_where()}; pass an array")
    return x


def _dim(x: LazyArray, axis: Any, op: str) -> tuple[LazyArray, int]:
    """The array to sort and its axis (the flattened array for axis=None)."""
    if axis is None:
        return reshape(x, (x.size,)), 0
    if x.ndim == 0:
        raise ShapeError(f"np.{op}: axis {axis} is out of bounds for array of dimension 0{_where()}")
    try:
        (dim,) = ops.normalize_axis(int(axis), x.ndim, op) or (0,)
    except ShapeError as exc:
        raise ShapeError(f"{exc}{_where()}") from None
    return x, dim


def _check(kind: Any, order: Any, op: str) -> None:
    if order is not None:
        raise UnsupportedOperationError(f"np.{op}(order=...) sorts structured arrays, which are not traced{_where()}")
    if kind not in (None, "quicksort", "mergesort", "heapsort", "stable"):
        raise ValueError(f"np.{op}: sort kind must be one of 'quick', 'heap', or 'stable' (got {kind!r}){_where()}")


def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> LazyArray:
    """np.sort: the sorted copy along ``axis`` (every kind sorts to the same values; nan last)."""
    _check(kind, order, "sort")
    x, dim = _dim(_operand(a, "sort"), axis, "sort")
    if x.size == 0:
        return LazyArray(x.term, fresh=True)
    return LazyArray(make("sort", [x.term], dim=dim))


def argsort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> LazyArray:
    """np.argsort with kind='stable' (or stable=True): the int64 permutation, ties in their order."""
    _check(kind, order, "argsort")
    if kind not in ("stable", "mergesort") and stable is not True:
        raise UnsupportedOperationError(
            f"np.argsort without kind='stable'{_where()}: NumPy's default kind orders equal values in a way of "
            "its own that a traced program cannot promise to reproduce; pass kind='stable' (the same result "
            "wherever the values have no ties)")
    x, dim = _dim(_operand(a, "argsort"), axis, "argsort")
    if x.size == 0:
        return LazyArray(make("astype", [x.term], dtype="int64"))
    return LazyArray(make("argsort", [x.term], dim=dim))


def sort_in_place(x: LazyArray, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> None:
    """ndarray.sort: sorts ``x`` in place (an array the function created), returns None."""
    check_writable(x, "ndarray.sort()")
    if axis is None:
        raise ValueError(f"ndarray.sort(axis=None) is not a valid axis (NumPy refuses it too){_where()}")
    overwrite(x, sort(x, axis, kind, order, stable=stable).term)


def median(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
           keepdims: bool = False) -> LazyArray:
    """np.median: the mean of the middle one or two sorted values over ``axis`` (None: all; a tuple
    of axes too), nan where a reduced value is nan (floats), as NumPy computes it."""
    if out is not None:
        raise UnsupportedOperationError(f"np.median(..., out=...) writes into an array{_where()}: drop out=")
    x = _operand(a, "median")
    if x.ndim == 0 and isinstance(axis, (int, np.integer)) and int(axis) in (0, -1):
        axis = None
    try:
        axes = ops.normalize_axis(axis, x.ndim, "median")
    except ShapeError as exc:
        raise ShapeError(f"{exc}{_where()}") from None
    reduced = tuple(range(x.ndim)) if axes is None else axes
    kept = [d for d in range(x.ndim) if d not in reduced]
    n = math.prod(x.shape[d] for d in reduced)
    merged = reshape(transpose(x, (*kept, *reduced)), (*(x.shape[d] for d in kept), n))
    if n == 0:
        result = reduce_("mean", merged, -1)  # nan, as NumPy's mean of nothing gives
    else:
        s = LazyArray(make("sort", [merged.term], dim=merged.ndim - 1))
        half = n // 2
        middle = s[..., half - 1:half + 1] if n % 2 == 0 else s[..., half:half + 1]
        result = reduce_("mean", middle, -1)
        if dtypes.is_float(str(x.term.dtype)):
            result = elementwise("where", elementwise("isnan", s[..., n - 1]), np.nan, result)
    if keepdims:
        result = reshape(result, tuple(1 if d in reduced else x.shape[d] for d in range(x.ndim)))
    return result if result.ndim else LazyArray(result.term)  # a 0-d median is a NumPy scalar


register_functions({np.sort: sort, np.argsort: argsort, np.median: median, LazyArray.sort: sort_in_place})

__all__ = ["argsort", "median", "sort", "sort_in_place"]
