"""The Dask backend (optional extra ``egraph-dsl[dask]``): a Plan run over chunked arrays.

Arguments may be ``dask.array`` arrays or NumPy arrays (chunked with the ``chunks=`` option,
default ``"auto"``, when no argument is a Dask array). The *rows* are the leading axis of the
largest chunked argument; every argument with as many rows is chunked alike (rechunked when it is
not, its other axes made whole where that is cheap). The plan is cut into *segments*
(:mod:`backends.dask_segments`): the instructions whose values are aligned with the rows
(elementwise ops, broadcasts against small operands, gathers ``small[idx]``, matmuls against small
operands, reductions over other axes) run as **one task per chunk** calling one sub-plan compiled
with the CPU backend (``chunk_backend``: ``"auto"``, the native backend when a C++ compiler is
there, else NumPy; one kernel build per chunk length that two chunks or more have, so a shorter
last chunk runs through NumPy), and reductions over the rows (sum, mean, max, min, prod, logsumexp, a
scatter_add by row-aligned indices, a matmul contracting the rows) come out of that task as
per-chunk *partials*, combined by a tree of tasks (``split_every`` at a time). The small
instructions after them run in one task per stage. Small values of NumPy arguments are computed
on the client. Whatever fits none of this is lowered op by op on ``dask.array`` (each instruction
with the op table's implementation over the ``dask.array`` namespace); ``fuse=False`` lowers the
whole plan that way.

A reduction or contraction over a non-row axis that is split into chunks is rechunked to whole
rows when those chunks stay under Dask's ``array.chunk-size``; otherwise BackendError names the
instruction, the axis and the chunking to use.

With ``compute=True`` (the default) the results are computed with the active scheduler (the
threaded one, or a ``distributed.Client`` when one is the default) and returned as NumPy arrays
in the plan's dtypes; with ``compute=False`` they are Dask arrays. An instruction Dask cannot
express raises BackendError naming it.

Float results equal the NumPy backend's up to the reordering of sums across chunks (a sum of
n terms differs by at most about ``n * eps * sum(|x|)``); integer and elementwise results are
exact with ``chunk_backend="numpy"`` (native kernels: as the native backend, transcendental
functions within a few ulps).
"""

from __future__ import annotations

import importlib
import math
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np

from egraph_dsl import ops
from egraph_dsl.errors import BackendError, SignatureError
from egraph_dsl.plan import Instruction, Plan

from . import dask_segments as seg

try:  # dask ships no complete annotations: its namespaces are used as Any
    da: Any = importlib.import_module("dask.array")
    dask: Any = importlib.import_module("dask")
    _hlg: Any = importlib.import_module("dask.highlevelgraph")
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise BackendError("the dask backend needs the optional extra: pip install 'egraph-dsl[dask]'") from e

# what this backend declares to the registry (egraph_dsl.backends.Backend)
NAME = "dask"
DEFAULT_COST_MODEL = "cpu"  # the cost model jit uses with this backend unless told otherwise
GENERATES_KERNELS = False  # whether lower(plan) generates kernels (explain shows them)


def available() -> bool:
    """Whenever this module imports (it refuses to without Dask, naming the extra to install)."""
    return True


def _scatter_add(ins: Instruction, updates: Any, indices: Any) -> Any:
    """scatter_add (a gather's adjoint, as in gradients) over rows chunked on axis 0: each chunk
    scatters its rows into a zero array of the full size with the NumPy implementation, and the
    per-chunk partials are summed by a tree reduction."""
    dim, size = int(ins.attr["dim"]), int(ins.attr["size"])
    impl = ops.spec("scatter_add").impl
    if not isinstance(updates, da.Array) and not isinstance(indices, da.Array):
        return impl(np, updates, np.asarray(indices), dim=dim, size=size)
    if dim != 0 or np.ndim(indices) != 1:
        raise BackendError(f"the dask backend lowers scatter_add (v{ins.output}) only along axis 0 with 1-d "
                           f"indices, got dim={dim} and {np.ndim(indices)}-d indices; "
                           "chunk the data along its leading (row) axis")
    updates = da.asarray(updates)
    rest = {k: -1 for k in range(1, updates.ndim)}
    updates = updates.rechunk(rest) if rest else updates
    row_chunks = updates.chunks[0]
    indices = da.asarray(indices).rechunk((row_chunks,))
    after = updates.shape[1:]
    column = indices.reshape((indices.shape[0], *(1,) * len(after))).rechunk(updates.chunks[:1] + ((1,),) * len(after))

    def partial(u: Any, ix: Any) -> Any:
        return impl(np, u, np.asarray(ix).reshape(-1), dim=0, size=size)

    nb = len(row_chunks)
    stacked = da.map_blocks(partial, updates, column, dtype=updates.dtype,
                            chunks=((size,) * nb, *((a,) for a in after)))
    parts = [stacked[k * size:(k + 1) * size] for k in range(nb)]
    return da.stack(parts).sum(axis=0) if nb > 1 else parts[0]


