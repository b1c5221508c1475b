"""The egglog declarations generated from the op table, plus the analyses every run needs.

* one constructor per op (Term arguments first, then attributes);
* ``Node`` handles naming loaded terms, so Python can refer to e-classes later;
* ``Strong``: the class is not a weak scalar constant (pattern variables that a rule drops
  must be strong, or a constant could be merged with an array);
* ``ShapeOf`` / ``DtypeOf`` for right sides that are constants (seeded at load, propagated
  through elementwise ops);
* a sign analysis (``Pos``, ``NonNeg``, ``NonZero``) that establishes guards. The facts hold in
  IEEE floats, not only over the reals, so a guarded rule is sound for every input NumPy can
  see: ``Pos``: each element is > 0 or nan; ``NonNeg``: +0.0, > 0 or nan (never -0.0);
  ``NonZero``: anything but ±0.0 (nan and ±inf included). Overflow and underflow are why exp,
  sigmoid, softplus and products of positives are only ``NonNeg`` (exp(-800) is 0.0);
* ``ConstConflict``: two different constants in one class, the mark of an unsound rule. A
  constant seen through ``astype`` to a float dtype and ``broadcast_to`` / ``reshape`` (how a
  rule's constant right side is built) is still that constant (``ConstValue``); ``ZeroSign``
  does the same for the sign of a zero (``ZeroConflict``: +0.0 and -0.0 in one class).

Signed zeros: egglog's f64 does not tell -0.0 from 0.0, so -0.0 is its own e-node ``(NegZero)``
and a zero in ``(Const v)`` is always +0.0 (see ``encode.py``). Constant folding keeps that: a
fold whose IEEE result is zero makes ``(Const 0.0)`` or ``(NegZero)`` by the signs of its
operands, decided on the operands' values, never on the zero egglog computed (its sign is
that of whichever zero egglog stored first). Folds with a ``NegZero`` operand are left alone,
except ``neg``.
"""

from __future__ import annotations

from .. import ops
from .encode import ATTR_SORTS, NEG_ZERO

ANALYSIS = "__analysis"
FOLD = "__fold"
LOAD = "__load"
UNLOAD = "__unload"
FACT_RELATION = {"positive": "Pos", "nonnegative": "NonNeg", "nonzero": "NonZero", "finite": "Finite",
                 "square": "IsSquare"}
NDIM_FACT = {"matrix": 2, "vector": 1}


def constructor_signature(spec: ops.OpSpec) -> list[str]:
    return ["Term"] * spec.arity + [ATTR_SORTS[a] for a in spec.attrs]


def declarations() -> str:
    lines = ["(sort Term)"]
    for spec in ops.OPS.values():
        lines.append(f"(constructor {spec.egg} ({' '.join(constructor_signature(spec))}) Term)")
    lines += [
        f"(constructor {NEG_ZERO} () Term)",
        "(constructor Node (i64) Term)",
        "(relation Strong (Term))",
        "(function ShapeOf (Term) String :merge old)",
        "(function DtypeOf (Term) String :merge old)",
        "(function NdimOf (Term) i64 :merge old)",
        "(relation Pos (Term))",
        "(relation NonNeg (Term))",
        "(relation NonZero (Term))",
        "(relation Finite (Term))",
        "(relation IsSquare (Term))",
        "(relation ConstConflict (f64 f64))",
        "(relation ConstValue (Term f64))",
        "(relation ZeroSign (Term i64))",
        "(relation ZeroConflict (i64))",
        f"(ruleset {ANALYSIS})",
        f"(ruleset {FOLD})",
        f"(ruleset {LOAD})",
        f"(ruleset {UNLOAD})",
    ]
    for spec in ops.OPS.values():
        if spec.name in ("input", "const"):
            continue
        sig = constructor_signature(spec)
        lines.append(f"(relation Row{spec.egg} (i64 {' '.join('i64' if s == 'Term' else s for s in sig)}))")
    lines.append("(relation RowVar (i64 String))")
    lines.append("(relation RowConst (i64 f64))")
    lines.append("(relation RowNegZero (i64))")
    lines.append("(relation RowType (i64 String String i64))")
    lines.append("(relation RowIsSquare (i64))")
    lines += load_rules()
    lines += analysis_rules()
    return "\n".join(lines)


