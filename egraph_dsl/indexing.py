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
from .errors import DTypeError, ShapeError, TraceError, UnsupportedOperationError
from .term import Term, make
from .trace import (
    LazyArray,
    _where,
    check_writable,
    elementwise,
    lift,
    overwrite,
    register_functions,
    reshape,
    resolve_dtypes,
    transpose,
)


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


def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> LazyArray:
    """np.take_along_axis: ``out[..., j, ...] = arr[..., indices[..., j, ...], ...]`` along ``axis``
    (the flat array for axis=None), the other axes broadcast: one gather from the raveled array by
    ``row * n + index`` (each index checked in [-n, n), negatives from the end)."""
    x = lift(arr)
    if x.term.weak:
        raise TraceError(f"np.take_along_axis of a Python scalar{_where()}; take from an array")
    idx = _as_index_array(indices, ("take_along_axis", indices))
    if idx is None:
        raise TypeError(f"np.take_along_axis: indices must be an integer array, got {type(indices).__name__}"
                        f"{_where()}")
    if axis is None:
        if idx.ndim != 1:
            raise ValueError(f"np.take_along_axis: when axis=None, `indices` must have a single dimension, got "
                             f"shape {idx.shape}{_where()}")
        x, dim = reshape(x, (x.size,)), 0
    else:
        if x.ndim != idx.ndim:
            raise ValueError(f"np.take_along_axis: `indices` and `arr` must have the same number of dimensions, "
                             f"got shapes {idx.shape} and {x.shape}{_where()}")
        (dim,) = ops.normalize_axis(int(axis), x.ndim, "take_along_axis") or (0,)
    order = (*(d for d in range(x.ndim) if d != dim), dim)
    moved, moved_idx = transpose(x, order), transpose(idx, order)
    try:
        batch = tuple(np.broadcast_shapes(moved.shape[:-1], moved_idx.shape[:-1]))
    except ValueError:
        raise ValueError(f"np.take_along_axis: shape mismatch: `arr` {x.shape} and `indices` {idx.shape} do not "
                         f"broadcast off axis {dim}{_where()}") from None
    n, m = x.shape[dim], moved_idx.shape[-1]
    spread = _broadcast(moved, (*batch, n))
    where_idx = _broadcast(LazyArray(_int64(moved_idx.term)), (*batch, m))
    checked = LazyArray(make("index_check", [where_idx.term], shape=(n,)))
    rows = np.arange(math.prod(batch), dtype=np.int64).reshape((*batch, 1)) * n
    flat = elementwise("add", checked, lift(rows)) if batch else checked
    gathered = _take(reshape(spread, (spread.size,)), flat, 0)
    inverse = tuple(int(i) for i in np.argsort(order))
    return transpose(gathered, inverse)


def _int64(t: Term) -> Term:
    return t if t.dtype == "int64" else make("astype", [t], dtype="int64")


def _broadcast(x: LazyArray, shape: tuple[int, ...]) -> LazyArray:
    return x if x.shape == shape else LazyArray(make("broadcast_to", [x.term], shape=shape))


def _flat(t: Term) -> Term:
    n = math.prod(t.shape or ())
    return t if t.shape == (n,) else make("reshape", [t], shape=(n,))


def _positions(x: LazyArray, key: object) -> LazyArray:
    """``positions[key]`` for the flat positions of ``x``'s elements: which elements ``x[key]``
    selects, with NumPy's indexing rules and errors (gathers check traced indices at run time)."""
    positions = lift(np.arange(x.size, dtype=np.int64).reshape(x.shape))
    return getitem(positions, key)  # type: ignore[no-any-return]