def _lower(ins: Instruction, args: list[Any]) -> Any:
    spec = ops.spec(ins.op)
    if ins.op == "scatter_add":
        return _scatter_add(ins, *args)
    if ins.op == "square" and ins.dtype == "bool":
        return da.logical_and(args[0], args[0])
    if spec.ufunc is not None:
        return getattr(da, spec.ufunc)(*args)
    if ins.op == "matmul":
        return da.matmul(*args)
    if ins.op in ("cumsum", "cumprod"):  # the table's ufunc.accumulate has no Dask form
        return getattr(da, ins.op)(args[0], axis=int(ins.attr["dim"]))
    if ins.op in ("sum", "prod"):  # the table's np.add.reduce has no Dask form; da.sum is its tree reduction
        return getattr(da, ins.op)(args[0], axis=ins.attr.get("axis"), keepdims=bool(ins.attr.get("keepdims", False)))
    return spec.impl(da, *args, **ins.attr)


SMALL_LAZY_BYTES = 1 << 27  # a Dask argument not aligned with the rows is gathered whole up to this size


def _chunk_limit() -> int:
    """Dask's ``array.chunk-size``: whole-row chunks up to this size are cheap to rechunk to."""
    return int(dask.utils.parse_bytes(dask.config.get("array.chunk-size")))


@dataclass
class _Split:
    """A Dask argument whose non-row axes are split and too large to make whole."""

    name: str
    array: Any
    axes: tuple[int, ...]  # the split non-row axes


@dataclass
class _Arguments:
    """The arguments of one call, classified."""

    kinds: dict[int, seg.Kind]
    concrete: dict[int, Any]  # small values on the client
    arrays: dict[int, Any]  # Dask arrays (row, lazy small and lazy arguments)
    shapes: dict[int, tuple[int, ...]]
    n_rows: int
    row_chunks: tuple[int, ...]
    split: dict[int, _Split]

    def key(self) -> tuple[Any, ...]:
        parts: list[Any] = [self.n_rows, self.row_chunks]
        for slot in sorted(self.kinds):
            k = self.kinds[slot]
            a = self.arrays.get(slot, self.concrete.get(slot))
            parts.append((slot, repr(k), self.shapes.get(slot), str(getattr(a, "dtype", type(a).__name__)),
                          getattr(a, "chunks", None) if isinstance(a, da.Array) else None))
        return tuple(parts)


