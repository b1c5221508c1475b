"""Indexing traced arrays: basic indexing as ``slice`` + ``reshape``, integer-array indexing as
gathers (``take``), with NumPy's shapes, placement rules and IndexErrors.

Basic indexing (ints, slices with any step, ``None``, ``...``) is static: every index is known
at trace time, so an out-of-range int raises IndexError here, as NumPy raises it. Integer-array
indices (traced arrays, concrete arrays, lists) gather: one array becomes ``take`` along its axis;
several (``X[rows, cols]``) are broadcast, checked per axis (``index_check``, at run time) and
raveled into one index into the merged axes. As in NumPy, the gathered dimensions take the place
of the indexed axes when the advanced indices (arrays and ints) are adjacent, and come first
otherwise. Boolean masks give data-dependent shapes and are refused with a pointer to np.where.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from . import ops
from .errors import ShapeError, TraceError, UnsupportedOperationError
from .term import Term, make
from .trace import LazyArray, _where, elementwise, lift, register_functions, reshape, transpose


def _short(key: object) -> str:
    """An index key as the user wrote it, with arrays shown by shape only (never a repr)."""
    items = key if isinstance(key, tuple) else (key,)
    parts = []
    for k in items:
        if isinstance(k, slice):
            parts.append(":".join("" if v is None else str(v) for v in (k.start, k.stop, k.step)).rstrip(":") or ":")
        elif k is None:
            parts.append("None")
        elif k is Ellipsis:
            parts.append("...")
        elif isinstance(k, (LazyArray, np.ndarray)):
            parts.append(f"<{'traced ' if isinstance(k, LazyArray) else ''}{k.dtype} array {tuple(k.shape)}>")
        elif isinstance(k, list):
            parts.append(f"<list of {len(k)}>")
        else:
            parts.append(repr(k))
    return "[" + ", ".join(parts) + "]"


def _is_int(k: object) -> bool:
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _as_index_array(k: object, key: object) -> LazyArray | None:
    """An integer-array index as a traced array; None for a basic index item."""
    if isinstance(k, list):
        k = np.asarray(k)
        if k.size == 0:  # NumPy reads an empty list (of any nesting) as integer indices
            k = k.astype(np.int64)
    if not isinstance(k, (LazyArray, np.ndarray)):
        return None
    kind = "b" if k.dtype == np.bool_ else k.dtype.kind
    if kind == "b":
        raise UnsupportedOperationError(
            f"boolean-mask indexing x{_short(key)} gives a result whose shape depends on the data, "
            f"which cannot be traced{_where()}; keep the shape with np.where(mask, x, 0) "
            "(e.g. np.sum(np.where(mask, x, 0)) for a masked sum)")
    if kind not in "iu":
        raise IndexError(f"arrays used as indices must be of integer (or boolean) type, got {k.dtype} "
                         f"in x{_short(key)}{_where()}")
    return lift(k)


def _expand(key: object, ndim: int) -> list[object]:
    """The key as a list of items with ``...`` replaced by full slices, one per array axis."""
    items = list(key) if isinstance(key, tuple) else [key]
    for k in items:
        if isinstance(k, (bool, np.bool_)):
            raise UnsupportedOperationError(f"indexing with a bool (x{_short(key)}) is not supported{_where()}")
        if not (k is None or k is Ellipsis or isinstance(k, (slice, list, LazyArray, np.ndarray)) or _is_int(k)):
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and "
                             f"integer arrays are valid indices, got {type(k).__name__} in x{_short(key)}{_where()}")
    if sum(k is Ellipsis for k in items) > 1:
        raise IndexError(f"an index can only have a single ellipsis ('...'){_where()}")
    used = sum(1 for k in items if k is not None and k is not Ellipsis)
    if used > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but {used} were "
                         f"indexed{_where()}")
    fill = [slice(None)] * (ndim - used)
    if any(k is Ellipsis for k in items):
        at = next(i for i, k in enumerate(items) if k is Ellipsis)
        return [*items[:at], *fill, *items[at + 1:]]
    return [*items, *fill]


def _basic(x: LazyArray, items: list[object], key: object) -> LazyArray:
    """Apply ints, slices and None (no arrays among ``items``)."""
    shape = x.shape
    slices: list[tuple[int, int, int]] = []
    out_shape: list[int] = []
    axis = 0
    for k in items:
        if k is None:
            out_shape.append(1)
            continue
        n = shape[axis]
        if isinstance(k, slice):
            for v in (k.start, k.stop, k.step):
                if v is not None and not _is_int(v):
                    raise TypeError(f"slice indices must be integers or None, got {v!r} in x{_short(key)}{_where()}")
            if k.step == 0:
                raise ValueError(f"slice step cannot be zero (x{_short(key)}){_where()}")
            triple = ops.normalize_slice(k, n)
            slices.append(triple)
            out_shape.append(len(range(*triple)))
        else:
            i = int(k)  # type: ignore[call-overload]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n} "
                                 f"(x{_short(key)}){_where()}")
            i %= n
            slices.append((i, i + 1, 1))
        axis += 1
    t: Term = x.term
    if any(s != (0, n, 1) for s, n in zip(slices, shape, strict=True)):
        t = make("slice", [t], slices=tuple(slices))
    out = LazyArray(t)
    return reshape(out, tuple(out_shape)) if tuple(out_shape) != out.shape else out


def getitem(x: LazyArray, key: object) -> LazyArray:
    """``x[key]`` with NumPy's semantics for basic and integer-array indices."""
    if x.term.weak:
        raise TraceError(f"indexing a Python scalar (x{_short(key)}){_where()}")
    items = _expand(key, x.ndim)
    arrays = {i: a for i, k in enumerate(items) if (a := _as_index_array(k, key)) is not None}
    if not arrays:
        return _basic(x, items, key)
    # the basic part first (arrays kept as full slices), then the gather
    basic = _basic(x, [slice(None) if i in arrays else k for i, k in enumerate(items)], key)
    axis_of: dict[int, int] = {}
    axis = 0
    for i, k in enumerate(items):
        if i in arrays:
            axis_of[i] = axis
        if k is None or isinstance(k, slice) or i in arrays:
            axis += 1
    advanced = [i for i, k in enumerate(items) if i in arrays or _is_int(k)]
    adjacent = advanced == list(range(advanced[0], advanced[-1] + 1))
    first = sum(1 for k in items[:advanced[0]] if k is None or isinstance(k, slice))  # output axis of the gather
    dims = [axis_of[i] for i in sorted(arrays)]
    try:
        index_shape = tuple(np.broadcast_shapes(*(a.shape for a in arrays.values())))
    except ValueError:
        raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together with shapes "
                         f"{', '.join(str(a.shape) for a in arrays.values())}{_where()}") from None
    if len(dims) == 1:
        gathered = _take(basic, next(iter(arrays.values())), dims[0])
        at = dims[0]
    else:
        gathered = _gather_many(basic, [arrays[i] for i in sorted(arrays)], dims, index_shape)
        at = 0
    target = first if adjacent else 0
    return _move(gathered, at, len(index_shape), target)


