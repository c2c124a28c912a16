"""RELU, RELU6, RELU_N1_TO_1 and LEAKY_RELU as standalone operators, bit-exact with TFLite's
reference kernels. (SOFTMAX, LOGISTIC, TANH, HARD_SWISH and LOG_SOFTMAX live elsewhere.)

Quantised versions requantise: the input, minus its zero point, is scaled by the fixed-point
multiplier of input_scale / output_scale (a float32 quotient, as TFLite computes it), plus the
output zero point, then clamped to the activation's range in output units. LEAKY_RELU has two
multipliers, one for non-negative inputs (identity) and one for negative ones (alpha; it may be
negative). Both rounding steps are gemmlowp's double rounding: measured for LiteRT 2.3's reference
kernels, and what TFLite Micro does.

TFLite Micro (`semantics="tflm"`) differs on RELU6: it clamps the stored input values between the
input's quantised 0 and 6 and does not requantise (it assumes the output has the input's scale)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall, no_kernel
from arielml.ir import Graph, Node, Tensor
from arielml.ops.pointwise_lowering import (EIGHT_BIT, check_shift, element_work_items, lower_table8, range_fields,
                                            rounding_code, type_range)
from arielml.ops.quant_math import (DOUBLE_ROUNDING, activation_range_quantized, multiply_by_quantized_multiplier,
                                    quantize_multiplier)
from arielml.ops.registry import OpDef, Semantics, register, unsupported

# measured: LiteRT 2.3's reference activations and TFLite Micro both round twice
ACTIVATION_ROUNDING = DOUBLE_ROUNDING

# operator -> (activation range it clamps to, types LiteRT supports)
CLAMPS = {
    "RELU": ("RELU", ("float32", "int8", "uint8", "int16")),
    "RELU6": ("RELU6", ("float32", "int8", "uint8", "int16")),
    "RELU_N1_TO_1": ("RELU_N1_TO_1", ("float32", "int8", "uint8")),
}
LEAKY_RELU_TYPES = ("float32", "int8", "uint8", "int16")
FLOAT_BOUNDS = {"RELU": (0.0, math.inf), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


@dataclass(frozen=True)
class LeakyReluOptions:
    alpha: float = 0.0


@dataclass(frozen=True)
class FloatClampParams:
    lower: float
    upper: float


@dataclass(frozen=True)
class RequantClampParams:
    """Quantised RELU family: requantise, then clamp (both in output units)."""

    out_dtype: str
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    clamp_min: int
    clamp_max: int
    rounding: str


@dataclass(frozen=True)
class StoredClampParams:
    """TFLite Micro's quantised RELU6: clamp the stored values, no requantisation."""

    out_dtype: str
    lower: int
    upper: int


@dataclass(frozen=True)
class FloatLeakyReluParams:
    alpha: float  # a float32 value


@dataclass(frozen=True)
class QuantizedLeakyReluParams:
    out_dtype: str
    input_zero_point: int
    output_zero_point: int
    identity_multiplier: int
    identity_shift: int
    alpha_multiplier: int  # signed: a negative alpha gives a negative multiplier
    alpha_shift: int
    rounding: str


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [graph.tensors[node.inputs[0]].shape]


def _check(node: Node, graph: Graph, dtypes: tuple[str, ...]) -> tuple[Tensor, Tensor]:
    if len(node.inputs) != 1 or len(node.outputs) != 1 or node.inputs[0] < 0:
        raise unsupported(node, "expects one input and one output")
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if x.dtype != out.dtype or x.dtype not in dtypes:
        raise unsupported(node, f"{x.dtype} input with {out.dtype} output is not supported "
                                f"(supported: {', '.join(dtypes)}, same type in and out)")
    if x.dtype == "float32":
        return x, out
    for t in (x, out):
        if t.quant is None or t.quant.per_channel:
            raise unsupported(node, f"{t.dtype} tensor '{t.name}' needs per-tensor quantisation parameters")
        if not (math.isfinite(t.quant.single_scale) and t.quant.single_scale > 0):
            raise unsupported(node, f"tensor '{t.name}' has scale {t.quant.single_scale}; scales must be positive")
        info = np.iinfo(t.np_dtype)
        if not info.min <= t.quant.single_zero_point <= info.max:
            raise unsupported(node, f"tensor '{t.name}' has a zero point outside the {t.dtype} range")
        if t.dtype == "int16" and t.quant.single_zero_point != 0:
            raise unsupported(node, f"int16 tensor '{t.name}' needs zero point 0")
    return x, out


