"""C source of fused kernels, generated from each op's ``c_expr`` (pure Python, no CuPy needed).

One generator, two targets: ``cuda`` emits ``extern "C" __global__`` kernels for NVRTC, ``host``
emits the same per-element body inside a plain C++ loop, so the generated code can be compiled
with the system compiler and checked against NumPy on a machine without a GPU. The helper
functions the op table's templates call (``sigmoid_``, ``softplus_``, ``logaddexp_``,
``fmax_nan``, ``fmin_nan``) live in :data:`PREAMBLE`, written once for both targets and
mirroring NumPy's scalar loops (``npy_logaddexp``, ``_NPY_MAX``) and ``ops._sigmoid``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from egraph_dsl import ops
from egraph_dsl.plan import Plan

from .fusion import FLOAT_DTYPES, FusedGroup, KernelInput, Layout

Target = Literal["cuda", "host"]

BLOCK = 256  # threads per block of every generated kernel (a power of two)
THREAD_REDUCE_MAX = 64  # reduced lengths up to this are summed by one thread per output

C_TYPES: dict[str, str] = {
    "float64": "double", "float32": "float", "int64": "long long", "int32": "int", "bool": "bool",
}

PREAMBLE = r"""
#define EGD_LOGE2 0.693147180559945309417232121458176568
#define EGD_LOGE2F 0.693147180559945309417232121458176568f
EGD_FN double fmax_nan(double a, double b) { return (a > b || isnan(a)) ? a : b; }
EGD_FN float fmax_nan(float a, float b) { return (a > b || isnan(a)) ? a : b; }
EGD_FN long long fmax_nan(long long a, long long b) { return a >= b ? a : b; }
EGD_FN int fmax_nan(int a, int b) { return a >= b ? a : b; }
EGD_FN double fmin_nan(double a, double b) { return (a < b || isnan(a)) ? a : b; }
EGD_FN float fmin_nan(float a, float b) { return (a < b || isnan(a)) ? a : b; }
EGD_FN long long fmin_nan(long long a, long long b) { return a <= b ? a : b; }
EGD_FN int fmin_nan(int a, int b) { return a <= b ? a : b; }
EGD_FN double sigmoid_(double x) {
    const double e = exp(-fabs(x));
    return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}
EGD_FN float sigmoid_(float x) {
    const float e = exp(-fabs(x));
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}
/* logaddexp as NumPy's npy_logaddexp computes it (a == b gives a + log 2, so inf + inf is inf),
   written without branches: every lane computes both and selects, so the loop vectorizes with
   libmvec's exp and log1p (a branch around a call would keep it scalar, 2x slower). */
EGD_FN double logaddexp_(double a, double b) {
    const double r = (a > b ? a : b) + log1p(exp(-fabs(a - b)));
    return a == b ? a + EGD_LOGE2 : r;
}
EGD_FN float logaddexp_(float a, float b) {
    const float r = (a > b ? a : b) + log1p(exp(-fabs(a - b)));
    return a == b ? a + EGD_LOGE2F : r;
}
/* softplus(x) = logaddexp(0, x) = max(x, 0) + log1p(exp(-|x|)); x == 0 gives log1p(1) = log 2 as
   NumPy's a == b case does. softplus(x) and softplus(-x) share exp(-|x|) and log1p (the compiler
   computes them once when both are in a kernel). NaN: 0 + NaN. */