def _args(n: int, prefix: str = "c") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def load_rules() -> list[str]:
    out = []
    for spec in ops.OPS.values():
        if spec.name in ("input", "const"):
            continue
        kids = _args(spec.arity)
        attrs = _args(len(spec.attrs), "a")
        row = f"(Row{spec.egg} i {' '.join(kids + attrs)})"
        built = f"({spec.egg} {' '.join([f'(Node {k})' for k in kids] + attrs)})"
        out.append(f"(rule ({row}) ((union (Node i) {built})) :ruleset {LOAD})")
        out.append(f"(rule ({row}) ((delete {row})) :ruleset {UNLOAD})")
    out.append(f"(rule ((RowVar i n)) ((union (Node i) (Var n))) :ruleset {LOAD})")
    out.append(f"(rule ((RowVar i n)) ((delete (RowVar i n))) :ruleset {UNLOAD})")
    out.append(f"(rule ((RowConst i v)) ((union (Node i) (Const v))) :ruleset {LOAD})")
    out.append(f"(rule ((RowConst i v)) ((delete (RowConst i v))) :ruleset {UNLOAD})")
    out.append(f"(rule ((RowNegZero i)) ((union (Node i) ({NEG_ZERO}))) :ruleset {LOAD})")
    out.append(f"(rule ((RowNegZero i)) ((delete (RowNegZero i))) :ruleset {UNLOAD})")
    out.append(f"(rule ((RowType i s d n)) ((set (ShapeOf (Node i)) s) (set (DtypeOf (Node i)) d) "
               f"(set (NdimOf (Node i)) n)) :ruleset {LOAD})")
    out.append(f"(rule ((RowType i s d n)) ((delete (RowType i s d n))) :ruleset {UNLOAD})")
    out.append(f"(rule ((RowIsSquare i)) ((IsSquare (Node i))) :ruleset {LOAD})")
    out.append(f"(rule ((RowIsSquare i)) ((delete (RowIsSquare i))) :ruleset {UNLOAD})")
    return out


def _pattern(spec: ops.OpSpec) -> tuple[str, list[str]]:
    kids = _args(spec.arity)
    attrs = _args(len(spec.attrs), "a")
    return f"({spec.egg} {' '.join(kids + attrs)})", kids


def _signed_folds(egg: str, fn: str, guard: str) -> list[str]:
    """Folds of a product or quotient of two constants. A zero result (an operand is zero, or the
    result underflowed or divided by inf) is -0.0 exactly when the operands' signs differ (a zero
    ``Const`` is +0.0, so its sign is that of ``>= 0.0``); nan results are not zero."""
    head = f"(= e ({egg} (Const a) (Const b))){guard} (= p ({fn} a b))"
    pos, neg = "(Const 0.0)", f"({NEG_ZERO})"
    return [
        f"(rule ({head} (!= p 0.0)) ((union e (Const p))) :ruleset {FOLD})",
        f"(rule ({head} (= p 0.0) (>= a 0.0) (>= b 0.0)) ((union e {pos})) :ruleset {FOLD})",
        f"(rule ({head} (= p 0.0) (< a 0.0) (< b 0.0)) ((union e {pos})) :ruleset {FOLD})",
        f"(rule ({head} (= p 0.0) (>= a 0.0) (< b 0.0)) ((union e {neg})) :ruleset {FOLD})",
        f"(rule ({head} (= p 0.0) (< a 0.0) (>= b 0.0)) ((union e {neg})) :ruleset {FOLD})",
    ]


