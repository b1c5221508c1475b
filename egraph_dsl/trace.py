"""Lazy tracing of unmodified NumPy code into terms.

A :class:`LazyArray` stands for an array that is not computed yet. It implements NumPy's
``__array_ufunc__`` and ``__array_function__`` protocols, so ``np.exp(x)``, ``X @ w``,
``np.sum(a, axis=1)`` and ``np.where`` build terms instead of computing. Broadcasting and dtype
promotion become explicit ``broadcast_to`` and ``astype`` terms here (as in a jaxpr), so every
elementwise op sees operands of one shape and one dtype. Anything without an op in the table
raises :class:`UnsupportedOperationError` naming it and the user's source line; nothing is ever
evaluated eagerly behind the user's back.
"""

from __future__ import annotations

import contextvars
import dis
import inspect
import linecache
import math
import operator
import os
import sys
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import dtypes, ops
from .constants import constant_array
from .errors import (
    DTypeError,
    IntegerPowerError,
    ScalarOverflowError,
    ShapeError,
    TraceError,
    UnsupportedOperationError,
)
from .program import Program
from .term import Term, const, input_, make

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__))


def user_location() -> str:
    """``file:line: code`` of the innermost frame outside egraph-dsl and NumPy."""
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not (path.startswith(_PACKAGE_DIR) or path.startswith(_NUMPY_DIR) or "/scipy/" in path):
            line = linecache.getline(path, frame.f_lineno).strip()
            return f"{frame.f_code.co_filename}:{frame.f_lineno}: {line}" if line else (
                f"{frame.f_code.co_filename}:{frame.f_lineno}")
        frame = frame.f_back  # type: ignore[assignment]
    return "<unknown location>"


_STORES = frozenset({"STORE_SUBSCR", "STORE_SLICE"})
_SHUFFLES = frozenset({"SWAP", "COPY", "ROT_TWO", "ROT_THREE", "ROT_FOUR", "CACHE", "NOP"})


def _user_instructions() -> tuple[str, list[str]] | None:
    """The opname of the instruction the user's frame is executing and those after it."""
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not (path.startswith(_PACKAGE_DIR) or path.startswith(_NUMPY_DIR)):
            names = [(i.offset, i.opname) for i in dis.get_instructions(frame.f_code)]
            at = next((k for k, (offset, _) in enumerate(names) if offset == frame.f_lasti), None)
            return None if at is None else (names[at][1], [n for _, n in names[at + 1:at + 8]])
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _storing_into_numpy_array() -> bool:
    """Whether the user's line is executing ``a[key] = value`` (NumPy converts the value to an array)."""
    found = _user_instructions()
    return found is not None and found[0] in _STORES


def _augmented_subscript() -> bool:
    """Whether the user's line is ``a[key] op= value``: Python stores the result back with a[key] = ..."""
    found = _user_instructions()
    if found is None:
        return False
    following = [n for n in found[1] if n not in _SHUFFLES]
    return bool(following) and following[0] in _STORES


def _where() -> str:
    return f" (at {user_location()})"


Operand = Any  # LazyArray | python/numpy scalar | np.ndarray


WeakKind = type | None  # bool, int or float for a weakly typed Python scalar; None for arrays
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class WideInt(int):
    """The weak kind of a Python int argument outside int32's range: NumPy refuses to convert it
    to int32, so an op that would is refused at trace time (the jit cache tells the two apart)."""


