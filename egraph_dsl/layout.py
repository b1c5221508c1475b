"""Layout functions of NumPy on traced arrays, with NumPy's shapes, dtypes and errors.

``np.concatenate`` and ``np.stack`` build the ``concat`` op (two arrays at a time, nested for
more: concatenation is associative, so this is exact); the others are exact compositions of
``reshape``, ``transpose`` and ``slice``: ``expand_dims``, ``squeeze``, ``ravel`` / ``flatten``
(reshapes), ``swapaxes`` / ``moveaxis`` (transposes), ``flip`` (a slice with step -1);
``hstack`` / ``vstack`` / ``column_stack`` (concatenations), ``split`` / ``array_split`` (lists
of slices), ``roll`` (two slices concatenated), ``outer`` (a broadcast product), ``triu`` /
``tril`` (a where with a constant mask), ``diag`` and ``repeat`` (gathers by constant indices),
``tile`` and ``kron`` (broadcasts reshaped) and constant-mode ``pad`` (concatenations).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes
from .errors import ShapeError, UnsupportedOperationError
from .term import make
from .trace import LazyArray, _strong, _where, astype, elementwise, lift, register_functions, reshape, transpose


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


def _atleast(a: Any, ndim: int) -> LazyArray:
    """np.atleast_1d / atleast_2d of one operand (a 1-D array becomes a row)."""
    x = _strong(lift(np.asarray(a) if isinstance(a, (list, tuple)) else a))
    if x.ndim >= ndim:
        return x
    return reshape(x, (1,) * (ndim - x.ndim) + x.shape) if ndim == 2 else reshape(x, (1,))


def _items(tup: Any, op: str) -> list[Any]:
    if isinstance(tup, (LazyArray, np.ndarray)):
        raise UnsupportedOperationError(f"np.{op} of one array (iterating over its first axis){_where()}: "
                                        "pass a list or tuple of arrays")
    return list(tup)


def hstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> LazyArray:
    """np.hstack: along axis 1, or axis 0 for 1-D (and 0-d) inputs."""
    arrays = [_atleast(a, 1) for a in _items(tup, "hstack")]
    axis = 0 if arrays and arrays[0].ndim == 1 else 1
    return concatenate(arrays, axis=axis, dtype=dtype, casting=casting)


def vstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> LazyArray:
    """np.vstack: along axis 0, 1-D inputs as rows."""
    return concatenate([_atleast(a, 2) for a in _items(tup, "vstack")], axis=0, dtype=dtype, casting=casting)


def column_stack(tup: Any) -> LazyArray:
    """np.column_stack: 1-D (and 0-d) inputs as columns, then along axis 1."""
    arrays = []
    for a in _items(tup, "column_stack"):
        x = _strong(lift(np.asarray(a) if isinstance(a, (list, tuple)) else a))
        arrays.append(reshape(x, (x.size, 1)) if x.ndim < 2 else x)
    return concatenate(arrays, axis=1)


def _cut(x: LazyArray, dim: int, start: int, stop: int) -> LazyArray:
    slices = tuple((start, stop, 1) if i == dim and stop > start else (0, 0, 1) if i == dim else (0, n, 1)
                   for i, n in enumerate(x.shape))
    if all(s == (0, n, 1) for s, n in zip(slices, x.shape, strict=True)):
        return LazyArray(x.term)
    return LazyArray(make("slice", [x.term], slices=slices))


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[LazyArray]:
    """np.array_split: a list of slices (views), the first ``n % sections`` one longer."""
    x = _strong(lift(ary))
    (dim,) = _axes(axis, x.ndim, "array_split") if x.ndim else (0,)
    n = x.shape[dim] if x.ndim else 0
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"number sections must be larger than 0.{_where()}")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = [0, *np.cumsum(sizes).tolist()]
    else:
        bounds = [0, *[int(i) for i in indices_or_sections], n]
    out = []
    for start, stop in itertools.pairwise(bounds):
        lo, hi = (slice(start, stop).indices(n))[:2]
        out.append(_cut(x, dim, lo, max(hi, lo)))
    return out


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[LazyArray]:
    """np.split: as array_split, but equal sections only (ValueError otherwise, as NumPy)."""
    x = _strong(lift(ary))
    if isinstance(indices_or_sections, (int, np.integer)):
        (dim,) = _axes(axis, x.ndim, "split")
        if int(indices_or_sections) <= 0 or x.shape[dim] % int(indices_or_sections):
            raise ValueError(f"array split does not result in an equal division{_where()}")
    return array_split(x, indices_or_sections, axis)


def roll(a: Any, shift: Any, axis: Any = None) -> LazyArray:
    """np.roll: a concatenation of two slices per rolled axis (the flat array for axis=None)."""
    x = _strong(lift(a))
    if axis is None:
        return reshape(roll(reshape(x, (x.size,)), shift, 0), x.shape)
    axes = tuple(_axes(a, x.ndim, "roll")[0] for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis))
    shifts = (shift,) * len(axes) if isinstance(shift, (int, np.integer)) else tuple(shift)
    if len(shifts) != len(axes):
        if len(axes) == 1 or len(shifts) == 1:
            shifts, axes = np.broadcast_arrays(np.asarray(shifts), np.asarray(axes))  # type: ignore[assignment]
            shifts, axes = tuple(int(s) for s in shifts), tuple(int(d) for d in axes)
        else:
            raise ValueError(f"'shift' and 'axis' should be scalars or 1D sequences of the same length{_where()}")
    total: dict[int, int] = {}
    for s, d in zip(shifts, axes, strict=True):
        total[d] = total.get(d, 0) + int(s)
    for d, s in total.items():
        n = x.shape[d]
        k = s % n if n else 0
        if k:
            x = _concat([_cut(x, d, n - k, n), _cut(x, d, 0, n - k)], d)
    return x


def outer(a: Any, b: Any, out: Any = None) -> LazyArray:
    """np.outer: the flattened ``a`` as a column times the flattened ``b`` as a row."""
    _refuse_out(out, "outer")
    x, y = _strong(lift(a)), _strong(lift(b))
    return elementwise("mul", reshape(x, (x.size, 1)), reshape(y, (1, y.size)))


def _tri_mask(shape: tuple[int, ...], k: int, upper: bool) -> LazyArray:
    rows, cols = shape[-2], shape[-1]
    mask = np.tri(rows, cols, k - 1 if upper else k, dtype=bool)
    return lift(~mask if upper else mask)


def _triangle(m: Any, k: int, upper: bool) -> LazyArray:
    x = _strong(lift(m))
    if x.ndim == 0:
        raise ShapeError(f"np.{'triu' if upper else 'tril'} needs an array of at least 1 dimension{_where()}")
    if x.ndim == 1:  # NumPy treats a vector as the rows of a square matrix
        x = LazyArray(make("broadcast_to", [reshape(x, (1, x.size)).term], shape=(x.size, x.size)))
    zero = LazyArray(make("broadcast_to", [make("astype", [make("const", value=0.0)], dtype=str(x.term.dtype))],
                          shape=x.shape))
    return elementwise("where", _tri_mask(x.shape, int(k), upper), x, zero)


def triu(m: Any, k: int = 0) -> LazyArray:
    """np.triu: zeros below the k-th diagonal (a where with a constant mask)."""
    return _triangle(m, k, True)


def tril(m: Any, k: int = 0) -> LazyArray:
    """np.tril: zeros above the k-th diagonal (a where with a constant mask)."""
    return _triangle(m, k, False)


def diag(v: Any, k: int = 0) -> LazyArray:
    """np.diag: a 1-D input becomes the square matrix with it on the k-th diagonal; a 2-D input
    gives its k-th diagonal (a gather by constant indices, a copy)."""
    x = _strong(lift(v))
    k = int(k)
    if x.ndim == 1:
        n = x.size + abs(k)
        rows, cols = np.nonzero(np.eye(n, n, k, dtype=bool))
        positions = np.full((n, n), x.size, dtype=np.int64)  # x.size: the appended zero
        positions[rows, cols] = np.arange(x.size)
        padded = _concat([x, LazyArray(make("broadcast_to", [make("astype", [make("const", value=0.0)],
                                                                        dtype=str(x.term.dtype))], shape=(1,)))], 0)
        return LazyArray(make("take", [padded.term, lift(positions).term], dim=0))
    if x.ndim == 2:
        rows_n, cols_n = x.shape
        idx = np.arange(max(0, min(rows_n, cols_n - k) if k >= 0 else min(rows_n + k, cols_n)))
        flat = (idx + max(0, -k)) * cols_n + idx + max(0, k)
        return LazyArray(make("take", [reshape(x, (x.size,)).term, lift(flat.astype(np.int64)).term], dim=0))
    raise ShapeError(f"np.diag: input must be 1- or 2-d, got shape {x.shape}{_where()}")


def tile(A: Any, reps: Any) -> LazyArray:
    """np.tile: a broadcast of ``A`` with a new axis before each of its axes, reshaped."""
    x = _strong(lift(A))
    counts = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    if any(r < 0 for r in counts):
        raise ValueError(f"np.tile: negative dimensions are not allowed, got reps {counts}{_where()}")
    ndim = max(x.ndim, len(counts))
    shape = (1,) * (ndim - x.ndim) + x.shape
    counts = (1,) * (ndim - len(counts)) + counts
    inter = tuple(v for r, n in zip(counts, shape, strict=True) for v in (1, n))
    wide = tuple(v for r, n in zip(counts, shape, strict=True) for v in (r, n))
    spread = LazyArray(make("broadcast_to", [reshape(x, inter).term], shape=wide)) if wide != inter else reshape(x, inter)
    return _array(reshape(spread, tuple(r * n for r, n in zip(counts, shape, strict=True))))


def repeat(a: Any, repeats: Any, axis: Any = None) -> LazyArray:
    """np.repeat with an int or concrete integer-array ``repeats``: a gather by constant indices
    (traced repeats would give a data-dependent shape and are refused)."""
    x = _strong(lift(a))
    if isinstance(repeats, LazyArray):
        raise UnsupportedOperationError(f"np.repeat with traced repeats gives a data-dependent shape{_where()}; "
                                        "pass concrete repeats")
    if axis is None:
        x, dim = reshape(x, (x.size,)), 0
    else:
        (dim,) = _axes(axis, x.ndim, "repeat")
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iub":
        raise TypeError(f"np.repeat: repeats must be integers, got {counts.dtype}{_where()}")
    if bool(np.any(counts < 0)):
        raise ValueError(f"np.repeat: repeats may not contain negative values{_where()}")
    try:
        index = np.repeat(np.arange(x.shape[dim]), counts).astype(np.int64)
    except ValueError as exc:
        raise ValueError(f"np.repeat: {exc}{_where()}") from None
    return LazyArray(make("take", [x.term, lift(index).term], dim=dim))


def kron(a: Any, b: Any) -> LazyArray:
    """np.kron: every product ``a[i] * b[j]`` once, interleaved by broadcasting and reshaped."""
    x, y = _strong(lift(a)), _strong(lift(b))
    ndim = max(x.ndim, y.ndim)
    xs, ys = (1,) * (ndim - x.ndim) + x.shape, (1,) * (ndim - y.ndim) + y.shape
    left = reshape(x, tuple(v for n in xs for v in (n, 1)))
    right = reshape(y, tuple(v for n in ys for v in (1, n)))
    return _array(reshape(elementwise("mul", left, right), tuple(m * n for m, n in zip(xs, ys, strict=True))))


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> LazyArray:
    """np.pad in 'constant' mode with one scalar ``constant_values``: concatenations with constant blocks."""
    if mode != "constant":
        raise UnsupportedOperationError(f"np.pad with mode={mode!r}; only mode='constant' is supported{_where()}")
    if set(kwargs) - {"constant_values"}:
        raise UnsupportedOperationError(f"np.pad: unsupported arguments {sorted(set(kwargs) - {'constant_values'})}{_where()}")
    value = kwargs.get("constant_values", 0)
    if np.ndim(value) != 0 or isinstance(value, LazyArray):
        raise UnsupportedOperationError(f"np.pad: only one concrete scalar constant_values is supported{_where()}")
    x = _strong(lift(array))
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu":
        raise TypeError(f"`pad_width` must be of integral type.{_where()}")
    try:
        widths = np.broadcast_to(widths, (x.ndim, 2))
    except ValueError:
        raise ValueError(f"np.pad: pad_width {pad_width!r} does not fit an array of {x.ndim} dimensions{_where()}") from None
    if bool(np.any(widths < 0)):
        raise ValueError(f"index can't contain negative values{_where()}")
    fill = np.asarray(value).astype(x.dtype)[()]  # NumPy casts the constant to the array's dtype
    for d, (before, after) in enumerate(widths.tolist()):
        parts = []
        for n in (before, after):
            shape = tuple(n if i == d else m for i, m in enumerate(x.shape))
            parts.append(LazyArray(make("broadcast_to", [lift(fill).term], shape=shape)) if n else None)
        items = [p for p in (parts[0], x, parts[1]) if p is not None]
        x = _concat(items, d) if len(items) > 1 else x
    return _array(x)


def _array(x: LazyArray) -> LazyArray:
    """The result is an ndarray in NumPy even where it is 0-d (np.expand_dims, ravel)."""
    return LazyArray(x.term, array0d=True)


register_functions({getattr(np, name): globals()[name] for name in (
    "concatenate", "stack", "expand_dims", "squeeze", "swapaxes", "moveaxis", "ravel", "flip", "hstack", "vstack",
    "column_stack", "split", "array_split", "roll", "outer", "triu", "tril", "diag", "tile", "repeat", "kron", "pad")})

__all__ = ["array_split", "column_stack", "concatenate", "diag", "expand_dims", "flip", "hstack", "kron", "moveaxis",
           "outer", "pad", "ravel", "repeat", "roll", "split", "squeeze", "stack", "swapaxes", "tile", "tril", "triu",
           "vstack"]
