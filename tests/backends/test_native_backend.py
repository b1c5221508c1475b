"""The native CPU backend against NumPy: every generated op kernel on edge values (exact ops bit
for bit, transcendental ones within a few ulps), fused programs, reductions (pairwise-sum error
bound against math.fsum), layouts, the disk cache and the fallback without a compiler."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: reach the helpers
from cupy_helpers import EXACT_OPS, all_op_cases, assert_matches, op_case, pattern_cases
from egraph_dsl.backends import native_backend, native_build, native_codegen
from egraph_dsl.backends.fusion import fuse

from egraph_dsl.plan import build_plan
from egraph_dsl.program import Program, evaluate
from egraph_dsl.term import input_, make
from egraph_dsl.trace import trace_function

pytestmark = pytest.mark.skipif(native_build.compiler() is None, reason="no C++ compiler (g++) for native kernels")

ROOT = Path(__file__).resolve().parents[2]
LIBMVEC_ULPS = 4  # glibc's vector math (libmvec) is within 4 ulp; NumPy's own loops within 1-4


@pytest.fixture(scope="module", autouse=True)
def native_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("native-cache")
    old = os.environ.get(native_build.CACHE_ENV)
    os.environ[native_build.CACHE_ENV] = str(path)
    yield path
    if old is None:
        del os.environ[native_build.CACHE_ENV]
    else:
        os.environ[native_build.CACHE_ENV] = old


def _combined_case() -> tuple[Program, list[np.ndarray], list[tuple[str, str, int]]]:
    """Every (op, dtype) case of the fusion tables in one program (one module build)."""
    inputs: list[Any] = []
    outputs: list[Any] = []
    args: list[np.ndarray] = []
    labels: list[tuple[str, str, int]] = []
    for op, dtype in all_op_cases():
        program, case_args = op_case(op, dtype)
        renamed = {t: input_(f"{op}_{dtype}_{k}", t.shape or (), t.dtype or "float64") for k, t in enumerate(program.inputs)}
        inputs += list(renamed.values())
        args += case_args
        for k, out in enumerate(program.outputs):
            outputs.append(make(out.op, [renamed[a] for a in out.args], **dict(out.attrs)))
            labels.append((op, dtype, k))
    return Program(tuple(inputs), tuple(outputs), "all_ops", True), args, labels


@pytest.fixture(scope="module")
def all_op_results() -> dict[tuple[str, str, int], tuple[np.ndarray, np.ndarray]]:
    program, args, labels = _combined_case()
    got = native_backend.compile_plan(build_plan(program))(*args)
    want = evaluate(program, args)
    return {label: (g, w) for label, g, w in zip(labels, got, want, strict=True)}


@pytest.mark.parametrize(("op", "dtype"), all_op_cases())
def test_every_op_kernel_matches_numpy_on_edge_values(
        op: str, dtype: str, all_op_results: dict[tuple[str, str, int], tuple[np.ndarray, np.ndarray]]) -> None:
    program, _ = op_case(op, dtype)
    assert fuse(build_plan(program)).groups, f"{op} on {dtype} should be generated as C"
    for k in range(len(program.outputs)):
        got, want = all_op_results[(op, dtype, k)]
        assert_matches(op, got, want, f"{op}[{dtype}] output {k}", None if op in EXACT_OPS else LIBMVEC_ULPS)


@pytest.mark.parametrize(("name", "fn", "args"), pattern_cases(), ids=[c[0] for c in pattern_cases()])
def test_fused_programs_match_numpy(name: str, fn: Any, args: list[np.ndarray]) -> None:
    program = trace_function(fn, args, name=name)
    got = native_backend.compile_plan(build_plan(program))(*args)
    want = evaluate(program, args)
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype, name
        rtol = 2e-6 if g.dtype == np.float32 else 1e-13
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol, equal_nan=True, err_msg=name)


def _run(fn: Any, *args: Any) -> tuple[Any, Any]:
    program = trace_function(fn, list(args))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice" in the reference
        want = evaluate(program, list(args))
    return native_backend.compile_plan(build_plan(program))(*args), want


def _same(got: Any, want: Any) -> None:
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, want, strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype
        signs = (np.signbit(g) & ~np.isnan(g), np.signbit(w) & ~np.isnan(w))  # nan signs carry no meaning
        assert np.array_equal(g, w, equal_nan=True) and np.array_equal(*signs), (g, w)


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4), ()])
def test_empty_and_zero_d(shape: tuple[int, ...]) -> None:
    x = np.full(shape, -0.0)
    got, want = _run(lambda a: (a * 2.0 + 1.0, np.sum(a * a), np.mean(a + 1.0)), x)
    _same(got, want)


def test_signed_zeros_and_nan_in_max_min() -> None:
    x = np.array([0.0, -0.0] * 40 + [-0.0])
    y = np.array([-0.0, 0.0] * 40 + [0.0])
    z = np.array([1.0, np.nan, 3.0, -np.inf] * 30)
    for a in (x, y, z, x.reshape(9, 9), y.reshape(9, 9)):
        got, want = _run(lambda v: (np.max(v + 0.0), np.min(v * 1.0), np.max(v * 1.0, axis=0),
                                    np.min(v * 1.0, axis=-1)), a)
        _same(got, want)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0.0, -0.0, -1.5, 2.0, -np.inf, np.inf, np.nan]), min_size=1, max_size=300),
       st.integers(1, 3))
def test_max_min_of_an_argument_read_in_place_match_numpy(values: list[float], rows: int) -> None:
    """Reductions of an argument and nothing else read its blocks in place (no copy) and decide a
    block by its vectorized best unless it holds a NaN or its best is a zero (whose sign depends
    on the order): NaN propagation and signed zeros stay NumPy's, across block boundaries (64)."""
    a = np.array(values * rows).reshape(rows, -1)
    got, want = _run(lambda v: (np.max(v), np.min(v), np.max(v, axis=1), np.min(v, axis=-1)), a)
    _same(got, want)


