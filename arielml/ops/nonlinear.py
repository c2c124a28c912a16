"""LOGISTIC, TANH and HARD_SWISH, bit-exact with the code paths TFLite takes for each type.

LiteRT 2.3 reference kernels (OpResolverType.BUILTIN_REF):
- int8/uint8 LOGISTIC and TANH: a 256-entry table filled at Prepare time by dequantising every
  input code, applying the float function (libm expf/tanhf) and requantising (LUTPopulate).
- int16 LOGISTIC and TANH: a fixed 256-entry table of sigmoid(i/24) in 0.16 format with linear
  interpolation (tanh(x) = 2 sigmoid(2x) - 1); the input is rescaled to 1/(3*4096) per unit, or by
  a power of two when the input scale is one.
- HARD_SWISH int8/uint8: int16 fixed-point arithmetic (gemmlowp's doubling high multiplies).
TFLite Micro differs for int8 LOGISTIC and TANH: it evaluates gemmlowp's fixed-point logistic/tanh
on a Q4.27 input (no table) and assumes the standard output quantisation; semantics "tflm"
reproduces it. The two agree on almost every input: a sweep of 3000 random input scales found one
(LOGISTIC) and two (TANH) scales with a single input code one step apart.
TFLM has no uint8 variants; under "tflm" uint8 keeps LiteRT's table. Float paths are plain float32.

C kernels: 8-bit types become a 256-entry table evaluated from this reference (ariel_table8_to_8);
int16 LOGISTIC/TANH and float32 have their own kernels in runtime/kernels/nonlinear.c."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import Graph, Node
from arielml.ops import fixed_point as fp
from arielml.ops.lookup_tables import c_float_function, lookup_8bit, lut_populate_8bit
from arielml.ops.pointwise_lowering import element_work_items, lower_table8, range_fields
from arielml.ops.quant_math import DOUBLE_ROUNDING, multiply_by_quantized_multiplier, quantize_multiplier
from arielml.ops.registry import OpDef, Semantics, register, unsupported

QUANTIZED_8BIT = ("int8", "uint8")


def same_shape(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [graph.tensors[node.inputs[0]].shape]


def _tensors(node: Node, graph: Graph):
    return graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]


def _check_unary(node: Node, graph: Graph, dtypes: tuple[str, ...]) -> None:
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise unsupported(node, "expects exactly one input and one output")
    x, y = _tensors(node, graph)
    if x.dtype != y.dtype:
        raise unsupported(node, f"input {x.dtype} and output {y.dtype} must have the same type")
    if x.dtype not in dtypes:
        raise unsupported(node, f"{x.dtype} is not supported (supported: {', '.join(dtypes)})")
    if x.dtype != "float32":
        for t in (x, y):
            if t.quant is None or t.quant.per_channel:
                raise unsupported(node, f"tensor {t.name} needs per-tensor quantisation")


def checked_log2(x: float) -> tuple[bool, int]:
    """TFLite's CheckedLog2 in float32: (is x a power of two within 1e-3 in log2, rounded log2)."""
    logf = c_float_function("log")
    x_log2 = logf(np.float32(x)) * (np.float32(1) / logf(np.float32(2)))
    rounded = float(np.floor(abs(float(x_log2)) + 0.5)) * math.copysign(1.0, float(x_log2))
    return abs(float(np.float32(x_log2) - np.float32(rounded))) < 1e-3, int(rounded)


# --- parameters: one small dataclass per code path, each knows how to apply itself ------------

@dataclass(frozen=True)
class FloatActivation:
    function: str  # "logistic" | "tanh" | "hard_swish" | "hard_swish_ort" (semantics onnxruntime)

    def apply(self, x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32)
        with np.errstate(over="ignore", invalid="ignore"):  # ±inf and NaN inputs give IEEE results, as in C
            if self.function == "tanh":
                return np.tanh(x)
            if self.function == "hard_swish":
                return (x * np.clip(x + np.float32(3), 0, 6).astype(np.float32) / np.float32(6)).astype(np.float32)
            if self.function == "hard_swish_ort":  # onnxruntime: x * min(max(float32(1/6) * x + 0.5, ...))
                gate = ((np.float32(1 / 6) * x).astype(np.float32) + np.float32(0.5)).astype(np.float32)
                return (x * np.maximum(np.minimum(gate, np.float32(1)), np.float32(0))).astype(np.float32)
            # TFLite's reference logistic: 1 above 16.619..., exp(x) below -9, else the formula
            body = (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)
            return np.where(x > np.float32(16.619047164916992188), np.float32(1),
                            np.where(x < np.float32(-9), np.exp(x), body)).astype(np.float32)


