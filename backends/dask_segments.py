"""Row-parallel lowering of a Plan for the Dask backend: one task per chunk per segment.

The arguments split along their leading axis (the *rows*, N of them, chunked alike) make some
values *row-aligned*: elementwise results, broadcasts against whole (small) operands, gathers
``small[idx]`` by row-aligned indices, matmuls against small operands, reductions over other
axes, and views that keep the row axis whole. Everything else is *small* (computed whole) or,
when it fits neither, *lazy* (the per-op Dask lowering of :mod:`backends.dask_backend`).

A reduction of a row-aligned value over the row axis (sum, mean, max, min, prod, logsumexp, a
scatter_add of row-aligned updates by row-aligned indices, a matmul contracting the row axis)
becomes a per-chunk *partial*; partials are combined by a tree of tasks (sum, max, min, prod;
logsumexp keeps a (maximum, shifted sum) pair per chunk and combines it as scipy does). Values
are grouped by *stage*: stage-s row instructions run as one segment (a sub-Plan compiled with the
CPU backend, one task per chunk); the small instructions reading partials of stage s - 1 run in
one *tail* task of stage s (a NumPy sub-Plan), which also finalizes those partials.

Small values computed from NumPy arguments only are computed on the client (a NumPy sub-Plan).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from egraph_dsl import ops
from egraph_dsl.plan import Instruction, Plan

SMALL = "small"  # a whole value: concrete (computed on the client) or lazy (in a tail task)
LAZY = "lazy"  # lowered op by op on Dask arrays


@dataclass(frozen=True)
class Row:
    """A value aligned with the chunked rows: its axis ``axis`` is split like the rows."""

    axis: int


Kind = Row | str

# reductions over the row axis that have a per-chunk partial, and how partials combine
PARTIAL_REDUCTIONS = {"sum": "sum", "max": "max", "min": "min", "prod": "prod", "mean": "sum", "logsumexp": "lse"}
FLOATS = ("float64", "float32")


@dataclass(frozen=True)
class Partial:
    """A per-chunk partial: instruction ``index`` of the plan, combined with ``combine``."""

    index: int
    combine: str  # sum, max, min, prod, lse
    count: int = 0  # mean: the number of elements reduced (the division happens when finalizing)


@dataclass
class Analysis:
    kind: dict[int, Kind]
    concrete: set[int]  # small slots known on the client
    stage: dict[int, int]
    partials: dict[int, Partial]  # instruction index -> partial
    promoted: dict[tuple[int, int], int]  # (instruction index, input position) -> promoted slot
    promotions: dict[int, tuple[int, int]]  # promoted slot -> (small slot, row axis)
    where: dict[int, str]  # instruction index -> "client", "tail", "segment", "lazy"
    seg_stage: dict[int, int]  # segment instruction index -> its stage
    n_slots: int


def _axes(attr: Any, ndim: int) -> tuple[int, ...]:
    return tuple(range(ndim)) if attr is None else tuple(int(a) for a in attr)


class _Rules:
    """Which kind an instruction's result has, given its inputs' kinds."""

    def __init__(self, plan: Plan, shapes: dict[int, tuple[int, ...] | None], n_rows: int) -> None:
        self.plan = plan
        self.shapes = shapes
        self.n = n_rows

    def shape(self, slot: int) -> tuple[int, ...]:
        return self.shapes.get(slot) or ()

    def rule(self, ins: Instruction, kinds: list[Kind], concrete: list[bool]
             ) -> tuple[Row | Partial | None, dict[int, int]]:
        """The result (Row, Partial, or None for lazy) and the small inputs to promote to row
        inputs (input position -> row axis): small arrays holding N entries along the row axis."""
        spec = ops.spec(ins.op)
        promote: dict[int, int] = {}

        def small_at(pos: int, axis: int) -> bool:
            """Whether small input ``pos`` must be promoted to be read along row axis ``axis``
            of its own shape (False: it broadcasts), and can be (it is concrete)."""
            shape = self.shape(ins.inputs[pos])
            if not 0 <= axis < len(shape) or shape[axis] == 1 or self.n == 1:
                return False
            if shape[axis] != self.n or not concrete[pos]:
                raise _LazyError
            promote[pos] = axis
            return True

        result: Row | Partial | None
        try:
            if spec.elementwise or ins.op == "index_check":
                result = self._elementwise(ins, kinds, small_at)
            elif spec.kind is ops.Kind.REDUCTION:
                result = self._reduction(ins, kinds)
            elif ins.op == "matmul":
                result = self._matmul(ins, kinds, small_at)
            elif ins.op == "take":
                result = self._take(ins, kinds)
            elif ins.op == "scatter_add":
                result = self._scatter(ins, kinds, small_at)
            elif ins.op in ("transpose", "reshape", "broadcast_to", "slice", "concat", "cumsum", "cumprod"):
                result = self._layout(ins, kinds, small_at)
            else:
                result = None
        except _LazyError:
            return None, {}
        return result, promote

    def _elementwise(self, ins: Instruction, kinds: list[Kind], small_at: Callable[[int, int], bool]) -> Row | None:
        nd = len(ins.shape or ())
        axes = {k.axis + nd - len(self.shape(s)) for k, s in zip(kinds, ins.inputs, strict=True) if isinstance(k, Row)}
        if len(axes) != 1:
            return None
        r = axes.pop()
        for pos, (k, s) in enumerate(zip(kinds, ins.inputs, strict=True)):
            if not isinstance(k, Row):
                small_at(pos, r - (nd - len(self.shape(s))))
        return Row(r)

    def _reduction(self, ins: Instruction, kinds: list[Kind]) -> Row | Partial | None:
        (k,) = kinds
        assert isinstance(k, Row)
        src = self.shape(ins.inputs[0])
        axes = _axes(ins.attr.get("axis"), len(src))
        if k.axis not in axes:
            keep = bool(ins.attr.get("keepdims", False))
            return Row(k.axis if keep else k.axis - sum(1 for a in axes if a < k.axis))
        combine = PARTIAL_REDUCTIONS.get(ins.op)
        if combine is None or (ins.op in ("mean", "logsumexp") and ins.dtype not in FLOATS):
            return None
        return Partial(-1, combine, math.prod(src[a] for a in axes) if ins.op == "mean" else 0)

    def _matmul(self, ins: Instruction, kinds: list[Kind], small_at: Callable[[int, int], bool]) -> Row | Partial | None:
        (ka, kb), (sa, sb) = kinds, (self.shape(ins.inputs[0]), self.shape(ins.inputs[1]))
        na, nb, nr = len(sa), len(sb), len(ins.shape or ())
        a_k, b_k = na - 1, (nb - 2 if nb >= 2 else 0)  # the contracted axes
        ra = ka.axis if isinstance(ka, Row) else None
        rb = kb.axis if isinstance(kb, Row) else None
        if ra == a_k or rb == b_k:  # a contraction over the rows: per-chunk products, summed
            if ra is None:
                small_at(0, a_k) or _lazy()
            elif rb is None:
                small_at(1, b_k) or _lazy()
            elif not (ra == a_k and rb == b_k):
                return None
            return Partial(-1, "sum")
        if ra is not None and rb is not None:
            return None
        if ra is not None:  # rows of a (its m axis, or a batch axis against an unbatched b)
            if na >= 2 and ra == na - 2:
                return Row(nr - 2 if nb >= 2 else nr - 1)
            return Row(ra) if nb <= 2 else None
        assert rb is not None
        if nb >= 2 and rb == nb - 1:
            return Row(nr - 1)
        return Row(rb) if na <= 2 else None

    def _take(self, ins: Instruction, kinds: list[Kind]) -> Row | None:
        (kt, ki), dim = kinds, int(ins.attr["dim"])
        if isinstance(kt, Row) and isinstance(ki, Row):
            return None
        if isinstance(ki, Row):  # small[idx]: the rows of the indices
            return Row(dim + ki.axis)
        assert isinstance(kt, Row)
        if kt.axis == dim:  # a gather along the rows themselves
            return None
        return Row(kt.axis if kt.axis < dim else kt.axis - 1 + len(self.shape(ins.inputs[1])))

    def _scatter(self, ins: Instruction, kinds: list[Kind], small_at: Callable[[int, int], bool]) -> Row | Partial | None:
        (ku, ki), dim = kinds, int(ins.attr["dim"])
        n_idx = len(self.shape(ins.inputs[1]))
        if isinstance(ki, Row):  # updates scattered by row-aligned indices: per-chunk partial sums
            if isinstance(ku, Row):
                return Partial(-1, "sum") if ku.axis == dim + ki.axis else None
            small_at(0, dim + ki.axis) or _lazy()
            return Partial(-1, "sum")
        assert isinstance(ku, Row)
        if dim <= ku.axis < dim + n_idx:
            return None
        return Row(ku.axis if ku.axis < dim else ku.axis - n_idx + 1)

    def _layout(self, ins: Instruction, kinds: list[Kind], small_at: Callable[[int, int], bool]) -> Row | None:
        src = self.shape(ins.inputs[0])
        k = kinds[0]
        if ins.op == "broadcast_to":
            shape = tuple(ins.attr["shape"])
            if isinstance(k, Row):
                return Row(k.axis + len(shape) - len(src))
            return None  # a small value broadcast: only reached with a row input, which it has not
        assert isinstance(k, Row) or ins.op == "concat"
        if ins.op == "transpose":
            assert isinstance(k, Row)
            return Row(tuple(ins.attr["axes"]).index(k.axis))
        if ins.op == "reshape":
            assert isinstance(k, Row)
            new = tuple(ins.attr["shape"])
            before = math.prod(src[:k.axis])
            for b in range(len(new)):
                if math.prod(new[:b]) == before and new[b] == self.n:
                    return Row(b)
            return None
        if ins.op == "slice":
            assert isinstance(k, Row)
            start, stop, step = ins.attr["slices"][k.axis]
            return Row(k.axis) if (start, step) == (0, 1) and stop >= self.n else None
        if ins.op in ("cumsum", "cumprod"):
            assert isinstance(k, Row)
            return Row(k.axis) if int(ins.attr["dim"]) != k.axis else None
        # concat: both row-aligned on one axis that is not the joined one
        dim = int(ins.attr["dim"])
        rows = {kk.axis for kk in kinds if isinstance(kk, Row)}
        if len(rows) != 1 or dim in rows:
            return None
        r = rows.pop()
        for pos, kk in enumerate(kinds):
            if not isinstance(kk, Row):
                small_at(pos, r) or _lazy()
        return Row(r)


class _LazyError(Exception):
    """Raised inside a rule: the instruction is lowered op by op."""


def _lazy() -> bool:
    raise _LazyError


def broadcast_row(ins: Instruction, n_rows: int, shapes: dict[int, tuple[int, ...] | None]) -> Row | None:
    """A small value broadcast to a shape with exactly one new axis of N entries: row-aligned."""
    if ins.op != "broadcast_to" or n_rows <= 1:
        return None
    shape, src = tuple(ins.attr["shape"]), shapes.get(ins.inputs[0]) or ()
    lead = len(shape) - len(src)
    new = [a for a, d in enumerate(shape) if d == n_rows and (a < lead or src[a - lead] == 1)]
    return Row(new[0]) if len(new) == 1 else None


def analyse(plan: Plan, arg_kinds: dict[int, Kind], arg_concrete: set[int],
            shapes: dict[int, tuple[int, ...] | None], n_rows: int,
            check: Callable[[Instruction, list[Kind]], None] | None = None) -> Analysis:
    """Classify every slot of ``plan`` (``arg_kinds``: the arguments' kinds; ``shapes``: every
    slot's shape, None for weak constants; ``check``: called for instructions read by a lazy
    argument, to refuse what cannot run chunked)."""
    rules = _Rules(plan, shapes, n_rows)
    kind: dict[int, Kind] = dict(arg_kinds)
    concrete = set(arg_concrete)
    stage: dict[int, int] = dict.fromkeys(arg_kinds, 0)
    for slot, _value, _dtype in plan.constants:
        kind[slot], stage[slot] = SMALL, 0
        concrete.add(slot)
    partials: dict[int, Partial] = {}
    promoted: dict[tuple[int, int], int] = {}
    promotions: dict[int, tuple[int, int]] = {}
    by_promotion: dict[tuple[int, int], int] = {}
    where: dict[int, str] = {}
    seg_stage: dict[int, int] = {}
    next_slot = plan.n_slots
    for index, ins in enumerate(plan.instructions):
        kinds = [kind[s] for s in ins.inputs]
        out = ins.output
        if LAZY in kinds:
            if check is not None:
                check(ins, kinds)
            kind[out], where[index] = LAZY, "lazy"
            continue
        s = max((stage[x] for x in ins.inputs), default=0)
        if all(k == SMALL for k in kinds):
            row = broadcast_row(ins, n_rows, shapes)
            if row is None:
                kind[out], stage[out] = SMALL, s
                if all(x in concrete for x in ins.inputs):
                    concrete.add(out)
                    where[index] = "client"
                else:
                    where[index] = "tail"
                continue
            result: Row | Partial | None = row
            promote: dict[int, int] = {}
        else:
            result, promote = rules.rule(ins, kinds, [x in concrete for x in ins.inputs])
        if result is None:
            kind[out], where[index] = LAZY, "lazy"
            continue
        for pos, axis in promote.items():
            key = (ins.inputs[pos], axis)
            if key not in by_promotion:
                by_promotion[key] = next_slot
                promotions[next_slot] = key
                kind[next_slot], stage[next_slot] = Row(axis), 0
                next_slot += 1
            promoted[(index, pos)] = by_promotion[key]
        where[index] = "segment"
        seg_stage[index] = s
        if isinstance(result, Partial):
            partials[index] = replace(result, index=index)
            kind[out], stage[out] = SMALL, s + 1
        else:
            kind[out], stage[out] = result, s
    return Analysis(kind, concrete, stage, partials, promoted, promotions, where, seg_stage, next_slot)


# ----------------------------------------------------------------------------- sub-plans


def _row_shape(shape: tuple[int, ...] | None, axis: int | None, c: int) -> tuple[int, ...] | None:
    if shape is None or axis is None:
        return shape
    return (*shape[:axis], c, *shape[axis + 1:])


def chunk_instruction(ins: Instruction, out_axis: int | None, c: int) -> Instruction:
    """``ins`` as it runs on one chunk of ``c`` rows (its row axes sized c, attributes to match)."""
    attrs = dict(ins.attrs)
    if out_axis is not None:
        if ins.op in ("reshape", "broadcast_to"):
            attrs["shape"] = _row_shape(tuple(attrs["shape"]), out_axis, c)
        elif ins.op == "slice":
            slices = list(attrs["slices"])
            slices[out_axis] = (0, c, 1)
            attrs["slices"] = tuple(slices)
    return replace(ins, attrs=tuple((k, attrs[k]) for k, _ in ins.attrs), shape=_row_shape(ins.shape, out_axis, c),
                   buffer=None)


@dataclass(frozen=True)
class Template:
    """A sub-Plan over whole rows: its instructions with the row axis of every value (None for small
    ones), from which the plan for chunks of c rows is made."""

    name: str
    inputs: tuple[int, ...]  # template slots of the inputs, in call order
    row_axis: tuple[tuple[int, int], ...]  # template slot -> row axis (row-aligned slots only)
    constants: tuple[tuple[int, float, str], ...]
    instructions: tuple[Instruction, ...]
    outputs: tuple[int, ...]
    output_dtypes: tuple[str, ...]
    n_slots: int

    def plan_for(self, c: int) -> Plan:
        axes = dict(self.row_axis)
        body = tuple(chunk_instruction(ins, axes.get(ins.output), c) for ins in self.instructions)
        return Plan(tuple((s, f"a{s}") for s in self.inputs), self.constants, body, self.outputs,
                    self.output_dtypes, self.n_slots, output_tuple=True, name=self.name,
                    output_copy=(False,) * len(self.outputs))


Ref = Any  # a slot of the plan (or a promoted one), ("c", value, dtype) for a constant, ("t", k) for a temporary


@dataclass(frozen=True)
class Item:
    """One instruction of a sub-plan, over refs."""

    op: str
    inputs: tuple[Ref, ...]
    output: Ref
    attrs: tuple[tuple[str, Any], ...]
    shape: tuple[int, ...] | None
    dtype: str | None
    operand_dtype: str

    @staticmethod
    def of(ins: Instruction, inputs: Sequence[Ref]) -> Item:
        return Item(ins.op, tuple(inputs), ins.output, ins.attrs, ins.shape, ins.dtype, ins.operand_dtype)


def make_template(name: str, items: Sequence[Item], outputs: Sequence[Ref], output_dtypes: Sequence[str],
                  row_axis: dict[Ref, int], inputs_first: Sequence[Ref] = ()) -> tuple[Template, list[Ref]]:
    """The template of ``items`` returning ``outputs``, and the refs its inputs are (in call order:
    ``inputs_first``, then every other ref read and not made here)."""
    made = {it.output for it in items}
    inputs: list[Ref] = [r for r in inputs_first if r not in made]
    consts: list[tuple[float, str]] = []
    for it in items:
        for r in it.inputs:
            if isinstance(r, tuple) and r[0] == "c":
                if (r[1], r[2]) not in consts:
                    consts.append((r[1], r[2]))
            elif r not in made and r not in inputs:
                inputs.append(r)
    for r in outputs:
        if r not in made and r not in inputs:
            inputs.append(r)
    number: dict[Ref, int] = {r: k for k, r in enumerate(inputs)}
    constants = tuple((len(inputs) + k, value, dtype) for k, (value, dtype) in enumerate(consts))
    const_slot = {(value, dtype): slot for slot, value, dtype in constants}
    first = len(inputs) + len(constants)
    for k, it in enumerate(items):
        number[it.output] = first + k

    def slot(r: Ref) -> int:
        if isinstance(r, tuple) and r[0] == "c":
            return const_slot[(r[1], r[2])]
        return number[r]

    body = tuple(Instruction(it.op, tuple(slot(r) for r in it.inputs), number[it.output], it.attrs, it.shape,
                             it.dtype, it.operand_dtype, None) for it in items)
    axes = tuple((number[r], a) for r, a in row_axis.items() if r in number)
    template = Template(name, tuple(range(len(inputs))), axes, constants, body,
                        tuple(slot(r) for r in outputs), tuple(output_dtypes), first + len(body))
    return template, inputs


# ------------------------------------------------------------------------------- running


_COMPILED: dict[tuple[str, int], Callable[..., Any]] = {}
_LOCK = threading.Lock()


@dataclass
class Code:
    """A template and the backend its chunk plans compile with; pickles without the compiled code
    (each process compiles, or loads from the native backend's disk cache, on first use)."""

    template: Template
    backend: str
    lengths: frozenset[int] | None = None  # the chunk lengths compiled with ``backend`` (None: all); others: NumPy
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)

    def executable(self, c: int) -> Callable[..., Any]:
        key = (self.uid, c)
        fn = _COMPILED.get(key)
        if fn is None:
            with _LOCK:
                fn = _COMPILED.get(key)
                if fn is None:
                    from egraph_dsl.backends import get_backend

                    backend = self.backend if c > 0 and (self.lengths is None or c in self.lengths) else "numpy"
                    built = get_backend(backend).compile_plan(self.template.plan_for(c))
                    fn = _COMPILED[key] = built
        return fn



