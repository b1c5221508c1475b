"""Patterns: terms with holes, the left and right sides of rules and the queries of ``find``.

Patterns can be built in Python (``x = var("x"); op.exp(x) / op.sum(op.exp(x))``) or parsed from
text in the same notation (``parse("exp(?x) / sum(exp(?x))")``): ``?x`` is a named variable,
``_`` a wildcard, numbers are constants, calls name ops of the op table. Attributes are
keyword arguments (``sum(?x, axis=?a)``); an attribute left out matches anything.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import ops
from .errors import PatternError


class Pattern:
    """Base class of pattern nodes; operators build op patterns, as on arrays."""

    def __add__(self, o: object) -> Pattern: return Op.of("add", self, o)
    def __radd__(self, o: object) -> Pattern: return Op.of("add", o, self)
    def __sub__(self, o: object) -> Pattern: return Op.of("sub", self, o)
    def __rsub__(self, o: object) -> Pattern: return Op.of("sub", o, self)
    def __mul__(self, o: object) -> Pattern: return Op.of("mul", self, o)
    def __rmul__(self, o: object) -> Pattern: return Op.of("mul", o, self)
    def __truediv__(self, o: object) -> Pattern: return Op.of("div", self, o)
    def __rtruediv__(self, o: object) -> Pattern: return Op.of("div", o, self)
    def __pow__(self, o: object) -> Pattern: return Op.of("pow", self, o)
    def __matmul__(self, o: object) -> Pattern: return Op.of("matmul", self, o)
    def __neg__(self) -> Pattern: return Op.of("neg", self)

    def walk(self) -> Iterator[Pattern]:
        yield self

    def variables(self) -> set[str]:
        return {p.name for p in self.walk() if isinstance(p, Var)}

    def attr_variables(self) -> set[str]:
        return {v.name for p in self.walk() if isinstance(p, Op) for v in p.attrs.values()
                if isinstance(v, AttrVar)}


@dataclass(frozen=True, eq=True)
class Var(Pattern):
    """A named hole: matches any term; equal names match equal terms."""

    name: str

    def __str__(self) -> str:
        return f"?{self.name}"


@dataclass(frozen=True, eq=True)
class Wildcard(Pattern):
    """Matches any term, without binding it."""

    def __str__(self) -> str:
        return "_"


@dataclass(frozen=True, eq=True)
class Const(Pattern):
    """A scalar constant (weak: matches the constant in any dtype)."""

    value: float

    def __str__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True, eq=True)
class AttrVar:
    """A named hole for an attribute (axis, keepdims, shape …)."""

    name: str

    def __str__(self) -> str:
        return f"?{self.name}"


@dataclass(frozen=True, eq=False)
class Op(Pattern):
    """An op applied to argument patterns, with some attributes fixed or bound to variables."""

    op: str
    args: tuple[Pattern, ...]
    attrs: dict[str, Any]

    def __hash__(self) -> int:
        return hash((self.op, self.args, tuple(sorted((k, str(v)) for k, v in self.attrs.items()))))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Op) and (self.op, self.args, self.attrs) == (other.op, other.args, other.attrs)

    @staticmethod
    def of(op: str, *args: object, **attrs: Any) -> Op:
        try:
            spec = ops.spec(op)
        except KeyError as exc:
            raise PatternError(str(exc)) from None
        if len(args) != spec.arity:
            raise PatternError(f"pattern {op}(...) takes {spec.arity} argument(s), got {len(args)}")
        unknown = set(attrs) - set(spec.attrs)
        if unknown:
            raise PatternError(f"pattern {op}(...): unknown attribute(s) {sorted(unknown)}; "
                               f"{op} has {list(spec.attrs) or 'none'}")
        return Op(op, tuple(as_pattern(a) for a in args), {k: normalize_attr(k, v) for k, v in attrs.items()})

    def walk(self) -> Iterator[Pattern]:
        stack: list[Pattern] = [self]
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, Op):
                stack.extend(reversed(node.args))

    def __str__(self) -> str:
        spec = ops.spec(self.op)
        if spec.symbol and len(self.args) == 2 and not self.attrs:
            return f"({self.args[0]} {spec.symbol} {self.args[1]})"
        if self.op == "neg":
            return f"-{self.args[0]}"
        parts = [str(a) for a in self.args] + [f"{k}={format_attr_value(v)}" for k, v in self.attrs.items()]
        return f"{self.op}({', '.join(parts)})"


def format_attr_value(v: Any) -> str:
    if isinstance(v, tuple):
        return "(" + ",".join(map(str, v)) + ("," if len(v) == 1 else "") + ")"
    return str(v)


def normalize_attr(name: str, value: Any) -> Any:
    if isinstance(value, AttrVar) or isinstance(value, Var):
        return AttrVar(value.name)
    if name == "axis":
        if value is None:
            return None
        axes = (value,) if isinstance(value, int) else tuple(value)
        if any(a < 0 for a in axes):
            raise PatternError(f"axis {value!r} in a pattern must be non-negative (patterns do not know ndim)")
        return tuple(sorted(axes))
    if name in ("shape", "axes"):
        return tuple(int(v) for v in value)
    if name == "keepdims":
        return bool(value)
    return value


def shape_anchor(lhs: Pattern) -> str | None:
    """A variable whose shape is the shape of the whole pattern (reached through elementwise ops).

    A rule whose right side is a constant takes its shape and dtype from this variable.
    """
    stack = [lhs]
    while stack:
        p = stack.pop()
        if isinstance(p, Var):
            return p.name
        if isinstance(p, Op) and ops.spec(p.op).elementwise and p.op != "astype":
            stack.extend(p.args[1:] if p.op == "where" else p.args)
    return None


def as_pattern(x: object) -> Pattern:
    if isinstance(x, Pattern):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Const(float(x))
    raise PatternError(f"cannot use {x!r} ({type(x).__name__}) in a pattern")


def var(name: str) -> Var:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise PatternError(f"bad variable name {name!r}: use letters, digits and _")
    return Var(name)


def vars_(names: str) -> tuple[Var, ...]:
    """``x, y = vars_("x y")``."""
    return tuple(var(n) for n in names.split())


def attr_var(name: str) -> AttrVar:
    return AttrVar(name)


_ = Wildcard()


class _OpNamespace:
    """``op.exp(x)``, ``op.sum(x, axis=a)``: pattern constructors named after the op table."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            ops.spec(name)
        except KeyError as exc:
            raise AttributeError(str(exc)) from None
        return lambda *args, **attrs: Op.of(name, *args, **attrs)


