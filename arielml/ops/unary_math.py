"""ABS, NEG, SQUARE, SQRT, RSQRT, EXP, LOG, SIN, COS, CEIL, FLOOR, ROUND, ELU: single-input math,
bit-exact with TFLite's reference kernels.

float32 (every operator): the C library's function on each element in single precision, as
TFLite's reference kernels call it (fabsf, -x, x * x, sqrtf, 1 / sqrtf, expf, logf, sinf, cosf,
ceilf, floorf). ROUND is TFLite's RoundToNearest: floor, then up when the remainder is above one
half or exactly one half with an odd floor (banker's rounding; -0.3 gives +0.0, not -0.0). ELU is
x < 0 ? expm1f(x) : x. The numpy reference calls the host C library's expf/logf/sinf/cosf/expm1f
(lookup_tables.c_float_function), which is what LiteRT calls; a device's C library may round those
differently (see docs/semantics.md), the others are exact everywhere.

Integers:
- ABS int8 / int16 with quantisation (TFLite Micro and LiteRT): |x - input zero point|, rescaled by
  input_scale / output_scale (a float32 quotient) when the scales differ, plus the output zero
  point, clamped. int16 and int32 without quantisation: |x| of the stored value (|INT_MIN| wraps).
- RSQRT int8: (x - input zero point) through gemmlowp's fixed-point inverse square root
  (GetInvSqrtQuantizedMultiplierExp), rescaled twice; a zero input gives the type's maximum and a
  negative one is an error in TFLite (the reference raises).
- NEG int8 / int16 / int32 / int64 (LiteRT; TFLite Micro has float32 only): -x of the stored value
  (quantisation parameters are ignored, as in LiteRT), wrapping at the type's minimum.
- EXP int16 (LiteRT only): TFLite's int16 table of 512 segments, interpolated on the low 7 bits.
- ELU int8 (and EXP, LOG int8, LiteRT only): TFLite's 256-entry table: each code dequantised in
  float32, transformed (ELU: expf(x) - 1 below zero; expf; logf), rounded half away from zero in
  output units (lookup_tables.lut_populate_8bit).

C kernels: 8-bit inputs become a 256-entry table filled by the reference itself
(pointwise_lowering.lower_table8); float32 in kernels/unary_math_f32.c; int16/int32/int64 in
kernels/unary_math.c. Every kernel maps element i to element i, so all run in place."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.errors import InputError
from arielml.ir import Graph, Node, Tensor
from arielml.ops import fixed_point as fp
from arielml.ops.lookup_tables import (c_float_function, lookup_8bit, lookup_int16, lut_populate_8bit,
                                      lut_populate_int16, round_half_away)
from arielml.ops.kernel_support import requant_records
from arielml.ops.pointwise_lowering import (EIGHT_BIT, check_shift, element_work_items, lower_table8, range_fields,
                                            type_range)
from arielml.ops.quant_math import (DOUBLE_ROUNDING, multiply_by_quantized_multiplier, quantize_multiplier,
                                    saturating_rounding_doubling_high_mul, wrap_int32)
from arielml.ops.registry import OpDef, Semantics, register, unsupported

# measured (tests/test_ops_unary_math.py): LiteRT's reference ABS/RSQRT requantise with double
# rounding, as TFLite Micro does
UNARY_ROUNDING = DOUBLE_ROUNDING

FLOAT_OPS = ("ABS", "NEG", "SQUARE", "SQRT", "RSQRT", "EXP", "LOG", "SIN", "COS", "CEIL", "FLOOR", "ROUND", "ELU")
# integer types each operator takes; "q" = must carry quantisation parameters, "raw" = must not
INTEGER_TYPES = {
    "ABS": {"int8": "q", "int16": "either", "int32": "raw"},
    "RSQRT": {"int8": "q"},
    "ELU": {"int8": "q"},
    "EXP": {"int8": "q", "int16": "q"},  # LiteRT only
    "LOG": {"int8": "q"},  # LiteRT only
    "NEG": {"int8": "either", "int16": "either", "int32": "either", "int64": "either"},
}
LIBM = ("EXP", "LOG", "SIN", "COS", "ELU")  # computed by the C library's float functions


@dataclass(frozen=True)
class FloatParams:
    op: str


@dataclass(frozen=True)
class RawIntParams:
    """ABS or NEG of the stored integer values, wrapping at the type's minimum."""

    op: str
    dtype: str


@dataclass(frozen=True)
class QuantizedAbsParams:
    dtype: str
    input_zero_point: int
    output_zero_point: int
    rescale: bool  # input scale != output scale
    multiplier: int
    shift: int
    rounding: str


@dataclass(frozen=True)
class QuantizedTableParams:
    """int8 ELU, EXP, LOG: TFLite's table, output for input codes -128..127."""

    table: tuple[int, ...]


