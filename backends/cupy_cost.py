"""A device-aware cost model: the estimated seconds one op application takes on a GPU.

On a GPU, fusable elementwise ops cost almost nothing beyond the bytes their fused kernel
moves, while every op that is not fused pays a kernel launch and a full round trip of its
operands through device memory. Pricing that difference lets the extractor prefer, on the
GPU, a longer elementwise chain over a shorter one that needs an extra library call.
Defaults describe an NVIDIA H200 (about 4.8 TB/s of HBM3e bandwidth).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from egraph_dsl import ops

from .fusion import FUSABLE_OPERAND_DTYPES, FUSABLE_REDUCTIONS, VIEW_OPS

Shape = tuple[int, ...]


@dataclass(frozen=True)
class GpuSpec:
    """Throughput numbers of one device (seconds, bytes, FLOP/s)."""

    name: str = "H200"
    bandwidth: float = 4.8e12  # bytes/s of device memory
    flops_fp64: float = 34e12  # vector FP64
    flops_fp32: float = 67e12
    matmul_fp64: float = 67e12  # tensor-core FP64
    matmul_fp32: float = 400e12  # TF32-class tensor throughput a library GEMM reaches
    launch: float = 5e-6  # one kernel launch as seen from Python (CuPy dispatch included)
    fused_traffic: float = 0.05  # share of an output's bytes a fused member is charged


H200 = GpuSpec()


def _size(shape: Shape | None) -> int:
    return math.prod(shape or ())


def _itemsize(dtype: str | None) -> int:
    return 1 if dtype == "bool" else 4 if dtype in ("float32", "int32") else 8


def gpu_node_cost(op: str, arg_shapes: Sequence[Shape | None], out_shape: Shape | None,
                  dtype: str | None, device: GpuSpec = H200) -> float:
    """Estimated seconds of one application of ``op`` on ``device`` (a cost-model entry).

    ``arg_shapes`` are the operands' shapes (None for weak scalars), ``dtype`` the result's.
    """
    spec = ops.spec(op)
    item = _itemsize(dtype)
    out_bytes = _size(out_shape) * item
    in_bytes = sum(_size(s) for s in arg_shapes if s is not None) * item
    peak = device.flops_fp32 if dtype == "float32" else device.flops_fp64
    compute = ops.flops(op, tuple(arg_shapes), out_shape) / peak
    if spec.kind is ops.Kind.LEAF:
        return 0.0
    if op in VIEW_OPS:
        return 1e-9  # a view: no kernel, no traffic (a tie-breaker against needless layout ops)
    if out_shape is None:
        return 1e-9  # a weak scalar computed on the host
    if spec.elementwise and op in FUSABLE_OPERAND_DTYPES:
        # inside a fused kernel: its arithmetic plus a small share of boundary traffic
        return compute + device.fused_traffic * out_bytes / device.bandwidth
    if op in FUSABLE_REDUCTIONS:
        # closes a fused kernel: one pass over its input (read by the fused producer) + a launch
        return device.launch + compute + in_bytes / device.bandwidth
    if spec.kind is ops.Kind.LINALG and op == "matmul":
        matmul_peak = device.matmul_fp32 if dtype == "float32" else device.matmul_fp64
        work = ops.flops(op, tuple(arg_shapes), out_shape) / matmul_peak
        return device.launch + max(work, (in_bytes + out_bytes) / device.bandwidth)
    if op == "logsumexp":  # max pass, exp-sum pass, log: three kernels over the input
        return 3 * device.launch + compute + 2 * in_bytes / device.bandwidth
    # everything else runs as one library kernel that reads its inputs and writes its output
    return device.launch + compute + (in_bytes + out_bytes) / device.bandwidth
