"""ADD, SUB, MUL, MAXIMUM, MINIMUM: binary elementwise operators with numpy broadcasting, bit-exact
with TFLite's reference kernels.

Arithmetic, as TFLite's reference kernels do it:
- float32: the operation in float32, then the fused activation's clamp ([lowest, max] for NONE, so
  an infinity becomes FLT_MAX exactly as in TFLite).
- int32 / int64 (not quantised): wrapping two's-complement arithmetic, then the activation clamp.
- int8 / uint8 / int16 ADD and SUB ("general" path): each input, offset by its zero point, is shifted
  left by 20 bits (15 for int16), scaled by its own multiplier (input_scale / (2 * max_input_scale)),
  the two are added (subtracted), and the sum is rescaled by the output multiplier
  (2 * max_input_scale / (2^left_shift * output_scale)); then zero point and clamp.
- int16 ADD and SUB with power-of-two scales (LiteRT only, `pot_scale_int16`, the default): the input
  whose scale is not the output's is divided by a power of two with rounding, then a saturating
  int16 add (subtract).
- int8 / uint8 / int16 MUL: the product of the offset inputs, rescaled once by
  input1_scale * input2_scale / output_scale.
- MAXIMUM / MINIMUM: a comparison of the stored values. TFLite ignores quantisation parameters here
  (it assumes they match); so do we.

Rounding: measured, LiteRT 2.3's reference ADD, SUB and MUL round twice (gemmlowp's rounding
doubling high multiply, then a rounding shift), exactly like TFLite Micro, and unlike LiteRT's
FULLY_CONNECTED; single rounding differs on a few values in 10^4 for ADD/SUB and on ~1% for MUL
(tests/test_ops_elementwise.py checks which one LiteRT follows). So both semantics round twice here.

Where the two TFLites differ (`semantics="tflm"`): 8-bit SUB computes its multipliers in float32 and
MUL in double (LiteRT: MUL in float32, SUB in double; int16 SUB in double in both); int16 ADD/SUB always take the general path;
int32 ADD ignores the fused activation."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import NO_TENSOR, Graph, Node, Tensor
from arielml.ops.kernel_support import requant_records
from arielml.ops.ort_add import OrtAddParams, evaluate_ort_add, lower_ort_add, prepare_ort_add
from arielml.ops.pointwise_lowering import (MAX_C_RANK, broadcast_layout, check_shift, element_work_items,
                                            range_fields, rounding_code, suffix)
from arielml.ops.quant_math import (DOUBLE_ROUNDING, activation_range_quantized, multiply_by_quantized_multiplier,
                                    quantize_multiplier, rounding_divide_by_pot, wrap_int32)
from arielml.ops.registry import OpDef, Semantics, fused_activation, register, unsupported

MAX_BROADCAST_RANK = 6  # TFLite's broadcasting kernels index at most six dimensions
QUANTISED = ("int8", "uint8", "int16")
# measured: both LiteRT's reference kernels and TFLite Micro round these operators twice
ELEMENTWISE_ROUNDING = DOUBLE_ROUNDING


@dataclass(frozen=True)
class AddSubOptions:
    """AddOptions and SubOptions share their fields."""

    fused_activation_function: int = 0
    pot_scale_int16: bool = True
    # ONNX models: what onnxruntime runs for this 8-bit ADD/SUB (ops/ort_add.py: "qlinear_s8",
    # "qlinear_u8" or "float"), used under semantics "onnxruntime"; never read from a TFLite file
    onnxruntime: str = field(default="", metadata={"compiler_only": True})


@dataclass(frozen=True)
class MulOptions:
    fused_activation_function: int = 0
    onnxruntime: str = field(default="", metadata={"compiler_only": True})  # as AddSubOptions.onnxruntime


@dataclass(frozen=True)
class PlainParams:
    """float32 / int32 / int64 arithmetic, and MAXIMUM/MINIMUM of any type. clamp: None = none."""

    op: str
    out_shape: tuple[int, ...]
    out_dtype: str
    clamp: tuple[float, float] | tuple[int, int] | None


@dataclass(frozen=True)
class RescaledAddParams:
    """Quantised ADD/SUB, TFLite's general path."""

    subtract: bool
    out_shape: tuple[int, ...]
    out_dtype: str
    left_shift: int
    input_offsets: tuple[int, int]  # minus the input zero points
    input_multipliers: tuple[int, int]
    input_shifts: tuple[int, int]
    output_multiplier: int
    output_shift: int
    output_offset: int
    clamp_min: int
    clamp_max: int
    rounding: str


