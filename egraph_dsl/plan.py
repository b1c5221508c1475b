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
    output_copy: tuple[bool, ...] = ()  # per output: copy it on return (it aliases an input or a view)
    output_list: bool = False  # the function returned a list (else a tuple, when output_tuple)

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
    """Linearize ``program`` (children first), drop dead views and assign reusable buffers.

    Every value lives in a *storage* (the array some instruction allocated): a view op's result
    lives in its argument's storage, and an elementwise op that writes ``out=`` lives in the
    buffer it wrote. A storage is handed to a later op only once every value living in it, views
    included, has had its last use, so a live view never sees its base overwritten. Outputs that
    would alias an input, a view, or another output are copied on return.
    """
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
    inputs = {s for s, _ in input_slots}
    storage: dict[int, int] = {s: s for s in inputs}  # value slot -> storage it lives in
    holders: dict[int, int] = dict.fromkeys(inputs, 1)  # storage -> values in it still to be read
    writable: set[int] = set()  # storages an elementwise ufunc allocated: fresh, writable, reusable
    readonly: set[int] = set()  # values that are read-only views (broadcasts, and views of them)
    is_view: set[int] = set()
    frozen = set(inputs)  # storages a result must never alias: arguments and array constants
    free: dict[tuple[Any, ...], list[int]] = {}
    kind_of: dict[int, tuple[Any, ...]] = {}  # storage -> (shape, dtype) of its array
    instructions: list[Instruction] = []
    for i, t in enumerate(body):
        s = slot[id(t)]
        spec = ops.spec(t.op)
        args = args_of[id(t)]
        key = (t.shape, t.dtype)
        arg_slots = list(dict.fromkeys(slot[id(a)] for a in args if a.op != "const"))  # once each
        dying = [a for a in arg_slots if last_use.get(a) == i and a not in out_slots]
        buffer = None
        # only ufuncs write into buffers (out=), and only into arrays elementwise ops made
        # (views from layout ops and reduction scalars never qualify)
        writes_out = (reuse_buffers and spec.elementwise and bool(t.shape) and t.op != "astype"
                      and spec.ufunc is not None)
        if writes_out:
            for d in dying:  # an argument read for the last time: the array itself, nothing else in it
                st = storage[d]
                if d not in is_view and st in writable and kind_of[st] == key and holders[st] == 1:
                    buffer = st
                    break
            if buffer is None and free.get(key):
                buffer = free[key].pop()
        if buffer is not None:
            storage[s] = buffer
        elif spec.view and args[0].op != "const":
            base = slot[id(args[0])]
            storage[s] = storage[base]
            is_view.add(s)
            if t.op == "broadcast_to" or base in readonly:
                readonly.add(s)
        else:
            storage[s] = s
            kind_of[s] = key
            if writes_out:
                writable.add(s)
            if spec.kind is ops.Kind.LEAF:  # an array constant: shared by every call, never handed out
                frozen.add(s)
        holders[storage[s]] = holders.get(storage[s], 0) + 1
        for d in dying:
            st = storage[d]
            holders[st] -= 1
            if holders[st] == 0 and st in writable:
                free.setdefault(kind_of[st], []).append(st)
        instructions.append(Instruction(t.op, tuple(arg_slot(a, t) for a in args), s, t.attrs, t.shape,
                                        t.dtype, operand_dtype(t), buffer))
    outputs = tuple(slot[id(o)] for o in program.outputs)
    return Plan(tuple(input_slots), tuple(constants), tuple(instructions), outputs,
                tuple(o.dtype or "float64" for o in program.outputs),
                first_body + len(body), program.output_tuple, program.name,
                output_copies(outputs, storage, frozen, readonly), program.output_list)


def output_copies(outputs: tuple[int, ...], storage: dict[int, int], inputs: set[int],
                  readonly: set[int]) -> tuple[bool, ...]:
    """Which outputs must be copied so that every result is a fresh, writable array.

    An output is copied when it lives in an input's storage (``x * 1`` extracted as ``x``, or a
    view of an input), when it is a read-only view (a broadcast), or when an earlier output
    lives in the same storage (``return y, y.T``).
    """
    seen: set[int] = set()
    copies = []
    for o in outputs:
        st = storage.get(o, o)
        copies.append(st in inputs or st in seen or o in readonly)
        seen.add(st)
    return tuple(copies)


def struct_key(t: Term) -> bytes:
    return struct.pack("<d", float(t.attr["value"]))

