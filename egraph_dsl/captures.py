"""The values a function closes over, watched so that ``jit`` retraces when one is rebound.

Tracing bakes the values a function reads from outside its arguments into the program: NumPy
arrays become array constants (copied at trace time, see :mod:`egraph_dsl.constants`), numbers
become constants. A :class:`Watch` names one such binding (a global the code mentions, a closure
cell, a default argument) and reads its current value; a jitted function's cache key includes
the identity of every watched array and the value of every watched number, so rebinding a name
to another array (or number) traces again, while the common call costs one ``is`` per watch.
Helper functions reached through a watched name are scanned too. Arrays reached through
containers or attributes (``params["X"]``, ``self.X``) are snapshotted but not watched.
"""

from __future__ import annotations

import struct
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

_MISSING = object()
_MAX_DEPTH = 4  # helpers of helpers of ... the traced function


@dataclass(frozen=True)
class Watch:
    """One binding outside the arguments: where it is, and how to read its current value."""

    where: str
    read: Callable[[], Any]


def _watched(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic, bool, int, float)) or isinstance(value, types.FunctionType)


def _code_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _code_names(c)


def _global_reader(namespace: dict[str, Any], name: str) -> Callable[[], Any]:
    return lambda: namespace.get(name, _MISSING)


def _cell_reader(cell: types.CellType) -> Callable[[], Any]:
    def read() -> Any:
        try:
            return cell.cell_contents
        except ValueError:  # an empty cell
            return _MISSING
    return read


def _default_reader(fn: types.FunctionType, index: int) -> Callable[[], Any]:
    def read() -> Any:
        defaults = fn.__defaults__ or ()
        return defaults[index] if index < len(defaults) else _MISSING
    return read


def _kwdefault_reader(fn: types.FunctionType, name: str) -> Callable[[], Any]:
    return lambda: (fn.__kwdefaults__ or {}).get(name, _MISSING)


def watches(fn: Any) -> tuple[Watch, ...]:
    """Every binding ``fn`` (a plain Python function) and the helpers it names read values from."""
    out: list[Watch] = []
    seen: set[int] = set()

    def scan(f: types.FunctionType, depth: int) -> None:
        if id(f.__code__) in seen or depth > _MAX_DEPTH:
            return
        seen.add(id(f.__code__))
        found: list[tuple[str, Callable[[], Any]]] = []
        for i, _ in enumerate(f.__defaults__ or ()):
            found.append((f"default argument {i} of {f.__name__}", _default_reader(f, i)))
        for name in f.__kwdefaults__ or {}:
            found.append((f"default argument {name} of {f.__name__}", _kwdefault_reader(f, name)))
        for name, cell in zip(f.__code__.co_freevars, f.__closure__ or (), strict=True):
            found.append((f"closure variable {name} of {f.__name__}", _cell_reader(cell)))
        for name in dict.fromkeys(_code_names(f.__code__)):
            if name in f.__globals__:
                found.append((f"global {name} of {f.__module__}", _global_reader(f.__globals__, name)))
        for where, read in found:
            value = read()
            if _watched(value):
                out.append(Watch(where, read))
                if isinstance(value, types.FunctionType):
                    scan(value, depth + 1)

    if isinstance(fn, types.FunctionType):
        scan(fn, 0)
    return tuple(out)


def value_key(value: Any) -> tuple[Any, ...]:
    """What a cache key holds for one watched value: identity for arrays and functions (the
    cache entry keeps them alive, so an id is never reused), the value for numbers."""
    if isinstance(value, np.ndarray):
        return ("array", id(value), value.shape, value.dtype.str)
    if isinstance(value, float):
        return (type(value), struct.pack("<d", value))  # nan equals nan, -0.0 differs from 0.0
    if isinstance(value, np.generic):
        return (type(value), value.tobytes())
    if isinstance(value, (bool, int)):
        return (type(value), value)
    return ("object", id(value))


def capture_key(found: tuple[Watch, ...]) -> tuple[tuple[tuple[Any, ...], ...], tuple[Any, ...]]:
    """The key of the watched values now, and the values themselves (to keep ids unique)."""
    values = tuple(w.read() for w in found)
    return tuple(value_key(v) for v in values), values