@dataclass(frozen=True)
class TableActivation:
    """int8/uint8 through a 256-entry table indexed by input code - min."""
    table: np.ndarray = field(compare=False)

    def apply(self, x: np.ndarray) -> np.ndarray:
        return lookup_8bit(x, self.table)


# sigmoid(i/24) in 0.16 fixed point for i = 0..255: TFLite's table is round(65536 sigmoid(i/24))
# except at these indices, where it is one higher (its values were tuned for interpolation).
_SIGMOID_TABLE_BUMPS = (4, 8, 12, 14, 15, 16, 17, 19, 20, 21, 22, 25, 27, 28, 29, 30, 31, 33, 34, 35, 37,
                        39, 40, 41, 43, 44, 45, 46, 49, 50, 54, 62, 63, 64, 66, 82, 86, 93, 100, 103, 112,
                        116, 135, 255)


def _sigmoid_table_uint16() -> np.ndarray:
    table = [min(int(math.floor(65536.0 / (1.0 + math.exp(-i / 24.0)) + 0.5)), 65535) for i in range(256)]
    for i in _SIGMOID_TABLE_BUMPS:
        table[i] += 1
    return np.array(table, dtype=np.int64)


SIGMOID_TABLE = _sigmoid_table_uint16()


@dataclass(frozen=True)
class Int16SigmoidActivation:
    """int16 logistic/tanh: input rescaled to 1/(3*4096) per unit (x * multiplier >> shift,
    rounded), then the interpolated sigmoid table. Output Q0.15."""
    function: str  # "logistic" | "tanh"
    multiplier: int
    shift: int

    def apply(self, x: np.ndarray) -> np.ndarray:
        rounding = (1 << (self.shift - 1)) if self.shift > 0 else 0
        v = (x.astype(np.int64) * self.multiplier + rounding) >> self.shift
        magnitude = np.abs(v)
        if self.function == "logistic":
            segment = magnitude >> 9
            fraction = magnitude & 0x1FF
            frac_bits, saturated = 9, 0x7FFF << 10
        else:
            segment = magnitude >> 8
            fraction = magnitude & 0xFF
            frac_bits, saturated = 8, 0xFFFF << 8
        inside = np.minimum(segment, 254)
        lo, hi = SIGMOID_TABLE[inside], SIGMOID_TABLE[inside + 1]
        result = np.where(segment >= 255, saturated, (lo << frac_bits) + fraction * (hi - lo))
        if self.function == "logistic":
            result = np.where(v >= 0, result + (1 << 9), (1 << 25) - result + (1 << 9) - 1) >> 10
        else:
            result = np.where(v >= 0, result - (1 << 23) + (1 << 7), -result + (1 << 23) + (1 << 7) - 1) >> 8
        return fp.wrap_int16(result).astype(np.int16)


@dataclass(frozen=True)
class FixedPointActivation:
    """TFLite Micro's int8 logistic/tanh: input - zero point rescaled to Q4.27 (saturating outside
    the radius), gemmlowp's fixed-point function, output at scale 1/256 (logistic, zero point
    -128) or 1/128 (tanh, zero point 0)."""
    function: str
    input_zero_point: int
    input_radius: int
    multiplier: int
    shift: int
    rounding: str

    def apply(self, x: np.ndarray) -> np.ndarray:
        centered = x.astype(np.int64) - self.input_zero_point
        q4 = fp.wrap_int32(multiply_by_quantized_multiplier(centered, self.multiplier, self.shift, self.rounding))
        if self.function == "logistic":
            out = fp.rdbp(fp.logistic(q4, 4), 23) - 128
        else:
            out = fp.rdbp(fp.tanh(q4, 4), 24)
        out = np.clip(out, -128, 127)
        out = np.where(centered <= -self.input_radius, -128, np.where(centered >= self.input_radius, 127, out))
        return out.astype(np.int8)


