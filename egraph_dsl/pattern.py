"""Patterns: terms with holes, the left and right sides of rules and the queries of ``find``.

Patterns can be built in Python (``x = var("x"); op.exp(x) / op.sum(op.exp(x))``) or parsed from
text in the same notation (``parse("exp(?x) / sum(exp(?x))")``): ``?x`` is a named variable,
``_`` a wildcard, numbers are constants, calls name ops of the op table. Attributes are
keyword arguments (``sum(?x, axis=?a)``); an attribute left out matches anything.
"""

from __future__ import annotations

import ast
import numbers
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import dtypes, ops
from .errors import EgraphDslError, PatternError


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
    """The canonical form of attribute ``name``; a PatternError says what a value of that kind must be."""
    if isinstance(value, (AttrVar, Var)):
        return AttrVar(value.name)
    if name == "axis":
        if value is None:
            return None
        axes = (value,) if not isinstance(value, (tuple, list)) else tuple(value)
        if not all(_is_index(a) for a in axes):
            raise PatternError(f"axis={value!r}: an axis must be a non-negative int, a tuple of them, None or ?var")
        if len(set(axes)) != len(axes):
            raise PatternError(f"axis={value!r}: an axis appears twice")
        return tuple(sorted(int(a) for a in axes))
    if name in ("shape", "axes"):
        dims = (value,) if name == "shape" and _is_index(value) else value
        if not isinstance(dims, (tuple, list)) or not all(_is_index(v) for v in dims):
            raise PatternError(f"{name}={value!r}: {name} must be a tuple of non-negative ints or ?var")
        if name == "axes" and sorted(dims) != list(range(len(dims))):
            raise PatternError(f"axes={value!r}: axes must be a permutation of 0..{len(dims) - 1}")
        return tuple(int(v) for v in dims)
    if name == "keepdims":
        if not isinstance(value, (bool, np.bool_)):
            raise PatternError(f"keepdims={value!r}: keepdims must be True, False or ?var")
        return bool(value)
    if name == "dtype":
        try:
            return dtypes.canonical(value)
        except (EgraphDslError, TypeError, ValueError) as exc:
            raise PatternError(f"dtype={value!r}: {exc}") from None
    if name == "name" and not isinstance(value, str):
        raise PatternError(f"name={value!r}: an input name must be a string")
    if name == "value" and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise PatternError(f"value={value!r}: a constant's value must be a number")
    return value


def _is_index(v: object) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) and int(v) >= 0


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
        try:
            return Const(float(x))
        except OverflowError:
            raise PatternError(f"the constant {x} is too large for a float") from None
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
# NumPy and scipy.special spellings of ops, as the op table declares them (np.negative(?x) is neg(?x))
_FUNC_ALIASES = {**ops.NUMPY_UFUNCS, **ops.SCIPY_UFUNCS, "amax": "max", "amin": "min"}
_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
           ast.MatMult: "matmul", ast.FloorDiv: "floor_divide", ast.Mod: "remainder",
           ast.BitAnd: "bitwise_and", ast.BitOr: "bitwise_or", ast.BitXor: "bitwise_xor"}
_CMPOPS = {ast.Lt: "less", ast.LtE: "less_equal", ast.Gt: "greater", ast.GtE: "greater_equal",
           ast.Eq: "equal", ast.NotEq: "not_equal"}


MAX_DEPTH = 200  # nesting of a text pattern; deeper ones are refused (the rule compiler recurses)


def parse(text: str) -> Pattern:
    """Parse a pattern from text: ``log(_)``, ``exp(?x) / sum(exp(?x), axis=?a)``.

    Anything malformed raises a PatternError naming the piece and its column.
    """
    if not isinstance(text, str) or not text.strip():
        raise PatternError(f"a pattern must be a non-empty string, got {text!r}")
    return _Parser(text).parse()


