"""Peer systems for the foundation benchmark: NumPy by hand, numexpr, JAX (CPU) and PyTensor.

Each builder returns ``None`` (with a reason in :data:`UNAVAILABLE`) when its package is missing
or fails, so the benchmark runs with whatever is installed. Import this module only after the
thread-count environment variables are set (``bench_foundation`` does that first).

Every builder returns ``(make, note)``: ``make()`` builds the system from scratch (a fresh
``jax.jit`` object, a fresh PyTensor compile) and returns ``(run, timings)``, where ``run(*args)``
evaluates it and ``timings`` holds compile times measured inside ``make`` (PyTensor's compile).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

PRIOR_SCALE = 5.0
UNAVAILABLE: dict[str, str] = {}

Make = Callable[[], tuple[Callable[..., Any], dict[str, float]]]


# ---------------------------------------------------------------- hand-written NumPy and numexpr
def hand_log_posterior(X: Any, y: Any, w: Any, b: Any) -> Any:
    z = X @ w + b
    return np.sum(y * z - np.logaddexp(0, z)) - 0.5 * (w @ w + b * b) / PRIOR_SCALE**2


def hand_chain(A: Any, B: Any, C: Any, v: Any) -> Any:
    return A @ (B @ (C @ v))


def hand_trace(A: Any, B: Any) -> Any:
    return np.sum(A * B.T)


def hand_trace_einsum(A: Any, B: Any) -> Any:
    return np.einsum("ij,ji->", A, B)


def numexpr_log_posterior() -> Make | None:
    try:
        import numexpr as ne
    except Exception as exc:
        UNAVAILABLE["numexpr"] = f"import failed: {exc}"
        return None
    ne.set_num_threads(1)
    # the elementwise part, written stably by hand: softplus(z) = max(z, 0) + log1p(exp(-|z|))
    expr = "sum(y * z - (where(z > 0, z, 0) + log1p(exp(-abs(z)))))"

    def make() -> tuple[Callable[..., Any], dict[str, float]]:
        def run(X: Any, y: Any, w: Any, b: Any) -> Any:
            z = X @ w + b
            return float(ne.evaluate(expr, local_dict={"y": y, "z": z})) - 0.5 * (w @ w + b * b) / PRIOR_SCALE**2
        return run, {}
    return make


# ------------------------------------------------------------------------------------ JAX
_JAX: Any = None


def _jax() -> Any:
    global _JAX
    if _JAX is None:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        # one intra-op thread, like the single-threaded BLAS the NumPy side uses
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1").strip()
        import jax

        jax.config.update("jax_enable_x64", True)
        _JAX = jax
    return _JAX


def jax_system(fn_of_jnp: Callable[[Any], Callable[..., Any]], name: str) -> Make | None:
    """``fn_of_jnp(jnp)`` returns the function written with ``jnp``; it is ``jax.jit``-ed fresh."""
    try:
        jax = _jax()
        import jax.numpy as jnp
    except Exception as exc:
        UNAVAILABLE["jax"] = f"import failed: {exc}"
        return None
    fn = fn_of_jnp(jnp)

    def make() -> tuple[Callable[..., Any], dict[str, float]]:
        jitted = jax.jit(fn)

        def run(*args: Any) -> Any:
            return jitted(*args).block_until_ready()
        return run, {}
    return make


def jax_device_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Arguments placed on the JAX CPU device once, so timings exclude the host-to-device copy."""
    jax = _jax()
    return tuple(jax.device_put(a) if isinstance(a, np.ndarray) else a for a in args)


def jnp_log_posterior(jnp: Any) -> Callable[..., Any]:
    def log_posterior(X: Any, y: Any, w: Any, b: Any) -> Any:
        p = 1 / (1 + jnp.exp(-(X @ w + b)))
        loglik = jnp.sum(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))
        logprior = -0.5 * (jnp.sum(w * w) + b * b) / PRIOR_SCALE**2
        return loglik + logprior
    return log_posterior


def jnp_chain(jnp: Any) -> Callable[..., Any]:
    return lambda A, B, C, v: A @ B @ C @ v


def jnp_trace(jnp: Any) -> Callable[..., Any]:
    return lambda A, B: jnp.trace(A @ B)


# ------------------------------------------------------------------------------- PyTensor
_PT: Any = None


def _pytensor() -> Any:
    global _PT
    if _PT is None:
        import pytensor
        import pytensor.tensor as pt

        _PT = (pytensor, pt)
    return _PT


def pytensor_system(build: Callable[[Any], tuple[list[Any], Any]]) -> Make | None:
    """``build(pt)`` returns (symbolic inputs, symbolic output); ``make`` compiles it (timed)."""
    try:
        pytensor, pt = _pytensor()
    except Exception as exc:
        UNAVAILABLE["pytensor"] = f"import failed: {exc}"
        return None

    def make() -> tuple[Callable[..., Any], dict[str, float]]:
        inputs, output = build(pt)
        t0 = time.perf_counter()
        fn = pytensor.function(inputs, output)
        compile_s = time.perf_counter() - t0
        fn.trust_input = False
        return fn, {"compile": compile_s}
    return make


def pt_log_posterior(pt: Any) -> tuple[list[Any], Any]:
    X, y, w, b = pt.dmatrix("X"), pt.dvector("y"), pt.dvector("w"), pt.dscalar("b")
    p = 1 / (1 + pt.exp(-(X @ w + b)))
    loglik = pt.sum(y * pt.log(p) + (1 - y) * pt.log(1 - p))
    logprior = -0.5 * (pt.sum(w * w) + b * b) / PRIOR_SCALE**2
    return [X, y, w, b], loglik + logprior


def pt_chain(pt: Any) -> tuple[list[Any], Any]:
    A, B, C, v = pt.dmatrix("A"), pt.dmatrix("B"), pt.dmatrix("C"), pt.dvector("v")
    return [A, B, C, v], A @ B @ C @ v


def pt_trace(pt: Any) -> tuple[list[Any], Any]:
    A, B = pt.dmatrix("A"), pt.dmatrix("B")
    trace = getattr(pt, "trace", None) or pt.linalg.trace  # pt.linalg.trace is deprecated in 3.x
    return [A, B], trace(A @ B)


def pytensor_graph(make: Make) -> str:
    """The optimized PyTensor graph of a compiled function (for the notes)."""
    import io

    pytensor, _ = _pytensor()
    fn, _ = make()
    buf = io.StringIO()
    pytensor.printing.debugprint(fn, file=buf)
    return buf.getvalue()
