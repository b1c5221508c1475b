"""The egglog declarations generated from the op table, plus the analyses every run needs.

* one constructor per op (Term arguments first, then attributes);
* ``Node`` handles naming loaded terms, so Python can refer to e-classes later;
* ``Strong``: the class is not a weak scalar constant (pattern variables that a rule drops
  must be strong, or a constant could be merged with an array);
* ``ShapeOf`` / ``DtypeOf`` for right sides that are constants (seeded at load, propagated
  through elementwise ops);
* a sign analysis (``Pos``, ``NonNeg``, ``NonZero``) that establishes guards;
* ``ConstConflict``: two different constants in one class, the mark of an unsound rule.
"""

from __future__ import annotations

from .. import ops
from .encode import ATTR_SORTS

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


def analysis_rules() -> list[str]:
    r = ANALYSIS
    out = [
        f"(rule ((= e (Var n))) ((Strong e)) :ruleset {r})",
        f"(rule ((= (Const a) (Const b)) (!= a b)) ((ConstConflict a b)) :ruleset {r})",
        f"(rule ((= e (Const v)) (> v 0.0)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Const v)) (>= v 0.0)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Const v)) (!= v 0.0)) ((NonZero e)) :ruleset {r})",
        f"(rule ((Pos e)) ((NonNeg e) (NonZero e)) :ruleset {r})",
        # constant folding of weak constants (in float64; constants are cast when used). It makes
        # new terms, so it runs once per iteration with the rules, never to saturation: after an
        # unsound merge of two constants it could otherwise produce constants forever
        f"(rule ((= e (Add (Const a) (Const b)))) ((union e (Const (+ a b)))) :ruleset {FOLD})",
        f"(rule ((= e (Sub (Const a) (Const b)))) ((union e (Const (- a b)))) :ruleset {FOLD})",
        f"(rule ((= e (Mul (Const a) (Const b)))) ((union e (Const (* a b)))) :ruleset {FOLD})",
        f"(rule ((= e (Div (Const a) (Const b))) (!= b 0.0)) ((union e (Const (/ a b)))) :ruleset {FOLD})",
        f"(rule ((= e (Neg (Const a)))) ((union e (Const (neg a)))) :ruleset {FOLD})",
    ]
    for spec in ops.OPS.values():
        if spec.kind is ops.Kind.LEAF:
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
    # sign analysis, over the reals on each op's domain (see docs/soundness.md)
    pos_of = ["Exp", "Sigmoid", "Softplus"]
    for egg in pos_of:
        out.append(f"(rule ((= e ({egg} x))) ((Pos e)) :ruleset {r})")
    for egg in ("Square", "Abs", "Sqrt"):
        out.append(f"(rule ((= e ({egg} x))) ((NonNeg e)) :ruleset {r})")
    out += [
        f"(rule ((= e (Sqrt x)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Abs x)) (NonZero x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Square x)) (NonZero x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Neg x)) (NonZero x)) ((NonZero e)) :ruleset {r})",
        f"(rule ((= e (Add x y)) (Pos x) (NonNeg y)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Add x y)) (NonNeg x) (Pos y)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Add x y)) (NonNeg x) (NonNeg y)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Mul x y)) (Pos x) (Pos y)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Mul x y)) (NonNeg x) (NonNeg y)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Mul x y)) (NonZero x) (NonZero y)) ((NonZero e)) :ruleset {r})",
        f"(rule ((= e (Div x y)) (Pos x) (Pos y)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Maximum x y)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Maximum x y)) (Pos y)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Maximum x y)) (NonNeg x)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Maximum x y)) (NonNeg y)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Sum x ax k)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Sum x ax k)) (NonNeg x)) ((NonNeg e)) :ruleset {r})",
        f"(rule ((= e (Mean x ax k)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Max x ax k)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (BroadcastTo x s)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Transpose x s)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Reshape x s)) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Astype x \"float64\")) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Astype x \"float32\")) (Pos x)) ((Pos e)) :ruleset {r})",
        f"(rule ((= e (Sub (Const a) (Sigmoid x))) (>= a 1.0)) ((Pos e)) :ruleset {r})",
    ]
    return out
