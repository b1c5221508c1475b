"""``jit``: trace on first call, optimize, compile once per argument shape/dtype signature."""

from __future__ import annotations

import functools
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np

from ..captures import Watch, capture_key, watches
from ..engine.limits import Limits
from ..errors import BackendError, SignatureError
from ..fold import fold_array_constants
from ..plan import Plan, build_plan
from ..program import Program
from ..registry import Registry, RulesetSpec
from ..trace import INT32_MAX, INT32_MIN, ArraySpec, parameter_names, subclass_message, trace_function
from .pipeline import CostModelSpec, Optimized, Optimizer, check_accuracy

AUTO = "auto"  # backend: native for large arrays when a C++ compiler is there, else numpy
# elements of the largest value from which 'auto' takes the native backend. Measured here (value
# and gradient of the reactivity model): at 8,000 elements (N = 1,000 pairs) native 245 us, NumPy
# 650 us, hand-written NumPy 290 us; at 4·10^4 native 0.6-0.9 ms, NumPy 1.9-2.2 ms. A kernel build
# (~0.3-0.6 s, then cached on disk: ~5 ms to load) pays for itself after about a thousand calls
# there; below a few thousand elements plans run in tens of microseconds on NumPy anyway.
AUTO_NATIVE_ELEMENTS = 1 << 12
# the same for gradients (grad, value_and_grad): optimizers and samplers call them thousands of
# times, so the build pays for itself sooner. Measured (the demo's NUTS model, 4,000 elements):
# native 190-223 us, NumPy 490-550 us, hand-written NumPy 212-256 us per value and gradient.
AUTO_NATIVE_ELEMENTS_GRAD = 1 << 10


