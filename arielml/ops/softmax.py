"""SOFTMAX and LOG_SOFTMAX over the last axis, bit-exact with TFLite's reference kernels.

- int8/uint8 input: differences to the row maximum, scaled by beta * input scale into Q5.26,
  gemmlowp's exp_on_negative_values, a Q12.19 sum, its reciprocal by Newton-Raphson, output at
  scale 1/256 (int8/uint8) or 1/65536 (int16 output). LOG_SOFTMAX takes the fixed-point log of the
  sum instead and outputs at scale 16/256 with the zero point at the top of the range.
- int16 input: exp and 1/(1+x) from 513-entry interpolated tables built at Prepare time.
Both LiteRT 2.3 and TFLite Micro build these kernels with gemmlowp's double rounding (measured:
int16 SOFTMAX, whose input multiplier has a right shift, matches LiteRT only with double rounding,
on 60 of 60 random models against 38 of 60 with single rounding). The TFLM variant differs only in
how Prepare works: the int16 tables are built in float32 instead of float64 and beta * input scale
is multiplied in double instead of float32.

Limit inherited from TFLite: with int8/uint8 output a row whose exponentials sum to 512 or more
(possible only with a last axis of 512 or longer) makes LiteRT abort the process (TFLITE_CHECK on
the output shift); here the shift simply exceeds 31 and those outputs come out as 0.

C kernels (runtime/kernels/softmax.c, one work item per row): for 8-bit input the exponentials of
the 256 possible differences to the row maximum are a compile-time table; the kernel sums them and
does the reciprocal / log and the scaling in gemmlowp fixed point as here."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import Graph, Node
from arielml.ops import fixed_point as fp
from arielml.ops.lookup_tables import c_double_function, c_float_function, lookup_int16, lut_populate_int16
from arielml.ops.nonlinear import _check_unary, _tensors, evaluate, same_shape
from arielml.ops.ort_softmax import OrtQLinearSoftmax, lower_ort_softmax, prepare_ort_softmax
from arielml.ops.quant_math import DOUBLE_ROUNDING, INT32_MIN, multiply_by_quantized_multiplier, quantize_multiplier
from arielml.ops.registry import OpDef, Semantics, register, unsupported

SCALED_DIFF_INTEGER_BITS = 5  # the exp input is Q5.26: exp(-32) and below is negligible
ACCUMULATION_INTEGER_BITS = 12  # sums of up to 4096 ones fit


@dataclass(frozen=True)
class SoftmaxOptions:
    beta: float = 0.0
    # ONNX models: the QLinearSoftmax onnxruntime runs for this float SOFTMAX's island, (x_scale,
    # x_zero, y_scale, y_zero, raw_shift) (ops/ort_softmax.py); used under semantics "onnxruntime"
    onnxruntime: tuple = field(default=(), metadata={"compiler_only": True})


def _rows(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)


@dataclass(frozen=True)
class FloatSoftmax:
    beta: float
    log: bool

    def apply(self, x: np.ndarray) -> np.ndarray:
        rows = _rows(x).astype(np.float32)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # ±inf/NaN rows: IEEE results, as in C
            shifted = rows - rows.max(axis=1, keepdims=True)
            exps = _exp32(shifted if self.log else (shifted * np.float32(self.beta)).astype(np.float32))
            if self.log:
                log_sum = np.log(_sequential_sum(exps).astype(np.float64)).astype(np.float32)
                return (shifted - log_sum).astype(np.float32).reshape(x.shape)
            return (exps / _sequential_sum(exps)).astype(np.float32).reshape(x.shape)


def _exp32(x: np.ndarray) -> np.ndarray:
    """expf as libm computes it (nearly always the correctly rounded value; numpy's float32 exp is
    off by an ulp more often, which the log of a sum near 1 magnifies)."""
    return np.exp(x.astype(np.float64)).astype(np.float32)


def _sequential_sum(values: np.ndarray) -> np.ndarray:
    """Row sums accumulated left to right in float32, as the C loop does (numpy's pairwise sum
    rounds differently, which shows after the log)."""
    total = np.zeros((values.shape[0], 1), dtype=np.float32)
    for column in range(values.shape[1]):
        total += values[:, column:column + 1]
    return total


def _scaled_exps(rows: np.ndarray, multiplier: int, shift: int, diff_min: int, rounding: str):
    """Differences to the row maximum in Q5.26, their exponentials (Q0.31), which of them count,
    and the row sums of those that count (Q12.19)."""
    diff = rows - rows.max(axis=1, keepdims=True)
    counted = diff >= diff_min
    scaled = fp.wrap_int32(multiply_by_quantized_multiplier(diff, multiplier, shift, rounding))
    exps = fp.exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS)
    in_accumulator = fp.rescale(exps, 0, ACCUMULATION_INTEGER_BITS)
    sums = fp.wrap_int32(np.where(counted, in_accumulator, 0).sum(axis=1, keepdims=True))
    return diff, scaled, exps, counted, sums


def _exp_table(multiplier: int, shift: int, diff_min: int, rounding: str) -> np.ndarray:
    """Q0.31 exp of the differences 0, -1, ..., -255 to the row maximum (all that 8-bit codes can
    have), 0 for those below diff_min (they do not count): the C kernels index it with max - code."""
    differences = -np.arange(256, dtype=np.int64).reshape(1, -1)  # one row, whose maximum is 0
    _, _, exps, counted, _ = _scaled_exps(differences, multiplier, shift, diff_min, rounding)
    return np.where(counted, exps, 0).ravel()


@dataclass(frozen=True)
class FixedPointSoftmax:
    """int8/uint8 input; output int8/uint8 (scale 1/256) or int16 (scale 1/65536), its zero
    point at the bottom of the range."""
    multiplier: int
    shift: int
    diff_min: int
    rounding: str
    out_dtype: str
    # exp of every difference 0..-255 to the row maximum (0 where it does not count), for the C
    # kernel; apply computes the same values from scratch
    exp_table: np.ndarray = field(compare=False, repr=False)

    def apply(self, x: np.ndarray) -> np.ndarray:
        rows = _rows(x).astype(np.int64)
        _, _, exps, counted, sums = _scaled_exps(rows, self.multiplier, self.shift, self.diff_min, self.rounding)
        reciprocal, bits_over_unit = fp.get_reciprocal(sums, ACCUMULATION_INTEGER_BITS)
        info = np.iinfo(self.out_dtype)
        exponent = bits_over_unit + 31 - 8 * np.dtype(self.out_dtype).itemsize
        out = fp.rdbp(fp.srdhm(reciprocal, exps), exponent) + info.min
        out = np.where(counted, np.clip(out, info.min, info.max), info.min)
        return out.astype(self.out_dtype).reshape(x.shape)


@dataclass(frozen=True)
class Int16Softmax:
    """int16 in and out (scale 1/32768): differences scaled so that [-65535, 0] covers
    [-10, 0], exp and reciprocal from interpolated tables."""
    multiplier: int
    shift: int
    rounding: str
    exp_table: np.ndarray = field(compare=False)
    reciprocal_table: np.ndarray = field(compare=False)

    def apply(self, x: np.ndarray) -> np.ndarray:
        rows = _rows(x).astype(np.int64)
        diff = rows - rows.max(axis=1, keepdims=True)
        scaled = fp.wrap_int32(multiply_by_quantized_multiplier(diff, self.multiplier, self.shift, self.rounding))
        exps = lookup_int16(np.clip(scaled + 32767, -32768, 32767), self.exp_table)
        sums = exps.sum(axis=1, keepdims=True)  # Q16.15
        headroom_plus_one = fp.count_leading_zeros(sums)
        normalised = ((sums << (headroom_plus_one - 1)) + (1 << 13)) >> 14
        # the table computes 1/(1+x) for x in [0, 1] mapped to [-32768, 32767]
        reciprocal = lookup_int16(np.clip(normalised - ((1 << 15) + (1 << 16)), -32768, 32767), self.reciprocal_table)
        right_shift = 31 - headroom_plus_one
        out = (exps * reciprocal + (np.int64(1) << (right_shift - 1))) >> right_shift
        return np.clip(out, 0, 32767).astype(np.int16).reshape(x.shape)


@dataclass(frozen=True)
class FixedPointLogSoftmax:
    """int8/uint8 in and out at scale 16/256, zero point at the top of the range (127 / 255)."""
    multiplier: int
    shift: int
    reverse_multiplier: int
    reverse_shift: int
    diff_min: int
    rounding: str
    out_dtype: str
    exp_table: np.ndarray = field(compare=False, repr=False)  # as FixedPointSoftmax's

    def apply(self, x: np.ndarray) -> np.ndarray:
        rows = _rows(x).astype(np.int64)
        diff, scaled, _, _, sums = _scaled_exps(rows, self.multiplier, self.shift, self.diff_min, self.rounding)
        log_sum = fp.log_x_for_x_greater_than_or_equal_to_1(sums, ACCUMULATION_INTEGER_BITS, SCALED_DIFF_INTEGER_BITS)
        # the smallest difference whose result is still representable in Q5.26 after the subtraction
        lowest = fp.wrap_int32(log_sum + INT32_MIN)
        adjusted_diff_min = np.maximum(self.diff_min - 1, multiply_by_quantized_multiplier(
            lowest, self.reverse_multiplier, self.reverse_shift, self.rounding))
        info = np.iinfo(self.out_dtype)
        out = fp.rdbp(fp.wrap_int32(scaled - log_sum), 31 - SCALED_DIFF_INTEGER_BITS - 4) + info.max
        out = np.where(diff > adjusted_diff_min, np.clip(out, info.min, info.max), info.min)
        return out.astype(self.out_dtype).reshape(x.shape)


# --- preparation ------------------------------------------------------------------------------

def _beta_multiplier(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling: beta * scale into Q5.26 as a multiplier > 1, capped where the
    requantisation can no longer shift it; plus diff_min, the smallest difference that cannot
    underflow Q5.26 (CalculateInputRadius)."""
    cap = (1 << 31) - 1.0  # the cap of a double-rounding build
    real = min(float(beta) * float(input_scale) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)), cap)
    multiplier, shift = quantize_multiplier(real)
    radius = ((1 << SCALED_DIFF_INTEGER_BITS) - 1) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)) // (1 << shift)
    return multiplier, shift, -radius


