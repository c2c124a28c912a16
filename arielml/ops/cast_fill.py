"""CAST, ZEROS_LIKE and FILL, bit-exact with TFLite's reference kernels.

CAST between bool, int8, uint8, int16, int32, int64 and float32, and uint16/uint32 among the
integer types (TFLite Micro's Signal tensors) (the stored values; quantisation
parameters play no part, as in TFLite), measured against LiteRT and TFLite Micro:
- integer to integer: two's-complement truncation to the output width (int32 200 -> int8 -56);
- anything to bool: x != 0 (NaN is true); bool is 0 or 1;
- integer to float32: rounded to nearest (even), as C's conversion;
- float32 to integer: truncated toward zero and saturated to the type's range (so 1e10 -> INT32_MAX,
  200.5 -> int8 127, -3.7 -> uint8 0); NaN becomes the type's maximum in LiteRT and 0 in TFLite
  Micro (`semantics="tflm"`).
ZEROS_LIKE: zeros of the input's shape and type. FILL: the scalar value repeated over the shape
held by the (constant) dims input; the value's bytes are copied, so quantised types need nothing.

C: kernels/cast.c (integer and bool pairs), kernels/cast_f32.c (pairs with float32), kernels/fill.c
(ZEROS_LIKE and FILL, by element size)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall, no_kernel
from arielml.ir import NO_TENSOR, Graph, Node
from arielml.ops.pointwise_lowering import element_work_items, range_fields
from arielml.ops.registry import OpDef, Semantics, register, unsupported

CAST_TYPES = ("bool", "int8", "uint8", "int16", "int32", "int64", "float32")
# unsigned 16/32-bit: TFLite Micro's Signal tensors, cast among the integer types (not to float)
INTEGER_ONLY_TYPES = ("uint16", "uint32")
FILL_TYPES = ("bool", "int8", "uint8", "int16", "int32", "int64", "float32")
C_SUFFIX = {"bool": "b", "int8": "s8", "uint8": "u8", "int16": "s16", "uint16": "u16", "int32": "s32",
            "uint32": "u32", "int64": "s64", "float32": "f32"}
MAX_FILL_ELEMENTS = 1 << 28  # a FILL larger than this is a corrupt or hostile file, not a model


@dataclass(frozen=True)
class CastParams:
    in_dtype: str
    out_dtype: str
    nan_to_max: bool  # float32 -> integer: NaN gives the maximum (LiteRT) or 0 (TFLite Micro)


@dataclass(frozen=True)
class FillParams:
    shape: tuple[int, ...]
    dtype: str


# ---- CAST ------------------------------------------------------------------------------------------

def _one_in_one_out(node: Node, inputs: int = 1) -> None:
    if len(node.inputs) != inputs or len(node.outputs) != 1 or NO_TENSOR in node.inputs:
        raise unsupported(node, f"expects {inputs} input(s) and one output")


def check_cast(node: Node, graph: Graph) -> None:
    _one_in_one_out(node)
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    for t in (x, y):
        if t.dtype not in CAST_TYPES + INTEGER_ONLY_TYPES:
            raise unsupported(node, f"{t.dtype} is not supported (supported: {', '.join(CAST_TYPES)}, and "
                                    f"{' and '.join(INTEGER_ONLY_TYPES)} with the integer types)")
    if {x.dtype, y.dtype} & set(INTEGER_ONLY_TYPES) and "float32" in (x.dtype, y.dtype):
        raise unsupported(node, f"{x.dtype} to {y.dtype} is not supported (uint16 and uint32 cast among integer "
                                "types only)")


def same_shape(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [graph.tensors[node.inputs[0]].shape]


def prepare_cast(node: Node, graph: Graph, semantics: Semantics) -> CastParams:
    return CastParams(graph.tensors[node.inputs[0]].dtype, graph.tensors[node.outputs[0]].dtype,
                      semantics.name != "tflm")


def float_to_int(x: np.ndarray, dtype: str, nan_to_max: bool) -> np.ndarray:
    """Truncation toward zero, saturated to the type's range; NaN -> max or 0."""
    info = np.iinfo(np.dtype(dtype))
    t = np.trunc(x.astype(np.float64))
    out = np.zeros(x.shape, dtype=np.dtype(dtype))
    nan = np.isnan(t)
    high = ~nan & (t >= float(info.max) + 1.0)  # exact bound: MAX + 1 is a power of two
    low = ~nan & (t < float(info.min))
    inside = ~(nan | high | low)
    out[inside] = t[inside].astype(np.dtype(dtype))
    out[high] = info.max
    out[low] = info.min
    out[nan] = info.max if nan_to_max else 0
    return out


