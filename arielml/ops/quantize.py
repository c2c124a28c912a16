"""QUANTIZE and DEQUANTIZE, bit-exact with TFLite's reference kernels.

QUANTIZE from float32: q = round_half_away(x / scale) + zero_point in float32 (the division is a
single-precision one, as in TFLite), clamped to the output type; per-channel output scales are
supported. QUANTIZE between integer types ("requantisation", e.g. int8 <-> uint8 or int8 with a
new scale): (q - zero_in) times the fixed-point multiplier of scale_in / scale_out (computed in
double), plus zero_out, clamped. DEQUANTIZE: float32(double(scale) * (q - zero_point)).

Where the rounded quotient is NaN or outside the int32 range (±inf, or a huge x / scale), TFLite's
C cast to int32 is undefined; the x86 build that is our oracle gives INT32_MIN, and adding the zero
point then wraps: so ±inf, NaN and |x / scale| >= 2^31 give the type's minimum when the zero point is
>= 0 and its maximum when it is negative. arielml does the same, on every backend (measured against
LiteRT's reference kernels in tests/test_float_inf.py; docs/semantics.md). Requantisation rounds twice (gemmlowp), as measured for LiteRT 2.3's
reference kernel and as TFLite Micro does.

onnxruntime (`semantics="onnxruntime"`, ONNX models) quantises float32 to int8/uint8 rounding half to
even (MLAS's QuantizeLinear); its DequantizeLinear is TFLite's float32 (q - zero point) * scale.

TFLite Micro (`semantics="tflm"`) dequantises a per-channel tensor with its first channel's scale
and zero point for every channel."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import Graph, Node, Tensor
from arielml.ops.pointwise_lowering import (EIGHT_BIT, check_shift, element_work_items, float32_exact, lower_table8,
                                            range_fields, rounding_code, suffix, type_range)
from arielml.ops.quant_math import (DOUBLE_ROUNDING, INT32_MAX, INT32_MIN, multiply_by_quantized_multiplier,
                                    quantize_multiplier, wrap_int32)
from arielml.ops.registry import OpDef, Semantics, register, unsupported

# measured: LiteRT 2.3's reference QUANTIZE (requantisation) and TFLite Micro both round twice
REQUANTIZE_ROUNDING = DOUBLE_ROUNDING

# input type -> output types LiteRT's QUANTIZE accepts
REQUANTIZE_PAIRS = {
    "int8": ("int8", "uint8", "int16"),
    "uint8": ("int8", "uint8", "int16"),
    "int16": ("int8", "int16", "int32"),
    "int32": ("int8", "int16"),
}
FLOAT_QUANTIZE_OUTPUTS = ("int8", "uint8", "int16")
DEQUANTIZE_INPUTS = ("int8", "uint8", "int16")


@dataclass(frozen=True)
class FloatQuantizeParams:
    """Per-tensor when `scales` has one entry, otherwise per channel along `axis`."""

    out_dtype: str
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int
    # semantics "onnxruntime": MLAS's QuantizeLinear (x / scale in float32, clamped to the type's range
    # less the zero point, rounded half to even, NaN to the minimum) instead of TFLite's
    half_even: bool = False


@dataclass(frozen=True)
class RequantizeParams:
    out_dtype: str
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    rounding: str


@dataclass(frozen=True)
class DequantizeParams:
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [graph.tensors[node.inputs[0]].shape]


def _one_in_one_out(node: Node, graph: Graph) -> tuple[Tensor, Tensor]:
    if len(node.inputs) != 1 or len(node.outputs) != 1 or node.inputs[0] < 0:
        raise unsupported(node, "expects one input and one output")
    return graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]


def _check_quant(node: Node, t: Tensor, per_channel_ok: bool) -> None:
    q = t.quant
    if q is None:
        raise unsupported(node, f"{t.dtype} tensor '{t.name}' has no quantisation parameters")
    if not all(math.isfinite(s) and s > 0 for s in q.scale):
        raise unsupported(node, f"tensor '{t.name}' has scales {q.scale}; scales must be positive")
    info = np.iinfo(t.np_dtype)
    if not all(info.min <= z <= info.max for z in q.zero_point):
        raise unsupported(node, f"tensor '{t.name}' has a zero point outside the {t.dtype} range")
    if q.per_channel:
        if not per_channel_ok:
            raise unsupported(node, f"per-channel quantisation of '{t.name}' is not supported here")
        if not 0 <= q.axis < len(t.shape) or t.shape[q.axis] != len(q.scale):
            raise unsupported(node, f"'{t.name}' has {len(q.scale)} channel scales on axis {q.axis} "
                                    f"of shape {t.shape}")


def check_quantize(node: Node, graph: Graph) -> None:
    x, out = _one_in_one_out(node, graph)
    if x.dtype == "float32":
        if out.dtype not in FLOAT_QUANTIZE_OUTPUTS:
            raise unsupported(node, f"float32 to {out.dtype} is not supported "
                                    f"(supported: {', '.join(FLOAT_QUANTIZE_OUTPUTS)})")
        _check_quant(node, out, per_channel_ok=True)
        return
    if out.dtype not in REQUANTIZE_PAIRS.get(x.dtype, ()):
        raise unsupported(node, f"{x.dtype} to {out.dtype} is not supported; TFLite requantises "
                                + "; ".join(f"{i} to {'/'.join(o)}" for i, o in REQUANTIZE_PAIRS.items()))
    _check_quant(node, x, per_channel_ok=False)
    _check_quant(node, out, per_channel_ok=False)
    if x.dtype == out.dtype == "int16" and (x.quant.single_zero_point or out.quant.single_zero_point):
        raise unsupported(node, "int16 to int16 requantisation needs zero points 0")
    if x.quant.single_scale / out.quant.single_scale >= 2.0 ** 30:
        raise unsupported(node, "the ratio of input to output scale is out of TFLite's range")


def prepare_quantize(node: Node, graph: Graph, semantics: Semantics):
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if x.dtype == "float32":
        return FloatQuantizeParams(out.dtype, out.quant.scale, out.quant.zero_point, out.quant.axis,
                                   half_even=semantics.name == "onnxruntime" and out.dtype in ("int8", "uint8"))
    multiplier, shift = quantize_multiplier(x.quant.single_scale / out.quant.single_scale)
    return RequantizeParams(out.dtype, x.quant.single_zero_point, out.quant.single_zero_point,
                            multiplier, shift, REQUANTIZE_ROUNDING)


def _per_channel(values, axis: int, ndim: int, dtype) -> np.ndarray:
    """Channel parameters shaped to broadcast along `axis` (a scalar for per-tensor)."""
    array = np.asarray(values, dtype=dtype)
    if array.size == 1:
        return array.reshape(())
    shape = [1] * ndim
    shape[axis] = -1
    return array.reshape(shape)


def _round_half_away(x: np.ndarray) -> np.ndarray:
    """TfLiteRound of float32 values, done in float64 where |x| + 0.5 is exact."""
    x = x.astype(np.float64)
    return np.copysign(np.floor(np.abs(x) + 0.5), x)


def _quantize_half_even(quotient: np.ndarray, zero_point, info) -> np.ndarray:
    """onnxruntime's MlasQuantizeLinear: the quotient clamped to [min - zp, max - zp] (maxps then minps:
    NaN becomes the lower bound), rounded half to even, plus the zero point."""
    lo = (info.min - zero_point).astype(np.float32)
    hi = (info.max - zero_point).astype(np.float32)
    clamped = np.minimum(np.where(np.isnan(quotient) | (quotient < lo), lo, quotient), hi)
    return (np.rint(clamped).astype(np.int64) + zero_point).astype(info.dtype)


def evaluate_quantize(p, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    info = np.iinfo(np.dtype(p.out_dtype))
    if isinstance(p, FloatQuantizeParams):
        scale = _per_channel(p.scales, p.axis, x.ndim, np.float32)
        zero_point = _per_channel(p.zero_points, p.axis, x.ndim, np.int64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            quotient = x.astype(np.float32) / scale  # float32 division, as in TFLite
        if p.half_even:
            return [_quantize_half_even(quotient, zero_point, info)]
        rounded = _round_half_away(quotient)
        in_range = (rounded >= INT32_MIN) & (rounded <= INT32_MAX)  # False for NaN
        # out of range: the x86 cast's INT32_MIN, then the int32 addition of the zero point wraps
        q = wrap_int32(np.where(in_range, rounded, INT32_MIN).astype(np.int64) + zero_point)
        return [np.clip(q, info.min, info.max).astype(p.out_dtype)]
    centred = wrap_int32(x.astype(np.int64) - p.input_zero_point)
    scaled = wrap_int32(multiply_by_quantized_multiplier(centred, p.multiplier, p.shift, p.rounding))
    return [np.clip(wrap_int32(scaled + p.output_zero_point), info.min, info.max).astype(p.out_dtype)]


def check_dequantize(node: Node, graph: Graph) -> None:
    x, out = _one_in_one_out(node, graph)
    if x.dtype not in DEQUANTIZE_INPUTS or out.dtype != "float32":
        raise unsupported(node, f"{x.dtype} to {out.dtype} is not supported "
                                f"(supported: {', '.join(DEQUANTIZE_INPUTS)} to float32)")
    _check_quant(node, x, per_channel_ok=x.dtype != "int16")
    if x.dtype == "int16" and x.quant.single_zero_point != 0:
        raise unsupported(node, "int16 DEQUANTIZE needs zero point 0")


def prepare_dequantize(node: Node, graph: Graph, semantics: Semantics) -> DequantizeParams:
    q = graph.tensors[node.inputs[0]].quant
    if semantics.name == "tflm":  # TFLite Micro reads only the first channel's scale and zero point
        return DequantizeParams(q.scale[:1], q.zero_point[:1], q.axis)
    return DequantizeParams(q.scale, q.zero_point, q.axis)


def evaluate_dequantize(p: DequantizeParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    scale = _per_channel(p.scales, p.axis, x.ndim, np.float64)
    zero_point = _per_channel(p.zero_points, p.axis, x.ndim, np.int64)
    # the product of a float32 scale and a 17-bit integer is exact in double: one rounding to float32
    return [(scale * (x.astype(np.int64) - zero_point)).astype(np.float32)]


# ---- C lowering (kernels/unary.c, unary_f32.c) ----------------------------------------------------

def _channels(node: Node, graph: Graph, axis: int, channels: int) -> tuple[tuple[str, int], ...]:
    """Element i belongs to channel (i / inner) % channels."""
    shape = graph.tensors[node.inputs[0]].shape
    inner = math.prod(shape[axis + 1:]) if channels > 1 else graph.tensors[node.inputs[0]].num_elements
    return (("channels", channels), ("inner", max(inner, 1)))


def lower_quantize(node: Node, graph: Graph, p) -> KernelCall:
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if x.dtype in EIGHT_BIT:
        return lower_table8(node, graph, p, evaluate_quantize)
    lo, hi = type_range(out.dtype)
    if isinstance(p, FloatQuantizeParams) and p.half_even:  # kernels/quantize_f32_even.c
        fields = range_fields(node, graph) + _channels(node, graph, p.axis, len(p.scales)) + (
            ("scales", CArray.of("float", np.asarray(p.scales, dtype=np.float32))),
            ("zero_points", CArray.of("int32_t", p.zero_points)), ("out_min", lo), ("out_max", hi))
        return KernelCall(f"ariel_quantize_f32_even_{suffix(node, out.dtype)}", "ariel_affine_params", fields,
                          (node.inputs[0], node.outputs[0]), "quantize_f32_even.c")
    if isinstance(p, FloatQuantizeParams):
        fields = range_fields(node, graph) + _channels(node, graph, p.axis, len(p.scales)) + (
            ("scales", CArray.of("float", np.asarray(p.scales, dtype=np.float32))),  # TFLite divides in float32
            ("zero_points", CArray.of("int32_t", p.zero_points)), ("out_min", lo), ("out_max", hi))
        return KernelCall(f"ariel_quantize_f32_{suffix(node, out.dtype)}", "ariel_affine_params", fields,
                          (node.inputs[0], node.outputs[0]), "unary_f32.c")
    if (x.dtype, out.dtype) not in REQUANTIZE_KERNELS:
        raise no_kernel(node, f"requantising {x.dtype} to {out.dtype}")
    check_shift(node, p.shift)
    fields = range_fields(node, graph) + (
        ("input_zero_point", p.input_zero_point), ("output_zero_point", p.output_zero_point),
        ("multiplier", p.multiplier), ("shift", p.shift), ("rounding", rounding_code(p.rounding)),
        ("out_min", lo), ("out_max", hi))
    return KernelCall(f"ariel_requantize_{suffix(node, x.dtype)}_{suffix(node, out.dtype)}",
                      "ariel_requantize_params", fields, (node.inputs[0], node.outputs[0]), "unary.c")


def lower_dequantize(node: Node, graph: Graph, p: DequantizeParams) -> KernelCall:
    x = graph.tensors[node.inputs[0]]
    if x.dtype in EIGHT_BIT and len(p.scales) == 1:
        return lower_table8(node, graph, p, evaluate_dequantize)
    fields = range_fields(node, graph) + _channels(node, graph, p.axis, len(p.scales)) + (
        ("scales", CArray.of("float", float32_exact(node, p.scales, "the scales"))),
        ("zero_points", CArray.of("int32_t", p.zero_points)))
    return KernelCall(f"ariel_dequantize_{suffix(node, x.dtype)}_f32", "ariel_affine_params", fields,
                      (node.inputs[0], node.outputs[0]), "unary_f32.c")


# the C requantisation kernels of int16 and int32 inputs (8-bit inputs are tables)
REQUANTIZE_KERNELS = {("int16", "int8"), ("int16", "uint8"), ("int16", "int16"), ("int16", "int32"),
                      ("int32", "int8"), ("int32", "uint8"), ("int32", "int16")}

# output element i depends on input element i only; the planner runs it in place when the two
# types have the same size (int8 <-> uint8, int16 -> int16)
QUANTIZE = register(OpDef(name="QUANTIZE", infer_shapes=infer_shapes, prepare=prepare_quantize,
                          evaluate=evaluate_quantize, check=check_quantize, work_items=element_work_items,
                          lower=lower_quantize, inplace_input=0))
DEQUANTIZE = register(OpDef(name="DEQUANTIZE", infer_shapes=infer_shapes, prepare=prepare_dequantize,
                            evaluate=evaluate_dequantize, check=check_dequantize, work_items=element_work_items,
                            lower=lower_dequantize, inplace_input=0))
