"""jit end to end: differential tests against plain NumPy, caching, signatures, and the targets' rewrites."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import egraph_dsl as ed
from egraph_dsl.errors import BackendError, BackendUnavailableError, RulesetError, SignatureError

UNARY: dict[str, Callable[[Any], Any]] = {
    "neg": lambda a: -a, "exp": lambda a: np.exp(np.tanh(a)), "tanh": np.tanh, "abs": np.abs,
    "square": np.square, "log1p_abs": lambda a: np.log1p(np.abs(a)), "sigmoid": ed.sigmoid,
    "softplus": ed.softplus, "sqrt_abs": lambda a: np.sqrt(np.abs(a)),
}
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "max": np.maximum, "min": np.minimum, "logaddexp": np.logaddexp,
    "div": lambda a, b: a / (1.0 + b * b), "where": lambda a, b: np.where(a > b, a, b * 2.0),
    "one_minus": lambda a, b: (1 - a) * b, "dot": lambda a, b: a * np.sum(a * b, axis=1, keepdims=True),
}


@st.composite
def programs(draw: Any) -> Callable[..., Any]:
    """A random well-typed function of x, y (shape 4x3), built from NumPy calls."""
    leaves: list[Callable[..., Any]] = [lambda x, y: x, lambda x, y: y, lambda x, y: x * 0.5 + 1.0]
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            f = draw(st.sampled_from(sorted(UNARY)))
            a = draw(st.sampled_from(leaves))
            leaves.append(lambda x, y, f=f, a=a: UNARY[f](a(x, y)))
        else:
            f = draw(st.sampled_from(sorted(BINARY)))
            a, b = draw(st.sampled_from(leaves)), draw(st.sampled_from(leaves))
            leaves.append(lambda x, y, f=f, a=a, b=b: BINARY[f](a(x, y), b(x, y)))
    body = leaves[-1]
    reduce = draw(st.sampled_from(["none", "sum", "sum0", "mean1", "max", "lse"]))
    reducers = {"none": lambda v: v, "sum": np.sum, "sum0": lambda v: np.sum(v, axis=0),
                "mean1": lambda v: np.mean(v, axis=1), "max": np.max,
                "lse": lambda v: np.log(np.sum(np.exp(np.tanh(v)), axis=1))}
    return lambda x, y: reducers[reduce](body(x, y))


@given(programs(), st.integers(0, 2**31))
def test_random_programs_match_numpy(fn: Callable[..., Any], seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)) * 3
    expected = fn(x, y)
    f = ed.jit(fn, limits={"nodes": 3000, "seconds": 2})
    got = f(x, y)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=f.explain())
    assert np.shape(got) == np.shape(expected)


def test_cache_per_signature_and_inconsistent_arguments() -> None:
    f = ed.jit(lambda a, b: np.sum(a * b))
    f(np.ones(3), np.ones(3))
    f(np.ones(3), np.ones(3))
    f(np.ones(4, np.float32), np.ones(4, np.float32))
    assert len(f.signatures) == 2
    with pytest.raises(SignatureError, match="traced with 2 arguments"):
        f(np.ones(3))
    with pytest.raises(SignatureError, match="keyword"):
        f(np.ones(3), b=np.ones(3))
    with pytest.raises(SignatureError, match="pass arrays or numbers"):
        f("x", np.ones(3))


def test_unknown_names_fail_early() -> None:
    with pytest.raises(BackendError, match="unknown backend 'tpu'"):
        ed.jit(lambda x: x, backend="tpu")
    with pytest.raises(RulesetError, match="unknown ruleset 'fastest'"):
        ed.jit(lambda x: x + 1, rulesets=["fastest"])(np.ones(2))
    with pytest.raises(ed.errors.LimitsError):
        ed.jit(lambda x: x, limits={"nodes": -5})


def test_cupy_backend_without_gpu_is_a_clear_error() -> None:
    cupy = pytest.importorskip("cupy")
    if cupy.is_available():
        pytest.skip("a GPU is present")
    f = ed.jit(lambda x: np.exp(x) + 1, backend="cupy")
    with pytest.raises(BackendUnavailableError):
        f(np.ones(3))


def _matmuls(program: ed.Program) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return [(t.args[0].shape, t.args[1].shape) for t in program.terms() if t.op == "matmul"]


def test_matrix_chain_is_reassociated() -> None:
    n = 60
    rng = np.random.default_rng(0)
    A, B, C = (rng.normal(size=(n, n)) for _ in range(3))
    v = rng.normal(size=n)
    # reassociation can overflow where NumPy's order does not: opt-in, in fast-math
    f = ed.jit(lambda A, B, C, v: A @ B @ C @ v, rulesets=["algebra", "stability", "linalg", "fast-math"])
    np.testing.assert_allclose(f(A, B, C, v), A @ B @ C @ v, rtol=1e-9)
    assert all(len(b) == 1 for _, b in _matmuls(f.program(A, B, C, v)))  # only matrix-vector products
    default = ed.jit(lambda A, B, C, v: A @ B @ C @ v)
    np.testing.assert_array_equal(default(A, B, C, v), A @ B @ C @ v)


def test_trace_of_product_becomes_a_sum() -> None:
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(30, 30)), rng.normal(size=(30, 30))  # the rule needs square factors
    f = ed.jit(lambda A, B: np.trace(A @ B), rulesets=["linalg", "fast-math"])  # BLAS's fused multiply-add
    np.testing.assert_allclose(f(A, B), np.trace(A @ B), rtol=1e-12)
    assert not _matmuls(f.program(A, B))


def test_extreme_logits_stay_finite() -> None:
    from egraph_dsl.facade.demo import log_posterior, log_posterior_reference

    X = np.array([[1.0], [-1.0], [2.0]])
    y, w = np.array([0.0, 1.0, 1.0]), np.array([800.0])
    # y @ z - sum(softplus(z)) needs log-sigmoid-alt (x - softplus(x) cancels per element): fast-math
    f = ed.jit(log_posterior, rulesets=["algebra", "stability", "linalg", "fast-math"])
    got = float(f(X, y, w, 0.0))
    with np.errstate(all="ignore"):
        assert not np.isfinite(log_posterior(X, y, w, 0.0))
    assert np.isfinite(got)
    assert abs(got - log_posterior_reference(X, y, w, 0.0)) <= 1e-12 * abs(got)
    # the default rulesets fix the positive extreme (log(1 - sigmoid(800)) becomes 0 - softplus(800)) ...
    X, y = np.array([[1.0], [2.0]]), np.array([0.0, 0.0])
    got = float(ed.jit(log_posterior)(X, y, w, 0.0))
    assert abs(got - log_posterior_reference(X, y, w, 0.0)) <= 1e-12 * abs(got)
    # (z = -800 with y = 1 keeps log(sigmoid(z)), -inf as in NumPy: the cost model prices it below the
    # stable 0 - softplus(-z); see README, "Floating-point policy")


def test_explain_lists_programs_rules_costs_and_stages() -> None:
    f = ed.jit(lambda x: np.log(1 + np.exp(x)))
    assert "not called yet" in f.explain()
    f(np.ones(3))
    text = f.explain()
    for part in ("before", "after", "softplus", "softplus-def", "cost", "time per stage", "saturate"):
        assert part in text


def test_buffer_reuse_with_repeated_operands() -> None:
    """Regression: add(v, v) must free v's buffer once, or a live value gets overwritten."""
    fn = lambda x, y: (x * 0.5 + 1.0) + (x * 0.5 + 1.0) + (x + x)
    x = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(ed.jit(fn, rulesets=[])(x, x), fn(x, x))


