"""GATHER, GATHER_ND, EMBEDDING_LOOKUP (with the hybrid int8/uint8 -> float32 variant) and
DYNAMIC_UPDATE_SLICE: operators whose indices may be a run-time tensor.

Constant indices are checked at compile time and, where the op is a fixed index map (no batch
dimensions, no dequantisation), lowered to the offset-table gather of kernels/data.c. Run-time
indices go to kernels/indexing.c, which reads them at run time:

- an index outside its axis: LiteRT (and TFLite Micro's EMBEDDING_LOOKUP) fail the inference
  ("index out of bounds"); TFLite Micro's GATHER does not check at all, and its GATHER_ND checks
  only the flat position (reading [0, 5] of a 3x4 tensor as element 5). arielml's reference
  executor raises InputError; the C kernels, which have no error path, write zero bytes for that
  output slice and never read outside the input.
- DYNAMIC_UPDATE_SLICE clamps each start index to [0, dim - update_dim], as LiteRT and TFLite Micro do.

The hybrid EMBEDDING_LOOKUP multiplies each int8 (uint8 bytes read as int8, as LiteRT does) by the
float32 scale of the table (or of its row: per-axis scales on axis 0) in one float32
multiplication; LiteRT requires the zero point 0 there."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.errors import InputError
from arielml.ir import Graph, Node, Tensor
from arielml.ops.data_kernels import element_size, gather_call, gather_items, require_addressable, strides_of
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import ANY_DTYPE, check_dtypes, input_tensor, normalize_axis

Shape = tuple[int, ...]
INDEX_TYPES = ("int16", "int32", "int64")
LOOKUP_MAX_DEPTH = 8  # ARIEL_INDEXED_MAX_DEPTH
UPDATE_MAX_RANK = 8  # ARIEL_UPDATE_MAX_RANK
LOOKUP_CHUNK = 64  # output elements per work item, at least one slice


@dataclass(frozen=True)
class GatherOptions:
    axis: int = 0
    batch_dims: int = 0


@dataclass(frozen=True)
class LookupParams:
    """The input as [batches, blocks_per_batch, ...block] and the indices as [batches, lookups,
    depth]: output slice (batch, block, lookup) is the input slice at sum_j index_j * strides[j]
    within its block (see ariel_indexed_gather in kernels/indexing.c)."""

    where: str  # "GATHER (operator #3)", for run-time errors
    data_input: int  # GATHER / GATHER_ND read data from input 0, EMBEDDING_LOOKUP from input 1
    batches: int
    blocks_per_batch: int
    lookups: int
    dims: tuple[int, ...]  # the indexed axes
    block_slices: int  # slices per block
    slice_elements: int
    out_shape: Shape
    # hybrid EMBEDDING_LOOKUP: float32 output = int8 * scale (one scale, or one per row)
    dequantize_scales: tuple[float, ...] | None = None

    @property
    def depth(self) -> int:
        return len(self.dims)

    @property
    def strides(self) -> tuple[int, ...]:
        return strides_of(self.dims)


def _index_tensor(node: Node, graph: Graph, position: int, types=INDEX_TYPES) -> Tensor:
    t = input_tensor(node, graph, position, "indices")
    if t.dtype not in types:
        raise unsupported(node, f"indices of type {t.dtype} are not supported (supported: {', '.join(types)})")
    return t


def _checked(node: Node, graph: Graph, p: LookupParams) -> LookupParams:
    """Constant indices out of range are refused when the model is loaded (LiteRT fails at run time)."""
    _constant_indices(node, graph, p)
    return p


def _gather_plan(node: Node, graph: Graph) -> LookupParams:
    x = input_tensor(node, graph, 0, "data")
    out = graph.tensors[node.outputs[0]]
    check_dtypes(node, graph, [x, out], ANY_DTYPE, per_channel_ok=True)
    coords = _index_tensor(node, graph, 1)
    o = node.options or GatherOptions()
    rank = len(x.shape)
    if rank == 0:
        raise unsupported(node, "gathering from a scalar is not supported")
    axis = normalize_axis(node, o.axis, rank)
    batch_dims = o.batch_dims + len(coords.shape) if o.batch_dims < 0 else o.batch_dims
    if not 0 <= batch_dims <= min(axis, len(coords.shape)) or batch_dims >= rank:
        raise unsupported(node, f"batch_dims {o.batch_dims} does not fit axis {axis}, input rank {rank} and "
                                f"indices rank {len(coords.shape)}")
    if x.shape[:batch_dims] != coords.shape[:batch_dims]:
        raise unsupported(node, f"the first {batch_dims} dimensions of {x.shape} and {coords.shape} differ")
    size = lambda dims: int(np.prod(dims, dtype=np.int64))  # noqa: E731
    out_shape = x.shape[:axis] + coords.shape[batch_dims:] + x.shape[axis + 1:]
    return _checked(node, graph, LookupParams(
        f"{node.op} (operator #{node.index})", 0, size(x.shape[:batch_dims]), size(x.shape[batch_dims:axis]),
        size(coords.shape[batch_dims:]), (x.shape[axis],), x.shape[axis], size(x.shape[axis + 1:]), out_shape))


def _gather_nd_plan(node: Node, graph: Graph) -> LookupParams:
    x = input_tensor(node, graph, 0, "params")
    out = graph.tensors[node.outputs[0]]
    check_dtypes(node, graph, [x, out], ANY_DTYPE, per_channel_ok=True)
    indices = _index_tensor(node, graph, 1)
    if not indices.shape or not 1 <= indices.shape[-1] <= len(x.shape):
        raise unsupported(node, f"indices of shape {indices.shape} do not index params of shape {x.shape}")
    depth = indices.shape[-1]
    if depth > LOOKUP_MAX_DEPTH:
        raise unsupported(node, f"{depth} coordinates per index (at most {LOOKUP_MAX_DEPTH})")
    size = lambda dims: int(np.prod(dims, dtype=np.int64))  # noqa: E731
    out_shape = indices.shape[:-1] + x.shape[depth:]
    return _checked(node, graph, LookupParams(
        f"{node.op} (operator #{node.index})", 0, 1, 1, size(indices.shape[:-1]), tuple(x.shape[:depth]),
        size(x.shape[:depth]), size(x.shape[depth:]), out_shape))


EMBEDDING_TYPES = ("float32", "int8", "uint8")  # LiteRT's value types


def _embedding_plan(node: Node, graph: Graph) -> LookupParams:
    lookup = _index_tensor(node, graph, 0, ("int32",))
    value = input_tensor(node, graph, 1, "value")
    out = graph.tensors[node.outputs[0]]
    if len(lookup.shape) != 1 or len(value.shape) < 2:
        raise unsupported(node, f"needs 1-D int32 indices and a value of rank >= 2 (got {lookup.shape}, {value.shape})")
    if value.dtype not in EMBEDDING_TYPES:
        raise unsupported(node, f"{value.dtype} values are not supported (supported: {', '.join(EMBEDDING_TYPES)})")
    scales = None
    rows = value.shape[0]
    if value.quant is not None and len(value.quant.scale) > 1 and (
            value.dtype == out.dtype or value.quant.axis != 0 or len(value.quant.scale) != rows):
        raise unsupported(node, "per-axis scales are supported on a hybrid lookup only, one per row (axis 0)")
    if value.dtype != out.dtype:
        if out.dtype != "float32" or value.dtype not in ("int8", "uint8"):
            raise unsupported(node, f"{value.dtype} values with a {out.dtype} output are not supported")
        if value.quant is None:
            raise unsupported(node, "a hybrid lookup needs quantised values")
        if value.quant.zero_point[0] != 0:
            raise unsupported(node, "a hybrid lookup needs zero point 0 (symmetric values; TFLite rejects others)")
        scales = tuple(float(np.float32(s)) for s in value.quant.scale)
    slice_elements = int(np.prod(value.shape[1:], dtype=np.int64))
    return _checked(node, graph, LookupParams(
        f"{node.op} (operator #{node.index})", 1, 1, 1, lookup.shape[0], (rows,), rows, slice_elements,
        (lookup.shape[0],) + tuple(value.shape[1:]), scales))


def evaluate_lookup(p: LookupParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[p.data_input]
    indices = np.asarray(inputs[1 - p.data_input], dtype=np.int64).reshape(p.batches, p.lookups, p.depth)
    outside = (indices < 0) | (indices >= np.asarray(p.dims, dtype=np.int64))
    if np.any(outside):
        position = np.argwhere(outside)[0]
        raise InputError(f"{p.where}: index {int(indices[tuple(position)])} is out of range [0, "
                         f"{p.dims[position[2]]}) (LiteRT fails the inference here; the C kernels write "
                         "zeros for that slice)")
    slices = x.reshape(p.batches, p.blocks_per_batch, p.block_slices, p.slice_elements)
    flat = (indices * np.asarray(p.strides, dtype=np.int64)).sum(axis=2)  # [batches, lookups]
    picked = slices[np.arange(p.batches)[:, None, None], np.arange(p.blocks_per_batch)[None, :, None],
                    flat[:, None, :]]  # [batches, blocks, lookups, slice]
    if p.dequantize_scales is not None:
        scales = np.asarray(p.dequantize_scales, dtype=np.float32)
        # per row: flat is the row (depth 1)
        row_scales = scales[flat] if scales.size > 1 else np.broadcast_to(scales[:1], flat.shape)
        picked = picked.view(np.int8).astype(np.float32) * row_scales[:, None, :, None]
    return [np.ascontiguousarray(picked).reshape(p.out_shape)]


# --------------------------------------------------------------------------- DYNAMIC_UPDATE_SLICE

@dataclass(frozen=True)
class UpdateParams:
    dims: Shape
    update_dims: Shape

    @property
    def out_shape(self) -> Shape:
        return self.dims


UPDATE_TYPES = ("int8", "int16", "int32", "int64", "float32", "bool")  # LiteRT's list (no uint8)


def _update_plan(node: Node, graph: Graph) -> UpdateParams:
    x = input_tensor(node, graph, 0, "operand")
    update = input_tensor(node, graph, 1, "update")
    out = graph.tensors[node.outputs[0]]
    check_dtypes(node, graph, [x, update, out], UPDATE_TYPES, per_channel_ok=True)
    start = _index_tensor(node, graph, 2, ("int32", "int64"))
    rank = len(x.shape)
    if not 1 <= rank <= UPDATE_MAX_RANK:
        raise unsupported(node, f"rank {rank} is not supported (1 to {UPDATE_MAX_RANK})")
    if len(update.shape) != rank or any(u > d for u, d in zip(update.shape, x.shape)):
        raise unsupported(node, f"update of shape {update.shape} does not fit into {x.shape}")
    if start.shape != (rank,):
        raise unsupported(node, f"start indices of shape {start.shape}, expected ({rank},)")
    return UpdateParams(tuple(x.shape), tuple(update.shape))


def evaluate_update(p: UpdateParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x, update, start = inputs[0], inputs[1], np.asarray(inputs[2], dtype=np.int64)
    clamped = [int(min(max(s, 0), d - u)) for s, d, u in zip(start, p.dims, p.update_dims)]  # as LiteRT
    out = x.copy()
    out[tuple(slice(s, s + u) for s, u in zip(clamped, p.update_dims))] = update
    return [out]


# --------------------------------------------------------------------------- C lowerings

def _constant_indices(node: Node, graph: Graph, p: LookupParams) -> np.ndarray | None:
    """The indices as [batches, lookups, depth] when they are constant (checked here), else None."""
    t = graph.tensors[node.inputs[1 - p.data_input]]
    if not t.is_constant:
        return None
    indices = np.asarray(t.data, dtype=np.int64).reshape(p.batches, p.lookups, p.depth)
    if np.any((indices < 0) | (indices >= np.asarray(p.dims, dtype=np.int64))):
        raise unsupported(node, f"a constant index is out of range for the indexed dimensions {p.dims}")
    return indices


def _table_form(node: Node, graph: Graph, p: LookupParams) -> list[np.ndarray] | None:
    """Offset tables of the data.c gather when the op is a fixed map: constant indices, no batch
    dimensions, no dequantisation. Output axes: [blocks, lookups, slice]."""
    indices = _constant_indices(node, graph, p)
    if indices is None or p.batches != 1 or p.dequantize_scales is not None:
        return None
    slice_offsets = (indices[0] * np.asarray(p.strides, dtype=np.int64)).sum(axis=1)
    return [np.arange(p.blocks_per_batch) * p.block_slices * p.slice_elements,
            slice_offsets * p.slice_elements, np.arange(p.slice_elements)]


def _slices_per_item(p: LookupParams) -> int:
    return max(1, LOOKUP_CHUNK // max(1, p.slice_elements))


def _lookup_items(node: Node, graph: Graph, plan) -> int:
    p = plan(node, graph)
    tables = _table_form(node, graph, p)
    if tables is not None:
        return gather_items(tables)[0]
    total = p.batches * p.blocks_per_batch * p.lookups
    return max(1, -(-total // _slices_per_item(p)))


def _lower_lookup(node: Node, graph: Graph, p: LookupParams) -> KernelCall:
    tables = _table_form(node, graph, p)
    data, indices = node.inputs[p.data_input], node.inputs[1 - p.data_input]
    if tables is not None:
        return gather_call(node, graph, data, tables)
    x, index_tensor, out = graph.tensors[data], graph.tensors[indices], graph.tensors[node.outputs[0]]
    require_addressable(node, x, out)
    fields = (("lookups", max(1, p.lookups)), ("blocks_per_batch", max(1, p.blocks_per_batch)),
              ("total_slices", p.batches * p.blocks_per_batch * p.lookups), ("slices_per_item", _slices_per_item(p)),
              ("depth", p.depth), ("index_size", element_size(index_tensor)), ("slice_elements", p.slice_elements),
              ("block_slices", p.block_slices), ("element_size", element_size(x)),
              *_dequantize_fields(p),
              ("dims", CArray.of("int32_t", p.dims)), ("strides", CArray.of("int32_t", p.strides)))
    return KernelCall("ariel_indexed_gather", "ariel_indexed_gather_params", fields, (data, indices, node.outputs[0]),
                      "indexing.c")


def _dequantize_fields(p: LookupParams) -> tuple:
    """ARIEL_INDEXED_COPY (0); ARIEL_INDEXED_TABLE (1): one scale, the 256 float32 products q * scale
    tabulated (a soft-float multiplication costs ~100 cycles on a Cortex-M0+, a lookup a few);
    ARIEL_INDEXED_ROW_SCALES (2): one scale per row, multiplied on the device."""
    if p.dequantize_scales is None:
        return ("dequantize", 0), ("values", CArray.of("float", [0.0]))
    if len(p.dequantize_scales) == 1:
        table = np.arange(-128, 128).astype(np.float32) * np.float32(p.dequantize_scales[0])  # one rounding each
        return ("dequantize", 1), ("values", CArray.of("float", table))
    return ("dequantize", 2), ("values", CArray.of("float", p.dequantize_scales))


def _update_items(node: Node, graph: Graph) -> int:
    return max(1, int(np.prod(_update_plan(node, graph).dims[:-1], dtype=np.int64)))


def _lower_update(node: Node, graph: Graph, p: UpdateParams) -> KernelCall:
    x, out, start = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]], graph.tensors[node.inputs[2]]
    require_addressable(node, x, out)
    if out.num_elements == 0:
        raise no_kernel(node, "the output is empty")
    fields = (("rank", len(p.dims)), ("element_size", element_size(out)), ("index_size", element_size(start)),
              ("dims", CArray.of("int32_t", p.dims)), ("update_dims", CArray.of("int32_t", p.update_dims)))
    return KernelCall("ariel_dynamic_update_slice", "ariel_dynamic_update_slice_params", fields,
                      (node.inputs[0], node.inputs[1], node.inputs[2], node.outputs[0]), "indexing.c")


# --------------------------------------------------------------------------- registration

def _semantics_of(p, semantics: Semantics):
    """--semantics tflm: TFLite Micro's hybrid EMBEDDING_LOOKUP reads one scale (the tensor's first)
    even when the table has one per row."""
    if semantics.name == "tflm" and isinstance(p, LookupParams) and p.dequantize_scales:
        return replace(p, dequantize_scales=p.dequantize_scales[:1])
    return p


def _opdef(name, plan, evaluate, work_items, lower, **kw) -> OpDef:
    def check(node: Node, graph: Graph) -> None:
        plan(node, graph)

    def infer_shapes(node: Node, graph: Graph) -> list[Shape]:
        return [plan(node, graph).out_shape]

    def prepare(node: Node, graph: Graph, semantics: Semantics):
        return _semantics_of(plan(node, graph), semantics)

    return OpDef(name=name, check=check, infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
                 work_items=work_items, lower=lower, num_outputs=(1, 1), **kw)


register(_opdef("GATHER", _gather_plan, evaluate_lookup, lambda n, g: _lookup_items(n, g, _gather_plan), _lower_lookup,
                options_type=GatherOptions, tflite_options="GatherOptions", num_inputs=(2, 2)))
register(_opdef("GATHER_ND", _gather_nd_plan, evaluate_lookup, lambda n, g: _lookup_items(n, g, _gather_nd_plan),
                _lower_lookup, num_inputs=(2, 2)))
register(_opdef("EMBEDDING_LOOKUP", _embedding_plan, evaluate_lookup,
                lambda n, g: _lookup_items(n, g, _embedding_plan), _lower_lookup, num_inputs=(2, 2)))
# output element i is operand element i or an update element: the output may take the operand's bytes
register(_opdef("DYNAMIC_UPDATE_SLICE", _update_plan, evaluate_update, _update_items, _lower_update,
                num_inputs=(3, 3), inplace_input=0))
