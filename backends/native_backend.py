"""The native CPU backend: fused elementwise groups (and a closing reduction) as generated,
vectorized C++ kernels; everything else through NumPy, as the NumPy backend runs it.

``compile_plan(plan)`` returns an executable that, on the first call for a tuple of argument
shapes, fuses the plan (:mod:`backends.fusion`), generates one extension module holding a kernel
per group (:mod:`backends.native_codegen`), builds or loads it (:mod:`backends.native_build`,
cached on disk), and generates a straight-line Python function calling the kernels and the NumPy
backend's per-instruction callables. Without a C++ compiler, or when a build fails, it warns once
and runs the plan on the NumPy backend instead.

Options: ``min_elements`` (groups with fewer elements run through NumPy). Default 0: measured
here, a kernel beat the NumPy backend at every size from 1 element up (one exp: 2.7 vs 6.0 us
at n = 1, 292 vs 773 us at n = 1e5), so nothing runs through NumPy for being small.
``keep_buffers`` (default True): the large intermediates kernels, matmuls and row gathers write (at least
``POOL_MIN_BYTES``, never a value returned or viewed by one) are allocated once and reused by
later calls, instead of fresh memory the kernel page-faults in on every call (4,260 minor faults
per value-and-gradient call of the reactivity model at N = 2·10^5). A call that finds the buffers
in use (another thread in the same function) allocates its own set, so calls never share one.
The cost is that memory, held between calls; ``keep_buffers=False`` frees it after each call.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from egraph_dsl import ops
from egraph_dsl.errors import BackendError, BackendUnavailableError, SignatureError
from egraph_dsl.plan import Plan

from .fusion import NATIVE_REDUCTIONS, FusedGroup, Schedule, fuse
from .native_build import build, compiler, module_name
from .native_codegen import ModuleSource, generate_module
from .native_indexing import native_function
from .numpy_backend import NumpyExecutable, _function_for, returned_values

_NAME_PLACEHOLDER = "EGD_MODULE_NAME_PLACEHOLDER"
POOL_MIN_BYTES = 1 << 16  # smaller buffers come from malloc's free lists without page faults anyway

# what this backend declares to the registry (egraph_dsl.backends.Backend)
NAME = "native"
DEFAULT_COST_MODEL = "cpu"  # the cost model jit uses with this backend unless told otherwise
GENERATES_KERNELS = True  # whether lower(plan) generates kernels (explain shows them)


def available() -> bool:
    """Whether a C++ compiler is on hand (without one, plans run on the NumPy backend, with a warning)."""
    return compiler() is not None


@dataclass(frozen=True)
class Lowered:
    """A plan's schedule and its generated extension module (no compiler needed to make it)."""

    schedule: Schedule
    module: ModuleSource

    def __iter__(self) -> Iterator[Any]:  # schedule, module = lower(...)
        return iter((self.schedule, self.module))

    @property
    def sources(self) -> dict[str, str]:
        return {self.module.name: self.module.source}

    def __str__(self) -> str:
        head = f"native module {self.module.name}: {len(self.schedule.groups)} kernels"
        return "\n".join([head, *self.schedule.describe("numpy")])


def lower(plan: Plan, args: Sequence[Any] | None = None, min_elements: int = 0) -> Lowered:
    """The schedule and the generated module source for arguments like ``args`` (no compiler needed)."""
    shapes = None if args is None else {
        s: tuple(a) if isinstance(a, tuple) else tuple(np.shape(a)) for (s, _), a in zip(plan.input_slots, args, strict=True)}
    schedule = fuse(plan, shapes, reductions=NATIVE_REDUCTIONS)
    if min_elements:
        schedule = Schedule(plan, tuple(_split_small(step, min_elements) for step in schedule.steps))
        schedule = Schedule(plan, tuple(s for step in schedule.steps for s in (step if isinstance(step, tuple) else (step,))))
    draft = generate_module(schedule, _NAME_PLACEHOLDER)
    name = module_name(draft.source)
    return Lowered(schedule, ModuleSource(name, draft.source.replace(_NAME_PLACEHOLDER, name), draft.groups))


