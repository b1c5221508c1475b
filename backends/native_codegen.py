"""C++ source of a native CPU kernel module from a fused Schedule (pure Python, no compiler needed).

Each fused group becomes one ``static`` kernel: a ``#pragma omp simd`` loop over the group's
elements whose per-element statements come from the op table's ``c_expr`` templates, exactly as
the CuPy backend generates them (:func:`backends.cupy_codegen._body`, same helper preamble), and,
for a closing reduction, a blocked loop (see :func:`_reduction_kernel`). A thin CPython wrapper
per kernel (``METH_FASTCALL``, buffer protocol) checks dtypes, sizes and layouts and calls it; the
module is a regular extension module (one per plan and argument shapes).

Vector math: ``#pragma omp declare simd`` declarations of libm functions make gcc call glibc's
libmvec variants (compiled with ``-fopenmp-simd -fno-math-errno -fno-trapping-math``, no
``-ffast-math``: IEEE semantics of +, -, *, /, sqrt, comparisons and selections are kept).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from egraph_dsl.plan import Plan

from .cupy_codegen import _body, _params, _reduce_parts, prelude
from .fusion import FLOAT_DTYPES, FusedGroup, Layout, Schedule

C_TYPES: dict[str, str] = {
    "float64": "double", "float32": "float", "int64": "long long", "int32": "int", "bool": "bool",
}
# buffer-protocol format characters NumPy exports for each dtype (int64 is 'l' on LP64, 'q' elsewhere)
FORMATS: dict[str, str] = {"float64": "d", "float32": "f", "int64": "lq", "int32": "i", "bool": "?"}

BLOCK = 64  # elements per block of a contiguous reduction (computed into a stack buffer, then reduced)

# libm functions with libmvec vector variants (glibc >= 2.35 for all of them)
VECTOR_MATH = ("exp", "log", "log1p", "expm1", "tanh", "sin", "cos", "tan", "asin", "acos", "atan",
               "sinh", "cosh", "asinh", "acosh", "atanh", "exp2", "log2", "log10", "cbrt", "erf", "erfc")


def _simd_declarations() -> str:
    lines = ['extern "C" {']
    for fn in VECTOR_MATH:
        lines += ["#pragma omp declare simd notinbranch", f"double {fn}(double);",
                  "#pragma omp declare simd notinbranch", f"float {fn}f(float);"]
    lines.append("}")
    return "\n".join(lines) + "\n"


_RUNTIME = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* A buffer of an argument: element size and format checked, (optionally) writable. */
static int egd_buffer(PyObject* obj, Py_buffer* view, Py_ssize_t itemsize, const char* formats, int writable,
                      const char* kernel, int position) {
    if (PyObject_GetBuffer(obj, view, PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    const char* f = view->format ? view->format : "B";
    if (f[0] == '=' || f[0] == '<' || f[0] == '@') ++f;
    if (view->itemsize != itemsize || f[1] != '\0' || strchr(formats, f[0]) == NULL) {
        PyErr_Format(PyExc_TypeError, "%s: argument %d has format '%s' (itemsize %zd), expected one of '%s'",
                     kernel, position, view->format, view->itemsize, formats);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* A C-contiguous buffer of n elements (FLAT inputs and every output). */
static int egd_flat(Py_buffer* view, long long n, const char* kernel, int position) {
    long long size = 1, expect = view->itemsize;
    for (int d = view->ndim - 1; d >= 0; --d) {
        if (view->shape[d] != 1 && view->strides[d] != expect) {
            PyErr_Format(PyExc_ValueError, "%s: argument %d is not C-contiguous", kernel, position);
            return -1;
        }
        expect *= view->shape[d];
        size *= view->shape[d];
    }
    if (size != n) {
        PyErr_Format(PyExc_ValueError, "%s: argument %d has %lld elements, expected %lld", kernel, position, size, n);
        return -1;
    }
    return 0;
}

/* Element strides of a buffer read with NumPy broadcasting against the iteration shape. */
static int egd_strides(Py_buffer* view, int ndim, const long long* shape, long long* strides,
                       const char* kernel, int position) {
    if (view->ndim > ndim) {
        PyErr_Format(PyExc_ValueError, "%s: argument %d has %d dimensions, more than %d", kernel, position,
                     view->ndim, ndim);
        return -1;
    }
    const int lead = ndim - view->ndim;
    for (int d = 0; d < ndim; ++d) {
        const int e = d - lead;
        if (e < 0 || view->shape[e] == 1) { strides[d] = 0; continue; }
        if (view->shape[e] != shape[d] || view->strides[e] % view->itemsize != 0) {
            PyErr_Format(PyExc_ValueError, "%s: argument %d does not broadcast to the kernel's shape (axis %d)",
                         kernel, position, d);
            return -1;
        }
        strides[d] = view->strides[e] / view->itemsize;
    }
    return 0;
}

/* Pairwise combination of block sums: a binary counter (level k holds the sum of 2^k blocks). */
#define EGD_PAIRWISE_PUSH(T, stack, counts, top, value) do { \
    T egd_v_ = (value); long long egd_c_ = 1; \
    while (top > 0 && counts[top - 1] == egd_c_) { egd_v_ = stack[top - 1] + egd_v_; egd_c_ *= 2; --top; } \
    stack[top] = egd_v_; counts[top] = egd_c_; ++top; \
} while (0)
#define EGD_PAIRWISE_TOTAL(T, stack, top, out) do { \
    T egd_t_ = stack[top - 1]; for (int egd_k_ = top - 2; egd_k_ >= 0; --egd_k_) egd_t_ = stack[egd_k_] + egd_t_; \
    out = egd_t_; \
} while (0)
"""


