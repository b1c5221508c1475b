"""Layout functions of NumPy on traced arrays, with NumPy's shapes, dtypes and errors.

``np.concatenate`` and ``np.stack`` build the ``concat`` op (two arrays at a time, nested for
more: concatenation is associative, so this is exact); the others are exact compositions of
``reshape``, ``transpose`` and ``slice``: ``expand_dims``, ``squeeze``, ``ravel`` / ``flatten``
(reshapes), ``swapaxes`` / ``moveaxis`` (transposes), ``flip`` (a slice with step -1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes
from .errors import ShapeError, UnsupportedOperationError
from .term import make
from .trace import LazyArray, _strong, _where, astype, lift, reshape, transpose


def _axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` (an int or a sequence of ints, negatives counted from the end) as non-negative axes,
    in the order given; AxisError-like ShapeError out of bounds or repeated, as NumPy raises."""
    items = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out: list[int] = []
    for a in items:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an integer or a tuple of integers, got {a!r}{_where()}")
        if not -ndim <= int(a) < ndim:
            raise ShapeError(f"{op}: axis {int(a)} is out of bounds for array of dimension {ndim}{_where()}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {axis!r}{_where()}")
    return tuple(out)


def _operands(arrays: Any, op: str) -> list[LazyArray]:
    """The arrays of a concatenate / stack, each as np.asarray makes it (Python scalars strong)."""
    if isinstance(arrays, (LazyArray, np.ndarray)):
        raise UnsupportedOperationError(f"np.{op} of one array (iterating over its first axis){_where()}: "
                                        "pass a list or tuple of arrays")
    items = list(arrays)
    if not items:
        raise ShapeError(f"{op}: need at least one array to {'concatenate' if op == 'concatenate' else 'stack'}{_where()}")
    return [_strong(lift(np.asarray(a) if isinstance(a, (list, tuple)) else a)) for a in items]


def _common_dtype(arrays: Sequence[LazyArray], dtype: Any, op: str) -> str:
    found = np.result_type(*[np.dtype(a.term.dtype or "float64") for a in arrays])
    return dtypes.canonical(found if dtype is None else dtype, f"{op}{_where()}: ")


def _concat(arrays: Sequence[LazyArray], dim: int) -> LazyArray:
    out = arrays[0]
    for a in arrays[1:]:
        try:
            out = LazyArray(make("concat", [out.term, a.term], dim=dim))
        except ShapeError as exc:
            raise ShapeError(f"{exc}{_where()}") from None
    return out


def _refuse_out(out: Any, op: str) -> None:
    if out is not None:
        raise UnsupportedOperationError(f"np.{op}(..., out=...) writes into an array{_where()}: drop out=")


def concatenate(arrays: Any, axis: Any = 0, out: Any = None, dtype: Any = None, casting: str = "same_kind") -> LazyArray:
    """np.concatenate: the result dtype is NumPy's promotion of the inputs' (or ``dtype``)."""
    _refuse_out(out, "concatenate")
    items = _operands(arrays, "concatenate")
    if axis is None:  # the flattened arrays, one after the other
        items = [reshape(a, (a.size,)) for a in items]
        axis = 0
    if any(a.ndim == 0 for a in items):
        raise ShapeError(f"concatenate: zero-dimensional arrays cannot be concatenated{_where()}")
    ndim = items[0].ndim
    for k, a in enumerate(items[1:], 1):
        if a.ndim != ndim:
            raise ShapeError(f"concatenate: all the input array dimensions except for the concatenation axis must "
                             f"match exactly, but array 0 has {ndim} dimension(s) and array {k} has {a.ndim}{_where()}")
    (dim,) = _axes(axis, ndim, "concatenate")
    dt = _common_dtype(items, dtype, "concatenate")
    _check_casting(items, dt, casting, "concatenate")
    return _concat([astype(a, dt) for a in items], dim)


