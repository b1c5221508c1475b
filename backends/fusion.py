"""Fusion: group a Plan's elementwise instructions into kernels (pure Python, no CuPy needed).

A *fused group* is a maximal DAG region of elementwise instructions of one shape, optionally
ending in a sum/mean/max/min reduction over all axes or one axis. The whole group runs as one
kernel at the position of its last member, so a group may only grow while every value it
produces that is used outside it is needed after that position. Values used outside the group
(or returned by the plan) are written out; everything else stays in registers.

The result is a :class:`Schedule`: an ordered list of steps, each a :class:`FusedGroup` or the
index of an instruction run on its own, plus the layout of every value a kernel reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from egraph_dsl import ops
from egraph_dsl.plan import Instruction, Plan

FLOAT_DTYPES = frozenset({"float32", "float64"})
INT_DTYPES = frozenset({"int32", "int64"})
_NUMERIC = FLOAT_DTYPES | INT_DTYPES
_ALL = _NUMERIC | {"bool"}

# operand dtypes each elementwise op may be fused for: its c_expr is exact C for those types.
# (fabs, pow, transcendental helpers and true division are float-only in C; NumPy's integer
# semantics for them differ, so those instructions run through the op's CuPy impl instead.)
FUSABLE_OPERAND_DTYPES: dict[str, frozenset[str]] = {
    "add": _NUMERIC, "sub": _NUMERIC, "mul": _NUMERIC, "neg": _NUMERIC, "square": _ALL,  # bool: x && x
    "maximum": _NUMERIC, "minimum": _NUMERIC,
    "less": _NUMERIC, "less_equal": _NUMERIC, "greater": _NUMERIC, "greater_equal": _NUMERIC,
    "equal": _ALL, "not_equal": _ALL, "where": _ALL, "astype": _ALL,
    "div": FLOAT_DTYPES, "pow": FLOAT_DTYPES, "logaddexp": FLOAT_DTYPES, "abs": FLOAT_DTYPES,
    "sqrt": FLOAT_DTYPES, "exp": FLOAT_DTYPES, "log": FLOAT_DTYPES, "log1p": FLOAT_DTYPES,
    "expm1": FLOAT_DTYPES, "tanh": FLOAT_DTYPES, "sigmoid": FLOAT_DTYPES, "softplus": FLOAT_DTYPES,
    # the rest of the ufuncs: libm for floats (integer rounding is the identity, left to CuPy);
    # logic on every dtype, bitwise on bools and ints (~ only on ints: C's ~true is -2),
    # NumPy's floor division and remainders (zero divisors included) through helpers
    **dict.fromkeys(("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh",
                     "arctanh", "exp2", "log2", "log10", "cbrt", "floor", "ceil", "trunc", "rint", "reciprocal",
                     "isfinite", "isnan", "isinf", "signbit", "arctan2", "hypot", "copysign",
                     "log_expit", "logit", "erf", "erfc", "xlogy", "xlog1py"),
                    FLOAT_DTYPES),
    "sign": _NUMERIC, "logical_not": _ALL, "logical_and": _ALL, "logical_or": _ALL, "logical_xor": _ALL,
    "bitwise_and": INT_DTYPES | {"bool"}, "bitwise_or": INT_DTYPES | {"bool"}, "bitwise_xor": INT_DTYPES | {"bool"},
    "invert": INT_DTYPES, "floor_divide": _NUMERIC, "remainder": _NUMERIC, "fmod": _NUMERIC,
}

# elementwise ops never fused, and why: they run through their CuPy impl
UNFUSED: dict[str, str] = dict.fromkeys(
    ("ndtr", "log_ndtr", "gammaln"),
    "scipy's implementation (cephes) differs from the C helpers by more than 4 ulps in its tails "
    "(gammaln of a subnormal is inf in scipy): cupyx.scipy.special computes it instead")

# reductions that can close a fused group, with the dtypes their generated loop is exact for
FUSABLE_REDUCTIONS: dict[str, frozenset[str]] = {
    "sum": _NUMERIC, "max": _NUMERIC, "min": _NUMERIC, "mean": FLOAT_DTYPES,
}
# the native backend also closes a group with a logsumexp over a contiguous run (the last axis,
# or all of them): two passes over a row buffer, the maximum, then the shifted pairwise sum
NATIVE_REDUCTIONS: dict[str, frozenset[str]] = {**FUSABLE_REDUCTIONS, "logsumexp": FLOAT_DTYPES}
CONTIGUOUS_ONLY = frozenset({"logsumexp"})  # reductions generated only where the reduced run is contiguous

# ops whose CuPy impl returns a view of its input (never written into, alias their input)
VIEW_OPS = frozenset(name for name, spec in ops.OPS.items() if spec.view)


class Layout(Enum):
    """How a kernel reads one of its inputs."""

    FLAT = "flat"  # C-contiguous with the iteration shape: element i
    STRIDED = "strided"  # same ndim as the iteration shape, strides passed at launch (views)
    SCALAR = "scalar"  # a 0-d array: element 0


@dataclass(frozen=True)
class KernelInput:
    slot: int
    dtype: str
    layout: Layout


@dataclass(frozen=True)
class Reduction:
    """The reduction closing a group: iteration shape viewed as (outer, reduced, inner)."""

    index: int  # instruction index in the plan
    op: str
    source: int  # the slot that is reduced (a member's output or a kernel input)
    outer: int
    reduced: int
    inner: int

    @property
    def n_out(self) -> int:
        return self.outer * self.inner


@dataclass(frozen=True)
class FusedGroup:
    """One generated kernel: members in plan order, what it reads and what it writes."""

    name: str
    members: tuple[int, ...]  # elementwise instruction indices, plan order
    shape: tuple[int, ...]  # iteration shape (the elementwise shape, or the reduced input's)
    inputs: tuple[KernelInput, ...]
    outputs: tuple[int, ...]  # member slots written out (used outside or returned)
    reduction: Reduction | None = None

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def last(self) -> int:
        return self.reduction.index if self.reduction else self.members[-1]


Step = FusedGroup | int


@dataclass(frozen=True)
class Schedule:
    plan: Plan
    steps: tuple[Step, ...]

    @property
    def groups(self) -> tuple[FusedGroup, ...]:
        return tuple(s for s in self.steps if isinstance(s, FusedGroup))

    def describe(self, elsewhere: str) -> list[str]:
        """One line per step: each kernel's size and traffic, each other instruction's op and
        where it runs (``elsewhere``: the backend's library, e.g. "numpy")."""
        lines = []
        for step in self.steps:
            if isinstance(step, FusedGroup):
                red = f" + {step.reduction.op}" if step.reduction else ""
                lines.append(f"  kernel {step.name}: {len(step.members)} elementwise ops{red} over {step.size} "
                             f"elements, reads {len(step.inputs)}, writes {len(step.outputs)}")
            else:
                lines.append(f"  {self.plan.instructions[step].op} ({elsewhere})")
        return lines


def fusable(ins: Instruction) -> bool:
    """Whether an elementwise instruction can be generated from its op's ``c_expr``."""
    allowed = FUSABLE_OPERAND_DTYPES.get(ins.op)
    if allowed is None or ops.spec(ins.op).c_expr is None or ins.shape is None:
        return False
    return ins.operand_dtype in allowed and (ins.dtype or "") in _ALL


def reduction_fusable(ins: Instruction, plan_shape: tuple[int, ...] | None,
                      reductions: Mapping[str, frozenset[str]] = FUSABLE_REDUCTIONS) -> bool:
    allowed = reductions.get(ins.op)
    if allowed is None or plan_shape is None or ins.dtype not in allowed:
        return False
    axis = ins.attr.get("axis")
    if axis is not None and len(axis) != 1:
        return False
    if ins.op in CONTIGUOUS_ONLY and axis is not None:
        return math.prod(plan_shape[axis[0] + 1:]) == 1
    return True


ArgShapes = dict[int, tuple[int, ...]]


def _slot_info(plan: Plan, arg_shapes: ArgShapes | None = None
               ) -> tuple[dict[int, int], dict[int, tuple[tuple[int, ...] | None, str | None]]]:
    """Producer instruction index and (shape, dtype) of every slot.

    A plan records no argument shapes; ``arg_shapes`` (slot -> shape) gives them, otherwise an
    argument is assumed to have the shape of the first elementwise op reading it.
    """
    producer = {ins.output: i for i, ins in enumerate(plan.instructions)}
    info: dict[int, tuple[tuple[int, ...] | None, str | None]] = {
        ins.output: (ins.shape, ins.dtype) for ins in plan.instructions}
    for slot, _value, dtype in plan.constants:
        info[slot] = (None, dtype)
    arguments = {slot for slot, _name in plan.input_slots}
    for ins in plan.instructions:
        if ops.spec(ins.op).elementwise and ins.shape is not None:
            for pos, s in enumerate(ins.inputs):
                if s in arguments and s not in info:
                    shape = arg_shapes.get(s, ins.shape) if arg_shapes is not None else ins.shape
                    info[s] = (tuple(shape), _operand_dtype_at(ins, pos))
    for s, shape in (arg_shapes or {}).items():
        if s not in info:
            info[s] = (tuple(shape), None)
    return producer, info


def slot_layouts(plan: Plan, info: dict[int, tuple[tuple[int, ...] | None, str | None]]) -> dict[int, Layout]:
    """Layout every value has at run time: views (layout ops) are strided, the rest flat."""
    layouts: dict[int, Layout] = {}
    for slot, _name in plan.input_slots:
        layouts[slot] = Layout.FLAT  # the executor makes arguments contiguous
    for ins in plan.instructions:
        if ins.shape is None or ins.shape == ():
            layouts[ins.output] = Layout.SCALAR
        elif ins.op in VIEW_OPS:
            layouts[ins.output] = Layout.STRIDED
        else:
            layouts[ins.output] = Layout.FLAT
    return layouts


def fuse(plan: Plan, arg_shapes: ArgShapes | None = None, min_group: int = 1,
         reductions: Mapping[str, frozenset[str]] = FUSABLE_REDUCTIONS) -> Schedule:
    """Group ``plan``'s instructions into fused kernels and single steps, in a valid order.

    ``arg_shapes`` maps argument slots to their shapes (see :func:`_slot_info`); ``reductions``
    the reductions that may close a group (the backend's generator must know each of them).
    """
    instrs = plan.instructions
    producer, info = _slot_info(plan, arg_shapes)
    const_slots = {slot for slot, _v, _d in plan.constants}
    consumers: dict[int, list[int]] = {}
    for i, ins in enumerate(instrs):
        for s in ins.inputs:
            consumers.setdefault(s, []).append(i)
    returned = set(plan.outputs)
    group_of: dict[int, int] = {}  # instruction index -> group id
    members: dict[int, list[int]] = {}
    reduction_of: dict[int, int] = {}
    closed: set[int] = set()

    def valid(member_set: set[int], last: int) -> bool:
        for m in member_set:
            for c in consumers.get(instrs[m].output, ()):
                if c not in member_set and c < last:
                    return False
        return True

    for i, ins in enumerate(instrs):
        if fusable(ins):
            candidates = []
            for s in ins.inputs:
                p = producer.get(s)
                if p is not None and p in group_of and group_of[p] not in closed and instrs[p].shape == ins.shape:
                    if group_of[p] not in candidates:
                        candidates.append(group_of[p])
            merged: set[int] = {i}
            chosen: list[int] = []
            for g in candidates:  # add producer groups one at a time while the region stays valid
                trial = merged | set(members[g])
                if valid(trial, i):
                    merged = trial
                    chosen.append(g)
            if chosen:
                target = chosen[0]
                for g in chosen[1:]:
                    members.pop(g)
                members[target] = sorted(merged)
                for m in merged:
                    group_of[m] = target
            else:
                members[i] = [i]
                group_of[i] = i
        elif ins.op in reductions:
            src = ins.inputs[0]
            src_shape = info.get(src, (None, None))[0]
            if not reduction_fusable(ins, src_shape, reductions):
                continue
            p = producer.get(src)
            if p is not None and p in group_of and group_of[p] not in closed:
                g = group_of[p]
                trial = set(members[g]) | {i}
                if valid(trial, i):
                    reduction_of[g] = i
                    closed.add(g)
                    group_of[i] = g
                    continue
            members[i] = []  # a reduction kernel over a value made elsewhere
            group_of[i] = i
            reduction_of[i] = i
            closed.add(i)

    layouts = slot_layouts(plan, info)
    # order: a group runs at its last member; everything else at its own index
    position: dict[int, Step] = {}
    for gid, ms in members.items():
        red_index = reduction_of.get(gid)
        if len(ms) < min_group and red_index is None:
            continue
        group = _make_group(plan, f"egd_{_ident(plan.name)}_{len(position)}", ms, red_index, info, layouts,
                            consumers, returned, const_slots)
        position[group.last] = group
    steps: list[Step] = []
    in_group = {m for s in position.values() if isinstance(s, FusedGroup) for m in s.members}
    in_group |= {s.reduction.index for s in position.values() if isinstance(s, FusedGroup) and s.reduction}
    for i in range(len(instrs)):
        if i in position:
            steps.append(position[i])
        elif i not in in_group:
            steps.append(i)
    return Schedule(plan, tuple(steps))


def _ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)[:40] or "plan"