class _Parser:
    """Python's parser on the text with ``?x`` spelled ``__var_x``; columns map back to the text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lead = len(text) - len(text.lstrip())
        self.var_starts: list[int] = []  # where each ``__var_`` starts in the rewritten source
        parts: list[str] = []
        last = length = 0
        stripped = text.strip()
        for m in re.finditer(r"\?([A-Za-z_][A-Za-z0-9_]*)", stripped):
            parts += [stripped[last:m.start()], f"__var_{m.group(1)}"]
            self.var_starts.append(length + m.start() - last)
            length += m.start() - last + len(parts[-1])
            last = m.end()
        parts.append(stripped[last:])
        self.source = "".join(parts)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.source)]

    def parse(self) -> Pattern:
        try:
            with warnings.catch_warnings():  # e.g. invalid escapes: a pattern is never compiled
                warnings.simplefilter("ignore")
                tree = ast.parse(self.source, mode="eval")
        except SyntaxError as exc:
            column = self._column(exc.lineno or 1, (exc.offset or 1) - 1, in_chars=True)
            raise PatternError(f"pattern {_shorten(self.text)} does not parse: {exc.msg} at column {column}") from None
        except (ValueError, RecursionError, MemoryError) as exc:  # null bytes; nesting past the parser
            raise PatternError(f"pattern {_shorten(self.text)} does not parse: {exc}") from None
        depth = _depth(tree.body)
        if depth > MAX_DEPTH:
            raise PatternError(f"pattern {_shorten(self.text)} nests {depth} levels deep; at most {MAX_DEPTH} are "
                               "supported (split a long sum into named parts)")
        return self.convert(tree.body)

    def _column(self, lineno: int, offset: int, in_chars: bool = False) -> int:
        """The 1-based column in the user's text of a position in the rewritten source."""
        line_start = self.line_starts[min(lineno, len(self.line_starts)) - 1]
        line = self.source[line_start:].split("\n", 1)[0]
        chars = offset if in_chars else len(line.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))
        pos = line_start + max(0, chars)
        shift = 0  # ``?x`` grew by 5 characters into ``__var_x``
        for start in self.var_starts:
            shift += 5 if pos >= start + 6 else max(0, pos - start)
        return pos - shift + self.lead + 1

    def where(self, node: ast.AST) -> str:
        lineno, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        try:
            piece = ast.unparse(node).replace("__var_", "?")
        except Exception:  # only a description for the message
            piece = type(node).__name__
        piece = piece if len(piece) <= 60 else piece[:57] + "..."
        return f"pattern {_shorten(self.text)}, column {self._column(lineno, col)} (at {piece})"

    def op(self, node: ast.AST, name: str, *args: Pattern, **attrs: Any) -> Pattern:
        try:
            return Op.of(name, *args, **attrs)
        except PatternError as exc:
            raise PatternError(f"{self.where(node)}: {exc}") from None

    def convert(self, node: ast.AST) -> Pattern:
        if isinstance(node, ast.Name):
            if node.id == "_":
                return Wildcard()
            return Var(node.id.removeprefix("__var_"))
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            try:
                return Const(float(node.value))
            except OverflowError:
                raise PatternError(f"{self.where(node)}: the constant is too large for a float") from None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.convert(node.operand)
            return Const(-inner.value) if isinstance(inner, Const) else self.op(node, "neg", inner)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return self.convert(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            return self.op(node, "invert", self.convert(node.operand))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return self.op(node, _BINOPS[type(node.op)], self.convert(node.left), self.convert(node.right))
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMPOPS:
            return self.op(node, _CMPOPS[type(node.ops[0])], self.convert(node.left),
                           self.convert(node.comparators[0]))
        if isinstance(node, ast.Attribute) and node.attr == "T":
            return self.op(node, "transpose", self.convert(node.value))
        if isinstance(node, ast.Call):
            name = self.func_name(node.func)
            args = [self.convert(a) for a in node.args]
            attrs: dict[str, Any] = {}
            for kw in node.keywords:
                if kw.arg is None:
                    raise PatternError(f"{self.where(kw.value)}: ** is not allowed; name each attribute")
                attrs[kw.arg] = self.attr_value(kw.arg, kw.value)
            return self.op(node, _FUNC_ALIASES.get(name, name), *args, **attrs)
        raise PatternError(f"{self.where(node)}: cannot be used in a pattern")

    def func_name(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name) and node.id.startswith("__var_"):
            raise PatternError(f"{self.where(node)}: a variable cannot be called; name an op")
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in _ALIASES:
            return node.attr
        raise PatternError(f"{self.where(node)}: not an op name")

    def attr_value(self, name: str, node: ast.AST) -> Any:
        if isinstance(node, ast.Name) and node.id.startswith("__var_"):
            return AttrVar(node.id.removeprefix("__var_"))
        try:
            value = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise PatternError(f"{self.where(node)}: attribute {name} must be a literal or ?var") from None
        try:
            return normalize_attr(name, value)
        except PatternError as exc:
            raise PatternError(f"{self.where(node)}: {exc}") from None


def _shorten(text: str, limit: int = 60) -> str:
    """``text`` quoted, cut in the middle when long, so a message stays one readable line."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[: limit // 2]) + " ... " + repr(text[-limit // 3:])


def _depth(root: ast.AST) -> int:
    """How deeply the syntax tree nests, counted without recursion."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest
