"""The CuPy backend: run a Plan on an NVIDIA GPU, fused elementwise regions as generated kernels.

``compile_plan(plan)`` fuses the plan (:mod:`backends.fusion`), generates one CUDA kernel per
fused group from the op table's ``c_expr`` templates (:mod:`backends.cupy_codegen`) and runs
every other instruction through its op's ``impl(cupy, ...)``. ``lower(plan)`` does the same
generation without a GPU and can compile every kernel offline through NVRTC.

Importing this module never needs CuPy or a GPU; ``compile_plan`` raises
:class:`~egraph_dsl.errors.BackendUnavailableError` when either is missing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from egraph_dsl import ops
from egraph_dsl.errors import BackendError, BackendUnavailableError, SignatureError
from egraph_dsl.plan import Instruction, Plan

from .cupy_codegen import KernelSource, generate
from .fusion import VIEW_OPS, FusedGroup, Layout, Schedule, fuse

# what this backend declares to the registry (egraph_dsl.backends.Backend)
NAME = "cupy"
DEFAULT_COST_MODEL = "gpu"  # the cost model jit uses with this backend unless told otherwise
GENERATES_KERNELS = True  # whether lower(plan) generates kernels (explain shows them)

INSTALL_HINT = "pip install egraph-dsl[cuda]"
NVRTC_OPTIONS: tuple[str, ...] = ("--std=c++17", "-fmad=false")  # no FMA contraction: IEEE like NumPy

# how the backend runs each op of the table (the coverage test checks every op is here)
STRATEGY: dict[str, str] = {name: "fused" for name, s in ops.OPS.items() if s.elementwise}
STRATEGY.update({"input": "argument", "const": "constant"})
STRATEGY.update({name: "fused" for name in ("sum", "mean", "max", "min")})
STRATEGY.update({name: "impl" for name in ("logsumexp", "matmul", "trace", "diagonal", "take", "index_check", "concat",
                                           "scatter_add", "scatter", "bincount")})
STRATEGY.update({name: "impl" for name in ("prod", "argmax", "argmin", "cumsum", "cumprod", "sort", "argsort")})
STRATEGY.update({name: "impl" for name in ("solve", "inv", "det", "slogdet_sign", "logabsdet", "cholesky")})  # cupy.linalg
STRATEGY["array_const"] = "impl"  # copied to the device by its impl (cupy.asarray) on each call
STRATEGY.update({name: "view" for name in VIEW_OPS})
# "fused" ops fall back to impl(cupy, ...) for dtypes their C template does not cover exactly


def import_cupy() -> ModuleType:
    """CuPy, or a BackendUnavailableError saying how to install it."""
    try:
        import cupy
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the cupy backend needs CuPy, which is not installed ({exc}); install it with "
            f"`{INSTALL_HINT}`, or use backend='numpy'") from None
    module: ModuleType = cupy
    return module


def available() -> bool:
    """Whether CuPy is installed and sees a CUDA device (lowering and offline compiling need neither)."""
    try:
        return bool(import_cupy().is_available())
    except BackendUnavailableError:
        return False


def require_gpu() -> ModuleType:
    """CuPy with a usable CUDA device, or a BackendUnavailableError saying what is missing."""
    cupy = import_cupy()
    if not cupy.is_available():
        raise BackendUnavailableError(
            "the cupy backend needs an NVIDIA GPU with a working CUDA driver, and none is visible "
            "(cupy.is_available() is False); run on a machine with a GPU, or use backend='numpy'. "
            "egraph_dsl.backends.cupy_backend.lower(plan) still generates and compiles the kernels offline.")
    return cupy


# ---------------------------------------------------------------- lowering (no GPU needed)


@dataclass(frozen=True)
class KernelReport:
    name: str
    ok: bool
    cubin_bytes: int
    log: str


@dataclass(frozen=True)
class Lowered:
    """A plan's schedule and the CUDA C of each of its generated kernels."""

    plan: Plan
    schedule: Schedule
    kernels: dict[str, KernelSource]

    @property
    def sources(self) -> dict[str, str]:
        return {name: k.source for name, k in self.kernels.items()}

    def compile_offline(self, arch: str = "sm_90") -> dict[str, KernelReport]:
        """Compile every kernel with NVRTC for ``arch`` (no device needed); raise on any failure."""
        reports = {name: compile_nvrtc(name, src, arch) for name, src in self.sources.items()}
        failed = [r for r in reports.values() if not r.ok]
        if failed:
            logs = "\n\n".join(f"--- {r.name}:\n{r.log}" for r in failed)
            raise BackendError(f"NVRTC failed on {len(failed)} of {len(reports)} kernels of "
                               f"plan {self.plan.name!r} for {arch}:\n{logs}")
        return reports

    def __str__(self) -> str:
        return "\n".join([f"lowered {self.plan.name}: {len(self.kernels)} kernels", *self.schedule.describe("cupy")])