@dataclass(frozen=True)
class HardSwishQuantized:
    """int8/uint8 hard swish in int16 fixed point: x on a "hi-res" scale (x 2^7), a relu-ish factor
    in [0, 1] from x rescaled so that 3.0 maps to 2^15, their product shifted to the output scale."""
    input_zero_point: int
    output_zero_point: int
    output_multiplier: int  # int16
    output_exponent: int  # <= 0
    reluish_multiplier: int  # int16
    reluish_exponent: int
    out_dtype: str

    def apply(self, x: np.ndarray) -> np.ndarray:
        hires = fp.wrap_int16((x.astype(np.int64) - self.input_zero_point) * 128)
        preshift_output = fp.srdhm16(hires, self.output_multiplier)
        reluish = hires
        if self.reluish_exponent > 0:
            reluish = fp.saturating_shift_left16(reluish, self.reluish_exponent - 1)
        reluish = fp.srdhm16(reluish, self.reluish_multiplier)
        if self.reluish_exponent > 0:
            reluish = fp.saturating_shift_left16(reluish, 1)
        if self.reluish_exponent < 0:
            reluish = rounding_divide_by_pot16(reluish, -self.reluish_exponent)
        reluish = (reluish + (1 << 15)) >> 1
        out = rounding_divide_by_pot16(fp.sdhm16(reluish, preshift_output), -self.output_exponent)
        out = fp.wrap_int16(out + self.output_zero_point)
        info = np.iinfo(self.out_dtype)
        return np.clip(out, info.min, info.max).astype(self.out_dtype)