def signature_of(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The cache key of a call: shape and dtype per array, type per Python scalar."""
    return tuple([(a.shape, a.dtype) if type(a) is np.ndarray else _key(a, i) for i, a in enumerate(args)])


def _key(a: Any, i: int) -> Any:
    if isinstance(a, np.ndarray):  # a subclass: tracing refuses it with a clear message
        raise SignatureError(subclass_message(a, f"arg{i}"))
    if isinstance(a, np.generic):  # before float: np.float64 is a float subclass, but strong
        return ("scalar", type(a))
    if isinstance(a, bool):
        return ("bool",)
    if isinstance(a, int):
        return ("int",) if INT32_MIN <= a <= INT32_MAX else ("wide int",)  # NumPy's checks depend on it
    if isinstance(a, float):
        return ("float",)
    if isinstance(a, ArraySpec):
        return (a.shape, a.dtype)
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return (tuple(a.shape), np.dtype(a.dtype))
    raise SignatureError(f"argument {i} is a {type(a).__name__}; pass arrays or numbers")


# the NumPy scalar type a Python scalar argument is traced as (trace.abstract gives it that dtype)
_SCALAR_TYPES: dict[tuple[str], type] = {("float",): np.float64, ("int",): np.int64, ("wide int",): np.int64,
                                          ("bool",): np.bool_}


def scalars_as_numpy(key: tuple[Any, ...], args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``args`` with each Python scalar as the NumPy scalar it was traced as (see make_guard)."""
    return tuple(_SCALAR_TYPES[k](a) if k in _SCALAR_TYPES else a for k, a in zip(key, args, strict=True))


def make_guard(key: tuple[Any, ...], run: Callable[..., Any], fallback: Callable[..., Any],
               watched: tuple[tuple[Callable[[], Any], Any], ...] = ()) -> Callable[..., Any]:
    """A generated function that calls ``run`` when its arguments have signature ``key`` and
    every watched binding (``(read, value)``, see :mod:`egraph_dsl.captures`) still holds the
    value it was traced with (``read() is value``).

    The common case (same shapes and dtypes as last time) then costs a few identity and tuple
    comparisons instead of building and hashing a signature; anything else takes ``fallback``.
    Python scalar arguments reach ``run`` as NumPy scalars of the dtype they were traced as
    (``float`` as ``np.float64``...), so every op sees a value with a dtype, as it does for arrays.
    """
    namespace: dict[str, Any] = {"run": run, "fallback": fallback, "ndarray": np.ndarray}
    params = ", ".join(f"a{i}" for i in range(len(key)))
    passed = []
    for i, k in enumerate(key):
        if k in _SCALAR_TYPES:
            namespace[f"c{i}"] = _SCALAR_TYPES[k]
            passed.append(f"c{i}(a{i})")
        else:
            passed.append(f"a{i}")
    checks = []
    for i, k in enumerate(key):
        if k in (("float",), ("int",), ("bool",)):
            checks.append(f"type(a{i}) is {k[0]}" + (f" and {INT32_MIN} <= a{i} <= {INT32_MAX}" if k == ("int",) else ""))
        elif k == ("wide int",):
            checks.append(f"type(a{i}) is int and not {INT32_MIN} <= a{i} <= {INT32_MAX}")
        elif k[0] == "scalar":
            namespace[f"t{i}"] = k[1]
            checks.append(f"type(a{i}) is t{i}")
        else:
            namespace[f"s{i}"], namespace[f"d{i}"] = k
            checks.append(f"type(a{i}) is ndarray and a{i}.dtype is d{i} and a{i}.shape == s{i}")
    for k, (read, value) in enumerate(watched):
        namespace[f"r{k}"], namespace[f"o{k}"] = read, value
        checks.append(f"r{k}() is o{k}")
    source = (f"def guard({params}):\n    if {' and '.join(checks) or 'True'}:\n        return run({', '.join(passed)})\n"
              f"    return fallback({params})\n")
    exec(compile(source, "<jit guard>", "exec"), namespace)
    guard: Callable[..., Any] = namespace["guard"]
    return guard


@dataclass
class Compiled:
    """One specialization: the optimization record, the plan, and (built on first call) the
    backend executable. Lowering needs no device: ``sources`` and ``compile_offline`` work
    without a GPU for the CuPy backend."""

    optimized: Optimized
    plan: Plan
    timings: dict[str, float]
    backend: str = "numpy"
    backend_options: dict[str, Any] = field(default_factory=dict)
    arguments: tuple[Any, ...] = ()
    captured: tuple[Any, ...] = ()  # the watched values it was traced with (kept alive: ids stay unique)
    _executable: Callable[..., Any] | None = None

    @property
    def executable(self) -> Callable[..., Any]:
        if self._executable is None:
            from egraph_dsl.backends import get_backend

            built = get_backend(self.backend).compile_plan(self.plan, **self.backend_options)
            # call the backend's fastest entry point directly when it offers one (arity is checked by jit)
            self._executable = getattr(built, "_run", built)
        return self._executable

    def lowered(self) -> Any:
        """The backend's compiled form: for CuPy the generated kernels, for NumPy the generated code."""
        from egraph_dsl.backends import KernelBackend, get_backend

        backend = get_backend(self.backend)
        if backend.GENERATES_KERNELS:
            return cast(KernelBackend, backend).lower(self.plan, self.arguments or None)
        return backend.compile_plan(self.plan, **self.backend_options)

    @property
    def sources(self) -> dict[str, str]:
        """Generated source of every kernel (CuPy) or of the plan function (NumPy)."""
        low = self.lowered()
        return dict(low.sources) if hasattr(low, "sources") else {self.plan.name: str(low.source)}

    def compile_offline(self, arch: str = "sm_90") -> Any:
        """Compile every generated GPU kernel through NVRTC for ``arch`` (no GPU needed)."""
        low = self.lowered()
        if not hasattr(low, "compile_offline"):
            raise BackendError(f"the {self.backend} backend generates no GPU kernels to compile offline")
        return low.compile_offline(arch)


def declared_backend(backend: str, options: Mapping[str, Any]) -> Any:
    """The backend module ``backend`` names (numpy's for 'auto': numpy and native share the "cpu"
    cost model), checked before any work: unknown names and missing extras fail here, and so do
    options given to 'auto', which may choose either backend."""
    from egraph_dsl.backends import get_backend

    if backend == AUTO and options:
        raise BackendError(f"backend='auto' takes no backend options (got {', '.join(sorted(options))}); "
                           "name the backend to pass them, e.g. backend='native'")
    return get_backend("numpy" if backend == AUTO else backend)


def choose_backend(backend: str, plan: Plan, gradient: bool = False) -> str:
    """The backend a specialization runs on: ``backend`` itself, or for 'auto' the native one when a
    C++ compiler is there and some value of the plan has AUTO_NATIVE_ELEMENTS elements or more
    (AUTO_NATIVE_ELEMENTS_GRAD for a gradient); below that a plan runs in microseconds on NumPy
    and a kernel build, ~0.2-0.5 s once per shape signature, then cached on disk, is not worth it."""
    if backend != AUTO:
        return backend
    from egraph_dsl.backends import is_available

    largest = max((math.prod(ins.shape) for ins in plan.instructions if ins.shape), default=0)
    threshold = AUTO_NATIVE_ELEMENTS_GRAD if gradient else AUTO_NATIVE_ELEMENTS
    return "native" if largest >= threshold and is_available("native") else "numpy"


class JitTransform(ABC):
    """A function transform (``value_and_grad``...) that is jitted itself: ``jit`` of one sets the
    options of its inner jit instead of wrapping it again. Transforms subclass it, so ``jit`` needs
    no import of them (they import this module)."""

    @abstractmethod
    def with_options(self, **options: Any) -> JitTransform:
        """The same transform with these jit options (what ``jit(transformed, ...)`` returns)."""


class JitFunction:
    """A traced-and-optimized version of a plain NumPy function."""

    def __init__(self, fn: Callable[..., Any], rulesets: RulesetSpec | None = None, cost_model: CostModelSpec = None,
                 backend: str = "auto", limits: Limits | Mapping[str, Any] | None = None,
                 extractor: str = "greedy", registry: Registry | None = None,
                 backend_options: Mapping[str, Any] | None = None,
                 transform: Callable[[Program], Program] | None = None, accuracy: str = "balanced",
                 input_ranges: Mapping[str, tuple[float, float]] | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"jit() needs a function, got {type(fn).__name__}")
        declared = declared_backend(backend, backend_options or {})
        self.fn = fn
        self.backend = backend
        # every option is validated here, before tracing; the backend's own cost model by default
        # (the GPU's counts launches, fusion and bandwidth)
        self.cost_model: CostModelSpec = declared.DEFAULT_COST_MODEL if cost_model is None else cost_model
        self.optimizer = Optimizer.of(rulesets, cost_model=self.cost_model, extractor=extractor, limits=limits,
                                      registry=registry, accuracy=accuracy)
        self.backend_options = dict(backend_options or {})
        self.transform = transform  # applied to the optimized program, then optimized again (gradients)
        self.accuracy = self.optimizer.accuracy
        self.input_ranges = dict(input_ranges) if input_ranges is not None else None
        if self.input_ranges is not None:  # names are checked against the parameters here, values at trace
            from egraph_dsl.proofs.error_model import check_input_ranges

            check_input_ranges(self.input_ranges, _parameter_names_or_none(fn))
        self._samples: dict[tuple[Any, ...], Any] = {}  # signature -> error_model.Samples, drawn once
        self.samples_drawn = 0  # how many times samples were drawn (once per signature)
        self._cache: dict[tuple[Any, ...], Compiled] = {}
        self._arity: int | None = None
        self._last: Compiled | None = None
        self._guard: Callable[..., Any] = self._dispatch
        self.name: str = getattr(fn, "__name__", "function")
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    @property
    def limits(self) -> Limits:
        return self.optimizer.limits

    def _check_arity(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if kwargs:
            raise SignatureError(f"{self.name}: keyword arguments ({', '.join(kwargs)}) are not supported; "
                                 "pass arguments by position")
        if self._arity is not None and len(args) != self._arity:
            names = ", ".join(parameter_names(self.fn, self._arity))
            raise SignatureError(f"{self.name} was traced with {self._arity} arguments ({names}); "
                                 f"this call passes {len(args)}")

    def _key(self, args: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Watch, ...], tuple[Any, ...]]:
        """The cache key of a call: the arguments' signature and the closed-over values now."""
        found = watches(self.fn)
        values_key, values = capture_key(found)
        return (signature_of(args), values_key), found, values

    def specialize(self, *args: Any) -> Compiled:
        """Trace, optimize and compile for the signature of ``args`` and the values the function
        closes over (cached; rebinding a closed-over array or number traces again)."""
        key, _found, values = self._key(args)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        t0 = time.perf_counter()
        program = trace_function(self.fn, args)
        trace_s = time.perf_counter() - t0
        first: dict[str, float] = {}
        optimizer = self.optimizer
        samples = self._draw_samples(key[0], program, args)
        if self.transform is not None:
            # the value first: the transform (a gradient) then sees its stable forms (softplus, not
            # log(1 - sigmoid)); both passes together keep within limits.seconds
            t0 = time.perf_counter()
            value = optimizer.optimize(program, samples=samples)
            program = self.transform(value.after)
            first = {"optimize value": time.perf_counter() - t0}
            seconds = optimizer.limits.seconds
            optimizer = replace(optimizer, limits=replace(optimizer.limits, seconds=max(
                seconds - first["optimize value"], 0.05 * seconds)))
        optimized = optimizer.optimize(program, samples=samples)
        t0 = time.perf_counter()
        plan = build_plan(fold_array_constants(optimized.after))
        plan_s = time.perf_counter() - t0
        timings = {"trace": trace_s, **first, **optimized.timings, "plan": plan_s}
        shapes = tuple(tuple(getattr(a, "shape", ())) for a in args)
        compiled = Compiled(optimized, plan, timings, self._backend_for(plan), self.backend_options, shapes, values)
        self._cache[key] = compiled
        self._arity = len(args)  # fixed by the first call that traced, never by one that failed
        return compiled

    def _backend_for(self, plan: Plan) -> str:
        return choose_backend(self.backend, plan, gradient=self.transform is not None)

    def _draw_samples(self, signature: tuple[Any, ...], program: Program, args: tuple[Any, ...]) -> Any:
        """The error model's sample points for ``signature``: drawn from the first call's ``args``
        (or the declared ``input_ranges``) once, then reused by every trace of that signature."""
        if self.accuracy == "fast":
            return None
        samples = self._samples.get(signature)
        if samples is None:
            from egraph_dsl.proofs.error_model import draw_samples

            samples = draw_samples(program, args, self.input_ranges)
            self._samples[signature] = samples
            self.samples_drawn += 1
        return samples

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != self._arity:
            self._check_arity(args, kwargs)
        return self._guard(*args)

    def _dispatch(self, *args: Any) -> Any:
        """The slow path: find (or build) the specialization, and guard the next calls for it."""
        key, found, values = self._key(args)
        compiled = self._cache.get(key) or self.specialize(*args)
        self._last = compiled
        watched = tuple((w.read, v) for w, v in zip(found, values, strict=True))
        self._guard = make_guard(key[0], compiled.executable, self._dispatch, watched)
        return compiled.executable(*scalars_as_numpy(key[0], args))

    def lower(self, *args: Any) -> Compiled:
        """The compiled form for ``args`` (arrays or ArraySpec), without running it."""
        self._check_arity(args, {})
        return self.specialize(*args)

    def program(self, *args: Any) -> Program:
        return self.lower(*args).optimized.after

    @property
    def signatures(self) -> list[tuple[Any, ...]]:
        """The argument signature of every specialization (one per closed-over values too)."""
        return [key[0] for key in self._cache]

    def explain(self, *args: Any) -> str:
        """Program before and after, rules that fired, costs and time per stage (last call if no args)."""
        compiled = self.lower(*args) if args else self._last
        if compiled is None:
            return f"{self.name}: not called yet; call it (or pass example arguments to explain)"
        from egraph_dsl.backends import get_backend

        from .explain import explain_text

        text = explain_text(compiled.optimized, compiled.timings, compiled.plan)
        if get_backend(compiled.backend).GENERATES_KERNELS:  # show the generated kernels (lowering needs no device)
            text += f"\n== {compiled.backend} kernels\n{compiled.lowered()}"
        return text


def jit(fn: Callable[..., Any] | None = None, *, rulesets: RulesetSpec | None = None, cost_model: CostModelSpec = None,
        backend: str = "auto", limits: Limits | Mapping[str, Any] | None = None, extractor: str = "greedy",
        registry: Registry | None = None, accuracy: str = "balanced",
        input_ranges: Mapping[str, tuple[float, float]] | None = None, **backend_options: Any) -> Any:
    """Optimize ``fn`` by equality saturation; usable as ``@jit`` or ``jit(fn, rulesets=[...])``.

    ``accuracy`` ("fast": cost only; "balanced", the default; "accurate") weighs numerical error,
    measured on samples of the first call's data or of ``input_ranges={"x": (lo, hi)}``, against
    cost (see docs/accuracy.md). ``jit(value_and_grad(f), ...)`` gives the gradient function these options.
    ``backend="auto"`` (the default) runs each specialization on the native backend when a C++
    compiler is there and its arrays reach AUTO_NATIVE_ELEMENTS elements, on NumPy otherwise."""
    check_accuracy(accuracy)
    if isinstance(fn, JitTransform):
        return fn.with_options(rulesets=rulesets, cost_model=cost_model, backend=backend, limits=limits,
                               extractor=extractor, registry=registry, accuracy=accuracy,
                               input_ranges=input_ranges, **backend_options)

    def make(f: Callable[..., Any]) -> JitFunction:
        return JitFunction(f, rulesets, cost_model, backend, limits, extractor, registry, backend_options,
                           accuracy=accuracy, input_ranges=input_ranges)

    return make if fn is None else make(fn)


def _parameter_names_or_none(fn: Callable[..., Any]) -> list[str] | None:
    """The positional parameter names of ``fn``, or None when it takes ``*args`` (or has no signature)."""
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
