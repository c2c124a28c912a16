"""MEAN over any set of axes (keep_dims or not).

Quantised inputs follow LiteRT's reference path (reference_ops::QuantizedMeanOrSum): an int32 sum of
the raw values, minus zero_point * n, times one fixed-point multiplier that folds the scale ratio
and 1/n together, plus the output zero point. The folding is done at compile time here:
  (multiplier, shift) = QuantizeMultiplier(input_scale / output_scale)
  k = min(floor(log2 n), 32, 31 + shift)
  multiplier' = (multiplier << k) / n   (integer division),   shift' = shift - k
and the product is rounded twice (gemmlowp style; measured, see _plan).
Float32 sums in single precision, one element at a time in row-major order, and divides by n;
int32 sums in 64 bits and divides truncating."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import Graph, Node
from arielml.ops.common import float_requantize
from arielml.ops.data_kernels import merge_walk, require_addressable, strides_of
from arielml.ops.quant_math import (DOUBLE_ROUNDING, multiply_by_quantized_multiplier, quantize_multiplier,
                                    wrap_int32)
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import check_dtypes, constant_ints, input_tensor

MEAN_DTYPES = ("int8", "uint8", "int16", "int32", "float32")
MEAN_MAX_RANK = 8  # ARIEL_MEAN_MAX_RANK


@dataclass(frozen=True)
class ReducerOptions:
    keep_dims: bool = False


@dataclass(frozen=True)
class MeanRequant:
    input_zero_point: int
    output_zero_point: int
    multiplier: int  # already divided by the number of reduced elements
    shift: int
    rounding: str
    # semantics "onnxruntime": QLinearGlobalAveragePool's float32 scale x_scale / (y_scale * count);
    # the centred sum is requantised as MLAS does (float32 product, half to even) instead
    float_scale: float | None = None


@dataclass(frozen=True)
class MeanParams:
    axes: tuple[int, ...]  # resolved, duplicates removed
    count: int  # elements averaged into each output
    out_shape: tuple[int, ...]
    out_dtype: str
    requant: MeanRequant | None = None  # int8 / uint8 / int16


def fold_mean_multiplier(multiplier: int, shift: int, count: int) -> tuple[int, int]:
    """Fold 1/count into a quantised multiplier the way LiteRT's QuantizedMeanOrSum does."""
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << k) // count, shift - k


def _plan(node: Node, graph: Graph) -> MeanParams:
    x = input_tensor(node, graph, 0, "data")
    out = graph.tensors[node.outputs[0]]
    dtype = check_dtypes(node, graph, [x, out], MEAN_DTYPES)
    rank = len(x.shape)
    if rank == 0 or x.num_elements == 0:
        raise unsupported(node, "the mean of a scalar or an empty tensor is not supported")
    axes: list[int] = []
    for a in constant_ints(node, graph, 1, "axis"):
        axis = int(a) + rank if a < 0 else int(a)
        if not 0 <= axis < rank:
            raise unsupported(node, f"axis {int(a)} is out of range for a tensor of rank {rank}")
        if axis not in axes:
            axes.append(axis)
    keep = node.options.keep_dims if node.options is not None else False
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape) if keep or i not in axes)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    requant = None
    if dtype in ("int8", "uint8", "int16"):
        if x.quant is None or out.quant is None:
            raise unsupported(node, f"{dtype} tensors without quantisation parameters are not supported")
        if dtype == "int16" and (x.quant.zero_point[0] != 0 or out.quant.zero_point[0] != 0):
            raise unsupported(node, "int16 tensors must have zero point 0")
        # the scales are float32 in the kernel, widened to double before dividing
        real = float(np.float32(x.quant.scale[0])) / float(np.float32(out.quant.scale[0]))
        multiplier, shift = quantize_multiplier(real)
        multiplier, shift = fold_mean_multiplier(multiplier, shift, count)
        if shift > 30:
            raise unsupported(node, f"scale ratio {real:g} is too large to requantise")
        # Measured: LiteRT's reference MEAN rounds twice (gemmlowp's doubling high multiply, then a
        # rounding shift) even where its other kernels round once; TFLite Micro does the same.
        # So MEAN uses double rounding under both semantics.
        requant = MeanRequant(x.quant.zero_point[0], out.quant.zero_point[0], multiplier, shift, DOUBLE_ROUNDING)
    return MeanParams(tuple(axes), count, out_shape, dtype, requant)


def check(node: Node, graph: Graph) -> None:
    _plan(node, graph)


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [_plan(node, graph).out_shape]


def prepare(node: Node, graph: Graph, semantics: Semantics) -> MeanParams:
    p = _plan(node, graph)
    if semantics.name == "onnxruntime" and p.out_dtype in ("int8", "uint8"):
        # onnxruntime's MlasQLinearGlobalAveragePool: ScaleInput / (ScaleOutput * ImageSize) in float32
        x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
        scale = np.float32(x.quant.scale[0]) / (np.float32(out.quant.scale[0]) * np.float32(p.count))
        return replace(p, requant=replace(p.requant, float_scale=float(scale)))
    return p