def _values(value: Any, shape: tuple[int, ...], dtype: str, what: str) -> Term:
    """The assigned values as NumPy's setitem takes them: leading length-1 axes dropped, broadcast to
    the selection's ``shape``, cast to the array's ``dtype`` (unsafely, as NumPy's assignment casts)."""
    v = lift(value)
    t = v.term
    if t.weak:
        if t.op == "const" and dtype not in ("bool", "float32", "float64"):
            number = float(t.attr["value"])
            if not math.isfinite(number):
                raise ValueError(f"{what}: cannot convert float {number} to integer{_where()} (as NumPy)")
            info = np.iinfo(np.dtype(dtype))
            if v.weak_kind is not float and not info.min <= number <= info.max:
                raise OverflowError(f"{what}: Python integer {int(number)} out of bounds for {dtype}{_where()}")
        return make("broadcast_to", [make("astype", [t], dtype=dtype)], shape=shape)
    vshape = v.shape
    while len(vshape) > len(shape) and vshape[0] == 1:
        vshape = vshape[1:]
    try:
        fits = tuple(np.broadcast_shapes(vshape, shape)) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{what}: could not broadcast input array from shape {v.shape} into shape {shape}{_where()}")
    if vshape != v.shape:
        t = make("reshape", [t], shape=vshape)
    if t.dtype != dtype:
        t = make("astype", [t], dtype=dtype)
    return t if t.shape == shape else make("broadcast_to", [t], shape=shape)


def _mask_key(x: LazyArray, key: object) -> LazyArray | None:
    """A boolean mask of ``x``'s shape used as the whole key, as a traced array; None otherwise."""
    if isinstance(key, (LazyArray, np.ndarray)) and key.dtype == np.bool_ and tuple(key.shape) == x.shape:
        return lift(key)
    return None


def setitem(x: LazyArray, key: object, value: Any) -> None:
    """``x[key] = value`` on an array the function created, as a functional update (NumPy's
    selection, broadcasting and casting; of repeated indices the last write wins). ``x[mask] = v``
    with a boolean mask of x's shape and a scalar v is ``np.where(mask, v, x)``."""
    what = f"x{_short(key)} = ..."
    check_writable(x, what)
    dtype = str(x.term.dtype)
    mask = _mask_key(x, key)
    if mask is not None:
        v = lift(value)
        if v.size != 1:
            raise UnsupportedOperationError(
                f"{what} with a boolean mask and {v.size} values{_where()}: which values land where depends on the "
                "data; assign a scalar, or use np.where(mask, values, x) with values of x's shape")
        filled = _values(reshape(v, ()) if not v.term.weak else v, x.shape, dtype, what)
        overwrite(x, make("where", [mask.term, filled, x.term]))
        return
    selected = _positions(x, key)
    updates = _values(value, selected.shape, dtype, what)
    written = make("scatter", [_flat(x.term), _flat(updates), _flat(selected.term)])
    overwrite(x, written if written.shape == x.shape else make("reshape", [written], shape=x.shape))


def add_at(a: Any, indices: Any, b: Any = None) -> None:
    """np.add.at(a, indices, b) on an array the function created: ``b`` added at ``a[indices]``,
    repeated indices accumulating (a scatter-add, a functional update of ``a``). The contributions
    to one element are summed before they are added to it: the same sums as NumPy's when ``a``
    starts from zeros (as in a histogram or a gradient), within rounding otherwise."""
    if not isinstance(a, LazyArray):
        raise UnsupportedOperationError(
            f"np.add.at writes into a NumPy array{_where()}, which cannot hold traced values; create it as a traced "
            "array: np.zeros(n, like=v) (or np.zeros_like(v, shape=n))")
    check_writable(a, "np.add.at")
    if b is None:
        raise TypeError(f"np.add.at needs the values to add (a third argument){_where()}")
    selected = _positions(a, indices)
    lb = lift(b)
    dtype, _ = resolve_dtypes("add", [a, lb], True, np.add)
    if dtype != a.term.dtype and not np.can_cast(dtype, str(a.term.dtype), "same_kind"):
        raise DTypeError(f"np.add.at: Cannot cast ufunc 'add' output from {dtype} to {a.term.dtype} with casting "
                         f"rule 'same_kind'{_where()}")
    updates = _values(b, selected.shape, dtype, "np.add.at")
    total = make("scatter_add", [_flat(updates), _flat(selected.term)], dim=0, size=a.size)
    base = _flat(a.term) if a.term.dtype == dtype else make("astype", [_flat(a.term)], dtype=dtype)
    summed = make("add", [base, total])
    if dtype != a.term.dtype:
        summed = make("astype", [summed], dtype=str(a.term.dtype))
    overwrite(a, summed if summed.shape == a.shape else make("reshape", [summed], shape=a.shape))


