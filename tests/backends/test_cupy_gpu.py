"""On a GPU: every op and every fused kernel agrees with NumPy (skipped without a GPU)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("CUPY_CACHE_DIR", tempfile.mkdtemp(prefix="egd-cupy-cache-"))
sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: reach the helpers
from cupy_helpers import EXACT_OPS, all_op_cases, assert_matches, op_case, pattern_cases, pattern_plan
from egraph_dsl.backends.cupy_backend import compile_plan

from egraph_dsl import ops
from egraph_dsl.plan import build_plan
from egraph_dsl.program import evaluate
from egraph_dsl.trace import logsumexp, trace_function


def _gpu_reason() -> str | None:
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed"
    return None if cupy.is_available() else "no CUDA GPU available (cupy.is_available() is False)"


pytestmark = [pytest.mark.gpu, pytest.mark.skipif(_gpu_reason() is not None, reason=str(_gpu_reason()))]

# ops outside the elementwise table, each as a small traced program
_OTHER_OPS: dict[str, tuple[Callable[..., Any], list[np.ndarray]]] = {
    "sum": (lambda a: (np.sum(a), np.sum(a, axis=0), np.sum(a, axis=(0, 1))), [np.arange(12.0).reshape(3, 4)]),
    "mean": (lambda a: (np.mean(a), np.mean(a, axis=1, keepdims=True)), [np.arange(12.0).reshape(3, 4)]),
    "max": (lambda a: (np.max(a), np.max(a, axis=0)), [np.array([[1.0, np.nan], [3.0, -np.inf]])]),
    "min": (lambda a: (np.min(a), np.min(a, axis=0), np.min(a, axis=1, keepdims=True)),
            [np.array([[1.0, np.nan], [3.0, -np.inf]])]),
    "logsumexp": (lambda a: (logsumexp(a), logsumexp(a, axis=1)), [np.arange(12.0).reshape(3, 4)]),
    "matmul": (lambda a, b, v: (a @ b, a @ v), [np.ones((3, 4)), np.arange(8.0).reshape(4, 2), np.arange(4.0)]),
    "trace": (lambda a: np.trace(a), [np.arange(9.0).reshape(3, 3)]),
    "solve": (lambda a, b, c: (np.linalg.solve(a, b), np.linalg.solve(a, c)),
              [np.eye(3) * 4.0 + np.arange(9.0).reshape(3, 3) / 9.0, np.arange(3.0), np.ones((3, 2))]),
    "inv": (lambda a: np.linalg.inv(a), [np.eye(3) * 4.0 + np.arange(9.0).reshape(3, 3) / 9.0]),
    "cholesky": (lambda a: np.linalg.cholesky(a), [np.eye(3) * 4.0 + np.ones((3, 3))]),
    "det": (lambda a: np.linalg.det(a), [np.eye(3) * 4.0 + np.arange(9.0).reshape(3, 3) / 9.0]),
    "slogdet_sign": (lambda a: np.linalg.slogdet(a)[0], [np.arange(9.0).reshape(3, 3) / 9.0 - np.eye(3) * 4.0]),
    "logabsdet": (lambda a: np.linalg.slogdet(a)[1], [np.eye(3) * 4.0 + np.arange(9.0).reshape(3, 3) / 9.0]),
    "diagonal": (lambda a: np.diagonal(a) * 2.0, [np.arange(9.0).reshape(3, 3)]),
    "transpose": (lambda a: np.transpose(a) + 1.0, [np.arange(6.0).reshape(2, 3)]),
    "reshape": (lambda a: np.reshape(a, (3, 2)) * 2.0, [np.arange(6.0).reshape(2, 3)]),
    "broadcast_to": (lambda a: np.broadcast_to(a, (4, 3)) - 1.0, [np.arange(3.0)]),
    "slice": (lambda a: (a[1:, ::-2] * 2.0, a[-1], a[:, None, 1]), [np.arange(12.0).reshape(3, 4)]),
    "take": (lambda a, i: (a[i], np.take(a, i, axis=1) + 1.0), [np.arange(12.0).reshape(3, 4), np.array([0, -1, 2])]),
    "index_check": (lambda a, i: a[i, i], [np.arange(9.0).reshape(3, 3), np.array([0, -1, 2])]),
    "array_const": (lambda a: a * np.arange(3.0) + np.ones(3), [np.arange(3.0)]),
    "concat": (lambda a, b: (np.concatenate([a, b[None]]) * 2.0, np.stack([b, b], axis=-1)),
               [np.arange(6.0).reshape(2, 3), np.arange(3.0)]),
    "prod": (lambda a: (np.prod(a), np.prod(a, axis=0)), [np.arange(1.0, 7.0).reshape(2, 3)]),
    "argmax": (lambda a: (np.argmax(a), np.argmax(a, axis=1)), [np.array([[1.0, np.nan], [3.0, 3.0]])]),
    "argmin": (lambda a: (np.argmin(a), np.argmin(a, axis=0)), [np.array([[1.0, 0.0], [-3.0, 0.0]])]),
    "cumsum": (lambda a: (np.cumsum(a), np.cumsum(a, axis=1)), [np.arange(6.0).reshape(2, 3)]),
    "cumprod": (lambda a: np.cumprod(a, axis=0), [np.arange(1.0, 7.0).reshape(2, 3)]),
}


def test_every_op_is_covered_here() -> None:
    elementwise = {op for op, _ in all_op_cases()}
    assert set(ops.OPS) - {"input", "const"} <= elementwise | set(_OTHER_OPS)


@pytest.mark.parametrize(("op", "dtype"), all_op_cases())
def test_fused_op_matches_numpy(op: str, dtype: str) -> None:
    program, args = op_case(op, dtype)
    got = compile_plan(build_plan(program), to_host=True)(*args)
    got = got if isinstance(got, tuple) else (got,)
    want = evaluate(program, args)
    # CUDA's libdevice is not glibc: exact ops bitwise, transcendental ones within a few ulps
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert_matches(op, g, w, f"{op}[{dtype}] output {k}", None if op in EXACT_OPS else 4)


@pytest.mark.parametrize("op", sorted(_OTHER_OPS))
def test_other_op_matches_numpy(op: str) -> None:
    fn, args = _OTHER_OPS[op]
    program = trace_function(fn, args, name=op)
    got = compile_plan(build_plan(program), to_host=True)(*args)
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, evaluate(program, args), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize(("name", "fn", "args"), pattern_cases(), ids=[c[0] for c in pattern_cases()])
def test_fused_pattern_matches_numpy(name: str, fn: Callable[..., Any], args: list[np.ndarray]) -> None:
    import cupy

    plan = pattern_plan(fn, args, name)
    f = compile_plan(plan)
    got = f(*[cupy.asarray(a) for a in args])
    got = got if isinstance(got, tuple) else (got,)
    assert all(isinstance(g, cupy.ndarray) for g in got)
    for g, w in zip(got, evaluate(trace_function(fn, args, name=name), args), strict=True):
        tol = {"rtol": 2e-5, "atol": 1e-5} if w.dtype == np.float32 else {"rtol": 1e-11, "atol": 1e-12}
        np.testing.assert_allclose(cupy.asnumpy(g), w, equal_nan=True, **tol, err_msg=name)
    again = f(*args)  # NumPy inputs are copied to the device; kernels are reused
    again = again if isinstance(again, tuple) else (again,)
    for g, h in zip(got, again, strict=True):
        np.testing.assert_array_equal(cupy.asnumpy(g), cupy.asnumpy(h))