def _check_casting(items: Sequence[LazyArray], dt: str, casting: str, op: str) -> None:
    for a in items:
        if not np.can_cast(np.dtype(a.term.dtype or "float64"), dt, casting=casting):  # type: ignore[arg-type]
            raise TypeError(f"{op}: cannot cast array data from dtype('{a.term.dtype}') to dtype('{dt}') "
                            f"according to the rule {casting!r}{_where()}")


def stack(arrays: Any, axis: Any = 0, out: Any = None, dtype: Any = None, casting: str = "same_kind") -> LazyArray:
    """np.stack: equal shapes, joined along a new axis ``axis`` of the result."""
    _refuse_out(out, "stack")
    items = _operands(arrays, "stack")
    shape = items[0].shape
    if any(a.shape != shape for a in items):
        raise ShapeError(f"stack: all input arrays must have the same shape, got "
                         f"{', '.join(str(a.shape) for a in items)}{_where()}")
    (dim,) = _axes(axis, len(shape) + 1, "stack")
    dt = _common_dtype(items, dtype, "stack")
    _check_casting(items, dt, casting, "stack")
    return _concat([expand_dims(astype(a, dt), dim) for a in items], dim)


def expand_dims(a: Any, axis: Any) -> LazyArray:
    x = lift(a)
    if x.term.weak:
        x = _strong(x)
    count = 1 if isinstance(axis, (int, np.integer)) else len(tuple(axis))
    new = set(_axes(axis, x.ndim + count, "expand_dims"))
    dims = iter(x.shape)
    return _array(reshape(x, tuple(1 if i in new else next(dims) for i in range(x.ndim + count))))


def squeeze(a: Any, axis: Any = None) -> LazyArray:
    x = _strong(lift(a))
    if axis is None:
        drop = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        drop = set(_axes(axis, x.ndim, "squeeze"))
        if any(x.shape[i] != 1 for i in drop):
            raise ShapeError(f"squeeze: cannot select an axis to squeeze out which has size not equal to one{_where()}")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in drop))


def swapaxes(a: Any, axis1: Any, axis2: Any) -> LazyArray:
    x = _strong(lift(a))
    (i,), (j,) = _axes(axis1, x.ndim, "swapaxes"), _axes(axis2, x.ndim, "swapaxes")
    perm = list(range(x.ndim))
    perm[i], perm[j] = j, i
    return transpose(x, tuple(perm))


def moveaxis(a: Any, source: Any, destination: Any) -> LazyArray:
    x = _strong(lift(a))
    src, dst = _axes(source, x.ndim, "moveaxis"), _axes(destination, x.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ShapeError(f"moveaxis: `source` and `destination` arguments must have the same number of elements{_where()}")
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return transpose(x, tuple(order))


def ravel(a: Any, order: str = "C") -> LazyArray:
    if order not in ("C", "K", "A"):  # K and A are C order for the C-contiguous arrays a trace holds
        raise UnsupportedOperationError(f"ravel/flatten with order={order!r}; only 'C' is supported{_where()}")
    x = _strong(lift(a))
    return _array(reshape(x, (x.size,)))


def flip(m: Any, axis: Any = None) -> LazyArray:
    x = _strong(lift(m))
    axes = set(range(x.ndim)) if axis is None else set(_axes(axis, x.ndim, "flip"))
    if not axes or x.size == 0:
        return x
    slices = tuple((n - 1, -1, -1) if i in axes and n > 1 else (0, n, 1) for i, n in enumerate(x.shape))
    if all(s == (0, n, 1) for s, n in zip(slices, x.shape, strict=True)):
        return x
    return LazyArray(make("slice", [x.term], slices=slices), array0d=x.array0d)


def _array(x: LazyArray) -> LazyArray:
    """The result is an ndarray in NumPy even where it is 0-d (np.expand_dims, ravel)."""
    return LazyArray(x.term, array0d=True)


__all__ = ["concatenate", "expand_dims", "flip", "moveaxis", "ravel", "squeeze", "stack", "swapaxes"]
