"""A Program: named, typed inputs and output terms; the unit every stage passes along."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import ops
from .errors import SignatureError
from .term import Term, format_terms, format_type, operand_dtype, postorder


@dataclass(frozen=True)
class Program:
    """Inputs (``input`` terms, in call order) and the output terms of a traced function."""

    inputs: tuple[Term, ...]
    outputs: tuple[Term, ...]
    name: str = "program"
    output_tuple: bool = False  # the function returned a tuple or list rather than one array
    output_list: bool = False  # ... and it was a list

    def __post_init__(self) -> None:
        for t in self.inputs:
            if t.op != "input":
                raise TypeError(f"program input {t!r} is not an input term")

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(str(t.attr["name"]) for t in self.inputs)

    def terms(self) -> list[Term]:
        return postorder(self.outputs)

    def op_count(self) -> int:
        return sum(1 for t in self.terms() if t.op not in ("input", "const"))

    def with_outputs(self, outputs: Sequence[Term]) -> Program:
        return Program(self.inputs, tuple(outputs), self.name, self.output_tuple, self.output_list)

    def __str__(self) -> str:
        params = ", ".join(f"{t.attr['name']}: {format_type(t)}" for t in self.inputs)
        return f"def {self.name}({params}):\n{format_terms(self.outputs)}"


def evaluate(program: Program, args: Sequence[Any] | Mapping[str, Any], xp: Any = np) -> list[Any]:
    """Reference evaluator: run every op's table implementation, in order (no fusion, no reuse)."""
    env = bind_inputs(program, args)
    values: dict[int, Any] = {}
    with np.errstate(all="ignore"):
        for t in program.terms():
            values[id(t)] = evaluate_node(t, [values[id(a)] for a in t.args], env, xp)
    return [finish(values[id(o)], o, xp) for o in program.outputs]


def bind_inputs(program: Program, args: Sequence[Any] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(args, Mapping):
        missing = [n for n in program.input_names if n not in args]
        if missing:
            raise SignatureError(f"{program.name}: missing argument(s) {', '.join(missing)}")
        return {n: args[n] for n in program.input_names}
    if len(args) != len(program.inputs):
        raise SignatureError(
            f"{program.name} takes {len(program.inputs)} arguments ({', '.join(program.input_names)}), "
            f"got {len(args)}"
        )
    return dict(zip(program.input_names, args, strict=True))


def evaluate_node(t: Term, args: list[Any], env: Mapping[str, Any], xp: Any = np) -> Any:
    spec = ops.spec(t.op)
    if t.op == "input":
        return env[str(t.attr["name"])]
    if t.op == "const":
        return t.attr["value"]
    if spec.elementwise and t.op != "astype":
        dtype = operand_dtype(t)
        args = [xp.asarray(a, dtype=dtype) if arg.weak else a for arg, a in zip(t.args, args, strict=True)]
    return spec.impl(xp, *args, **t.attr)


def finish(value: Any, term: Term, xp: Any = np) -> Any:
    """Give a result its declared dtype and shape (weak scalars become float64 0-d arrays)."""
    return xp.asarray(value, dtype=term.dtype or "float64")
