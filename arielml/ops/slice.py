"""STRIDED_SLICE, PAD and PADV2: operators that select or surround elements without computing.

STRIDED_SLICE is resolved entirely at compile time into one index list per axis of the "effective"
input (the input with the new_axis_mask dimensions inserted), following LiteRT's
BuildStridedSliceParams / StartForAxis / EndForAxis rules; evaluation is one fancy-indexing gather.
LiteRT sizes the output with one rule and fills it with another; where the two disagree (indices
out of range together with shrink_axis_mask or offset) its output is partly uninitialised memory,
so those cases are refused instead of imitated."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import Graph, Node, Tensor
from arielml.ops.data_kernels import axis_tables, element_size, gather_call, gather_items, require_addressable
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import ANY_DTYPE, check_dtypes, constant_ints, input_tensor, same_quant

MAX_SLICE_INDICES = 31  # LiteRT stores the masks in 32-bit words
MAX_PAD_RANK = 5  # LiteRT's PadKernelMaxDimensionCount


# --------------------------------------------------------------------------- strided slice

@dataclass(frozen=True)
class StridedSliceOptions:
    begin_mask: int = 0
    end_mask: int = 0
    ellipsis_mask: int = 0
    new_axis_mask: int = 0
    shrink_axis_mask: int = 0
    offset: bool = False


@dataclass(frozen=True)
class StridedSliceParams:
    effective_shape: tuple[int, ...]  # input shape with the new axes inserted
    indices: tuple[tuple[int, ...], ...]  # the input positions taken, per effective axis
    out_shape: tuple[int, ...]


@dataclass(frozen=True)
class _AxisSpec:
    """One effective axis after the masks are expanded (LiteRT's DynamicStridedSliceParams)."""

    size: int
    start: int
    stop: int
    stride: int
    begin_masked: bool
    end_masked: bool
    shrink: bool


def _bit(mask: int, i: int) -> bool:
    return bool(mask >> i & 1)


def _expand_masks(node: Node, rank: int, begin: np.ndarray, end: np.ndarray, strides: np.ndarray,
                  o: StridedSliceOptions, input_shape: tuple[int, ...]) -> list[_AxisSpec]:
    """Turn ellipsis and new-axis bits into per-axis begin/end masks over the effective shape,
    exactly as LiteRT's BuildStridedSliceParams does (including its treatment of an ellipsis that
    also has the new-axis bit: the new axis is ignored)."""
    count = len(begin)
    num_add_axis = sum(1 for i in range(count) if not _bit(o.ellipsis_mask, i) and _bit(o.new_axis_mask, i))
    dims = rank + num_add_axis
    ellipsis_bits: set[int] = set()
    new_axis_bits: set[int] = set()
    ellipsis_start, expanded = dims, 0
    i = 0
    while i < dims:
        if _bit(o.ellipsis_mask, i):
            ellipsis_start = i
            ellipsis_end = max(i + 1, min(i + 1 + num_add_axis + rank - count, dims))
            expanded = ellipsis_end - ellipsis_start - 1
            ellipsis_bits.update(range(i, ellipsis_end))
            i = ellipsis_end
            continue
        if _bit(o.new_axis_mask, i - expanded):
            new_axis_bits.add(i)
        i += 1

    specs: list[_AxisSpec] = []
    added_ellipsis = added_axes = 0
    for i in range(dims):
        if i in ellipsis_bits:
            added_ellipsis = max(0, i - ellipsis_start)
            specs.append(_AxisSpec(input_shape[i - added_axes], 0, 0, 1, True, True, False))
        elif i in new_axis_bits:
            specs.append(_AxisSpec(1, 0, 1, 1, False, False, False))
            added_axes += 1
        elif i >= count + expanded:
            specs.append(_AxisSpec(input_shape[i - added_axes], 0, 0, 1, True, True, False))
        else:
            k = i - added_ellipsis
            if k >= count or i - added_axes >= rank:
                raise unsupported(node, "the masks do not fit the input rank")
            specs.append(_AxisSpec(input_shape[i - added_axes], int(begin[k]), int(end[k]), int(strides[k]),
                                   _bit(o.begin_mask, k), _bit(o.end_mask, k), _bit(o.shrink_axis_mask, k)))
    return specs


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


def _start(spec: _AxisSpec, start: int) -> int:
    if start < 0:
        start += spec.size
    start = _clamp(start, 0, spec.size) if spec.stride > 0 else _clamp(start, -1, spec.size - 1)
    if spec.begin_masked:
        start = 0 if spec.stride > 0 else spec.size - 1
    return start


def _stop(spec: _AxisSpec, start: int, offset: bool) -> int:
    if spec.shrink:
        return start if start >= spec.size else start + 1
    stop = spec.stop + start if offset else spec.stop
    if stop < 0:
        stop += spec.size
    stop = _clamp(stop, 0, spec.size) if spec.stride > 0 else _clamp(stop, -1, spec.size - 1)
    if spec.end_masked:
        stop = spec.size if spec.stride > 0 else -1
    return stop


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _strided_slice_plan(node: Node, graph: Graph) -> StridedSliceParams:
    x = input_tensor(node, graph, 0, "data")
    check_dtypes(node, graph, [x, graph.tensors[node.outputs[0]]], ANY_DTYPE, per_channel_ok=True)
    o = node.options or StridedSliceOptions()
    begin = constant_ints(node, graph, 1, "begin")
    end = constant_ints(node, graph, 2, "end")
    strides = constant_ints(node, graph, 3, "strides")
    if not len(begin) == len(end) == len(strides):
        raise unsupported(node, f"begin, end and strides have {len(begin)}, {len(end)}, {len(strides)} entries")
    if len(begin) > MAX_SLICE_INDICES:
        raise unsupported(node, f"more than {MAX_SLICE_INDICES} slice indices")
    if len(x.shape) == 0:
        raise unsupported(node, "slicing a scalar is not supported")
    if np.any(strides == 0):
        raise unsupported(node, "a stride is 0")
    if o.offset and (o.ellipsis_mask or o.new_axis_mask or len(begin) != len(x.shape)):
        # LiteRT then reads the end (size) vector at effective-axis positions, past its end
        raise unsupported(node, "offset=true together with ellipsis/new-axis masks or a partial index is not supported")
    specs = _expand_masks(node, len(x.shape), begin, end, strides, o, x.shape)
    indices, out_shape = [], []
    for axis, spec in enumerate(specs):
        start = _start(spec, spec.start)
        stop = _stop(spec, start, o.offset)
        taken = tuple(range(start, stop, spec.stride))
        if spec.shrink:
            if len(taken) != 1:
                raise unsupported(node, f"shrink axis {axis}: index {spec.start} is out of range for size {spec.size}")
        else:
            # the size LiteRT gives the output (ResizeOutputTensor), which must match what it writes
            sized = int(end[axis]) if o.offset else stop - start
            if (sized < 0) != (spec.stride < 0):
                sized = 0
            elif spec.stride < 0:
                sized = _c_div(sized + 1, spec.stride) + 1
            else:
                sized = 0 if sized == 0 else _c_div(sized - 1, spec.stride) + 1
            if sized != len(taken):
                raise unsupported(node, f"axis {axis}: the slice runs outside the input (size {spec.size}); "
                                        "TFLite would leave part of the output uninitialised")
            out_shape.append(len(taken))
        indices.append(taken)
    return StridedSliceParams(tuple(s.size for s in specs), tuple(indices), tuple(out_shape))


def evaluate_strided_slice(p: StridedSliceParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0].reshape(p.effective_shape)
    picked = x[np.ix_(*[np.asarray(i, dtype=np.intp) for i in p.indices])]
    return [np.ascontiguousarray(picked).reshape(p.out_shape)]


# --------------------------------------------------------------------------- pad / padv2

@dataclass(frozen=True)
class PadParams:
    paddings: tuple[tuple[int, int], ...]
    pad_value: int | float | bool
    out_dtype: str
    out_shape: tuple[int, ...]


def _pad_value(node: Node, graph: Graph, x: Tensor, out: Tensor) -> int | float | bool:
    """LiteRT's choice: quantised uint8 (always) and int8/int16 with quantisation parameters pad
    with the output zero point, or with PADV2's constant, which must share the output's scale and
    zero point; everything else pads with 0 or the constant."""
    value_tensor = graph.tensor(node.inputs[2]) if len(node.inputs) > 2 else None
    quantised = x.dtype == "uint8" or (x.dtype in ("int8", "int16") and x.quant is not None)
    if value_tensor is None:
        if quantised and out.quant is not None:
            zp = out.quant.zero_point[0]
            info = np.iinfo(out.np_dtype)
            if not info.min <= zp <= info.max:
                raise unsupported(node, f"output zero point {zp} does not fit {out.dtype}")
            return int(zp)
        return False if x.dtype == "bool" else 0.0 if x.dtype == "float32" else 0
    if value_tensor.dtype != x.dtype:
        raise unsupported(node, f"the pad value is {value_tensor.dtype}, the input {x.dtype}")
    if not value_tensor.is_constant:
        raise unsupported(node, "the pad value is computed at run time; arielml needs it constant")
    if value_tensor.num_elements != 1:
        raise unsupported(node, "the pad value must be a single element")
    if quantised and not same_quant(value_tensor, out):
        raise unsupported(node, "the pad value's scale/zero point differ from the output's (TFLite rejects this)")
    value = value_tensor.data.ravel()[0]
    return bool(value) if x.dtype == "bool" else float(value) if x.dtype == "float32" else int(value)


def _pad_plan(node: Node, graph: Graph) -> PadParams:
    x = input_tensor(node, graph, 0, "data")
    out = graph.tensors[node.outputs[0]]
    check_dtypes(node, graph, [x, out], ANY_DTYPE)
    rank = len(x.shape)
    if not 1 <= rank <= MAX_PAD_RANK:
        raise unsupported(node, f"rank {rank} is not supported (1 to {MAX_PAD_RANK})")
    pads_tensor = input_tensor(node, graph, 1, "paddings")
    raw = constant_ints(node, graph, 1, "paddings", ("int32", "int64"))
    if pads_tensor.shape != (rank, 2):
        raise unsupported(node, f"paddings have shape {pads_tensor.shape}, expected ({rank}, 2)")
    if np.any(raw < 0):
        raise unsupported(node, "negative paddings are not supported")
    paddings = tuple((int(raw[2 * i]), int(raw[2 * i + 1])) for i in range(rank))
    out_shape = tuple(d + lo + hi for d, (lo, hi) in zip(x.shape, paddings))
    return PadParams(paddings, _pad_value(node, graph, x, out), out.dtype, out_shape)


def evaluate_pad(p: PadParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    out = np.full(p.out_shape, p.pad_value, dtype=x.dtype)
    out[tuple(slice(lo, lo + d) for (lo, _), d in zip(p.paddings, x.shape))] = x
    return [out]


# --------------------------------------------------------------------------- C lowerings
# (runtime/kernels/data.c; see arielml/ops/data_kernels.py)

def _slice_tables(p: StridedSliceParams) -> list[np.ndarray]:
    return axis_tables(p.effective_shape, [np.asarray(i, dtype=np.int64) for i in p.indices])


def _slice_items(node: Node, graph: Graph) -> int:
    return gather_items(_slice_tables(_strided_slice_plan(node, graph)))[0]


def _lower_slice(node: Node, graph: Graph, p: StridedSliceParams) -> KernelCall:
    return gather_call(node, graph, node.inputs[0], _slice_tables(p))


@dataclass(frozen=True)
class _PadLayout:
    """PAD as the kernel sees it: size-1 unpadded axes dropped, and an axis merged into the one
    before it when it has no padding (its rows then move as one block)."""

    out_dims: tuple[int, ...]
    in_dims: tuple[int, ...]
    before: tuple[int, ...]


def _pad_layout(x: Tensor, p: PadParams) -> _PadLayout:
    axes = [(d, lo, hi) for d, (lo, hi) in zip(x.shape, p.paddings) if not (d == 1 and lo == 0 and hi == 0)]
    merged: list[tuple[int, int, int]] = []
    for d, lo, hi in axes:
        if merged and lo == 0 and hi == 0:
            pd, plo, phi = merged[-1]
            merged[-1] = (pd * d, plo * d, phi * d)
        else:
            merged.append((d, lo, hi))
    merged = merged or [(1, 0, 0)]
    return _PadLayout(tuple(d + lo + hi for d, lo, hi in merged), tuple(d for d, _, _ in merged),
                      tuple(lo for _, lo, _ in merged))


def _pad_items(node: Node, graph: Graph) -> int:
    layout = _pad_layout(graph.tensors[node.inputs[0]], _pad_plan(node, graph))
    return int(np.prod(layout.out_dims[:-1], dtype=np.int64))


def _lower_pad(node: Node, graph: Graph, p: PadParams) -> KernelCall:
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    require_addressable(node, x, out)
    if out.num_elements == 0:
        raise no_kernel(node, "the output is empty")
    layout = _pad_layout(x, p)
    value = np.asarray(p.pad_value, dtype=out.np_dtype).reshape(1).view(np.uint8)  # bytes as stored
    fill_byte = int(value[0]) if np.all(value == value[0]) else -1
    fields = (("rank", len(layout.out_dims)), ("element_size", element_size(out)), ("fill_byte", fill_byte),
              ("out_dims", CArray.of("int32_t", layout.out_dims)), ("in_dims", CArray.of("int32_t", layout.in_dims)),
              ("pad_before", CArray.of("int32_t", layout.before)), ("value", CArray.of("uint8_t", value)))
    return KernelCall("ariel_pad", "ariel_pad_params", fields, (node.inputs[0], node.outputs[0]), "data.c")


# --------------------------------------------------------------------------- registration

def _opdef(name, plan, evaluate, **kw) -> OpDef:
    def check(node: Node, graph: Graph) -> None:
        plan(node, graph)

    def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
        return [plan(node, graph).out_shape]

    def prepare(node: Node, graph: Graph, semantics: Semantics):
        return plan(node, graph)

    return OpDef(name=name, check=check, infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate, **kw)


register(_opdef("STRIDED_SLICE", _strided_slice_plan, evaluate_strided_slice,
                options_type=StridedSliceOptions, tflite_options="StridedSliceOptions",
                work_items=_slice_items, lower=_lower_slice))
register(_opdef("PAD", _pad_plan, evaluate_pad, work_items=_pad_items, lower=_lower_pad))
register(_opdef("PADV2", _pad_plan, evaluate_pad, work_items=_pad_items, lower=_lower_pad))