def evaluate(p: MeanParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    if p.out_dtype == "float32":
        # one float32 addition at a time, in row-major order of the reduced elements: LiteRT's
        # reference order, and what the C kernel does (np.sum would add pairwise)
        reduced = sorted(p.axes)
        rows = np.moveaxis(x, reduced, range(x.ndim - len(reduced), x.ndim)).reshape(-1, p.count)
        total = np.zeros(rows.shape[0], dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf and inf - inf = NaN, as in C
            for k in range(p.count):
                total += rows[:, k]
        return [(total / np.float32(p.count)).astype(np.float32).reshape(p.out_shape)]
    total = np.sum(x.astype(np.int64), axis=p.axes)
    if p.out_dtype == "int32":
        # C division truncates toward zero
        quotient = np.abs(total) // p.count * np.sign(total)
        return [quotient.astype(np.int32).reshape(p.out_shape)]
    r = p.requant
    # the kernel sums into int32 and subtracts in 64 bits before narrowing to int32
    shifted = wrap_int32(wrap_int32(total) - np.int64(r.input_zero_point) * p.count)
    info = np.iinfo(np.dtype(p.out_dtype))
    if r.float_scale is not None:
        q = float_requantize(shifted, np.float32(r.float_scale), r.output_zero_point, info.min, info.max)
        return [q.astype(p.out_dtype).reshape(p.out_shape)]
    scaled = wrap_int32(multiply_by_quantized_multiplier(shifted, r.multiplier, r.shift, r.rounding))
    q = np.clip(scaled + r.output_zero_point, info.min, info.max)
    return [q.astype(p.out_dtype).reshape(p.out_shape)]


# --------------------------------------------------------------------------- C lowering
# (runtime/kernels/mean.c, mean_f32.c)

KERNEL_SUFFIX = {"int8": "s8", "uint8": "u8", "int16": "s16", "int32": "s32", "float32": "f32"}
MAX_QUANTIZED_COUNT = 65535  # int32 sum of int16 values: count * 32768 < 2^31


def work_items(node: Node, graph: Graph) -> int:
    return graph.tensors[node.outputs[0]].num_elements  # one item per output element


def lower(node: Node, graph: Graph, p: MeanParams) -> KernelCall:
    x = graph.tensors[node.inputs[0]]
    require_addressable(node, x)
    if p.requant is not None and p.count > MAX_QUANTIZED_COUNT:
        raise no_kernel(node, f"averaging {p.count} values could overflow the int32 sum (max {MAX_QUANTIZED_COUNT})")
    strides = strides_of(x.shape)
    axes = set(p.axes)
    kept_dims, kept_strides = merge_walk([d for a, d in enumerate(x.shape) if a not in axes],
                                         [s for a, s in enumerate(strides) if a not in axes])
    reduced_dims, reduced_strides = merge_walk([d for a, d in enumerate(x.shape) if a in axes],
                                               [s for a, s in enumerate(strides) if a in axes])
    if max(len(kept_dims), len(reduced_dims)) > MEAN_MAX_RANK:
        raise no_kernel(node, f"more than {MEAN_MAX_RANK} axes to walk")
    fields = [("kept_rank", len(kept_dims)), ("reduced_rank", len(reduced_dims)), ("count", p.count),
              ("kept_dims", CArray.of("int32_t", kept_dims)), ("kept_strides", CArray.of("int32_t", kept_strides)),
              ("reduced_dims", CArray.of("int32_t", reduced_dims)),
              ("reduced_strides", CArray.of("int32_t", reduced_strides))]
    if p.requant is not None and p.requant.float_scale is not None:  # kernels/mean_s8_float_requant.c
        if p.out_dtype != "int8":
            raise no_kernel(node, "onnxruntime's requantisation of MEAN runs on int8 only")
        r = p.requant
        fields += [("input_zero_point", int(r.input_zero_point)), ("output_zero_point", int(r.output_zero_point)),
                   ("scale", float(r.float_scale)), ("act_min", -128), ("act_max", 127)]
        return KernelCall("ariel_mean_s8_fq", "ariel_mean_fq_params", tuple(fields),
                          (node.inputs[0], node.outputs[0]), "mean_s8_float_requant.c")
    if p.requant is not None:
        r = p.requant
        if not -62 <= r.shift <= 30:
            raise no_kernel(node, f"requantisation shift {r.shift} is outside the kernel's range -62..30")
        info = np.iinfo(np.dtype(p.out_dtype))
        fields += [("input_zero_point", int(r.input_zero_point)), ("output_zero_point", int(r.output_zero_point)),
                   ("multiplier", int(r.multiplier)), ("shift", int(r.shift)), ("act_min", int(info.min)),
                   ("act_max", int(info.max))]
    suffix = KERNEL_SUFFIX[p.out_dtype]
    return KernelCall(f"ariel_mean_{suffix}", "ariel_mean_params", tuple(fields), (node.inputs[0], node.outputs[0]),
                      "mean_f32.c" if suffix == "f32" else "mean.c")


MEAN = register(OpDef(name="MEAN", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
                      options_type=ReducerOptions, tflite_options="ReducerOptions", check=check,
                      work_items=work_items, lower=lower))