EGD_FN double softplus_(double x) { return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x))); }
EGD_FN float softplus_(float x) { return (x > 0.0f ? x : 0.0f) + log1p(exp(-fabs(x))); }
#define EGD_FLOAT_UFUNCS(T) \
EGD_FN T floor_divide_(T a, T b) { /* npy_floor_divide */ \
    if (b == 0) return a / b; \
    const T mod = fmod(a, b); \
    T div = (a - mod) / b; \
    if (mod != 0 && (b < 0) != (mod < 0)) div -= 1; \
    if (div == 0) return copysign((T)0, a / b); \
    T floordiv = floor(div); \
    if (div - floordiv > (T)0.5) floordiv += 1; \
    return floordiv; \
} \
EGD_FN T remainder_(T a, T b) { /* npy_remainder: the sign of the divisor */ \
    T mod = fmod(a, b); \
    if (b == 0) return mod; \
    if (mod != 0) { if ((b < 0) != (mod < 0)) mod += b; } else mod = copysign((T)0, b); \
    return mod; \
} \
EGD_FN T fmod_(T a, T b) { return fmod(a, b); } \
EGD_FN T gammaln_(T x) { return (isinf(x) && x < 0) ? x : lgamma(x); /* scipy: gammaln(-inf) = -inf */ } \
EGD_FN T log_expit_(T x) { return x < 0 ? x - log1p(exp(x)) : -log1p(exp(-x)); } \
EGD_FN T logit_(T x) { /* scipy's: log(x / (1 - x)) away from 1/2 */ \
    if (x < (T)0.3 || x > (T)0.65) return log(x / (1 - x)); \
    const T s = 2 * (x - (T)0.5); \
    return log1p(s) - log1p(-s); \
} \
EGD_FN T xlogy_(T x, T y) { return (x == 0 && !isnan(y)) ? (T)0 : x * log(y); } \
EGD_FN T xlog1py_(T x, T y) { return (x == 0 && !isnan(y)) ? (T)0 : x * log1p(y); } \
EGD_FN T ndtr_(T x) { \
    const T z = x * (T)EGD_SQRT1_2; \
    if (fabs(z) < (T)EGD_SQRT1_2) return (T)0.5 + (T)0.5 * erf(z); \
    return z > 0 ? 1 - (T)0.5 * erfc(z) : (T)0.5 * erfc(-z); \
} \
EGD_FN T log_ndtr_(T x) { /* log1p near 1, the asymptotic series where ndtr underflows */ \
    if (x > 6) return log1p(-ndtr_(-x)); \
    if (x > -20) return log(ndtr_(x)); \
    const T x2 = x * x; \
    T term = 1, sum = 1; \
    for (int k = 1; k < 12; ++k) { term *= -(T)(2 * k - 1) / x2; sum += term; } \
    return -x2 / 2 - log(-x) - (T)EGD_HALF_LOG_2PI + log(sum); \
}
#define EGD_INT_UFUNCS(T, LOWEST) \
EGD_FN T floor_divide_(T a, T b) { /* NumPy: 0 for a zero divisor, LOWEST // -1 wraps */ \
    if (b == 0) return 0; \
    if (b == -1 && a == LOWEST) return LOWEST; \
    const T q = a / b; \
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q; \
} \
EGD_FN T remainder_(T a, T b) { \
    if (b == 0 || b == -1) return 0; \
    const T r = a % b; \
    return (r != 0 && (r < 0) != (b < 0)) ? r + b : r; \
} \
EGD_FN T fmod_(T a, T b) { return (b == 0 || b == -1) ? 0 : a % b; }
#define EGD_SQRT1_2 0.707106781186547524400844362104849039
#define EGD_HALF_LOG_2PI 0.918938533204672741780329736405617639
EGD_FLOAT_UFUNCS(double)
EGD_FLOAT_UFUNCS(float)
EGD_INT_UFUNCS(long long, (-9223372036854775807LL - 1))
EGD_INT_UFUNCS(int, (-2147483647 - 1))
"""

_TARGET_PROLOGUE: dict[str, str] = {
    "cuda": "#define EGD_FN __device__ __forceinline__\n"
            "#define EGD_INF __longlong_as_double(0x7ff0000000000000LL)\n"
            "#define EGD_NAN __longlong_as_double(0x7ff8000000000000LL)\n",
    "host": "#include <math.h>\n"
            "#define EGD_FN static inline\n"
            "#define EGD_INF __builtin_inf()\n"
            "#define EGD_NAN __builtin_nan(\"\")\n",
}


def prelude(target: Target) -> str:
    """Everything a kernel source starts with: target macros and the helper functions."""
    return _TARGET_PROLOGUE[target] + PREAMBLE


def c_literal(value: float, dtype: str) -> str:
    """An exact C literal of ``value`` in ``dtype`` (hex floats; inf and nan as macros)."""
    ctype = C_TYPES[dtype]
    if dtype == "bool":
        return "true" if value else "false"
    if dtype not in FLOAT_DTYPES:
        return f"(({ctype}){int(value)}LL)"
    if math.isnan(value):
        return f"(({ctype})EGD_NAN)"
    if math.isinf(value):
        return f"(({ctype})(EGD_INF))" if value > 0 else f"(({ctype})(-EGD_INF))"
    if dtype == "float32":
        import numpy as np  # rounding to float32 exactly as NumPy does

        return f"({float(np.float32(value)).hex()}f)"
    return f"({value.hex()})"


@dataclass(frozen=True)
class KernelSource:
    """A generated kernel module: its source, entry points and launch geometry."""

    name: str
    source: str
    group: FusedGroup
    entry_points: tuple[str, ...]
    mode: Literal["elementwise", "reduce_block", "reduce_thread"]
    grid: int
    block: int
    split: int = 1  # blocks per reduced output (>1: a second kernel combines the partials)


def reduction_geometry(group: FusedGroup) -> tuple[Literal["elementwise", "reduce_block", "reduce_thread"], int, int]:
    """(mode, grid, split) of a group's main kernel."""
    red = group.reduction
    if red is None:
        return "elementwise", max(1, min(math.ceil(group.size / BLOCK), 65536)), 1
    if red.reduced <= THREAD_REDUCE_MAX:
        return "reduce_thread", max(1, math.ceil(red.n_out / BLOCK)), 1
    split = 1 if red.n_out >= 1024 else max(1, min(1024, math.ceil(red.reduced / (BLOCK * 16))))
    return "reduce_block", red.n_out * split, split


