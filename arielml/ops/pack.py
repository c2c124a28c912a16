"""PACK and UNPACK: stack N equal tensors along a new axis, and take one apart along an axis.

Both are copies of byte rows: PACK is a CONCATENATION of inputs that each fill one row-slot per
outer index, UNPACK a SPLIT into equal parts, so they lower to the concatenation and split
kernels of kernels/data.c (no kernel of their own). LiteRT copies the bytes without looking at the
quantisation, but requires the 8- and 16-bit quantised inputs to share the output's scale and zero
point."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import Graph, Node
from arielml.ops.data_kernels import require_addressable
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import check_dtypes, input_tensor, normalize_axis, same_quant

Shape = tuple[int, ...]
# LiteRT's lists (measured): PACK has int64 but no bool, UNPACK bool but no int64
PACK_DTYPES = ("int8", "uint8", "int16", "int32", "int64", "float32")
UNPACK_DTYPES = ("int8", "uint8", "int16", "int32", "float32", "bool")
# An op's buffer count is a uint8 (ariel_op.nbuffers). ARIEL_MAX_BUFFERS (10) bounds only ops with
# per-core scratch, whose pointers the runtime copies into a 10-entry array (run_tile); these
# kernels have none, as CONCATENATION and SPLIT, which take any count.
MAX_PARTS = 254


@dataclass(frozen=True)
class PackOptions:
    values_count: int = 0
    axis: int = 0


@dataclass(frozen=True)
class UnpackOptions:
    num: int = 0
    axis: int = 0


@dataclass(frozen=True)
class PackParams:
    axis: int  # PACK: the new output axis; UNPACK: the input axis taken apart
    count: int
    part_shape: Shape  # each input of PACK / output of UNPACK
    whole_shape: Shape  # PACK's output / UNPACK's input

    @property
    def out_shape(self) -> Shape:
        return self.whole_shape


def _require_same_quant(node: Node, tensors, out) -> None:
    for t in tensors:
        if t.dtype in ("int8", "uint8", "int16") and not same_quant(t, out):
            raise unsupported(node, f"tensor '{t.name}' has another scale or zero point than '{out.name}'; "
                                    "TFLite requires them equal")


def _pack_plan(node: Node, graph: Graph) -> PackParams:
    options = node.options or PackOptions()
    xs = [input_tensor(node, graph, i, f"#{i}") for i in range(len(node.inputs))]
    out = graph.tensors[node.outputs[0]]
    check_dtypes(node, graph, xs + [out], PACK_DTYPES)
    if options.values_count != len(xs):
        raise unsupported(node, f"values_count={options.values_count} but the operator has {len(xs)} inputs")
    if any(x.shape != xs[0].shape for x in xs):
        raise unsupported(node, f"inputs have different shapes {[x.shape for x in xs]}")
    _require_same_quant(node, xs, out)
    shape = xs[0].shape
    axis = normalize_axis(node, options.axis, len(shape) + 1)
    return PackParams(axis, len(xs), shape, shape[:axis] + (len(xs),) + shape[axis:])


def _unpack_plan(node: Node, graph: Graph) -> PackParams:
    options = node.options or UnpackOptions()
    x = input_tensor(node, graph, 0, "data")
    outs = [graph.tensors[t] for t in node.outputs]
    check_dtypes(node, graph, [x] + outs, UNPACK_DTYPES)
    if not x.shape:
        raise unsupported(node, "cannot unpack a scalar")
    axis = normalize_axis(node, options.axis, len(x.shape))
    if options.num != x.shape[axis] or options.num != len(outs):
        raise unsupported(node, f"num={options.num}, dimension {axis} of {x.shape} and {len(outs)} outputs disagree")
    _require_same_quant(node, outs, x)
    return PackParams(axis, options.num, x.shape[:axis] + x.shape[axis + 1:], x.shape)


def evaluate_pack(p: PackParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    return [np.stack(inputs, axis=p.axis)]


def evaluate_unpack(p: PackParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    return [part.copy() for part in np.moveaxis(inputs[0], p.axis, 0)]  # (ascontiguousarray makes 0-D 1-D)


# --------------------------------------------------------------------------- C lowerings

def _outer(p: PackParams) -> int:
    return int(np.prod(p.whole_shape[:p.axis], dtype=np.int64))


def _row_bytes(node: Node, graph: Graph, p: PackParams) -> int:
    """Bytes of one part per outer index."""
    itemsize = graph.tensors[node.outputs[0]].np_dtype.itemsize
    return int(np.prod(p.whole_shape[p.axis + 1:], dtype=np.int64)) * itemsize


def _items(node: Node, graph: Graph, plan) -> int:
    p = plan(node, graph)
    return max(1, _outer(p) * p.count)


def _check_parts(node: Node, p: PackParams, what: str) -> None:
    if _outer(p) == 0:
        raise no_kernel(node, "the tensors are empty")
    if p.count > MAX_PARTS:
        raise no_kernel(node, f"{p.count} {what}; the kernel takes at most {MAX_PARTS}")


def _lower_pack(node: Node, graph: Graph, p: PackParams) -> KernelCall:
    _check_parts(node, p, "inputs")
    xs = [graph.tensors[t] for t in node.inputs]
    out = graph.tensors[node.outputs[0]]
    require_addressable(node, out, *xs)
    row = _row_bytes(node, graph, p)
    fields = (("num_inputs", p.count), ("outer", _outer(p)), ("out_row_bytes", row * p.count),
              ("row_bytes", CArray.of("int32_t", [row] * p.count)),
              ("row_start", CArray.of("int32_t", [row * i for i in range(p.count)])),
              ("table_offset", CArray.of("int32_t", [-1] * p.count)), ("tables", CArray.of("uint8_t", [0])))
    return KernelCall("ariel_concatenation", "ariel_concatenation_params", fields, (*node.inputs, node.outputs[0]),
                      "data.c")


def _lower_unpack(node: Node, graph: Graph, p: PackParams) -> KernelCall:
    _check_parts(node, p, "outputs")
    x = graph.tensors[node.inputs[0]]
    require_addressable(node, x, *(graph.tensors[t] for t in node.outputs))
    row = _row_bytes(node, graph, p)
    fields = (("num_outputs", p.count), ("outer", _outer(p)), ("in_row_bytes", row * p.count),
              ("row_bytes", CArray.of("int32_t", [row] * p.count)),
              ("row_start", CArray.of("int32_t", [row * i for i in range(p.count)])))
    return KernelCall("ariel_split", "ariel_split_params", fields, (node.inputs[0], *node.outputs), "data.c")


# --------------------------------------------------------------------------- registration

def _opdef(name, plan, evaluate, shapes, lower, **kw) -> OpDef:
    def check(node: Node, graph: Graph) -> None:
        plan(node, graph)

    def infer_shapes(node: Node, graph: Graph) -> list[Shape]:
        return shapes(plan(node, graph))

    def prepare(node: Node, graph: Graph, semantics: Semantics):
        return plan(node, graph)

    return OpDef(name=name, check=check, infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
                 work_items=lambda node, graph: _items(node, graph, plan), lower=lower, **kw)


register(_opdef("PACK", _pack_plan, evaluate_pack, lambda p: [p.whole_shape], _lower_pack,
                options_type=PackOptions, tflite_options="PackOptions", num_inputs=(1, None), num_outputs=(1, 1)))
register(_opdef("UNPACK", _unpack_plan, evaluate_unpack, lambda p: [p.part_shape] * p.count, _lower_unpack,
                options_type=UnpackOptions, tflite_options="UnpackOptions", num_inputs=(1, 1),
                num_outputs=(0, None)))