@dataclass(frozen=True)
class Int16TableParams:
    """int16 EXP: TFLite's 513-entry interpolated table (lookup_tables.lut_populate_int16)."""

    table: tuple[int, ...]


@dataclass(frozen=True)
class QuantizedRsqrtParams:
    dtype: str
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    rounding: str


def same_shape(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [graph.tensors[node.inputs[0]].shape]


def _tensors(node: Node, graph: Graph) -> tuple[Tensor, Tensor]:
    return graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]


def _quantised(t: Tensor) -> bool:
    return t.quant is not None


def check(node: Node, graph: Graph) -> None:
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise unsupported(node, "expects one input and one output")
    x, y = _tensors(node, graph)
    if x.dtype != y.dtype:
        raise unsupported(node, f"input {x.dtype} and output {y.dtype} must have one type")
    if x.dtype == "float32":
        return
    kinds = INTEGER_TYPES.get(node.op, {})
    if x.dtype not in kinds:
        raise unsupported(node, f"{x.dtype} is not supported (supported: {', '.join(('float32',) + tuple(kinds))})")
    kind = kinds[x.dtype]
    if kind == "raw" or node.op == "NEG" or (kind == "either" and not _quantised(x)):
        return
    for t in (x, y):
        if t.quant is None or t.quant.per_channel:
            raise unsupported(node, f"{t.dtype} tensor '{t.name}' needs per-tensor quantisation parameters")
        if not (math.isfinite(t.quant.single_scale) and t.quant.single_scale > 0):
            raise unsupported(node, f"tensor '{t.name}' has scale {t.quant.single_scale}; scales must be positive")
        if x.dtype == "int16" and t.quant.single_zero_point != 0:
            raise unsupported(node, f"int16 tensor '{t.name}' needs zero point 0")
    if node.op in TABLE_TRANSFORMS:
        return
    real = _real_multiplier(node.op, x.quant.single_scale, y.quant.single_scale)
    if real >= 2.0 ** 31 or (real != 0 and not -31 <= quantize_multiplier(real)[1] <= 30):
        raise unsupported(node, f"input scale {x.quant.single_scale:g} / output scale {y.quant.single_scale:g} "
                                "is outside TFLite's multiplier range")


def _elu_transform(v: np.ndarray, expf) -> np.ndarray:
    """TFLite's int8 ELU table transform: expf(x) - 1 below zero (not expm1f), in float32."""
    return np.where(v < 0, (expf(v) - np.float32(1)).astype(np.float32), v).astype(np.float32)


# the float32 transform of TFLite's int8 tables (LUTPopulate)
TABLE_TRANSFORMS = {
    "ELU": lambda v: _elu_transform(v, c_float_function("exp")),
    "EXP": lambda v: c_float_function("exp")(v),
    "LOG": lambda v: c_float_function("log")(v),
}


def saturating_table(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                     transform) -> np.ndarray:
    """LiteRT's int8 EXP/LOG table: as lut_populate_8bit, but the rescaled value is clamped to the
    int8 range while still a float (measured: exp overflowing to inf gives 127, not the -128 an
    int32 conversion of inf would give); NaN (log of a negative) ends as -128."""
    codes = np.arange(-128, 128, dtype=np.int64)
    dequantized = np.float32(input_scale) * (codes - input_zero_point).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        transformed = transform(dequantized).astype(np.float32)
        rescaled = round_half_away((transformed * (np.float32(1) / np.float32(output_scale))).astype(np.float32))
        shifted = (rescaled + np.float32(output_zero_point)).astype(np.float32)
        clamped = np.where(np.isnan(shifted), np.float32(-128), np.clip(shifted, np.float32(-128), np.float32(127)))
    return clamped.astype(np.int8)


def _real_multiplier(op: str, input_scale: float, output_scale: float) -> float:
    f = np.float32
    if op == "ABS":  # SetAbsOutputMultiplier: the quotient in float32
        return float(f(input_scale) / f(output_scale))
    # SetRsqrtOutputMultiplier: 1 / (sqrtf(input_scale) * output_scale), the product in float32
    return 1.0 / float(np.sqrt(f(input_scale)) * f(output_scale))