class DaskExecutable:
    """A plan ready to run on Dask (or NumPy) arrays."""

    name = "dask"

    def __init__(self, plan: Plan, chunks: Any = "auto", compute: bool = True, chunk_backend: str = "auto",
                 split_every: int = 8, fuse: bool = True) -> None:
        if chunk_backend not in ("auto", "native", "numpy"):
            raise BackendError(f"the dask backend's chunk_backend is 'auto', 'native' or 'numpy', got {chunk_backend!r}")
        if split_every < 2:
            raise BackendError(f"the dask backend's split_every must be at least 2, got {split_every}")
        self.plan = plan
        self.chunks = chunks
        self.compute = compute
        self.chunk_backend = chunk_backend
        self.split_every = split_every
        self.fuse = fuse
        self._lowerings: dict[tuple[Any, ...], seg.Lowering | None] = {}
        self.last: seg.Lowering | None = None  # the lowering of the last call (explain, tests)

    # ------------------------------------------------------------------ arguments

    def _arguments(self, args: tuple[Any, ...]) -> _Arguments:
        plan = self.plan
        if len(args) != len(plan.input_slots):
            raise SignatureError(f"{plan.name} takes {len(plan.input_slots)} arguments, got {len(args)}")
        slots = [s for s, _ in plan.input_slots]
        names = dict(plan.input_slots)
        chunked = [a for a in args if isinstance(a, da.Array) and a.ndim >= 1]
        if chunked:
            ref = max(chunked, key=lambda a: (a.numblocks[0], a.shape[0]))
            n_rows, row_chunks = int(ref.shape[0]), tuple(int(c) for c in ref.chunks[0])
        else:
            arrays = [np.asarray(a) for a in args if isinstance(a, np.ndarray) and a.ndim >= 1]
            if arrays:
                ref = max(arrays, key=lambda a: a.shape[0])
                n_rows = int(ref.shape[0])
                spec = self.chunks if not isinstance(self.chunks, (str, int)) else {0: self.chunks, **{
                    d: -1 for d in range(1, ref.ndim)}}
                row_chunks = tuple(int(c) for c in da.core.normalize_chunks(spec, ref.shape, dtype=ref.dtype)[0])
            else:
                n_rows, row_chunks = 0, ()
        limit = _chunk_limit()
        kinds: dict[int, seg.Kind] = {}
        concrete: dict[int, Any] = {}
        arrays_: dict[int, Any] = {}
        shapes: dict[int, tuple[int, ...]] = {}
        split: dict[int, _Split] = {}
        for slot, a in zip(slots, args, strict=True):
            shapes[slot] = tuple(int(d) for d in np.shape(a))
            if isinstance(a, np.ndarray) and a.ndim >= 1 and row_chunks and a.shape[0] == n_rows:
                a = da.from_array(a, chunks=(row_chunks, *a.shape[1:]))
            if not isinstance(a, da.Array):
                kinds[slot], concrete[slot] = seg.SMALL, a
                continue
            if a.ndim >= 1 and a.shape[0] == n_rows and row_chunks:
                other = tuple(d for d in range(1, a.ndim) if a.numblocks[d] > 1)
                whole_rows = max(row_chunks) * math.prod(a.shape[1:]) * a.dtype.itemsize
                if other and whole_rows > limit:
                    kinds[slot], arrays_[slot] = seg.LAZY, a
                    split[slot] = _Split(names[slot], a, other)
                    continue
                if a.chunks[0] != row_chunks or other:
                    a = a.rechunk({0: row_chunks, **{d: -1 for d in range(1, a.ndim)}})
                kinds[slot], arrays_[slot] = seg.Row(0), a
            elif a.nbytes <= SMALL_LAZY_BYTES:
                kinds[slot], arrays_[slot] = seg.SMALL, a.rechunk(-1) if any(n > 1 for n in a.numblocks) else a
            else:
                kinds[slot], arrays_[slot] = seg.LAZY, a
        return _Arguments(kinds, concrete, arrays_, shapes, n_rows, row_chunks, split)

    def _check(self, arguments: _Arguments) -> Any:
        """The check for instructions reading a lazy value: a reduction or contraction over a
        split non-row axis of an argument (or of elementwise results of one) is refused."""
        split: dict[int, _Split] = dict(arguments.split)
        limit = _chunk_limit()

        def check(ins: Instruction, kinds: list[seg.Kind]) -> None:
            spec = ops.spec(ins.op)
            found = [(pos, split[s]) for pos, s in enumerate(ins.inputs) if s in split]
            if not found:
                return
            pos, info = found[0]
            shape = info.array.shape
            if spec.elementwise and ins.shape == tuple(shape):
                split[ins.output] = info
                return
            reduced: tuple[int, ...] = ()
            if spec.kind is ops.Kind.REDUCTION:
                reduced = seg._axes(ins.attr.get("axis"), len(shape))
            elif ins.op == "matmul":
                reduced = (len(shape) - 1,) if pos == 0 else ((len(shape) - 2,) if len(shape) >= 2 else (0,))
            bad = [a for a in reduced if a in info.axes]
            if not bad:
                return
            ax = bad[0]
            row_bytes = math.prod(shape[1:]) * info.array.dtype.itemsize
            rows = limit // row_bytes
            verb = "contracts" if ins.op == "matmul" else "reduces over"
            size = dask.utils.format_bytes
            fix = (f"chunk it along axis 0 only, e.g. .rechunk({{0: {rows}, {ax}: -1}})" if rows >= 1 else
                   f"one row alone is {size(row_bytes)}: raise dask's array.chunk-size above that and chunk it "
                   "along axis 0 only")
            raise BackendError(
                f"the dask backend: {ins.op} (v{ins.output}) {verb} axis {ax} of {info.name}, which is split into "
                f"{len(info.array.chunks[ax])} chunks {_brief(info.array.chunks[ax])}; whole rows would make chunks of "
                f"{size(max(arguments.row_chunks) * row_bytes)}, over dask's array.chunk-size ({size(limit)}): {fix}")

        return check

    def _lowering(self, arguments: _Arguments) -> seg.Lowering | None:
        key = arguments.key()
        if key in self._lowerings:
            return self._lowerings[key]
        lowering = None
        if self.fuse and all(c > 0 for c in arguments.row_chunks):
            shapes: dict[int, tuple[int, ...] | None] = dict(arguments.shapes)
            for slot, _v, _d in self.plan.constants:
                shapes[slot] = None
            for ins in self.plan.instructions:
                shapes[ins.output] = ins.shape
            concrete = set(arguments.concrete)
            analysis = seg.analyse(self.plan, arguments.kinds, concrete, shapes, arguments.n_rows,
                                   self._check(arguments))
            for slot, (small, _axis) in analysis.promotions.items():
                shapes[slot] = shapes[small]
            backend = self.chunk_backend
            if backend == "auto":
                from egraph_dsl.backends import is_available

                backend = "native" if is_available("native") else "numpy"
            lowering = seg.lower(self.plan, analysis, shapes, backend, arguments.row_chunks)
            for g in lowering.segments.values():  # build now: workers then load them from the disk cache
                for c in sorted(set(arguments.row_chunks)):
                    g.code.executable(c)
        self._lowerings[key] = lowering
        return lowering

    # ---------------------------------------------------------------------- graph

    def graph(self, *args: Any) -> list[Any]:
        """The plan's outputs as lazy Dask arrays (NumPy values for those computed on the client)."""
        arguments = self._arguments(args)
        lowering = self._lowering(arguments)
        self.last = lowering
        with np.errstate(all="ignore"):
            if lowering is None:
                return self._per_op(arguments)
            return _Build(self, lowering, arguments).outputs()

    def _per_op(self, arguments: _Arguments) -> list[Any]:
        plan = self.plan
        values: dict[int, Any] = {}
        for slot, _name in plan.input_slots:
            a = arguments.arrays.get(slot, arguments.concrete.get(slot))
            if isinstance(a, np.ndarray) and a.ndim > 0:
                a = da.from_array(a, chunks=self.chunks)
            values[slot] = a
        for slot, value, dtype in plan.constants:
            values[slot] = np.asarray(value, dtype=dtype)[()]
        for ins in plan.instructions:
            values[ins.output] = _lower_one(ins, [values[i] for i in ins.inputs])
        return _results(plan, values)

    def __call__(self, *args: Any) -> Any:
        outs = self.graph(*args)
        if self.compute:
            with np.errstate(all="ignore"):
                outs = [np.asarray(o) for o in dask.compute(*outs)]
            outs = [np.asarray(o, dtype=d) for o, d in zip(outs, self.plan.output_dtypes, strict=True)]
        if self.plan.output_list:
            return list(outs)
        return tuple(outs) if self.plan.output_tuple else outs[0]