@dataclass(frozen=True)
class ModuleSource:
    """A generated extension module: its name, C++ source, and one entry point per fused group."""

    name: str
    source: str
    groups: tuple[FusedGroup, ...]


def _ctype(dtype: str) -> str:
    return C_TYPES[dtype]


def _dtype_of(plan: Plan, slot: int) -> str:
    for ins in plan.instructions:
        if ins.output == slot:
            return ins.dtype or "float64"
    raise KeyError(slot)


def generate_module(schedule: Schedule, module_name: str) -> ModuleSource:
    """The extension module ``module_name`` with a kernel and a Python entry point per group."""
    plan = schedule.plan
    head = prelude("host")
    parts = [head.replace("#include <math.h>\n", "#include <math.h>\n" + _simd_declarations()), _RUNTIME]
    methods = []
    for group in schedule.groups:
        parts.append(_kernel(plan, group))
        parts.append(_wrapper(plan, group))
        methods.append(f'    {{"{group.name}", (PyCFunction)(void(*)(void))py_{group.name}, METH_FASTCALL, NULL}},')
    parts.append("static PyMethodDef egd_methods[] = {\n" + "\n".join(methods) + "\n    {NULL, NULL, 0, NULL}\n};\n")
    parts.append(f'static struct PyModuleDef egd_module = {{PyModuleDef_HEAD_INIT, "{module_name}", NULL, -1, egd_methods}};\n'
                 f'extern "C" PyMODINIT_FUNC PyInit_{module_name}(void) {{ return PyModule_Create(&egd_module); }}\n')
    return ModuleSource(module_name, "".join(parts), schedule.groups)


def _indent(lines: list[str], depth: int) -> str:
    return "".join("    " * depth + line + "\n" for line in lines)


def row_blocks(group: FusedGroup) -> bool:
    """Whether the kernel reads its strided inputs a block of a row at a time: it has some, and it
    runs over rows of its last axis (elementwise, or reducing exactly that axis). Each row's offsets
    then come from the row index once, and each block's values through a pointer (:func:`_prepare`)
    instead of coordinates divided out of the flat index per element (gcc cannot vectorize those)."""
    if not group.shape or not any(inp.layout is Layout.STRIDED for inp in group.inputs):
        return False
    red = group.reduction
    return red is None or (red.inner == 1 and red.reduced == group.shape[-1])