def prepare(node: Node, graph: Graph, semantics: Semantics):
    x, y = _tensors(node, graph)
    if x.dtype == "float32":
        return FloatParams(node.op)
    if node.op == "NEG" or not _quantised(x) or INTEGER_TYPES[node.op][x.dtype] == "raw":
        return RawIntParams(node.op, x.dtype)
    if node.op == "ELU":
        table = lut_populate_8bit(x.quant.single_scale, x.quant.single_zero_point, y.quant.single_scale,
                                  y.quant.single_zero_point, TABLE_TRANSFORMS[node.op], "int8")
        return QuantizedTableParams(tuple(int(v) for v in table))
    if node.op in TABLE_TRANSFORMS and x.dtype == "int16":
        with np.errstate(all="ignore"):  # exp overflowing to inf saturates in the table, as in TFLite
            table = lut_populate_int16(x.quant.single_scale, x.quant.single_zero_point, y.quant.single_scale,
                                       y.quant.single_zero_point, TABLE_TRANSFORMS[node.op])
        return Int16TableParams(tuple(int(v) for v in table))
    if node.op in TABLE_TRANSFORMS:
        return QuantizedTableParams(tuple(int(v) for v in saturating_table(
            x.quant.single_scale, x.quant.single_zero_point, y.quant.single_scale, y.quant.single_zero_point,
            TABLE_TRANSFORMS[node.op])))
    multiplier, shift = quantize_multiplier(_real_multiplier(node.op, x.quant.single_scale, y.quant.single_scale))
    if node.op == "ABS":
        return QuantizedAbsParams(x.dtype, x.quant.single_zero_point, y.quant.single_zero_point,
                                  x.quant.single_scale != y.quant.single_scale, multiplier, shift, UNARY_ROUNDING)
    return QuantizedRsqrtParams(x.dtype, x.quant.single_zero_point, y.quant.single_zero_point, multiplier, shift,
                                UNARY_ROUNDING)


# ---- evaluation ------------------------------------------------------------------------------------

def round_to_nearest(x: np.ndarray) -> np.ndarray:
    """TFLite's RoundToNearest in float32 (see the module docstring)."""
    floor = np.floor(x)
    with np.errstate(invalid="ignore"):  # inf - inf = NaN: then floor + 1, as in C
        diff = (x - floor).astype(np.float32)
        keep = (diff < np.float32(0.5)) | ((diff == np.float32(0.5)) & (np.fmod(floor, np.float32(2)) == 0))
    return np.where(keep, floor, floor + np.float32(1)).astype(np.float32)


def _evaluate_float(op: str, x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):  # NaN, inf and negative arguments give the IEEE results, as in C
        if op == "ABS":
            return np.abs(x)
        if op == "NEG":
            return -x
        if op == "SQUARE":
            return x * x
        if op == "SQRT":
            return np.sqrt(x)
        if op == "RSQRT":
            return np.float32(1) / np.sqrt(x)
        if op == "CEIL":
            return np.ceil(x)
        if op == "FLOOR":
            return np.floor(x)
        if op == "ROUND":
            return round_to_nearest(x)
        if op == "ELU":
            return np.where(x < 0, c_float_function("expm1")(x), x)
        return c_float_function(op.lower())(x)


def _evaluate_raw(p: RawIntParams, x: np.ndarray) -> np.ndarray:
    wide = x.astype(np.int64)
    if p.dtype == "int64":  # two's-complement wrap, as C's negation of INT64_MIN on our targets
        return (-x.view(np.uint64)).view(np.int64) if p.op == "NEG" else np.where(x < 0, -x, x)
    result = np.abs(wide) if p.op == "ABS" else -wide
    return result.astype(np.dtype(p.dtype))  # wraps: |INT_MIN| and -INT_MIN are INT_MIN again


def _evaluate_abs(p: QuantizedAbsParams, x: np.ndarray) -> np.ndarray:
    value = np.abs(x.astype(np.int64) - p.input_zero_point)
    if p.rescale:
        value = multiply_by_quantized_multiplier(value, p.multiplier, p.shift, p.rounding)
    lo, hi = type_range(p.dtype)
    return np.clip(value + p.output_zero_point, lo, hi)


def inv_sqrt_multiplier_exp(value: int) -> tuple[int, int]:
    """gemmlowp-style fixed-point 1/sqrt(value) as (multiplier, left shift) for value >= 2:
    five Newton-Raphson steps in Q3.28 from x = 1 (TFLite's GetInvSqrtQuantizedMultiplierExp with
    reverse_shift -1)."""
    if value <= 1:
        return (1 << 31) - 1, 0
    shift = 11
    while value >= 1 << 29:
        value //= 4
        shift += 1
    leading_zeros = 32 - value.bit_length()
    pairs = (leading_zeros - 1) // 2 - 1
    shift -= pairs
    value <<= 2 * pairs
    f3_one = 1 << 28
    half_input = int(fp.multiply_by_pot(np.int64(value >> 1), -1))
    half_three = (1 << 28) + (1 << 27)
    x = np.int64(f3_one)

    def mul(a, b):
        return saturating_rounding_doubling_high_mul(a, b)
    for _ in range(5):
        x3 = fp.rescale(mul(mul(x, x), x), 9, 3)
        x = fp.rescale(wrap_int32(mul(half_three, x) - mul(half_input, x3)), 6, 3)
    raw = int(mul(x, 1518500250))  # times sqrt(2) / 2 in Q0.31
    if shift < 0:
        raw, shift = raw << -shift, 0
    return raw, -shift