def _brief(chunks: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, chunks[:3])) + (", ...)" if len(chunks) > 3 else ")")


def _lower_one(ins: Instruction, args: list[Any]) -> Any:
    try:
        return _lower(ins, args)
    except BackendError:
        raise
    except Exception as e:
        raise BackendError(f"the dask backend cannot lower {ins.op} (v{ins.output}, "
                           f"shape {ins.shape}, {ins.dtype}): {type(e).__name__}: {e}") from e


def _dtype_of(plan: Plan, slot: int) -> str:
    return seg.plan_dtype(plan.instructions, slot)


def _results(plan: Plan, values: dict[int, Any]) -> list[Any]:
    outs = []
    copies = plan.output_copy or (False,) * len(plan.outputs)
    for slot, dtype, copy in zip(plan.outputs, plan.output_dtypes, copies, strict=True):
        v = values[slot]
        if isinstance(v, da.Array):
            outs.append(v.astype(dtype))
        else:
            outs.append(np.array(v, dtype=dtype) if copy or not isinstance(v, np.ndarray) else np.asarray(v, dtype=dtype))
    return outs


class _Build:
    """The Dask graph of one call of a lowered plan."""

    def __init__(self, ex: DaskExecutable, lowering: seg.Lowering, arguments: _Arguments) -> None:
        self.ex = ex
        self.low = lowering
        self.args = arguments
        self.prefix = f"egd-{ex.plan.name}-{uuid.uuid4().hex[:10]}"
        self.layer: dict[Any, Any] = {}
        self.deps: list[Any] = list(arguments.arrays.values())
        self.concrete: dict[int, Any] = dict(arguments.concrete)
        self.row_arrays: dict[Any, Any] = {s: a for s, a in arguments.arrays.items()
                                           if isinstance(arguments.kinds[s], seg.Row)}
        self.row_made: dict[int, tuple[int, int, int]] = {}  # plan slot -> (row axis, stage, output index)
        self.tail_key: dict[int, str] = {}

    # keys
    def data(self, slot: int) -> Any:
        key = (f"{self.prefix}-data", slot)
        if key not in self.layer:
            self.layer[key] = self.concrete[slot]
        return key

    def source(self, slot: int) -> Any:
        """What a task reads for small value ``slot``: its data key, a tail's key or an argument's block."""
        if slot in self.concrete:
            return self.data(slot)
        home = self.low.home[slot]
        if home in self.tail_key and slot not in self.args.arrays:
            return self.tail_key[home]
        arr = self.args.arrays[slot]
        return (arr.name, *(0,) * arr.ndim)

    def row_key(self, ref: Any, axis: int, k: int) -> Any:
        if ref in self.row_arrays:
            arr = self.row_arrays[ref]
            npy = _NPY_FILES.get(arr.name)
            if npy is not None and axis == 0:  # read by the chunk's own task: no read-ahead of other chunks
                start = sum(self.args.row_chunks[:k])
                return (_read_rows, npy, start, start + self.args.row_chunks[k])
            return (arr.name, *(k if d == axis else 0 for d in range(arr.ndim)))
        _axis, stage, j = self.row_made[ref]
        return (seg.pick, (f"{self.prefix}-seg{stage}", k), 0, j)  # a nested task: the segment's output j

    def outputs(self) -> list[Any]:
        low, plan = self.low, self.ex.plan
        self.shapes: dict[Any, tuple[int, ...] | None] = dict(self.args.shapes)
        for ins in plan.instructions:
            self.shapes[ins.output] = ins.shape
        if low.client is not None:
            fn = low.client.executable(0)
            out = fn(*(self.concrete[s] for s in low.client_inputs))
            self.concrete.update(zip(low.client_outputs, out, strict=True))
        for slot, (small, axis) in low.analysis.promotions.items():
            value = np.asarray(self.concrete[small])
            chunks = tuple(self.args.row_chunks if d == axis else (n,) for d, n in enumerate(value.shape))
            arr = da.from_array(value, chunks=chunks)
            self.row_arrays[slot] = arr
            self.deps.append(arr)
        roots: dict[int, Any] = {}
        for s in sorted(set(low.segments) | set(low.tails)):
            if s in low.tails:
                self._tail(low.tails[s], roots.get(s - 1))
            if s in low.segments:
                roots[s] = self._segment(low.segments[s])
        needed = {s for i in low.lazy for s in plan.instructions[i].inputs} | set(plan.outputs)
        small_lazy = [s for s in needed if s not in self.concrete and s in low.home and s not in self.args.arrays]
        base = _hlg.HighLevelGraph.from_collections(self.prefix, self.layer, dependencies=self.deps)
        layers, dependencies = dict(base.layers), dict(base.dependencies)
        picks: dict[int, str] = {}  # slot -> the layer (and array) name of its Dask array
        for s in small_lazy:
            name = picks[s] = f"{self.prefix}-small{s}"
            shape = self.shapes[s] or ()
            layers[name] = _hlg.MaterializedLayer({(name, *(0,) * len(shape)): (seg.pick, self.tail_key[low.home[s]], s)})
            dependencies[name] = {self.prefix}
        for s in needed:
            if s in self.row_made:
                axis, stage, j = self.row_made[s]
                name = picks[s] = f"{self.prefix}-row{s}"
                shape = self.shapes[s] or ()
                segment = f"{self.prefix}-seg{stage}"
                layers[name] = _hlg.MaterializedLayer({
                    (name, *(k if d == axis else 0 for d in range(len(shape)))): (seg.pick, (segment, k), 0, j)
                    for k in range(len(self.args.row_chunks))})
                dependencies[name] = {self.prefix}
        hlg = _hlg.HighLevelGraph(layers, dependencies)
        values: dict[int, Any] = {}
        for slot, _ in plan.input_slots:
            values[slot] = self.args.arrays.get(slot, self.concrete.get(slot))
        for slot, number, dtype in plan.constants:
            values[slot] = np.asarray(number, dtype=dtype)[()]
        values.update(self.concrete)
        for s, name in picks.items():
            shape = self.shapes[s] or ()
            if s in self.row_made:
                axis = self.row_made[s][0]
                chunks = tuple(self.args.row_chunks if d == axis else (n,) for d, n in enumerate(shape))
            else:
                chunks = tuple((n,) for n in shape)
            values[s] = da.Array(hlg, name, chunks, meta=np.empty((0,) * len(shape), dtype=_dtype_of(plan, s)))
        for i in low.lazy:
            ins = plan.instructions[i]
            values[ins.output] = _lower_one(ins, [values[x] for x in ins.inputs])
        return _results(plan, values)

    def code(self, code: seg.Code | None, name: str) -> Any:
        """A key holding ``code`` (once in the graph: tasks would each pickle their own copy)."""
        if code is None:
            return None
        key = (f"{self.prefix}-code", name)
        self.layer[key] = code
        return key

    def _tail(self, tail: seg.Tail, root: Any) -> None:
        key = f"{self.prefix}-tail{tail.stage}"
        part = tail.partials
        self.layer[key] = (seg.run_tail, self.code(tail.code, f"t{tail.stage}"), tail.code_inputs, tail.code_outputs,
                           tuple(part.partial_slots) if part else (), part.layout if part else (),
                           part.counts if part else (), part.dtypes if part else (), root,
                           tuple(tail.sources), [self.source(s) for s in tail.sources])
        self.tail_key[tail.stage] = key

    def _segment(self, g: seg.Segment) -> Any:
        name = f"{self.prefix}-seg{g.stage}"
        sources = [self.source(s) for s in g.small_inputs]
        smalls = tuple(g.small_inputs)
        code = self.code(g.code, f"s{g.stage}")
        leaves = []
        for k, c in enumerate(self.args.row_chunks):
            key = (name, k)
            rows = [self.row_key(ref, axis, k) for ref, axis in g.row_inputs]
            self.layer[key] = (seg.run_segment, code, len(g.row_outputs), c, smalls, sources, *rows)
            leaves.append(key)
        for j, (slot, axis) in enumerate(g.row_outputs):
            self.row_made[slot] = (axis, g.stage, j)
        if not g.layout:
            return None
        return seg.tree(self.layer, name, leaves, g.layout, self.ex.split_every)