def _split_small(step: FusedGroup | int, min_elements: int) -> Any:
    if isinstance(step, FusedGroup) and step.size < min_elements:
        members = list(step.members) + ([step.reduction.index] if step.reduction else [])
        return tuple(sorted(members))
    return step


class NativeExecutable:
    """A plan ready to run with native kernels; built per tuple of argument shapes, on first use."""

    name = "native"

    def __init__(self, plan: Plan, min_elements: int = 0, keep_buffers: bool = True) -> None:
        self.plan = plan
        self.min_elements = min_elements
        self.keep_buffers = keep_buffers
        self._by_shapes: dict[tuple[tuple[int, ...], ...], Callable[..., Any]] = {}
        self._fallback: NumpyExecutable | None = None
        self.sources: dict[str, str] = {}
        self.python_source = ""
        self._fast: Callable[..., Any] = self.__call__

    def _run(self, *args: Any) -> Any:
        """jit's entry point: jit calls a plan only with the argument shapes it was traced for, so
        after the first call this goes straight to the generated function (the kernels still check
        every buffer's size and layout)."""
        return self._fast(*args)

    def _prepare(self, args: Sequence[Any]) -> Callable[..., Any]:
        schedule, module_source = lower(self.plan, args, self.min_elements)
        module = None
        if schedule.groups:
            try:
                module = build(module_source.name, module_source.source)
            except BackendUnavailableError as exc:
                warnings.warn(f"backend='native' falls back to NumPy for {self.plan.name}: {exc}".splitlines()[0],
                              RuntimeWarning, stacklevel=4)
                self._fallback = NumpyExecutable(self.plan)
                return self._fallback._run
        self.sources[module_source.name] = module_source.source
        source, run = _generate(schedule, module, self.keep_buffers)
        self.python_source = source
        return run

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.plan.input_slots):
            raise SignatureError(f"{self.plan.name} takes {len(self.plan.input_slots)} arguments, got {len(args)}")
        key = tuple(np.shape(a) for a in args)
        run = self._by_shapes.get(key)
        if run is None:
            run = self._by_shapes[key] = self._prepare(args)
            if len(self._by_shapes) == 1:
                self._fast = run
        return run(*args)


def _writes(plan: Plan, group: FusedGroup) -> list[int]:
    return list(group.outputs) + ([plan.instructions[group.reduction.index].output] if group.reduction else [])


def _kept(schedule: Schedule, kind: dict[int, tuple[tuple[int, ...], np.dtype[Any]]], native: bool) -> list[int]:
    """Slots whose buffers can be kept between calls: written by a kernel, a float matmul or (with
    native indexing) a float gather along axis 0, at least POOL_MIN_BYTES, and never reaching a
    result: not returned, and not shared (through a view op, or any op but a ufunc, a reduction, a
    matmul, a gather, a scatter or a concat, whose outputs are fresh) by a value that reaches one."""
    plan = schedule.plan
    fresh_ops = {"matmul", "take", "scatter_add", "concat"}
    shares: dict[int, tuple[int, ...]] = {}  # output -> the inputs it may share memory with
    written: list[int] = []
    for step in schedule.steps:
        if isinstance(step, FusedGroup):
            written += _writes(plan, step)
            continue
        ins = plan.instructions[step]
        spec = ops.spec(ins.op)
        floating = ins.dtype in ("float64", "float32") and len(ins.shape or ()) >= 1
        if floating and (ins.op == "matmul" or (native and ins.op == "take" and int(ins.attr["dim"]) == 0)):
            written.append(ins.output)
        if spec.view or not (spec.ufunc is not None or spec.kind is ops.Kind.REDUCTION or ins.op in fresh_ops):
            shares[ins.output] = ins.inputs
    escaping: set[int] = set()
    stack = list(plan.outputs)
    while stack:  # everything a result may be a view of
        s = stack.pop()
        if s not in escaping:
            escaping.add(s)
            stack.extend(shares.get(s, ()))
    return [s for s in written if s not in escaping
            and math.prod(kind[s][0]) * kind[s][1].itemsize >= POOL_MIN_BYTES]