def _ratio(x: Tensor, out: Tensor, alpha: float = 1.0) -> float:
    """input_scale [* alpha] / output_scale in float32, as TFLite's Prepare computes it."""
    f = np.float32
    numerator = f(x.quant.single_scale) if alpha == 1.0 else f(x.quant.single_scale) * f(alpha)
    return float(numerator / f(out.quant.single_scale))


# ---- RELU, RELU6, RELU_N1_TO_1 ---------------------------------------------------------------------

def check_clamp(node: Node, graph: Graph) -> None:
    x, out = _check(node, graph, CLAMPS[node.op][1])
    if x.dtype != "float32" and _ratio(x, out) >= 2.0 ** 30:
        raise unsupported(node, "the ratio of input to output scale is out of TFLite's range")


def prepare_clamp(node: Node, graph: Graph, semantics: Semantics):
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    activation = CLAMPS[node.op][0]
    if x.dtype == "float32":
        return FloatClampParams(*FLOAT_BOUNDS[activation])
    if semantics.name == "onnxruntime" and x.dtype in EIGHT_BIT:
        return OrtClampParams(out.dtype, x.quant.single_scale, x.quant.single_zero_point, out.quant.single_scale,
                              out.quant.single_zero_point, *FLOAT_BOUNDS[activation])
    if semantics.name == "tflm" and node.op == "RELU6":
        info = np.iinfo(x.np_dtype)
        scale, zero = np.float32(x.quant.single_scale), x.quant.single_zero_point
        six = zero + math.floor(float(np.float32(6.0) / scale) + 0.5)  # round(6 / scale), positive
        return StoredClampParams(x.dtype, zero, int(np.clip(six, info.min, info.max)))
    multiplier, shift = quantize_multiplier(_ratio(x, out))
    lo, hi = activation_range_quantized(activation, out.quant.single_scale, out.quant.single_zero_point,
                                        out.np_dtype)
    return RequantClampParams(out.dtype, x.quant.single_zero_point, out.quant.single_zero_point,
                              multiplier, shift, lo, hi, ACTIVATION_ROUNDING)


@dataclass(frozen=True)
class OrtClampParams:
    """Semantics "onnxruntime" (ONNX models), 8-bit RELU family of a DQ -> Relu -> Q group: onnxruntime
    runs it in float32 (no QDQ fusion for Relu; a Relu the Q makes redundant is dropped, which gives the
    same): each code dequantised, clamped, QuantizeLinear (half to even)."""

    out_dtype: str
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    lower: float
    upper: float


def _evaluate_ort_clamp(p: OrtClampParams, x: np.ndarray) -> np.ndarray:
    from arielml.ops.quantize import _quantize_half_even
    v = ((x.astype(np.int64) - p.input_zero_point).astype(np.float32) * np.float32(p.input_scale)).astype(np.float32)
    clamped = np.minimum(np.maximum(v, np.float32(p.lower)), np.float32(p.upper)).astype(np.float32)
    quotient = (clamped / np.float32(p.output_scale)).astype(np.float32)
    return _quantize_half_even(quotient, np.int64(p.output_zero_point), np.iinfo(np.dtype(p.out_dtype)))