def _beta_real(beta: float, input_scale: float) -> float:
    return float(beta) * float(input_scale) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS))


_SOFTMAX_TYPES = {("float32", "float32"), ("int8", "int8"), ("int8", "int16"), ("uint8", "uint8"),
                  ("uint8", "int16"), ("int16", "int16")}


def _near(value: float, target: float) -> bool:
    return abs(value - target) <= 0.001 * target


def _check_softmax(node: Node, graph: Graph) -> None:
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise unsupported(node, "expects exactly one input and one output")
    x, y = _tensors(node, graph)
    if (x.dtype, y.dtype) not in _SOFTMAX_TYPES:
        raise unsupported(node, f"{x.dtype} input with {y.dtype} output is not supported "
                                f"(supported: {', '.join(f'{a}->{b}' for a, b in sorted(_SOFTMAX_TYPES))})")
    if len(x.shape) < 1:
        raise unsupported(node, "needs an input of rank 1 or more")
    if x.dtype == "float32":
        return
    for t in (x, y):
        if t.quant is None or t.quant.per_channel:
            raise unsupported(node, f"tensor {t.name} needs per-tensor quantisation")
    beta = node.options.beta
    out_scale, out_zp = y.quant.single_scale, y.quant.single_zero_point
    if x.dtype == "int16":
        if x.quant.single_zero_point != 0 or out_zp != 0 or not _near(out_scale, 1 / 32768):
            raise unsupported(node, "int16 softmax needs input zero point 0 and output scale 1/32768, zero point 0")
        if beta <= 0:
            raise unsupported(node, f"beta must be positive, got {beta}")
        return
    expected = {"int8": (1 / 256, -128), "uint8": (1 / 256, 0), "int16": (1 / 65536, -32768)}[y.dtype]
    if out_zp != expected[1] or not _near(out_scale, expected[0]):
        raise unsupported(node, f"{y.dtype} output must have scale {expected[0]} and zero point {expected[1]} "
                                f"(got {out_scale}, {out_zp})")
    if not _beta_real(beta, x.quant.single_scale) > 1.0:
        raise unsupported(node, f"beta {beta} times input scale {x.quant.single_scale} is too small for TFLite's "
                                "fixed-point softmax (needs beta * scale > 2^-26)")


def _int16_tables(semantics: Semantics) -> tuple[np.ndarray, np.ndarray]:
    """exp on [-10, 0] and 1/(1+x) on [0, 1], both to [-1, 1] in int16. LiteRT keeps the
    deprecated double-precision table builder here; TFLite Micro builds them in float32."""
    span = 65535  # int16 max - int16 min
    if semantics.name == "tflm":
        f = np.float32
        exp = c_float_function("exp")
        reciprocal = lambda v: (f(1) / (f(1) + v)).astype(f)  # noqa: E731
    else:
        f = np.float64
        exp = c_double_function("exp")
        reciprocal = lambda v: 1.0 / (1.0 + v)  # noqa: E731
    exp_table = lut_populate_int16(f(10) / f(span), 32767, f(2) / f(span), 0, exp, f)
    reciprocal_table = lut_populate_int16(f(1) / f(span), -32768, f(2) / f(span), 0, reciprocal, f)
    return exp_table, reciprocal_table


def _prepare_softmax(node: Node, graph: Graph, semantics: Semantics):
    x, y = _tensors(node, graph)
    beta = node.options.beta
    if x.dtype == "float32":
        if semantics.name == "onnxruntime" and node.options.onnxruntime:
            ort = prepare_ort_softmax(node.options.onnxruntime, x.shape[-1] if x.shape else 1)
            if ort is not None:
                return ort
        return FloatSoftmax(beta, log=False)
    if x.dtype == "int16":
        if semantics.name == "tflm":
            real = float(x.quant.single_scale) * float(beta) / (10.0 / 65535.0)
        else:  # LiteRT multiplies the two float32 values in float32
            real = float(np.float32(x.quant.single_scale) * np.float32(beta)) / (10.0 / 65535.0)
        multiplier, shift = quantize_multiplier(real)
        return Int16Softmax(multiplier, shift, DOUBLE_ROUNDING, *_int16_tables(semantics))
    if semantics.name == "onnxruntime" and node.options.onnxruntime and x.dtype == "int8":
        ort = prepare_ort_softmax(node.options.onnxruntime, x.shape[-1] if x.shape else 1, integer=True)
        if ort is not None:
            return ort
    if semantics.name == "tflm" and y.dtype == "int8" and y.quant.single_scale != 1 / 256:
        raise unsupported(node, "TFLite Micro requires the int8 output scale to be exactly 1/256")
    multiplier, shift, diff_min = _beta_multiplier(beta, x.quant.single_scale)
    return FixedPointSoftmax(multiplier, shift, diff_min, DOUBLE_ROUNDING, y.dtype,
                             _exp_table(multiplier, shift, diff_min, DOUBLE_ROUNDING))