def _make_group(plan: Plan, name: str, member_list: list[int], red_index: int | None,
                info: dict[int, tuple[tuple[int, ...] | None, str | None]], layouts: dict[int, Layout],
                consumers: dict[int, list[int]], returned: set[int], const_slots: set[int]) -> FusedGroup:
    instrs = plan.instructions
    ms = tuple(sorted(member_list))
    member_slots = {instrs[m].output for m in ms}
    closing = set(ms) | ({red_index} if red_index is not None else set())
    inputs: list[tuple[int, str]] = []  # (slot, dtype) read from outside the group
    readers = [instrs[m] for m in ms] + ([instrs[red_index]] if red_index is not None else [])
    for ins in readers:
        for pos, s in enumerate(ins.inputs):
            if s in member_slots or s in const_slots:
                continue
            dtype = info.get(s, (None, None))[1]
            if dtype is None:  # a weak value computed at run time: given the consumer's dtype
                reduces = ops.spec(ins.op).kind is ops.Kind.REDUCTION
                dtype = (ins.dtype or "float64") if reduces else _operand_dtype_at(ins, pos)
            if (s, dtype) not in inputs:
                inputs.append((s, dtype))
    outputs = tuple(instrs[m].output for m in ms
                    if instrs[m].output in returned
                    or any(c not in closing for c in consumers.get(instrs[m].output, ())))
    reduction = None
    group_shape = tuple(instrs[ms[-1]].shape or ()) if ms else None
    if red_index is not None:
        red = instrs[red_index]
        src_shape = info[red.inputs[0]][0] or ()
        axis = red.attr.get("axis")
        if axis is None:
            outer, reduced, inner = 1, math.prod(src_shape), 1
        else:
            a = axis[0]
            outer, reduced, inner = math.prod(src_shape[:a]), src_shape[a], math.prod(src_shape[a + 1:])
        reduction = Reduction(red_index, red.op, red.inputs[0], outer, reduced, inner)
        group_shape = tuple(src_shape)
    assert group_shape is not None
    # elementwise operands broadcast NumPy-style: smaller shapes are read through strides
    placed = []
    for s, dtype in inputs:
        shape = info.get(s, (None, None))[0]
        if shape is None or shape == ():
            layout = Layout.SCALAR
        elif tuple(shape) != group_shape:
            layout = Layout.STRIDED
        else:
            layout = layouts.get(s, Layout.FLAT)
        placed.append(KernelInput(s, dtype, layout))
    return FusedGroup(name, ms, group_shape, tuple(placed), outputs, reduction)


def _operand_dtype_at(ins: Instruction, position: int) -> str:
    return "bool" if ins.op == "where" and position == 0 else ins.operand_dtype
