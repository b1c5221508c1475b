"""The compiled greedy DAG kernel (C source in ``_dag_kernel.py``), built with the system C compiler.

The kernel is an exact port of :func:`extract.greedy.dag_choice` for integer costs; it is
built once per machine into a cache folder (``$EGRAPH_DSL_NATIVE_CACHE``, else
``$XDG_CACHE_HOME/egraph-dsl/native``, else ``~/.cache/egraph-dsl/native``) and loaded with
:mod:`ctypes`. Without a compiler, or when the build fails, :func:`kernel` returns ``None``
and the Python loop runs; ``EGRAPH_DSL_EXTRACT_NATIVE=0`` forces that.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from egraph_dsl.native_cache import build_cached, cache_dir

from ._dag_kernel import SOURCE
from .model import EGraphModel, FloatArray, IntArray

__all__ = ["DISABLE_ENV", "kernel", "native_chosen_post", "native_dag_choice",
           "native_tree_sweeps"]

DISABLE_ENV = "EGRAPH_DSL_EXTRACT_NATIVE"
# IEEE-faithful (no fast-math, no contraction); the kernel's sums are exact integers anyway
_FLAGS = ("-O2", "-std=c11", "-ffp-contract=off", "-fno-fast-math", "-shared", "-fPIC")
_EXACT = 2.0**50  # the kernel runs only when the usable costs' absolute sum stays below this

_I64 = np.ctypeslib.ndpointer(dtype=np.int64, flags="C_CONTIGUOUS")
_F64 = np.ctypeslib.ndpointer(dtype=np.float64, flags="C_CONTIGUOUS")
_U8 = np.ctypeslib.ndpointer(dtype=np.uint8, flags="C_CONTIGUOUS")


def _build(source: str) -> Path | None:
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        return None
    try:
        version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    key = hashlib.sha256("\0".join([source, version, " ".join(_FLAGS)]).encode()).hexdigest()[:20]
    target = cache_dir() / f"egd_dag_kernel_{key}.so"
    if target.exists():
        return target
    try:
        result = build_cached(target, source, "dag_kernel.c",
                              lambda src, out: [cc, *_FLAGS, str(src), "-o", str(out), "-lm"], timeout=300)
    except (OSError, subprocess.SubprocessError):
        return None
    return target if result.returncode == 0 else None


@functools.cache
def _load() -> ctypes.CDLL | None:
    try:
        path = _build(SOURCE)
        if path is None:
            return None
        lib = ctypes.CDLL(str(path))
    except OSError:
        return None
    i64 = ctypes.c_int64
    lib.dag_choice.restype = ctypes.c_int
    lib.dag_choice.argtypes = [i64, i64, _I64, _I64, _I64, _I64, _I64, _F64, _U8, _U8, i64,
                               ctypes.c_int, _I64]
    lib.tree_sweeps.restype = ctypes.c_int
    lib.tree_sweeps.argtypes = [i64, i64, _F64, _I64, _I64, _I64, _I64, _I64, _I64, _I64, i64,
                                _I64, _F64, ctypes.POINTER(ctypes.c_int64)]
    lib.chosen_post.restype = ctypes.c_int
    lib.chosen_post.argtypes = [i64, i64, _I64, i64, _I64, _I64, _I64, _I64,
                                ctypes.POINTER(ctypes.c_int64)]
    return lib


def kernel() -> ctypes.CDLL | None:
    """The loaded kernel library, or ``None`` (no compiler, failed build, or disabled)."""
    if os.environ.get(DISABLE_ENV, "1") == "0":
        return None
    return _load()


def native_dag_choice(n_classes: int, uptr: np.ndarray, ucls: np.ndarray, pptr: np.ndarray,
                      pnodes: np.ndarray, node_class: np.ndarray, costs: np.ndarray,
                      usable: np.ndarray, is_root: np.ndarray, budget: int, prune_by_bound: bool
                      ) -> list[int] | None:
    """The kernel's choice per class, or ``None`` when it cannot give the Python answer exactly.

    ``None``: no kernel, non-integer or too large usable costs, a sum that left the exact
    range, or out of memory; the caller then runs the Python loop.
    """
    lib = kernel()
    if lib is None:
        return None
    used = costs[usable.astype(np.bool_)]
    with np.errstate(over="ignore"):  # an overflowing sum is inf: too large, declined
        if len(used) and (not bool(np.all(used == np.round(used)))
                          or float(np.abs(used).sum()) >= _EXACT):
            return None
    n = len(node_class)
    choice = np.empty(n_classes, dtype=np.int64)
    status = lib.dag_choice(n, n_classes, uptr, ucls, pptr, pnodes, node_class, costs, usable,
                            is_root, budget, int(prune_by_bound), choice)
    if status:
        return None
    return choice.tolist()  # type: ignore[no-any-return]


def native_tree_sweeps(model: EGraphModel, costs: FloatArray, max_sweeps: int
                       ) -> tuple[int, IntArray, FloatArray] | None:
    """Frontier tree-cost sweeps by the kernel: ``(sweeps, choice, best)``; ``None``: no kernel.

    ``sweeps`` is the iteration in which the Python loop would return (converged), or -1
    when it does not converge within ``max_sweeps``.

    ``costs`` holds inf for unusable nodes; the caller has checked that none is negative and
    that every class has a node.
    """
    lib = kernel()
    if lib is None:
        return None
    pptr, pnodes = model.parent_csr
    choice = np.empty(model.num_classes, dtype=np.int64)
    best = np.empty(model.num_classes, dtype=np.float64)
    used = ctypes.c_int64(0)
    status = lib.tree_sweeps(model.num_nodes, model.num_classes, np.ascontiguousarray(costs),
                             model.child_ptr, np.ascontiguousarray(model.child_classes),
                             model.class_ptr, model.class_nodes, model.node_class, pptr, pnodes,
                             max_sweeps, choice, best, ctypes.byref(used))
    if status == 2:
        return None
    return (used.value if status == 0 else -1), choice, best


def native_chosen_post(model: EGraphModel, choice: IntArray) -> tuple[int, IntArray] | None:
    """Reachable classes in :func:`extract.graph.chosen_order`'s order: ``(status, order)``.

    ``status`` 0: ok; 1: a reachable class is unchosen; 2: a cycle; 3: a choice out of range.
    ``None``: no kernel (or out of memory).
    """
    lib = kernel()
    if lib is None:
        return None
    if len(choice) != model.num_classes:
        return 3, np.zeros(0, dtype=np.int64)
    uptr, ucls = model.unique_child_csr
    post = np.empty(model.num_classes, dtype=np.int64)
    count = ctypes.c_int64(0)
    status = lib.chosen_post(model.num_nodes, model.num_classes,
                             np.ascontiguousarray(model.roots), len(model.roots),
                             np.ascontiguousarray(choice, dtype=np.int64), uptr, ucls, post,
                             ctypes.byref(count))
    if status == 4:
        return None
    return status, post[:count.value]
