"""Programs, edge values and a host emulator for the CuPy backend tests (no GPU needed).

``run_on_host`` executes a plan the way the CuPy executable does — same fusion schedule, same
generated kernel bodies, same buffer assignment — but compiles each kernel's ``host`` variant
with the system C++ compiler and calls it through ctypes, so wrong generated code shows up on
a machine without a GPU.
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from egraph_dsl.backends.cupy_backend import argument_shapes, assign_buffers
from egraph_dsl.backends.cupy_codegen import generate
from egraph_dsl.backends.fusion import FUSABLE_OPERAND_DTYPES, Layout, fuse

from egraph_dsl import ops
from egraph_dsl.plan import Plan, build_plan
from egraph_dsl.program import Program, evaluate
from egraph_dsl.term import input_, make
from egraph_dsl.trace import trace_function

CXX = shutil.which("g++") or shutil.which("c++")
CXX_FLAGS = ["-O1", "-std=c++17", "-ffp-contract=off", "-fno-fast-math", "-fwrapv", "-shared", "-fPIC"]

# ops whose result must be bit-identical to NumPy (IEEE-exact operations and selections)
EXACT_OPS = frozenset({"add", "sub", "mul", "div", "sqrt", "neg", "abs", "square", "maximum", "minimum",
                       "less", "less_equal", "greater", "greater_equal", "equal", "not_equal",
                       "where", "astype", "floor", "ceil", "trunc", "rint", "sign", "reciprocal", "copysign",
                       "floor_divide", "remainder", "fmod"})
ULPS = 4  # allowed distance for transcendental ops (libm vs NumPy's SIMD loops)


def edge_values(dtype: str) -> np.ndarray:
    """0, -0, ±inf, nan, huge, tiny, subnormal, negative and ordinary values of ``dtype``."""
    if dtype == "bool":
        return np.array([False, True])
    if dtype in ("int32", "int64"):
        info = np.iinfo(dtype)
        return np.array([0, 1, -1, 2, -7, 12345, info.max, info.min], dtype=dtype)
    f = np.finfo(dtype)
    values = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-3, 20.0, -20.0,
              40.0, -40.0, 700.0, -745.0, 88.0, -104.0, float(f.max), -float(f.max), float(f.tiny),
              float(f.smallest_subnormal), -float(f.smallest_subnormal), 1e-10, -0.75]
    with np.errstate(over="ignore"):
        return np.array(values, dtype=dtype)


def op_case(op: str, dtype: str) -> tuple[Program, list[np.ndarray]]:
    """A program applying ``op`` once to operands of ``dtype`` spanning all edge-value pairs."""
    spec = ops.spec(op)
    values = edge_values(dtype)
    if op == "astype":
        return _astype_case(dtype)
    if spec.arity == 1:
        args = [values]
    elif op == "where":
        pairs = list(itertools.product(values, values))
        a = np.array([p[0] for p in pairs], dtype=dtype)
        b = np.array([p[1] for p in pairs], dtype=dtype)
        args = [np.arange(len(pairs)) % 3 == 0, a, b]
    else:
        pairs = list(itertools.product(values, values))
        args = [np.array([p[0] for p in pairs], dtype=dtype), np.array([p[1] for p in pairs], dtype=dtype)]
    terms = [input_(f"a{k}", a.shape, a.dtype.name) for k, a in enumerate(args)]
    out = make(op, terms)
    return Program(tuple(terms), (out,), f"{op}_{dtype}"), args


def _astype_case(dtype: str) -> tuple[Program, list[np.ndarray]]:
    """Casts from ``dtype`` to every dtype, on values whose conversion C defines (float to int
    only for values in range: NumPy and CUDA disagree, and C leaves it undefined, otherwise)."""
    values = edge_values(dtype)
    x = input_("a0", values.shape, dtype)
    outs = []
    for target in ("bool", "int32", "int64", "float32", "float64"):
        outs.append(make("astype", [x], dtype=target))
    if dtype in ("float32", "float64"):
        values = np.where(np.isfinite(values) & (np.abs(values) < 2.0**31), values, 0.0).astype(dtype)
    return Program((x,), tuple(outs), f"astype_{dtype}", True), [values]


def all_op_cases() -> list[tuple[str, str]]:
    """Every (op, operand dtype) the fusion tables say is generated as C."""
    return [(op, d) for op, dts in sorted(FUSABLE_OPERAND_DTYPES.items()) for d in sorted(dts)]


# -------------------------------------------------------------------- fusion patterns


def _loglik(x: Any, y: Any, w: Any, b: Any) -> Any:
    z = x @ w + b
    loglik = np.sum(y * z - np.logaddexp(0.0, z))
    return loglik - 0.5 * np.sum(w * w)


def _chain(x: Any) -> Any:
    return np.tanh(np.exp(-np.abs(x) * 0.5) + np.sqrt(x * x + 1.0)) * 2.0 - 1.0


def _shared_outputs(x: Any, y: Any) -> Any:
    a = np.exp(x) + y
    b = a * a
    return a, b - np.log1p(np.abs(a)), np.maximum(b, 3.0)


def _broadcast(x: Any, a: Any) -> Any:
    return a + np.exp(x) + np.log(x) * 2.0


def _transpose(a: Any, b: Any) -> Any:
    return np.exp(a.T) * b - a.T


def _reductions(a: Any) -> Any:
    e = np.exp(-a * a)
    return (np.sum(e, axis=0), np.mean(e, axis=1, keepdims=True), np.max(a - 1.0),
            np.sum(np.sqrt(np.abs(a)), axis=1), e, np.min(a + 1.0, axis=0), np.min(e))


def _where_compare(x: Any, y: Any) -> Any:
    m = x > y
    return np.where(m, x - y, np.minimum(x, y) * 2.0), np.where(x == y, 1.0, 0.0) + x


def _matmul_between(x: Any) -> Any:
    a = np.exp(x)
    m = a @ x
    return a * m


def _long_reduction(x: Any) -> Any:
    return np.sum(x * x) + np.max(np.abs(x)), np.mean(np.exp(-x * x)), np.min(x * 3.0)


def _sigmoid_softplus(x: Any, y: Any) -> Any:
    from egraph_dsl.trace import sigmoid, softplus

    return sigmoid(x) * y + softplus(-x) - np.power(np.abs(x) + 1.0, 0.5)


def pattern_cases() -> list[tuple[str, Callable[..., Any], list[np.ndarray]]]:
    """Named fusion patterns, each with example arguments (float64 and float32 variants)."""
    rng = np.random.default_rng(0)
    cases: list[tuple[str, Callable[..., Any], list[np.ndarray]]] = []
    for dt in ("float64", "float32"):
        n, k = 300, 5
        design = rng.normal(size=(n, k)).astype(dt)
        cases += [
            (f"p_loglik_{dt}", _loglik, [design, (rng.random(n) < 0.5).astype(dt), rng.normal(size=k).astype(dt),
                                       np.asarray(0.3, dtype=dt)]),
            (f"p_chain_{dt}", _chain, [rng.normal(size=1000).astype(dt)]),
            (f"p_shared_{dt}", _shared_outputs, [rng.normal(size=(7, 9)).astype(dt),
                                                 rng.normal(size=(7, 9)).astype(dt)]),
            (f"p_reduce_args_{dt}", _reduce_args, [rng.normal(size=(33, 300)).astype(dt)]),
            (f"p_broadcast_{dt}", _broadcast, [rng.random(6).astype(dt) + 0.5, rng.normal(size=(4, 6)).astype(dt)]),
            (f"p_transpose_{dt}", _transpose, [rng.normal(size=(5, 3)).astype(dt), rng.normal(size=(3, 5)).astype(dt)]),
            (f"p_reductions_{dt}", _reductions, [rng.normal(size=(130, 70)).astype(dt)]),
            (f"p_where_{dt}", _where_compare, [np.round(rng.normal(size=50), 1).astype(dt),
                                             np.round(rng.normal(size=50), 1).astype(dt)]),
            (f"p_matmul_between_{dt}", _matmul_between, [rng.normal(size=(6, 6)).astype(dt)]),
            (f"p_long_reduction_{dt}", _long_reduction, [rng.normal(size=20000).astype(dt)]),
            (f"p_sigmoid_softplus_{dt}", _sigmoid_softplus, [rng.normal(size=(4, 40)).astype(dt) * 30,
                                                           rng.normal(size=(4, 40)).astype(dt)]),
        ]
    for it in ("int32", "int64"):
        cases.append((f"p_int_{it}", _int_ops, [rng.integers(-50, 50, size=(70, 90)).astype(it),
                                                rng.integers(-50, 50, size=(70, 90)).astype(it)]))
    return cases


def _reduce_args(a: Any) -> Any:
    return np.sum(a, axis=0), np.max(a), np.mean(a, axis=1), np.sum(a)


def _int_ops(a: Any, b: Any) -> Any:
    return (np.sum(a * b + 1, axis=0), np.max(a - b), np.where(a > b, a, -b), np.minimum(a, b) * 3,
            np.min(a - b), np.min(a * b, axis=1))


def pattern_plan(fn: Callable[..., Any], args: Sequence[Any], name: str) -> Plan:
    return build_plan(trace_function(fn, args, name=name), reuse_buffers=False)  # the CuPy backend assigns its own


# ----------------------------------------------------------------------- host emulator

_ARGTYPE: dict[str, Any] = {"float64": ctypes.c_double, "float32": ctypes.c_float, "int64": ctypes.c_int64,
                            "int32": ctypes.c_int32, "bool": ctypes.c_bool}


def host_source(cases: Sequence[tuple[Plan, Sequence[Any]]]) -> str:
    """One C++ translation unit with the host variant of every kernel of every plan."""
    from egraph_dsl.backends.cupy_codegen import prelude

    head = prelude("host")
    bodies = []
    for plan, args in cases:
        for group in fuse(plan, argument_shapes(plan, args)).groups:
            bodies.append(generate(plan, group, "host").source[len(head):])
    return head + "\n".join(bodies)


def compile_host(cases: Sequence[tuple[Plan, Sequence[Any]]], cache_dir: str) -> ctypes.CDLL:
    """Build the host kernels of ``cases`` (kernel names are unique per plan name) into one library."""
    source = host_source(cases)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    so = os.path.join(cache_dir, f"egd_{digest}.so")
    if not os.path.exists(so):
        cpp = os.path.join(cache_dir, f"egd_{digest}.cpp")
        with open(cpp, "w") as f:
            f.write(source)
        assert CXX is not None
        result = subprocess.run([CXX, *CXX_FLAGS, cpp, "-o", so, "-lm"], capture_output=True, text=True)
        if result.returncode:
            raise AssertionError(f"host compile failed:\n{result.stderr[:4000]}")
    return ctypes.CDLL(so)


def run_on_host(plan: Plan, args: Sequence[np.ndarray], lib: ctypes.CDLL | str) -> list[np.ndarray]:
    """Execute ``plan`` as the CuPy executable would, with host-compiled kernels and NumPy.

    ``lib`` is a library from :func:`compile_host` holding the plan's kernels, or a build folder.
    """
    if isinstance(lib, str):
        lib = compile_host([(plan, args)], lib)
    schedule = fuse(plan, argument_shapes(plan, args))
    groups = {g.name: g for g in schedule.groups}
    buffers = assign_buffers(schedule)
    values: list[Any] = [None] * plan.n_slots
    for (s, _), a in zip(plan.input_slots, args, strict=True):
        a = np.asarray(a)
        values[s] = a if a.flags.c_contiguous else np.ascontiguousarray(a)
    for s, v, d in plan.constants:
        values[s] = np.asarray(v, dtype=d)[()]
    memory: dict[int, np.ndarray] = {}
    dtype_of = {ins.output: (ins.shape or (), ins.dtype or "float64") for ins in plan.instructions}
    with np.errstate(all="ignore"):
        for step in schedule.steps:
            if isinstance(step, int):
                ins = plan.instructions[step]
                spec = ops.spec(ins.op)
                argv = [values[i] for i in ins.inputs]
                if spec.elementwise and ins.op != "astype":
                    argv = [a if isinstance(a, np.ndarray) and a.ndim else
                            np.asarray(a, dtype="bool" if ins.op == "where" and p == 0 else ins.operand_dtype)
                            for p, a in enumerate(argv)]
                values[ins.output] = spec.impl(np, *argv, **ins.attr)
                continue
            group = groups[step.name]
            keep: list[Any] = []
            cargs: list[Any] = []
            for inp in step.inputs:
                a = np.asarray(values[inp.slot], dtype=inp.dtype)
                if inp.layout is Layout.FLAT:
                    a = np.ascontiguousarray(a)
                elif inp.layout is Layout.STRIDED and a.shape != group.shape:
                    a = np.broadcast_to(a, group.shape)
                keep.append(a)
                cargs.append(ctypes.c_void_p(a.ctypes.data))
                if inp.layout is Layout.STRIDED:
                    cargs.extend(ctypes.c_longlong(st // a.itemsize) for st in a.strides)
            for s in step.outputs:
                b = buffers[s]
                if b not in memory:
                    memory[b] = np.empty(*dtype_of[s])
                values[s] = memory[b]
                cargs.append(ctypes.c_void_p(values[s].ctypes.data))
            fn = getattr(lib, step.name)
            fn.restype = None
            if step.reduction is None:
                fn(*cargs, ctypes.c_longlong(step.size))
            else:
                red = plan.instructions[step.reduction.index]
                result = np.empty(red.shape or (), dtype=red.dtype)
                fn(*cargs, ctypes.c_void_p(result.ctypes.data))
                values[red.output] = result
            del keep
    return [np.asarray(values[o], dtype=d) for o, d in zip(plan.outputs, plan.output_dtypes, strict=True)]


def reference(plan_program: Program, args: Sequence[np.ndarray]) -> list[np.ndarray]:
    return evaluate(plan_program, list(args))


def ulp_distance(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Distance in units of the last place, 0 where both are the same nan/inf, huge on mismatch."""
    itype = np.int64 if got.dtype == np.float64 else np.int32
    g = got.view(itype).astype(np.int64)
    w = want.view(itype).astype(np.int64)
    sign = np.int64(np.iinfo(itype).min)
    g = np.where(g < 0, sign - g, g)  # map to a monotonic integer line (-0 and 0 become 0)
    w = np.where(w < 0, sign - w, w)
    dist = np.abs(g - w)
    both_nan = np.isnan(got) & np.isnan(want)
    return np.where(both_nan, 0, np.where(np.isnan(got) != np.isnan(want), np.iinfo(np.int64).max, dist))


def assert_matches(op: str, got: np.ndarray, want: np.ndarray, where: str, ulps: int | None = None) -> None:
    """Bitwise (nan = nan, -0 ≠ 0) for exact ops and non-floats, within ``ulps`` otherwise."""
    assert got.shape == want.shape and got.dtype == want.dtype, (where, got.shape, want.shape, got.dtype, want.dtype)
    if got.dtype.kind != "f":
        bad = got != want
    elif op in EXACT_OPS and ulps is None:
        same_nan = np.isnan(got) & np.isnan(want)
        bad = ~same_nan & ((got != want) | (np.signbit(got) != np.signbit(want)))
    else:
        bad = ulp_distance(got, want) > (ULPS if ulps is None else ulps)
    if bad.any():
        idx = np.flatnonzero(bad)[:8]
        raise AssertionError(f"{where}: {bad.sum()} of {bad.size} differ, e.g. at {idx.tolist()}: "
                             f"got {got.ravel()[idx].tolist()} want {want.ravel()[idx].tolist()}")
