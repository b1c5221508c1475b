"""A Plan: the extracted program as a flat, ordered list of instructions over value slots.

Each instruction names its op, input slots, output slot and the buffer it may write into.
Buffers are assigned by a liveness scan: an elementwise op writes (``out=``) into the buffer of
a temporary whose last use has passed and whose shape and dtype match, so long chains reuse a
few arrays instead of allocating one per op. Backends are small interpreters over plans.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from . import ops
from .program import Program
from .term import Term, format_attr, operand_dtype


@dataclass(frozen=True)
class Instruction:
    op: str
    inputs: tuple[int, ...]
    output: int
    attrs: tuple[tuple[str, Any], ...]
    shape: tuple[int, ...] | None
    dtype: str | None
    operand_dtype: str  # dtype weak constant operands are given
    buffer: int | None  # reuse this earlier slot's array as out=, or None to allocate

    @property
    def attr(self) -> dict[str, Any]:
        return dict(self.attrs)


@dataclass(frozen=True)
class Plan:
    """Slots 0..n-1 hold inputs, then constants, then instruction outputs."""

    input_slots: tuple[tuple[int, str], ...]
    constants: tuple[tuple[int, float, str], ...]  # slot, value, dtype
    instructions: tuple[Instruction, ...]
    outputs: tuple[int, ...]
    output_dtypes: tuple[str, ...]
    n_slots: int
    output_tuple: bool = False
    name: str = "plan"

    def __str__(self) -> str:
        lines = [f"plan {self.name}: {len(self.instructions)} instructions, "
                 f"{sum(1 for i in self.instructions if i.buffer is not None)} write into reused buffers"]
        for slot, name in self.input_slots:
            lines.append(f"  v{slot} = input {name}")
        for slot, value, dtype in self.constants:
            lines.append(f"  v{slot} = const {value!r} ({dtype})")
        for ins in self.instructions:
            args = ", ".join(f"v{i}" for i in ins.inputs)
            attrs = "".join(f", {k}={format_attr(v)}" for k, v in ins.attrs)
            buf = f"  [into v{ins.buffer}]" if ins.buffer is not None else ""
            shape = "weak" if ins.shape is None else f"{ins.dtype}[{','.join(map(str, ins.shape))}]"
            lines.append(f"  v{ins.output}: {shape} = {ins.op}({args}{attrs}){buf}")
        lines.append("  return " + ", ".join(f"v{o}" for o in self.outputs))
        return "\n".join(lines)


def effective_args(t: Term) -> tuple[Term, ...]:
    """The arguments a backend really needs: NumPy broadcasts elementwise operands itself.

    ``broadcast_to`` feeding an elementwise op is skipped when another operand already has the
    full result shape (so the result keeps its shape); the view is then never built.
    """
    if not ops.spec(t.op).elementwise or t.op == "astype" or t.shape is None:
        return t.args
    full = [a for a in t.args if a.shape == t.shape and a.op != "broadcast_to"]
    if not full:
        return t.args
    return tuple(a.args[0] if a.op == "broadcast_to" and a.args[0].op != "const" else a for a in t.args)


def build_plan(program: Program, reuse_buffers: bool = True) -> Plan:
    """Linearize ``program`` (children first), drop dead views and assign reusable buffers."""
    terms = program.terms()
    args_of = {id(t): effective_args(t) for t in terms}
    needed = {id(o) for o in program.outputs}
    for t in reversed(terms):
        if id(t) in needed:
            needed.update(id(a) for a in args_of[id(t)])
    slot: dict[int, int] = {}
    input_slots: list[tuple[int, str]] = []
    for t in program.inputs:
        slot[id(t)] = len(slot)
        input_slots.append((slot[id(t)], str(t.attr["name"])))
    body = [t for t in terms if t.op not in ("input", "const") and id(t) in needed]
    # a weak constant gets one slot per dtype it is used in, holding a typed NumPy scalar
    const_slot: dict[tuple[Any, ...], int] = {}
    constants: list[tuple[int, float, str]] = []
    n_const = len({(struct_key(a), operand_dtype(t)) for t in body for a in args_of[id(t)] if a.op == "const"})
    first_body = len(slot) + n_const
    for i, t in enumerate(body):
        slot[id(t)] = first_body + i

    def arg_slot(a: Term, consumer: Term) -> int:
        if a.op != "const":
            return slot[id(a)]
        key = (struct_key(a), operand_dtype(consumer))
        if key not in const_slot:
            const_slot[key] = len(program.inputs) + len(constants)
            constants.append((const_slot[key], float(a.attr["value"]), key[1]))
        return const_slot[key]

    out_slots = {slot[id(o)] for o in program.outputs}
    last_use: dict[int, int] = {}
    for i, t in enumerate(body):
        for a in args_of[id(t)]:
            if a.op != "const":
                last_use[slot[id(a)]] = i
    reusable = {slot[id(t)] for t in body} - out_slots
    free: dict[tuple[Any, ...], list[int]] = {}
    owner: dict[int, int] = {}  # slot -> the slot whose (fresh, writable) array it lives in
    shape_of = {slot[id(t)]: (t.shape, t.dtype) for t in body}
    instructions: list[Instruction] = []
    for i, t in enumerate(body):
        s = slot[id(t)]
        args = args_of[id(t)]
        buffer = None
        key = (t.shape, t.dtype)
        # inputs whose last use is this instruction may hand their buffer to the output
        dying = list(dict.fromkeys(slot[id(a)] for a in args  # once each, even for add(v, v)
                                   if a.op != "const" and last_use.get(slot[id(a)]) == i and slot[id(a)] in reusable))
        # only ufuncs write into buffers (out=), and only fresh, writable, non-scalar ones: arrays
        # that elementwise ops made (views from layout ops and reduction scalars never qualify)
        fresh = reuse_buffers and ops.spec(t.op).elementwise and bool(t.shape) and t.op != "astype"
        writes_out = fresh and ops.spec(t.op).ufunc is not None
        if writes_out:
            for d in dying:
                if d in owner and shape_of[d] == key:
                    buffer = owner[d]
                    dying.remove(d)
                    break
            if buffer is None and free.get(key):
                buffer = free[key].pop()
        if fresh:
            owner[s] = buffer if buffer is not None else s
        for d in dying:
            if d in owner:
                free.setdefault(shape_of[d], []).append(owner[d])
        instructions.append(Instruction(t.op, tuple(arg_slot(a, t) for a in args), s, t.attrs, t.shape,
                                        t.dtype, operand_dtype(t), buffer))
    return Plan(tuple(input_slots), tuple(constants), tuple(instructions),
                tuple(slot[id(o)] for o in program.outputs), tuple(o.dtype or "float64" for o in program.outputs),
                first_body + len(body), program.output_tuple, program.name)


def struct_key(t: Term) -> bytes:
    return struct.pack("<d", float(t.attr["value"]))

