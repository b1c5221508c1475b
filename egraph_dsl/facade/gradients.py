"""``grad`` and ``value_and_grad``: jitted functions returning a gradient with the value.

``ed.value_and_grad(f)(x)`` traces ``f``, optimizes its value, differentiates the optimized
program (:mod:`egraph_dsl.autodiff`), and optimizes value and gradient together in one e-graph,
so what they share is computed once. It is jitted by default; ``ed.jit(ed.value_and_grad(f),
rulesets=...)`` sets the options of that jit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..autodiff import normalize_argnums, value_and_grad_program
from ..engine.limits import Limits
from ..program import Program
from ..registry import Registry, RulesetSpec
from ..term import postorder, substitute
from ..trace import ArraySpec, LazyArray, _strong, lift, trace_function
from .jitted import Compiled, JitFunction, JitTransform
from .pipeline import CostModelSpec


class GradFunction(JitTransform):
    """A jitted ``value_and_grad`` (or ``grad``) of a NumPy function.

    Calling it returns ``(value, gradient)`` (``value_and_grad``) or the gradient alone
    (``grad``); the gradient is one array for an int ``argnums``, a tuple for a tuple.
    """

    def __init__(self, fn: Callable[..., Any], argnums: int | Sequence[int] = 0, with_value: bool = True,
                 jit_options: Mapping[str, Any] | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"value_and_grad() needs a function, got {type(fn).__name__}")
        if isinstance(fn, (JitTransform, JitFunction)):
            raise TypeError("value_and_grad of an already transformed function is not supported; "
                            "pass the plain NumPy function")
        self.fn = fn
        self.argnums = argnums
        self.with_value = with_value
        self.jit_options = dict(jit_options or {})
        self.name: str = getattr(fn, "__name__", "function")
        self._single = isinstance(argnums, int) and not isinstance(argnums, bool)
        self.jitted = JitFunction(fn, transform=self._differentiate, **self._jit_arguments())
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    def _jit_arguments(self) -> dict[str, Any]:
        options = dict(self.jit_options)
        backend_options = options.pop("backend_options", {})
        known = {"rulesets", "cost_model", "backend", "limits", "extractor", "registry", "accuracy", "input_ranges"}
        for key in list(options):
            if key not in known:
                backend_options[key] = options.pop(key)
        return {**options, "backend_options": backend_options}

    def _differentiate(self, program: Program) -> Program:
        return value_and_grad_program(program, self.argnums)

    def with_options(self, **options: Any) -> GradFunction:
        """The same gradient with other jit options (what ``ed.jit(grad_fn, ...)`` makes)."""
        return GradFunction(self.fn, self.argnums, self.with_value, {**self.jit_options, **options})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            self.jitted._check_arity(args, kwargs)  # the one message for keyword arguments
        if args and self.jitted._arity is None:
            normalize_argnums(self.argnums, len(args), self.name)  # a clear error before tracing
        if any(isinstance(a, LazyArray) for a in args):
            value, *grads = self._inline(args)  # called inside a traced function (jit, grad of grad)
        else:
            value, *grads = self.jitted(*args)
        grad = grads[0] if self._single else tuple(grads)
        return (value, grad) if self.with_value else grad

    def _inline(self, args: tuple[Any, ...]) -> list[LazyArray]:
        """The value and gradient terms, built on the caller's traced arguments (not optimized here:
        the enclosing trace is optimized as a whole)."""
        lazy = [_strong(lift(a, "argument")) for a in args]
        specs = [ArraySpec(x.shape, x.dtype) for x in lazy]
        joint = value_and_grad_program(trace_function(self.fn, specs), self.argnums)
        bound = {t: x.term for t, x in zip(joint.inputs, lazy, strict=True)}
        return [LazyArray(t) for t in substitute(joint.outputs, bound)]

    def lower(self, *args: Any) -> Compiled:
        return self.jitted.lower(*args)

    def program(self, *args: Any) -> Program:
        """The joint value-and-gradient program after optimization."""
        return self.jitted.program(*args)

    def explain(self, *args: Any) -> str:
        """The joint program before and after, rules fired, costs, and what value and gradient share."""
        compiled = self.jitted.lower(*args) if args else self.jitted._last
        text = self.jitted.explain(*args)
        if compiled is None:
            return text
        return text + "\n" + sharing_report(compiled.optimized.after)

    @property
    def signatures(self) -> list[tuple[Any, ...]]:
        return self.jitted.signatures

    def __repr__(self) -> str:
        kind = "value_and_grad" if self.with_value else "grad"
        return f"<{kind} of {self.name}, argnums={self.argnums!r}>"


def sharing_report(program: Program) -> str:
    """How many ops the gradient outputs reuse from the value output's computation."""
    value_ops = {id(t) for t in postorder(program.outputs[:1]) if t.op not in ("input", "const")}
    grad_ops = {id(t) for t in postorder(program.outputs[1:]) if t.op not in ("input", "const")}
    shared = len(value_ops & grad_ops)
    return (f"== value and gradient\n  value: {len(value_ops)} ops; gradient: {len(grad_ops)} ops, "
            f"{shared} of them shared with the value (computed once)")


def value_and_grad(fn: Callable[..., Any] | None = None, argnums: int | Sequence[int] = 0, *,
                   rulesets: RulesetSpec | None = None, cost_model: CostModelSpec = None, backend: str = "auto",
                   limits: Limits | Mapping[str, Any] | None = None, extractor: str = "greedy",
                   registry: Registry | None = None, **backend_options: Any) -> Any:
    """``fn``'s value and its gradient with respect to the arguments in ``argnums``, jitted.

    ``fn`` must return one float scalar. Usable as ``@value_and_grad`` or
    ``value_and_grad(fn, argnums=(0, 1), rulesets=[...])``.
    """
    options = {"rulesets": rulesets, "cost_model": cost_model, "backend": backend, "limits": limits,
               "extractor": extractor, "registry": registry, **backend_options}
    return _transform(fn, argnums, True, options)


def grad(fn: Callable[..., Any] | None = None, argnums: int | Sequence[int] = 0, *,
         rulesets: RulesetSpec | None = None, cost_model: CostModelSpec = None, backend: str = "auto",
         limits: Limits | Mapping[str, Any] | None = None, extractor: str = "greedy",
         registry: Registry | None = None, **backend_options: Any) -> Any:
    """The gradient of ``fn`` (one float scalar output) with respect to ``argnums``, jitted."""
    options = {"rulesets": rulesets, "cost_model": cost_model, "backend": backend, "limits": limits,
               "extractor": extractor, "registry": registry, **backend_options}
    return _transform(fn, argnums, False, options)


def _transform(fn: Callable[..., Any] | None, argnums: int | Sequence[int], with_value: bool,
               options: dict[str, Any]) -> Any:
    """The GradFunction of ``fn``, or a decorator making it (``@value_and_grad(argnums=1)``)."""
    if fn is None:
        return lambda f: GradFunction(f, argnums, with_value, options)
    return GradFunction(fn, argnums, with_value, options)