@pytest.mark.parametrize("shape", [(3, 5, 130), (7, 64), (2, 1), (1, 200), (4, 3, 2)])
def test_strided_inputs_read_a_block_of_a_row_at_a_time(shape: tuple[int, ...]) -> None:
    """Broadcast rows and columns (last stride 0 or 1), transposed and stepped views (other strides)
    in elementwise kernels and reductions over the last axis: exactly NumPy's values (exact ops),
    with NaN and signed zeros, over rows longer and shorter than a block (64)."""
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    x = rng.standard_normal(shape)
    x.flat[::7] = -0.0
    x.flat[::11] = np.nan
    big = rng.standard_normal((*shape[:-1], 2 * shape[-1]))  # its [..., ::2] is a stepped view
    t = np.ascontiguousarray(np.swapaxes(x, -1, -2))  # its swapaxes is a transposed view of x's shape
    kernel = fuse(build_plan(trace_function(lambda a, b, c: a - a[..., :1] * b[..., ::2], [x, big, t])))
    assert any(inp.layout.value == "strided" for g in kernel.groups for inp in g.inputs)
    assert native_codegen.row_blocks(kernel.groups[0])

    def fn(a: Any, b: Any, c: Any) -> Any:
        col = a[..., :1]  # broadcast along the row: last stride 0
        row = a[..., :1, :] if a.ndim > 1 else a  # broadcast down the rows: last stride 1
        stepped = b[..., ::2]  # last stride 2
        turned = np.swapaxes(c, -1, -2)  # last stride: the row length of c
        e = a - col * stepped + np.maximum(turned, row)
        return e, np.sum(e * 2.0, axis=-1), np.max(a - col, axis=-1), np.min(stepped * turned, axis=-1)

    got, want = _run(fn, x, big, t)
    _same(got, want)


def test_sums_of_negative_zero_are_positive_as_numpy() -> None:
    x = np.full((5, 130), -0.0)
    got, want = _run(lambda v: (np.sum(v * 1.0), np.sum(v * 1.0, axis=0), np.sum(v * 1.0, axis=1)), x)
    _same(got, want)


def test_strided_broadcast_and_negative_strides() -> None:
    rng = np.random.default_rng(1)
    a, b, c = rng.normal(size=(6, 5)), rng.normal(size=(5, 6)), rng.normal(size=5)
    got, want = _run(lambda p, q, r: (np.exp(p.T) * q + r[::-1][:, None], np.sum(p[::-1, ::2] * 2.0, axis=0)), a, b, c)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-14)
    # arguments that are themselves views (negative strides, transposes) are read correctly
    got2 = native_backend.compile_plan(build_plan(trace_function(lambda p: np.tanh(p) + p, [a[::-1]])))(a[::-1])
    np.testing.assert_allclose(got2, np.tanh(a[::-1]) + a[::-1], rtol=1e-15)