def evaluate_cast(p: CastParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = np.asarray(inputs[0])
    if p.out_dtype == "bool":
        return [np.array(x != 0, dtype=np.bool_)]
    if p.in_dtype == "float32" and p.out_dtype != "float32":
        return [float_to_int(x, p.out_dtype, p.nan_to_max)]
    if p.in_dtype == "bool":
        return [np.array(x.astype(np.uint8), dtype=p.out_dtype)]
    return [np.array(x.astype(np.dtype(p.out_dtype)), dtype=p.out_dtype)]  # numpy wraps, rounds as C


def lower_cast(node: Node, graph: Graph, p: CastParams) -> KernelCall:
    fields = range_fields(node, graph)
    uses_float = "float32" in (p.in_dtype, p.out_dtype)
    if p.in_dtype == "float32" and p.out_dtype not in ("float32", "bool"):
        fields += (("nan_to_max", int(p.nan_to_max)),)
    return KernelCall(f"ariel_cast_{C_SUFFIX[p.in_dtype]}_{C_SUFFIX[p.out_dtype]}",
                      "ariel_cast_f32_params" if uses_float else "ariel_cast_params", fields,
                      (node.inputs[0], node.outputs[0]), "cast_f32.c" if uses_float else "cast.c")


# ---- ZEROS_LIKE and FILL ---------------------------------------------------------------------------

def check_zeros_like(node: Node, graph: Graph) -> None:
    _one_in_one_out(node)
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if x.dtype != y.dtype:
        raise unsupported(node, f"input {x.dtype} and output {y.dtype} must have one type")


def prepare_zeros_like(node: Node, graph: Graph, semantics: Semantics) -> FillParams:
    x = graph.tensors[node.inputs[0]]
    return FillParams(x.shape, x.dtype)


def evaluate_zeros_like(p: FillParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    return [np.zeros(p.shape, dtype=p.dtype)]


def _fill_shape(node: Node, graph: Graph) -> tuple[int, ...]:
    dims = graph.tensors[node.inputs[0]]
    if dims.dtype not in ("int32", "int64") or len(dims.shape) != 1:
        raise unsupported(node, f"dims must be a 1-D int32 or int64 tensor (got {dims.dtype} {dims.shape})")
    if not dims.is_constant:
        raise unsupported(node, "dims must be constant (the output shape is fixed at compile time, as in "
                                "TFLite Micro); fold the shape computation when converting")
    shape = tuple(int(d) for d in dims.data)
    if any(d < 0 for d in shape):
        raise unsupported(node, f"dims {shape} has a negative size")
    if int(np.prod(shape, dtype=object)) > MAX_FILL_ELEMENTS:
        raise unsupported(node, f"dims {shape} asks for more than {MAX_FILL_ELEMENTS} elements")
    return shape


def check_fill(node: Node, graph: Graph) -> None:
    _one_in_one_out(node, inputs=2)
    value, out = graph.tensors[node.inputs[1]], graph.tensors[node.outputs[0]]
    if value.shape not in ((), (1,)):
        raise unsupported(node, f"value must be a scalar (got shape {value.shape})")
    if value.dtype != out.dtype:
        raise unsupported(node, f"value {value.dtype} and output {out.dtype} must have one type")
    if value.dtype not in FILL_TYPES:
        raise unsupported(node, f"{value.dtype} is not supported (supported: {', '.join(FILL_TYPES)})")
    _fill_shape(node, graph)


def infer_fill(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [_fill_shape(node, graph)]


def prepare_fill(node: Node, graph: Graph, semantics: Semantics) -> FillParams:
    return FillParams(_fill_shape(node, graph), graph.tensors[node.outputs[0]].dtype)


def evaluate_fill(p: FillParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    return [np.full(p.shape, np.asarray(inputs[1]).reshape(()), dtype=p.dtype)]


def _fill_call(node: Node, graph: Graph, kernel: str, value_buffer: int) -> KernelCall:
    out = graph.tensors[node.outputs[0]]
    size = int(out.np_dtype.itemsize)
    if size not in (1, 2, 4, 8):
        raise no_kernel(node, f"{out.dtype} elements of {size} bytes")
    return KernelCall(f"{kernel}_{8 * size}", "ariel_fill_params", range_fields(node, graph),
                      (value_buffer, node.outputs[0]), "fill.c")


def lower_zeros_like(node: Node, graph: Graph, p: FillParams) -> KernelCall:
    return _fill_call(node, graph, "ariel_zero", -1)  # the input's values play no part


def lower_fill(node: Node, graph: Graph, p: FillParams) -> KernelCall:
    return _fill_call(node, graph, "ariel_fill", node.inputs[1])


register(OpDef(name="CAST", infer_shapes=same_shape, prepare=prepare_cast, evaluate=evaluate_cast, check=check_cast,
               work_items=element_work_items, lower=lower_cast, num_inputs=(1, 1), num_outputs=(1, 1)))
register(OpDef(name="ZEROS_LIKE", infer_shapes=same_shape, prepare=prepare_zeros_like, evaluate=evaluate_zeros_like,
               check=check_zeros_like, work_items=element_work_items, lower=lower_zeros_like, num_inputs=(1, 1),
               num_outputs=(1, 1)))
register(OpDef(name="FILL", infer_shapes=infer_fill, prepare=prepare_fill, evaluate=evaluate_fill, check=check_fill,
               work_items=element_work_items, lower=lower_fill, num_inputs=(2, 2), num_outputs=(1, 1)))