op = _OpNamespace()

# ------------------------------------------------------------------------- text patterns

_ALIASES = {"np": None, "numpy": None}
_FUNC_ALIASES = {"negative": "neg", "absolute": "abs", "subtract": "sub", "multiply": "mul",
                 "divide": "div", "true_divide": "div", "power": "pow", "expit": "sigmoid",
                 "amax": "max"}
_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
           ast.MatMult: "matmul"}
_CMPOPS = {ast.Lt: "less", ast.LtE: "less_equal", ast.Gt: "greater", ast.GtE: "greater_equal",
           ast.Eq: "equal", ast.NotEq: "not_equal"}


def parse(text: str) -> Pattern:
    """Parse a pattern from text: ``log(_)``, ``exp(?x) / sum(exp(?x), axis=?a)``."""
    if not isinstance(text, str) or not text.strip():
        raise PatternError(f"a pattern must be a non-empty string, got {text!r}")
    source = re.sub(r"\?([A-Za-z_][A-Za-z0-9_]*)", r"__var_\1", text.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise PatternError(f"pattern {text!r} does not parse: {exc.msg} at column {exc.offset}") from None
    return _convert(tree.body, text)


def _convert(node: ast.AST, text: str) -> Pattern:
    if isinstance(node, ast.Name):
        if node.id == "_":
            return Wildcard()
        return Var(node.id.removeprefix("__var_"))
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return Const(float(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _convert(node.operand, text)
        return Const(-inner.value) if isinstance(inner, Const) else Op.of("neg", inner)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
        return _convert(node.operand, text)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return Op.of(_BINOPS[type(node.op)], _convert(node.left, text), _convert(node.right, text))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMPOPS:
        return Op.of(_CMPOPS[type(node.ops[0])], _convert(node.left, text), _convert(node.comparators[0], text))
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return Op.of("transpose", _convert(node.value, text))
    if isinstance(node, ast.Call):
        name = _func_name(node.func, text)
        args = [_convert(a, text) for a in node.args]
        attrs = {kw.arg: _attr_value(kw.value, text) for kw in node.keywords if kw.arg}
        return Op.of(_FUNC_ALIASES.get(name, name), *args, **attrs)
    raise PatternError(f"pattern {text!r}: cannot use {ast.unparse(node)!r} here")


def _func_name(node: ast.AST, text: str) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in _ALIASES:
        return node.attr
    raise PatternError(f"pattern {text!r}: {ast.unparse(node)!r} is not an op name")


def _attr_value(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Name) and node.id.startswith("__var_"):
        return AttrVar(node.id.removeprefix("__var_"))
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise PatternError(f"pattern {text!r}: attribute {ast.unparse(node)!r} must be a literal or ?var") from None