def rounding_divide_by_pot16(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT instantiated for int16: the mask is truncated to 16 bits,
    which changes the result for exponents above 15 (kept for bit-exactness)."""
    x = fp.as_raw(x)
    mask = fp.wrap_int16((1 << exponent) - 1)
    threshold = (mask >> 1) + (x < 0)
    return fp.wrap_int16((x >> exponent) + ((x & mask) > threshold))


def evaluate(params, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    return [params.apply(inputs[0])]


# --- C lowering (runtime/kernels/nonlinear.c): work item = a block of ELEMENT_BLOCK elements -----

_FLOAT_KERNELS = {"LOGISTIC": "ariel_logistic_f32", "TANH": "ariel_tanh_f32", "HARD_SWISH": "ariel_hard_swish_f32"}


def lower_pointwise(node: Node, graph: Graph, p) -> KernelCall:
    x, _ = _tensors(node, graph)
    buffers = (node.inputs[0], node.outputs[0])
    if x.dtype in QUANTIZED_8BIT:  # every 8-bit path is a function of the input code: a table
        return lower_table8(node, graph, p, evaluate)
    fields = range_fields(node, graph)
    if isinstance(p, FloatActivation) and p.function == "hard_swish_ort":
        return KernelCall("ariel_hard_swish_f32_ort", "ariel_pointwise_f32_params", fields, buffers,
                          "hard_swish_f32_onnxruntime.c")
    if isinstance(p, FloatActivation):
        return KernelCall(_FLOAT_KERNELS[node.op], "ariel_pointwise_f32_params", fields, buffers,
                          "nonlinear_f32.c")
    if isinstance(p, Int16SigmoidActivation):
        # the kernel's int32 bounds: |code * multiplier| < 2^30, a rounding shift of 0..31
        if not (0 < p.multiplier <= 32767 and 0 <= p.shift <= 31):
            raise no_kernel(node, f"int16 input rescale {p.multiplier} >> {p.shift} outside the kernel's range")
        fields += (("function", 0 if p.function == "logistic" else 1), ("multiplier", p.multiplier),
                   ("shift", p.shift), ("sigmoid", CArray.of("int32_t", SIGMOID_TABLE)))
        return KernelCall("ariel_sigmoid_s16", "ariel_sigmoid_s16_params", fields, buffers, "nonlinear.c")
    raise no_kernel(node, f"{x.dtype} {node.op}")


# --- LOGISTIC and TANH ------------------------------------------------------------------------

_FLOAT_FUNCTIONS = {
    "logistic": lambda v: (np.float32(1) / (np.float32(1) + c_float_function("exp")(-v))).astype(np.float32),
    "tanh": c_float_function("tanh"),
}


def _check_sigmoid_like(node: Node, graph: Graph, function: str) -> None:
    _check_unary(node, graph, ("float32", "int8", "uint8", "int16"))
    x, y = _tensors(node, graph)
    if x.dtype == "int16":
        if x.quant.single_zero_point != 0 or y.quant.single_zero_point != 0:
            raise unsupported(node, "int16 needs zero points 0 on input and output")
        is_pot, log2 = checked_log2(y.quant.single_scale)
        if not is_pot or log2 != -15:
            raise unsupported(node, f"int16 output scale must be 2^-15, got {y.quant.single_scale}")
        if function == "logistic" and y.quant.single_scale != 1.0 / 32768:
            raise unsupported(node, f"int16 output scale must be exactly 1/32768, got {y.quant.single_scale}")
        multiplier, _ = _int16_input_rescale(x.quant.single_scale, function)
        if multiplier > 32767:
            raise unsupported(node, f"int16 input scale {x.quant.single_scale} is too large (at most ~2.67)")
    if x.dtype in QUANTIZED_8BIT and function == "logistic" and y.quant.single_scale != 1.0 / 256:
        raise unsupported(node, f"{x.dtype} output scale must be 1/256 as TFLite requires, got {y.quant.single_scale}")


def _int16_input_rescale(input_scale: float, function: str) -> tuple[int, int]:
    """(multiplier, shift) bringing int16 input codes to 1/(3*4096) per unit, as TFLite's Prepare
    computes them: exact x3 / x6 for the power-of-two scales the kernel was designed for."""
    is_pot, log2 = checked_log2(input_scale)
    shift = 12 + log2
    if is_pot and (shift == 0 or (function == "tanh" and shift == 1)):
        return 3 << shift, 0
    multiplier, shift = float(input_scale) * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return int(multiplier), shift


def _prepare_sigmoid_like(node: Node, graph: Graph, semantics: Semantics, function: str):
    x, y = _tensors(node, graph)
    if x.dtype == "float32":
        return FloatActivation(function)
    if x.dtype == "int16":
        return Int16SigmoidActivation(function, *_int16_input_rescale(x.quant.single_scale, function))
    if semantics.name == "tflm" and x.dtype == "int8":
        return _prepare_tflm_fixed_point(node, x, y, function)
    table = lut_populate_8bit(x.quant.single_scale, x.quant.single_zero_point, y.quant.single_scale,
                              y.quant.single_zero_point, _FLOAT_FUNCTIONS[function], x.dtype)
    return TableActivation(table)


def _prepare_tflm_fixed_point(node: Node, x, y, function: str) -> FixedPointActivation:
    expected = (1.0 / 256, -128) if function == "logistic" else (1.0 / 128, 0)
    if (y.quant.single_scale, y.quant.single_zero_point) != expected:
        raise unsupported(node, f"TFLite Micro's int8 {function.upper()} assumes output scale {expected[0]} "
                                f"and zero point {expected[1]}; got {y.quant.single_scale}, {y.quant.single_zero_point}")
    mantissa, shift = math.frexp(float(x.quant.single_scale) * float(1 << 27))
    multiplier = int(fp.wrap_int32(int(math.floor(mantissa * (1 << 31) + 0.5))))
    radius = math.floor(15.0 * (1 << 27) / 2.0 ** shift)
    return FixedPointActivation(function, x.quant.single_zero_point, radius, multiplier, shift, DOUBLE_ROUNDING)


LOGISTIC = register(OpDef(
    name="LOGISTIC", infer_shapes=same_shape, evaluate=evaluate,
    prepare=lambda n, g, s: _prepare_sigmoid_like(n, g, s, "logistic"),
    check=lambda n, g: _check_sigmoid_like(n, g, "logistic"), work_items=element_work_items, lower=lower_pointwise, inplace_input=0))

TANH = register(OpDef(
    name="TANH", infer_shapes=same_shape, evaluate=evaluate,
    prepare=lambda n, g, s: _prepare_sigmoid_like(n, g, s, "tanh"),
    check=lambda n, g: _check_sigmoid_like(n, g, "tanh"), work_items=element_work_items, lower=lower_pointwise, inplace_input=0))


# --- HARD_SWISH ---------------------------------------------------------------------------------

def _hard_swish_multipliers(x, y) -> tuple[int, int, int, int]:
    """TFLite's HardSwishPrepare: float32 scale ratios, 31-bit multipliers cut to 16 bits."""
    hires_scale = np.float32(1.0 / 128.0) * np.float32(x.quant.single_scale)
    output_real = float(hires_scale / np.float32(y.quant.single_scale))
    reluish_real = float(hires_scale / (np.float32(3.0) / np.float32(32768.0)))
    out_m, out_e = quantize_multiplier(output_real)
    relu_m, relu_e = quantize_multiplier(reluish_real)
    return _to_int16_multiplier(out_m), out_e, _to_int16_multiplier(relu_m), relu_e


def _to_int16_multiplier(multiplier: int) -> int:
    """DownScaleInt32ToInt16Multiplier: round to the top 16 bits, saturating."""
    if multiplier >= (1 << 31) - 1 - (1 << 15):
        return 32767
    return (multiplier + (1 << 15)) >> 16


def _check_hard_swish(node: Node, graph: Graph) -> None:
    _check_unary(node, graph, ("float32", "int8", "uint8"))
    x, y = _tensors(node, graph)
    if x.dtype == "float32":
        return
    _, out_e, _, relu_e = _hard_swish_multipliers(x, y)
    if out_e > 0:
        raise unsupported(node, "output scale below input scale / 128 is not supported by TFLite's HARD_SWISH")
    if not -31 <= relu_e <= 30 or out_e < -31:
        raise unsupported(node, "input/output scales out of the range of the int16 fixed-point kernel")


@dataclass(frozen=True)
class OrtHardSwish:
    """Semantics "onnxruntime" (ONNX models), 8-bit: onnxruntime runs DQ -> HardSwish -> Q in float32
    (no QDQ fusion for HardSwish): each code dequantised, x * HardSigmoid(x) with HardSigmoid's kernel
    min(max(alpha * x + beta, ...)) for alpha = float32(1/6), beta = 0.5 (activations.h, Eigen, no
    fused multiply-add), QuantizeLinear half to even. Measured equal on 10,240 codes (40 scale pairs)."""

    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    out_dtype: str

    def apply(self, x: np.ndarray) -> np.ndarray:
        from arielml.ops.quantize import _quantize_half_even
        v = ((x.astype(np.int64) - self.input_zero_point).astype(np.float32) * np.float32(self.input_scale))
        v = v.astype(np.float32)
        gate = ((np.float32(1 / 6) * v).astype(np.float32) + np.float32(0.5)).astype(np.float32)
        gate = np.maximum(np.minimum(gate, np.float32(1)), np.float32(0))
        quotient = ((v * gate).astype(np.float32) / np.float32(self.output_scale)).astype(np.float32)
        return _quantize_half_even(quotient, np.int64(self.output_zero_point), np.iinfo(np.dtype(self.out_dtype)))


def _prepare_hard_swish(node: Node, graph: Graph, semantics: Semantics):
    x, y = _tensors(node, graph)
    if x.dtype == "float32":
        return FloatActivation("hard_swish_ort" if semantics.name == "onnxruntime" else "hard_swish")
    if semantics.name == "onnxruntime":
        return OrtHardSwish(x.quant.single_scale, x.quant.single_zero_point, y.quant.single_scale,
                            y.quant.single_zero_point, y.dtype)
    out_m, out_e, relu_m, relu_e = _hard_swish_multipliers(x, y)
    return HardSwishQuantized(x.quant.single_zero_point, y.quant.single_zero_point, out_m, out_e,
                              relu_m, relu_e, y.dtype)


HARD_SWISH = register(OpDef(
    name="HARD_SWISH", infer_shapes=same_shape, prepare=_prepare_hard_swish, evaluate=evaluate,
    check=_check_hard_swish, work_items=element_work_items, lower=lower_pointwise, inplace_input=0))
