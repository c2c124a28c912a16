"""Data-movement operators that never touch values: RESHAPE, SQUEEZE, EXPAND_DIMS (pure views),
TRANSPOSE, CONCATENATION (uint8 inputs may be rescaled) and SPLIT / SPLIT_V (several outputs).

Shape, axis and permutation inputs must be constant tensors: they are read once at compile time,
and every output shape is known before the model runs. LiteRT's kernels copy bytes without looking
at quantisation parameters (except where noted), so the numpy references copy bytes as well.

Each operator has one `_plan` function that validates the node and computes everything; `check`,
`infer_shapes` and `prepare` all go through it, so they can never disagree."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.ir import NO_TENSOR, Graph, Node, Tensor
from arielml.ops.data_kernels import axis_tables, gather_call, gather_items, require_addressable
from arielml.ops.registry import ACTIVATIONS, OpDef, Semantics, register, unsupported

# every IR dtype: pure copies do not care what the bytes mean
ANY_DTYPE = ("int8", "uint8", "int16", "int32", "int64", "float32", "bool")
MAX_RANK = 8  # LiteRT's limit for squeeze and transpose; plenty for TinyML


# --------------------------------------------------------------------------- shared helpers

def input_tensor(node: Node, graph: Graph, position: int, what: str) -> Tensor:
    index = node.inputs[position] if position < len(node.inputs) else NO_TENSOR
    tensor = graph.tensor(index)
    if tensor is None:
        raise unsupported(node, f"the {what} input is missing")
    return tensor


def constant_ints(node: Node, graph: Graph, position: int, what: str,
                  dtypes: tuple[str, ...] = ("int32",)) -> np.ndarray:
    """The values of a constant integer input (shape, axis, paddings...) as a flat int64 array."""
    tensor = input_tensor(node, graph, position, what)
    if not tensor.is_constant:
        raise unsupported(node, f"the {what} input '{tensor.name}' is computed at run time; arielml needs it "
                                "constant (fold it in the converter, e.g. with a fixed input shape)")
    if tensor.dtype not in dtypes:
        raise unsupported(node, f"the {what} input has type {tensor.dtype}; expected {' or '.join(dtypes)}")
    return np.asarray(tensor.data, dtype=np.int64).ravel()


def normalize_axis(node: Node, axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < rank:
        raise unsupported(node, f"{what} {axis} is out of range for a tensor of rank {rank}")
    return axis + rank if axis < 0 else axis


def same_quant(a: Tensor, b: Tensor) -> bool:
    """Scale and zero point equality as LiteRT compares them (a missing quantisation is 0 / 0)."""
    def params(t: Tensor) -> tuple[float, int]:
        if t.quant is None:
            return 0.0, 0
        return float(np.float32(t.quant.scale[0])), int(t.quant.zero_point[0])
    return params(a) == params(b)


def check_dtypes(node: Node, graph: Graph, tensors: list[Tensor], allowed: tuple[str, ...],
                  per_channel_ok: bool = False) -> str:
    """All tensors share one allowed dtype; per-channel quantisation only where the operator just
    moves bytes (per_channel_ok)."""
    dtype = tensors[0].dtype
    if dtype not in allowed:
        raise unsupported(node, f"{dtype} tensors are not supported (supported: {', '.join(allowed)})")
    for t in tensors[1:]:
        if t.dtype != dtype:
            raise unsupported(node, f"tensor '{t.name}' is {t.dtype}, the others are {dtype}")
    for t in tensors:
        if not per_channel_ok and t.quant is not None and t.quant.per_channel:
            raise unsupported(node, f"tensor '{t.name}' is quantised per channel, which this operator does not support")
    return dtype


def _outputs(node: Node, graph: Graph) -> list[Tensor]:
    return [graph.tensors[t] for t in node.outputs]


# --------------------------------------------------------------------------- views

@dataclass(frozen=True)
class ViewParams:
    """RESHAPE / SQUEEZE / EXPAND_DIMS: the same bytes under another shape."""

    out_shape: tuple[int, ...]


def evaluate_view(p: ViewParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    return [inputs[0].reshape(p.out_shape)]


def _view_check_common(node: Node, graph: Graph) -> Tensor:
    x = input_tensor(node, graph, 0, "data")
    if len(node.outputs) != 1:
        raise unsupported(node, f"expected one output, the model has {len(node.outputs)}")
    check_dtypes(node, graph, [x, graph.tensors[node.outputs[0]]], ANY_DTYPE, per_channel_ok=True)
    return x


@dataclass(frozen=True)
class ReshapeOptions:
    new_shape: tuple[int, ...] = ()


def _reshape_plan(node: Node, graph: Graph) -> ViewParams:
    x = _view_check_common(node, graph)
    shape_tensor = graph.tensor(node.inputs[1]) if len(node.inputs) > 1 else None
    # LiteRT takes the shape from the second input when it is a 1-D int32 tensor, else from options
    if shape_tensor is not None and len(shape_tensor.shape) == 1 and shape_tensor.dtype == "int32":
        requested = [int(v) for v in constant_ints(node, graph, 1, "shape")]
    else:
        requested = list(node.options.new_shape if node.options is not None else ())
        if requested == [0]:  # the schema's way of writing a scalar
            requested = []
    if requested.count(-1) > 1:
        raise unsupported(node, f"shape {requested} has more than one -1")
    if any(d < -1 for d in requested):
        raise unsupported(node, f"shape {requested} has a negative dimension")
    if -1 in requested:
        known = int(np.prod([d for d in requested if d not in (-1, 0)], dtype=np.int64))
        nonzero_input = int(np.prod([d for d in x.shape if d != 0], dtype=np.int64))
        requested[requested.index(-1)] = 0 if x.num_elements == 0 else nonzero_input // known
    if int(np.prod(requested, dtype=np.int64)) != x.num_elements:
        raise unsupported(node, f"cannot reshape {x.shape} ({x.num_elements} elements) to {tuple(requested)}")
    return ViewParams(tuple(requested))


@dataclass(frozen=True)
class SqueezeOptions:
    squeeze_dims: tuple[int, ...] = ()


def _squeeze_plan(node: Node, graph: Graph) -> ViewParams:
    x = _view_check_common(node, graph)
    rank = len(x.shape)
    if rank > MAX_RANK:
        raise unsupported(node, f"rank {rank} is above {MAX_RANK}")
    dims = node.options.squeeze_dims if node.options is not None else ()
    if not dims:
        drop = {i for i, d in enumerate(x.shape) if d == 1}
    else:
        drop = set()
        for d in dims:
            axis = normalize_axis(node, int(d), rank, "squeeze dimension")
            if x.shape[axis] != 1:
                raise unsupported(node, f"cannot squeeze dimension {d} of shape {x.shape}: its size is not 1")
            drop.add(axis)
    return ViewParams(tuple(d for i, d in enumerate(x.shape) if i not in drop))


def _expand_dims_plan(node: Node, graph: Graph) -> ViewParams:
    x = _view_check_common(node, graph)
    out = graph.tensors[node.outputs[0]]
    if not same_quant(x, out):
        raise unsupported(node, "input and output quantisation differ (LiteRT requires them equal)")
    if x.dtype == "int16" and x.quant is not None and x.quant.zero_point[0] != 0:
        raise unsupported(node, "int16 tensors must have zero point 0")
    axis_values = constant_ints(node, graph, 1, "axis", ("int32", "int64"))
    if axis_values.size != 1:
        raise unsupported(node, f"the axis input must hold one value, it holds {axis_values.size}")
    rank = len(x.shape)
    axis = int(axis_values[0])
    if axis < 0:
        axis += rank + 1
    if not 0 <= axis <= rank:
        raise unsupported(node, f"axis {int(axis_values[0])} is out of range for a tensor of rank {rank}")
    return ViewParams(x.shape[:axis] + (1,) + x.shape[axis:])


# --------------------------------------------------------------------------- transpose

@dataclass(frozen=True)
class TransposeParams:
    perm: tuple[int, ...]
    out_shape: tuple[int, ...]


def _transpose_plan(node: Node, graph: Graph) -> TransposeParams:
    x = input_tensor(node, graph, 0, "data")
    check_dtypes(node, graph, [x] + _outputs(node, graph), ANY_DTYPE, per_channel_ok=True)
    rank = len(x.shape)
    if rank > MAX_RANK:
        raise unsupported(node, f"rank {rank} is above {MAX_RANK}")
    raw = constant_ints(node, graph, 1, "permutation")
    if raw.size != rank:
        raise unsupported(node, f"permutation {raw.tolist()} does not match rank {rank}")
    perm = tuple(normalize_axis(node, int(p), rank, "permutation entry") for p in raw)
    if sorted(perm) != list(range(rank)):
        raise unsupported(node, f"{raw.tolist()} is not a permutation")
    return TransposeParams(perm, tuple(x.shape[p] for p in perm))


def evaluate_transpose(p: TransposeParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    return [np.ascontiguousarray(np.transpose(inputs[0], p.perm))]


# --------------------------------------------------------------------------- concatenation

@dataclass(frozen=True)
class ConcatenationOptions:
    axis: int = 0
    fused_activation_function: int = 0


@dataclass(frozen=True)
class Rescale:
    """LiteRT's uint8 ConcatenationWithScaling for one input, in single precision:
    q_out = clamp(round(q_in * scale + bias) + zero_point, 0, 255)."""

    scale: np.float32
    bias: np.float32
    output_zero_point: int


@dataclass(frozen=True)
class ConcatParams:
    axis: int
    out_shape: tuple[int, ...]
    rescales: tuple[Rescale | None, ...]  # None: the input is copied as it is


def _concat_plan(node: Node, graph: Graph) -> ConcatParams:
    if not node.inputs or len(node.outputs) != 1:
        raise unsupported(node, "expected at least one input and exactly one output")
    xs = [input_tensor(node, graph, i, f"#{i}") for i in range(len(node.inputs))]
    out = graph.tensors[node.outputs[0]]
    dtype = check_dtypes(node, graph, xs + [out], ANY_DTYPE)
    options = node.options or ConcatenationOptions()
    if options.fused_activation_function != 0:
        name = ACTIVATIONS.get(options.fused_activation_function, str(options.fused_activation_function))
        raise unsupported(node, f"fused activation {name} on a concatenation is rejected by TFLite's kernels; "
                                "re-export the model without it")
    rank = len(xs[0].shape)
    if rank == 0:
        raise unsupported(node, "concatenating scalars is not supported")
    axis = normalize_axis(node, options.axis, rank)
    for t in xs[1:]:
        if len(t.shape) != rank or any(a != b for i, (a, b) in enumerate(zip(t.shape, xs[0].shape)) if i != axis):
            raise unsupported(node, f"input shapes {[x.shape for x in xs]} do not agree off axis {axis}")
    out_shape = list(xs[0].shape)
    out_shape[axis] = sum(t.shape[axis] for t in xs)
    rescales: list[Rescale | None] = [None] * len(xs)
    if dtype in ("int8", "int16"):
        # LiteRT copies these bytes as they are and rejects (int8) mismatched quantisation
        for t in xs:
            if not same_quant(t, out):
                raise unsupported(node, f"{dtype} input '{t.name}' has a different scale or zero point than the "
                                        "output; TFLite requires them equal for this type")
        if dtype == "int16" and out.quant is not None and out.quant.zero_point[0] != 0:
            raise unsupported(node, "int16 tensors must have zero point 0")
    elif dtype == "uint8":
        out_scale, out_zp = (np.float32(out.quant.scale[0]), out.quant.zero_point[0]) if out.quant else (np.float32(0), 0)
        inverse = np.float32(1.0) / out_scale if out_scale else np.float32(np.inf)
        for i, t in enumerate(xs):
            if same_quant(t, out):
                continue
            if t.quant is None or out.quant is None:
                raise unsupported(node, "uint8 concatenation of quantised and unquantised tensors")
            scale = np.float32(np.float32(t.quant.scale[0]) * inverse)
            bias = np.float32(np.float32(-t.quant.zero_point[0]) * scale)
            rescales[i] = Rescale(scale, bias, int(out_zp))
    return ConcatParams(axis, tuple(out_shape), tuple(rescales))


def _round_half_away_f32(x: np.ndarray) -> np.ndarray:
    """C's roundf: half away from zero, on float32 values."""
    return np.copysign(np.floor(np.abs(x) + np.float32(0.5)), x)


