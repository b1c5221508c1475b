"""Numerical error in extraction: each e-class's candidate e-nodes measured on sampled inputs.

As Herbie localizes error, every candidate is evaluated in float (the op table's NumPy
implementations) on a few sample points, and, only where candidates of one e-class disagree by
more than an ulp, against an exact value (the op table's ``real`` semantics over mpmath at
:data:`EXACT_PRECISION` bits). Error is counted in bits: ``log2(1 + ulps)`` between the float
result and the exact value rounded to the result's dtype. :func:`improve` then revisits the cost
model's choices bottom-up (see ``docs/accuracy.md``).

The model is per element: each sample point is one scalar per input, carried through elementwise
ops and element moves (broadcast_to, reshape, transpose, slice, take, diagonal, index_check map an
output element to one input element). Reductions, matmul, concatenation … are outside it: their
e-classes keep the cost model's choice, and their values (evaluated in float on the first call's
data) are fresh sample points for the ops above them.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from egraph_dsl import ops
from egraph_dsl.engine.decode import node_key, terms_from_choices
from egraph_dsl.engine.egraph import ENode, Snapshot
from egraph_dsl.errors import OptionError
from egraph_dsl.program import Program, evaluate
from egraph_dsl.term import Term, postorder

ACCURACY_MODES = ("fast", "balanced", "accurate")
DEFAULT_SAMPLES = 32
EXACT_PRECISION = 1100  # at 192 bits log(1 + exp(-700)) rounds to 0; 1100 covers float64's exponent range
BALANCED_GAIN_BITS = 2.0  # balanced leaves the cost model's choice unless another is this much better
TOLERANCE_BITS = 2.0  # "as accurate as the best": within log2(1 + 3) bits, i.e. about 3 ulps
TIE_BITS = 0.25  # accurate mode: errors this close are equal, and cost decides
EXACT_BUDGET = 4000  # exact op evaluations per run of the model (about 0.1-0.3 s); then the cost model decides
NONFINITE_BITS = 64.0  # a nan or inf where the exact value is finite (or a different infinity)
MOVES = frozenset({"broadcast_to", "reshape", "transpose", "slice", "take", "diagonal", "index_check"})
_DEFAULT_MAGNITUDES = (1e-6, 1e6)  # no data and no declared range: |x| log-uniform here, either sign
DATA_LIMIT = 1 << 22  # elements: larger inputs leave reductions and matmuls out (no values to sample)
LAZY_HEAD_ROWS = 1 << 14  # a lazy array (Dask, zarr) is sampled from its first rows: never read whole


def check_accuracy(mode: object) -> str:
    """``mode`` if it names an accuracy mode (see ACCURACY_MODES), else an OptionError listing them."""
    if not isinstance(mode, str) or mode not in ACCURACY_MODES:
        raise OptionError(f"unknown accuracy mode {mode!r}; use one of {', '.join(repr(m) for m in ACCURACY_MODES)} "
                          "(fast: cost only; balanced: the default; accurate: least error first)")
    return mode


def check_input_ranges(input_ranges: Mapping[str, Any] | None,
                       names: Sequence[str] | None = None) -> dict[str, tuple[float, float]]:
    """``input_ranges`` as ``{name: (lo, hi)}`` floats, each finite with lo <= hi, naming known arguments."""
    if input_ranges is None:
        return {}
    if not isinstance(input_ranges, Mapping):
        raise OptionError(f"input_ranges={input_ranges!r} must be a dict of argument name -> (lo, hi)")
    out: dict[str, tuple[float, float]] = {}
    for name, bounds in input_ranges.items():
        if names is not None and name not in names:
            raise OptionError(f"input_ranges names {name!r}, which is not an argument "
                              f"(the arguments are {', '.join(names) or 'none'})")
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise OptionError(f"input_ranges[{name!r}] = {bounds!r} must be a pair of numbers (lo, hi)") from None
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise OptionError(f"input_ranges[{name!r}] = {bounds!r} must be finite; declare the largest "
                              "magnitude the argument takes")
        if lo > hi:
            raise OptionError(f"input_ranges[{name!r}] = {bounds!r} has lo > hi; write it as (lo, hi) with lo <= hi")
        out[str(name)] = (lo, hi)
    return out


# ---------------------------------------------------------------------------- sampling


@dataclass(frozen=True)
class Samples:
    """``n`` sample points: per input, ``n`` scalar values (a sample point is one value of each),
    where they came from, and the full arrays (the first call's data, or arrays drawn like the
    samples) that values outside the per-element model are computed from."""

    n: int
    values: dict[str, np.ndarray]
    sources: dict[str, str]
    data: dict[str, np.ndarray | None] = field(repr=False)  # None: too large to draw (see DATA_LIMIT)

    def describe(self) -> str:
        return f"{self.n} samples (" + ", ".join(f"{k}: {v}" for k, v in self.sources.items()) + ")"


def draw_samples(program: Program, args: Sequence[Any], input_ranges: Mapping[str, Any] | None = None,
                 n: int = DEFAULT_SAMPLES, seed: int = 0) -> Samples:
    """Per input, ``n`` points: random elements of its first-call array plus its min and max, or,
    for a declared range, log-uniform (one-signed ranges) or half uniform, half log-uniform
    magnitudes (ranges across 0), with both ends. Integer and boolean inputs come from the data."""
    if n < 2:
        raise OptionError(f"the error model needs at least 2 samples, got n={n}")
    ranges = check_input_ranges(input_ranges, program.input_names)
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    data: dict[str, np.ndarray | None] = {}
    arrays = list(args) if len(args) == len(program.inputs) else [None] * len(program.inputs)
    for term, arg in zip(program.inputs, arrays, strict=True):
        name = str(term.attr["name"])
        dtype = np.dtype(term.dtype or "float64")
        shape = tuple(term.shape or ())
        given, whole = _given(arg)
        if given is not None and given.dtype == object:
            given = None
        floating = dtype.kind == "f"
        if floating and name in ranges:
            lo, hi = ranges[name]
            values[name] = _from_range(rng, lo, hi, n).astype(dtype)
            sources[name] = f"range [{lo:g}, {hi:g}]"
            data[name] = _drawn_array(rng, lo, hi, shape, dtype)
        elif given is not None and given.size:
            values[name] = _from_data(rng, given, n).astype(dtype)
            sources[name] = "first-call data" if whole else f"first-call data, its first {given.shape[0]} rows"
            data[name] = given.astype(dtype, copy=False) if whole else None
        else:
            lo, hi = _DEFAULT_MAGNITUDES
            if floating:
                values[name] = _from_range(rng, -hi, hi, n).astype(dtype)
                sources[name] = f"default range ±[{lo:g}, {hi:g}]"
                data[name] = _drawn_array(rng, -hi, hi, shape, dtype)
            else:
                values[name] = rng.integers(0, 2 if dtype.kind == "b" else 8, n).astype(dtype)
                sources[name] = "default integers"
                data[name] = np.zeros(shape, dtype)
    return Samples(n, values, sources, data)


def _given(arg: Any) -> tuple[np.ndarray | None, bool]:
    """The first call's value of an argument as a NumPy array, and whether it is all of it: a lazy
    array (an array-like that is not a NumPy array, e.g. Dask's or zarr's, which may not fit in
    memory) gives only its first LAZY_HEAD_ROWS rows, read by slicing it."""
    if arg is None or (not hasattr(arg, "__array__") and not np.isscalar(arg)):
        return None, False
    shape = getattr(arg, "shape", None)
    if not isinstance(arg, (np.ndarray, np.generic)) and shape is not None and len(shape) >= 1:
        if shape[0] > LAZY_HEAD_ROWS:
            return np.asarray(arg[:LAZY_HEAD_ROWS]), False
    return np.asarray(arg), True


def _drawn_array(rng: np.random.Generator, lo: float, hi: float, shape: tuple[int, ...],
                 dtype: np.dtype[Any]) -> np.ndarray | None:
    """A whole argument drawn like the samples (for values outside the model), unless it is large."""
    size = int(np.prod(shape, dtype=np.int64))
    if size > DATA_LIMIT:
        return None
    return _from_range(rng, lo, hi, size)[:size].astype(dtype).reshape(shape)


def _from_data(rng: np.random.Generator, array: np.ndarray, n: int) -> np.ndarray:
    flat = array.ravel()
    if flat.dtype.kind == "f":
        finite = flat[np.isfinite(flat)]
        flat = finite if finite.size else flat
        picked = flat[rng.integers(0, flat.size, n - 2)]
        return np.concatenate([picked, [flat.min(), flat.max()]])
    return flat[rng.integers(0, flat.size, n)]


def _from_range(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    if n <= 2:
        return np.array([lo, hi][:n])
    k = n - 2
    if lo == hi:
        inner = np.full(k, lo)
    elif lo > 0 or hi < 0:
        a, b = sorted((abs(lo), abs(hi)))
        inner = math.copysign(1.0, hi) * np.exp(rng.uniform(math.log(a), math.log(b), k))
    else:
        top = max(-lo, hi)
        uniform = rng.uniform(lo, hi, k - k // 2)
        magnitudes = np.exp(rng.uniform(math.log(top) - 40.0, math.log(top), k // 2))  # down to top * e^-40
        signs = np.where(rng.random(k // 2) < (hi / (hi - lo)), 1.0, -1.0)
        inner = np.concatenate([uniform, np.clip(signs * magnitudes, lo, hi)])
    return np.concatenate([inner, [lo, hi]])


# ---------------------------------------------------------------------------- measuring


_ORDINAL: dict[int, np.dtype[np.signedinteger[Any]]] = {8: np.dtype(np.int64), 4: np.dtype(np.int32),
                                                      2: np.dtype(np.int16)}


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How many floats of ``a``'s dtype lie between ``a`` and ``b`` (as float64; both finite)."""
    kind = _ORDINAL[a.dtype.itemsize]
    low = np.iinfo(kind).min
    ia = a.view(kind).astype(np.int64)
    ib = b.astype(a.dtype).view(kind).astype(np.int64)
    ia = np.where(ia < 0, np.int64(low) - ia, ia)  # ordinal: -0.0 and 0.0 are both 0, order kept
    ib = np.where(ib < 0, np.int64(low) - ib, ib)
    same_sign = (ia >= 0) == (ib >= 0)
    with np.errstate(over="ignore"):
        near = np.abs(np.where(same_sign, ia - ib, 0)).astype(np.float64)  # exact in int64
    far = np.abs(ia.astype(np.float64) - ib.astype(np.float64))  # opposite signs: far apart anyway
    return np.where(same_sign, near, far)