def run_segment(code: Code, n_row_outputs: int, c: int, small_slots: tuple[int, ...], sources: list[Any],
                *rows: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """One chunk of ``c`` rows: the segment's row outputs and its partials. ``sources`` holds, per
    small input, its value or the dict of the tail that made it."""
    smalls = [src[slot] if isinstance(src, dict) else src for slot, src in zip(small_slots, sources, strict=True)]
    out = code.executable(c)(*(np.asarray(r) for r in rows), *smalls)
    return tuple(out[:n_row_outputs]), tuple(out[n_row_outputs:])


def pick(value: Any, *path: Any) -> Any:
    for p in path:
        value = value[p]
    return value


def _lse_pair(m: Any, s: Any) -> tuple[Any, Any]:
    """(maximum, sum of exp(x - shift)) pairs of several chunks stacked on axis 0, combined: the
    pair of their union. A chunk's shift is its maximum where finite, else 0 (as scipy's)."""
    top = np.max(m, axis=0)
    shift = np.where(np.isfinite(top), top, np.zeros((), dtype=top.dtype))
    own = np.where(np.isfinite(m), m, np.zeros((), dtype=m.dtype))
    # an all -inf chunk has sum 0 (and exp of its shift may overflow): it adds nothing
    terms = np.where(s == 0, np.zeros((), dtype=s.dtype), s * np.exp(own - shift))
    return np.asarray(top), np.asarray(np.add.reduce(terms, axis=0))


def combine(layout: tuple[str, ...], leaves: bool, parts: list[Any]) -> tuple[Any, ...]:
    """The partials of several chunks (``leaves``: segment results) or combines, combined in order."""
    groups = [p[1] if leaves else p for p in parts]
    out: list[Any] = []
    k = 0
    with np.errstate(all="ignore"):
        for how in layout:
            if how == "lse":
                m = np.stack([np.asarray(g[k]) for g in groups])
                s = np.stack([np.asarray(g[k + 1]) for g in groups])
                out.extend(_lse_pair(m, s))
                k += 2
                continue
            stacked = np.stack([np.asarray(g[k]) for g in groups])
            reduce: Any = {"sum": np.add.reduce, "prod": np.multiply.reduce, "max": np.max, "min": np.min}[how]
            out.append(np.asarray(reduce(stacked, axis=0)))
            k += 1
    return tuple(out)


def finalize(layout: tuple[str, ...], counts: tuple[int, ...], dtypes: tuple[str, ...],
             combined: tuple[Any, ...]) -> list[Any]:
    """The reductions' results from their combined partials (a logsumexp: the log of its shifted
    sum plus the shift; a mean: the sum over the count)."""
    values = []
    k = 0
    with np.errstate(all="ignore"):
        for how, count, dtype in zip(layout, counts, dtypes, strict=True):
            if how == "lse":
                m, s = combined[k], combined[k + 1]
                shift = np.where(np.isfinite(m), m, np.zeros((), dtype=m.dtype))
                values.append(np.asarray(np.log(s) + shift, dtype=dtype))
                k += 2
                continue
            v = combined[k]
            if count:
                v = np.true_divide(v, count)
            values.append(np.asarray(v, dtype=dtype))
            k += 1
    return values


def run_tail(code: Code | None, code_inputs: tuple[int, ...], code_outputs: tuple[int, ...],
             partial_slots: tuple[int, ...], layout: tuple[str, ...], counts: tuple[int, ...],
             dtypes: tuple[str, ...], combined: Any, source_slots: tuple[int, ...], sources: list[Any]) -> dict[int, Any]:
    """A stage's small work in one task: finalize the partials of the previous stage's segment,
    then run the stage's small instructions. Returns every value it holds, by plan slot."""
    values: dict[int, Any] = {}
    if combined is not None:
        values.update(zip(partial_slots, finalize(layout, counts, dtypes, combined), strict=True))
    for slot, src in zip(source_slots, sources, strict=True):
        values[slot] = src[slot] if isinstance(src, dict) else src
    if code is not None:
        out = code.executable(0)(*(values[s] for s in code_inputs))
        values.update(zip(code_outputs, out, strict=True))
    return values


def tree(layer: dict[Any, Any], name: str, leaves: list[Any], layout: tuple[str, ...], split_every: int) -> Any:
    """Tasks combining the partials of ``leaves`` (segment keys), ``split_every`` at a time, in
    chunk order; the key of the root."""
    level, keys, first = 0, list(leaves), True
    while first or len(keys) > 1:
        nxt = []
        for g, start in enumerate(range(0, len(keys), split_every)):
            key = (f"{name}-combine{level}", g)
            layer[key] = (combine, layout, first, keys[start:start + split_every])
            nxt.append(key)
        keys, level, first = nxt, level + 1, False
    return keys[0]


# ------------------------------------------------------------------------------ lowering


@dataclass
class Segment:
    """The row instructions of one stage: one task per chunk."""

    stage: int
    code: Code
    row_inputs: list[tuple[Ref, int]]  # (plan or promoted slot, its row axis)
    small_inputs: list[int]
    row_outputs: list[tuple[int, int]]  # (plan slot, row axis) of the row values used elsewhere
    partial_slots: list[int]  # the partials' plan slots, in layout order
    layout: tuple[str, ...]
    counts: tuple[int, ...]
    dtypes: tuple[str, ...]


@dataclass
class Tail:
    """The small instructions of one stage (and the finalizing of the previous stage's partials)."""

    stage: int
    code: Code | None
    code_inputs: tuple[int, ...]
    code_outputs: tuple[int, ...]
    sources: list[int]  # slots it reads that it neither finalizes nor makes
    partials: Segment | None


@dataclass
class Lowering:
    plan: Plan
    analysis: Analysis
    client: Code | None
    client_inputs: tuple[int, ...]
    client_outputs: tuple[int, ...]
    segments: dict[int, Segment]
    tails: dict[int, Tail]
    lazy: list[int]  # instruction indices lowered op by op
    home: dict[int, int]  # lazy small slot -> the stage of the tail holding it

    def describe(self) -> list[str]:
        lines = []
        if self.client is not None:
            lines.append(f"  client: {len(self.client.template.instructions)} small instructions (NumPy)")
        for s in sorted(set(self.segments) | set(self.tails)):
            if s in self.tails:
                t = self.tails[s]
                n = len(t.code.template.instructions) if t.code else 0
                fin = f", finalizes {len(t.partials.layout)} partials" if t.partials else ""
                lines.append(f"  stage {s} tail: one task, {n} small instructions{fin}")
            if s in self.segments:
                g = self.segments[s]
                lines.append(f"  stage {s} segment: one task per chunk, {len(g.code.template.instructions)} "
                             f"instructions on the {g.code.backend} backend, {len(g.row_outputs)} row outputs, "
                             f"partials {', '.join(g.layout) or 'none'}")
        if self.lazy:
            ops_ = sorted({self.plan.instructions[i].op for i in self.lazy})
            lines.append(f"  op by op: {len(self.lazy)} instructions ({', '.join(ops_)})")
        return lines


def _lse_items(ins: Instruction, x: Ref, xshape: tuple[int, ...], axis: int | None, out_m: Ref, out_s: Ref,
               dtype: str) -> tuple[list[Item], dict[Ref, int]]:
    """A chunk's logsumexp partial: m = max(x), s = sum(exp(x - shift)), shift = m if finite else 0."""
    axes = ins.attr.get("axis")
    keep = bool(ins.attr.get("keepdims", False))
    tag = ins.output
    kept = tuple(1 if a in _axes(axes, len(xshape)) else d for a, d in enumerate(xshape))
    t_max, t_fin, t_sh, t_d, t_e = (("t", tag, k) for k in range(5))
    zero = ("c", 0.0, dtype)
    red = {"axis": axes, "keepdims": True}
    items = [
        Item("max", (x,), t_max, tuple(red.items()), kept, dtype, dtype),
        Item("isfinite", (t_max,), t_fin, (), kept, "bool", dtype),
        Item("where", (t_fin, t_max, zero), t_sh, (), kept, dtype, dtype),
        Item("sub", (x, t_sh), t_d, (), tuple(xshape), dtype, dtype),
        Item("exp", (t_d,), t_e, (), tuple(xshape), dtype, dtype),
        Item("sum", (t_e,), out_s, (("axis", axes), ("keepdims", keep)), ins.shape, dtype, dtype),
        Item("reshape", (t_max,), out_m, (("shape", tuple(ins.shape or ())),), ins.shape, dtype, dtype),
    ]
    rows = {t_d: axis, t_e: axis} if axis is not None else {}
    return items, rows


def kernel_lengths(row_chunks: Sequence[int]) -> frozenset[int]:
    """The chunk lengths worth a kernel build each: those of two chunks or more, else the longest
    (a last, shorter chunk runs through NumPy rather than cost a second build)."""
    counts: dict[int, int] = {}
    for c in row_chunks:
        counts[c] = counts.get(c, 0) + 1
    repeated = frozenset(c for c, n in counts.items() if n > 1)
    return repeated or frozenset({max(row_chunks, default=0)})


def lower(plan: Plan, analysis: Analysis, shapes: dict[int, tuple[int, ...] | None], backend: str,
          row_chunks: Sequence[int] = ()) -> Lowering:
    """The segments, tails and client work of an analysed plan (compiled on first use)."""
    kind, where, stage = analysis.kind, analysis.where, analysis.stage
    const_of = {slot: ("c", value, dtype) for slot, value, dtype in plan.constants}
    instrs = plan.instructions

    def ref(index: int, pos: int) -> Ref:
        s = instrs[index].inputs[pos]
        return analysis.promoted.get((index, pos), const_of.get(s, s))

    # who reads each slot, by where it runs
    readers: dict[int, set[tuple[str, int]]] = {}
    for index, ins in enumerate(instrs):
        w = where[index]
        group = (w, analysis.seg_stage[index] if w == "segment" else stage.get(ins.output, -1))
        for pos, s in enumerate(ins.inputs):
            readers.setdefault(analysis.promoted.get((index, pos), s), set()).add(group)
    for s in plan.outputs:
        readers.setdefault(s, set()).add(("output", -1))

    # client: the small instructions over concrete values
    client_items = [Item.of(ins, [ref(i, p) for p in range(len(ins.inputs))])
                    for i, ins in enumerate(instrs) if where[i] == "client"]
    client = None
    client_inputs: tuple[int, ...] = ()
    client_outputs: tuple[int, ...] = ()
    if client_items:
        outs = [it.output for it in client_items]
        template, inputs = make_template(f"{plan.name}_client", client_items, outs,
                                         [it.dtype or "float64" for it in client_items], {})
        client = Code(template, "numpy")
        client_inputs, client_outputs = tuple(inputs), tuple(outs)

    segments: dict[int, Segment] = {}
    seg_indices: dict[int, list[int]] = {}
    for i in range(len(instrs)):
        if where[i] == "segment":
            seg_indices.setdefault(analysis.seg_stage[i], []).append(i)
    home: dict[int, int] = {}
    for s, indices in seg_indices.items():
        items: list[Item] = []
        row_axis: dict[Ref, int] = {}
        partial_outputs: list[Ref] = []
        partial_slots, layout, counts, dtypes, out_dtypes = [], [], [], [], []
        for i in indices:
            ins = instrs[i]
            refs = [ref(i, p) for p in range(len(ins.inputs))]
            for r, src in zip(refs, ins.inputs, strict=True):
                k = kind.get(r if isinstance(r, int) else src)
                if isinstance(k, Row):
                    row_axis[r] = k.axis
            part = analysis.partials.get(i)
            if part is None:
                out_kind = kind[ins.output]
                assert isinstance(out_kind, Row)
                row_axis[ins.output] = out_kind.axis
                items.append(Item.of(ins, refs))
                continue
            partial_slots.append(ins.output)
            layout.append(part.combine)
            counts.append(part.count)
            dtypes.append(ins.dtype or "float64")
            home[ins.output] = s + 1
            if part.combine == "lse":
                xk = kind[ins.inputs[0]]
                m, sm = ("t", ins.output, "m"), ("t", ins.output, "s")
                new, rows = _lse_items(ins, refs[0], shapes[ins.inputs[0]] or (), xk.axis if isinstance(xk, Row) else None,
                                       m, sm, ins.dtype or "float64")
                items.extend(new)
                row_axis.update(rows)
                partial_outputs += [m, sm]
                out_dtypes += [ins.dtype or "float64"] * 2
                continue
            op = "sum" if ins.op == "mean" else ins.op
            items.append(replace(Item.of(ins, refs), op=op))
            partial_outputs.append(ins.output)
            out_dtypes.append(ins.dtype or "float64")
        made = {it.output for it in items}
        row_outputs = []
        for r in made:
            if not isinstance(r, int) or not isinstance(kind.get(r), Row):
                continue
            groups = readers.get(r, set())
            if any(g != ("segment", s) for g in groups):
                k = kind[r]
                assert isinstance(k, Row)
                row_outputs.append((r, k.axis))
        row_outputs.sort()
        row_inputs_first = []
        small_inputs = []
        for it in items:
            for r in it.inputs:
                if r in made or (isinstance(r, tuple) and r[0] == "c"):
                    continue
                k = kind.get(r)
                if isinstance(k, Row):
                    if (r, k.axis) not in row_inputs_first:
                        row_inputs_first.append((r, k.axis))
                elif r not in small_inputs:
                    small_inputs.append(r)
        outputs = [r for r, _ in row_outputs] + partial_outputs
        output_dtypes = [plan_dtype(instrs, r) for r, _ in row_outputs] + out_dtypes
        template, _inputs = make_template(f"{plan.name}_s{s}", items, outputs, output_dtypes, row_axis,
                                          [r for r, _ in row_inputs_first] + small_inputs)
        code = Code(template, backend, kernel_lengths(row_chunks) if backend != "numpy" else None)
        segments[s] = Segment(s, code, row_inputs_first, small_inputs, row_outputs, partial_slots, tuple(layout),
                              tuple(counts), tuple(dtypes))

    # tails: small instructions over lazy values, by stage (stage 0: over lazy small arguments)
    tail_indices: dict[int, list[int]] = {}
    for i in range(len(instrs)):
        if where[i] == "tail":
            tail_indices.setdefault(stage[instrs[i].output], []).append(i)
    for slot, k in kind.items():
        if k == SMALL and slot not in analysis.concrete and slot < len(plan.input_slots):
            home[slot] = 0
    stages = set(tail_indices) | {s + 1 for s, g in segments.items() if g.layout} | set(home.values())
    tails: dict[int, Tail] = {}
    for t in sorted(stages):
        items = [Item.of(instrs[i], [ref(i, p) for p in range(len(instrs[i].inputs))]) for i in tail_indices.get(t, [])]
        for it in items:
            home[it.output] = t
        tail_code: Code | None = None
        code_inputs: tuple[int, ...] = ()
        code_outputs: tuple[int, ...] = ()
        if items:
            outs = [it.output for it in items]
            template, inputs = make_template(f"{plan.name}_t{t}", items, outs, [it.dtype or "float64" for it in items], {})
            tail_code = Code(template, "numpy")
            code_inputs, code_outputs = tuple(inputs), tuple(outs)
        partials = segments.get(t - 1) if t > 0 and t - 1 in segments and segments[t - 1].layout else None
        finalized = set(partials.partial_slots) if partials else set()
        sources = [s for s in code_inputs if s not in finalized]
        sources += [s for s, h in home.items() if h == t and s < len(plan.input_slots) and s not in sources]
        tails[t] = Tail(t, tail_code, code_inputs, code_outputs, sources, partials)
    lazy = [i for i in range(len(instrs)) if where[i] == "lazy"]
    return Lowering(plan, analysis, client, client_inputs, client_outputs, segments, tails, lazy, home)


def plan_dtype(instrs: Sequence[Instruction], slot: int) -> str:
    for ins in instrs:
        if ins.output == slot:
            return ins.dtype or "float64"
    raise KeyError(slot)