def _evaluate_rsqrt(p: QuantizedRsqrtParams, x: np.ndarray, strict: bool = True) -> np.ndarray:
    """strict: a value below the input zero point is an error, as in TFLite; otherwise (the C
    kernel's table) it gives the type's maximum, as zero does."""
    lo, hi = type_range(p.dtype)
    centred = x.astype(np.int64) - p.input_zero_point
    if strict and np.any(centred < 0):
        raise InputError(f"RSQRT: an input value is below the input zero point {p.input_zero_point}, i.e. "
                         "negative; TFLite stops with 'Rsqrt is only defined for positive values' (the C "
                         "kernels give the type's maximum there)")
    out = np.empty(x.shape, dtype=np.int64)
    for index, value in np.ndenumerate(centred):  # at most 256 distinct values: a scalar loop is fine
        if value <= 0:
            out[index] = hi
            continue
        multiplier, shift = inv_sqrt_multiplier_exp(int(value))
        data = multiply_by_quantized_multiplier(1, multiplier, shift + 20, p.rounding)
        out[index] = multiply_by_quantized_multiplier(data, p.multiplier, p.shift - 20, p.rounding) \
            + p.output_zero_point
    return np.clip(out, lo, hi)


def evaluate(p, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = np.asarray(inputs[0])
    if isinstance(p, FloatParams):
        out, dtype = _evaluate_float(p.op, x.astype(np.float32)), "float32"
    elif isinstance(p, RawIntParams):
        out, dtype = _evaluate_raw(p, x), p.dtype
    elif isinstance(p, QuantizedAbsParams):
        out, dtype = _evaluate_abs(p, x), p.dtype
    elif isinstance(p, Int16TableParams):
        out, dtype = lookup_int16(x, np.array(p.table, dtype=np.int16)), "int16"
    elif isinstance(p, QuantizedTableParams):
        out, dtype = lookup_8bit(x, np.array(p.table, dtype=np.int8)), "int8"
    else:
        out, dtype = _evaluate_rsqrt(p, x), p.dtype
    return [np.array(out, dtype=dtype).reshape(x.shape)]


# ---- C lowering ------------------------------------------------------------------------------------

_SUFFIX = {"int16": "s16", "int32": "s32", "int64": "s64"}


def lower(node: Node, graph: Graph, p) -> KernelCall:
    x, y = _tensors(node, graph)
    if isinstance(p, QuantizedRsqrtParams):
        return lower_table8(node, graph, p, lambda p, xs: [_evaluate_rsqrt(p, xs[0], strict=False)])
    if x.dtype in EIGHT_BIT:
        return lower_table8(node, graph, p, evaluate)
    buffers = (node.inputs[0], node.outputs[0])
    if isinstance(p, FloatParams):
        return KernelCall(f"ariel_{p.op.lower()}_f32", "ariel_unary_math_f32_params", range_fields(node, graph),
                          buffers, "unary_math_f32.c")
    if isinstance(p, RawIntParams):
        return KernelCall(f"ariel_{p.op.lower()}_{_SUFFIX[p.dtype]}", "ariel_unary_math_params",
                          range_fields(node, graph), buffers, "unary_math.c")
    if isinstance(p, QuantizedAbsParams):
        check_shift(node, p.shift)
        lo, hi = type_range(p.dtype)
        fields = range_fields(node, graph) + (
            ("input_zero_point", p.input_zero_point), ("output_zero_point", p.output_zero_point),
            ("rescale", int(p.rescale)), ("out_min", lo), ("out_max", hi),
            ("rq", CArray.of("int32_t", requant_records([p.multiplier], [p.shift], p.rounding))))
        return KernelCall("ariel_abs_q_s16", "ariel_unary_math_params", fields, buffers, "unary_math.c")
    if isinstance(p, Int16TableParams):
        fields = range_fields(node, graph) + (("table", CArray.of("int16_t", p.table)),)
        return KernelCall("ariel_lut_s16", "ariel_unary_math_params", fields, buffers, "unary_math.c")
    raise no_kernel(node, f"{x.dtype} has no C kernel")


for _name in FLOAT_OPS:
    register(OpDef(name=_name, infer_shapes=same_shape, prepare=prepare, evaluate=evaluate, check=check,
                   work_items=element_work_items, lower=lower, inplace_input=0, num_inputs=(1, 1),
                   num_outputs=(1, 1)))