def generate(plan: Plan, group: FusedGroup, target: Target = "cuda") -> KernelSource:
    """The kernel of ``group`` for ``target``."""
    mode, grid, split = reduction_geometry(group)
    params = _params(plan, group, target)
    body = _body(plan, group)
    if mode == "elementwise":
        text = _elementwise(group.name, [*params, "const long long n"], body, target)
        entries: tuple[str, ...] = (group.name,)
    else:
        text, entries = _reduction(plan, group, params, body, target, mode, split)
    return KernelSource(group.name, prelude(target) + text, group, entries, mode, grid, BLOCK, split)


def _ctype(dtype: str) -> str:
    return C_TYPES[dtype]


def _params(plan: Plan, group: FusedGroup, target: Target) -> list[str]:
    restrict = " __restrict__" if target == "cuda" else ""
    params: list[str] = []
    ndim = len(group.shape)
    for k, inp in enumerate(group.inputs):
        params.append(f"const {_ctype(inp.dtype)}*{restrict} in{k}")
        if inp.layout is Layout.STRIDED:
            params.extend(f"const long long s{k}_{d}" for d in range(ndim))
    dtype_of = {ins.output: ins.dtype for ins in plan.instructions}
    for j, slot in enumerate(group.outputs):
        params.append(f"{_ctype(dtype_of[slot] or 'float64')}*{restrict} out{j}")
    return params


def input_name(group: FusedGroup, slot: int, dtype: str | None) -> str:
    """Name of the loaded value of an external slot (the one of matching dtype if several)."""
    matches = [k for k, inp in enumerate(group.inputs) if inp.slot == slot]
    for k in matches:
        if dtype is None or group.inputs[k].dtype == dtype:
            return f"x{k}"
    if matches:
        return f"x{matches[0]}"
    raise KeyError(f"slot v{slot} is not an input of kernel {group.name}")


