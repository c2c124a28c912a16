"""DIV, FLOOR_DIV, FLOOR_MOD, SQUARED_DIFFERENCE and PRELU with numpy broadcasting, bit-exact with
TFLite's reference kernels. (ADD_N: ops/add_n.py.)

float32: DIV is a / b then the fused activation's clamp ([-FLT_MAX, FLT_MAX] without one, so an
infinity becomes FLT_MAX, as in TFLite); FLOOR_DIV is floor((double)a / (double)b) rounded to float;
FLOOR_MOD is fmodf(a, b), plus b when the remainder is non-zero and its sign differs from b's;
SQUARED_DIFFERENCE is (a - b)^2; PRELU is x >= 0 ? x : x * alpha (alpha broadcast against x, the
output keeps x's shape).

Integers (stored values, quantisation ignored, as LiteRT does): DIV int32 truncates, then the
activation clamp; FLOOR_DIV int8/int16/int32 and FLOOR_MOD int8..int64 round towards minus
infinity; SQUARED_DIFFERENCE int32 wraps in two's complement. A zero divisor stops
TFLite with an error (integers, and float32 FLOOR_DIV); the reference raises InputError there, the
integer C kernels give 0 and the float one the IEEE quotient's floor. INT_MIN / -1 wraps.

Quantised:
- SQUARED_DIFFERENCE int8 (and int16, TFLite Micro only): as ADD's general path, each input
  (+ offset) << left_shift (7; int16: 0) scaled by scale / (2 max scale), then the squared
  difference rescaled by (2 max scale)^2 / (2^(2 left_shift) output scale).
- PRELU int8 / uint8 / int16 (with an int8 alpha): x - zero point >= 0 scaled by input_scale /
  output_scale, otherwise (x - zp) * (alpha - alpha zp) scaled by input_scale * alpha_scale /
  output_scale; + output zp.
- DIV int8 / uint8: TFLite's DivElementwise: the divisor (- zp) made positive (the dividend takes
  its sign), its fixed-point reciprocal (GetReciprocal, gemmlowp Newton steps), the dividend (- zp)
  shifted up to its headroom times it, then rescaled by input1_scale / (input2_scale * output_scale)
  and the shifts; + output zp, clamped to the activation range. For small dividends the final right
  shift exceeds 31 bits, undefined in C: LiteRT's (and TFLite Micro's) x86 builds then take the
  shift count mod 32 and a dividend at its zero point comes out as output zp + 1; reproduced
  (rounding_divide_by_pot_x86), so every board gives LiteRT's bytes.
All round twice (gemmlowp), measured for LiteRT and what TFLite Micro does.

C: kernels/binary_math.c (integers) and binary_math_f32.c (float32) over ariel_binary_params with
the broadcast cursor of ariel_elementwise_loops.h."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.errors import InputError
from arielml.ir import NO_TENSOR, Graph, Node, Tensor
from arielml.ops.kernel_support import requant_records
from arielml.ops.pointwise_lowering import (MAX_C_RANK, broadcast_layout, check_shift, element_work_items,
                                            range_fields, type_range)
from arielml.ops import fixed_point as fp
from arielml.ops.quant_math import (DOUBLE_ROUNDING, activation_range_float, activation_range_quantized,
                                    multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32)
from arielml.ops.registry import OpDef, Semantics, fused_activation, register, unsupported

MAX_BROADCAST_RANK = 6
BINARY_ROUNDING = DOUBLE_ROUNDING  # measured (tests/test_ops_binary_math.py)
TYPES = {  # stored-value types / quantised types each operator takes
    "DIV": (("float32", "int32"), ("int8", "uint8")),  # int16 DIV (LiteRT only): not done
    "FLOOR_DIV": (("float32", "int8", "int16", "int32"), ()),
    "FLOOR_MOD": (("float32", "int8", "int16", "int32", "int64"), ()),
    "SQUARED_DIFFERENCE": (("float32", "int32"), ("int8", "int16")),
    "PRELU": (("float32",), ("int8", "uint8", "int16")),
}
PRELU_ALPHA = {"int16": "int8"}  # int16 PRELU takes an int8 alpha in TFLite (LiteRT reads any alpha as int8)
C_SUFFIX = {"float32": "f32", "int8": "s8", "uint8": "u8", "int16": "s16", "int32": "s32", "int64": "s64"}


@dataclass(frozen=True)
class DivOptions:
    fused_activation_function: int = 0


@dataclass(frozen=True)
class PlainParams:
    op: str
    out_shape: tuple[int, ...]
    dtype: str
    clamp: tuple | None  # DIV's activation range


@dataclass(frozen=True)
class SquaredDifferenceParams:
    out_shape: tuple[int, ...]
    dtype: str
    left_shift: int
    offsets: tuple[int, int]
    multipliers: tuple[int, int]
    shifts: tuple[int, int]
    output_multiplier: int
    output_shift: int
    output_offset: int
    rounding: str


@dataclass(frozen=True)
class PreluParams:
    out_shape: tuple[int, ...]
    dtype: str
    input_offset: int
    alpha_offset: int
    positive_multiplier: int
    positive_shift: int
    negative_multiplier: int
    negative_shift: int
    output_offset: int
    rounding: str


@dataclass(frozen=True)
class QuantizedDivParams:
    out_shape: tuple[int, ...]
    dtype: str
    offsets: tuple[int, int]  # minus the zero points
    output_multiplier: int
    output_shift: int
    output_offset: int
    clamp_min: int
    clamp_max: int
    rounding: str


# ---- checks and preparation ------------------------------------------------------------------------

def tensors_of(node: Node, graph: Graph) -> list[Tensor]:
    return [graph.tensors[t] for t in node.inputs] + [graph.tensors[t] for t in node.outputs]


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    a, b = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    try:
        shape = tuple(int(d) for d in np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise unsupported(node, f"input shapes {a.shape} and {b.shape} do not broadcast") from None
    if a.shape != b.shape and len(shape) > MAX_BROADCAST_RANK:
        raise unsupported(node, f"broadcasting over {len(shape)} dimensions; TFLite broadcasts at most "
                                f"{MAX_BROADCAST_RANK}")
    return [shape]


def _quantised(t: Tensor) -> bool:
    return t.quant is not None


def check_quant(node: Node, t: Tensor) -> None:
    if t.quant is None or t.quant.per_channel:
        raise unsupported(node, f"{t.dtype} tensor '{t.name}' needs per-tensor quantisation parameters")
    if not (math.isfinite(t.quant.single_scale) and t.quant.single_scale > 0):
        raise unsupported(node, f"tensor '{t.name}' has scale {t.quant.single_scale}; scales must be positive")
    if t.dtype == "int16" and t.quant.single_zero_point != 0:
        raise unsupported(node, f"int16 tensor '{t.name}' needs zero point 0")


def _is_quantised_variant(node: Node, dtype: str) -> bool:
    return dtype in TYPES[node.op][1]


def check_binary(node: Node, graph: Graph) -> None:
    if len(node.inputs) != 2 or len(node.outputs) != 1 or NO_TENSOR in node.inputs:
        raise unsupported(node, "expects two inputs and one output")
    a, b, out = tensors_of(node, graph)
    alpha_dtype = PRELU_ALPHA.get(a.dtype, a.dtype) if node.op == "PRELU" else a.dtype
    if not (a.dtype == out.dtype and b.dtype == alpha_dtype):
        expected = f"{a.dtype} alpha" if alpha_dtype == a.dtype else f"an {alpha_dtype} alpha"
        raise unsupported(node, f"inputs {a.dtype}, {b.dtype} and output {out.dtype}: {node.op} on {a.dtype} needs "
                                f"{expected} and {a.dtype} output")
    plain, quantised = TYPES[node.op]
    if a.dtype not in plain + quantised:
        raise unsupported(node, f"{a.dtype} is not supported (supported: {', '.join(plain + quantised)})")
    if node.op == "PRELU" and infer_shapes(node, graph)[0] != a.shape:
        raise unsupported(node, f"alpha {b.shape} must broadcast to the input's shape {a.shape} (TFLite keeps it)")
    if node.op == "DIV":
        fused_activation(node, node.options.fused_activation_function)
    if _is_quantised_variant(node, a.dtype):
        for t in (a, b, out):
            check_quant(node, t)
        if node.op == "SQUARED_DIFFERENCE":
            _squared_difference_multipliers(node, a, b, out)
        if node.op == "DIV":
            shift = quantize_multiplier(_div_real_multiplier(a, b, out))[1]
            # the dividend's headroom is >= 23 bits: then the final shift is a right shift, as TFLite needs
            if not -31 <= shift <= 23:
                raise unsupported(node, f"input1_scale / (input2_scale * output_scale) = "
                                        f"{_div_real_multiplier(a, b, out):g} is outside the range TFLite's DIV handles")


def _squared_difference_multipliers(node: Node, a: Tensor, b: Tensor, out: Tensor):
    left_shift = 7 if a.dtype == "int8" else 0
    twice = 2.0 * max(float(np.float32(a.quant.single_scale)), float(np.float32(b.quant.single_scale)))
    reals = (a.quant.single_scale / twice, b.quant.single_scale / twice,
             twice * twice / ((1 << 2 * left_shift) * out.quant.single_scale))
    if reals[2] >= 2.0 ** 31:
        raise unsupported(node, f"output scale {out.quant.single_scale:g} is too small for the input scales")
    return left_shift, [quantize_multiplier(r) for r in reals]


def _div_real_multiplier(a: Tensor, b: Tensor, out: Tensor) -> float:
    f = np.float32  # TFLite computes the product and quotient in float32
    return float(f(a.quant.single_scale) / (f(b.quant.single_scale) * f(out.quant.single_scale)))


def prepare_binary(node: Node, graph: Graph, semantics: Semantics):
    a, b, out = tensors_of(node, graph)
    shape = infer_shapes(node, graph)[0]
    if not _is_quantised_variant(node, a.dtype):
        clamp = None
        if node.op == "DIV":
            activation = fused_activation(node, node.options.fused_activation_function)
            if a.dtype == "float32":
                clamp = activation_range_float(activation)
            else:
                info = np.iinfo(np.int32)
                clamp = {"RELU": (0, int(info.max)), "RELU6": (0, 6), "RELU_N1_TO_1": (-1, 1)}.get(
                    activation, (int(info.min), int(info.max)))
        return PlainParams(node.op, shape, a.dtype, clamp)
    if node.op == "SQUARED_DIFFERENCE":
        left_shift, ((m1, s1), (m2, s2), (mo, so)) = _squared_difference_multipliers(node, a, b, out)
        return SquaredDifferenceParams(shape, a.dtype, left_shift,
                                       (-a.quant.single_zero_point, -b.quant.single_zero_point), (m1, m2), (s1, s2),
                                       mo, so, out.quant.single_zero_point, BINARY_ROUNDING)
    if node.op == "DIV":
        activation = fused_activation(node, node.options.fused_activation_function)
        lo, hi = activation_range_quantized(activation, out.quant.single_scale, out.quant.single_zero_point,
                                            out.np_dtype)
        multiplier, shift = quantize_multiplier(_div_real_multiplier(a, b, out))
        return QuantizedDivParams(shape, a.dtype, (-a.quant.single_zero_point, -b.quant.single_zero_point),
                                  multiplier, shift, out.quant.single_zero_point, lo, hi, BINARY_ROUNDING)
    positive = quantize_multiplier(a.quant.single_scale / out.quant.single_scale)
    negative = quantize_multiplier(a.quant.single_scale * b.quant.single_scale / out.quant.single_scale)
    return PreluParams(shape, a.dtype, -a.quant.single_zero_point, -b.quant.single_zero_point, *positive, *negative,
                       out.quant.single_zero_point, BINARY_ROUNDING)


# ---- evaluation ------------------------------------------------------------------------------------

def _no_zero_divisor(op: str, b: np.ndarray) -> None:
    if np.any(b == 0):
        raise InputError(f"{op}: a divisor is 0; TFLite stops with 'Division by zero' (the integer C kernels "
                         "give 0, the float32 one floor(+-inf or NaN))")


def _wrap(x: np.ndarray, dtype: str) -> np.ndarray:
    """Two's-complement wrap of int64 values to `dtype` (int64 values are already wrapped)."""
    return np.asarray(x, dtype=np.int64).astype(np.dtype(dtype))