def bincount(x: Any, weights: Any = None, minlength: Any = 0) -> LazyArray:
    """np.bincount with a static length: concrete ``x`` gives it; traced ``x`` needs ``minlength``
    (at least max(x) + 1: a larger x raises at run time, where NumPy would return more bins)."""
    if isinstance(minlength, LazyArray):
        raise UnsupportedOperationError(f"np.bincount: minlength must be a static int{_where()}")
    length = 0 if minlength is None else int(minlength)
    if length < 0:
        raise ValueError(f"np.bincount: minlength must be non-negative, got {length}{_where()}")
    if isinstance(x, LazyArray):
        ix = x
        if length == 0:
            raise UnsupportedOperationError(
                f"np.bincount of traced indices{_where()}: the result's length max(x) + 1 depends on the data; pass "
                "minlength (at least max(x) + 1, e.g. the number of groups) to give it a static length")
    else:
        concrete = np.asarray(x)
        if concrete.size == 0:
            concrete = concrete.astype(np.int64)
        if concrete.ndim != 1:
            raise ValueError(f"np.bincount: x must be 1-dimensional, got shape {concrete.shape}{_where()}")
        if concrete.dtype.kind not in "biu":
            raise TypeError(f"np.bincount: Cannot cast array data from {concrete.dtype} to int64 according to the "
                            f"rule 'safe'{_where()}")
        if concrete.size and int(concrete.min()) < 0:
            raise ValueError(f"np.bincount: 'x' argument must have no negative elements{_where()}")
        length = max(length, int(concrete.max()) + 1 if concrete.size else 0)
        ix = lift(concrete.astype(np.int64))
    if ix.ndim != 1:
        raise ValueError(f"np.bincount: x must be 1-dimensional, got shape {ix.shape}{_where()}")
    if ix.term.dtype not in ("bool", "int32", "int64"):
        raise TypeError(f"np.bincount: Cannot cast array data from {ix.term.dtype} to int64 according to the rule "
                        f"'safe'{_where()}")
    if ix.size == 0:  # NumPy returns integer zeros for no indices, weights or not
        w = None if weights is None else lift(weights)
        if w is not None and w.shape != ix.shape:
            raise ValueError(f"np.bincount: The weights and list don't have the same length ({w.shape} and "
                             f"{ix.shape}){_where()}")
        return LazyArray(make("broadcast_to", [make("astype", [make("const", value=0.0)], dtype="int64")],
                              shape=(length,)), array0d=True)
    if weights is None:
        ones = make("broadcast_to", [make("astype", [make("const", value=1.0)], dtype="float64")], shape=ix.shape)
        counts = make("bincount", [ix.term, ones], size=length)
        return LazyArray(make("astype", [counts], dtype="int64"))  # counts below 2**53 are exact in float64
    w = lift(weights)
    if w.shape != ix.shape:
        raise ValueError(f"np.bincount: The weights and list don't have the same length ({w.shape} and "
                         f"{ix.shape}){_where()}")
    wt = w.term if w.term.dtype == "float64" and not w.term.weak else make("astype", [w.term], dtype="float64")
    return LazyArray(make("bincount", [ix.term, wt], size=length))


register_functions({operator.getitem: getitem, operator.setitem: setitem, np.take: take,
                    np.take_along_axis: take_along_axis, np.add.at: add_at, np.bincount: bincount})
