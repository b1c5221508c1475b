"""Native row gathers and scatter-adds along axis 0 (``take_rows``, ``scatter_add_rows``), and
matmuls by a small right operand (``small_matmul``).

A gather ``P[i]`` and its adjoint, the scatter-add of a gradient into ``P``'s rows, are what
gradients of models over indexed data spend their time in: NumPy's ``np.take`` copies rows one
element at a time, and ``np.add.at`` / ``np.bincount`` cost 10-25 ns per element. Here both are a
loop over the index array copying (or adding) one contiguous row of ``R`` elements at a time,
with NumPy's index rules: negative indices count from the end, anything outside ``[-n, n)``
raises IndexError. Scatter-adds accumulate repeated indices in index order, as ``np.add.at`` does
(so results are the same bit for bit).

One fixed extension module, built once and cached like the plan kernels (:mod:`native_build`);
``native_function(ins, fallback)`` returns the callable for a ``take`` or ``scatter_add`` along
axis 0, or None. The scatter is 2.9 ms native against 17.6 ms for the NumPy backend's bincounts;
a gather is native only into a buffer the caller keeps (``out=``): with fresh memory ``np.take``
is as fast (2.5 vs 3.6 ms at 2·10^5 rows of 8), into a kept one it saves the page faults.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from egraph_dsl.errors import BackendUnavailableError
from egraph_dsl.plan import Instruction

from .native_build import build

_SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static int egd_get(PyObject* obj, Py_buffer* view, int writable, const char* what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "native indexing: the %s is not a C-contiguous%s buffer", what,
                     writable ? " writable" : "");
        return -1;
    }
    return 0;
}

/* The format character of a buffer (past a byte-order mark). */
static char egd_format(const Py_buffer* view) {
    const char* f = view->format;
    return f[0] == '<' || f[0] == '=' ? f[1] : f[0];
}

/* args[0] and args[1] read, args[2] written: 0 with all three held, or -1 with none. */
static int egd_three(PyObject* const* args, Py_buffer* views, const char* first, const char* second) {
    if (egd_get(args[0], &views[0], 0, first) < 0) return -1;
    if (egd_get(args[1], &views[1], 0, second) < 0) { PyBuffer_Release(&views[0]); return -1; }
    if (egd_get(args[2], &views[2], 1, "output") < 0) {
        PyBuffer_Release(&views[0]); PyBuffer_Release(&views[1]); return -1;
    }
    return 0;
}

/* One row of W elements (W = 0: width elements, known at run time only). */
template <typename T, int W, int ADD>
static inline void row_op(T* __restrict__ dst, const T* __restrict__ src, long long width) {
    const long long w = W ? W : width;
    for (long long r = 0; r < w; ++r) {
        if (ADD) dst[r] += src[r]; else dst[r] = src[r];
    }
}

template <typename T, int W, int ADD>
static int rows_w(const T* src, const long long* idx, long long n_idx, long long n_rows, long long width, T* out) {
    for (long long k = 0; k < n_idx; ++k) {
        long long j = idx[k];
        if (j < 0) j += n_rows;
        if (j < 0 || j >= n_rows) {
            PyErr_Format(PyExc_IndexError, "index %lld is out of bounds for axis 0 with size %lld", idx[k], n_rows);
            return -1;
        }
        if (ADD) row_op<T, W, 1>(out + j * width, src + k * width, width);
        else row_op<T, W, 0>(out + k * width, src + j * width, width);
    }
    return 0;
}

/* rows(src) -> out: out[n, :] = src[idx[n], :]  (or out[idx[n], :] += src[n, :] when add).
   Common row widths get a loop of their own (unrolled, no memcpy call per row): at 5,000
   indices a gather of rows of 8 took 44 us through memcpy, and a scatter of single elements 26 us. */
template <typename T, int ADD>
static int rows_by_width(const T* src, const long long* idx, long long n_idx, long long n_rows, long long width, T* out) {
    switch (width) {
        case 1: return rows_w<T, 1, ADD>(src, idx, n_idx, n_rows, width, out);
        case 2: return rows_w<T, 2, ADD>(src, idx, n_idx, n_rows, width, out);
        case 3: return rows_w<T, 3, ADD>(src, idx, n_idx, n_rows, width, out);
        case 4: return rows_w<T, 4, ADD>(src, idx, n_idx, n_rows, width, out);
        case 8: return rows_w<T, 8, ADD>(src, idx, n_idx, n_rows, width, out);
        case 16: return rows_w<T, 16, ADD>(src, idx, n_idx, n_rows, width, out);
        default: return rows_w<T, 0, ADD>(src, idx, n_idx, n_rows, width, out);
    }
}

template <typename T>
static int rows(const T* src, const long long* idx, long long n_idx, long long n_rows, long long width, T* out,
                int add) {
    return add ? rows_by_width<T, 1>(src, idx, n_idx, n_rows, width, out)
               : rows_by_width<T, 0>(src, idx, n_idx, n_rows, width, out);
}

/* (src, idx, out, n_rows, width, add): the buffers' sizes are checked by the Python caller's
   shapes; here only layout, formats and the element counts they imply. */
static PyObject* py_rows(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 6) { PyErr_SetString(PyExc_TypeError, "rows takes 6 arguments"); return NULL; }
    long long n_rows = PyLong_AsLongLong(args[3]), width = PyLong_AsLongLong(args[4]);
    int add = PyObject_IsTrue(args[5]);
    if (PyErr_Occurred()) return NULL;
    Py_buffer views[3];
    if (egd_three(args, views, "source", "index array") < 0) return NULL;
    Py_buffer &src = views[0], &idx = views[1], &out = views[2];
    PyObject* ret = NULL;
    long long n_idx = idx.len / 8;
    char sf = egd_format(&src), xf = egd_format(&idx), of = egd_format(&out);
    long long src_rows = add ? n_idx : n_rows, out_rows = add ? n_rows : n_idx;
    if (idx.itemsize != 8 || (xf != 'q' && xf != 'l') || sf != of || src.itemsize != out.itemsize) {
        PyErr_SetString(PyExc_TypeError, "native indexing: int64 indices and matching float buffers expected");
    } else if (src.len != src_rows * width * src.itemsize || out.len != out_rows * width * out.itemsize) {
        PyErr_SetString(PyExc_ValueError, "native indexing: buffer sizes do not match the shapes");
    } else {
        int rc = -2;
        const long long* ix = (const long long*)idx.buf;
        if (sf == 'd' && src.itemsize == 8)
            rc = rows((const double*)src.buf, ix, n_idx, n_rows, width, (double*)out.buf, add);
        else if (sf == 'f' && src.itemsize == 4)
            rc = rows((const float*)src.buf, ix, n_idx, n_rows, width, (float*)out.buf, add);
        if (rc == -2) PyErr_SetString(PyExc_TypeError, "native indexing: float32 or float64 buffers expected");
        else if (rc == 0) { ret = Py_None; Py_INCREF(ret); }
    }
    for (int k = 0; k < 3; ++k) PyBuffer_Release(&views[k]);
    return ret;
}

/* out (n x C) = a (n x K) @ w (K x C) for the shapes in SMALL_MATMUL_SHAPES: blocks of 64 rows, one
   output column at a time vectorized across the rows, each sum over k in order from +0.0 (as BLAS:
   a product of zeros is +0.0). K and C must be compile-time constants for gcc to vectorize it
   well: 5,000 x 8 @ 8 x 8 takes 25 us so, 100-140 us with K and C known at run time only, and
   60-70 us in BLAS (one thread). */
template <typename T, int K, int C>
static void mm(const T* __restrict__ a, const T* __restrict__ w, long long n, T* __restrict__ out) {
    for (long long i0 = 0; i0 < n; i0 += 64) {
        const long long len = n - i0 < 64 ? n - i0 : 64;
        for (int c = 0; c < C; ++c) {
#pragma omp simd
            for (long long j = 0; j < len; ++j) {
                T acc = (T)0;
                for (int k = 0; k < K; ++k) acc += a[(i0 + j) * K + k] * w[k * C + c];
                out[(i0 + j) * C + c] = acc;
            }
        }
    }
}

/* out (K x C) = x^T @ b for a C-contiguous x (n x K) and b (n x C): what a gradient's A.T @ G is.
   Blocks of 64 rows are summed in order into K*C partials (vectorized over C), and the blocks'
   partials combined pairwise (a binary counter, as the plan kernels' sums): an error of
   O((64 + log2 n) eps), where BLAS sums the n terms in one run. */
template <typename T, int K, int C>
static void mtm(const T* __restrict__ x, const T* __restrict__ b, long long n, T* __restrict__ out) {
    T levels[64][K * C];
    long long counts[64];
    int top = 0;
    for (long long i0 = 0; i0 < n; i0 += 64) {
        const long long len = n - i0 < 64 ? n - i0 : 64;
        T part[K * C];
        for (int q = 0; q < K * C; ++q) part[q] = (T)0;
        for (long long j = 0; j < len; ++j) {
            const T* xr = x + (i0 + j) * K;
            const T* br = b + (i0 + j) * C;
            for (int k = 0; k < K; ++k) {
                const T v = xr[k];
#pragma omp simd
                for (int c = 0; c < C; ++c) part[k * C + c] += v * br[c];
            }
        }
        long long count = 1;
        while (top > 0 && counts[top - 1] == count) {
            for (int q = 0; q < K * C; ++q) part[q] = levels[top - 1][q] + part[q];
            count *= 2;
            --top;
        }
        for (int q = 0; q < K * C; ++q) levels[top][q] = part[q];
        counts[top] = count;
        ++top;
    }
    for (int q = 0; q < K * C; ++q) {
        T total = (T)0;
        if (top > 0) {
            total = levels[top - 1][q];
            for (int t = top - 2; t >= 0; --t) total = levels[t][q] + total;
        }
        out[q] = total;
    }
}

/* 0 when (K, C) has an instance, -1 otherwise; transposed: out = a^T @ w (a is n x K, w n x C) */
template <typename T>
static int mm_dispatch(const T* a, const T* w, long long n, long long K, long long C, T* out, int transposed) {
    if (transposed) {
        switch (K * 1000 + C) {
EGD_MTM_CASES
            default: return -1;
        }
        return 0;
    }
    switch (K * 1000 + C) {
EGD_MATMUL_CASES
        default: return -1;
    }
    return 0;
}

/* (a, w, out, n, K, C, transposed): C-contiguous buffers of one float type; a @ w with n*K, K*C and
   n*C elements, or (transposed) a^T @ w with n*K, n*C and K*C elements. */
static PyObject* py_matmul(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 7) { PyErr_SetString(PyExc_TypeError, "matmul takes 7 arguments"); return NULL; }
    long long n = PyLong_AsLongLong(args[3]), K = PyLong_AsLongLong(args[4]), C = PyLong_AsLongLong(args[5]);
    int transposed = PyObject_IsTrue(args[6]);
    if (PyErr_Occurred()) return NULL;
    Py_buffer views[3];
    if (egd_three(args, views, "left operand", "right operand") < 0) return NULL;
    Py_buffer &a = views[0], &w = views[1], &out = views[2];
    PyObject* ret = NULL;
    char af = egd_format(&a), wf = egd_format(&w), of = egd_format(&out);
    const Py_ssize_t size = a.itemsize;
    if (af != wf || af != of || w.itemsize != size || out.itemsize != size || !(af == 'd' || af == 'f')
        || n < 0) {
        PyErr_SetString(PyExc_TypeError, "native matmul: float32 or float64 buffers of one type expected");
    } else if (a.len != n * K * size || w.len != (transposed ? n : K) * C * size
               || out.len != (transposed ? K : n) * C * size) {
        PyErr_SetString(PyExc_ValueError, "native matmul: buffer sizes do not match the shapes");
    } else {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        if (af == 'd') rc = mm_dispatch((const double*)a.buf, (const double*)w.buf, n, K, C, (double*)out.buf, transposed);
        else rc = mm_dispatch((const float*)a.buf, (const float*)w.buf, n, K, C, (float*)out.buf, transposed);
        Py_END_ALLOW_THREADS
        if (rc < 0) PyErr_Format(PyExc_ValueError, "native matmul: no instance for K = %lld, C = %lld", K, C);
        else { ret = Py_None; Py_INCREF(ret); }
    }
    for (int k = 0; k < 3; ++k) PyBuffer_Release(&views[k]);
    return ret;
}

static PyMethodDef egd_methods[] = {
    {"rows", (PyCFunction)(void(*)(void))py_rows, METH_FASTCALL, NULL},
    {"matmul", (PyCFunction)(void(*)(void))py_matmul, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL}
};
static struct PyModuleDef egd_module = {PyModuleDef_HEAD_INIT, "egd_indexing_v3", NULL, -1, egd_methods};
extern "C" PyMODINIT_FUNC PyInit_egd_indexing_v3(void) { return PyModule_Create(&egd_module); }
"""