def argument_shapes(plan: Plan, args: Sequence[Any] | None) -> dict[int, tuple[int, ...]] | None:
    """Argument slot -> shape, from example arguments (arrays, scalars or shape tuples)."""
    if args is None:
        return None
    if len(args) != len(plan.input_slots):
        raise SignatureError(f"{plan.name} takes {len(plan.input_slots)} arguments, got {len(args)}")
    return {s: tuple(a) if isinstance(a, tuple) else tuple(np.shape(a))
            for (s, _), a in zip(plan.input_slots, args, strict=True)}


def lower(plan: Plan, args: Sequence[Any] | None = None) -> Lowered:
    """Fuse ``plan`` and generate the CUDA C of every kernel; needs neither CuPy nor a GPU.

    ``args`` (example arguments or their shapes) fix the layout kernels read arguments with;
    without them each argument is assumed to have the shape of the first elementwise op using it.
    """
    schedule = fuse(plan, argument_shapes(plan, args))
    kernels = {g.name: generate(plan, g, "cuda") for g in schedule.groups}
    return Lowered(plan, schedule, kernels)


def compile_nvrtc(name: str, source: str, arch: str = "sm_90",
                  options: Sequence[str] = NVRTC_OPTIONS) -> KernelReport:
    """Compile one source with NVRTC to a cubin for ``arch`` (e.g. ``sm_90``), without a device."""
    try:
        from cupy_backends.cuda.libs import nvrtc
    except ImportError as exc:
        raise BackendUnavailableError(f"offline compilation needs CuPy's NVRTC bindings ({exc}); "
                                      f"install them with `{INSTALL_HINT}`") from None
    try:
        prog = nvrtc.createProgram(source, f"{name}.cu", [], [])
    except Exception as exc:  # NVRTC library missing or unloadable
        raise BackendUnavailableError(f"NVRTC is not usable ({exc}); install nvidia-cuda-nvrtc "
                                      f"(`{INSTALL_HINT}`)") from None
    try:
        try:
            nvrtc.compileProgram(prog, [f"-arch={arch}", *options])
        except nvrtc.NVRTCError:
            return KernelReport(name, False, 0, nvrtc.getProgramLog(prog))
        return KernelReport(name, True, len(nvrtc.getCUBIN(prog)), nvrtc.getProgramLog(prog))
    finally:
        nvrtc.destroyProgram(prog)


# ------------------------------------------------------------------ buffers (alias aware)