def _generate(schedule: Schedule, module: Any, keep_buffers: bool = True) -> tuple[str, Callable[..., Any]]:
    """A straight-line Python function over the schedule: kernel calls and NumPy calls."""
    plan = schedule.plan
    namespace: dict[str, Any] = {"errstate": np.errstate, "asarray": np.asarray, "array": np.array,
                                 "empty": np.empty, "ndarray": np.ndarray, "contiguous": np.ascontiguousarray}
    params = [f"v{s}" for s, _ in plan.input_slots]
    body = [f"        if type(v{s}) is ndarray and not v{s}.flags.c_contiguous: v{s} = contiguous(v{s})"
            for s, _ in plan.input_slots]
    for s, value, dtype in plan.constants:
        namespace[f"v{s}"] = np.asarray(value, dtype=dtype)[()]
    kind = {ins.output: (tuple(ins.shape or ()), np.dtype(ins.dtype or "float64")) for ins in plan.instructions}
    # gathers and scatters go native where a compiler is there (the indexing module is built on first use)
    native = module is not None or (not schedule.groups and compiler() is not None)
    kept = _kept(schedule, kind, native) if keep_buffers else []
    slot_of = {s: k for k, s in enumerate(kept)}
    if kept:  # one set of buffers per call in flight: taken from the pool, or made, and put back after
        pool: list[tuple[np.ndarray, ...]] = []
        layout = [kind[s] for s in kept]

        def take_set() -> tuple[np.ndarray, ...]:
            try:  # list.pop is atomic: two threads never get the same set
                return pool.pop()
            except IndexError:  # none free (first call, or another call in flight)
                return tuple(np.empty(shape, dtype) for shape, dtype in layout)

        namespace["pool"], namespace["take_set"] = pool, take_set
        body += ["        b = take_set()"]
    for step in schedule.steps:
        if isinstance(step, int):
            ins = plan.instructions[step]
            fn, _takes_out = _function_for(ins)
            if native:
                fn = native_function(ins, fn) or fn
            namespace[f"f{step}"] = fn
            out = f", out=b[{slot_of[ins.output]}]" if ins.output in slot_of else ""
            body.append(f"        v{ins.output} = f{step}({', '.join(f'v{i}' for i in ins.inputs)}{out})  # {ins.op}")
            continue
        namespace[f"k_{step.name}"] = getattr(module, step.name)
        writes = _writes(plan, step)
        for s in writes:
            if s in slot_of:
                body.append(f"        v{s} = b[{slot_of[s]}]")
                continue
            namespace[f"s{s}"], namespace[f"d{s}"] = kind[s]
            body.append(f"        v{s} = empty(s{s}, d{s})")
        args = ", ".join([f"v{inp.slot}" for inp in step.inputs] + [f"v{s}" for s in writes])
        body.append(f"        k_{step.name}({args})")
    if kept:
        body.append("        pool.append(b)")
    returned = returned_values(plan, namespace)
    if all(isinstance(step, FusedGroup) for step in schedule.steps):
        # kernels never touch NumPy's floating-point error state: no errstate (~2.5 us) needed
        head, body = [f"def run({', '.join(params)}):"], [line[4:] for line in body]
    else:
        head = [f"def run({', '.join(params)}):", "    with errstate(all='ignore'):", "        pass"]
    source = "\n".join([*head, *body, f"    return {returned}", ""])
    exec(compile(source, f"<native plan {plan.name}>", "exec"), namespace)
    return source, namespace["run"]


def compile_plan(plan: Plan, min_elements: int = 0, keep_buffers: bool = True, **options: Any) -> NativeExecutable:
    if options:
        raise BackendError(f"native backend: unknown option(s) {', '.join(sorted(options))} "
                           "(known: min_elements, keep_buffers)")
    return NativeExecutable(plan, min_elements, keep_buffers)