def _load(k: int, inp: KernelInput, ndim: int, block_pointers: bool = False) -> str:
    if inp.layout is Layout.FLAT:
        index = "i"
    elif inp.layout is Layout.SCALAR:
        index = "0"
    elif block_pointers:  # the generator prepared a contiguous pointer p<k> for this block of the row
        return f"const {_ctype(inp.dtype)} x{k} = p{k}[j];"
    else:
        index = " + ".join(f"c{d} * s{k}_{d}" for d in range(ndim)) or "0"
    return f"const {_ctype(inp.dtype)} x{k} = in{k}[{index}];"


def _body(plan: Plan, group: FusedGroup, block_pointers: bool = False) -> list[str]:
    """Per-element statements over the flat index ``i``: loads, one SSA line per op, stores.

    ``block_pointers``: strided inputs are read as ``p<k>[j]``, pointers the (host) generator
    prepares for each block of a row, instead of from coordinates computed per element.
    """
    lines: list[str] = []
    ndim = len(group.shape)
    if any(inp.layout is Layout.STRIDED for inp in group.inputs) and ndim and not block_pointers:
        lines.append("long long rem = i;")
        for d in reversed(range(1, ndim)):
            lines.append(f"const long long c{d} = rem % {group.shape[d]}LL; rem /= {group.shape[d]}LL;")
        lines.append("const long long c0 = rem;")
    lines.extend(_load(k, inp, ndim, block_pointers) for k, inp in enumerate(group.inputs))
    consts = {slot: (value, dtype) for slot, value, dtype in plan.constants}
    member_slots = {plan.instructions[m].output for m in group.members}
    for m in group.members:
        ins = plan.instructions[m]
        names = []
        for pos, s in enumerate(ins.inputs):
            if s in member_slots:
                names.append(f"v{s}")
            elif s in consts:
                value, dtype = consts[s]
                names.append(ops.spec("const").c_expr.format(value=c_literal(value, dtype)))  # type: ignore[union-attr]
            else:
                want = "bool" if ins.op == "where" and pos == 0 else ins.operand_dtype
                names.append(input_name(group, s, want))
        template = ops.spec(ins.op).c_expr
        assert template is not None
        attrs = {k: _ctype(str(v)) if k == "dtype" else v for k, v in ins.attrs}
        lines.append(f"const {_ctype(ins.dtype or 'float64')} v{ins.output} = {template.format(*names, **attrs)};")
    for j, slot in enumerate(group.outputs):
        lines.append(f"out{j}[i] = v{slot};")
    return lines


def _indent(lines: list[str], depth: int) -> str:
    return "".join("    " * depth + line + "\n" for line in lines)


def _elementwise(name: str, params: list[str], body: list[str], target: Target) -> str:
    sig = ",\n    ".join(params)
    if target == "cuda":
        return (f'extern "C" __global__ void __launch_bounds__({BLOCK}) {name}(\n    {sig}) {{\n'
                "    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;\n"
                "         i += (long long)blockDim.x * gridDim.x) {\n"
                f"{_indent(body, 2)}    }}\n}}\n")
    return (f'extern "C" void {name}(\n    {sig}) {{\n'
            "    for (long long i = 0; i < n; ++i) {\n"
            f"{_indent(body, 2)}    }}\n}}\n")


def _reduce_parts(plan: Plan, group: FusedGroup) -> tuple[str, str, str, str, str]:
    """(accumulator C type, identity, combine template, post template, reduced value name)."""
    red = group.reduction
    assert red is not None
    ins = plan.instructions[red.index]
    dtype = ins.dtype or "float64"
    ctype = _ctype(dtype)
    if red.op == "max":
        identity = c_literal(-math.inf, dtype) if dtype in FLOAT_DTYPES else (
            "((long long)(-9223372036854775807LL - 1))" if dtype == "int64" else "((int)(-2147483647 - 1))")
        combine = "fmax_nan({0}, {1})"
    elif red.op == "min":
        identity = c_literal(math.inf, dtype) if dtype in FLOAT_DTYPES else (
            "((long long)9223372036854775807LL)" if dtype == "int64" else "((int)2147483647)")
        combine = "fmin_nan({0}, {1})"
    else:
        identity = f"(({ctype})0)"
        combine = "({0} + {1})"
    post = f"({{0}} / ({ctype}){red.reduced}LL)" if red.op == "mean" else "{0}"
    member_slots = {plan.instructions[m].output for m in group.members}
    source = f"v{red.source}" if red.source in member_slots else input_name(group, red.source, dtype)
    return ctype, identity, combine, post, source