class LazyArray:
    """An array under tracing: a term plus, for a weakly typed Python scalar, its Python type.

    NumPy 2 (NEP 50) lets a Python ``bool``/``int``/``float`` take the dtype of the array it is
    combined with, as long as the value's kind fits (``int32_array * 2`` stays int32,
    ``int_array * 2.5`` becomes float64); ``weak_kind`` keeps what promotion needs of that.

    ``array0d`` marks a 0-d *ndarray* (a 0-d argument, or a view of one); every other 0-d value
    is what NumPy holds as a NumPy scalar (results of ufuncs and full reductions), whose ``**``
    is C's ``pow`` rather than the array loop's shortcuts (see :func:`power`).
    """

    __slots__ = ("__weakref__", "array0d", "stale", "term", "views", "weak_kind", "writable")
    __array_priority__ = 1000

    def __init__(self, term: Term, weak_kind: WeakKind = None, array0d: bool = False, fresh: bool = False) -> None:
        self.term = term
        self.weak_kind = weak_kind
        self.array0d = array0d and not term.shape
        self.stale = False  # a view of an array written into since: NumPy's view would show the write
        self.views: list[weakref.ref[LazyArray]] = []
        self.writable = False
        aliases = _ALIASES.get()
        if aliases is not None:
            aliases.note(self, fresh)

    @property
    def weak_scalar(self) -> bool:
        return self.weak_kind is not None

    # ----------------------------------------------------------------- array attributes
    @property
    def shape(self) -> tuple[int, ...]:
        return self.term.shape or ()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return self.term.size

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(self.term.dtype or "float64")

    @property
    def T(self) -> LazyArray:
        return transpose(self)

    @property
    def mT(self) -> LazyArray:
        if self.ndim < 2:
            raise ShapeError(f"mT needs at least 2 dimensions, got shape {self.shape}{_where()}")
        axes = (*tuple(range(self.ndim - 2)), self.ndim - 1, self.ndim - 2)
        return transpose(self, axes)

    def __repr__(self) -> str:
        return f"LazyArray({self.term.op}, shape={self.shape}, dtype={self.dtype})"

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    # ------------------------------------------------------- things that cannot be traced
    def _refuse(self, what: str, hint: str) -> TraceError:
        return TraceError(f"{what} on a traced array is not supported{_where()}; {hint}")

    def __bool__(self) -> bool:
        raise self._refuse("bool() (an `if`, `and`, `or` or `while` on array values)",
                           "data-dependent control flow cannot be traced: use np.where")

    def __float__(self) -> float:
        raise self._refuse("float()", "keep the value as an array; the result is computed later")

    def __int__(self) -> int:
        raise self._refuse("int()", "keep the value as an array")

    def __index__(self) -> int:
        raise self._refuse("using a traced array as an index of a concrete array or a list",
                           "index a concrete array A by traced indices i as egraph_dsl.constant(A)[i]")

    def __iter__(self) -> Any:
        raise self._refuse("iteration", "use vectorized NumPy operations instead of a Python loop")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray[Any, Any]:
        if _storing_into_numpy_array():
            raise UnsupportedOperationError(
                f"writing a traced value into a NumPy array (out[...] = v with out made by np.zeros, np.ones, "
                f"np.empty, ... or closed over){_where()}: a NumPy array cannot hold a traced value; create it as a "
                "traced array: np.zeros(n, like=v) (any creation function takes like=), np.zeros_like(v, shape=n), "
                "or v.copy(); the write is then a functional update")
        raise self._refuse(
            "conversion to a concrete NumPy array (np.asarray, or a function egraph-dsl does not "
            "trace, e.g. from scipy or math)",
            "use NumPy functions from the supported set (see egraph_dsl.ops.OPS), "
            "or egraph_dsl.sigmoid / softplus / logsumexp; to index a concrete array A by traced "
            "indices i, write egraph_dsl.constant(A)[i]",
        )

    def __getitem__(self, key: object) -> LazyArray:
        return _handler(operator.getitem)(lift(self), key)  # type: ignore[no-any-return]

    def __setitem__(self, key: object, value: object) -> None:
        _handler(operator.setitem)(self, key, value)

    def _inplace(self, op: str, other: Operand) -> LazyArray:
        """``x op= y``: in place for an array the function created, as NumPy (its views see it)."""
        if not self.writable and not self.shape and not self.array0d:
            return apply_operator(op, self, other)  # a NumPy or Python scalar: += rebinds the name
        if not self.writable and _augmented_subscript():  # out[key] += v: the store writes it into out
            return apply_operator(op, self, other)
        symbol = ops.spec(op).symbol or op
        check_writable(self, f"an in-place operator ({symbol}=)")
        result = apply_operator(op, self, other)
        if result.shape != self.shape:
            raise ShapeError(f"in-place {symbol}=: non-broadcastable output operand with shape {self.shape} doesn't "
                             f"match the broadcast shape {result.shape}{_where()} (as NumPy); write x = x {symbol} y")
        t, dtype = result.term, str(self.term.dtype)
        if t.dtype != dtype:  # NumPy casts the result back into the array under the same_kind rule
            if not np.can_cast(np.dtype(str(t.dtype)), np.dtype(dtype), "same_kind"):
                raise DTypeError(f"in-place {symbol}=: Cannot cast ufunc output from {t.dtype} to {dtype} with "
                                 f"casting rule 'same_kind'{_where()} (as NumPy); write x = x {symbol} y")
            t = make("astype", [t], dtype=dtype)
        overwrite(self, t)
        return self

    def __iadd__(self, o: Operand) -> LazyArray: return self._inplace("add", o)
    def __isub__(self, o: Operand) -> LazyArray: return self._inplace("sub", o)
    def __imul__(self, o: Operand) -> LazyArray: return self._inplace("mul", o)
    def __itruediv__(self, o: Operand) -> LazyArray: return self._inplace("div", o)

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------- operators
    def __add__(self, o: Operand) -> LazyArray: return apply_operator("add", self, o)
    def __radd__(self, o: Operand) -> LazyArray: return apply_operator("add", o, self)
    def __sub__(self, o: Operand) -> LazyArray: return apply_operator("sub", self, o)
    def __rsub__(self, o: Operand) -> LazyArray: return apply_operator("sub", o, self)
    def __mul__(self, o: Operand) -> LazyArray: return apply_operator("mul", self, o)
    def __rmul__(self, o: Operand) -> LazyArray: return apply_operator("mul", o, self)
    def __truediv__(self, o: Operand) -> LazyArray: return apply_operator("div", self, o)
    def __rtruediv__(self, o: Operand) -> LazyArray: return apply_operator("div", o, self)
    def __pow__(self, o: Operand) -> LazyArray: return power(self, o, operator=True)
    def __rpow__(self, o: Operand) -> LazyArray: return power(o, self, operator=True)
    def __matmul__(self, o: Operand) -> LazyArray: return matmul(self, o)
    def __rmatmul__(self, o: Operand) -> LazyArray: return matmul(o, self)
    def __neg__(self) -> LazyArray: return apply_operator("neg", self)
    def __pos__(self) -> LazyArray: return positive(self)
    def __abs__(self) -> LazyArray: return apply_operator("abs", self)
    def __lt__(self, o: Operand) -> LazyArray: return apply_operator("less", self, o)
    def __le__(self, o: Operand) -> LazyArray: return apply_operator("less_equal", self, o)
    def __gt__(self, o: Operand) -> LazyArray: return apply_operator("greater", self, o)
    def __ge__(self, o: Operand) -> LazyArray: return apply_operator("greater_equal", self, o)
    def __eq__(self, o: Operand) -> LazyArray: return apply_operator("equal", self, o)  # type: ignore[override]
    def __ne__(self, o: Operand) -> LazyArray: return apply_operator("not_equal", self, o)  # type: ignore[override]

    def __floordiv__(self, o: Operand) -> LazyArray: return apply_operator("floor_divide", self, o)
    def __rfloordiv__(self, o: Operand) -> LazyArray: return apply_operator("floor_divide", o, self)
    def __mod__(self, o: Operand) -> LazyArray: return apply_operator("remainder", self, o)
    def __rmod__(self, o: Operand) -> LazyArray: return apply_operator("remainder", o, self)
    def __and__(self, o: Operand) -> LazyArray: return apply_operator("bitwise_and", self, o)
    def __rand__(self, o: Operand) -> LazyArray: return apply_operator("bitwise_and", o, self)
    def __or__(self, o: Operand) -> LazyArray: return apply_operator("bitwise_or", self, o)
    def __ror__(self, o: Operand) -> LazyArray: return apply_operator("bitwise_or", o, self)
    def __xor__(self, o: Operand) -> LazyArray: return apply_operator("bitwise_xor", self, o)
    def __rxor__(self, o: Operand) -> LazyArray: return apply_operator("bitwise_xor", o, self)
    def __invert__(self) -> LazyArray: return apply_operator("invert", self)

    def round(self, decimals: int = 0, out: Any = None) -> LazyArray:
        return round_(self, decimals, out)

    # ------------------------------------------------------------------- methods
    def sum(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> LazyArray:
        return reduce_("sum", self, axis, keepdims, kw)

    def mean(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> LazyArray:
        return reduce_("mean", self, axis, keepdims, kw)

    def max(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> LazyArray:
        return reduce_("max", self, axis, keepdims, kw)

    def min(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> LazyArray:
        return reduce_("min", self, axis, keepdims, kw)

    # ndarray methods that are NumPy functions of egraph_dsl/reductions.py (ndarray.ptp is gone in NumPy 2)
    def prod(self, *args: Any, **kw: Any) -> Any: return _handler(np.prod)(self, *args, **kw)
    def var(self, *args: Any, **kw: Any) -> Any: return _handler(np.var)(self, *args, **kw)
    def std(self, *args: Any, **kw: Any) -> Any: return _handler(np.std)(self, *args, **kw)
    def argmax(self, *args: Any, **kw: Any) -> Any: return _handler(np.argmax)(self, *args, **kw)
    def argmin(self, *args: Any, **kw: Any) -> Any: return _handler(np.argmin)(self, *args, **kw)
    def any(self, *args: Any, **kw: Any) -> Any: return _handler(np.any)(self, *args, **kw)
    def all(self, *args: Any, **kw: Any) -> Any: return _handler(np.all)(self, *args, **kw)
    def cumsum(self, *args: Any, **kw: Any) -> Any: return _handler(np.cumsum)(self, *args, **kw)
    def cumprod(self, *args: Any, **kw: Any) -> Any: return _handler(np.cumprod)(self, *args, **kw)
    def argsort(self, *args: Any, **kw: Any) -> Any: return _handler(np.argsort)(self, *args, **kw)

    def sort(self, *args: Any, **kw: Any) -> None:
        """ndarray.sort: in place, on an array the function created (egraph_dsl/sorting.py)."""
        _handler(LazyArray.sort)(self, *args, **kw)

    def reshape(self, *shape: Any, **kw: Any) -> LazyArray:
        return reshape(self, shape[0] if len(shape) == 1 else shape, **kw)

    def astype(self, dtype: Any, **kw: Any) -> LazyArray:
        return LazyArray(astype(self, dtype).term, fresh=True)  # a copy, as ndarray.astype makes by default

    def copy(self, order: str = "C") -> LazyArray:
        return _handler(np.copy)(self)  # type: ignore[no-any-return]

    def transpose(self, *axes: Any) -> LazyArray:
        return transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def dot(self, other: Operand) -> LazyArray:
        return _dot(self, other)

    def trace(self, **kw: Any) -> LazyArray:
        return trace(self, **kw)

    def diagonal(self, **kw: Any) -> LazyArray:
        return diagonal(self, **kw)

    def clip(self, lo: Operand = None, hi: Operand = None) -> LazyArray:
        return clip(self, lo, hi)

    # ndarray methods that are NumPy functions of egraph_dsl/indexing.py and egraph_dsl/layout.py
    def take(self, indices: Operand, axis: Any = None, out: Any = None, mode: Any = None) -> LazyArray:
        return _handler(np.take)(self, indices, axis, out, mode)  # type: ignore[no-any-return]

    def ravel(self, order: str = "C") -> LazyArray:
        return _handler(np.ravel)(self, order)  # type: ignore[no-any-return]

    def flatten(self, order: str = "C") -> LazyArray:
        return _handler(np.ravel)(self, order)  # type: ignore[no-any-return]  # a copy in NumPy; traced results are fresh

    def squeeze(self, axis: Any = None) -> LazyArray:
        return _handler(np.squeeze)(self, axis)  # type: ignore[no-any-return]

    def swapaxes(self, axis1: Any, axis2: Any) -> LazyArray:
        return _handler(np.swapaxes)(self, axis1, axis2)  # type: ignore[no-any-return]

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable[..., Any], types: Any, args: Any, kwargs: Any) -> Any:
        found = _FUNCTIONS.get(func)
        if found is None:
            name = getattr(func, "__name__", repr(func))
            raise UnsupportedOperationError(
                f"np.{name} is not supported by egraph-dsl's tracer{_where()}; "
                f"supported NumPy functions: {', '.join(sorted(f.__name__ for f in _FUNCTIONS if f is not operator.getitem))}"
            )
        return found(*args, **kwargs)


# ---------------------------------------------------------------------- operand handling


_EXACT_INT = 2**53  # weak constants are stored as float64: larger integers would be rounded


def _int_constant(value: int, what: str) -> Term:
    if abs(value) > _EXACT_INT:
        raise ScalarOverflowError(
            f"the integer {value} used as a constant{_where()} is larger than 2**53 and cannot be stored "
            f"exactly in a compiled program; pass it as an argument instead (e.g. np.int64({value}))")
    return const(float(value))


def lift(x: Operand, what: str = "operand") -> LazyArray:
    """A traced operand: LazyArrays as they are, Python scalars as weak constants, NumPy scalars
    as strong 0-d constants of their dtype (as NumPy 2 treats them).

    Concrete NumPy arrays (closed over, or created at trace time) become array constants: a
    read-only copy taken now, as JAX does (see :mod:`egraph_dsl.constants`).
    """
    if isinstance(x, LazyArray):
        if x.stale:
            raise TraceError(f"a view (a slice, reshape or transpose) of an array that was written into after the "
                             f"view was taken is used{_where()}: NumPy's view would show the write, which a traced "
                             "program cannot; take the view after the last write, or copy it (.copy()) before")
        return x
    if isinstance(x, np.ndarray) and x.ndim == 0 and type(x) is np.ndarray:
        x = x[()]  # NumPy hands scalars to __array_ufunc__ as 0-d arrays: a strong scalar
    if isinstance(x, np.generic):  # before the Python types: np.float64 is a float subclass
        dt = dtypes.canonical(x.dtype, f"a NumPy scalar {what}{_where()}: ")
        value = _int_constant(int(x), what) if dtypes.is_integer(dt) else const(float(x))
        return LazyArray(make("broadcast_to", [make("astype", [value], dtype=dt)], shape=()))
    if isinstance(x, bool):
        return LazyArray(const(float(x)), weak_kind=bool)
    if isinstance(x, int):
        return LazyArray(_int_constant(x, what), weak_kind=int)
    if isinstance(x, float):
        return LazyArray(const(x), weak_kind=float)
    if isinstance(x, np.ndarray):
        if type(x) is not np.ndarray:
            raise TraceError(f"{subclass_message(x, 'closed over')}{_where()}")
        # data the function closes over (or hands to NumPy): a constant, by value at trace time
        return LazyArray(make("array_const", array=constant_array(x, _where())))
    if isinstance(x, complex):
        raise DTypeError(f"complex numbers are not supported{_where()}")
    raise TraceError(f"cannot trace a {type(x).__name__} {what} ({x!r}){_where()}")


_TRACING: contextvars.ContextVar[int] = contextvars.ContextVar("egraph_dsl_tracing", default=0)

_VIEW_CHAIN = frozenset({"slice", "reshape", "transpose", "broadcast_to", "diagonal"})


def _view_root(t: Term) -> Term:
    """The term ``t`` is a view of: through slices, reshapes, transposes, broadcasts and diagonals."""
    while t.op in _VIEW_CHAIN:
        t = t.args[0]
    return t


class Aliases:
    """Which traced arrays may be written into, and the views taken of them (one per trace).

    An array the function computed (a ufunc's result, ``np.zeros(n, like=x)``, ``x.copy()``) owns
    its memory: ``out[idx] = v``, ``np.add.at(out, idx, v)`` and ``out += v`` replace its term (a
    functional update). A LazyArray whose term is a view of such an array's term (``out[1:]``,
    ``out.T``, or the same term again) is noted as its view: it is not writable, and a write into
    the array marks it stale, so that using it afterwards (when NumPy's view would show the write)
    is an error. Arguments, closed-over constants and their views are never writable.
    """

    def __init__(self) -> None:
        self._holders: dict[Term, list[weakref.ref[LazyArray]]] = {}

    def note(self, x: LazyArray, fresh: bool = False) -> None:
        """Note a new LazyArray: a view of a writable array, a writable array, or neither.
        ``fresh``: an array the function created (np.zeros(n, like=x), x.copy()): writable."""
        t = x.term
        if fresh and not t.weak:
            x.writable = True
            self._holders.setdefault(t, []).append(weakref.ref(x))
            return
        if t.weak or not t.shape:
            return
        root = _view_root(t)
        live = [h for h in self._holders.get(root, ()) if h() is not None]
        if live:
            for h in live:
                holder = h()
                if holder is not None:
                    holder.views.append(weakref.ref(x))
            return
        if root is t and t.op not in ("input", "array_const", "const"):
            x.writable = True
            self._holders.setdefault(t, []).append(weakref.ref(x))

    def moved(self, x: LazyArray, old: Term) -> None:
        """``x`` was written into: its term changed from ``old``; its views are stale now."""
        self._holders[old] = [h for h in self._holders.get(old, ()) if h() is not None and h() is not x]
        self._holders.setdefault(x.term, []).append(weakref.ref(x))
        for v in x.views:
            view = v()
            if view is not None:
                view.stale = True
        x.views = []


_ALIASES: contextvars.ContextVar[Aliases | None] = contextvars.ContextVar("egraph_dsl_aliases", default=None)
"""The trace's aliases; None outside a trace, where nothing is writable (LazyArrays built there are
not the user's arrays)."""


def check_writable(x: LazyArray, what: str) -> None:
    """A clear error unless ``x`` is an array the function created and may write into."""
    if x.writable:
        return
    root = _view_root(x.term).op
    if root == "input":
        raise UnsupportedOperationError(
            f"{what} writes into an argument (or a view of one){_where()}; a traced function never modifies the "
            "caller's arrays: write into a copy (y = x.copy(); y[...] = v) and return it")
    if root == "array_const":
        raise UnsupportedOperationError(
            f"{what} writes into a NumPy array the function closed over or created with NumPy{_where()}; it is a "
            "constant of the traced program: create the array from a traced one (np.zeros(n, like=x), "
            "np.zeros_like(x), x.copy())")
    raise UnsupportedOperationError(
        f"{what} writes into a view of another array (a slice, reshape, transpose, broadcast, or the same array "
        f"under another name){_where()}; NumPy would write through to that array, which a traced program cannot: "
        "write into the array itself (out[i, :k] = v, not out[i][:k] = v)")


def overwrite(x: LazyArray, term: Term) -> None:
    """Replace the value of the writable array ``x`` (a functional update); its views go stale."""
    old = x.term
    x.term = term
    aliases = _ALIASES.get()
    if aliases is not None:  # always, within a trace: only a trace makes arrays writable
        aliases.moved(x, old)


def constant(x: Any) -> Any:
    """While tracing, a concrete array as a traced constant (a read-only snapshot), e.g. to index
    it by traced indices: ``ed.constant(A)[i]`` (NumPy would try to make ``i`` a concrete array).
    Called outside a trace it is ``np.asarray(x)``, so the function still runs eagerly."""
    if isinstance(x, LazyArray):
        return x
    return lift(np.asarray(x), "constant") if _TRACING.get() else np.asarray(x)


def _probe(x: LazyArray) -> Any:
    """What NumPy's type resolution is given for an operand: a dtype, or ``int``/``float`` (weak)."""
    if x.weak_kind is WideInt:
        return int
    if x.weak_kind is int or x.weak_kind is float:
        return x.weak_kind
    if x.weak_kind is bool:
        return np.dtype(bool)  # the lowest kind: a weak bool promotes as a bool array would
    return np.dtype(x.term.dtype or "float64")


def default_dtype(kind: WeakKind) -> str:
    """NumPy's dtype for an array made from a Python scalar of this kind."""
    return "bool" if kind is bool else "int64" if kind is not None and issubclass(kind, int) else "float64"


def _supported(dtype: np.dtype[Any], op: str, operands: Sequence[LazyArray]) -> str:
    name = dtype.name
    if name not in dtypes.SUPPORTED:
        given = ", ".join(str(o.term.dtype) if o.weak_kind is None else o.weak_kind.__name__ for o in operands)
        raise DTypeError(f"{op} of ({given}) computes in {name} in NumPy, which egraph-dsl does not support"
                         f"{_where()}; cast the operands first, e.g. with .astype(np.float64)")
    return name


_PY_RANK: dict[Any, int] = {bool: 0, int: 1, float: 2}
_PY_BITWISE = frozenset({"bitwise_and", "bitwise_or", "bitwise_xor", "invert"})


def _python_kind(kind: WeakKind) -> WeakKind:
    return int if kind is WideInt else kind


def python_dtypes(op: str, operands: Sequence[LazyArray]) -> tuple[str, WeakKind]:
    """What a Python operator between Python scalars only computes in, and the Python type of
    its result (a weak scalar again): Python's rules, not NumPy's.

    ``True + True`` is the int 2, ``-True`` is -1, ``3 / 2`` is a float, ``2 ** -1`` is 0.5 and a
    comparison is a bool; the value computes in NumPy's default dtype for that type (int64 for
    ints, float64 for floats), and takes part in later promotion as a Python scalar would.
    """
    kinds = [_python_kind(o.weak_kind) for o in operands]
    top = max(kinds, key=lambda k: _PY_RANK[k])
    if ops.spec(op).result_dtype == "bool":  # comparisons: compare in the wider operand type
        return default_dtype(top), bool
    if op in _PY_BITWISE:
        if top is float:
            symbol = "~" if op == "invert" else ops.spec(op).symbol
            raise DTypeError(f"unsupported operand type(s) for {symbol}: "
                             f"{', '.join(repr(getattr(k, '__name__', k)) for k in kinds)} (as in Python){_where()}")
        if top is bool and op != "invert":  # True & False is the bool False; ~True is the int -2
            return "bool", bool
    negative_exponent = (op == "pow" and operands[1].term.op == "const"
                         and float(operands[1].term.attr["value"]) < 0)
    if top is float or op in ("div", "sqrt") or negative_exponent:
        return "float64", float
    # bool arithmetic gives ints; a value derived from an int beyond int32 may still be one
    kind: WeakKind = WideInt if any(o.weak_kind is WideInt for o in operands) else int
    return "int64", kind


def resolve_dtypes(op: str, operands: Sequence[LazyArray], function: bool = True,
                   resolver: np.ufunc | None = None) -> tuple[str, WeakKind]:
    """The dtype ``op`` computes in for these operands, as NumPy 2 resolves it, and the weak kind
    of the result.

    Ops that are NumPy ufuncs ask the ufunc itself (``np.add.resolve_dtypes``), so integer and
    boolean promotion, true division of ints, ``np.exp`` of ints and NumPy's refusals
    (``-`` on booleans) are NumPy's own. When every operand is a weak Python scalar, a Python
    operator (``function=False``) follows Python (:func:`python_dtypes`) and gives a weak scalar,
    while a NumPy function converts them to arrays of their default dtype and gives a strong
    NumPy scalar (``np.exp(3.0)`` is ``np.float64``, which then promotes a float32 array).
    ``resolver`` is the ufunc the user called when it is another spelling of the op (``np.fabs``
    for abs computes ints in float64) or a scipy.special ufunc: its own type resolution decides.
    """
    spec = ops.spec(op)
    all_weak = bool(operands) and all(o.weak_kind is not None for o in operands)
    if all_weak and not function:
        return python_dtypes(op, operands)
    if all_weak:
        probes: list[Any] = [np.dtype(default_dtype(o.weak_kind)) for o in operands]
    else:
        probes = [_probe(o) for o in operands]
    if resolver is not None or spec.ufunc is not None:
        ufunc = resolver if resolver is not None else getattr(np, str(spec.ufunc))
        try:
            loop = ufunc.resolve_dtypes((*probes, None))
        except TypeError as exc:  # NumPy's own refusal, e.g. negative of a bool array
            raise DTypeError(f"np.{ufunc.__name__}: {exc}{_where()}") from None
        computed = loop[0]
        if computed == np.float16 and spec.result_dtype == "bool":
            computed = np.dtype("float32")  # a predicate of bools (signbit) is the same on float32's exact copies
    else:  # where, sigmoid, softplus: NumPy's result_type; the float functions compute ints in float64
        values = [p(0) if p is int or p is float else p for p in probes]
        try:
            computed = np.result_type(*values)
        except TypeError as exc:
            raise DTypeError(f"{op}: cannot promote {values}{_where()}: {exc}") from None
        if op != "where" and computed.kind != "f":
            computed = np.dtype("float64")
    name = _supported(computed, op, operands)
    if dtypes.is_integer(name) and not _ints_fit(operands, np.dtype(name)):
        if spec.result_dtype != "bool":
            raise ScalarOverflowError(f"{op}: a Python integer operand is out of bounds for {name}{_where()} "
                                      "(NumPy raises OverflowError too)")
        name = "int64"  # NumPy compares out-of-range Python ints exactly; every weak int fits int64
    return name, None


def _ints_fit(operands: Sequence[LazyArray], dtype: np.dtype[Any]) -> bool:
    """Whether every weak integer constant is representable in ``dtype``."""
    info = np.iinfo(dtype)
    if dtype.itemsize < 8 and any(o.weak_kind is WideInt for o in operands):
        return False
    return all(info.min <= int(o.term.attr["value"]) <= info.max
               for o in operands if o.weak_kind is int and o.term.op == "const")


def _cast(x: LazyArray, dtype: str | None) -> Term:
    t = x.term
    if dtype is None or t.weak or t.dtype == dtype:
        return t
    return make("astype", [t], dtype=dtype)


def _broadcast(t: Term, shape: tuple[int, ...]) -> Term:
    if t.weak or t.shape == shape:
        return t
    return make("broadcast_to", [t], shape=shape)


def _out_shape(operands: Sequence[LazyArray], op: str) -> tuple[int, ...] | None:
    shapes = [o.term.shape for o in operands if o.term.shape is not None]
    if not shapes:
        return None
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(
            f"{op}: operands with shapes {', '.join(map(str, shapes))} cannot be broadcast together{_where()}"
        ) from None


def elementwise(op: str, *operands: Operand, function: bool = True, resolver: np.ufunc | None = None) -> LazyArray:
    """Apply an elementwise op with NumPy's broadcasting and promotion made explicit.

    ``function`` tells a NumPy function (``np.add(a, b)``) from a Python operator (``a + b``):
    they differ only when every operand is a Python scalar (see :func:`resolve_dtypes`).
    """
    lazy = [lift(o) for o in operands]
    is_where = op == "where"
    values = lazy[1:] if is_where else lazy
    dtype, weak = resolve_dtypes(op, values, function, resolver)
    if is_where:
        weak = None  # np.where returns an array
    shape = _out_shape(lazy, op)
    terms = [_broadcast(_cast(o, dtype), shape) if shape is not None else _cast(o, dtype) for o in values]
    if is_where:
        cond = lazy[0]
        if cond.term.dtype != "bool":
            cond_t = make("not_equal", [cond.term, const(0.0)]) if not cond.term.weak else cond.term
        else:
            cond_t = cond.term
        terms = [_broadcast(cond_t, shape) if shape is not None else cond_t, *terms]
    try:
        result = make(op, terms)
    except ShapeError as exc:
        raise ShapeError(f"{exc}{_where()}") from None
    if result.weak and all(t.op == "const" for t in terms):
        result = fold_constant(result)
        if weak is not None and issubclass(weak, int) and result.op == "const":
            _int_constant(int(result.attr["value"]), "result")  # as exact as an integer constant
    return LazyArray(result, weak_kind=weak)


def apply_operator(op: str, *operands: Operand) -> LazyArray:
    """A Python operator (``+``, ``<``, unary ``-``, ...): Python's rules between Python scalars."""
    return elementwise(op, *operands, function=False)


def positive(x: Operand) -> LazyArray:
    """Unary ``+``: a copy in NumPy (refused for bool arrays), an int for a Python bool."""
    lx = lift(x)
    if lx.weak_kind is bool:
        return LazyArray(_cast(lx, "int64"), weak_kind=int)
    if lx.weak_kind is None and lx.term.dtype == "bool":
        raise DTypeError(f"np.positive: unary + of a bool array is not supported by NumPy{_where()}")
    return lx


def fold_constant(t: Term) -> Term:
    """Evaluate an op on constants now (in float64); keep it unfolded if the value is not finite."""
    spec = ops.spec(t.op)
    values = [float(a.attr["value"]) for a in t.args]
    if t.op in _PY_BITWISE:  # integer-only ops: on the integer values (weak constants are integral here)
        if not all(v.is_integer() and abs(v) <= 2**53 for v in values):
            return t
        arguments: list[Any] = [np.int64(v) for v in values]
    else:
        arguments = [np.float64(v) for v in values]
    with np.errstate(all="ignore"):
        value = float(np.asarray(spec.impl(np, *arguments, **t.attr), dtype=np.float64))
    return const(value) if np.isfinite(value) else t


def power(base: Operand, exponent: Operand, operator: bool = False) -> LazyArray:
    """``base ** exponent`` with NumPy's shortcuts for 2, 1 and 0.5 (bit-identical to np.power).

    The ``**`` operator squares a bool array with ``np.square`` (giving int8), ``np.power``
    promotes it to int64 first; ``operator`` tells the two apart.
    """
    lb, le = lift(base), lift(exponent)
    numpy_scalar = operator and lb.ndim == 0 and lb.weak_kind is None and not lb.array0d  # ** is C's pow
    if operator and not numpy_scalar and lb.weak_kind is None and lb.term.dtype == "bool" and le.weak_kind is int \
            and le.term.op == "const" and le.term.attr["value"] == 2:
        return elementwise("square", lb)
    function = not operator
    dtype, weak = resolve_dtypes("pow", [lb, le], function)
    if le.term.op == "const" and not lb.term.weak:
        value = float(le.term.attr["value"])
        if not dtypes.is_float(dtype) and value < 0 and lb.size > 0:  # NumPy's loop raises, on no element none
            raise IntegerPowerError(f"Integers to negative integer powers are not allowed{_where()} "
                                    "(as in NumPy); use a float base, e.g. x.astype(np.float64) ** -1")
        cast = LazyArray(_cast(lb, dtype), weak_kind=weak)  # weak only for Python scalars ** a constant
        if value == 2:
            return elementwise("square", cast, function=function)
        if value == 1:
            return cast
        if value == 0.5 and dtypes.is_float(dtype) and numpy_scalar:
            # pow(-0.0, 0.5) is +0.0 and pow(-inf, 0.5) is +inf, where sqrt gives -0.0 and nan
            root = elementwise("add", elementwise("sqrt", cast, function=function), 0.0)
            return elementwise("where", elementwise("equal", cast, -math.inf), math.inf, root)
        if value == 0.5 and dtypes.is_float(dtype):
            return elementwise("sqrt", cast, function=function)
    return elementwise("pow", lb, le, function=function)


def reduce_(op: str, x: Operand, axis: Any = None, keepdims: bool = False, extra: dict[str, Any] | None = None,
            empty_ok: bool = False) -> LazyArray:
    extra = {k: v for k, v in (extra or {}).items() if v is not None}
    if extra.pop("out", None) is not None or extra:
        raise UnsupportedOperationError(f"{op}: unsupported keyword arguments {sorted(extra)}{_where()}")
    lx = lift(x)
    if lx.term.weak:
        raise TraceError(f"{op} of a Python scalar{_where()}; reduce an array instead")
    if lx.ndim == 0 and op != "mean" and isinstance(axis, (int, np.integer)) and int(axis) in (0, -1):
        axis = None  # NumPy's reductions (not np.mean) accept axis 0 or -1 on a 0-d array
    axes = ops.normalize_axis(axis, lx.ndim, op)
    empty = any(n == 0 for i, n in enumerate(lx.shape) if axes is None or i in axes)
    if op in ("max", "min", "logsumexp") and empty and not empty_ok:
        raise ShapeError(f"{op}: zero-size reduction over shape {lx.shape} has no identity{_where()}")
    t = lx.term
    if op in ("sum", "mean") and t.dtype in ("bool", "int32"):
        t = make("astype", [t], dtype="int64" if op == "sum" else "float64")
    elif op == "mean" and t.dtype == "int64":
        t = make("astype", [t], dtype="float64")
    elif op == "logsumexp" and not dtypes.is_float(t.dtype):
        t = make("astype", [t], dtype="float64")
    return LazyArray(make(op, [t], axis=axes, keepdims=bool(keepdims)))


def matmul(a: Operand, b: Operand) -> LazyArray:
    la, lb = lift(a), lift(b)
    if la.term.weak or lb.term.weak:
        raise ShapeError(f"matmul: scalar operands are not allowed (use *){_where()}")
    dtype = dtypes.promote(str(la.term.dtype), str(lb.term.dtype))
    try:
        return LazyArray(make("matmul", [_cast(la, dtype), _cast(lb, dtype)]))
    except ShapeError as exc:
        raise ShapeError(f"{exc}{_where()}") from None


def transpose(x: Operand, axes: Any = None) -> LazyArray:
    lx = lift(x)
    n = lx.ndim
    perm = tuple(reversed(range(n))) if axes is None else tuple(int(a) % n if n else int(a) for a in axes)
    if axes is not None and any(not -n <= int(a) < n for a in axes):
        raise ShapeError(f"transpose: axes {tuple(axes)!r} are out of bounds for {n} dimensions{_where()}")
    if sorted(perm) != list(range(n)):
        raise ShapeError(f"transpose: axes {axes!r} are not a permutation of {n} dimensions{_where()}")
    if perm == tuple(range(n)):
        return lx
    return LazyArray(make("transpose", [lx.term], axes=perm), array0d=lx.array0d)


def reshape(x: Operand, shape: Any, order: str = "C", **kw: Any) -> LazyArray:
    if order != "C":
        raise UnsupportedOperationError(f"reshape with order={order!r}; only 'C' is supported{_where()}")
    lx = lift(x)
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    dims = tuple(int(d) for d in dims)
    size = lx.size
    if dims.count(-1) > 1:
        raise ShapeError(f"reshape: can only specify one unknown dimension, got {dims}{_where()}")
    if -1 in dims:
        known = int(np.prod([d for d in dims if d != -1]))
        if known == 0 or size % known:
            raise ShapeError(f"reshape: cannot reshape array of size {size} into shape {dims}{_where()}")
        dims = tuple(size // known if d == -1 else d for d in dims)
    if int(np.prod(dims)) != size:
        raise ShapeError(f"reshape: cannot reshape array of size {size} into shape {dims}{_where()}")
    if dims == lx.shape:
        return lx
    return LazyArray(make("reshape", [lx.term], shape=dims), array0d=lx.array0d)


def broadcast_to(x: Operand, shape: Any, **kw: Any) -> LazyArray:
    lx = lift(x)
    dims = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    try:
        target = np.broadcast_shapes(lx.shape, dims)
    except ValueError:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {lx.shape} to {dims}{_where()}") from None
    if target != dims:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {lx.shape} to {dims}{_where()}")
    if lx.term.weak:  # a Python scalar becomes an array of NumPy's default dtype for its kind
        default = default_dtype(lx.weak_kind)
        return LazyArray(make("broadcast_to", [make("astype", [lx.term], dtype=default)], shape=dims), array0d=True)
    return LazyArray(_broadcast(lx.term, dims), array0d=True)  # np.broadcast_to returns an ndarray


def astype(x: Operand, dtype: Any) -> LazyArray:
    lx = lift(x)
    dt = dtypes.canonical(dtype, f"astype{_where()}: ")
    if lx.term.dtype == dt and not lx.term.weak:
        return lx
    return LazyArray(make("astype", [lx.term], dtype=dt))


def trace(x: Operand, offset: int = 0, axis1: int = 0, axis2: int = 1, **kw: Any) -> LazyArray:
    lx = lift(x)
    if offset or (axis1, axis2) != (0, 1) or lx.ndim != 2:
        raise UnsupportedOperationError(f"trace: only the main diagonal of a 2-D array is supported{_where()}")
    return LazyArray(make("trace", [lx.term]))


def diagonal(x: Operand, offset: int = 0, axis1: int = 0, axis2: int = 1, **kw: Any) -> LazyArray:
    lx = lift(x)
    if offset or (axis1, axis2) != (0, 1) or lx.ndim != 2:
        raise UnsupportedOperationError(f"diagonal: only the main diagonal of a 2-D array is supported{_where()}")
    return LazyArray(make("diagonal", [lx.term]))


def clip(x: Operand, lo: Operand = None, hi: Operand = None, **kw: Any) -> LazyArray:
    out = lift(x)
    if lo is not None:
        out = elementwise("maximum", out, lo)
    if hi is not None:
        out = elementwise("minimum", out, hi)
    return _strong(out)  # np.clip(3, None, None) is a NumPy scalar too


def round_(x: Operand, decimals: Any = 0, out: Any = None) -> LazyArray:
    """np.round / np.around / ndarray.round with ``decimals=0``: np.rint for floats (ties to even),
    the integers themselves (NumPy returns them unchanged); bools compute in float16 in NumPy."""
    if out is not None:
        raise UnsupportedOperationError(f"np.round(..., out=...) writes into an array{_where()}: drop out=")
    if not isinstance(decimals, (int, np.integer)) or int(decimals) != 0:
        raise UnsupportedOperationError(f"np.round with decimals={decimals!r}: only decimals=0 (np.rint) is "
                                        f"supported{_where()}")
    lx = _strong(lift(x))
    if dtypes.is_integer(lx.term.dtype):
        return lx
    return elementwise("rint", lx)


def _eager_float(x: Any) -> np.ndarray[Any, Any]:
    """An eager argument as the traced op sees it: float arrays keep their dtype, the rest float64."""
    arr = np.asarray(x)
    return arr if arr.dtype.kind == "f" and arr.dtype.name in dtypes.FLOATS else arr.astype(np.float64)


def sigmoid(x: Operand) -> Any:
    """scipy.special.expit; traces to one op, and runs eagerly on plain arrays."""
    if isinstance(x, LazyArray):
        return elementwise("sigmoid", x)
    return ops.spec("sigmoid").impl(np, _eager_float(x))


def softplus(x: Operand) -> Any:
    """log(1 + exp(x)), accurate for every x."""
    if isinstance(x, LazyArray):
        return elementwise("softplus", x)
    return ops.spec("softplus").impl(np, _eager_float(x))


def logsumexp(x: Operand, axis: Any = None, keepdims: bool = False) -> Any:
    """log(sum(exp(x), axis)), stable; traces to one op. Over an empty axis it is log(0) = -inf, as
    scipy.special.logsumexp gives (np.logaddexp.reduce, which has no identity, raises there)."""
    if isinstance(x, LazyArray):
        return reduce_("logsumexp", x, axis, keepdims, empty_ok=True)
    arr = _eager_float(x)
    axes = ops.normalize_axis(axis, arr.ndim, "logsumexp")
    return ops.spec("logsumexp").impl(np, arr, axis=axes, keepdims=keepdims)


# ------------------------------------------------------------------ NumPy protocol tables

_UFUNCS = ops.NUMPY_UFUNCS  # ufunc.__name__ -> op, from the op table's declarations
_SCIPY_UFUNCS = ops.SCIPY_UFUNCS  # scipy.special ufunc names -> op


def _ufunc_op(ufunc: np.ufunc) -> str | None:
    """The op a ufunc traces to: NumPy's own ufuncs by name, scipy.special's when it is that ufunc
    (scipy.special is already imported if the user called one of its ufuncs; never imported here)."""
    name = ufunc.__name__
    if getattr(np, name, None) is ufunc or name in ("true_divide",):
        return _UFUNCS.get(name)
    special = sys.modules.get("scipy.special")
    if special is not None and name in _SCIPY_UFUNCS and getattr(special, name, None) is ufunc:
        return _SCIPY_UFUNCS[name]
    return None


def _int_reciprocal(x: LazyArray) -> LazyArray:
    """np.reciprocal of integers, as NumPy's loop computes it: C's 1 / x (1 and -1 keep their value,
    every other nonzero x gives 0) and the most negative integer for x = 0."""
    dtype = str(x.term.dtype)
    lowest = float(np.iinfo(np.dtype(dtype)).min)
    strong = _strong(x)
    unit = elementwise("logical_or", elementwise("equal", strong, 1), elementwise("equal", strong, -1))
    zero = LazyArray(make("broadcast_to", [make("astype", [const(0.0)], dtype=dtype)], shape=strong.shape))
    low = LazyArray(make("broadcast_to", [make("astype", [const(lowest)], dtype=dtype)], shape=strong.shape))
    return elementwise("where", elementwise("equal", strong, 0), low, elementwise("where", unit, strong, zero))
_REDUCING_UFUNCS = {"add": "sum", "maximum": "max", "minimum": "min", "logaddexp": "logsumexp"}


def _array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    name = ufunc.__name__
    if kwargs.get("out") is not None:
        raise UnsupportedOperationError(f"np.{name}(..., out=...) writes into an array; tracing needs "
                                        f"pure functions{_where()}: drop out=")
    extra = {k: v for k, v in kwargs.items() if k not in ("out",) and v is not None}
    if method == "reduce" and name in _REDUCING_UFUNCS and not set(extra) - {"axis", "keepdims"}:
        # ufunc.reduce reduces axis 0 by default, and every axis for an explicit axis=None
        return reduce_(_REDUCING_UFUNCS[name], inputs[0], kwargs.get("axis", 0), extra.get("keepdims", False))
    if method == "at" and getattr(ufunc, "at", None) in _FUNCTIONS:
        return _FUNCTIONS[ufunc.at](*inputs, **kwargs)
    if method != "__call__":
        raise UnsupportedOperationError(f"np.{name}.{method} is not supported{_where()}"
                                        + ("; np.add.at is" if method == "at" else ""))
    if extra:
        raise UnsupportedOperationError(f"np.{name}: keyword arguments {sorted(extra)} are not supported{_where()}")
    if name == "matmul":
        return matmul(*inputs)
    if name == "power" and ufunc is np.power:
        return power(*inputs)
    if name == "divmod" and ufunc is np.divmod:  # the same loops as // and % (npy_divmod)
        return elementwise("floor_divide", *inputs), elementwise("remainder", *inputs)
    if name == "modf" and ufunc is np.modf:
        return _modf(inputs[0])
    if name == "positive" and ufunc is np.positive:
        return _strong(positive(inputs[0]))
    op = _ufunc_op(ufunc)
    if op is None:
        special = sys.modules.get("scipy.special")
        where = "scipy.special" if special is not None and getattr(special, name, None) is ufunc else "np"
        raise UnsupportedOperationError(
            f"{where}.{name} is not supported by egraph-dsl's tracer{_where()}; "
            f"supported ufuncs: {', '.join(sorted(_UFUNCS))}; from scipy.special: {', '.join(sorted(_SCIPY_UFUNCS))}"
        )
    if op == "reciprocal" and len(inputs) == 1:
        x = lift(inputs[0])
        dtype, _ = resolve_dtypes("reciprocal", [x], True, ufunc)
        if dtypes.is_integer(dtype):
            return _int_reciprocal(LazyArray(_cast(x, dtype), array0d=x.array0d))
    return elementwise(op, *inputs, resolver=ufunc)


def _modf(x: Operand) -> tuple[LazyArray, LazyArray]:
    """np.modf: (the fractional part, the integral part), both with x's sign: fmod(x, 1) is exact
    and keeps -0.0; at +-inf the fraction is a zero of inf's sign."""
    lx = _strong(lift(x))
    dtype = _supported(np.modf.resolve_dtypes((_probe(lx), None, None))[0], "modf", [lx])
    cast = LazyArray(_cast(lx, dtype))
    zero = elementwise("copysign", 0.0, cast)
    frac = elementwise("where", elementwise("isinf", cast), zero, elementwise("fmod", cast, 1.0))
    return frac, elementwise("trunc", cast)


def _reduction(op: str) -> Callable[..., LazyArray]:
    def handler(a: Operand, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
                **kw: Any) -> LazyArray:
        if dtype is not None:
            a = astype(a, dtype)
        return reduce_(op, a, axis, keepdims, {"out": out, **kw})
    return handler


def _extremum(op: str) -> Callable[..., LazyArray]:
    """np.max / np.min: (a, axis, out, keepdims), no dtype argument."""
    def handler(a: Operand, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> LazyArray:
        return reduce_(op, a, axis, keepdims, {"out": out, **kw})
    return handler


def _where_fn(cond: Operand, x: Operand = None, y: Operand = None) -> LazyArray:
    if x is None or y is None:
        raise UnsupportedOperationError(f"np.where with one argument (indices) is not supported{_where()}")
    return elementwise("where", cond, x, y)


def _strong(x: LazyArray) -> LazyArray:
    """A Python scalar as np.asarray makes it: a 0-d array of NumPy's default dtype for its type."""
    if x.weak_kind is None:
        return x
    if x.term.weak:
        return LazyArray(make("broadcast_to", [make("astype", [x.term], dtype=default_dtype(x.weak_kind))], shape=()))
    return LazyArray(x.term)  # an argument, or a value computed from them: already of that dtype


def _dot(a: Operand, b: Operand, out: Any = None) -> LazyArray:
    """np.dot. With a 0-d operand it multiplies, exactly as NumPy does (see :func:`_scalar_dot`)."""
    if out is not None:
        raise UnsupportedOperationError(f"np.dot(..., out=...) writes into an array{_where()}: drop out=")
    la, lb = lift(a), lift(b)
    if la.ndim == 0 or lb.ndim == 0:
        return _scalar_dot(_strong(la), _strong(lb))
    if la.ndim > 2 or lb.ndim > 2:
        raise UnsupportedOperationError(f"np.dot of arrays with more than 2 dimensions; use np.matmul{_where()}")
    result = matmul(la, lb)
    if la.shape[-1] == 1 and result.size == 1 and dtypes.is_float(str(result.term.dtype)):
        # one product, no sum: BLAS hands it back as it is (-0.0 stays -0.0) where matmul adds it to 0.0
        product = elementwise("mul", reshape(la, ()), reshape(lb, ()), function=True)
        return reshape(product, result.shape)
    return result


def _scalar_dot(la: LazyArray, lb: LazyArray) -> LazyArray:
    """np.dot with a 0-d operand: Python scalars are strong here (np.dot converts its operands to
    arrays first), and the product is computed as NumPy computes it.

    For float dtypes with the other operand of 1 or 2 dimensions and more than one element,
    NumPy calls BLAS ``axpy`` into a zeroed result: ``0.0 + s * x``, so ``-0.0`` becomes
    ``+0.0``, and when ``s == 0`` axpy returns at once, leaving ``+0.0`` everywhere (even where
    ``x`` is nan or inf). Otherwise (integers, bools, a single element, 0-d or more than 2-D) it
    is the plain product ``s * x``.
    """
    product = elementwise("mul", la, lb)
    scalar, other = (la, lb) if la.ndim == 0 else (lb, la)
    if not dtypes.is_float(product.term.dtype) or not 1 <= other.ndim <= 2 or other.size <= 1:
        return product
    dtype = str(product.term.dtype)
    zeros = LazyArray(make("broadcast_to", [make("astype", [const(0.0)], dtype=dtype)], shape=product.shape))
    summed = elementwise("add", product, 0.0)
    value = _constant_value(scalar.term)
    if value is not None:
        return zeros if value == 0 else summed
    return elementwise("where", elementwise("equal", scalar, 0.0), zeros, summed)


def _constant_value(t: Term) -> float | None:
    """The value of a constant (bare, cast or broadcast), or None if it is computed at run time."""
    while t.op in ("astype", "broadcast_to"):
        t = t.args[0]
    return float(t.attr["value"]) if t.op == "const" else None


_FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {
    np.sum: _reduction("sum"), np.mean: _reduction("mean"), np.max: _extremum("max"),
    np.amax: _extremum("max"), np.min: _extremum("min"), np.amin: _extremum("min"),
    np.where: _where_fn, np.dot: _dot, np.matmul: matmul, np.transpose: transpose,
    np.reshape: reshape, np.broadcast_to: broadcast_to, np.trace: trace, np.diagonal: diagonal,
    np.clip: clip, np.round: round_, np.around: round_,
    np.shape: lambda a: lift(a).shape, np.ndim: lambda a: lift(a).ndim, np.size: lambda a: lift(a).size,
}
"""NumPy functions (and ``operator.getitem``, for ``x[key]``) -> the handler that traces them. The handlers of
this module are listed here; indexing.py, layout.py and reductions.py build on LazyArray, so they add theirs
with :func:`register_functions` (the package's ``__init__`` imports them: the table is complete whenever
``egraph_dsl`` is imported)."""


def register_functions(table: dict[Callable[..., Any], Callable[..., Any]]) -> None:
    """Add tracing handlers for NumPy functions; a function that already has one is an error."""
    taken = sorted(getattr(f, "__name__", repr(f)) for f in table if f in _FUNCTIONS)
    if taken:
        raise TraceError(f"register_functions: {', '.join(taken)} already have a tracing handler; "
                         "each NumPy function is traced by exactly one module")
    _FUNCTIONS.update(table)


def _handler(func: Callable[..., Any]) -> Callable[..., Any]:
    """The tracing handler of a NumPy function (the ndarray methods call them too)."""
    found = _FUNCTIONS.get(func)
    if found is None:
        raise UnsupportedOperationError(f"{getattr(func, '__name__', repr(func))} has no tracing handler{_where()}: "
                                        "import egraph_dsl (its __init__ registers the handlers of every tracer module)")
    return found


# --------------------------------------------------------------------------- tracing


def abstract(value: Any, name: str) -> Term:
    """The input term standing for one argument (arrays, NumPy and Python scalars)."""
    if isinstance(value, LazyArray):
        raise TraceError(f"argument {name!r} is already traced")
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        raise TraceError(subclass_message(value, name))
    if isinstance(value, np.generic):  # strong, of its own dtype (np.float64 is a float subclass)
        return input_(name, (), dtypes.canonical(value.dtype, f"argument {name!r}: "))
    if isinstance(value, bool):
        return input_(name, (), "bool")
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ScalarOverflowError(f"argument {name!r} = {value} does not fit int64 (NumPy raises OverflowError too)")
        return input_(name, (), "int64")
    if isinstance(value, float):
        return input_(name, (), "float64")
    if isinstance(value, ArraySpec):
        return input_(name, value.shape, dtypes.canonical(value.dtype, f"argument {name!r}: "))
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is None or dtype is None:
        raise TraceError(f"argument {name!r} is a {type(value).__name__}; egraph-dsl traces arrays and numbers")
    return input_(name, tuple(int(s) for s in shape), dtypes.canonical(dtype, f"argument {name!r}: "))


def subclass_message(value: np.ndarray[Any, Any], name: str) -> str:
    kind = type(value).__name__
    why = {"matrix": "np.matrix makes * a matrix product", "MaskedArray": "the mask would be dropped"}.get(
        kind, "its own semantics would be lost")
    return (f"argument {name!r} is a {type(value).__module__}.{kind}, an ndarray subclass; egraph-dsl traces "
            f"plain arrays only ({why}): pass np.asarray(x) if plain-array semantics are what you mean")


class ArraySpec:
    """Shape and dtype standing for an argument (like jax.ShapeDtypeStruct)."""

    __slots__ = ("dtype", "shape")

    def __init__(self, shape: Sequence[int], dtype: Any = np.float64) -> None:
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)

    def __repr__(self) -> str:
        return f"ArraySpec({self.shape}, {self.dtype})"


def parameter_names(fn: Callable[..., Any], n: int) -> list[str]:
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params[:n]]
    return names + [f"arg{i}" for i in range(len(names), n)]


def _argument_kind(a: Any) -> WeakKind:
    """Python scalar arguments are weak, as NumPy 2 treats them; NumPy scalars and arrays are not."""
    if type(a) is int and not INT32_MIN <= a <= INT32_MAX:
        return WideInt
    return type(a) if type(a) in (bool, int, float) else None


def trace_function(fn: Callable[..., Any], args: Sequence[Any], name: str | None = None) -> Program:
    """Run ``fn`` on lazy stand-ins for ``args`` and return the program it builds."""
    names = parameter_names(fn, len(args))
    inputs = [abstract(a, n) for a, n in zip(args, names, strict=True)]
    lazy_args = [LazyArray(t, weak_kind=_argument_kind(a), array0d=isinstance(a, np.ndarray))
                 for t, a in zip(inputs, args, strict=True)]
    token = _TRACING.set(_TRACING.get() + 1)
    aliases = _ALIASES.set(Aliases())
    try:
        with np.errstate(all="ignore"):
            result = fn(*lazy_args)
    finally:
        _ALIASES.reset(aliases)
        _TRACING.reset(token)
    is_tuple = isinstance(result, (tuple, list))
    is_list = isinstance(result, list)
    outs = list(result) if is_tuple else [result]
    terms: list[Term] = []
    for i, out in enumerate(outs):
        if isinstance(out, LazyArray):
            t = lift(out).term  # a stale view is refused
        elif isinstance(out, (int, float, np.generic, np.ndarray)):  # a constant result
            t = lift(out).term
        else:
            raise TraceError(f"{getattr(fn, '__name__', 'function')} returned a {type(out).__name__} "
                             f"(output {i}); return arrays computed from the arguments")
        if t.weak:  # a Python scalar result: an array of NumPy's default dtype for its kind
            kind = out.weak_kind if isinstance(out, LazyArray) else type(out)
            t = make("astype", [t], dtype=default_dtype(kind))
        terms.append(t)
    return Program(tuple(inputs), tuple(terms), str(name or getattr(fn, "__name__", "program")), is_tuple, is_list)