def test_lower_needs_no_device() -> None:
    """f.lower(*specs) gives the compiled form without running it (and without a GPU for CuPy)."""
    pytest.importorskip("cupy")
    fn = lambda x, w: np.sum(np.log(1 + np.exp(x @ w)))
    specs = (ed.ArraySpec((64, 8)), ed.ArraySpec((8,)))
    lowered = ed.jit(fn, backend="cupy").lower(*specs)
    sources = lowered.sources
    assert sources and all("__global__" in src for src in sources.values())
    reports = lowered.compile_offline(arch="sm_90")
    assert reports  # one report per kernel, each compiled by NVRTC
    numpy_lowered = ed.jit(fn).lower(*specs)
    (src,) = numpy_lowered.sources.values()
    assert "def run(" in src and "softplus" in src
    with pytest.raises(ed.errors.BackendError, match="no GPU kernels"):
        numpy_lowered.compile_offline()


def test_a_failed_first_call_does_not_fix_the_arity() -> None:
    f = ed.jit(lambda a, b: a + b)
    with pytest.raises(TypeError):
        f(np.ones(2))  # Python's own error: b is missing
    np.testing.assert_array_equal(f(np.ones(2), np.ones(2)), np.full(2, 2.0))
    with pytest.raises(SignatureError, match="traced with 2 arguments"):
        f(np.ones(2))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("kind", ["matrix", "masked"])
def test_ndarray_subclasses_are_refused_with_a_clear_error(kind: str) -> None:
    value = np.matrix([[1.0, 2.0], [3.0, 4.0]]) if kind == "matrix" else np.ma.masked_array([1.0, 2.0], mask=[0, 1])
    f = ed.jit(lambda x: x * x)
    with pytest.raises(SignatureError, match=r"ndarray subclass.*np\.asarray"):
        f(value)
    np.testing.assert_array_equal(f(np.asarray(value)), np.asarray(value) * np.asarray(value))
    with pytest.raises(SignatureError, match="ndarray subclass"):
        f(value)  # also once a plain-array specialization of the same shape exists