def _floor_div_int(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.floor_divide(a.astype(np.int64), b.astype(np.int64))


def _evaluate_plain(p: PlainParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):  # IEEE results (inf, NaN) and integer wrap-around are intended
        if p.dtype == "float32":
            if p.op == "DIV":
                return np.clip(a / b, p.clamp[0], p.clamp[1])
            if p.op == "FLOOR_DIV":  # TFLite refuses a zero divisor for float32 too
                _no_zero_divisor(p.op, b)
                return np.floor(a.astype(np.float64) / b.astype(np.float64)).astype(np.float32)
            if p.op == "FLOOR_MOD":
                mod = np.fmod(a, b)
                return np.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)
            if p.op == "SQUARED_DIFFERENCE":
                d = a - b
                return d * d
            return np.where(a >= 0, a, a * b)  # PRELU
        if p.op in ("DIV", "FLOOR_DIV", "FLOOR_MOD"):
            _no_zero_divisor(p.op, b)
        if p.op == "DIV":  # C's truncating division; INT_MIN / -1 wraps
            wide_a, wide_b = a.astype(np.int64), b.astype(np.int64)
            quotient = np.sign(wide_a) * np.sign(wide_b) * (np.abs(wide_a) // np.abs(wide_b))
            return np.clip(wrap_int32(quotient), p.clamp[0], p.clamp[1])
        if p.op == "FLOOR_DIV":
            return _wrap(_floor_div_int(a, b), p.dtype)
        if p.op == "FLOOR_MOD":
            if p.dtype == "int64":
                return np.where(b == -1, 0, np.mod(a, np.where(b == -1, 1, b)))
            return np.mod(a.astype(np.int64), b.astype(np.int64))
        d = wrap_int32(a.astype(np.int64) - b.astype(np.int64))  # SQUARED_DIFFERENCE int32
        return wrap_int32(d * d)


def scaled_inputs(x: np.ndarray, offset: int, left_shift: int, multiplier: int, shift: int,
                  rounding: str) -> np.ndarray:
    return multiply_by_quantized_multiplier((x.astype(np.int64) + offset) << left_shift, multiplier, shift, rounding)


def _evaluate_squared_difference(p: SquaredDifferenceParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sa = scaled_inputs(a, p.offsets[0], p.left_shift, p.multipliers[0], p.shifts[0], p.rounding)
    sb = scaled_inputs(b, p.offsets[1], p.left_shift, p.multipliers[1], p.shifts[1], p.rounding)
    raw = wrap_int32((sa - sb) * (sa - sb))  # 8-bit: < 2^30; int16 (left shift 0): < 2^31 as well
    out = multiply_by_quantized_multiplier(raw, p.output_multiplier, p.output_shift, p.rounding) + p.output_offset
    return np.clip(out, *type_range(p.dtype))


def _evaluate_prelu(p: PreluParams, x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    centred = x.astype(np.int64) + p.input_offset
    positive = multiply_by_quantized_multiplier(centred, p.positive_multiplier, p.positive_shift, p.rounding)
    product = centred * (alpha.astype(np.int64) + p.alpha_offset)  # int16 x int8: |.| < 2^24
    negative = multiply_by_quantized_multiplier(wrap_int32(product), p.negative_multiplier, p.negative_shift,
                                                p.rounding)
    out = np.where(centred >= 0, positive, negative) + p.output_offset
    return np.clip(out, *type_range(p.dtype))


def leading_sign_bits(x: np.ndarray) -> np.ndarray:
    """CountLeadingSignBits of int32 values (31 for 0 and -1)."""
    x = np.asarray(x, dtype=np.int64)
    return fp.count_leading_zeros(np.where(x < 0, ~x, x)) - 1


def divisor_terms(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For divisors y != 0 (minus the zero point): sign flag, Q0.31 reciprocal of |y| and its shift."""
    negative = y < 0
    inverse, shift = fp.get_reciprocal(np.abs(y), 31)
    return negative, inverse, shift


def rounding_divide_by_pot_x86(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT on int32 as LiteRT's x86-64 build runs it for any exponent:
    the mask (1ll << e) - 1 truncated to int32 (x86 takes 64-bit shift counts mod 64) and x >> e
    with the count taken mod 32. For e <= 31 this is the ordinary rounding division; beyond it (C
    calls it undefined) a zero gives 1 and a negative value is shifted by e mod 32."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    mask = wrap_int32((np.int64(1) << (e & 63)) - 1)
    threshold = (mask >> 1) + (x < 0)
    return (x >> (e & 31)) + ((x & mask) > threshold)


def _evaluate_div_q(p: QuantizedDivParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x = a.astype(np.int64) + p.offsets[0]
    y = b.astype(np.int64) + p.offsets[1]
    if np.any(y == 0):
        raise InputError("DIV: a divisor equals its zero point (a real 0); TFLite's result is undefined there "
                         "(the C kernel gives the output zero point)")
    negative, inverse, recip_shift = divisor_terms(y)
    x = np.where(negative, -x, x)
    headroom = leading_sign_bits(x)
    unscaled = multiply_by_quantized_multiplier(x, inverse, headroom, p.rounding)
    # MultiplyByQuantizedMultiplierSmallerThanOneExp: the high multiply, then a right shift by
    # -total, which exceeds 31 for small dividends (measured: LiteRT's x86 results, see above)
    total = p.output_shift - recip_shift - headroom
    high = multiply_by_quantized_multiplier(unscaled, p.output_multiplier, 0, p.rounding)
    out = rounding_divide_by_pot_x86(high, -total) + p.output_offset
    return np.clip(out, p.clamp_min, p.clamp_max)


def evaluate_binary(p, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    a, b = np.asarray(inputs[0]), np.asarray(inputs[1])
    if isinstance(p, PlainParams):
        out = _evaluate_plain(p, a, b)
    elif isinstance(p, QuantizedDivParams):
        out = _evaluate_div_q(p, a, b)
    elif isinstance(p, SquaredDifferenceParams):
        out = _evaluate_squared_difference(p, a, b)
    else:
        out = _evaluate_prelu(p, a, b)
    return [np.array(np.broadcast_to(out, p.out_shape), dtype=p.dtype)]


# ---- C lowering ------------------------------------------------------------------------------------

def lower_binary(node: Node, graph: Graph, p) -> KernelCall:
    a, b, out = tensors_of(node, graph)
    dims, a_strides, b_strides = broadcast_layout(a.shape, b.shape, out.shape)
    if len(dims) > MAX_C_RANK:
        raise no_kernel(node, f"broadcasting over {len(dims)} dimensions (the kernels index {MAX_C_RANK})")
    fields = range_fields(node, graph) + (
        ("rank", len(dims)), ("dims", CArray.of("int32_t", dims)),
        ("a_strides", CArray.of("int32_t", a_strides)), ("b_strides", CArray.of("int32_t", b_strides)))
    buffers = (node.inputs[0], node.inputs[1], node.outputs[0])
    source = "binary_math_f32.c" if a.dtype == "float32" else "binary_math.c"
    name = f"ariel_{node.op.lower()}"
    if isinstance(p, PlainParams):
        if p.clamp is not None:
            names = ("float_min", "float_max") if p.dtype == "float32" else ("act_min", "act_max")
            fields += ((names[0], p.clamp[0]), (names[1], p.clamp[1]))
        return KernelCall(f"{name}_{C_SUFFIX[p.dtype]}", "ariel_binary_params", fields, buffers, source)
    if isinstance(p, QuantizedDivParams):
        check_shift(node, p.output_shift)
        every_byte = np.arange(256, dtype=np.uint8).view(np.dtype(p.dtype))
        x = every_byte.astype(np.int64) + p.offsets[0]
        y = every_byte.astype(np.int64) + p.offsets[1]
        negative, inverse, recip_shift = divisor_terms(np.where(y == 0, 1, y))
        inverse = np.where(y == 0, 0, inverse)  # 0 marks a zero divisor
        headrooms = leading_sign_bits(x) | (leading_sign_bits(-x) << 8)
        fields += (("a_offset", p.offsets[0]), ("output_multiplier", p.output_multiplier),
                   ("output_shift", p.output_shift), ("output_offset", p.output_offset),
                   ("act_min", p.clamp_min), ("act_max", p.clamp_max),
                   ("a_table", CArray.of("int32_t", headrooms)),
                   ("b_table", CArray.of("int32_t", np.concatenate([inverse, recip_shift | (negative << 8)]))))
        return KernelCall(f"{name}_q_{C_SUFFIX[p.dtype]}", "ariel_binary_params", fields, buffers, source)
    lo, hi = type_range(p.dtype)
    if isinstance(p, SquaredDifferenceParams):
        check_shift(node, *p.shifts, p.output_shift)
        fields += (("a_offset", p.offsets[0]), ("b_offset", p.offsets[1]), ("left_shift", p.left_shift),
                   ("output_offset", p.output_offset), ("act_min", lo), ("act_max", hi),
                   ("rq", _records(p.output_multiplier, p.output_shift, p.rounding)))
        if p.dtype == "int8":  # each input's scaled value for every byte, indexed by (uint8_t)x
            every_byte = np.arange(256, dtype=np.uint8).view(np.int8)
            tables = [scaled_inputs(every_byte, p.offsets[i], p.left_shift, p.multipliers[i], p.shifts[i],
                                    p.rounding) for i in (0, 1)]
            fields += (("a_table", CArray.of("int32_t", tables[0])), ("b_table", CArray.of("int32_t", tables[1])))
        else:
            fields += (("a_rq", _records(p.multipliers[0], p.shifts[0], p.rounding)),
                       ("b_rq", _records(p.multipliers[1], p.shifts[1], p.rounding)))
        return KernelCall(f"{name}_q_{C_SUFFIX[p.dtype]}", "ariel_binary_params", fields, buffers, source)
    check_shift(node, p.positive_shift, p.negative_shift)
    fields += (("a_offset", p.input_offset), ("b_offset", p.alpha_offset), ("output_offset", p.output_offset),
               ("act_min", lo), ("act_max", hi),
               ("a_rq", _records(p.positive_multiplier, p.positive_shift, p.rounding)),
               ("b_rq", _records(p.negative_multiplier, p.negative_shift, p.rounding)))
    return KernelCall(f"{name}_q_{C_SUFFIX[p.dtype]}", "ariel_binary_params", fields, buffers, source)


def _records(multiplier: int, shift: int, rounding: str) -> CArray:
    """one ariel_rq record: the requantisation in 32-bit operations (ariel_kernels.h)"""
    return CArray.of("int32_t", requant_records([multiplier], [shift], rounding))

for _name in TYPES:
    register(OpDef(name=_name, infer_shapes=infer_shapes, prepare=prepare_binary, evaluate=evaluate_binary,
                   check=check_binary, work_items=element_work_items, lower=lower_binary, num_inputs=(2, 2),
                   num_outputs=(1, 1), **(dict(options_type=DivOptions, tflite_options="DivOptions")
                                          if _name == "DIV" else {})))
