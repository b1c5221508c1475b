"""Array constants: concrete NumPy arrays a traced function uses, snapshotted at trace time.

A traced function may close over data (globals, closure cells, default arguments) or hand a
NumPy array to a NumPy function; the array becomes a constant of the program *by value at trace
time*, as in JAX: it is copied (C order) and the copy made read-only, so changing the original
later, in place, changes nothing in the compiled program (rebinding the name makes ``jit``
retrace, see :mod:`egraph_dsl.captures`). The value never enters the e-graph: a term carries a
:class:`ConstantArray`, and egglog sees only its key, a hash of dtype, shape and bytes.
"""

from __future__ import annotations

import hashlib
import weakref
from typing import Any

import numpy as np

from . import dtypes


class ConstantArray:
    """A read-only snapshot of an array, equal to another exactly when their keys are equal."""

    __slots__ = ("__weakref__", "key", "value")

    key: str
    value: np.ndarray[Any, Any]

    def __init__(self, key: str, value: np.ndarray[Any, Any]) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "value", value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ConstantArray is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConstantArray) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def dtype(self) -> str:
        return str(self.value.dtype.name)

    def __str__(self) -> str:
        return self.key

    def __repr__(self) -> str:
        return f"ConstantArray({self.key})"


# every snapshot some term still refers to, by key: decoding an e-graph finds the value again
_LIVE: weakref.WeakValueDictionary[str, ConstantArray] = weakref.WeakValueDictionary()


def constant_array(array: np.ndarray[Any, Any], where: str = "") -> ConstantArray:
    """The constant for ``array`` (a copy, read-only); equal contents give the same object."""
    dtype = dtypes.canonical(array.dtype, f"a NumPy array used inside the traced function{where}: ")
    snapshot = np.array(array, dtype=dtype, order="C", copy=True)
    snapshot.flags.writeable = False
    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"{dtype}{snapshot.shape}".encode())
    digest.update(snapshot.tobytes())
    key = f"c{digest.hexdigest()}"
    found = _LIVE.get(key)
    if found is None:
        found = ConstantArray(key, snapshot)
        _LIVE[key] = found
    return found


def lookup(key: str) -> ConstantArray:
    """The live constant with ``key`` (the e-graph knows constants only by key)."""
    found = _LIVE.get(key)
    if found is None:
        raise KeyError(f"no live array constant {key!r}: the program that used it was freed")
    return found