@dataclass(frozen=True)
class PotInt16AddParams:
    """int16 ADD/SUB with power-of-two scales: right shifts (>= 0) of the two inputs, one is 0."""

    subtract: bool
    out_shape: tuple[int, ...]
    right_shifts: tuple[int, int]
    clamp_min: int
    clamp_max: int


@dataclass(frozen=True)
class QuantizedMulParams:
    out_shape: tuple[int, ...]
    out_dtype: str
    input_offsets: tuple[int, int]
    multiplier: int
    shift: int
    output_offset: int
    clamp_min: int
    clamp_max: int
    rounding: str


# ---- checks and shapes -----------------------------------------------------------------------------

def _operands(node: Node, graph: Graph) -> tuple[Tensor, Tensor, Tensor]:
    return graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]], graph.tensors[node.outputs[0]]


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    a, b, _ = _operands(node, graph)
    return [tuple(int(d) for d in np.broadcast_shapes(a.shape, b.shape))]


def _check_operands(node: Node, graph: Graph, dtypes: tuple[str, ...],
                    quantised: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    if len(node.inputs) != 2 or len(node.outputs) != 1 or NO_TENSOR in node.inputs:
        raise unsupported(node, "expects two inputs and one output")
    a, b, out = _operands(node, graph)
    if not a.dtype == b.dtype == out.dtype:
        raise unsupported(node, f"inputs {a.dtype}, {b.dtype} and output {out.dtype} must have one type")
    if a.dtype not in dtypes:
        raise unsupported(node, f"{a.dtype} is not supported (supported: {', '.join(dtypes)})")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise unsupported(node, f"input shapes {a.shape} and {b.shape} do not broadcast") from None
    if a.shape != b.shape and len(shape) > MAX_BROADCAST_RANK:
        raise unsupported(node, f"broadcasting over {len(shape)} dimensions; TFLite broadcasts at most "
                                f"{MAX_BROADCAST_RANK}")
    if quantised and a.dtype in QUANTISED:
        for t in (a, b, out):
            _check_quantised(node, t)
    return a, b, out


def _check_quantised(node: Node, t: Tensor) -> None:
    if t.quant is None or t.quant.per_channel:
        raise unsupported(node, f"{t.dtype} tensor '{t.name}' needs per-tensor quantisation parameters")
    scale, zp = t.quant.single_scale, t.quant.single_zero_point
    if not (math.isfinite(scale) and scale > 0):
        raise unsupported(node, f"tensor '{t.name}' has scale {scale}; scales must be positive")
    info = np.iinfo(t.np_dtype)
    if not info.min <= zp <= info.max:
        raise unsupported(node, f"tensor '{t.name}' has zero point {zp} outside the {t.dtype} range")
    if t.dtype == "int16" and zp != 0:
        raise unsupported(node, f"int16 tensor '{t.name}' has zero point {zp}; int16 needs zero point 0")


def _scale(t: Tensor) -> float:
    return t.quant.single_scale


def _checked_log2(scale: float) -> tuple[bool, int]:
    """TFLite's CheckedLog2 in float32: is the scale a power of two (to 1e-3 in log2), and which."""
    x_log2 = np.float32(np.log(np.float32(scale))) * np.float32(1.0 / np.log(np.float32(2.0)))
    rounded = np.float32(math.copysign(math.floor(abs(float(x_log2)) + 0.5), float(x_log2)))
    return bool(abs(x_log2 - rounded) < np.float32(1e-3)), int(rounded)


def _pot_int16_shifts(node: Node, graph: Graph) -> tuple[int, int] | None:
    """LiteRT's int16 power-of-two path: the two input shifts (<= 0), or None for the general path."""
    a, b, out = _operands(node, graph)
    if a.dtype != "int16" or not node.options.pot_scale_int16:
        return None
    logs = [_checked_log2(_scale(t)) for t in (a, b, out)]
    if not all(is_pot for is_pot, _ in logs):
        return None
    return logs[0][1] - logs[2][1], logs[1][1] - logs[2][1]


def _add_sub_check(node: Node, graph: Graph) -> None:
    a, b, out = _check_operands(node, graph, ("float32", "int32", "int64") + QUANTISED)
    fused_activation(node, node.options.fused_activation_function)
    if a.dtype not in QUANTISED:
        return
    shifts = _pot_int16_shifts(node, graph)
    if shifts is not None:
        if 0 not in shifts or max(shifts) > 0:
            raise unsupported(node, f"int16 with power-of-two scales needs one input at the output scale and "
                                    f"the other at a smaller one (log2 ratios {shifts}); set pot_scale_int16 "
                                    "false or requantise")
        if node.op == "ADD" and a.shape != b.shape:
            raise unsupported(node, "int16 ADD with power-of-two scales does not broadcast in TFLite")
        return
    # LiteRT's ADD and TFLite Micro abort on an output multiplier >= 1; LiteRT's SUB then shifts by a
    # negative amount (undefined in C)
    if _add_real_multipliers(a, b, out, float32=False)[2] >= 1.0:
        raise unsupported(node, f"output scale {_scale(out):g} is too small for input scales {_scale(a):g} and "
                                f"{_scale(b):g} (TFLite needs 2 * max_input_scale / (2^20 * output_scale) < 1)")


def _mul_check(node: Node, graph: Graph) -> None:
    a, b, out = _check_operands(node, graph, ("float32", "int32", "int64") + QUANTISED)
    fused_activation(node, node.options.fused_activation_function)


def _max_min_check(node: Node, graph: Graph) -> None:
    # quantisation parameters play no part: TFLite compares the stored values
    _check_operands(node, graph, ("float32", "int32", "int64") + QUANTISED, quantised=False)


# ---- preparation -----------------------------------------------------------------------------------

def _add_real_multipliers(a: Tensor, b: Tensor, out: Tensor, float32: bool) -> tuple[float, float, float]:
    left_shift = 15 if out.dtype == "int16" else 20
    if float32:  # TFLite Micro's SUB divides in single precision
        f = np.float32
        twice = f(2) * max(f(_scale(a)), f(_scale(b)))
        return (float(f(_scale(a)) / twice), float(f(_scale(b)) / twice),
                float(twice / (f(1 << left_shift) * f(_scale(out)))))
    twice = 2.0 * max(_scale(a), _scale(b))
    return _scale(a) / twice, _scale(b) / twice, twice / ((1 << left_shift) * _scale(out))


def _mul_real_multiplier(a: Tensor, b: Tensor, out: Tensor, float32: bool) -> float:
    if float32:  # LiteRT multiplies the float scales in single precision
        f = np.float32
        return float(f(_scale(a)) * f(_scale(b)) / f(_scale(out)))
    return _scale(a) * _scale(b) / _scale(out)


def _float_clamp(activation: str) -> tuple[float, float]:
    """CalculateActivationRange<float>: NONE clamps to [lowest, max], not to +-inf."""
    big = float(np.finfo(np.float32).max)
    return {"RELU": (0.0, big), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}.get(activation, (-big, big))


def _int_clamp(activation: str, dtype: str) -> tuple[int, int]:
    info = np.iinfo(np.dtype(dtype))
    return {"RELU": (0, int(info.max)), "RELU6": (0, 6), "RELU_N1_TO_1": (-1, 1)}.get(
        activation, (int(info.min), int(info.max)))


def _plain(node: Node, graph: Graph, activation: str | None) -> PlainParams:
    a, _, out = _operands(node, graph)
    shape = infer_shapes(node, graph)[0]
    if activation is None or a.dtype in QUANTISED:
        clamp = None
    elif a.dtype == "float32":
        clamp = _float_clamp(activation)
    else:
        clamp = _int_clamp(activation, a.dtype)
    return PlainParams(node.op, shape, out.dtype, clamp)


def _prepare_add_sub(node: Node, graph: Graph, semantics: Semantics):
    a, b, out = _operands(node, graph)
    activation = fused_activation(node, node.options.fused_activation_function)
    if a.dtype not in QUANTISED:
        if semantics.name == "tflm" and node.op == "ADD" and a.dtype == "int32":
            activation = "NONE"  # TFLite Micro's int32 ADD does not apply the fused activation
        return _plain(node, graph, activation)
    if semantics.name == "onnxruntime" and node.options.onnxruntime and a.dtype == "int8" and activation == "NONE":
        return prepare_ort_add(node, a, b, out, node.options.onnxruntime)
    shape = infer_shapes(node, graph)[0]
    lo, hi = activation_range_quantized(activation, _scale(out), out.quant.single_zero_point, out.np_dtype)
    shifts = _pot_int16_shifts(node, graph) if semantics.name != "tflm" else None
    if shifts is not None:
        return PotInt16AddParams(node.op == "SUB", shape, (-shifts[0], -shifts[1]), lo, hi)
    # TFLite Micro's SUB divides the scales in float32 for 8-bit outputs; its int16 SUB results match
    # the double-precision multipliers (measured on TFLM's own seanet int16 SUB vectors)
    reals = _add_real_multipliers(a, b, out, float32=semantics.name == "tflm" and node.op == "SUB"
                                  and out.dtype != "int16")
    (m1, s1), (m2, s2), (mo, so) = (quantize_multiplier(r) for r in reals)
    return RescaledAddParams(
        subtract=node.op == "SUB", out_shape=shape, out_dtype=out.dtype,
        left_shift=15 if out.dtype == "int16" else 20,
        input_offsets=(-a.quant.single_zero_point, -b.quant.single_zero_point),
        input_multipliers=(m1, m2), input_shifts=(s1, s2), output_multiplier=mo, output_shift=so,
        output_offset=out.quant.single_zero_point, clamp_min=lo, clamp_max=hi, rounding=ELEMENTWISE_ROUNDING)


def _prepare_mul(node: Node, graph: Graph, semantics: Semantics):
    a, b, out = _operands(node, graph)
    activation = fused_activation(node, node.options.fused_activation_function)
    if a.dtype not in QUANTISED:
        return _plain(node, graph, activation)
    if semantics.name == "onnxruntime" and node.options.onnxruntime and a.dtype == "int8" and activation == "NONE":
        return prepare_ort_add(node, a, b, out, node.options.onnxruntime)
    multiplier, shift = quantize_multiplier(_mul_real_multiplier(a, b, out, float32=semantics.name != "tflm"))
    if shift > 31:
        # an output scale so small that the product is multiplied by 2^shift, shift >= 32: TFLite's C
        # computes x * (1 << shift), undefined in C; its x86 builds (LiteRT's and TFLite Micro's) shift
        # by shift mod 32 (the SHL instruction masks the count), then wrap: measured bit-exact on Coral's
        # traffic_model MULs (output scale 3e-35). A Cortex-M build of TFLite Micro would differ.
        shift %= 32
    lo, hi = activation_range_quantized(activation, _scale(out), out.quant.single_zero_point, out.np_dtype)
    return QuantizedMulParams(infer_shapes(node, graph)[0], out.dtype,
                              (-a.quant.single_zero_point, -b.quant.single_zero_point), multiplier, shift,
                              out.quant.single_zero_point, lo, hi, ELEMENTWISE_ROUNDING)


def _prepare_max_min(node: Node, graph: Graph, semantics: Semantics) -> PlainParams:
    return _plain(node, graph, None)


# ---- evaluation ------------------------------------------------------------------------------------

def _evaluate_plain(p: PlainParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if p.op == "MAXIMUM":  # TFLite: a > b ? a : b (NaN handling follows from the comparison)
        return np.where(a > b, a, b)
    if p.op == "MINIMUM":
        return np.where(a < b, a, b)
    if p.out_dtype == "int32":  # exact in int64, then the int32 wrap of the C code
        a, b = a.astype(np.int64), b.astype(np.int64)
    with np.errstate(over="ignore", invalid="ignore"):  # float overflow to inf, inf - inf = NaN and int64 wrap-around are intended
        result = a + b if p.op == "ADD" else a - b if p.op == "SUB" else a * b
    if p.out_dtype == "int32":
        result = wrap_int32(result)
    if p.clamp is not None:
        result = np.clip(result, p.clamp[0], p.clamp[1])
    return result


def _scale_input(x: np.ndarray, offset: int, left_shift: int, multiplier: int, shift: int, rounding: str):
    shifted = (x.astype(np.int64) + offset) << left_shift  # < 2^31 for every supported type and offset
    return multiply_by_quantized_multiplier(shifted, multiplier, shift, rounding)


def _evaluate_rescaled_add(p: RescaledAddParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sa = _scale_input(a, p.input_offsets[0], p.left_shift, p.input_multipliers[0], p.input_shifts[0], p.rounding)
    sb = _scale_input(b, p.input_offsets[1], p.left_shift, p.input_multipliers[1], p.input_shifts[1], p.rounding)
    raw = sa - sb if p.subtract else sa + sb  # |raw| < 2^30: no int32 overflow
    scaled = multiply_by_quantized_multiplier(raw, p.output_multiplier, p.output_shift, p.rounding)
    return np.clip(scaled + p.output_offset, p.clamp_min, p.clamp_max)


def _evaluate_pot_int16(p: PotInt16AddParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sa = rounding_divide_by_pot(a.astype(np.int64), p.right_shifts[0])
    sb = rounding_divide_by_pot(b.astype(np.int64), p.right_shifts[1])
    raw = np.clip(sa - sb if p.subtract else sa + sb, -(1 << 15), (1 << 15) - 1)  # saturating int16
    return np.clip(raw, p.clamp_min, p.clamp_max)


def _evaluate_quantized_mul(p: QuantizedMulParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    product = (a.astype(np.int64) + p.input_offsets[0]) * (b.astype(np.int64) + p.input_offsets[1])  # <= 2^30
    scaled = wrap_int32(multiply_by_quantized_multiplier(product, p.multiplier, p.shift, p.rounding))
    return np.clip(wrap_int32(scaled + p.output_offset), p.clamp_min, p.clamp_max)


_EVALUATORS = {PlainParams: _evaluate_plain, RescaledAddParams: _evaluate_rescaled_add,
               PotInt16AddParams: _evaluate_pot_int16, QuantizedMulParams: _evaluate_quantized_mul,
               OrtAddParams: evaluate_ort_add}


def evaluate(p, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    result = _EVALUATORS[type(p)](p, inputs[0], inputs[1])  # already of the broadcast shape
    out_dtype = "int16" if isinstance(p, PotInt16AddParams) else p.out_dtype
    # np.array, not np.ascontiguousarray: the latter turns a 0-d result into shape (1,)
    return [np.array(result, dtype=out_dtype).reshape(p.out_shape)]


# ---- C lowering ------------------------------------------------------------------------------------

def lower(node: Node, graph: Graph, p) -> KernelCall:
    """ariel_binary_params for the kernels of kernels/elementwise*.c (one per arithmetic and type)."""
    a, b, out = _operands(node, graph)
    dims, a_strides, b_strides = broadcast_layout(a.shape, b.shape, out.shape)
    if len(dims) > MAX_C_RANK:
        raise no_kernel(node, f"broadcasting over {len(dims)} dimensions (the kernels index {MAX_C_RANK})")
    fields = range_fields(node, graph) + (
        ("rank", len(dims)), ("dims", CArray.of("int32_t", dims)),
        ("a_strides", CArray.of("int32_t", a_strides)), ("b_strides", CArray.of("int32_t", b_strides)))
    if isinstance(p, OrtAddParams):
        return lower_ort_add(node, p, fields)
    if isinstance(p, RescaledAddParams):
        check_shift(node, *p.input_shifts, p.output_shift)
        kernel = f"ariel_add_sub_q_{suffix(node, p.out_dtype)}"
        fields += (("a_offset", p.input_offsets[0]), ("b_offset", p.input_offsets[1]), ("left_shift", p.left_shift),
                   ("a_multiplier", p.input_multipliers[0]), ("a_shift", p.input_shifts[0]),
                   ("b_multiplier", p.input_multipliers[1]), ("b_shift", p.input_shifts[1]),
                   ("output_multiplier", p.output_multiplier), ("output_shift", p.output_shift),
                   ("output_offset", p.output_offset), ("rounding", rounding_code(p.rounding)),
                   ("subtract", int(p.subtract)), ("act_min", p.clamp_min), ("act_max", p.clamp_max),
                   _rq("rq", p.output_multiplier, p.output_shift, p.rounding))
        if p.out_dtype in ("int8", "uint8"):
            fields += _input_tables(p, a.np_dtype)
        else:
            fields += (_rq("a_rq", p.input_multipliers[0], p.input_shifts[0], p.rounding),
                       _rq("b_rq", p.input_multipliers[1], p.input_shifts[1], p.rounding))
    elif isinstance(p, PotInt16AddParams):
        kernel = "ariel_add_sub_pot_s16"
        fields += (("a_right_shift", p.right_shifts[0]), ("b_right_shift", p.right_shifts[1]),
                   ("subtract", int(p.subtract)), ("act_min", p.clamp_min), ("act_max", p.clamp_max))
    elif isinstance(p, QuantizedMulParams):
        check_shift(node, p.shift)
        kernel = f"ariel_mul_q_{suffix(node, p.out_dtype)}"
        fields += (("a_offset", p.input_offsets[0]), ("b_offset", p.input_offsets[1]),
                   ("output_multiplier", p.multiplier), ("output_shift", p.shift), ("output_offset", p.output_offset),
                   ("rounding", rounding_code(p.rounding)), ("act_min", p.clamp_min), ("act_max", p.clamp_max),
                   _rq("rq", p.multiplier, p.shift, p.rounding))
    else:
        kernel = f"ariel_{p.op.lower()}_{suffix(node, p.out_dtype)}"
        if p.op in ("ADD", "SUB", "MUL") and p.out_dtype not in ("float32", "int32"):
            raise no_kernel(node, f"{p.out_dtype} without quantisation parameters")
        if p.clamp is not None:
            names = ("float_min", "float_max") if p.out_dtype == "float32" else ("act_min", "act_max")
            fields += ((names[0], p.clamp[0]), (names[1], p.clamp[1]))
    # float kernels live apart, so an integer model's library contains no floating point
    source = "elementwise_f32.c" if out.dtype == "float32" else "elementwise.c"
    return KernelCall(kernel, "ariel_binary_params", fields, (node.inputs[0], node.inputs[1], node.outputs[0]), source)


def _rq(field: str, multiplier: int, shift: int, rounding: str) -> tuple[str, CArray]:
    """one ariel_rq record (ariel_kernels.h); these operators round twice, which needs no clamp"""
    assert rounding == DOUBLE_ROUNDING
    return field, CArray.of("int32_t", requant_records([multiplier], [shift], rounding))


def _input_tables(p: RescaledAddParams, dtype: np.dtype) -> tuple[tuple[str, CArray], ...]:
    """8-bit ADD/SUB: each input's scaled value for every stored byte, indexed by (uint8_t)x, from
    the numpy reference itself; SUB's minus sign goes into b's table (|value| < 2^30)."""
    every_value = np.arange(256, dtype=np.uint8).view(dtype)
    scaled = [_scale_input(every_value, p.input_offsets[i], p.left_shift, p.input_multipliers[i],
                           p.input_shifts[i], p.rounding) for i in (0, 1)]
    b_table = -scaled[1] if p.subtract else scaled[1]
    return ("a_table", CArray.of("int32_t", scaled[0])), ("b_table", CArray.of("int32_t", b_table))


# output element i reads element i of input 0 (the planner checks that it is not broadcast: same
# byte size as the output), so the output may overwrite input 0 in place
_COMPILER = dict(work_items=element_work_items, lower=lower, inplace_input=0)
for _name in ("ADD", "SUB"):
    register(OpDef(name=_name, infer_shapes=infer_shapes, prepare=_prepare_add_sub, evaluate=evaluate,
                   options_type=AddSubOptions, tflite_options=f"{_name.capitalize()}Options",
                   check=_add_sub_check, **_COMPILER))
register(OpDef(name="MUL", infer_shapes=infer_shapes, prepare=_prepare_mul, evaluate=evaluate,
               options_type=MulOptions, tflite_options="MulOptions", check=_mul_check, **_COMPILER))
for _name in ("MAXIMUM", "MINIMUM"):
    register(OpDef(name=_name, infer_shapes=infer_shapes, prepare=_prepare_max_min, evaluate=evaluate,
                   check=_max_min_check, **_COMPILER))
