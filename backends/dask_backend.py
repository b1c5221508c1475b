"""The Dask backend (optional extra ``egraph-dsl[dask]``): a Plan lowered to a Dask graph.

Each instruction is built with the op table's own implementation over the ``dask.array``
namespace, so elementwise ops, gathers and broadcasts become blockwise layers (Dask's graph
optimization fuses a chain of them into one task per chunk), reductions (sum / max / min /
logsumexp, built from max + sum) are Dask tree reductions, and matmuls are Dask's blocked
contractions (a contraction over a chunked axis is per-chunk partial products plus a sum).

Arguments may be ``dask.array`` arrays or NumPy arrays (chunked with the ``chunks=`` option,
default ``"auto"``). With ``compute=True`` (the default) the results are computed with the
active scheduler (the threaded one, or a ``distributed.Client`` when one is the default) and
returned as NumPy arrays in the plan's dtypes; with ``compute=False`` they are Dask arrays.
An instruction Dask cannot express raises BackendError naming it.

Float results equal the NumPy backend's up to the reordering of sums across chunks (a sum of
n terms differs by at most about ``n * eps * sum(|x|)``); integer and elementwise results are exact.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from egraph_dsl import ops
from egraph_dsl.errors import BackendError, SignatureError
from egraph_dsl.plan import Instruction, Plan

try:  # dask ships no complete annotations: its namespaces are used as Any
    da: Any = importlib.import_module("dask.array")
    dask: Any = importlib.import_module("dask")
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
    if ins.op == "sum":  # the table's np.add.reduce has no Dask form; da.sum is its tree reduction
        return da.sum(args[0], axis=ins.attr.get("axis"), keepdims=bool(ins.attr.get("keepdims", False)))
    return spec.impl(da, *args, **ins.attr)


class DaskExecutable:
    """A plan ready to run on Dask (or NumPy) arrays."""

    name = "dask"

    def __init__(self, plan: Plan, chunks: Any = "auto", compute: bool = True) -> None:
        self.plan = plan
        self.chunks = chunks
        self.compute = compute

    def graph(self, *args: Any) -> list[Any]:
        """The plan's outputs as lazy Dask arrays (nothing is computed)."""
        plan = self.plan
        if len(args) != len(plan.input_slots):
            raise SignatureError(f"{plan.name} takes {len(plan.input_slots)} arguments, got {len(args)}")
        values: dict[int, Any] = {}
        for (slot, _name), a in zip(plan.input_slots, args, strict=True):
            if isinstance(a, np.ndarray) and a.ndim > 0:
                a = da.from_array(a, chunks=self.chunks)
            values[slot] = a
        for slot, value, dtype in plan.constants:
            values[slot] = np.asarray(value, dtype=dtype)[()]
        with np.errstate(all="ignore"):
            for ins in plan.instructions:
                try:
                    values[ins.output] = _lower(ins, [values[i] for i in ins.inputs])
                except BackendError:
                    raise
                except Exception as e:
                    raise BackendError(f"the dask backend cannot lower {ins.op} (v{ins.output}, "
                                       f"shape {ins.shape}, {ins.dtype}): {type(e).__name__}: {e}") from e
        outs = []
        for slot, dtype in zip(plan.outputs, plan.output_dtypes, strict=True):
            v = values[slot]
            outs.append(v.astype(dtype) if isinstance(v, da.Array) else np.array(v, dtype=dtype))
        return outs

    def __call__(self, *args: Any) -> Any:
        outs = self.graph(*args)
        if self.compute:
            with np.errstate(all="ignore"):
                outs = [np.asarray(o) for o in dask.compute(*outs)]
        if self.plan.output_list:
            return list(outs)
        return tuple(outs) if self.plan.output_tuple else outs[0]


def compile_plan(plan: Plan, **options: Any) -> DaskExecutable:
    unknown = set(options) - {"chunks", "compute"}
    if unknown:
        raise TypeError(f"the dask backend takes options chunks= and compute=, got {sorted(unknown)}")
    return DaskExecutable(plan, **options)