class NpyFile:
    """A ``.npy`` file read a block at a time, as :func:`from_npy` chunks it. It pickles as its path
    (a memmap would pickle as all of its data): a distributed worker reads its chunks from the file
    itself, and the client never reads the data."""

    def __init__(self, path: Any) -> None:
        self.path = str(path)
        mapped = np.load(self.path, mmap_mode="r")
        self.shape: tuple[int, ...] = tuple(mapped.shape)
        self.dtype = mapped.dtype
        self.ndim = mapped.ndim
        del mapped

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.array(np.load(self.path, mmap_mode="r")[key])  # a copy: no mapping outlives the read

    def __repr__(self) -> str:
        return f"NpyFile({self.path!r}, shape={self.shape}, dtype={self.dtype})"


_NPY_FILES: dict[str, NpyFile] = {}  # Dask array name -> its file, for arrays from_npy made


def _read_rows(f: NpyFile, start: int, stop: int) -> np.ndarray:
    return f[start:stop]


def from_npy(path: Any, chunks: Any = "auto") -> Any:
    """The array in the ``.npy`` file ``path`` as a Dask array chunked along its rows (``chunks``:
    rows per chunk, or ``"auto"`` for dask's chunk size; a tuple gives every axis), each chunk read
    from the file by the task that needs it (on a worker, under ``distributed``). The Dask backend's
    chunk tasks read their rows of it themselves, so a worker never reads chunks ahead of the work
    (separate read tasks, which a scheduler may run early, held the whole file in one worker). The
    file must be readable at the same path wherever tasks run."""
    import os

    f = NpyFile(path)
    spec = chunks if not isinstance(chunks, (str, int)) else {0: chunks, **{d: -1 for d in range(1, f.ndim)}}
    stat = os.stat(f.path)
    token = dask.base.tokenize(f.path, stat.st_size, stat.st_mtime_ns, spec)
    array = da.from_array(f, chunks=spec, name=f"npy-{token}", asarray=False, fancy=False, inline_array=True,
                          meta=np.empty((0,) * f.ndim, dtype=f.dtype))
    _NPY_FILES[array.name] = f
    return array


def compile_plan(plan: Plan, **options: Any) -> DaskExecutable:
    known = {"chunks", "compute", "chunk_backend", "split_every", "fuse"}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"the dask backend takes options chunks= and compute= (and chunk_backend=, split_every=, "
                        f"fuse=), got {sorted(unknown)}")
    return DaskExecutable(plan, **options)
