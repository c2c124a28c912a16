"""8-bit ADD, SUB and MUL under semantics "onnxruntime" (ONNX models), bit-exact with onnxruntime's CPU
provider on x86-64 hosts with AVX2 and FMA (every x86-64 core since 2013).

The ONNX frontend records on each 8-bit ADD/SUB it makes from a DQ -> Add/Sub -> Q group or a
QLinearAdd what onnxruntime runs there (AddSubOptions.onnxruntime):
  - "qlinear_s8" / "qlinear_u8": a QLinearAdd on int8 / uint8 values (a group onnxruntime fuses;
    uint8 after its rewrite of int8 Q -> DQ pairs). MLAS's AVX2 kernel (qladd_avx2.cpp, read for
    technique) computes, in float32 with fused multiply-adds, on the stored values a, b:
        r_a = s_a / s_c, r_b = s_b / s_c, fixed = z_c - fma(r_a, z_a, r_b * z_b)
        c = round_half_even(fma(a, r_a, fma(b, r_b, fixed))), saturated to the type.
    Measured equal to onnxruntime 1.32 on 6,000,000 random elements with scales on a coarse grid
    (many exact ties); the same formula without fused multiply-adds (MLAS's SSE2 kernel) differs on
    13,814 of them: hosts without FMA are not reproduced.
  - "float": a group onnxruntime leaves unfused (input and output types differ after that rewrite;
    every Sub): DequantizeLinear's float32 (q - z) * s of each input, a float32 add (or subtract),
    QuantizeLinear's x / s_c, clamped, rounded half to even.
MUL (same modes, recorded in MulOptions.onnxruntime): "qlinear" is QLinearMul,
whose x86 kernel (qlmul.cpp, SSE2 intrinsics: no fused multiply-add) computes
        c = round_half_even(float32((a - z_a) * (b - z_b)) * (s_a * s_b / s_c) + z_c), saturated;
"float" is DequantizeLinear of both, a float32 multiply, QuantizeLinear.
All are functions of the two stored bytes: the reference evaluates them with an exact float32 fma
(`fma32`), the C kernel (kernels/add_s8_onnxruntime.c) reads per-input tables of float32 values
computed here and does the outer fma exactly with doubles."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel

F32, F64 = np.float32, np.float64
MODES = ("qlinear_s8", "qlinear_u8", "float")


@dataclass(frozen=True)
class OrtAddParams:
    mode: str
    subtract: bool
    out_shape: tuple[int, ...]
    out_dtype: str
    raw_shift: int  # what the stored byte adds to get the value onnxruntime computes on (128: uint8)
    a_scale: float
    a_zero: int  # zero points of the values onnxruntime computes on
    b_scale: float
    b_zero: int
    c_scale: float
    c_zero: int
    multiply: bool = False  # MUL: QLinearMul (qlmul.cpp's SSE2 kernel) / DequantizeLinear, mul, QuantizeLinear


def fma32(x, y, z) -> np.ndarray:
    """float32 x * y + z rounded once (as vfmadd does). x * y is exact in float64; the sum s and its
    error e (TwoSum) are, and float32(s) is the correctly rounded result except where s is exactly
    halfway between two floats and e is not 0: then e says on which side the exact value lies."""
    x, y, z = (np.asarray(v, F32).astype(F64) for v in (x, y, z))
    p = x * y
    s = p + z
    bb = s - p
    err = (p - (s - bb)) + (z - bb)
    f = s.astype(F32)
    toward = np.where(s > f.astype(F64), F32(np.inf), F32(-np.inf))
    g = np.nextafter(f, toward)
    halfway = (s != f.astype(F64)) & (s == (f.astype(F64) + g.astype(F64)) / 2)
    beyond = halfway & (err != 0) & ((err > 0) == (s > f.astype(F64)))
    return np.where(beyond, g, f).astype(F32)


def prepare_ort_add(node, a, b, out, mode: str) -> OrtAddParams:
    if mode not in MODES:
        raise ValueError(f"unknown onnxruntime mode {mode!r}")
    shift = 128 if mode == "qlinear_u8" else 0
    return OrtAddParams(mode, node.op == "SUB", tuple(np.broadcast_shapes(a.shape, b.shape)), out.dtype, shift,
                        float(a.quant.single_scale), a.quant.single_zero_point + shift,
                        float(b.quant.single_scale), b.quant.single_zero_point + shift,
                        float(out.quant.single_scale), out.quant.single_zero_point + shift, node.op == "MUL")


def _ratios(p: OrtAddParams) -> tuple[F32, F32, F32]:
    if p.multiply:  # ScaleA * ScaleB / ScaleC, left to right in float32
        return F32(F32(F32(p.a_scale) * F32(p.b_scale)) / F32(p.c_scale)), F32(0), F32(0)
    r_a, r_b = F32(F32(p.a_scale) / F32(p.c_scale)), F32(F32(p.b_scale) / F32(p.c_scale))
    fixed = F32(F32(p.c_zero) - fma32(r_a, F32(p.a_zero), F32(r_b * F32(p.b_zero))))
    return r_a, r_b, fixed


def _dequantized(q: np.ndarray, scale: float, zero: int) -> np.ndarray:
    return ((q.astype(np.int64) - zero).astype(F32) * F32(scale)).astype(F32)  # DequantizeLinear


def b_table(p: OrtAddParams) -> np.ndarray:
    """Per stored byte of b: the inner fma (qlinear) or the dequantised value, negated for SUB."""
    stored = np.arange(256, dtype=np.uint8).view(np.dtype(p.out_dtype)).astype(np.int64)
    if p.mode == "float":
        value = _dequantized(stored + p.raw_shift, p.b_scale, p.b_zero)
        return -value if p.subtract else value
    if p.multiply:  # the centred value: the kernel multiplies the two in int32
        return (stored + p.raw_shift - p.b_zero).astype(F32)
    _, r_b, fixed = _ratios(p)
    return fma32((stored + p.raw_shift).astype(F32), r_b, fixed)


def a_table(p: OrtAddParams) -> np.ndarray:
    stored = np.arange(256, dtype=np.uint8).view(np.dtype(p.out_dtype)).astype(np.int64)
    if p.mode == "float":
        return _dequantized(stored + p.raw_shift, p.a_scale, p.a_zero)
    return (stored + p.raw_shift - (p.a_zero if p.multiply else 0)).astype(F32)


def _finish(value: np.ndarray, p: OrtAddParams) -> np.ndarray:
    info = np.iinfo(np.dtype("uint8" if p.raw_shift else p.out_dtype))
    if p.mode == "float":  # QuantizeLinear: x / s clamped to the range less the zero point
        quotient = (value / F32(p.c_scale)).astype(F32)
        clamped = np.clip(quotient, F32(info.min - p.c_zero), F32(info.max - p.c_zero))
        raw = np.rint(clamped).astype(np.int64) + p.c_zero
    else:  # cvtps2dq, then saturating packs
        raw = np.clip(np.rint(value).astype(np.int64), info.min, info.max)
    return raw - p.raw_shift


def evaluate_ort_add(p: OrtAddParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ia, ib = a.astype(np.int64).astype(np.uint8), b.astype(np.int64).astype(np.uint8)  # (uint8_t)x indexes
    ta, tb = a_table(p)[ia], b_table(p)[ib]
    if p.mode == "float":
        value = (ta * tb if p.multiply else ta + tb).astype(F32)
    elif p.multiply:  # cvtepi32_ps of the exact product (|p| < 2^17), mulps, addps of the zero point
        product = (ta.astype(np.int64) * tb.astype(np.int64)).astype(F32)
        value = ((product * _ratios(p)[0]).astype(F32) + F32(p.c_zero)).astype(F32)
    else:
        value = fma32(ta, _ratios(p)[0], tb)
    return _finish(value, p)


def lower_ort_add(node, p: OrtAddParams, fields) -> KernelCall:
    """kernels/add_s8_onnxruntime.c: a_table / b_table carry float32 bits; a_multiplier carries r_a's,
    output_multiplier the output scale's (float mode); act_min/act_max the range of the values
    onnxruntime computes on and output_offset what takes them back to the stored type."""
    if p.out_dtype not in ("int8", "uint8"):
        raise no_kernel(node, f"{p.out_dtype} ADD/SUB with onnxruntime's arithmetic")
    info = np.iinfo(np.dtype("uint8" if p.raw_shift else p.out_dtype))
    bits = lambda v: int(np.asarray(v, F32).view(np.int32))  # noqa: E731
    fields += (("a_table", CArray.of("int32_t", a_table(p).view(np.int32))),
               ("b_table", CArray.of("int32_t", b_table(p).view(np.int32))),
               ("a_multiplier", bits(_ratios(p)[0])), ("output_multiplier", bits(p.c_scale)),
               ("output_offset", -p.raw_shift), ("b_offset", p.c_zero),
               ("act_min", int(info.min)), ("act_max", int(info.max)))
    kind = "float" if p.mode == "float" else "qlinear"
    suffix = "s8" if p.out_dtype == "int8" else "u8"
    return KernelCall(f"ariel_{'mul' if p.multiply else 'add'}_{kind}_{suffix}_ort", "ariel_binary_params", fields,
                      (node.inputs[0], node.inputs[1], node.outputs[0]), "add_s8_onnxruntime.c")
