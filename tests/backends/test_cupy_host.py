"""Generated kernel code checked on the host: the same C bodies, built with the system C++
compiler in double and float, against NumPy on edge values (no GPU needed)."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: reach the helpers
from cupy_helpers import (
    CXX,
    all_op_cases,
    assert_matches,
    compile_host,
    op_case,
    pattern_cases,
    pattern_plan,
    run_on_host,
)
from egraph_dsl.backends.fusion import fuse

from egraph_dsl.plan import build_plan
from egraph_dsl.program import evaluate
from egraph_dsl.trace import trace_function

pytestmark = pytest.mark.skipif(CXX is None, reason="no C++ compiler (g++) to build host kernels")


@pytest.fixture(scope="module")
def host_lib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """Every case's host kernels, compiled once into one library."""
    cases = [(build_plan(p), a) for p, a in (op_case(op, d) for op, d in all_op_cases())]
    cases += [(pattern_plan(fn, a, name), a) for name, fn, a in pattern_cases()]
    return compile_host(cases, str(tmp_path_factory.mktemp("host-kernels")))


@pytest.mark.parametrize(("op", "dtype"), all_op_cases())
def test_op_matches_numpy_on_edge_values(op: str, dtype: str, host_lib: ctypes.CDLL) -> None:
    program, args = op_case(op, dtype)
    plan = build_plan(program)
    assert fuse(plan).groups, f"{op} on {dtype} should be generated as C"
    got = run_on_host(plan, args, host_lib)
    want = evaluate(program, args)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert_matches(op, g, w, f"{op}[{dtype}] output {k}")


@pytest.mark.parametrize(("name", "fn", "args"), pattern_cases(), ids=[c[0] for c in pattern_cases()])
def test_fused_program_matches_numpy(name: str, fn: object, args: list[np.ndarray], host_lib: ctypes.CDLL) -> None:
    plan = pattern_plan(fn, args, name)  # type: ignore[arg-type]
    program = trace_function(fn, args, name=name)  # type: ignore[arg-type]
    got = run_on_host(plan, args, host_lib)
    want = evaluate(program, args)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        tol = {"rtol": 2e-5, "atol": 1e-5} if g.dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
        np.testing.assert_allclose(g, w, equal_nan=True, **tol, err_msg=name)