def _sum_bound(x: np.ndarray) -> float:
    """|computed - exact| <= (BLOCK + log2(n / BLOCK) + 2) eps sum|x| for the blocked pairwise sum."""
    n = x.size
    levels = math.ceil(math.log2(max(n / native_backend_block(), 1))) + 2
    return (native_backend_block() + levels) * float(np.finfo(x.dtype).eps) * float(np.sum(np.abs(x.astype(np.float64))))


def native_backend_block() -> int:
    from egraph_dsl.backends.native_codegen import BLOCK

    return BLOCK


@pytest.mark.parametrize("n", [1, 7, 63, 64, 65, 1000, 4097, 100_003, 1_000_000])
def test_sum_error_is_within_the_pairwise_bound(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.normal(size=n) * np.exp(rng.normal(size=n) * 5)  # wide dynamic range, cancellation
    got, _ = _run(lambda v: (np.sum(v * 1.0), np.mean(v * 1.0)), x)
    exact = math.fsum(x.tolist())
    err = abs(float(got[0]) - exact)
    assert err <= _sum_bound(x)
    assert abs(float(got[1]) - exact / n) <= _sum_bound(x) / n + abs(exact / n) * 1e-16
    # no worse than NumPy's pairwise sum beyond the block term (on this data typically equal)
    assert err <= max(4 * abs(float(np.sum(x)) - exact), 64 * np.finfo(float).eps * float(np.sum(np.abs(x))))


def test_float32_sum_accuracy() -> None:
    rng = np.random.default_rng(3)
    x = (rng.random(1_000_000) + 0.5).astype(np.float32)  # all positive: the worst case of naive sums
    got, _ = _run(lambda v: np.sum(v * np.float32(1.0)), x)
    exact = math.fsum(x.astype(np.float64).tolist())
    assert abs(float(got[0] if isinstance(got, tuple) else got) - exact) <= _sum_bound(x)
    assert abs(float(np.sum(x)) - exact) <= _sum_bound(x)  # the same bound holds for NumPy's


def test_jit_native_matches_numpy_backend() -> None:
    import egraph_dsl as ed

    def loglik(x: Any, y: Any, w: Any) -> Any:
        p = 1 / (1 + np.exp(-(x @ w)))
        return np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))

    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2000, 8)), rng.normal(size=8) * 30
    y = (rng.random(2000) < 0.5).astype(float)
    jitted = ed.jit(loglik, backend="native")
    native = jitted(x, y, w)
    assert "native module egd_" in jitted.explain() and "kernel egd_loglik" in jitted.explain()
    assert any("PyInit_egd_" in src for src in jitted.lower(x, y, w).sources.values())
    ref = ed.jit(loglik, backend="numpy")(x, y, w)
    assert np.isfinite(native)
    np.testing.assert_allclose(native, ref, rtol=1e-13)


def test_without_compiler_warns_once_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native_build.COMPILER_ENV, "no-such-compiler-egd")
    program = trace_function(lambda a: np.exp(a) * 3.0 + 1.5, [np.ones(10)])
    ex = native_backend.compile_plan(build_plan(program))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = ex(np.arange(10.0))
        out2 = ex(np.arange(10.0))
    assert len(caught) == 1 and "falls back to NumPy" in str(caught[0].message)
    assert "\n" not in str(caught[0].message)
    np.testing.assert_array_equal(out, np.exp(np.arange(10.0)) * 3.0 + 1.5)
    np.testing.assert_array_equal(out2, out)


def test_wrong_arguments_give_clear_errors() -> None:
    program = trace_function(lambda a: np.exp(a) + 1.0, [np.ones(4)])
    ex = native_backend.compile_plan(build_plan(program))
    with pytest.raises(Exception, match="takes 1 arguments"):
        ex(np.ones(4), np.ones(4))
    schedule, module = native_backend.lower(build_plan(program), [np.ones(4)])
    kernel = getattr(native_build.build(module.name, module.source), schedule.groups[0].name)
    with pytest.raises(TypeError, match="format"):
        kernel(np.ones(4, dtype=np.float32), np.empty(4))
    with pytest.raises(ValueError, match="elements"):
        kernel(np.ones(5), np.empty(4))


