"""RESIZE_BILINEAR on NHWC tensors (float32, int8, int16, uint8), with align_corners or
half_pixel_centers.

LiteRT's reference has two paths, both reproduced bit for bit:

The sampling positions depend only on the sizes and the flags, so they are computed at compile time,
exactly as LiteRT's reference computes them, and emitted as per-row and per-column tables:
  - float32 and legacy uint8 (ResizeBilinear): scale = in / out (or (in - 1) / (out - 1) with align_corners and
    out > 1) in float32; position = dst * scale, or (dst + 0.5) * scale - 0.5 with
    half_pixel_centers; lower = max(floor(position), 0), upper = min(ceil(position), in - 1); the
    weights 1 - (position - lower) and position - lower, all in float32. An output is
    ((v00 * wy0) * wx0 + (v10 * wy1) * wx0) + (v01 * wy0) * wx1 + (v11 * wy1) * wx1, one float32
    operation at a time in that order, so the C kernel is bit-exact with the reference. uint8 values
    go through the same float32 expression, plus 0.5, truncated (measured against LiteRT).
  - int8 and int16 (ResizeBilinearInteger, no floating point): scale_10 = round(1024 * in / out) (or the
    align_corners ratio) in integers, position_10 = dst * scale_10 (+ scale_10 / 2 - 512 with
    half_pixel_centers), lower = max(position_10 / 1024, 0), upper = min(ceil, in - 1) with C's
    truncating division; the output is the int64 sum of v * (1024 - f_y or f_y) * (1024 - f_x or f_x)
    rounded by 2^20 half away from zero: LiteRT's and TFLite Micro's builds leave
    TFLITE_SINGLE_ROUNDING off (measured: rounding half up differs on most x2 upsamplings).
TFLite Micro takes float32 and int8 only.
Input and output share their quantisation (LiteRT does not requantise). The C kernel
(runtime/kernels/resize_bilinear.c) takes one output row per work item."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.ir import Graph, Node
from arielml.ops.data_kernels import require_addressable
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import check_dtypes, constant_ints, input_tensor, same_quant

DTYPES = ("float32", "int8", "int16", "uint8")
SUFFIX = {"float32": "f32", "int8": "s8", "int16": "s16", "uint8": "u8"}


@dataclass(frozen=True)
class ResizeBilinearOptions:
    align_corners: bool = False
    half_pixel_centers: bool = False


@dataclass(frozen=True)
class Samples:
    """Per output row (or column): the two input indices and their weights."""

    lower: np.ndarray  # int32
    upper: np.ndarray  # int32
    weight_lower: np.ndarray  # float32 (1 - frac) or int64 (1024 - frac_10)
    weight_upper: np.ndarray  # float32 frac or int64 frac_10


@dataclass(frozen=True)
class BilinearParams:
    rows: Samples
    cols: Samples
    out_shape: tuple[int, int, int, int]
    dtype: str


def float_samples(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> Samples:
    f32 = np.float32
    scale = f32(in_size) / f32(out_size)
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    dst = np.arange(out_size).astype(f32)
    position = (dst + f32(0.5)) * scale - f32(0.5) if half_pixel_centers else dst * scale
    lower = np.maximum(np.floor(position).astype(np.int64), 0)
    upper = np.minimum(np.ceil(position).astype(np.int64), in_size - 1)
    frac = (position - lower.astype(f32)).astype(f32)
    return Samples(lower.astype(np.int32), upper.astype(np.int32), (f32(1) - frac).astype(f32), frac)


def _c_div(a: np.ndarray, b: int) -> np.ndarray:
    """C integer division (truncates toward zero)."""
    return np.sign(a) * (np.abs(a) // b)


def integer_samples(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> Samples:
    scale_10 = ((1 << 10) * in_size + out_size // 2) // out_size
    if align_corners and out_size > 1:
        scale_10 = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    dst = np.arange(out_size, dtype=np.int64)
    position = dst * scale_10 + scale_10 // 2 - (1 << 9) if half_pixel_centers else dst * scale_10
    lower = np.maximum(_c_div(position, 1 << 10), 0)
    upper = np.minimum(_c_div(position + (1 << 10) - 1, 1 << 10), in_size - 1)
    frac = position - (1 << 10) * lower
    return Samples(lower.astype(np.int32), upper.astype(np.int32), (1 << 10) - frac, frac)


def _plan(node: Node, graph: Graph) -> BilinearParams:
    x = input_tensor(node, graph, 0, "data")
    out = graph.tensors[node.outputs[0]]
    dtype = check_dtypes(node, graph, [x, out], DTYPES)
    if len(x.shape) != 4 or x.num_elements == 0:
        raise unsupported(node, f"input must be a non-empty 4-D (NHWC) tensor, it is {x.shape}")
    if input_tensor(node, graph, 1, "size").shape != (2,):
        raise unsupported(node, "the size input must be a 1-D tensor of 2 values")
    height, width = (int(v) for v in constant_ints(node, graph, 1, "size"))
    if height < 1 or width < 1:
        raise unsupported(node, f"output size {height}x{width} is empty")
    o = node.options or ResizeBilinearOptions()
    if o.align_corners and o.half_pixel_centers:
        raise unsupported(node, "align_corners and half_pixel_centers cannot both be set (TFLite rejects it)")
    if dtype != "float32" and not same_quant(x, out):
        raise unsupported(node, "input and output must share scale and zero point "
                                "(RESIZE_BILINEAR does not requantise)")
    samples = float_samples if dtype in ("float32", "uint8") else integer_samples
    rows = samples(x.shape[1], height, o.align_corners, o.half_pixel_centers)
    cols = samples(x.shape[2], width, o.align_corners, o.half_pixel_centers)
    return BilinearParams(rows, cols, (x.shape[0], height, width, x.shape[3]), dtype)


def check(node: Node, graph: Graph) -> None:
    _plan(node, graph)


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [_plan(node, graph).out_shape]


def prepare(node: Node, graph: Graph, semantics: Semantics) -> BilinearParams:
    return _plan(node, graph)


def evaluate(p: BilinearParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    r, c = p.rows, p.cols
    v00 = x[:, r.lower][:, :, c.lower]
    v10 = x[:, r.upper][:, :, c.lower]
    v01 = x[:, r.lower][:, :, c.upper]
    v11 = x[:, r.upper][:, :, c.upper]
    wy0, wy1 = r.weight_lower[None, :, None, None], r.weight_upper[None, :, None, None]
    wx0, wx1 = c.weight_lower[None, None, :, None], c.weight_upper[None, None, :, None]
    if p.dtype in ("float32", "uint8"):
        v00, v10, v01, v11 = (v.astype(np.float32) for v in (v00, v10, v01, v11))
        with np.errstate(over="ignore", invalid="ignore"):
            total = v00 * wy0 * wx0 + v10 * wy1 * wx0  # float32, left to right as in the reference
            total = total + v01 * wy0 * wx1
            total = total + v11 * wy1 * wx1
        if p.dtype == "uint8":  # + 0.5 in float32, then the conversion truncates
            return [(total + np.float32(0.5)).astype(np.uint8)]
        return [total.astype(np.float32)]
    total = (v00.astype(np.int64) * wy0 * wx0 + v10.astype(np.int64) * wy1 * wx0
             + v01.astype(np.int64) * wy0 * wx1 + v11.astype(np.int64) * wy1 * wx1)
    # rounded half away from zero (|total| < 2^15 * 2^20 * 4: no overflow anywhere)
    return [_c_div(total + np.where(total > 0, 1 << 19, -(1 << 19)), 1 << 20).astype(p.dtype)]


# --------------------------------------------------------------------------- C lowering

def work_items(node: Node, graph: Graph) -> int:
    n, height, _, _ = _plan(node, graph).out_shape
    return n * height  # one output row per item


def lower(node: Node, graph: Graph, p: BilinearParams) -> KernelCall:
    x = graph.tensors[node.inputs[0]]
    require_addressable(node, x, graph.tensors[node.outputs[0]])
    n, height, width, channels = p.out_shape
    weight_type = "float" if p.dtype in ("float32", "uint8") else "int32_t"
    fields = (("in_h", x.shape[1]), ("in_w", x.shape[2]), ("out_h", height), ("out_w", width),
              ("channels", channels),
              ("row_lower", CArray.of("int32_t", p.rows.lower)), ("row_upper", CArray.of("int32_t", p.rows.upper)),
              ("col_lower", CArray.of("int32_t", p.cols.lower)), ("col_upper", CArray.of("int32_t", p.cols.upper)),
              ("row_weights", CArray.of(weight_type, np.stack([p.rows.weight_lower, p.rows.weight_upper], axis=1))),
              ("col_weights", CArray.of(weight_type, np.stack([p.cols.weight_lower, p.cols.weight_upper], axis=1))))
    return KernelCall(f"ariel_resize_bilinear_{SUFFIX[p.dtype]}", "ariel_resize_bilinear_params", fields,
                      (node.inputs[0], node.outputs[0]), "resize_bilinear.c")


RESIZE_BILINEAR = register(OpDef(
    name="RESIZE_BILINEAR", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
    options_type=ResizeBilinearOptions, tflite_options="ResizeBilinearOptions", check=check,
    work_items=work_items, lower=lower, num_inputs=(2, 2), num_outputs=(1, 1)))