def _row_offsets(group: FusedGroup) -> str:
    """Statements at the top of row ``o``: each strided input's offset of the row's first element."""
    lead = group.shape[:-1]
    lines = []
    if lead:
        lines.append("long long rem = o;")
        for d in reversed(range(1, len(lead))):
            lines.append(f"const long long c{d} = rem % {lead[d]}LL; rem /= {lead[d]}LL;")
        lines.append("const long long c0 = rem; (void)rem;")
    for k, inp in enumerate(group.inputs):
        if inp.layout is Layout.STRIDED:
            offset = " + ".join(f"c{d} * s{k}_{d}" for d in range(len(lead))) or "0"
            lines.append(f"const long long off{k} = {offset};")
    return _indent(lines, 2)


def _prepare(group: FusedGroup) -> str:
    """Statements at the top of the block ``[b0, b0 + len)`` of a row: ``p<k>``, the block of each
    strided input: in place where its last stride is 1, else copied into ``buf<k>`` (a broadcast
    value repeated, other strides gathered)."""
    last = len(group.shape) - 1
    lines = []
    for k, inp in enumerate(group.inputs):
        if inp.layout is not Layout.STRIDED:
            continue
        ctype, stride = _ctype(inp.dtype), f"s{k}_{last}"
        lines += [f"const {ctype}* p{k} = buf{k};",
                  f"if ({stride} == 1) p{k} = in{k} + off{k} + b0;",
                  f"else if ({stride} == 0) {{ const {ctype} b = in{k}[off{k}]; "
                  f"for (long long j = 0; j < len; ++j) buf{k}[j] = b; }}",
                  f"else for (long long j = 0; j < len; ++j) buf{k}[j] = in{k}[off{k} + (b0 + j) * {stride}];"]
    return _indent(lines, 3)


def _block_buffers(group: FusedGroup) -> str:
    return "".join(f"    {_ctype(inp.dtype)} buf{k}[{BLOCK}];\n" for k, inp in enumerate(group.inputs)
                   if inp.layout is Layout.STRIDED)


def _kernel(plan: Plan, group: FusedGroup) -> str:
    params = _params(plan, group, "host")
    rows = row_blocks(group)
    body = _body(plan, group, block_pointers=rows)
    if group.reduction is None:
        sig = ",\n    ".join([*params, "const long long n"])
        if not rows:
            return (f"static void kern_{group.name}(\n    {sig}) {{\n"
                    "#pragma omp simd\n"
                    f"    for (long long i = 0; i < n; ++i) {{\n{_indent(body, 2)}    }}\n}}\n")
        L, count = group.shape[-1], math.prod(group.shape[:-1])
        loop = [f"const long long i = o * {L}LL + b0 + j;", *body]
        return (f"static void kern_{group.name}(\n    {sig}) {{\n    (void)n;\n{_block_buffers(group)}"
                f"    for (long long o = 0; o < {count}LL; ++o) {{\n{_row_offsets(group)}"
                f"        for (long long b0 = 0; b0 < {L}LL; b0 += {BLOCK}) {{\n"
                f"            const long long len = {L}LL - b0 < {BLOCK} ? {L}LL - b0 : {BLOCK};\n"
                f"{_prepare(group)}"
                "#pragma omp simd\n"
                f"            for (long long j = 0; j < len; ++j) {{\n{_indent(loop, 4)}            }}\n"
                "        }\n    }\n}\n")
    return _reduction_kernel(plan, group, params, body)


