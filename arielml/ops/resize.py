"""RESIZE_NEAREST_NEIGHBOR on NHWC tensors: each output row and column copies one input row and
column. The source indices depend only on the sizes and the two flags, so they are computed at
compile time, in single precision exactly as LiteRT's GetNearestNeighbor does:
  scale = (in - 1) / (out - 1) with align_corners (and out > 1), else in / out
  src   = round_half_away((dst + offset) * scale) with align_corners, else floor(...)
  src   = min(src, in - 1), and max(src, 0) with half_pixel_centers (offset = 0.5)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall
from arielml.ir import Graph, Node
from arielml.ops.data_kernels import axis_tables, gather_call, gather_items
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import check_dtypes, constant_ints, input_tensor

RESIZE_DTYPES = ("int8", "uint8", "int16", "int32", "float32")


@dataclass(frozen=True)
class ResizeNearestNeighborOptions:
    align_corners: bool = False
    half_pixel_centers: bool = False


@dataclass(frozen=True)
class ResizeParams:
    rows: tuple[int, ...]  # input row read by each output row
    cols: tuple[int, ...]  # input column read by each output column
    out_shape: tuple[int, ...]


def nearest_sources(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> tuple[int, ...]:
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    position = (np.arange(out_size).astype(f32) + offset) * scale  # float32 throughout
    if align_corners:
        source = np.copysign(np.floor(np.abs(position) + f32(0.5)), position)  # roundf
    else:
        source = np.floor(position)
    source = np.minimum(source.astype(np.int64), in_size - 1)
    if half_pixel_centers:
        source = np.maximum(source, 0)
    return tuple(int(s) for s in source)


def _plan(node: Node, graph: Graph) -> ResizeParams:
    x = input_tensor(node, graph, 0, "data")
    check_dtypes(node, graph, [x, graph.tensors[node.outputs[0]]], RESIZE_DTYPES)
    if len(x.shape) != 4:
        raise unsupported(node, f"input must be 4-D (NHWC), it is {x.shape}")
    size = constant_ints(node, graph, 1, "size")
    if input_tensor(node, graph, 1, "size").shape != (2,):
        raise unsupported(node, "the size input must be a 1-D tensor of 2 values")
    height, width = int(size[0]), int(size[1])
    if height < 1 or width < 1:
        raise unsupported(node, f"output size {height}x{width} is empty")
    o = node.options or ResizeNearestNeighborOptions()
    rows = nearest_sources(x.shape[1], height, o.align_corners, o.half_pixel_centers)
    cols = nearest_sources(x.shape[2], width, o.align_corners, o.half_pixel_centers)
    return ResizeParams(rows, cols, (x.shape[0], height, width, x.shape[3]))


def check(node: Node, graph: Graph) -> None:
    _plan(node, graph)


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [_plan(node, graph).out_shape]


def prepare(node: Node, graph: Graph, semantics: Semantics) -> ResizeParams:
    return _plan(node, graph)


def evaluate(p: ResizeParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    return [np.ascontiguousarray(x[:, np.asarray(p.rows)][:, :, np.asarray(p.cols)])]


# C lowering: a gather (runtime/kernels/data.c) whose row and column tables are the source indices

def _tables(node: Node, graph: Graph, p: ResizeParams) -> list[np.ndarray]:
    shape = graph.tensors[node.inputs[0]].shape
    return axis_tables(shape, [None, np.asarray(p.rows), np.asarray(p.cols), None])


def work_items(node: Node, graph: Graph) -> int:
    return gather_items(_tables(node, graph, _plan(node, graph)))[0]


def lower(node: Node, graph: Graph, p: ResizeParams) -> KernelCall:
    return gather_call(node, graph, node.inputs[0], _tables(node, graph, p))


RESIZE_NEAREST_NEIGHBOR = register(OpDef(
    name="RESIZE_NEAREST_NEIGHBOR", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
    options_type=ResizeNearestNeighborOptions, tflite_options="ResizeNearestNeighborOptions", check=check,
    work_items=work_items, lower=lower))
