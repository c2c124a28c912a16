"""What the C lowerings of the elementwise families share (elementwise.py, quantize.py,
activation.py): the work item (a block of consecutive output elements), C type suffixes, the
broadcast layout of binary operators, and 8-bit lookup tables.

An 8-bit input has only 256 values, so a per-tensor unary operator on it is a table: the compiler
runs the operator's own numpy reference on every value and the C kernel only indexes. The C
result is then the reference by construction, whatever the arithmetic (requantisation, clamps,
leaky slopes, dequantisation), and costs one load per element on every core type."""
from __future__ import annotations

import math

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import Graph, Node

ELEMENT_BLOCK = 64  # output elements per work item: fine enough to balance, coarse enough to be cheap
MAX_C_RANK = 6  # ARIEL_MAX_BROADCAST_RANK in ariel_kernels_elementwise.h
SUFFIX = {"int8": "s8", "uint8": "u8", "int16": "s16", "int32": "s32", "float32": "f32"}
CTYPE = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t", "float32": "float"}
EIGHT_BIT = ("int8", "uint8")
TABLE_KERNEL = {"int8": "ariel_table8_to_8", "uint8": "ariel_table8_to_8", "int16": "ariel_table8_to_s16",
              "float32": "ariel_table8_to_f32"}


def rounding_code(rounding: str) -> int:
    """ARIEL_ROUND_SINGLE / ARIEL_ROUND_DOUBLE of ariel_kernels.h"""
    return 1 if rounding == "double" else 0


def element_work_items(node: Node, graph: Graph) -> int:
    return -(-graph.tensors[node.outputs[0]].num_elements // ELEMENT_BLOCK)


def range_fields(node: Node, graph: Graph) -> tuple[tuple[str, int], ...]:
    return (("count", graph.tensors[node.outputs[0]].num_elements), ("block", ELEMENT_BLOCK))


def suffix(node: Node, dtype: str) -> str:
    if dtype not in SUFFIX:
        raise no_kernel(node, f"{dtype} has no C kernel (supported: {', '.join(SUFFIX)})")
    return SUFFIX[dtype]


def type_range(dtype: str) -> tuple[int, int]:
    info = np.iinfo(np.dtype(dtype))
    return int(info.min), int(info.max)


def check_shift(node: Node, *shifts: int) -> None:
    """The C requantisation helpers take shifts in -31..30 (ariel_kernels.h)."""
    for shift in shifts:
        if not -31 <= shift <= 30:
            raise no_kernel(node, f"requantisation shift {shift} is outside the kernel's range -31..30")


def float32_exact(node: Node, values, what: str) -> np.ndarray:
    """float32 copies of `values`, which must be float32 numbers already (as in TFLite files): the
    kernels compute in single precision what the reference computes from these values."""
    array = np.asarray(values, dtype=np.float64)
    single = array.astype(np.float32)
    if not np.array_equal(single.astype(np.float64), array):
        raise no_kernel(node, f"{what} are not float32 numbers")
    return single


def broadcast_layout(a_shape, b_shape, out_shape) -> tuple[list[int], list[int], list[int]]:
    """Output dimensions and the element strides of inputs a and b along them (0 where an input
    broadcasts), outermost first, with size-1 dimensions dropped and neighbours merged wherever
    both inputs stay contiguous across them: equal shapes become one dimension."""
    rank = len(out_shape)

    def strides(shape) -> list[int]:
        padded = (1,) * (rank - len(shape)) + tuple(shape)
        natural = [math.prod(padded[d + 1:]) for d in range(rank)]
        return [0 if padded[d] == 1 else natural[d] for d in range(rank)]

    sa, sb = strides(a_shape), strides(b_shape)
    dims: list[int] = []
    a_str: list[int] = []
    b_str: list[int] = []
    for d in range(rank):
        if out_shape[d] == 1:
            continue
        if dims and a_str[-1] == sa[d] * out_shape[d] and b_str[-1] == sb[d] * out_shape[d]:
            dims[-1] *= out_shape[d]  # the previous dimension continues this one in both inputs
            a_str[-1], b_str[-1] = sa[d], sb[d]
        else:
            dims.append(int(out_shape[d]))
            a_str.append(sa[d])
            b_str.append(sb[d])
    if not dims:  # a single element
        return [1], [0], [0]
    return dims, a_str, b_str


def lower_table8(node: Node, graph: Graph, params, evaluate) -> KernelCall:
    """A per-tensor unary operator on an 8-bit input as a 256-entry table, indexed by the byte's
    bit pattern, filled by `evaluate(params, [inputs])` (the operator's numpy reference)."""
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    assert x.dtype in EIGHT_BIT
    if out.dtype not in TABLE_KERNEL:
        raise no_kernel(node, f"{x.dtype} to {out.dtype}")
    every_value = np.arange(256, dtype=np.uint8).view(x.np_dtype)
    table = np.asarray(evaluate(params, [every_value])[0]).astype(out.np_dtype)
    fields = range_fields(node, graph) + (("table", CArray.of(CTYPE[out.dtype], table)),)
    return KernelCall(TABLE_KERNEL[out.dtype], "ariel_table8_params", fields, (node.inputs[0], node.outputs[0]),
                      unary_source(out.dtype))


def unary_source(*dtypes: str) -> str:
    """Kernels with float32 input or output live apart, so integer models carry no floating point."""
    return "unary_f32.c" if "float32" in dtypes else "unary.c"