def test_second_process_loads_from_the_disk_cache(native_cache: Path) -> None:
    script = ("import numpy as np\n"
              "from egraph_dsl.backends import native_backend\n"
              "from egraph_dsl.plan import build_plan\n"
              "from egraph_dsl.trace import trace_function\n"
              "p = build_plan(trace_function(lambda a: np.log1p(np.exp(a)) * 0.25, [np.ones(33)]))\n"
              "print(float(native_backend.compile_plan(p)(np.ones(33)).sum()))\n")
    env = {**os.environ, native_build.CACHE_ENV: str(native_cache / "xproc")}
    first = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    built = sorted(p.name for p in (native_cache / "xproc").iterdir())
    mtimes = [p.stat().st_mtime_ns for p in sorted((native_cache / "xproc").iterdir())]
    second = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert first.stdout == second.stdout
    assert sorted(p.name for p in (native_cache / "xproc").iterdir()) == built  # nothing rebuilt, no leftovers
    assert [p.stat().st_mtime_ns for p in sorted((native_cache / "xproc").iterdir())] == mtimes
    assert len(built) == 1 and built[0].endswith(".so")


def test_small_groups_can_run_through_numpy() -> None:
    fn = lambda a: (np.exp(a) * 2.0, np.sum(np.tanh(a)))
    x = np.linspace(-3, 3, 50)
    plan = build_plan(trace_function(fn, [x]))
    schedule, _ = native_backend.lower(plan, [x], min_elements=51)
    assert not schedule.groups and sorted(s for s in schedule.steps if isinstance(s, int)) == list(range(len(plan.instructions)))
    got = native_backend.compile_plan(plan, min_elements=51)(x)
    want = native_backend.compile_plan(plan)(x)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-14, atol=1e-13)  # the sum cancels to ~1e-15
    with pytest.raises(Exception, match="unknown option"):
        native_backend.compile_plan(plan, threads=2)


def _pooled_program(a: Any, W: Any, idx: Any) -> Any:
    """Large intermediates of every kind that keeps buffers (a gather, a matmul, kernel outputs)
    and results that are views of intermediates (a reshape and a transpose of kernel outputs)."""
    g = a[idx]  # gather along axis 0
    h = g @ W  # matmul
    e = np.exp(h) * 0.5  # kernel output, read by the reshape below and the sum
    t = np.tanh(h) + g  # kernel output returned through a transpose
    return np.sum(e), e.reshape(-1), t.T, np.sum(t * 3.0)


def test_kept_buffers_never_reach_a_result_and_calls_do_not_share_them() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(3)
    a, W = rng.normal(size=(500, 16)), rng.normal(size=(16, 16)) * 0.2
    idx = rng.integers(-500, 500, size=6000)
    plan = build_plan(trace_function(_pooled_program, [a, W, idx]))
    ex = native_backend.compile_plan(plan)
    want = evaluate(trace_function(_pooled_program, [a, W, idx]), [a, W, idx])
    first = ex(a, W, idx)
    assert "b = take_set()" in ex.python_source  # something is kept here
    assert "out=b[" in ex.python_source  # the gather and the matmul write into kept buffers
    saved = [np.array(r, copy=True) for r in first]
    for other in range(3):  # later calls with other data must not touch the first call's results
        ex(a * (other + 2.0), W, idx[::-1].copy())
    for got, before, ref in zip(first, saved, want, strict=True):
        np.testing.assert_array_equal(got, before)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
        assert got.flags.writeable and (got.base is None or got.base.size <= got.size)
    scales = [1.0 + k / 8 for k in range(16)]
    with ThreadPoolExecutor(4) as pool:  # concurrent calls of one executable: each gets its own set
        results = list(pool.map(lambda s: ex(a * s, W, idx), scales))
    for s, res in zip(scales, results, strict=True):
        ref = evaluate(trace_function(_pooled_program, [a, W, idx]), [a * s, W, idx])
        for got, r in zip(res, ref, strict=True):
            np.testing.assert_allclose(got, r, rtol=1e-12, atol=1e-12)


def test_without_kept_buffers_every_call_allocates() -> None:
    rng = np.random.default_rng(4)
    a, W, idx = rng.normal(size=(500, 16)), rng.normal(size=(16, 16)), rng.integers(0, 500, size=6000)
    plan = build_plan(trace_function(_pooled_program, [a, W, idx]))
    ex = native_backend.compile_plan(plan, keep_buffers=False)
    got = ex(a, W, idx)
    assert "take_set" not in ex.python_source and "out=b[" not in ex.python_source
    kept = native_backend.compile_plan(plan)(a, W, idx)
    for g, k in zip(got, kept, strict=True):
        np.testing.assert_array_equal(g, k)