# --- C lowering (runtime/kernels/softmax.c): one work item per row of the last axis ------------

# the Q12.19 sum of up to 4095 exponentials (each <= 2^19) stays below 2^31; TFLite's int32 sum
# wraps for longer rows (none in any MCU classifier), so those stay on the reference backend
MAX_Q8_DEPTH = 4095
MAX_S16_DEPTH = 65536  # the int16 kernel's int32 sum of exponentials (each <= 32767)
_Q8_SOFTMAX_KERNELS = {("int8", "int8"): "ariel_softmax_s8_s8", ("uint8", "uint8"): "ariel_softmax_u8_u8",
                       ("int8", "int16"): "ariel_softmax_s8_s16", ("uint8", "int16"): "ariel_softmax_u8_s16"}


def _rows_and_depth(node: Node, graph: Graph) -> tuple[int, int]:
    x = graph.tensors[node.inputs[0]]
    depth = x.shape[-1] if x.shape else 1
    return (x.num_elements // depth if depth else 0), depth


def softmax_work_items(node: Node, graph: Graph) -> int:
    return _rows_and_depth(node, graph)[0]


def _rounding_code(rounding: str) -> int:
    return 1 if rounding == DOUBLE_ROUNDING else 0  # ARIEL_ROUND_DOUBLE / ARIEL_ROUND_SINGLE


def _check_shift(node: Node, shift: int, rounding: str, what: str) -> None:
    """ariel_requantize's range: left shifts up to 31 (30 with single rounding), right up to 31."""
    top = 31 if rounding == DOUBLE_ROUNDING else 30
    if not -31 <= shift <= top:
        raise no_kernel(node, f"{what} shift {shift} is outside the kernel's range -31..{top}")


def _check_depth(node: Node, depth: int, limit: int) -> None:
    if depth > limit:
        raise no_kernel(node, f"a last axis of {depth} (more than {limit}) could overflow the int32 sum of "
                              "exponentials")


def _lower_softmax(node: Node, graph: Graph, p) -> KernelCall:
    x, y = _tensors(node, graph)
    rows, depth = _rows_and_depth(node, graph)
    shape = (("rows", rows), ("depth", depth))
    buffers = (node.inputs[0], node.outputs[0])
    if isinstance(p, OrtQLinearSoftmax):
        return lower_ort_softmax(p, rows, depth, buffers)
    if isinstance(p, FloatSoftmax):
        kernel = "ariel_log_softmax_f32" if p.log else "ariel_softmax_f32"
        return KernelCall(kernel, "ariel_softmax_f32_params", shape + (("beta", float(np.float32(p.beta))),),
                          buffers, "softmax_f32.c")
    if isinstance(p, FixedPointSoftmax):
        _check_depth(node, depth, MAX_Q8_DEPTH)
        return KernelCall(_Q8_SOFTMAX_KERNELS[(x.dtype, y.dtype)], "ariel_softmax_q8_params",
                          shape + (("exp_table", CArray.of("int32_t", p.exp_table)),), buffers, "softmax.c")
    if isinstance(p, FixedPointLogSoftmax):
        _check_depth(node, depth, MAX_Q8_DEPTH)
        _check_shift(node, p.shift, p.rounding, "input")
        _check_shift(node, p.reverse_shift, p.rounding, "reverse")
        fields = shape + (("multiplier", p.multiplier), ("shift", p.shift),
                          ("reverse_multiplier", p.reverse_multiplier), ("reverse_shift", p.reverse_shift),
                          ("diff_min", p.diff_min), ("rounding", _rounding_code(p.rounding)),
                          ("exp_table", CArray.of("int32_t", p.exp_table)))
        kernel = "ariel_log_softmax_s8" if x.dtype == "int8" else "ariel_log_softmax_u8"
        return KernelCall(kernel, "ariel_log_softmax_q8_params", fields, buffers, "softmax.c")
    if isinstance(p, Int16Softmax):
        _check_depth(node, depth, MAX_S16_DEPTH)
        _check_shift(node, p.shift, p.rounding, "input")
        # the C kernel's overflow bounds assume non-negative tables and exp(0) >= 2^14 (so the
        # sum has 1..17 leading zeros); TFLite's tables always satisfy them
        exp_of_zero = int(lookup_int16(np.int64(32767), p.exp_table))
        if p.exp_table.min() < 0 or p.reciprocal_table.min() < 0 or exp_of_zero < (1 << 14):
            raise no_kernel(node, "int16 exp/reciprocal tables outside the kernel's proven range")
        fields = shape + (("multiplier", p.multiplier), ("shift", p.shift), ("rounding", _rounding_code(p.rounding)),
                          ("exp_table", CArray.of("int16_t", p.exp_table)),
                          ("reciprocal_table", CArray.of("int16_t", p.reciprocal_table)))
        return KernelCall("ariel_softmax_s16", "ariel_softmax_s16_params", fields, buffers, "softmax.c")
    raise no_kernel(node, f"{x.dtype} input with {y.dtype} output")


SOFTMAX = register(OpDef(
    name="SOFTMAX", infer_shapes=same_shape, prepare=_prepare_softmax, evaluate=evaluate,
    options_type=SoftmaxOptions, tflite_options="SoftmaxOptions", check=_check_softmax,
    work_items=softmax_work_items, lower=_lower_softmax))


def _check_log_softmax(node: Node, graph: Graph) -> None:
    _check_unary(node, graph, ("float32", "int8", "uint8"))
    x, y = _tensors(node, graph)
    if x.dtype == "float32":
        return
    expected_zp = np.iinfo(y.dtype).max
    if y.quant.single_scale != 16 / 256 or y.quant.single_zero_point != expected_zp:
        raise unsupported(node, f"{y.dtype} output must have scale 16/256 and zero point {expected_zp} "
                                f"(got {y.quant.single_scale}, {y.quant.single_zero_point})")
    real = _beta_real(1.0, x.quant.single_scale)
    if not real > 1.0:
        raise unsupported(node, f"input scale {x.quant.single_scale} is too small (needs > 2^-26)")
    multiplier, shift = quantize_multiplier(min(real, (1 << 31) - 1.0))
    if not 2.0 ** (31 - shift) / multiplier < 1.0:
        raise unsupported(node, f"input scale {x.quant.single_scale} is outside TFLite's LOG_SOFTMAX range")


def _prepare_log_softmax(node: Node, graph: Graph, semantics: Semantics):
    x, y = _tensors(node, graph)
    if x.dtype == "float32":
        return FloatSoftmax(1.0, log=True)
    multiplier, shift, diff_min = _beta_multiplier(1.0, x.quant.single_scale)
    # the inverse of the input scaling, to map the representable range back to input differences
    reverse_multiplier, reverse_shift = quantize_multiplier(float(1 << (31 - shift)) / float(multiplier))
    return FixedPointLogSoftmax(multiplier, shift, reverse_multiplier, reverse_shift, diff_min,
                                DOUBLE_ROUNDING, y.dtype, _exp_table(multiplier, shift, diff_min, DOUBLE_ROUNDING))


LOG_SOFTMAX = register(OpDef(
    name="LOG_SOFTMAX", infer_shapes=same_shape, prepare=_prepare_log_softmax, evaluate=evaluate,
    check=_check_log_softmax, work_items=softmax_work_items, lower=_lower_softmax))