def _reduction_kernel(plan: Plan, group: FusedGroup, params: list[str], body: list[str]) -> str:
    """A reduction over (outer, reduced, inner).

    inner == 1 (a contiguous run per output): blocks of :data:`BLOCK` elements are computed into a
    stack buffer by a vectorized loop, then reduced: sums by a vectorized block sum combined
    pairwise across blocks (error O((BLOCK / lanes + log2 n) eps), like NumPy's pairwise sum), max
    and min in order with NumPy's nan-propagating, last-equal-wins comparison (signed zeros as
    NumPy's). Sums start from +0.0, as NumPy's (a sum of -0.0 is +0.0).
    inner > 1: the reduced axis in order (as NumPy does), vectorized over the inner axis.
    """
    red = group.reduction
    assert red is not None
    ctype, identity, combine, post, source = _reduce_parts(plan, group)
    is_sum = red.op in ("sum", "mean")
    R, inner, outer = red.reduced, red.inner, red.outer
    sig = ",\n    ".join([*params, f"{ctype}* result"])
    if red.op == "logsumexp":
        return _logsumexp_kernel(group, sig, body, ctype, source)
    if inner == 1:
        block_loop = [f"const long long i = o * {R}LL + b0 + j;", *body, f"tmp[j] = {source};"]
        # a reduction of a contiguous input and nothing else: its blocks are read in place, not copied
        direct = not group.members and [inp.layout for inp in group.inputs] == [Layout.FLAT] and source == "x0"
        if is_sum:
            reduce_block = (f"            {ctype} part = {identity};\n"
                            "#pragma omp simd reduction(+:part)\n"
                            "            for (long long j = 0; j < len; ++j) part += tmp[j];\n"
                            f"            EGD_PAIRWISE_PUSH({ctype}, stack, counts, top, part);\n")
            finish = (f"        {ctype} acc = {identity};\n"
                      f"        if (top > 0) EGD_PAIRWISE_TOTAL({ctype}, stack, top, acc);\n")
            state = f"        {ctype} stack[64]; long long counts[64]; int top = 0;\n"
        else:  # a vectorized max (min) of the block; NumPy's exact rule, in order, only where it matters
            better = ">" if red.op == "max" else "<"
            # only a NaN, or a zero as the block's best (whose sign depends on the order), needs
            # NumPy's rule; any other best is the one value the in-order loop would keep
            reduce_block = (f"            {ctype} best = {identity}; int odd = 0;\n"
                            f"#pragma omp simd reduction({red.op}:best) reduction(|:odd)\n"
                            "            for (long long j = 0; j < len; ++j) {\n"
                            f"                const {ctype} v = tmp[j];\n"
                            "                odd |= v != v;\n"
                            f"                best = v {better} best ? v : best;\n"
                            "            }\n"
                            "            if (odd || best == 0) {  /* NaN propagation and zero signs as NumPy's loop */\n"
                            "                for (long long j = 0; j < len; ++j) "
                            f"acc = {combine.format('acc', 'tmp[j]')};\n"
                            f"            }} else acc = {combine.format('acc', 'best')};\n")
            finish = ""
            state = f"        {ctype} acc = {identity};\n"
        rows = row_blocks(group)
        if direct:
            fill = f"            const {ctype}* tmp = in0 + o * {R}LL + b0;\n"
        else:
            fill = ((_prepare(group) if rows else "") + "#pragma omp simd\n"
                    f"            for (long long j = 0; j < len; ++j) {{\n{_indent(block_loop, 4)}            }}\n")
        return (f"static void kern_{group.name}(\n    {sig}) {{\n"
                + ("" if direct else f"    {ctype} tmp[{BLOCK}];\n")
                + (_block_buffers(group) if rows else "")
                + f"    for (long long o = 0; o < {outer}LL; ++o) {{\n{state}"
                + (_row_offsets(group) if rows else "")
                + f"        for (long long b0 = 0; b0 < {R}LL; b0 += {BLOCK}) {{\n"
                f"            const long long len = {R}LL - b0 < {BLOCK} ? {R}LL - b0 : {BLOCK};\n"
                f"{fill}"
                f"{reduce_block}        }}\n{finish}"
                f"        result[o] = {post.format('acc')};\n    }}\n}}\n")
    loop = [f"const long long i = (o * {R}LL + r) * {inner}LL + q;", *body,
            f"acc[q] = {combine.format('acc[q]', source)};"]
    post_loop = ""
    if red.op == "mean":
        post_loop = f"        for (long long q = 0; q < {inner}LL; ++q) acc[q] = {post.format('acc[q]')};\n"
    return (f"static void kern_{group.name}(\n    {sig}) {{\n"
            f"    for (long long o = 0; o < {outer}LL; ++o) {{\n"
            f"        {ctype}* acc = result + o * {inner}LL;\n"
            f"        for (long long q = 0; q < {inner}LL; ++q) acc[q] = {identity};\n"
            f"        for (long long r = 0; r < {R}LL; ++r) {{\n"
            "#pragma omp simd\n"
            f"            for (long long q = 0; q < {inner}LL; ++q) {{\n{_indent(loop, 4)}            }}\n"
            f"        }}\n{post_loop}    }}\n}}\n")