def test_a_gather_into_a_kept_buffer_checks_its_indices() -> None:
    a, W = np.ones((500, 16)), np.eye(16)
    plan = build_plan(trace_function(_pooled_program, [a, W, np.zeros(6000, dtype=np.int64)]))
    ex = native_backend.compile_plan(plan)
    ex(a, W, np.zeros(6000, dtype=np.int64))
    bad = np.zeros(6000, dtype=np.int64)
    bad[4321] = 500
    with pytest.raises(IndexError, match="index 500 is out of bounds for axis 0 with size 500"):
        ex(a, W, bad)
    np.testing.assert_allclose(ex(a, W, np.zeros(6000, dtype=np.int64))[1], np.exp(np.ones(6000 * 16)) * 0.5, rtol=1e-15)


_LSE_ROWS = [[1.0, 2.0, 3.0, -4.0], [-np.inf] * 4, [np.inf, 1.0, 2.0, 0.0], [np.inf, -np.inf, 0.0, 1.0],
             [np.nan, 1.0, 2.0, 3.0], [1e308, 1e308, 0.0, -1.0], [-1e308] * 4, [-0.0, 0.0, -0.0, 0.0],
             [700.0, 700.0, -700.0, 1.0], [-745.0, -746.0, -800.0, -1000.0]]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("form", ["last-axis", "all", "keepdims", "first-axis", "reduced-input"])
def test_logsumexp_closes_a_fused_group_as_numpy_computes_it(dtype: str, form: str) -> None:
    fns = {"last-axis": lambda a: np.log(np.sum(np.exp(a * 0.5), axis=1)),
           "all": lambda a: np.log(np.sum(np.exp(a - 1.0))),
           "keepdims": lambda a: np.log(np.sum(np.exp(a * 0.5), axis=-1, keepdims=True)),
           "first-axis": lambda a: np.log(np.sum(np.exp(a * 0.5), axis=0)),  # not contiguous: NumPy runs it
           "reduced-input": lambda a: np.log(np.sum(np.exp(a), axis=1))}
    with np.errstate(over="ignore"):
        x = np.array(_LSE_ROWS).astype(dtype)
    program = trace_function(fns[form], [x])
    from egraph_dsl.facade.pipeline import optimize

    plan = build_plan(optimize(program).after)
    assert any(ins.op == "logsumexp" for ins in plan.instructions)  # the stability rule made one
    schedule, _ = native_backend.lower(plan, [x])
    fused = [g for g in schedule.groups if g.reduction is not None and g.reduction.op == "logsumexp"]
    assert bool(fused) == (form != "first-axis")
    got = native_backend.compile_plan(plan)(x)
    want = evaluate(optimize(program).after, [x])[0]  # the op table's NumPy implementation
    assert got.dtype == want.dtype == np.dtype(dtype)
    assert_matches("logsumexp", np.asarray(got), np.asarray(want), form, ulps=LIBMVEC_ULPS)


@pytest.mark.parametrize("n", [0, 1, 65, 70_000])  # empty, one, a partial block, past the row buffer
def test_logsumexp_kernel_on_run_lengths(n: int) -> None:
    from egraph_dsl.facade.pipeline import optimize

    x = np.random.default_rng(n).normal(size=(3, n)) * 30
    for fn in (lambda a: np.log(np.sum(np.exp(a * 0.5), axis=1)), lambda a: np.log(np.sum(np.exp(a), axis=1))):
        optimized = optimize(trace_function(fn, [x])).after
        plan = build_plan(optimized)
        got = native_backend.compile_plan(plan)(x)
        assert_matches("logsumexp", np.asarray(got), np.asarray(evaluate(optimized, [x])[0]), f"n={n}", ulps=LIBMVEC_ULPS)


def test_without_compiler_a_plan_of_gathers_runs_on_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native_build.COMPILER_ENV, "no-such-compiler-egd")
    a, idx = np.arange(80_000.0).reshape(10_000, 8), np.arange(-10_000, 10_000, 3)
    plan = build_plan(trace_function(lambda t, i: (t[i] @ np.eye(8)) @ np.eye(8), [a, idx]))
    assert not native_backend.lower(plan, [a, idx]).schedule.groups  # nothing to fuse: no module to build
    ex = native_backend.compile_plan(plan)
    np.testing.assert_array_equal(ex(a, idx), a[idx])
    lines = ex.python_source.splitlines()
    assert all("out=" not in line for line in lines if line.endswith("# take"))  # NumPy's take: fresh result
    assert any("out=b[" in line for line in lines if line.endswith("# matmul"))  # the inner matmul keeps its buffer