def apply_rescale(array: np.ndarray, rescale: Rescale) -> np.ndarray:
    """LiteRT's uint8 requantisation, float32 throughout (one product, one sum, roundf)."""
    value = array.astype(np.float32) * rescale.scale + rescale.bias
    q = _round_half_away_f32(value).astype(np.int64) + rescale.output_zero_point
    return np.clip(q, 0, 255).astype(np.uint8)


def evaluate_concat(p: ConcatParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    parts = [array if rescale is None else apply_rescale(array, rescale)
             for array, rescale in zip(inputs, p.rescales)]
    return [np.concatenate(parts, axis=p.axis)]


# --------------------------------------------------------------------------- split / split_v

@dataclass(frozen=True)
class SplitOptions:
    num_splits: int = 0


@dataclass(frozen=True)
class SplitParams:
    data_input: int  # SPLIT reads its data from input 1, SPLIT_V from input 0
    axis: int
    sizes: tuple[int, ...]
    out_shapes: tuple[tuple[int, ...], ...]


def _split_shapes(x: Tensor, axis: int, sizes: list[int]) -> tuple[tuple[int, ...], ...]:
    return tuple(x.shape[:axis] + (s,) + x.shape[axis + 1:] for s in sizes)


def _split_plan(node: Node, graph: Graph) -> SplitParams:
    # SPLIT's axis is its FIRST input, the data the second
    x = input_tensor(node, graph, 1, "data")
    check_dtypes(node, graph, [x] + _outputs(node, graph), ANY_DTYPE, per_channel_ok=True)
    num = node.options.num_splits if node.options is not None else 0
    if num != len(node.outputs) or num <= 0:
        raise unsupported(node, f"num_splits={num} but the operator has {len(node.outputs)} outputs")
    axis_values = constant_ints(node, graph, 0, "axis")
    if axis_values.size != 1:
        raise unsupported(node, f"the axis input must hold one value, it holds {axis_values.size}")
    axis = normalize_axis(node, int(axis_values[0]), len(x.shape))
    if x.shape[axis] % num:
        raise unsupported(node, f"dimension {axis} of {x.shape} does not split evenly into {num}")
    sizes = [x.shape[axis] // num] * num
    return SplitParams(1, axis, tuple(sizes), _split_shapes(x, axis, sizes))


def _split_v_plan(node: Node, graph: Graph) -> SplitParams:
    x = input_tensor(node, graph, 0, "data")
    check_dtypes(node, graph, [x] + _outputs(node, graph), ANY_DTYPE, per_channel_ok=True)
    num = node.options.num_splits if node.options is not None else 0
    if num != len(node.outputs) or num <= 0:
        raise unsupported(node, f"num_splits={num} but the operator has {len(node.outputs)} outputs")
    sizes = [int(s) for s in constant_ints(node, graph, 1, "size_splits", ("int32", "int64"))]
    if len(sizes) != num:
        raise unsupported(node, f"{len(sizes)} split sizes for {num} outputs")
    axis_values = constant_ints(node, graph, 2, "axis")
    if axis_values.size != 1:
        raise unsupported(node, f"the axis input must hold one value, it holds {axis_values.size}")
    axis = normalize_axis(node, int(axis_values[0]), len(x.shape))
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise unsupported(node, f"invalid split sizes {sizes}")
    known = sum(s for s in sizes if s != -1)
    if -1 in sizes and known <= x.shape[axis]:
        sizes[sizes.index(-1)] = x.shape[axis] - known
    if sum(sizes) != x.shape[axis] or -1 in sizes:
        raise unsupported(node, f"split sizes {sizes} do not add up to dimension {axis} of {x.shape}")
    return SplitParams(0, axis, tuple(sizes), _split_shapes(x, axis, sizes))


def evaluate_split(p: SplitParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[p.data_input]
    bounds = np.cumsum(p.sizes)[:-1]
    return [np.ascontiguousarray(part) for part in np.split(x, bounds, axis=p.axis)]


# --------------------------------------------------------------------------- C lowerings
# (runtime/kernels/data.c; see arielml/ops/data_kernels.py)

def _transpose_tables(node: Node, graph: Graph) -> list[np.ndarray]:
    p = _transpose_plan(node, graph)
    x = graph.tensors[node.inputs[0]]
    per_axis = axis_tables(x.shape, [None] * len(x.shape))
    return [per_axis[a] for a in p.perm]


def _transpose_items(node: Node, graph: Graph) -> int:
    return gather_items(_transpose_tables(node, graph))[0]


def _lower_transpose(node: Node, graph: Graph, p: TransposeParams) -> KernelCall:
    return gather_call(node, graph, node.inputs[0], _transpose_tables(node, graph))


def _rows(shape: tuple[int, ...], axis: int) -> int:
    return int(np.prod(shape[:axis], dtype=np.int64))


def _concat_items(node: Node, graph: Graph) -> int:
    p = _concat_plan(node, graph)
    return _rows(p.out_shape, p.axis) * len(node.inputs)


def _lower_concat(node: Node, graph: Graph, p: ConcatParams) -> KernelCall:
    xs = [graph.tensors[t] for t in node.inputs]
    out = graph.tensors[node.outputs[0]]
    require_addressable(node, out, *xs)
    outer = _rows(p.out_shape, p.axis)
    row_bytes = [t.nbytes // outer if outer else 0 for t in xs]
    offsets, tables = [], []
    for rescale in p.rescales:
        if rescale is None:
            offsets.append(-1)
        else:  # the requantisation of one uint8 is a function of that byte: tabulate it
            offsets.append(256 * len(tables))
            tables.append(apply_rescale(np.arange(256, dtype=np.uint8), rescale))
    fields = (("num_inputs", len(xs)), ("outer", outer), ("out_row_bytes", out.nbytes // outer if outer else 0),
              ("row_bytes", CArray.of("int32_t", row_bytes)),
              ("row_start", CArray.of("int32_t", np.cumsum([0] + row_bytes[:-1]))),
              ("table_offset", CArray.of("int32_t", offsets)),
              ("tables", CArray.of("uint8_t", np.concatenate(tables) if tables else [0])))
    return KernelCall("ariel_concatenation", "ariel_concatenation_params", fields,
                      (*node.inputs, node.outputs[0]), "data.c")


def _split_plan_of(node: Node, graph: Graph) -> SplitParams:
    return _split_plan(node, graph) if node.op == "SPLIT" else _split_v_plan(node, graph)


def _split_items(node: Node, graph: Graph) -> int:
    p = _split_plan_of(node, graph)
    return _rows(graph.tensors[node.inputs[p.data_input]].shape, p.axis) * len(node.outputs)


def _lower_split(node: Node, graph: Graph, p: SplitParams) -> KernelCall:
    x = graph.tensors[node.inputs[p.data_input]]
    outs = [graph.tensors[t] for t in node.outputs]
    require_addressable(node, x, *outs)
    outer = _rows(x.shape, p.axis)
    row_bytes = [t.nbytes // outer if outer else 0 for t in outs]
    fields = (("num_outputs", len(outs)), ("outer", outer), ("in_row_bytes", x.nbytes // outer if outer else 0),
              ("row_bytes", CArray.of("int32_t", row_bytes)),
              ("row_start", CArray.of("int32_t", np.cumsum([0] + row_bytes[:-1]))))
    return KernelCall("ariel_split", "ariel_split_params", fields, (node.inputs[p.data_input], *node.outputs),
                      "data.c")


# --------------------------------------------------------------------------- registration

def _ops(plan, evaluate, shapes_of):
    def check(node: Node, graph: Graph) -> None:
        plan(node, graph)

    def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
        return shapes_of(plan(node, graph))

    def prepare(node: Node, graph: Graph, semantics: Semantics):
        return plan(node, graph)

    return dict(check=check, infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate)


def _single(p) -> list[tuple[int, ...]]:
    return [p.out_shape]


register(OpDef(name="RESHAPE", view=True, options_type=ReshapeOptions, tflite_options="ReshapeOptions",
               **_ops(_reshape_plan, evaluate_view, _single)))
register(OpDef(name="SQUEEZE", view=True, options_type=SqueezeOptions, tflite_options="SqueezeOptions",
               **_ops(_squeeze_plan, evaluate_view, _single)))
register(OpDef(name="EXPAND_DIMS", view=True, **_ops(_expand_dims_plan, evaluate_view, _single)))
register(OpDef(name="TRANSPOSE", work_items=_transpose_items, lower=_lower_transpose,
               **_ops(_transpose_plan, evaluate_transpose, _single)))
register(OpDef(name="CONCATENATION", options_type=ConcatenationOptions, tflite_options="ConcatenationOptions",
               work_items=_concat_items, lower=_lower_concat, **_ops(_concat_plan, evaluate_concat, _single)))
register(OpDef(name="SPLIT", options_type=SplitOptions, tflite_options="SplitOptions", work_items=_split_items,
               lower=_lower_split, **_ops(_split_plan, evaluate_split, lambda p: list(p.out_shapes))))
register(OpDef(name="SPLIT_V", options_type=SplitOptions, tflite_options="SplitVOptions", work_items=_split_items,
               lower=_lower_split, **_ops(_split_v_plan, evaluate_split, lambda p: list(p.out_shapes))))