def _move(x: LazyArray, at: int, count: int, target: int) -> LazyArray:
    """Move the ``count`` axes starting at ``at`` to start at ``target``."""
    if at == target or count == 0:
        return x
    axes = list(range(x.ndim))
    block = axes[at:at + count]
    rest = axes[:at] + axes[at + count:]
    return transpose(x, tuple(rest[:target] + block + rest[target:]))


def _take(x: LazyArray, indices: LazyArray, dim: int) -> LazyArray:
    t = indices.term
    if t.weak:
        raise TraceError(f"take: indices must be an integer array{_where()}")
    try:
        return LazyArray(make("take", [x.term, t], dim=dim))
    except ShapeError as exc:
        raise ShapeError(f"{exc}{_where()}") from None


def _gather_many(x: LazyArray, indices: list[LazyArray], dims: list[int], index_shape: tuple[int, ...]) -> LazyArray:
    """``x`` gathered by several index arrays on axes ``dims``: the gathered dimensions first."""
    sizes = [x.shape[d] for d in dims]
    rest = [d for d in range(x.ndim) if d not in dims]
    moved = transpose(x, (*dims, *rest))
    merged = reshape(moved, (math.prod(sizes), *(x.shape[d] for d in rest)))
    flat: LazyArray | None = None
    for idx, n in zip(indices, sizes, strict=True):
        t = idx.term if idx.term.dtype == "int64" else make("astype", [idx.term], dtype="int64")
        if t.shape != index_shape:
            t = make("broadcast_to", [t], shape=index_shape)
        checked = LazyArray(make("index_check", [t], shape=(n,)))
        flat = checked if flat is None else elementwise("add", elementwise("mul", flat, n), checked)
    assert flat is not None
    return _take(merged, flat, 0)


def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: Any = None) -> LazyArray:
    """np.take (mode 'raise'): negative indices count from the end; axis=None takes from the flat array."""
    if out is not None:
        raise UnsupportedOperationError(f"np.take(..., out=...) writes into an array{_where()}: drop out=")
    if mode not in (None, "raise"):
        raise UnsupportedOperationError(f"np.take with mode={mode!r}; only mode='raise' is supported{_where()}")
    x = lift(a)
    if x.term.weak:
        raise TraceError(f"np.take of a Python scalar{_where()}; take from an array")
    if _is_int(indices):
        indices = np.asarray(indices, dtype=np.int64)
    idx = _as_index_array(indices, ("take", indices))
    if idx is None:
        raise TypeError(f"np.take: indices must be an integer array or int, got {type(indices).__name__}{_where()}")
    if axis is None:
        x = reshape(x, (x.size,))
        dim = 0
    else:
        (dim,) = ops.normalize_axis(int(axis), x.ndim, "take") or (0,)
    return _take(x, idx, dim)


register_functions({operator.getitem: getitem, np.take: take})
