"""Arrays the traced function creates: ``np.zeros(n, like=x)``, ``np.zeros_like(x)``, ``x.copy()``.

NumPy's creation functions (``np.zeros``, ``np.arange``, ``np.eye`` ...) called without ``like=``
run eagerly and return NumPy arrays, which become constants of the program where a traced value
meets them. Called with ``like=`` a traced array, and for ``*_like`` and ``np.copy`` of one, they
give a traced array the function owns: it may be written into (``out[idx] = v``,
``np.add.at(out, idx, v)``, ``out += v``; see :mod:`egraph_dsl.indexing`), each write a
functional update. Values are NumPy's own: the creation function is called on the static
arguments at trace time (``np.empty`` gives zeros, one of the values NumPy may give).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import dtypes
from .errors import UnsupportedOperationError
from .term import const, make
from .trace import LazyArray, _where, lift, register_functions


def _shape(shape: Any, op: str) -> tuple[int, ...]:
    if isinstance(shape, LazyArray):
        raise UnsupportedOperationError(f"np.{op}: the shape must be static (ints), not a traced array{_where()}")
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    try:
        out = tuple(int(d) for d in dims)
    except TypeError:
        raise TypeError(f"np.{op}: the shape must be an int or a tuple of ints, got {shape!r}{_where()}") from None
    if any(d < 0 for d in out):
        raise ValueError(f"np.{op}: negative dimensions are not allowed, got {out}{_where()}")
    return out


def _filled(value: Any, shape: tuple[int, ...], dtype: Any, op: str) -> LazyArray:
    """A fresh traced array of ``shape`` filled with a static scalar (as np.full casts it)."""
    if isinstance(value, LazyArray):
        raise UnsupportedOperationError(f"np.{op}: a traced fill value is not supported{_where()}; "
                                        "write np.zeros(shape, like=x) + value")
    dt = dtypes.canonical(np.asarray(value).dtype if dtype is None else dtype, f"np.{op}{_where()}: ")
    cast = np.asarray(value).astype(dt)  # NumPy's own conversion (np.full(3, 2.7, dtype=int) is 2)
    if not dtypes.is_float(dt) and abs(int(cast)) > 2**53:
        return LazyArray(lift(np.full(shape, cast, dtype=dt)).term, fresh=True)  # not exact as a float constant
    return LazyArray(make("broadcast_to", [make("astype", [const(float(cast))], dtype=dt)], shape=shape), fresh=True)


def _check_device(device: Any, op: str) -> None:
    if device not in (None, "cpu"):
        raise UnsupportedOperationError(f"np.{op}(device={device!r}) is not supported{_where()}")


def zeros(shape: Any, dtype: Any = float, order: str = "C", *, device: Any = None) -> LazyArray:
    _check_device(device, "zeros")
    return _filled(0, _shape(shape, "zeros"), float if dtype is None else dtype, "zeros")


def ones(shape: Any, dtype: Any = float, order: str = "C", *, device: Any = None) -> LazyArray:
    _check_device(device, "ones")
    return _filled(1, _shape(shape, "ones"), float if dtype is None else dtype, "ones")


def empty(shape: Any, dtype: Any = float, order: str = "C", *, device: Any = None) -> LazyArray:
    _check_device(device, "empty")
    return _filled(0, _shape(shape, "empty"), float if dtype is None else dtype, "empty")


def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", *, device: Any = None) -> LazyArray:
    _check_device(device, "full")
    return _filled(fill_value, _shape(shape, "full"), dtype, "full")


def _like(value: Any, op: str) -> Callable[..., LazyArray]:
    def handler(a: Any, dtype: Any = None, order: str = "K", subok: bool = True, shape: Any = None, *,
                device: Any = None) -> LazyArray:
        _check_device(device, op)
        x = lift(a)
        dims = x.shape if shape is None else _shape(shape, op)
        return _filled(value, dims, x.dtype if dtype is None else dtype, op)

    return handler


def full_like(a: Any, fill_value: Any, dtype: Any = None, order: str = "K", subok: bool = True, shape: Any = None, *,
              device: Any = None) -> LazyArray:
    _check_device(device, "full_like")
    x = lift(a)
    dims = x.shape if shape is None else _shape(shape, "full_like")
    return _filled(fill_value, dims, x.dtype if dtype is None else dtype, "full_like")


def copy(a: Any, order: str = "K", subok: bool = False) -> LazyArray:
    """np.copy / ndarray.copy: a fresh array with ``a``'s values (writable, whatever ``a`` is)."""
    x = lift(a)
    if x.term.weak:  # np.copy(3.0) is a 0-d array of NumPy's default dtype
        x = LazyArray(make("astype", [x.term], dtype="float64" if x.weak_kind is float else
                           "bool" if x.weak_kind is bool else "int64"))
    return LazyArray(x.term, fresh=True)


def _eager(func: Callable[..., Any]) -> Callable[..., LazyArray]:
    """np.arange / linspace / eye / identity / tri with ``like=`` a traced array: NumPy's values,
    computed now from the static arguments, as a fresh traced array."""
    def handler(*args: Any, **kwargs: Any) -> LazyArray:
        if any(isinstance(a, LazyArray) for a in (*args, *kwargs.values())):
            raise UnsupportedOperationError(f"np.{func.__name__}: traced arguments are not supported{_where()}; "
                                            "its arguments must be static numbers")
        value = np.asarray(func(*args, **kwargs))
        return LazyArray(lift(value).term, fresh=True)

    handler.__name__ = func.__name__
    return handler


register_functions({
    np.zeros: zeros, np.ones: ones, np.empty: empty, np.full: full,
    np.zeros_like: _like(0, "zeros_like"), np.ones_like: _like(1, "ones_like"),
    np.empty_like: _like(0, "empty_like"), np.full_like: full_like, np.copy: copy,
    **{f: _eager(f) for f in (np.arange, np.linspace, np.eye, np.identity, np.tri)},
})

__all__ = ["copy", "empty", "full", "full_like", "ones", "zeros"]
