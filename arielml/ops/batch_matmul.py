"""BATCH_MATMUL: out[..., i, j] = sum_k lhs[..., i, k] * rhs[..., k, j] over broadcast batch axes,
with adj_x / adj_y transposing the last two axes of lhs / rhs first. Ranks 2 to 5, as LiteRT and
TFLite Micro accept.

Variants (as TFLite Micro supports them; anything else is rejected by `check`):
  - float32: one float32 product and one addition at a time, k ascending from 0.0f: LiteRT's
    reference order, so the reference and the C kernel are bit-exact;
  - int8 (per-tensor, any zero points): an int32 accumulator of (lhs - zp) * (rhs - zp) that wraps,
    then one requantisation with input_scale * rhs_scale / output_scale (in double);
  - int16 (zero points 0): an int64 accumulator and the reduced-multiplier int64 requantisation,
    whose result is cast to int32 as the reference casts it (transpose_conv.requantize_int64).
The right-hand side may be a constant or computed at run time. LiteRT's hybrid path (float32 lhs,
int8 rhs) is not in TFLite Micro and is rejected.

The C kernel (runtime/kernels/batch_matmul.c): one work item = one output row (i) of one output
batch; a constant right-hand side is repacked at compile time so that its k axis is contiguous."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import Graph, Node, Tensor
from arielml.ops.data_kernels import require_addressable, strides_of
from arielml.ops.kernel_support import check_shifts, rq_field
from arielml.ops.quant_math import DOUBLE_ROUNDING, multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import input_tensor
from arielml.ops.transpose_conv import requantize_int64

DTYPES = ("float32", "int8", "int16")
MAX_BATCH_AXES = 3  # ranks up to 5


@dataclass(frozen=True)
class BatchMatMulOptions:
    adj_x: bool = False
    adj_y: bool = False
    asymmetric_quantize_inputs: bool = False


@dataclass(frozen=True)
class BatchMatMulParams:
    out_shape: tuple[int, ...]
    adj_x: bool
    adj_y: bool
    out_dtype: str
    lhs_zero_point: int = 0
    rhs_zero_point: int = 0
    output_zero_point: int = 0
    multiplier: int = 0
    shift: int = 0
    rounding: str = DOUBLE_ROUNDING


def _tensors(node: Node, graph: Graph) -> tuple[Tensor, Tensor, Tensor]:
    return (input_tensor(node, graph, 0, "left-hand"), input_tensor(node, graph, 1, "right-hand"),
            graph.tensors[node.outputs[0]])


def _shapes(node: Node, graph: Graph) -> tuple[tuple[int, ...], int, int, int]:
    """(broadcast batch shape, rows, depth, cols)."""
    lhs, rhs, _ = _tensors(node, graph)
    if not 2 <= len(lhs.shape) <= 5 or not 2 <= len(rhs.shape) <= 5:
        raise unsupported(node, f"needs inputs of rank 2 to 5, got {lhs.shape} and {rhs.shape}")
    o = node.options or BatchMatMulOptions()
    rows, depth = (lhs.shape[-1], lhs.shape[-2]) if o.adj_x else (lhs.shape[-2], lhs.shape[-1])
    depth_rhs, cols = (rhs.shape[-1], rhs.shape[-2]) if o.adj_y else (rhs.shape[-2], rhs.shape[-1])
    if depth != depth_rhs:
        raise unsupported(node, f"the inner dimensions differ: {lhs.shape} (adj_x={o.adj_x}) times {rhs.shape} "
                                f"(adj_y={o.adj_y})")
    rank = max(len(lhs.shape), len(rhs.shape))
    a = (1,) * (rank - len(lhs.shape)) + lhs.shape[:-2]
    b = (1,) * (rank - len(rhs.shape)) + rhs.shape[:-2]
    batch = []
    for da, db in zip(a, b):
        if da != db and 1 not in (da, db):
            raise unsupported(node, f"batch dimensions of {lhs.shape} and {rhs.shape} do not broadcast")
        batch.append(max(da, db))
    if min(lhs.shape + rhs.shape) < 1:
        raise unsupported(node, "empty tensors are not supported")
    return tuple(batch), rows, depth, cols


def check(node: Node, graph: Graph) -> None:
    _shapes(node, graph)
    lhs, rhs, out = _tensors(node, graph)
    if lhs.dtype not in DTYPES or rhs.dtype != lhs.dtype or out.dtype != lhs.dtype:
        raise unsupported(node, f"{lhs.dtype} x {rhs.dtype} -> {out.dtype} is not supported (supported: the same "
                                "type throughout, float32, int8 or int16; hybrid float32 x int8 is not)")
    if lhs.dtype == "float32":
        return
    for t in (lhs, rhs, out):
        if t.quant is None or t.quant.per_channel:
            raise unsupported(node, f"tensor '{t.name}' needs per-tensor quantisation parameters")
        if not all(np.isfinite(s) and s > 0 for s in t.quant.scale):
            raise unsupported(node, f"tensor '{t.name}' has a zero, negative or non-finite scale")
    if lhs.dtype == "int16" and any(t.quant.single_zero_point != 0 for t in (lhs, rhs, out)):
        raise unsupported(node, "int16 tensors must have zero point 0")


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    batch, rows, _, cols = _shapes(node, graph)
    return [batch + (rows, cols)]


def macs(node: Node, graph: Graph) -> int:
    batch, rows, depth, cols = _shapes(node, graph)
    return int(np.prod(batch, dtype=np.int64)) * rows * depth * cols


def prepare(node: Node, graph: Graph, semantics: Semantics) -> BatchMatMulParams:
    lhs, rhs, out = _tensors(node, graph)
    o = node.options or BatchMatMulOptions()
    common = dict(out_shape=infer_shapes(node, graph)[0], adj_x=bool(o.adj_x), adj_y=bool(o.adj_y),
                  out_dtype=out.dtype)
    if lhs.dtype == "float32":
        return BatchMatMulParams(**common)
    # GetQuantizedConvolutionMultipler: the scales widened to double, multiplied, then divided
    real = float(np.float32(lhs.quant.single_scale)) * float(np.float32(rhs.quant.single_scale)) \
        / float(np.float32(out.quant.single_scale))
    multiplier, shift = quantize_multiplier(real)
    if shift > 30:
        raise unsupported(node, f"scale ratio {real:g} is too large to requantise")
    # Measured (tests/test_ops_batch_matmul.py): LiteRT's reference BATCH_MATMUL and TFLite Micro
    # requantise the int32 accumulator with gemmlowp's double rounding.
    return BatchMatMulParams(**common, lhs_zero_point=lhs.quant.single_zero_point,
                             rhs_zero_point=rhs.quant.single_zero_point,
                             output_zero_point=out.quant.single_zero_point, multiplier=multiplier, shift=shift,
                             rounding=DOUBLE_ROUNDING)


def _operands(p: BatchMatMulParams, lhs: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """lhs as [..., rows, depth] and rhs as [..., depth, cols], batch axes broadcast to the output's."""
    if p.adj_x:
        lhs = np.swapaxes(lhs, -1, -2)
    if p.adj_y:
        rhs = np.swapaxes(rhs, -1, -2)
    batch = p.out_shape[:-2]
    lhs = lhs.reshape((1,) * (len(batch) - (lhs.ndim - 2)) + lhs.shape)
    rhs = rhs.reshape((1,) * (len(batch) - (rhs.ndim - 2)) + rhs.shape)
    return (np.broadcast_to(lhs, batch + lhs.shape[-2:]), np.broadcast_to(rhs, batch + rhs.shape[-2:]))