def assign_buffers(schedule: Schedule) -> dict[int, int]:
    """Memory block of each kernel-written slot: a block is reused once every value aliasing it
    (itself or a view of it) is dead, so views never see their base overwritten."""
    plan = schedule.plan
    last_use: dict[int, float] = {}
    for k, step in enumerate(schedule.steps):
        for s in _reads(plan, step):
            last_use[s] = k
    for s in plan.outputs:
        last_use[s] = math.inf
    shape_of = {ins.output: (ins.shape, ins.dtype) for ins in plan.instructions}
    block: dict[int, int] = {}
    root: dict[int, int] = {}
    holders: dict[int, set[int]] = {}
    free: dict[tuple[Any, ...], list[int]] = {}
    for k, step in enumerate(schedule.steps):
        touched: list[int] = []
        if isinstance(step, FusedGroup):
            for s in step.outputs:
                key = shape_of[s]
                mem = free[key].pop() if free.get(key) else s
                block[s] = root[s] = mem
                holders[mem] = {s}
                touched.append(mem)
        else:
            ins = plan.instructions[step]
            if ins.op in VIEW_OPS and ins.inputs[0] in root:
                mem = root[ins.inputs[0]]
                root[ins.output] = mem
                holders[mem].add(ins.output)
        touched.extend({root[s] for s in _reads(plan, step) if s in root})
        for mem in dict.fromkeys(touched):
            if mem in holders and all(last_use.get(h, k) <= k for h in holders[mem]):
                free.setdefault(shape_of[mem], []).append(mem)
                del holders[mem]
    return block


def _reads(plan: Plan, step: FusedGroup | int) -> list[int]:
    if isinstance(step, FusedGroup):
        return [inp.slot for inp in step.inputs]
    return list(plan.instructions[step].inputs)


# ---------------------------------------------------------------------- the executable


Step = Callable[[list[Any], dict[int, Any]], None]


