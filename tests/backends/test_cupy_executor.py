"""The CuPy executable's plumbing (argument order, strides, buffers, reductions, outputs), run
without a GPU: CuPy is replaced by NumPy and each CUDA kernel by its host-compiled twin."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: reach the helpers
from cupy_helpers import CXX, compile_host, pattern_cases, pattern_plan
from egraph_dsl.backends import cupy_backend

from egraph_dsl.program import evaluate
from egraph_dsl.trace import trace_function

pytestmark = pytest.mark.skipif(CXX is None, reason="no C++ compiler (g++) to build host kernels")


def _fake_cupy(lib: ctypes.CDLL) -> SimpleNamespace:
    """Enough of CuPy for the executable: NumPy arrays, and RawModule backed by ``lib``."""

    def call(name: str) -> Callable[..., None]:
        def launch(grid: tuple[int], block: tuple[int], args: tuple[Any, ...]) -> None:
            if name.endswith("_finish"):  # the host twin already wrote the totals up front
                partial, result = args
                result.reshape(-1)[:] = partial[: result.size]
                return
            cargs = [ctypes.c_void_p(a.ctypes.data) if isinstance(a, np.ndarray) else ctypes.c_longlong(int(a))
                     for a in args]
            fn = getattr(lib, name)
            fn.restype = None
            fn(*cargs)
        return launch

    module = SimpleNamespace(get_function=call)
    return SimpleNamespace(
        ndarray=np.ndarray, asarray=np.asarray, ascontiguousarray=np.ascontiguousarray,
        broadcast_to=np.broadcast_to, empty=np.empty, asnumpy=np.asarray,
        RawModule=lambda code, options: module,
        # what impl(cupy, ...) calls on the non-fused steps
        **{n: getattr(np, n) for n in ("matmul", "sum", "max", "mean", "log", "exp", "where", "isfinite",
                                       "zeros", "transpose", "reshape", "diagonal", "trace", "abs",
                                       "maximum", "minimum", "add", "subtract", "multiply")},
    )


@pytest.mark.parametrize(("name", "fn", "args"), pattern_cases(), ids=[c[0] for c in pattern_cases()])
def test_executable_runs_patterns_like_numpy(name: str, fn: Any, args: list[np.ndarray],
                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = pattern_plan(fn, args, name)
    lib = compile_host([(plan, args)], str(tmp_path))
    monkeypatch.setattr(cupy_backend, "require_gpu", lambda: _fake_cupy(lib))
    f = cupy_backend.compile_plan(plan, to_host=True)
    got = f(*args)
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, evaluate(trace_function(fn, args, name=name), args), strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        tol = {"rtol": 2e-5, "atol": 1e-5} if w.dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
        np.testing.assert_allclose(g, w, equal_nan=True, **tol, err_msg=name)
    assert f(*args) is not got  # a second call runs the cached steps


def test_unknown_options_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    name, fn, args = pattern_cases()[1]
    with pytest.raises(cupy_backend.BackendError, match="unknown option"):
        cupy_backend.compile_plan(pattern_plan(fn, args, name), fuse_more=True)