# issue 10: default rulesets keep NumPy's nan, infinities and signed zeros (pinned regressions)


def test_x_minus_x_keeps_nan_and_inf() -> None:
    x = np.array([np.nan, np.inf, -np.inf, 2.0])
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(ed.jit(lambda x: x - x)(x), x - x)


def test_log_of_one_plus_minus_zero_keeps_the_sign() -> None:
    x = np.array([-0.0, 0.0, 1e-20])
    with np.errstate(divide="ignore"):
        got = ed.jit(lambda x: 1.0 / np.log(x + 1.0))(x)
    np.testing.assert_array_equal(got, [np.inf, np.inf, 1e20])  # +inf at -0.0 as NumPy; log1p where it loses digits


def test_log_sigmoid_at_huge_arguments() -> None:
    f = ed.jit(lambda x: np.log(ed.sigmoid(x * 10.0)))
    with np.errstate(over="ignore"):
        assert f(np.array([1e308]))[0] == 0.0  # NumPy: log(sigmoid(inf)) = log(1) = 0.0, never nan
        x = np.arange(5.0, 36.0)
        got, numpy_ = f(x), np.log(1 / (1 + np.exp(-10 * x)))
    exact = -np.log1p(np.exp(-10 * x))  # log(sigmoid(t)) = -log1p(exp(-t)), accurate to an ulp here
    assert np.all(np.abs(got - exact) <= np.abs(numpy_ - exact))  # never less accurate than NumPy
    np.testing.assert_allclose(got, exact, rtol=4e-16)  # log-sigmoid replaces log(sigmoid(.)): accurate


def test_fast_math_is_opt_in() -> None:
    x = np.array([np.nan, np.inf])
    f = ed.jit(lambda x: x - x, rulesets=["algebra", "fast-math"])
    np.testing.assert_array_equal(f(x), [0.0, 0.0])  # what the user asked for


def test_unsound_user_rule_fails_at_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    from egraph_dsl.proofs import first_use

    monkeypatch.setattr(first_use, "_passed", set())
    reg = ed.Registry()
    reg.register(ed.RuleSet("bad", [ed.rewrite("?x - ?x", "1", name="sub-self-one", claim="real")]))
    with pytest.raises(ed.errors.UnsoundRuleError, match=r"sub-self-one.*counterexample"):
        ed.jit(lambda x: x - x, rulesets=["bad"], registry=reg)(np.ones(2))
    reg.register(ed.RuleSet("bad", [ed.rewrite("?x - ?x", "1", name="sub-self-one", claim="real")]),
                 replace=True, check_rules=False)
    np.testing.assert_array_equal(ed.jit(lambda x: x - x, rulesets=["bad"], registry=reg)(np.ones(2)), [1.0, 1.0])


def _never_traced(x):  # type: ignore[no-untyped-def]
    raise AssertionError("options must be checked before tracing")


@pytest.mark.parametrize(("options", "message"), [
    ({"cost_model": "fastest"}, "unknown cost model 'fastest'; use one of cpu, ops, flops, gpu"),
    ({"cost_model": object()}, "neither a name"),
    ({"extractor": "best"}, "unknown extractor 'best'; use one of greedy, greedy-dag, greedy-tree, ilp"),
])
def test_bad_cost_model_or_extractor_fails_at_jit(options: dict[str, Any], message: str) -> None:
    """They were caught only after tracing and saturation, at the first call."""
    with pytest.raises(ed.errors.OptionError, match=message):
        ed.jit(_never_traced, **options)
    with pytest.raises(ed.errors.OptionError, match=message):
        ed.jit(**options)(_never_traced)


def test_jit_accepts_numpy_integers_as_limits() -> None:
    f = ed.jit(lambda x: x * 1.0, limits={"nodes": np.int64(500), "iterations": 5.0})
    assert (f.limits.nodes, f.limits.iterations) == (500, 5)
    np.testing.assert_array_equal(f(np.arange(3.0)), np.arange(3.0))


def test_first_call_keeps_the_time_limit() -> None:
    """With limits={"nodes": 10**6, "seconds": 2} serialize and extract made the first call 21 s."""
    import time

    def chain(*xs):  # type: ignore[no-untyped-def]
        total = xs[0] * xs[1]
        for x in xs[2:]:
            total = total + x * xs[0]
        return total

    args = [np.full(4, i + 1.0) for i in range(16)]
    f = ed.jit(chain, rulesets=["reassociate"], limits={"nodes": 10**6, "iterations": 10**4, "seconds": 1.0})
    start = time.perf_counter()
    np.testing.assert_allclose(f(*args), chain(*args))
    assert time.perf_counter() - start < 1.0 + 3.0  # tracing and planning included; slack for loaded machines
    assert "== stopped: time limit in" in f.explain()