@dataclass
class CupyExecutable:
    """A plan ready to run on CuPy; kernels are compiled on first use and kept."""

    plan: Plan
    to_host: bool = False
    name: str = "cupy"
    _modules: dict[str, Any] = field(init=False, default_factory=dict)
    _by_shapes: dict[tuple[tuple[int, ...], ...], tuple[Lowered, list[Step]]] = field(
        init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._cupy = require_gpu()
        self._constants = [(s, np.asarray(v, dtype=d)[()]) for s, v, d in self.plan.constants]

    def lower(self, *args: Any) -> Lowered:
        """The kernels this executable runs for arguments like ``args``."""
        return lower(self.plan, args or None)

    def _prepare(self, shapes: tuple[tuple[int, ...], ...]) -> list[Step]:
        """Fuse, generate and bind the steps for one tuple of argument shapes (kept)."""
        found = self._by_shapes.get(shapes)
        if found is None:
            lowered = lower(self.plan, shapes)
            self._buffers = assign_buffers(lowered.schedule)
            self._lowered = lowered
            steps = [self._group_step(step) if isinstance(step, FusedGroup) else
                     self._single_step(self.plan.instructions[step]) for step in lowered.schedule.steps]
            found = self._by_shapes[shapes] = (lowered, steps)
        return found[1]

    def _function(self, kernel: KernelSource, entry: str) -> Any:
        module = self._modules.get(kernel.name)
        if module is None:
            module = self._cupy.RawModule(code=kernel.source, options=NVRTC_OPTIONS)
            self._modules[kernel.name] = module
        return module.get_function(entry)

    def _single_step(self, ins: Instruction) -> Step:
        cupy, impl, attrs = self._cupy, ops.spec(ins.op).impl, ins.attr
        inputs, out = ins.inputs, ins.output
        if ins.shape is None:  # a weak constant expression: a scalar, computed as on the CPU
            def run_weak(v: list[Any], _mem: dict[int, Any]) -> None:
                with np.errstate(all="ignore"):
                    v[out] = impl(np, *[np.asarray(v[i])[()] for i in inputs], **attrs)
            return run_weak
        typed = ops.spec(ins.op).elementwise and ins.op != "astype"
        dtype = ins.operand_dtype

        def run(v: list[Any], _mem: dict[int, Any]) -> None:
            args = [v[i] if isinstance(v[i], cupy.ndarray) or not typed
                    else np.asarray(v[i], dtype="bool" if ins.op == "where" and p == 0 else dtype)[()]
                    for p, i in enumerate(inputs)]
            v[out] = impl(cupy, *args, **attrs)
        return run

    def _group_step(self, group: FusedGroup) -> Step:
        cupy = self._cupy
        kernel = self._lowered.kernels[group.name]
        plan = self.plan
        shape_of = {ins.output: (ins.shape or (), ins.dtype or "float64") for ins in plan.instructions}
        buffers = self._buffers
        red = group.reduction
        red_ins = plan.instructions[red.index] if red else None

        def run(v: list[Any], mem: dict[int, Any]) -> None:
            args: list[Any] = []
            for inp in group.inputs:
                a = v[inp.slot]
                if not isinstance(a, cupy.ndarray) or a.dtype != inp.dtype:
                    a = cupy.asarray(a, dtype=inp.dtype)
                if inp.layout is Layout.FLAT and not a.flags.c_contiguous:
                    a = cupy.ascontiguousarray(a)
                elif inp.layout is Layout.STRIDED and a.shape != group.shape:
                    a = cupy.broadcast_to(a, group.shape)
                elif inp.layout is Layout.SCALAR and a.size != 1:
                    raise BackendError(f"{group.name}: input v{inp.slot} should be a scalar, has shape {a.shape}")
                args.append(a)
                if inp.layout is Layout.STRIDED:
                    args.extend(np.int64(st // a.itemsize) for st in a.strides)
            for s in group.outputs:
                b = buffers[s]
                if b not in mem:
                    mem[b] = cupy.empty(*shape_of[s])
                v[s] = mem[b]
                args.append(v[s])
            if red_ins is None:
                if group.size:
                    self._function(kernel, kernel.name)((kernel.grid,), (kernel.block,), (*args, np.int64(group.size)))
                return
            result = cupy.empty(red_ins.shape or (), dtype=red_ins.dtype)
            assert red is not None
            if kernel.split > 1:
                partial = cupy.empty(red.n_out * kernel.split, dtype=red_ins.dtype)
                self._function(kernel, kernel.name)((kernel.grid,), (kernel.block,), (*args, partial))
                self._function(kernel, kernel.entry_points[1])((red.n_out,), (kernel.block,), (partial, result))
            else:
                self._function(kernel, kernel.name)((kernel.grid,), (kernel.block,), (*args, result))
            v[red_ins.output] = result
        return run

    def __call__(self, *args: Any) -> Any:
        cupy, plan = self._cupy, self.plan
        if len(args) != len(plan.input_slots):
            raise SignatureError(f"{plan.name} takes {len(plan.input_slots)} arguments, got {len(args)}")
        values: list[Any] = [None] * plan.n_slots
        for (s, _), a in zip(plan.input_slots, args, strict=True):
            a = cupy.asarray(a)  # NumPy arguments are copied to the device
            values[s] = a if a.flags.c_contiguous else cupy.ascontiguousarray(a)  # keeps 0-d arrays 0-d
        for s, c in self._constants:
            values[s] = c
        steps = self._prepare(tuple(tuple(values[s].shape) for s, _ in plan.input_slots))
        memory: dict[int, Any] = {}
        for step in steps:
            step(values, memory)
        copies = plan.output_copy or (False,) * len(plan.outputs)
        outs = tuple(cupy.array(values[o], dtype=d) if copy else cupy.asarray(values[o], dtype=d)
                     for o, d, copy in zip(plan.outputs, plan.output_dtypes, copies, strict=True))
        if self.to_host:
            outs = tuple(cupy.asnumpy(o) for o in outs)
        if plan.output_list:
            return list(outs)
        return outs if plan.output_tuple else outs[0]


def compile_plan(plan: Plan, to_host: bool = False, **options: Any) -> CupyExecutable:
    """An executable running ``plan`` on the GPU (CuPy arrays out, NumPy with ``to_host``)."""
    if options:
        raise BackendError(f"cupy backend: unknown option(s) {', '.join(sorted(options))} (known: to_host)")
    return CupyExecutable(plan, to_host)