LSE_ROW_MAX = 1 << 16  # runs up to this long keep their values in a (thread-local) row buffer


def _logsumexp_kernel(group: FusedGroup, sig: str, body: list[str], ctype: str, source: str) -> str:
    """logsumexp over contiguous runs of R elements, as the op's NumPy implementation computes it:
    the run's maximum m (NaN if any value is NaN); the shift is m where finite, else 0 (all -inf
    gives log(0) = -inf, +inf gives inf); then log(pairwise sum of exp(v - shift)) + shift; an
    empty run gives log(0) = -inf. The second pass reads the values from a row buffer the first
    filled when the run is at most LSE_ROW_MAX long and the group computes them, else computes
    (or, for a reduced input, reads) them again."""
    red = group.reduction
    assert red is not None and red.inner == 1, "fusion closes a group with logsumexp over contiguous runs only"
    R, outer = red.reduced, red.outer
    buffered = bool(body) and R <= LSE_ROW_MAX
    index = f"const long long i = o * {R}LL + b0 + j;"
    first = [index, *body, f"const {ctype} v = {source};"] + (["row[b0 + j] = v;"] if buffered else [])
    first += ["nan |= v != v;", "top = v > top ? v : top;"]
    second = [f"const {ctype} v = row[b0 + j];"] if buffered else [index, *body, f"const {ctype} v = {source};"]
    second.append("part += exp(v - shift);")
    blocks = (f"        for (long long b0 = 0; b0 < {R}LL; b0 += {BLOCK}) {{\n"
              f"            const long long len = {R}LL - b0 < {BLOCK} ? {R}LL - b0 : {BLOCK};\n")
    rows = row_blocks(group)
    prepare = _prepare(group) if rows else ""
    return (f"static void kern_{group.name}(\n    {sig}) {{\n"
            + (f"    static thread_local {ctype} row[{max(R, 1)}];\n" if buffered else "")
            + (_block_buffers(group) if rows else "")
            + f"    for (long long o = 0; o < {outer}LL; ++o) {{\n"
            + (_row_offsets(group) if rows else "")
            + f"        {ctype} top = -INFINITY; int nan = 0;\n"
            f"{blocks}{prepare}"
            "#pragma omp simd reduction(max:top) reduction(|:nan)\n"
            f"            for (long long j = 0; j < len; ++j) {{\n{_indent(first, 4)}            }}\n"
            "        }\n"
            f"        const {ctype} shift = (nan || !isfinite(top)) ? ({ctype})0 : top;\n"
            f"        {ctype} stack[64]; long long counts[64]; int depth = 0;\n"
            f"{blocks}{'' if buffered else prepare}"
            f"            {ctype} part = ({ctype})0;\n"
            "#pragma omp simd reduction(+:part)\n"
            f"            for (long long j = 0; j < len; ++j) {{\n{_indent(second, 4)}            }}\n"
            f"            EGD_PAIRWISE_PUSH({ctype}, stack, counts, depth, part);\n"
            "        }\n"
            f"        {ctype} acc = ({ctype})0;\n"
            f"        if (depth > 0) EGD_PAIRWISE_TOTAL({ctype}, stack, depth, acc);\n"
            "        result[o] = log(acc) + shift;\n"
            "    }\n}\n")


def _scalar_read(dtype: str, arg: str, var: str) -> str:
    ctype = _ctype(dtype)
    if dtype in FLOAT_DTYPES:
        conv, bad = f"PyFloat_AsDouble({arg})", f"{var}_raw == -1.0 && PyErr_Occurred()"
        raw = "double"
    elif dtype == "bool":
        conv, bad, raw = f"PyObject_IsTrue({arg})", f"{var}_raw < 0", "int"
    else:
        conv, bad, raw = f"PyLong_AsLongLong({arg})", f"{var}_raw == -1 && PyErr_Occurred()", "long long"
    return (f"    const {raw} {var}_raw = {conv};\n    if ({bad}) break;\n"
            f"    const {ctype} {var} = ({ctype}){var}_raw;\n")


