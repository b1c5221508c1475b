"""Foundation benchmark: egraph-dsl against naive NumPy, hand-optimized NumPy and peers.

Cases (all float64, one BLAS thread):

1. the reactivity log-posterior of ``egraph_dsl/demo.py`` at N=500, K=8 and N=200,000, K=16:
   naive NumPy, hand-optimized NumPy, numexpr, JAX ``jax.jit``, PyTensor, egraph-dsl; plus each
   system's value at extreme logits (|z| up to 800) against a 50-digit reference;
2. ``A @ B @ C @ v`` with n=1500 (egraph-dsl should reassociate to ``A @ (B @ (C @ v))``);
3. ``np.trace(A @ B)`` with n=1500 (the hand version is ``np.sum(A * B.T)``).

Timings interleave the systems (round-robin: each repeat runs every system once, in a rotating
order) and report min and median per system and the speed-up vs naive NumPy. Large fresh
temporaries cause page faults here, so single timings can be bimodal: read min *and* median.
Nothing asserts on time. Run it as (so that OpenBLAS picks its own kernel and cache sizes)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_foundation.py [--quick]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy (and JAX / PyTensor) load their BLAS

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import peers  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

import egraph_dsl as ed  # noqa: E402
from egraph_dsl.facade.demo import log_posterior, log_posterior_reference, make_data  # noqa: E402

ed_jit = ed.jit

console = Console(width=140)
NAIVE = "naive NumPy"
EGRAPH = "egraph-dsl (auto)"


# ----------------------------------------------------------------------------------- timing
@dataclass
class System:
    name: str
    make: Callable[[], tuple[Callable[..., Any], dict[str, float]]]  # fresh build -> (run, compile timings)
    args: Callable[[tuple[Any, ...]], tuple[Any, ...]] = lambda a: a  # per-system argument conversion
    run: Callable[..., Any] | None = None
    call_args: tuple[Any, ...] = ()
    first_call_s: float = float("nan")  # build + first call
    build: dict[str, float] = field(default_factory=dict)
    value: float = float("nan")
    times: list[float] = field(default_factory=list)
    inner: int = 1
    error: str | None = None


def plain(fn: Callable[..., Any]) -> Callable[[], tuple[Callable[..., Any], dict[str, float]]]:
    return lambda: (fn, {})


def egraph(fn: Callable[..., Any], **options: Any) -> Callable[[], tuple[Callable[..., Any], dict[str, float]]]:
    return lambda: (ed_jit(fn, **options), {})


def prepare(systems: list[System], args: tuple[Any, ...]) -> None:
    """Build each system fresh and time its first call (trace / compile / optimize included)."""
    for s in systems:
        try:
            s.call_args = s.args(args)
            t0 = time.perf_counter()
            run, s.build = s.make()
            out = run(*s.call_args)
            s.first_call_s = time.perf_counter() - t0
            s.run = run
            s.value = float(np.asarray(out).sum())
        except Exception as exc:
            s.error = f"{type(exc).__name__}: {exc}"[:200]


def interleave(systems: list[System], repeats: int, batch_s: float) -> None:
    """Round-robin timing: each repeat runs every system once (``inner`` calls), rotating order."""
    live = [s for s in systems if s.run is not None]
    for s in live:  # calibrate calls per batch from one warm call
        t0 = time.perf_counter()
        s.run(*s.call_args)  # type: ignore[misc]
        one = time.perf_counter() - t0
        s.inner = max(1, min(10_000, int(batch_s / max(one, 1e-7))))
    for r in range(repeats):
        for i in range(len(live)):
            s = live[(i + r) % len(live)]
            run, a, inner = s.run, s.call_args, s.inner
            t0 = time.perf_counter()
            for _ in range(inner):
                run(*a)  # type: ignore[misc]
            s.times.append((time.perf_counter() - t0) / inner)


def fmt_t(t: float) -> str:
    if t != t:
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:,.1f} us"
    if t < 1:
        return f"{t * 1e3:,.2f} ms"
    return f"{t:,.3f} s"


def timing_table(title: str, systems: list[System], reference: float | None = None) -> Table:
    naive = next(s for s in systems if s.name == NAIVE)
    n_min, n_med = min(naive.times), statistics.median(naive.times)
    table = Table(title=title, title_justify="left")
    for col in ("system", "min", "median", "speed-up (min)", "speed-up (median)", "calls x repeats",
                "first call", "value", "rel. diff vs naive" if reference is None else "rel. err vs ref"):
        table.add_column(col, justify="left" if col == "system" else "right")
    ref = naive.value if reference is None else reference
    for s in systems:
        if s.error is not None:
            table.add_row(s.name, "[red]failed", "", "", "", "", "", "", s.error[:60])
            continue
        t_min, t_med = min(s.times), statistics.median(s.times)
        first = fmt_t(s.first_call_s)
        if "compile" in s.build:
            first += f" (compile {fmt_t(s.build['compile'])})"
        rel = abs(s.value - ref) / max(abs(ref), 1e-300)
        table.add_row(s.name, fmt_t(t_min), fmt_t(t_med), f"{n_min / t_min:.2f}x", f"{n_med / t_med:.2f}x",
                      f"{s.inner} x {len(s.times)}", first, f"{s.value:.12g}", f"{rel:.1e}")
    return table


@dataclass
class CaseResult:
    name: str
    systems: list[System]
    egraph_fn: Any = None
    egraph_args: tuple[Any, ...] = ()


RESULTS: list[CaseResult] = []


def run_case(name: str, systems: list[System], args: tuple[Any, ...], repeats: int, batch_s: float,
             reference: float | None = None) -> CaseResult:
    console.print(f"[dim]running {name} ...", highlight=False)
    prepare(systems, args)
    interleave(systems, repeats, batch_s)
    console.print(timing_table(name, systems, reference))
    eg = next((s for s in systems if s.name == EGRAPH and s.run is not None), None)
    result = CaseResult(name, systems, eg.run if eg else None, args)
    if eg is not None:
        timings = eg.run.lower(*args).timings  # type: ignore[union-attr]
        stages = ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in timings.items())
        console.print(f"  egraph-dsl first call {fmt_t(eg.first_call_s)}; stages: {stages} "
                      f"(sum {sum(timings.values()) * 1e3:.1f} ms)", highlight=False)
    RESULTS.append(result)
    return result


# ------------------------------------------------------------------------------------ cases
def log_posterior_systems() -> list[System]:
    systems = [System(NAIVE, plain(log_posterior)), System("hand NumPy", plain(peers.hand_log_posterior))]
    if (m := peers.numexpr_log_posterior()) is not None:
        systems.append(System("numexpr (hand expr)", m))
    if (m := peers.jax_system(peers.jnp_log_posterior, "log_posterior")) is not None:
        systems.append(System("JAX jit", m, peers.jax_device_args))
    if (m := peers.pytensor_system(peers.pt_log_posterior)) is not None:
        systems.append(System("PyTensor", m))
    systems.append(System(EGRAPH, egraph(log_posterior)))
    return systems


def case_log_posterior(quick: bool) -> None:
    b = 0.3
    for n, k, repeats, batch in ((500, 8, 7 if quick else 15, 0.02), (200_000, 16, 5 if quick else 11, 0.05)):
        X, y, w = make_data(n, k, seed=1)
        run_case(f"1. log_posterior, N={n:,} K={k}", log_posterior_systems(), (X, y, w, b), repeats, batch)
    extreme_logits()


def extreme_logits() -> None:
    """Each system's value where logits reach |z| = scale (demo.py's table)."""
    systems = log_posterior_systems()
    Xs, ys, ws = make_data(64, 4, seed=2)
    prepare(systems, (Xs, ys, ws, 0.0))
    table = Table(title="1c. log_posterior at extreme logits (N=64, K=4): value and rel. error vs 50-digit "
                  "reference", title_justify="left")
    table.add_column("system")
    scales = (1.0, 30.0, 200.0, 800.0)
    rows: dict[str, list[str]] = {s.name: [] for s in systems}
    refs = []
    with np.errstate(all="ignore"):
        for scale in scales:
            table.add_column(f"max |z| = {scale:g}", justify="right")
            w_s = ws / np.max(np.abs(Xs @ ws)) * scale
            args = (Xs, ys, w_s, 0.0)
            ref = log_posterior_reference(*args)
            refs.append(f"{ref:.10g}")
            for s in systems:
                if s.run is None:
                    rows[s.name].append(f"[red]{s.error}")
                    continue
                value = float(np.asarray(s.run(*s.args(args))).sum())
                if not np.isfinite(value):
                    rows[s.name].append(f"[red]{value}")
                else:
                    rel = abs(value - ref) / abs(ref)
                    style = "green" if rel < 1e-9 else "yellow"
                    rows[s.name].append(f"[{style}]{value:.10g} ({rel:.0e})")
    table.add_row("reference (mpmath)", *refs)
    for name, cells in rows.items():
        table.add_row(name, *cells)
    console.print(table)


def chain_naive(A: Any, B: Any, C: Any, v: Any) -> Any:
    return A @ B @ C @ v


def trace_naive(A: Any, B: Any) -> Any:
    return np.trace(A @ B)


def case_matrices(quick: bool) -> None:
    n = 1500
    rng = np.random.default_rng(0)
    A, B, C = (rng.normal(size=(n, n)) for _ in range(3))
    v = rng.normal(size=n)
    repeats = 3 if quick else 5
    systems = [System(NAIVE, plain(chain_naive)), System("hand A@(B@(C@v))", plain(peers.hand_chain))]
    if (m := peers.jax_system(peers.jnp_chain, "chain")) is not None:
        systems.append(System("JAX jit", m, peers.jax_device_args))
    if (m := peers.pytensor_system(peers.pt_chain)) is not None:
        systems.append(System("PyTensor", m))
    systems.append(System(EGRAPH, egraph(chain_naive)))
    run_case(f"2. A @ B @ C @ v, n={n}", systems, (A, B, C, v), repeats, 0.02)

    systems = [System(NAIVE, plain(trace_naive)), System("hand sum(A*B.T)", plain(peers.hand_trace)),
               System("hand einsum ij,ji", plain(peers.hand_trace_einsum))]
    if (m := peers.jax_system(peers.jnp_trace, "trace")) is not None:
        systems.append(System("JAX jit", m, peers.jax_device_args))
    if (m := peers.pytensor_system(peers.pt_trace)) is not None:
        systems.append(System("PyTensor", m))
    systems.append(System(EGRAPH, egraph(trace_naive)))
    run_case(f"3. trace(A @ B), n={n}", systems, (A, B), repeats, 0.02)


# ---------------------------------------------------------------------------------- reports
def environment() -> None:
    import platform

    console.rule("[bold]egraph-dsl foundation benchmark")
    console.print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
                  f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
                  f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}", highlight=False)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            console.print(f"[yellow]warning: {var} is set; run with `env -u OPENBLAS_CORETYPE -u "
                          f"OPENBLAS_L2_SIZE python benchmarks/run_all.py`")
    versions = []
    from importlib.metadata import PackageNotFoundError, version

    for mod in ("egglog", "numexpr", "jax", "jaxlib", "pytensor", "numba"):
        try:
            versions.append(f"{mod} {version(mod)}")
        except PackageNotFoundError:
            versions.append(f"{mod} missing")
    console.print(", ".join(versions), highlight=False)
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            console.print(f"threadpool: {info.get('internal_api')} {info.get('version')} "
                          f"threads={info.get('num_threads')} arch={info.get('architecture')} "
                          f"({Path(info.get('filepath', '')).name})", highlight=False)
    except ImportError:
        console.print("threadpoolctl not installed: no BLAS thread info")


def summary() -> None:
    table = Table(title="summary: speed-up vs naive NumPy (min / median); egraph-dsl vs the best hand version",
                  title_justify="left")
    table.add_column("case")
    names: list[str] = []
    for r in RESULTS:
        for s in r.systems:
            if s.name not in names and s.name != NAIVE:
                names.append(s.name)
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("egraph-dsl / best hand (min)", justify="right")
    for r in RESULTS:
        naive = next(s for s in r.systems if s.name == NAIVE)
        n_min, n_med = min(naive.times), statistics.median(naive.times)
        by = {s.name: s for s in r.systems if s.times}
        cells = [f"{n_min / min(by[x].times):.2f} / {n_med / statistics.median(by[x].times):.2f}"
                 if x in by else "" for x in names]
        hands = [s for s in r.systems if s.name.startswith("hand") and s.times]
        eg = by.get(EGRAPH)
        vs = ""
        if eg and hands:
            best = min(hands, key=lambda s: min(s.times))
            vs = f"{min(eg.times) / min(best.times):.2f}x ({best.name})"
        table.add_row(r.name, *cells, vs)
    console.print(table)
    console.print("ratio > 1 in the last column: egraph-dsl takes that many times the hand version's time.\n"
                  "first call = build + first evaluation: egraph-dsl traces, saturates, extracts and plans; JAX "
                  "traces and compiles with XLA; PyTensor's (compile) is pytensor.function (graph rewrites), and "
                  "its Numba backend JIT-compiles on the first evaluation (Numba's cache makes reruns faster).")
    if peers.UNAVAILABLE:
        for name, why in peers.UNAVAILABLE.items():
            console.print(f"[yellow]{name} unavailable: {why}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--explain", action="store_true", help="print f.explain() and the plan per case")
    args = parser.parse_args()
    start = time.perf_counter()
    environment()
    case_log_posterior(args.quick)
    case_matrices(args.quick)
    summary()
    if args.explain:
        for r in RESULTS:
            if r.egraph_fn is not None:
                console.rule(f"egraph-dsl: {r.name}")
                console.print(r.egraph_fn.explain(*r.egraph_args), highlight=False, markup=False)
                console.print(str(r.egraph_fn.lower(*r.egraph_args).plan), highlight=False, markup=False)
    console.print(f"[dim]bench_foundation total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