def analysis_rules() -> list[str]:
    r = ANALYSIS
    out = [
        f"(rule ((= e (Var n))) ((Strong e)) :ruleset {r})",
        # a class holding two different constants, bare or broadcast (an array of one value)
        f"(rule ((= e (Const v))) ((ConstValue e v)) :ruleset {r})",
        f"(rule ((= e (Astype c \"float64\")) (ConstValue c v)) ((ConstValue e v)) :ruleset {r})",
        f"(rule ((= e (Astype c \"float32\")) (ConstValue c v)) ((ConstValue e v)) :ruleset {r})",
        f"(rule ((= e (BroadcastTo c s)) (ConstValue c v)) ((ConstValue e v)) :ruleset {r})",
        f"(rule ((= e (Reshape c s)) (ConstValue c v)) ((ConstValue e v)) :ruleset {r})",
        f"(rule ((ConstValue e a) (ConstValue e b) (!= a b)) ((ConstConflict a b)) :ruleset {r})",
        # the sign of a zero constant, seen the same ways (ConstValue cannot tell -0.0 from 0.0)
        f"(rule ((= e ({NEG_ZERO}))) ((ConstValue e 0.0) (ZeroSign e -1)) :ruleset {r})",
        f"(rule ((= e (Const v)) (= v 0.0)) ((ZeroSign e 1)) :ruleset {r})",
        f"(rule ((= e (Astype c \"float64\")) (ZeroSign c z)) ((ZeroSign e z)) :ruleset {r})",
        f"(rule ((= e (Astype c \"float32\")) (ZeroSign c z)) ((ZeroSign e z)) :ruleset {r})",
        f"(rule ((= e (BroadcastTo c s)) (ZeroSign c z)) ((ZeroSign e z)) :ruleset {r})",
        f"(rule ((= e (Reshape c s)) (ZeroSign c z)) ((ZeroSign e z)) :ruleset {r})",
        f"(rule ((ZeroSign e 1) (ZeroSign e -1)) ((ZeroConflict 0)) :ruleset {r})",
        # constants: a zero (Const v) is +0.0 (-0.0 is NegZero, which gets no sign fact)
        f"(rule ((= e (Const v)) (> v 0.0)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Const v)) (= v 0.0)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Const v)) (!= v 0.0)) ((NonZero e)) :ruleset {r})",
        f"(rule ((Pos e)) ((NonNeg e) (NonZero e)) :ruleset {r})",
        # constant folding of weak constants (in float64; constants are cast when used). It makes
        # new terms, so it runs once per iteration with the rules, never to saturation: after an
        # unsound merge of two constants it could otherwise produce constants forever. A sum or
        # difference of two constants that are not -0.0 is never -0.0 (x - x and x + -x are +0.0)
        f"(rule ((= e (Add (Const a) (Const b)))) ((union e (Const (+ a b)))) :ruleset {FOLD})",
        f"(rule ((= e (Sub (Const a) (Const b)))) ((union e (Const (- a b)))) :ruleset {FOLD})",
        *_signed_folds("Mul", "*", ""),
        *_signed_folds("Div", "/", " (!= b 0.0)"),
        f"(rule ((= e (Neg (Const a))) (!= a 0.0)) ((union e (Const (neg a)))) :ruleset {FOLD})",
        f"(rule ((= e (Neg (Const a))) (= a 0.0)) ((union e ({NEG_ZERO}))) :ruleset {FOLD})",
        f"(rule ((= e (Neg ({NEG_ZERO})))) ((union e (Const 0.0))) :ruleset {FOLD})",
    ]
    for spec in ops.OPS.values():
        if spec.kind is ops.Kind.LEAF:
            if spec.name not in ("input", "const"):  # array constants: strong, no sign facts
                out.append(f"(rule ((= e {_pattern(spec)[0]})) ((Strong e)) :ruleset {r})")
            continue
        pat, kids = _pattern(spec)
        if spec.kind is not ops.Kind.ELEMENTWISE:
            out.append(f"(rule ((= e {pat})) ((Strong e)) :ruleset {r})")
            continue
        for k in kids:
            out.append(f"(rule ((= e {pat}) (Strong {k})) ((Strong e)) :ruleset {r})")
        # shape and dtype through elementwise ops (constants have none, so any child will do)
        value_kids = kids[1:] if spec.name == "where" else kids
        for k in (kids[1:] if spec.name == "where" else kids):
            out.append(f"(rule ((= e {pat}) (= s (ShapeOf {k}))) ((set (ShapeOf e) s)) :ruleset {r})")
            out.append(f"(rule ((= e {pat}) (= n (NdimOf {k}))) ((set (NdimOf e) n)) :ruleset {r})")
            out.append(f"(rule ((= e {pat}) (IsSquare {k})) ((IsSquare e)) :ruleset {r})")
        if spec.name == "astype":
            out.append(f"(rule ((= e {pat}) (= s (ShapeOf c0))) ((set (DtypeOf e) a0)) :ruleset {r})")
        elif spec.result_dtype is not None:
            out.append(f"(rule ((= e {pat}) (Strong e)) ((set (DtypeOf e) \"{spec.result_dtype}\")) :ruleset {r})")
        else:
            for k in value_kids:
                out.append(f"(rule ((= e {pat}) (= d (DtypeOf {k}))) ((set (DtypeOf e) d)) :ruleset {r})")
    for egg in ("BroadcastTo", "Reshape"):
        out.append(f"(rule ((= e ({egg} c0 s)) (= d (DtypeOf c0))) ((set (ShapeOf e) s) (set (DtypeOf e) d)) :ruleset {r})")
    # number of dimensions through linear algebra and layout (shape facts for guards)
    for a, b, n in ((2, 2, 2), (2, 1, 1), (1, 2, 1), (1, 1, 0)):
        out.append(f"(rule ((= e (Matmul x y)) (= (NdimOf x) {a}) (= (NdimOf y) {b})) ((set (NdimOf e) {n})) :ruleset {r})")
    out.append(f"(rule ((= e (Transpose x p)) (= n (NdimOf x))) ((set (NdimOf e) n)) :ruleset {r})")
    out.append(f"(rule ((= e (Transpose x p)) (IsSquare x)) ((IsSquare e)) :ruleset {r})")
    out.append(f"(rule ((= e (Matmul x y)) (IsSquare x) (IsSquare y)) ((IsSquare e)) :ruleset {r})")
    out.append(f"(rule ((= e (Diagonal x))) ((set (NdimOf e) 1)) :ruleset {r})")
    for egg in ("Sum", "Mean", "Max", "Logsumexp"):
        out.append(f"(rule ((= e ({egg} x ax 1)) (= n (NdimOf x))) ((set (NdimOf e) n)) :ruleset {r})")
        out.append(f"(rule ((= e ({egg} x \"all\" 0))) ((set (NdimOf e) 0)) :ruleset {r})")
    out.append(f"(rule ((= e (Trace x))) ((set (NdimOf e) 0)) :ruleset {r})")
    # sign analysis in IEEE floats (see the module docstring): every rule must hold for nan, ±inf,
    # signed zeros, overflow and underflow, not only over the reals
    for egg in ("Exp", "Sigmoid", "Softplus", "Square", "Abs"):  # exp(-inf) = +0.0, square(-0.0) = +0.0
        out.append(f"(rule ((= e ({egg} x))) ((NonNeg e)) :ruleset {r})")
    out += [
        f"(rule ((= e (Sqrt x)) (NonNeg x)) ((NonNeg e)) :ruleset {r})",  # sqrt(-0.0) is -0.0
        f"(rule ((= e (Sqrt x)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Abs x)) (NonZero x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Neg x)) (NonZero x)) ((NonZero e)) :ruleset {r})",
        f"(rule ((= e (Add x y)) (Pos x) (NonNeg y)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Add x y)) (NonNeg x) (Pos y)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Add x y)) (NonNeg x) (NonNeg y)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Mul x y)) (NonNeg x) (NonNeg y)) ((NonNeg e)) :ruleset {r})",  # 1e-200 * 1e-200 is 0
        f"(rule ((= e (Div x y)) (NonNeg x) (Pos y)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Maximum x y)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Maximum x y)) (Pos y)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Maximum x y)) (NonNeg x) (NonNeg y)) ((NonNeg e)) :ruleset {r})",  # max(-0.0, 0.0)
        f"(rule ((= e (Sum x ax k)) (NonNeg x)) ((NonNeg e)) :ruleset {r})",  # an empty sum is 0.0
        f"(rule ((= e (Mean x ax k)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Max x ax k)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (BroadcastTo x s)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Transpose x s)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Reshape x s)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (BroadcastTo x s)) (NonNeg x)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Transpose x s)) (NonNeg x)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Reshape x s)) (NonNeg x)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Astype x \"float64\")) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Astype x \"float32\")) (NonNeg x)) ((NonNeg e)) :ruleset {r})",  # 1e-300 becomes 0
        f"(rule ((= e (Sub (Const a) (Sigmoid x))) (>= a 1.0)) ((NonNeg e)) :ruleset {r})",  # 1 - 1 = 0
    ]
    return out
