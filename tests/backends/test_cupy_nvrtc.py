"""Every generated kernel compiles through NVRTC for sm_90 with no GPU present, and the CuPy
backend covers every op, fails clearly without a GPU and never needs CuPy at import time."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("CUPY_CACHE_DIR", tempfile.mkdtemp(prefix="egd-cupy-cache-"))
sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: reach the helpers
from cupy_helpers import all_op_cases, op_case, pattern_cases, pattern_plan
from egraph_dsl.backends import cupy_backend
from egraph_dsl.backends.cupy_backend import STRATEGY, Lowered, compile_nvrtc, lower
from egraph_dsl.backends.cupy_codegen import prelude
from egraph_dsl.backends.fusion import FUSABLE_OPERAND_DTYPES, UNFUSED

from egraph_dsl import ops
from egraph_dsl.errors import BackendError, BackendUnavailableError
from egraph_dsl.plan import build_plan


def _nvrtc_available() -> str | None:
    try:
        from cupy_backends.cuda.libs import nvrtc

        nvrtc.getVersion()
    except Exception as exc:  # not installed, or the NVRTC library cannot be loaded
        return f"CuPy's NVRTC bindings are not usable: {exc}"
    return None


needs_nvrtc = pytest.mark.skipif(_nvrtc_available() is not None, reason=str(_nvrtc_available()))


def _lowered_cases() -> list[Lowered]:
    plans = [lower(build_plan(p), a) for p, a in (op_case(op, d) for op, d in all_op_cases())]
    return plans + [lower(pattern_plan(fn, a, name), a) for name, fn, a in pattern_cases()]


def test_every_op_has_a_cupy_strategy() -> None:
    missing = sorted(set(ops.OPS) - set(STRATEGY))
    assert not missing, f"ops without a CuPy implementation strategy: {missing}"
    for name, how in STRATEGY.items():
        if how == "fused":
            assert ops.spec(name).c_expr is not None or ops.spec(name).kind is ops.Kind.REDUCTION, name


def test_every_elementwise_op_is_generated_by_some_case() -> None:
    generated = {ins.op for low in _lowered_cases() for g in low.schedule.groups
                 for ins in (low.plan.instructions[m] for m in g.members)}
    elementwise = {n for n, s in ops.OPS.items() if s.elementwise}
    assert elementwise - set(UNFUSED) <= generated, sorted(elementwise - set(UNFUSED) - generated)
    assert not set(UNFUSED) & set(FUSABLE_OPERAND_DTYPES), "an op is both fused and listed as never fused"


@needs_nvrtc
def test_all_kernels_compile_offline_in_one_unit() -> None:
    """Every kernel of every case, as one NVRTC program (one compiler start instead of ~150)."""
    head = prelude("cuda")
    bodies = [src[len(head):] for low in _lowered_cases() for src in low.sources.values()]
    assert len(bodies) > 100
    report = compile_nvrtc("all_cases", head + "\n".join(bodies), "sm_90")
    assert report.ok, report.log
    assert report.cubin_bytes > 0


@needs_nvrtc
def test_compile_offline_reports_each_kernel() -> None:
    name, fn, args = pattern_cases()[0]
    low = lower(pattern_plan(fn, args, name), args)
    reports = low.compile_offline("sm_90")
    assert set(reports) == set(low.sources) and len(reports) == 3
    assert all(r.ok and r.cubin_bytes > 0 for r in reports.values())
    for source in low.sources.values():
        assert 'extern "C" __global__' in source


@needs_nvrtc
@pytest.mark.slow
def test_every_pattern_kernel_compiles_on_its_own() -> None:
    for low in _lowered_cases()[-len(pattern_cases()):]:
        low.compile_offline("sm_90")


@needs_nvrtc
def test_compile_failure_raises_with_the_nvrtc_log() -> None:
    name, fn, args = pattern_cases()[1]
    low = lower(pattern_plan(fn, args, name), args)
    broken = Lowered(low.plan, low.schedule, {
        k: type(v)(v.name, v.source.replace("tanh(", "no_such_function("), v.group, v.entry_points, v.mode,
                   v.grid, v.block, v.split) for k, v in low.kernels.items()})
    with pytest.raises(BackendError, match="no_such_function"):
        broken.compile_offline("sm_90")


def test_without_a_gpu_compile_plan_raises_backend_unavailable() -> None:
    try:
        import cupy
        if cupy.is_available():
            pytest.skip("a GPU is present")
    except ImportError:
        pass
    name, fn, args = pattern_cases()[1]
    with pytest.raises(BackendUnavailableError, match=r"GPU|egraph-dsl\[cuda\]"):
        cupy_backend.compile_plan(pattern_plan(fn, args, name))


def test_import_never_needs_cupy() -> None:
    code = ("import sys; sys.modules['cupy'] = None; sys.modules['cupy_backends'] = None\n"
            "import egraph_dsl.backends.cupy_backend as b, egraph_dsl.backends.fusion, egraph_dsl.backends.cupy_cost\n"
            "try:\n    b.compile_plan(None)\nexcept Exception as e:\n    print(type(e).__name__, e)\n")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         env={**os.environ, "PYTHONPATH": str(root)}, check=True).stdout
    assert out.startswith("BackendUnavailableError") and "pip install egraph-dsl[cuda]" in out


def test_get_backend_loads_the_module() -> None:
    backends = importlib.import_module("backends")
    assert backends.get_backend("cupy") is cupy_backend
