"""Attribute and literal encoding between the Term IR and egglog's primitive sorts."""

from __future__ import annotations

import math
from typing import Any

from ..constants import lookup

# attribute name -> egglog sort; attributes come after the Term arguments in a constructor
ATTR_SORTS: dict[str, str] = {
    "name": "String", "value": "f64", "axis": "String", "keepdims": "i64",
    "axes": "String", "shape": "String", "dtype": "String",
    "array": "String", "slices": "String", "dim": "i64", "size": "i64",
}


def f64(value: float) -> str:
    """An egglog f64 literal (egglog spells nan as NaN)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(float(value))
    return text if any(c in text for c in ".en") else text + ".0"


# egglog's f64 is an OrderedFloat, where -0.0 == 0.0: (Const -0.0) and (Const 0.0) would be one
# e-node, printed with whichever sign came first. So -0.0 has an e-node of its own, (NegZero),
# and a zero inside (Const ...) always means +0.0 (constant folding keeps this; see schema.py).
NEG_ZERO = "NegZero"


def is_negative_zero(value: float) -> bool:
    return value == 0.0 and math.copysign(1.0, value) < 0


def const_expr(value: float) -> str:
    """The egglog term of the weak constant ``value`` (in rule queries, actions and loading)."""
    value = float(value)
    return f"({NEG_ZERO})" if is_negative_zero(value) else f"(Const {f64(value)})"


def string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_attr(name: str, value: Any) -> str:
    """The egglog literal for attribute ``name`` (used in rules and queries)."""
    sort = ATTR_SORTS[name]
    if sort == "f64":
        return f64(float(value))
    if sort == "i64":
        return str(int(value))
    return string(attr_text(name, value))


def attr_text(name: str, value: Any) -> str:
    """The raw text of a String-sorted attribute (also the TSV cell when loading)."""
    if name == "axis":
        return "all" if value is None else ",".join(map(str, value))
    if name in ("axes", "shape"):
        return ",".join(map(str, value))
    if name == "slices":  # one start:stop:step per axis
        return ",".join(f"{a}:{b}:{c}" for a, b, c in value)
    return str(value)  # an array constant: its key (the value stays out of the e-graph)


def tsv_cell(name: str, value: Any) -> str:
    sort = ATTR_SORTS[name]
    if sort == "f64":
        return f64(float(value))
    if sort == "i64":
        return str(int(value))
    text = attr_text(name, value)
    if any(c in text for c in "\t\n\r"):
        raise ValueError(f"attribute {name}={value!r} contains a tab or newline")
    return text


def decode_attr(name: str, literal: str) -> Any:
    """Inverse of :func:`encode_attr` on the text egglog's serializer prints for a primitive."""
    sort = ATTR_SORTS[name]
    if sort == "f64":
        v = float(literal.replace("NaN", "nan"))
        return 0.0 if v == 0.0 else v  # a zero f64 is +0.0 (-0.0 is a NegZero e-node); egglog may print either sign
    if sort == "i64":
        v = int(literal)
        return bool(v) if name == "keepdims" else v
    text = literal[1:-1].replace('\\"', '"').replace("\\\\", "\\") if literal.startswith('"') else literal
    if name == "axis":
        return None if text == "all" else tuple(int(a) for a in text.split(",") if a != "")
    if name in ("axes", "shape"):
        return tuple(int(a) for a in text.split(",") if a != "")
    if name == "slices":
        return tuple(tuple(int(v) for v in part.split(":")) for part in text.split(",") if part != "")
    if name == "array":
        return lookup(text)
    return text