def evaluate(p: BatchMatMulParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    lhs, rhs = _operands(p, inputs[0], inputs[1])
    if p.out_dtype == "float32":
        acc = np.zeros(p.out_shape, dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(lhs.shape[-1]):  # LiteRT's order: one product and one addition at a time
                acc += lhs[..., :, k:k + 1] * rhs[..., k:k + 1, :]
        return [acc]
    # exact in int64: |product| <= 2^16 (int8 with zero points) or 2^30 (int16), depth < 2^31
    acc = np.matmul(lhs.astype(np.int64) - p.lhs_zero_point, rhs.astype(np.int64) - p.rhs_zero_point)
    info = np.iinfo(np.dtype(p.out_dtype))
    if p.out_dtype == "int16":
        scaled = wrap_int32(requantize_int64(acc, np.int64(p.multiplier), np.int64(p.shift)))
    else:
        scaled = multiply_by_quantized_multiplier(wrap_int32(acc), p.multiplier, p.shift, p.rounding)
    return [np.clip(scaled + p.output_zero_point, info.min, info.max).astype(p.out_dtype)]


# --------------------------------------------------------------------------- C lowering

def work_items(node: Node, graph: Graph) -> int:
    """Output rows of every output batch."""
    batch, rows, _, _ = _shapes(node, graph)
    return int(np.prod(batch, dtype=np.int64)) * rows


def _batch_strides(shape: tuple[int, ...], batch: tuple[int, ...]) -> list[int]:
    """Element strides of a tensor's batch axes aligned to the output's (0 where it broadcasts),
    padded in front to MAX_BATCH_AXES."""
    strides = strides_of(shape)[:-2]
    dims = shape[:-2]
    aligned = [0] * (len(batch) - len(dims)) + [s if d != 1 else 0 for d, s in zip(dims, strides)]
    return [0] * (MAX_BATCH_AXES - len(aligned)) + aligned


def lower(node: Node, graph: Graph, p: BatchMatMulParams) -> KernelCall:
    lhs, rhs, out = _tensors(node, graph)
    require_addressable(node, lhs, rhs, out)
    batch, rows, depth, cols = _shapes(node, graph)
    dims = [1] * (MAX_BATCH_AXES - len(batch)) + list(batch)
    # lhs element (i, k) and rhs element (k, j) strides as stored
    lhs_i, lhs_k = (1, rows) if p.adj_x else (depth, 1)
    rhs_batch = _batch_strides(rhs.shape, batch)
    rhs_buffer = node.inputs[1]
    packed: tuple = ()
    if rhs.is_constant:  # repacked [rhs batch...][cols][depth]: the k axis contiguous for the inner loop
        data = np.swapaxes(rhs.data, -1, -2) if not p.adj_y else rhs.data
        ctype = {"float32": "float", "int8": "int8_t", "int16": "int16_t"}[p.out_dtype]
        packed = (("packed_rhs", CArray.of(ctype, np.ascontiguousarray(data))),)
        rhs_k, rhs_j = 1, depth  # strides in the packed [cols][depth] layout; batch strides unchanged
        rhs_buffer = -1
    else:
        rhs_k, rhs_j = (1, depth) if p.adj_y else (cols, 1)
    fields = [("batch_dims", CArray.of("int32_t", dims)),
              ("lhs_batch_strides", CArray.of("int32_t", _batch_strides(lhs.shape, batch))),
              ("rhs_batch_strides", CArray.of("int32_t", rhs_batch)),
              ("rows", rows), ("depth", depth), ("cols", cols), ("lhs_row_stride", lhs_i), ("lhs_depth_stride", lhs_k),
              ("rhs_depth_stride", rhs_k), ("rhs_col_stride", rhs_j)] + list(packed)
    if p.out_dtype != "float32":
        check_shifts(node, np.array([p.shift]), hi=14 if p.out_dtype == "int16" else 30)
        info = np.iinfo(np.dtype(p.out_dtype))
        fields += [("lhs_offset", -p.lhs_zero_point), ("rhs_offset", -p.rhs_zero_point),
                   ("output_zero_point", p.output_zero_point), ("multiplier", p.multiplier), ("shift", p.shift),
                   ("act_min", int(info.min)), ("act_max", int(info.max))]
        if p.out_dtype == "int8":  # 32-bit record: exact without an accumulator clamp for double rounding
            assert p.rounding == DOUBLE_ROUNDING
            fields.append(rq_field([p.multiplier], [p.shift], p.rounding))
            if depth >= 1 << 17:
                raise no_kernel(node, f"an inner dimension of {depth} (the int8 kernel's exact dot products "
                                      "take < 131072)")
            if rhs.is_constant:  # per packed column: lhs_offset * sum y + depth * lhs_offset * rhs_offset
                sums = packed[0][1].values
                column_sums = np.asarray(sums, dtype=np.int64).reshape(-1, depth).sum(axis=1)
                terms = wrap_int32(-p.lhs_zero_point * column_sums + depth * p.lhs_zero_point * p.rhs_zero_point)
                fields.append(("rhs_column_terms", CArray.of("int32_t", terms)))
    suffix = {"float32": "f32", "int8": "s8", "int16": "s16"}[p.out_dtype]
    return KernelCall(f"ariel_batch_matmul_{suffix}", "ariel_batch_matmul_params", tuple(fields),
                      (node.inputs[0], rhs_buffer, node.outputs[0]), "batch_matmul.c")


BATCH_MATMUL = register(OpDef(
    name="BATCH_MATMUL", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
    options_type=BatchMatMulOptions, tflite_options="BatchMatMulOptions", macs=macs, check=check,
    work_items=work_items, lower=lower, num_inputs=(2, 2), num_outputs=(1, 1)))