def evaluate_clamp(p, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    if isinstance(p, OrtClampParams):
        return [_evaluate_ort_clamp(p, x)]
    if isinstance(p, FloatClampParams):
        # TFLite: val < lower ? lower : (val > upper ? upper : val), which keeps NaN
        return [np.where(x < p.lower, np.float32(p.lower), np.where(x > p.upper, np.float32(p.upper), x))]
    if isinstance(p, StoredClampParams):
        return [np.clip(x, p.lower, p.upper).astype(p.out_dtype)]
    scaled = multiply_by_quantized_multiplier(x.astype(np.int64) - p.input_zero_point, p.multiplier, p.shift,
                                              p.rounding)
    return [np.clip(scaled + p.output_zero_point, p.clamp_min, p.clamp_max).astype(p.out_dtype)]


# ---- LEAKY_RELU ------------------------------------------------------------------------------------

def check_leaky_relu(node: Node, graph: Graph) -> None:
    x, out = _check(node, graph, LEAKY_RELU_TYPES)
    alpha = node.options.alpha
    if not math.isfinite(alpha):
        raise unsupported(node, f"alpha {alpha} is not a finite number")
    if x.dtype != "float32" and max(_ratio(x, out), abs(_ratio(x, out, alpha))) >= 2.0 ** 30:
        raise unsupported(node, "the ratio of input to output scale is out of TFLite's range")


def prepare_leaky_relu(node: Node, graph: Graph, semantics: Semantics):
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    alpha = node.options.alpha
    if x.dtype == "float32":
        return FloatLeakyReluParams(float(np.float32(alpha)))
    if semantics.name == "onnxruntime" and x.dtype in EIGHT_BIT:
        return OrtLeakyReluParams(out.dtype, x.quant.single_scale, x.quant.single_zero_point, out.quant.single_scale,
                                  out.quant.single_zero_point, float(np.float32(alpha)))
    if semantics.name == "tflm":
        # TFLite Micro (its pip build, measured on the seanet int16 models): the ratios in double
        identity = quantize_multiplier(x.quant.single_scale / out.quant.single_scale)
        scaled_alpha = quantize_multiplier(x.quant.single_scale * float(np.float32(alpha)) / out.quant.single_scale)
    else:
        identity = quantize_multiplier(_ratio(x, out))
        scaled_alpha = quantize_multiplier(_ratio(x, out, alpha))
    return QuantizedLeakyReluParams(out.dtype, x.quant.single_zero_point, out.quant.single_zero_point,
                                    *identity, *scaled_alpha, ACTIVATION_ROUNDING)


@dataclass(frozen=True)
class OrtLeakyReluParams:
    """Semantics "onnxruntime" (ONNX models), 8-bit: onnxruntime's table (qlinear_lookup_table.cc, read
    for technique): each code dequantised in float32, v >= 0 ? v : alpha * v, QuantizeLinear (x / s,
    half to even). A DQ -> LeakyRelu -> Q group onnxruntime leaves unfused computes the same in float."""

    out_dtype: str
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    alpha: float


def _evaluate_ort_leaky_relu(p: OrtLeakyReluParams, x: np.ndarray) -> np.ndarray:
    from arielml.ops.quantize import _quantize_half_even
    v = ((x.astype(np.int64) - p.input_zero_point).astype(np.float32) * np.float32(p.input_scale)).astype(np.float32)
    f = np.where(v >= 0, v, (v * np.float32(p.alpha)).astype(np.float32)).astype(np.float32)
    quotient = (f / np.float32(p.output_scale)).astype(np.float32)
    return _quantize_half_even(quotient, np.int64(p.output_zero_point), np.iinfo(np.dtype(p.out_dtype)))


def evaluate_leaky_relu(p, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    if isinstance(p, OrtLeakyReluParams):
        return [_evaluate_ort_leaky_relu(p, x)]
    if isinstance(p, FloatLeakyReluParams):
        return [np.where(x > 0, x, x * np.float32(p.alpha))]
    centred = x.astype(np.int64) - p.input_zero_point
    positive = multiply_by_quantized_multiplier(centred, p.identity_multiplier, p.identity_shift, p.rounding)
    # TFLite multiplies by |alpha multiplier| and negates afterwards (its multiply needs a positive one)
    magnitude = multiply_by_quantized_multiplier(centred, abs(p.alpha_multiplier), p.alpha_shift, p.rounding)
    negative = -magnitude if p.alpha_multiplier < 0 else magnitude
    info = np.iinfo(np.dtype(p.out_dtype))
    result = np.where(centred >= 0, positive, negative) + p.output_zero_point
    return [np.clip(result, info.min, info.max).astype(p.out_dtype)]


# ---- C lowering (kernels/unary.c, unary_f32.c) ----------------------------------------------------

def _io(node: Node) -> tuple[int, int]:
    return node.inputs[0], node.outputs[0]


def lower_clamp(node: Node, graph: Graph, p) -> KernelCall:
    x = graph.tensors[node.inputs[0]]
    if x.dtype in EIGHT_BIT:
        return lower_table8(node, graph, p, evaluate_clamp)
    fields = range_fields(node, graph)
    if isinstance(p, FloatClampParams):
        fields += (("lower", p.lower), ("upper", p.upper))
        return KernelCall("ariel_clamp_f32", "ariel_activation_params", fields, _io(node), "unary_f32.c")
    if x.dtype != "int16":
        raise no_kernel(node, f"{x.dtype} input")
    if isinstance(p, StoredClampParams):
        fields += (("act_min", p.lower), ("act_max", p.upper))
        return KernelCall("ariel_clamp_s16", "ariel_activation_params", fields, _io(node), "unary.c")
    check_shift(node, p.shift)  # requantise, then clamp: the requantisation kernel with the clamp as range
    fields += (("input_zero_point", p.input_zero_point), ("output_zero_point", p.output_zero_point),
               ("multiplier", p.multiplier), ("shift", p.shift), ("rounding", rounding_code(p.rounding)),
               ("out_min", p.clamp_min), ("out_max", p.clamp_max))
    return KernelCall("ariel_requantize_s16_s16", "ariel_requantize_params", fields, _io(node), "unary.c")


def lower_leaky_relu(node: Node, graph: Graph, p) -> KernelCall:
    x = graph.tensors[node.inputs[0]]
    if x.dtype in EIGHT_BIT:
        return lower_table8(node, graph, p, evaluate_leaky_relu)
    fields = range_fields(node, graph)
    if isinstance(p, FloatLeakyReluParams):
        return KernelCall("ariel_leaky_relu_f32", "ariel_activation_params", fields + (("alpha", p.alpha),),
                          _io(node), "unary_f32.c")
    if x.dtype != "int16" or abs(p.alpha_multiplier) >= 1 << 31:
        raise no_kernel(node, f"{x.dtype} with alpha multiplier {p.alpha_multiplier}")
    check_shift(node, p.identity_shift, p.alpha_shift)
    lo, hi = type_range(p.out_dtype)
    fields += (("input_zero_point", p.input_zero_point), ("output_zero_point", p.output_zero_point),
               ("identity_multiplier", p.identity_multiplier), ("identity_shift", p.identity_shift),
               ("alpha_multiplier", abs(p.alpha_multiplier)), ("alpha_shift", p.alpha_shift),
               ("alpha_negative", int(p.alpha_multiplier < 0)), ("rounding", rounding_code(p.rounding)),
               ("act_min", lo), ("act_max", hi))
    return KernelCall("ariel_leaky_relu_s16", "ariel_activation_params", fields, _io(node), "unary.c")


# output element i depends on input element i only: the planner may run them in place
for _name in CLAMPS:
    register(OpDef(name=_name, infer_shapes=infer_shapes, prepare=prepare_clamp, evaluate=evaluate_clamp,
                   check=check_clamp, work_items=element_work_items, lower=lower_clamp, inplace_input=0))
LEAKY_RELU = register(OpDef(name="LEAKY_RELU", infer_shapes=infer_shapes, prepare=prepare_leaky_relu,
                            evaluate=evaluate_leaky_relu, options_type=LeakyReluOptions,
                            tflite_options="LeakyReluOptions", check=check_leaky_relu,
                            work_items=element_work_items, lower=lower_leaky_relu, inplace_input=0))