_FLOATS = ("float32", "float64")
# right-operand shapes (K, C) with a native matmul: square ones (interaction matrices, covariance
# factors) and single columns; others go to BLAS
SMALL_MATMUL_SHAPES = frozenset({(k, k) for k in (2, 3, 4, 5, 6, 8, 10, 12, 16)}
                                | {(k, 1) for k in (2, 3, 4, 5, 6, 8, 10, 12, 16)})


def _module() -> Any:
    built = _built()
    if isinstance(built, BackendUnavailableError):
        raise built
    return built


@functools.cache
def _built() -> Any:
    """The module, or the error its build failed with (kept, so a failed build is not tried again)."""
    try:
        return _build()
    except BackendUnavailableError as exc:
        warnings.warn(f"native gathers, scatters and small matmuls fall back to NumPy: {exc}".splitlines()[0],
                      RuntimeWarning, stacklevel=2)
        return exc


def _build() -> Any:
    cases = "\n".join(f"        case {k * 1000 + c}: mm<T, {k}, {c}>(a, w, n, out); break;"
                      for k, c in sorted(SMALL_MATMUL_SHAPES))
    transposed = "\n".join(f"            case {k * 1000 + c}: mtm<T, {k}, {c}>(a, w, n, out); break;"
                           for k, c in sorted(SMALL_MATMUL_SHAPES))
    return build("egd_indexing_v3", _SOURCE.replace("EGD_MATMUL_CASES", cases).replace("EGD_MTM_CASES", transposed))