def _reduction(plan: Plan, group: FusedGroup, params: list[str], body: list[str], target: Target,
               mode: str, split: int) -> tuple[str, tuple[str, ...]]:
    red = group.reduction
    assert red is not None
    ctype, identity, combine, post, source = _reduce_parts(plan, group)
    restrict = " __restrict__" if target == "cuda" else ""
    sig = ",\n    ".join([*params, f"{ctype}*{restrict} result"])
    name = group.name
    index = f"const long long i = (o * {red.reduced}LL + r) * {red.inner}LL + q;"
    step = f"acc = {combine.format('acc', source)};"
    if target == "host" or mode == "reduce_thread":
        loop = [index, *body, step]
        inner_loop = (f"        {ctype} acc = {identity};\n"
                      f"        for (long long r = 0; r < {red.reduced}LL; ++r) {{\n{_indent(loop, 3)}        }}\n"
                      f"        result[oi] = {post.format('acc')};\n")
        split_oi = f"        const long long o = oi / {red.inner}LL, q = oi % {red.inner}LL;\n"
        if target == "host":
            outer_loop = f"    for (long long oi = 0; oi < {red.n_out}LL; ++oi) {{\n"
            return f'extern "C" void {name}(\n    {sig}) {{\n{outer_loop}{split_oi}{inner_loop}    }}\n}}\n', (name,)
        return (f'extern "C" __global__ void __launch_bounds__({BLOCK}) {name}(\n    {sig}) {{\n'
                "    const long long oi = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
                f"    if (oi < {red.n_out}LL) {{\n{split_oi}{inner_loop}    }}\n}}\n"), (name,)
    loop = [index, *body, step]
    tree = (f"    __shared__ {ctype} shared[{BLOCK}];\n"
            "    shared[threadIdx.x] = acc;\n    __syncthreads();\n"
            f"    for (int s = {BLOCK // 2}; s > 0; s >>= 1) {{\n"
            "        if (threadIdx.x < s) shared[threadIdx.x] = "
            f"{combine.format('shared[threadIdx.x]', 'shared[threadIdx.x + s]')};\n"
            "        __syncthreads();\n    }\n")
    final = post.format("shared[0]") if split == 1 else "shared[0]"
    main = (f'extern "C" __global__ void __launch_bounds__({BLOCK}) {name}(\n    {sig}) {{\n'
            f"    const long long oi = blockIdx.x / {split}LL, part = blockIdx.x % {split}LL;\n"
            f"    const long long o = oi / {red.inner}LL, q = oi % {red.inner}LL;\n"
            f"    {ctype} acc = {identity};\n"
            f"    for (long long r = part * {BLOCK}LL + threadIdx.x; r < {red.reduced}LL;"
            f" r += {split * BLOCK}LL) {{\n"
            f"{_indent(loop, 2)}    }}\n{tree}"
            f"    if (threadIdx.x == 0) result[blockIdx.x] = {final};\n}}\n")
    if split == 1:
        return main, (name,)
    finish = (f'extern "C" __global__ void __launch_bounds__({BLOCK}) {name}_finish(\n'
              f"    const {ctype}* __restrict__ partial, {ctype}* __restrict__ result) {{\n"
              "    const long long oi = blockIdx.x;\n"
              f"    {ctype} acc = {identity};\n"
              f"    for (long long p = threadIdx.x; p < {split}LL; p += {BLOCK}) acc = "
              f"{combine.format('acc', f'partial[oi * {split}LL + p]')};\n"
              f"{tree}"
              f"    if (threadIdx.x == 0) result[oi] = {post.format('shared[0]')};\n}}\n")
    return main + finish, (name, f"{name}_finish")