def _wrapper(plan: Plan, group: FusedGroup) -> str:
    """``py_<name>(inputs..., outputs..., [result])``: check every buffer, then run the kernel."""
    ndim = len(group.shape)
    n = group.size
    name = group.name
    red = group.reduction
    n_args = len(group.inputs) + len(group.outputs) + (1 if red else 0)
    n_buffers = n_args
    lines = [f"static PyObject* py_{name}(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {{",
             f"    if (nargs != {n_args}) {{ PyErr_Format(PyExc_TypeError, \"{name} takes {n_args} arguments, "
             "got %zd\", nargs); return NULL; }",
             f"    Py_buffer views[{max(n_buffers, 1)}]; int got = 0; PyObject* ret = NULL;",
             f"    static const long long shape[{max(ndim, 1)}] = {{{', '.join(f'{d}LL' for d in group.shape) or '1LL'}}};",
             "    (void)self; (void)shape;", "    do {"]
    call: list[str] = []
    for k, inp in enumerate(group.inputs):
        ctype = _ctype(inp.dtype)
        if inp.layout is Layout.SCALAR:
            lines.append(_scalar_read(inp.dtype, f"args[{k}]", f"sc{k}").rstrip("\n"))
            lines.append(f"    const {ctype}* in{k} = &sc{k};")
            call.append(f"in{k}")
            continue
        lines.append(f"    if (egd_buffer(args[{k}], &views[got], sizeof({ctype}), \"{FORMATS[inp.dtype]}\", 0, "
                     f"\"{name}\", {k}) < 0) break;")
        lines.append(f"    ++got; const {ctype}* in{k} = (const {ctype}*)views[got - 1].buf;")
        call.append(f"in{k}")
        if inp.layout is Layout.FLAT:
            lines.append(f"    if (egd_flat(&views[got - 1], {n}LL, \"{name}\", {k}) < 0) break;")
        else:
            lines.append(f"    long long st{k}[{max(ndim, 1)}];")
            lines.append(f"    if (egd_strides(&views[got - 1], {ndim}, shape, st{k}, \"{name}\", {k}) < 0) break;")
            call.extend(f"st{k}[{d}]" for d in range(ndim))
    position = len(group.inputs)
    writes = [(s, _dtype_of(plan, s)) for s in group.outputs]
    if red is not None:
        writes.append((-1, plan.instructions[red.index].dtype or "float64"))
    for j, (slot, dtype) in enumerate(writes):
        ctype = _ctype(dtype)
        count = red.n_out if (red is not None and slot == -1) else n
        lines.append(f"    if (egd_buffer(args[{position}], &views[got], sizeof({ctype}), \"{FORMATS[dtype]}\", 1, "
                     f"\"{name}\", {position}) < 0) break;")
        lines.append(f"    ++got; {ctype}* w{j} = ({ctype}*)views[got - 1].buf;")
        lines.append(f"    if (egd_flat(&views[got - 1], {count}LL, \"{name}\", {position}) < 0) break;")
        call.append(f"w{j}")
        position += 1
    if red is None:
        call.append(f"{n}LL")
    elif red.op in ("max", "min") and red.reduced == 0 and red.n_out > 0:
        lines.append(f"    PyErr_SetString(PyExc_ValueError, \"zero-size array to reduction operation "
                     f"{'maximum' if red.op == 'max' else 'minimum'} which has no identity\"); break;")
    # the kernel touches only the buffers it holds views of: other threads may run meanwhile
    lines.append(f"    Py_BEGIN_ALLOW_THREADS kern_{name}({', '.join(call)}); Py_END_ALLOW_THREADS")
    lines += ["    ret = Py_None; Py_INCREF(ret);", "    } while (0);",
              "    for (int k = 0; k < got; ++k) PyBuffer_Release(&views[k]);", "    return ret;", "}"]
    return "\n".join(lines) + "\n"