def take_rows(a: np.ndarray, indices: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.take(a, indices, axis=0)`` for a float ``a`` and int64 ``indices`` (into ``out``, a
    C-contiguous array of the result's shape and dtype, when given)."""
    a = np.ascontiguousarray(a)
    idx = np.ascontiguousarray(indices, dtype=np.int64)
    if out is None:
        out = np.empty((*idx.shape, *a.shape[1:]), dtype=a.dtype)
    width = math.prod(a.shape[1:])  # (np.prod of a tuple costs 8 us)
    _module().rows(a, idx, out, a.shape[0], width, False)
    return out


def scatter_add_rows(updates: np.ndarray, indices: np.ndarray, size: int) -> np.ndarray:
    """``scatter_add(updates, indices, dim=0, size)``: zeros of ``size`` rows, each update row added
    at its index, in index order (repeated indices accumulate, as ``np.add.at``)."""
    idx = np.ascontiguousarray(indices, dtype=np.int64)
    rest = updates.shape[idx.ndim:]
    updates = np.ascontiguousarray(updates)
    out = np.zeros((size, *rest), dtype=updates.dtype)
    width = math.prod(rest)
    _module().rows(updates, idx, out, size, width, True)
    return out


def _small(left: np.ndarray, right: np.ndarray, out: np.ndarray | None, transposed: bool) -> np.ndarray:
    """The kernel call both entry points make: ``left`` is (n, K), ``right`` (K, C) or, transposed, (n, C)."""
    left, right = np.ascontiguousarray(left), np.ascontiguousarray(right)
    n, K = left.shape
    C = right.shape[1]
    if out is None:
        out = np.empty((K if transposed else n, C), dtype=left.dtype)
    _module().matmul(left, right, out, n, K, C, transposed)
    return out


def small_matmul(a: np.ndarray, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ w`` for a float (n, K) ``a`` and a (K, C) ``w`` of a shape in SMALL_MATMUL_SHAPES, of
    one dtype (into ``out``, a C-contiguous (n, C) array of it, when given)."""
    return _small(a, w, out, False)


def small_transposed_matmul(x: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``x.T @ b`` for float (n, K) ``x`` and (n, C) ``b`` of one dtype with (K, C) in
    SMALL_MATMUL_SHAPES, summed over n in blocks combined pairwise (into ``out``, a C-contiguous
    (K, C) array, when given)."""
    return _small(x, b, out, True)


def _small_matmul_function(ins: Instruction, fallback: Callable[..., Any]) -> Callable[..., Any] | None:
    if ins.dtype not in _FLOATS or ins.shape is None or len(ins.shape) != 2 or ins.shape[1] > 16:
        return None

    def run(a: Any, w: Any, out: Any = None) -> Any:
        """Natively for 2-d float operands of the result's dtype: ``a @ w`` with a C-contiguous
        ``a`` and a small ``w``, or ``x.T @ w`` (``a`` the transpose of a C-contiguous ``x``, as in a
        gradient) with a small result; BLAS (``fallback``) otherwise (no copy of ``a`` is made)."""
        if (type(a) is np.ndarray and type(w) is np.ndarray and a.ndim == 2 and w.ndim == 2
                and a.dtype == w.dtype and a.dtype.name == ins.dtype):
            if a.flags.c_contiguous and w.shape in SMALL_MATMUL_SHAPES:
                return small_matmul(a, w, out)
            if (a.T.flags.c_contiguous and w.flags.c_contiguous and (a.shape[0], w.shape[1]) in SMALL_MATMUL_SHAPES
                    and (out is None or out.flags.c_contiguous)):
                return small_transposed_matmul(a.T, w, out)
        return fallback(a, w) if out is None else fallback(a, w, out=out)

    return run


def native_function(ins: Instruction, fallback: Callable[..., Any]) -> Callable[..., Any] | None:
    """The native callable for a ``take`` / ``scatter_add`` along axis 0 or a matmul by a small
    right operand (None for other instructions): float32/float64 data (with integer indices) go
    native, anything else to ``fallback`` (the NumPy backend's function for the instruction).
    None for all of them where the module does not build (warned once)."""
    if ins.op not in ("take", "scatter_add", "matmul") or isinstance(_built(), BackendUnavailableError):
        return None
    if ins.op == "matmul":
        return _small_matmul_function(ins, fallback)
    if ins.op not in ("take", "scatter_add") or int(ins.attr["dim"]) != 0:
        return None
    if ins.op == "take":
        def gather(data: Any, indices: Any, out: Any = None) -> Any:
            """Into ``out`` (a buffer the native backend keeps between calls) natively; a fresh
            result through ``np.take``, which is as fast as take_rows then (2.5 vs 3.6 ms at 2·10^5
            rows of 8: both page-fault the new memory in)."""
            if (out is None or type(data) is not np.ndarray or data.dtype.name not in _FLOATS
                    or type(indices) is not np.ndarray or indices.dtype.kind != "i"):
                result = fallback(data, indices)
                if out is None:
                    return result
                out[...] = result
                return out
            return take_rows(data, indices, out)

        return gather
    size = int(ins.attr["size"])

    def run(data: Any, indices: Any) -> Any:
        if (type(data) is not np.ndarray or data.dtype.name not in _FLOATS or type(indices) is not np.ndarray
                or indices.dtype.kind != "i"):
            return fallback(data, indices)
        return scatter_add_rows(data, indices, size)

    return run