def error_bits(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Bits of error of float results ``got`` against ``exact`` (already rounded to got's dtype);
    nan where the exact value is undefined (those points are not counted)."""
    got = np.asarray(got)
    exact = np.asarray(exact, dtype=got.dtype)
    with np.errstate(all="ignore"):
        both = np.isfinite(got) & np.isfinite(exact)
        safe_got = np.where(both, got, 0).astype(got.dtype)
        safe_exact = np.where(both, exact, 0).astype(got.dtype)
        bits = np.minimum(np.log2(1.0 + ulps(safe_got, safe_exact)), NONFINITE_BITS)
        same = (got == exact) | (np.isnan(got) & np.isnan(exact))
        bits = np.where(both, bits, np.where(same, 0.0, NONFINITE_BITS))
    return np.where(np.isnan(exact), np.nan, bits)


def relative_error(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        g = got.astype(np.float64)
        e = exact.astype(np.float64)
        rel = np.abs(g - e) / np.abs(e)
        rel = np.where(e == 0, np.where(g == 0, 0.0, np.inf), rel)
        rel = np.where((g == e) | (np.isnan(g) & np.isnan(e)), 0.0, rel)
    return np.where(np.isnan(e), np.nan, rel)


@dataclass(frozen=True)
class OutputError:
    """The error of one output on the samples: mean and max bits, max relative error."""

    mean_bits: float
    max_bits: float
    max_relative: float
    points: int  # sample points where the exact value is defined

    @staticmethod
    def of(got: np.ndarray, exact: np.ndarray) -> OutputError:
        bits = error_bits(got, exact)
        rel = relative_error(got, exact)
        ok = ~np.isnan(bits)
        if not ok.any():
            return OutputError(0.0, 0.0, 0.0, 0)
        return OutputError(float(bits[ok].mean()), float(bits[ok].max()), float(np.nanmax(rel[ok])), int(ok.sum()))

    def __str__(self) -> str:
        return f"{self.mean_bits:.1f} bits mean, {self.max_bits:.1f} max, max relative error {self.max_relative:.2g}"


class AccuracyRecord:
    """What the error model found and changed, for ``explain()``. The error of the input and of
    the result per output (``before``, ``after``; None: outside the per-element model) is measured
    when first read, so an optimization that nobody explains does not pay for it."""

    def __init__(self, mode: str, samples: str, changed: Sequence[str], seconds: float, skipped: str,
                 measure: Callable[[], tuple[tuple[OutputError | None, ...], tuple[OutputError | None, ...]]]) -> None:
        self.mode = mode
        self.samples = samples
        self.changed = tuple(changed)  # one line per e-class whose choice the model changed
        self.seconds = seconds
        self.skipped = skipped  # why the model made no decision, if it did not run
        self._measure: Callable[[], tuple[tuple[OutputError | None, ...], tuple[OutputError | None, ...]]] | None = measure
        self._measured: tuple[tuple[OutputError | None, ...], tuple[OutputError | None, ...]] | None = None

    def _errors(self) -> tuple[tuple[OutputError | None, ...], tuple[OutputError | None, ...]]:
        if self._measured is None:
            assert self._measure is not None
            self._measured = self._measure()
            self._measure = None  # let go of the e-graph snapshot the measurement needed
        return self._measured

    @property
    def before(self) -> tuple[OutputError | None, ...]:
        return self._errors()[0]

    @property
    def after(self) -> tuple[OutputError | None, ...]:
        return self._errors()[1]

    def lines(self) -> list[str]:
        head = f"== accuracy ({self.mode}): {self.samples}, {self.seconds * 1e3:.1f} ms"
        out = [f"{head}; {self.skipped}" if self.skipped else head]
        for i, (b, a) in enumerate(zip(self.before, self.after, strict=True)):
            if b is None or a is None:
                out.append(f"  output {i}: outside the per-element model (a reduction or matmul at the root)")
            else:
                out.append(f"  output {i}: before {b}; after {a}  ({a.points} points)")
        out.extend(f"  changed: {c}" for c in self.changed)
        if not self.changed and not self.skipped:
            out.append("  no choice changed: the cost model's program is as accurate as any on the samples")
        return out


# ---------------------------------------------------------------------------- the model


def _in_model(node: ENode) -> bool:
    spec = ops.OPS[node.op]
    return spec.elementwise or node.op in MOVES or spec.kind is ops.Kind.LEAF


def _float_kind(dtype: str | None) -> bool:
    return dtype is not None and np.dtype(dtype).kind == "f"


def worth_running(snapshot: Snapshot) -> bool:
    """Whether some float e-class holds two elementwise e-nodes not subsumed: otherwise the model
    has nothing to decide and costs nothing."""
    seen: dict[str, int] = {}
    for node in snapshot.nodes.values():
        if node.subsumed or not ops.OPS[node.op].elementwise or not _float_kind(snapshot.dtypes.get(node.eclass)):
            continue
        seen[node.eclass] = seen.get(node.eclass, 0) + 1
        if seen[node.eclass] >= 2:
            return True
    return False


@dataclass
class _Model:
    snapshot: Snapshot
    samples: Samples
    choices: dict[str, str]  # the cost model's
    node_cost: Callable[[str], float]
    inputs: dict[str, Term]
    lanes: dict[str, np.ndarray] = field(default_factory=dict)  # e-class -> float values on the samples
    chosen: dict[str, str] = field(default_factory=dict)  # e-class -> e-node, as the model chose
    subtree: dict[str, float] = field(default_factory=dict)  # tree cost of the chosen program below
    exact: dict[str, dict[int, Any]] = field(default_factory=dict)  # e-class -> sample -> exact value
    math: Any = None
    exact_ops: int = 0  # exact op evaluations so far
    unmeasured: int = 0  # e-classes left to the cost model once EXACT_BUDGET was spent
    deadline: float | None = None  # a time.perf_counter() value: past it the cost model decides the rest
    out_of_time: bool = False  # the deadline passed before every e-class was decided

    # -- float
    def eval_node(self, node: ENode, lanes: Mapping[str, np.ndarray]) -> np.ndarray | None:
        n = self.samples.n
        dtype = self.snapshot.dtypes.get(node.eclass)
        attrs = dict(node.attrs)
        if node.op == "input":
            v = self.samples.values.get(str(attrs["name"]))
            return None if v is None else v
        if node.op == "const":
            return np.full(n, attrs["value"])
        if node.op == "array_const":
            flat = np.asarray(attrs["array"].value).ravel()
            if flat.size == 0:
                return None
            return flat[np.random.default_rng(0).integers(0, flat.size, n)]
        if node.op in MOVES:
            return lanes[node.children[0]]  # an element move passes one element of its first operand
        kids = [lanes[c] for c in node.children]
        strong = [c for c in (node.children[1:] if node.op == "where" else node.children)
                  if self.snapshot.dtypes.get(c) is not None]
        operand = self.snapshot.dtypes[strong[0]] if strong else "float64"
        kids = [k.astype(operand) if self.snapshot.dtypes.get(c) is None and (node.op != "where" or i > 0) else k
                for i, (c, k) in enumerate(zip(node.children, kids, strict=True))]
        with np.errstate(all="ignore"):
            try:
                out = np.asarray(ops.OPS[node.op].impl(np, *kids, **attrs))
            except (ValueError, TypeError, IndexError, OverflowError):
                return None
        if out.shape != (n,):
            out = np.broadcast_to(out, (n,)).copy()
        return out.astype(dtype) if dtype is not None else out

    # -- exact
    def exact_at(self, cls: str, k: int) -> Any:
        """The exact value of ``cls`` at sample ``k``, through the chosen e-nodes (memoized)."""
        memo = self.exact.setdefault(cls, {})
        if k in memo:
            return memo[k]
        stack = [cls]
        while stack:
            c = stack[-1]
            if k in self.exact.setdefault(c, {}):
                stack.pop()
                continue
            node = self.snapshot.nodes[self.chosen[c]]
            if (node.op not in MOVES and not _in_model(node)) or node.op in ("input", "array_const"):
                self.exact[c][k] = self._leaf_exact(c, k)
                stack.pop()
                continue
            kids = node.children[:1] if node.op in MOVES else node.children
            missing = [d for d in kids if k not in self.exact.setdefault(d, {})]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            self.exact[c][k] = self._apply_exact(node, [self.exact[d][k] for d in kids])
        return memo[k]

    def _leaf_exact(self, cls: str, k: int) -> Any:
        v = self.lanes[cls][k]
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        return self.math.ctx.mpf(float(v))

    def _apply_exact(self, node: ENode, kids: list[Any]) -> Any:
        if node.op in MOVES:
            return kids[0]
        self.exact_ops += 1
        spec = ops.OPS[node.op]
        try:
            if node.op == "const":
                return self.math.const(dict(node.attrs)["value"])
            out = spec.real(self.math, *kids, **dict(node.attrs))  # type: ignore[misc]
            return np.asarray(out, dtype=object).reshape(-1)[0]
        except (ArithmeticError, ValueError, TypeError):
            return self.math.ctx.nan

    def rounded_exact(self, cls: str, points: Sequence[int]) -> np.ndarray:
        """Exact values at ``points``, rounded to the class's dtype (nan where undefined)."""
        dtype = np.dtype(self.snapshot.dtypes.get(cls) or "float64")
        out = np.empty(len(points), dtype=np.float64)
        for i, k in enumerate(points):
            v = self.exact_at(cls, k)
            try:
                out[i] = float(v)
            except OverflowError:
                out[i] = math.copysign(math.inf, float(self.math.ctx.sign(v)))
            except (TypeError, ValueError):
                out[i] = math.nan
        with np.errstate(all="ignore"):
            return out.astype(dtype)


def _disagreeing(candidates: Sequence[np.ndarray]) -> np.ndarray:
    """Sample indices where two candidates differ by more than one ulp (or one is not finite)."""
    base = candidates[0]
    mask = np.zeros(base.shape, dtype=bool)
    with np.errstate(all="ignore"):
        for other in candidates[1:]:
            finite = np.isfinite(base) & np.isfinite(other)
            far = np.zeros(base.shape, dtype=bool)
            if finite.any():
                far[finite] = ulps(base[finite], other[finite]) > 1
            same_nonfinite = ~finite & ((base == other) | (np.isnan(base) & np.isnan(other)))
            mask |= far | (~finite & ~same_nonfinite)
    return np.flatnonzero(mask)


@dataclass(frozen=True)
class Improvement:
    """The model's choices (e-class -> e-node), and one line per e-class it changed."""

    choices: dict[str, str]
    changed: tuple[str, ...]
    model: _Model = field(repr=False)


def improve(snapshot: Snapshot, roots: Sequence[str], choices: Mapping[str, str], samples: Samples,
            node_cost: Callable[[str], float], original: Program, mode: str = "balanced",
            deadline: float | None = None) -> Improvement:
    """Revisit the cost model's ``choices`` bottom-up (children before parents) on ``samples``.

    ``deadline`` (a ``time.perf_counter()`` value): once it passes, the e-classes not yet decided
    keep the cost model's choice (``model.out_of_time``), so the optimization's time limit holds.

    ``accurate``: per e-class, the least-error e-node (cost breaks ties); ``balanced``: the cost
    model's e-node unless another is more than BALANCED_GAIN_BITS better on the samples, then the
    cheapest within TOLERANCE_BITS of the best. Subsumed e-nodes are never chosen.
    """
    check_accuracy(mode)
    inputs = {str(t.attr["name"]): t for t in original.inputs}
    model = _Model(snapshot, samples, dict(choices), node_cost, inputs, deadline=deadline)
    if mode == "fast":
        return Improvement(dict(choices), (), model)
    reachable = _reachable(snapshot, roots)
    opaque_values = _opaque_values(model, reachable)
    parents: dict[str, list[str]] = {}
    pending: dict[str, int] = {}
    admissible: dict[str, int] = {}  # e-class -> how many of its e-nodes may become candidates
    ready: deque[str] = deque()
    for cls in reachable:
        for nid in snapshot.classes[cls]:
            node = snapshot.nodes[nid]
            if node.subsumed and choices.get(cls) != nid:
                continue
            kids = set(node.children[:1] if node.op in MOVES else node.children)
            if node.op not in MOVES and not _in_model(node):
                kids = set()  # outside the model: its value comes from the data, not its children
                if choices.get(cls) != nid or cls not in opaque_values:
                    continue
            if cls in kids:
                continue  # x = x + 0 and the like: never a candidate for its own e-class
            admissible[cls] = admissible.get(cls, 0) + 1
            pending[nid] = len(kids)
            for c in kids:
                parents.setdefault(c, []).append(nid)
            if not kids:
                ready.append(nid)
    changed: list[str] = []
    done: set[str] = set()
    waiting: dict[str, list[str]] = {}  # e-class -> its ready e-nodes
    stalled: deque[str] = deque()  # e-classes that may be decided once nothing else can progress
    decide: deque[str] = deque()
    while ready or decide or stalled:
        if ready:
            nid = ready.popleft()
            cls = snapshot.nodes[nid].eclass
            if cls in done:
                continue  # ready too late: every choice points to e-classes decided before it
            waiting.setdefault(cls, []).append(nid)
            if len(waiting[cls]) == admissible[cls]:
                decide.append(cls)
            elif choices.get(cls, nid) == nid and (cls in choices or len(waiting[cls]) == 1):
                stalled.append(cls)  # its cost-model e-node (or a first one) can be evaluated
            continue
        cls = decide.popleft() if decide else stalled.popleft()
        if cls in done:
            continue
        if deadline is not None and time.perf_counter() > deadline:
            model.out_of_time = True  # the rest keep the cost model's choice (a consistent mix: choices name e-classes)
            break
        # a class is decided with all its e-nodes ready, or, when e-nodes wait on each other through
        # a cycle, once nothing else can progress (the cost model's e-node among the ready ones)
        line = _decide(model, cls, waiting.pop(cls), opaque_values, mode)
        if line:
            changed.append(line)
        done.add(cls)
        if cls not in model.lanes:
            continue  # no candidate could be evaluated: its parents stay out of the model
        for parent in parents.get(cls, ()):
            pending[parent] -= 1
            if pending[parent] == 0:
                ready.append(parent)
    final = dict(choices)
    final.update(model.chosen)
    return Improvement(final, tuple(changed), model)


def _reachable(snapshot: Snapshot, roots: Sequence[str]) -> list[str]:
    seen = set(roots)
    stack = list(roots)
    while stack:
        c = stack.pop()
        for nid in snapshot.classes[c]:
            for d in snapshot.nodes[nid].children:
                if d not in seen:
                    seen.add(d)
                    stack.append(d)
    return [c for c in snapshot.classes if c in seen]


def _opaque_values(model: _Model, reachable: Sequence[str]) -> dict[str, np.ndarray]:
    """Float values on the samples of the e-classes outside the model that an in-model e-node uses:
    the cost model's program for each, evaluated in float on the data, at random elements."""
    snap = model.snapshot
    wanted: list[str] = []
    for cls in reachable:
        nid = model.choices.get(cls)
        if nid is None or _in_model(snap.nodes[nid]) or snap.dtypes.get(cls) is None:
            continue
        wanted.append(cls)
    data = model.samples.data
    if not wanted or any(v is None for v in data.values()) or sum(v.size for v in data.values() if v is not None) > DATA_LIMIT:
        return {}
    try:
        terms = terms_from_choices(snap, model.choices, wanted, model.inputs)
        program = Program(tuple(model.inputs.values()), tuple(terms))
        results = evaluate(program, data)
    except Exception:  # (a failing evaluation leaves these classes out of the model)
        return {}
    rng = np.random.default_rng(1)
    out: dict[str, np.ndarray] = {}
    for cls, value in zip(wanted, results, strict=True):
        flat = np.asarray(value).ravel()
        if flat.size:
            out[cls] = flat[rng.integers(0, flat.size, model.samples.n)]
    return out


def _decide(model: _Model, cls: str, candidates: list[str], opaque: Mapping[str, np.ndarray], mode: str) -> str:
    """Choose ``cls``'s e-node among ``candidates`` (their children decided); a line if it changed."""
    snap = model.snapshot
    cost_choice = model.choices.get(cls)
    if cls in opaque:
        model.lanes[cls] = opaque[cls]
        model.chosen[cls] = cost_choice or candidates[0]
        model.subtree[cls] = model.node_cost(model.chosen[cls])
        return ""
    evaluated: dict[str, np.ndarray] = {}
    for nid in candidates:
        node = snap.nodes[nid]
        if node.subsumed and nid != cost_choice:
            continue
        value = model.eval_node(node, model.lanes)
        if value is not None:
            evaluated[nid] = value
    if not evaluated:
        return ""  # nothing evaluable: the class stays out of the model (its parents are never ready)

    def tree_cost(nid: str) -> float:
        node = snap.nodes[nid]
        kids = node.children[:1] if node.op in MOVES else node.children
        return model.node_cost(nid) + sum(model.subtree.get(c, 0.0) for c in kids)

    keep = cost_choice if cost_choice in evaluated else min(evaluated, key=tree_cost)
    pick = keep
    line = ""
    if len(evaluated) > 1 and _float_kind(snap.dtypes.get(cls)):
        ids = list(evaluated)
        points = _disagreeing([evaluated[i] for i in ids])
        if points.size and model.exact_ops > EXACT_BUDGET:
            model.unmeasured += 1
        elif points.size:
            _ensure_math(model)
            model.chosen[cls] = keep  # the exact value goes through any e-node; children are decided
            exact = model.rounded_exact(cls, points.tolist())
            errs = {}
            for nid in ids:
                bits = error_bits(evaluated[nid][points], exact)
                errs[nid] = float(np.nansum(bits)) / model.samples.n
            best = min(errs.values())
            if mode == "accurate":
                pool = [nid for nid in ids if errs[nid] <= best + TIE_BITS]
                pick = keep if keep in pool else min(pool, key=tree_cost)
            elif errs[keep] > best + BALANCED_GAIN_BITS:
                pool = [nid for nid in ids if errs[nid] <= best + TOLERANCE_BITS]
                pick = min(pool, key=tree_cost)
            if pick != keep:
                line = (f"{_describe(snap, keep)} -> {_describe(snap, pick)}: "
                        f"{errs[keep]:.1f} -> {errs[pick]:.1f} bits mean on {model.samples.n} samples")
    model.chosen[cls] = pick
    model.lanes[cls] = evaluated[pick]
    model.subtree[cls] = tree_cost(pick)
    return line


def _describe(snap: Snapshot, nid: str) -> str:
    node = snap.nodes[nid]
    return f"{node.op}({', '.join(snap.nodes[snap.classes[c][0]].op for c in node.children)})"


def _ensure_math(model: _Model) -> None:
    if model.math is None:
        from .semantics import ExtendedMpMath  # mpmath loads only when candidates disagree

        model.math = ExtendedMpMath(prec=EXACT_PRECISION)


# ---------------------------------------------------------------------------- programs on the samples


def program_error(model: _Model, program: Program) -> tuple[OutputError | None, ...]:
    """The error of each output of ``program`` (whose terms the e-graph holds) on the samples."""
    index = {node_key(n.op, n.attrs, n.children): n for n in model.snapshot.nodes.values()}
    cls_of: dict[Term, str] = {}
    for t in postorder(program.outputs):
        if all(a in cls_of for a in t.args):
            node = index.get(node_key(t.op, t.attrs, [cls_of[a] for a in t.args]))
            if node is not None:
                cls_of[t] = node.eclass
    values: dict[Term, np.ndarray | None] = {}
    opaque: dict[Term, bool] = {}
    for t in postorder(program.outputs):
        cls = cls_of.get(t)
        spec = ops.OPS[t.op]
        if cls is None:
            values[t] = None
        elif not (spec.elementwise or t.op in MOVES or spec.kind is ops.Kind.LEAF):
            values[t] = model.lanes.get(cls)
            opaque[t] = True
        else:
            node = model.snapshot.nodes[_node_of(model, t, cls, cls_of)]
            kids = {c: values[a] for c, a in zip(node.children, t.args, strict=True)}
            needed = node.children[:1] if t.op in MOVES else node.children
            if any(kids[c] is None for c in needed):
                values[t] = None
            else:
                values[t] = model.eval_node(node, kids)  # type: ignore[arg-type]
            opaque[t] = t.op in MOVES and opaque.get(t.args[0], False)
    out: list[OutputError | None] = []
    for t in program.outputs:
        cls = cls_of.get(t)
        got = values.get(t)
        if cls is None or got is None or opaque.get(t, False) or cls not in model.chosen \
                or not _float_kind(model.snapshot.dtypes.get(cls)):
            out.append(None)
            continue
        _ensure_math(model)
        exact = model.rounded_exact(cls, range(model.samples.n))
        out.append(OutputError.of(got, exact))
    return tuple(out)


def _node_of(model: _Model, t: Term, cls: str, cls_of: Mapping[Term, str]) -> str:
    key = node_key(t.op, t.attrs, [cls_of[a] for a in t.args])
    for nid in model.snapshot.classes[cls]:
        n = model.snapshot.nodes[nid]
        if node_key(n.op, n.attrs, n.children) == key:
            return nid
    return model.snapshot.classes[cls][0]


def accuracy_record(snapshot: Snapshot, roots: Sequence[str], choices: Mapping[str, str], samples: Samples,
                    node_cost: Callable[[str], float], improvement: Improvement | None, before: Program,
                    after: Program, mode: str, seconds: float, changed: Sequence[str] = (),
                    skipped: str = "") -> AccuracyRecord:
    """The record of one run of the model: error of ``before`` (the input program) and ``after``
    (the result) per output on the samples, measured when read."""

    def measure() -> tuple[tuple[OutputError | None, ...], tuple[OutputError | None, ...]]:
        run = improvement or improve(snapshot, roots, choices, samples, node_cost, before, mode)
        return program_error(run.model, before), program_error(run.model, after)

    return AccuracyRecord(mode, samples.describe(), changed, seconds, skipped, measure)
