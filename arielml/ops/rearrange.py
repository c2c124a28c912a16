"""SLICE, REVERSE_V2, MIRROR_PAD, SPACE_TO_DEPTH, DEPTH_TO_SPACE, BATCH_TO_SPACE_ND, BROADCAST_TO and
SPACE_TO_BATCH_ND: operators that move elements to positions known at compile time.

Every control input (begin/size, axes, paddings, block shapes, crops, target shapes) must be a
constant, so each operator is an index map fixed at compile time. The numpy references use numpy's
own slicing / flip / pad / reshape-transpose; the C lowerings express the same map as per-output-
axis offset tables for the gather kernel of kernels/data.c (data_kernels.gather_call), except
SPACE_TO_BATCH_ND, whose padding couples the output's batch axis with its rows and columns: it has
its own kernel (kernels/indexing.c ariel_space_to_batch). LiteRT moves bytes without reading
quantisation parameters, so every element size is supported."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.ir import Graph, Node
from arielml.ops.data_kernels import axis_tables, element_size, gather_call, gather_items, require_addressable, strides_of
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import ANY_DTYPE, check_dtypes, constant_ints, input_tensor, normalize_axis

Shape = tuple[int, ...]
SLICE_MAX_RANK = 5  # LiteRT's slice kernel (kMaxDim)
MAX_RANK = 8


def _data_and_output(node: Node, graph: Graph):
    x = input_tensor(node, graph, 0, "data")
    out = graph.tensors[node.outputs[0]]
    check_dtypes(node, graph, [x, out], ANY_DTYPE, per_channel_ok=True)
    return x, out


# --------------------------------------------------------------------------- picks per axis

@dataclass(frozen=True)
class PickParams:
    """SLICE, REVERSE_V2, MIRROR_PAD, BROADCAST_TO: along each axis of `in_shape` (the input with
    leading size-1 axes added for BROADCAST_TO) the output takes the listed input indices."""

    op: str
    in_shape: Shape
    picks: tuple[tuple[int, ...], ...]
    out_shape: Shape
    mode: str = ""  # MIRROR_PAD: "reflect" or "symmetric"
    axes: tuple[int, ...] = ()  # REVERSE_V2: the reversed axes
    pads: tuple[tuple[int, int], ...] = ()  # MIRROR_PAD: (before, after) per axis


def _slice_plan(node: Node, graph: Graph) -> PickParams:
    x, _ = _data_and_output(node, graph)
    rank = len(x.shape)
    if not 1 <= rank <= SLICE_MAX_RANK:
        raise unsupported(node, f"rank {rank} is not supported (1 to {SLICE_MAX_RANK}, as LiteRT)")
    begin = constant_ints(node, graph, 1, "begin", ("int32", "int64"))
    size = constant_ints(node, graph, 2, "size", ("int32", "int64"))
    if not len(begin) == len(size) == rank:
        raise unsupported(node, f"begin and size have {len(begin)} and {len(size)} entries for rank {rank}")
    picks = []
    for axis, (b, s, d) in enumerate(zip(begin.tolist(), size.tolist(), x.shape)):
        if s == -1:  # LiteRT: -1 takes everything from begin on
            s = d - b
        if b < 0 or s < 0 or b + s > d:
            raise unsupported(node, f"axis {axis}: begin {b} with size {s} does not fit dimension {d}")
        picks.append(tuple(range(b, b + s)))
    return PickParams("SLICE", x.shape, tuple(picks), tuple(len(p) for p in picks))


def _reverse_plan(node: Node, graph: Graph) -> PickParams:
    x, _ = _data_and_output(node, graph)
    rank = len(x.shape)
    if not 1 <= rank <= MAX_RANK:
        raise unsupported(node, f"rank {rank} is not supported (1 to {MAX_RANK})")
    raw = constant_ints(node, graph, 1, "axis")
    axes = sorted({normalize_axis(node, int(a), rank) for a in raw})
    if len(axes) != len(raw):
        raise unsupported(node, f"axes {raw.tolist()} repeat an axis")
    picks = tuple(tuple(range(d - 1, -1, -1)) if a in axes else tuple(range(d)) for a, d in enumerate(x.shape))
    return PickParams("REVERSE_V2", x.shape, picks, x.shape, axes=tuple(axes))


@dataclass(frozen=True)
class MirrorPadOptions:
    mode: int = 0  # schema MirrorPadMode: REFLECT = 0, SYMMETRIC = 1


def _mirror_index(p: int, before: int, size: int, offset: int) -> int:
    """Input index of padded position p (offset 1: REFLECT leaves the edge out, 0: SYMMETRIC repeats
    it); the mapping LiteRT's GetInputDimension computes, for paddings within the limits below."""
    if p < before:
        return before - p - 1 + offset
    p -= before
    if p >= size:
        return size - 1 - offset - (p - size)
    return p


def _mirror_pad_plan(node: Node, graph: Graph) -> PickParams:
    x, _ = _data_and_output(node, graph)
    rank = len(x.shape)
    if not 1 <= rank <= MAX_RANK:
        raise unsupported(node, f"rank {rank} is not supported (1 to {MAX_RANK})")
    mode = (node.options or MirrorPadOptions()).mode
    if mode not in (0, 1):
        raise unsupported(node, f"mirror pad mode {mode} is unknown (0 REFLECT, 1 SYMMETRIC)")
    offset = 1 if mode == 0 else 0
    pads_tensor = input_tensor(node, graph, 1, "paddings")
    raw = constant_ints(node, graph, 1, "paddings", ("int32", "int64"))
    if pads_tensor.shape != (rank, 2):
        raise unsupported(node, f"paddings have shape {pads_tensor.shape}, expected ({rank}, 2)")
    picks, pads = [], []
    for axis, d in enumerate(x.shape):
        before, after = int(raw[2 * axis]), int(raw[2 * axis + 1])
        pads.append((before, after))
        # beyond d - offset the mirror runs off the input (LiteRT reads outside it; TF refuses)
        if min(before, after) < 0 or max(before, after) > d - offset:
            raise unsupported(node, f"axis {axis}: paddings ({before}, {after}) exceed what "
                                    f"{'REFLECT' if offset else 'SYMMETRIC'} allows for dimension {d} "
                                    f"(at most {d - offset})")
        picks.append(tuple(_mirror_index(p, before, d, offset) for p in range(before + d + after)))
    return PickParams("MIRROR_PAD", x.shape, tuple(picks), tuple(len(p) for p in picks),
                      "reflect" if offset else "symmetric", pads=tuple(pads))


def _broadcast_to_plan(node: Node, graph: Graph) -> PickParams:
    x, _ = _data_and_output(node, graph)
    target = [int(v) for v in constant_ints(node, graph, 1, "shape", ("int32", "int64"))]
    if len(target) > MAX_RANK or len(target) < len(x.shape):
        raise unsupported(node, f"cannot broadcast {x.shape} to {tuple(target)} (output rank up to {MAX_RANK})")
    padded = (1,) * (len(target) - len(x.shape)) + tuple(x.shape)
    picks = []
    for axis, (d, t) in enumerate(zip(padded, target)):
        if t < 0 or (d != t and d != 1):
            raise unsupported(node, f"cannot broadcast {x.shape} to {tuple(target)} (axis {axis})")
        picks.append(tuple(range(t)) if d == t else (0,) * t)
    return PickParams("BROADCAST_TO", padded, tuple(picks), tuple(target))


def evaluate_picks(p: PickParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0].reshape(p.in_shape)
    if p.op == "SLICE":
        out = x[tuple(slice(pick[0], pick[-1] + 1) if pick else slice(0, 0) for pick in p.picks)]
    elif p.op == "REVERSE_V2":
        out = np.flip(x, axis=p.axes)
    elif p.op == "MIRROR_PAD":
        out = np.pad(x, p.pads, mode=p.mode)
    else:  # BROADCAST_TO
        out = np.broadcast_to(x, p.out_shape)
    return [np.ascontiguousarray(out).reshape(p.out_shape)]


# --------------------------------------------------------------------------- space <-> depth

@dataclass(frozen=True)
class BlockOptions:
    block_size: int = 0


@dataclass(frozen=True)
class DepthParams:
    op: str
    in_shape: Shape
    block: int
    out_shape: Shape


DEPTH_DTYPES = ("int8", "uint8", "int32", "int64", "float32")  # LiteRT's list (no int16, no bool)


def _depth_plan(node: Node, graph: Graph) -> DepthParams:
    x = input_tensor(node, graph, 0, "data")
    check_dtypes(node, graph, [x, graph.tensors[node.outputs[0]]], DEPTH_DTYPES, per_channel_ok=True)
    if len(x.shape) != 4:
        raise unsupported(node, f"the input must be 4-D NHWC, it has shape {x.shape}")
    block = (node.options or BlockOptions()).block_size
    if block < 1:
        raise unsupported(node, f"block size {block} must be at least 1")
    n, h, w, c = x.shape
    if node.op == "SPACE_TO_DEPTH":
        if h % block or w % block:
            raise unsupported(node, f"height {h} and width {w} must be multiples of the block size {block}")
        out = (n, h // block, w // block, c * block * block)
    else:
        if c % (block * block):
            raise unsupported(node, f"depth {c} must be a multiple of the block size squared ({block * block})")
        out = (n, h * block, w * block, c // (block * block))
    return DepthParams(node.op, x.shape, block, out)


def evaluate_depth(p: DepthParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x, b = inputs[0], p.block
    n, h, w, c = p.in_shape
    if p.op == "SPACE_TO_DEPTH":
        out = x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
    else:
        out = x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
    return [np.ascontiguousarray(out).reshape(p.out_shape)]


def _depth_tables(p: DepthParams) -> list[np.ndarray]:
    b = p.block
    s_n, s_h, s_w, _ = strides_of(p.in_shape)
    n, oh, ow, oc = p.out_shape
    if p.op == "SPACE_TO_DEPTH":
        c = p.in_shape[3]
        d = np.arange(oc)  # output channel (by * b + bx) * c + channel
        depth = (d // (b * c)) * s_h + (d // c % b) * s_w + d % c
        return [np.arange(n) * s_n, np.arange(oh) * b * s_h, np.arange(ow) * b * s_w, depth]
    h, w = np.arange(oh), np.arange(ow)  # output row h reads input row h // b, channel block h % b
    return [np.arange(n) * s_n, h // b * s_h + h % b * b * oc, w // b * s_w + w % b * oc, np.arange(oc)]


# --------------------------------------------------------------------------- batch <-> space

@dataclass(frozen=True)
class BatchSpaceParams:
    """Both operators on the input seen as 4-D [batch, height, width, depth] (3-D inputs get width
    1 and block width 1). `edges` are BATCH_TO_SPACE_ND's crops or SPACE_TO_BATCH_ND's paddings."""

    op: str
    in_shape4: Shape
    block: tuple[int, int]
    edges: tuple[tuple[int, int], tuple[int, int]]
    out_shape4: Shape
    out_shape: Shape
    fill: int | float | bool = 0


def _batch_space_plan(node: Node, graph: Graph) -> BatchSpaceParams:
    x, out = _data_and_output(node, graph)
    rank = len(x.shape)
    if rank not in (3, 4):
        raise unsupported(node, f"the input must be 3-D or 4-D, it has shape {x.shape}")
    spatial = rank - 2
    block = [int(v) for v in constant_ints(node, graph, 1, "block_shape")]
    raw_edges = constant_ints(node, graph, 2, "crops" if node.op == "BATCH_TO_SPACE_ND" else "paddings")
    if len(block) != spatial or raw_edges.size != 2 * spatial:
        raise unsupported(node, f"block shape {block} and {raw_edges.size // 2} edge pairs do not match "
                                f"{spatial} spatial dimensions")
    if min(block) < 1 or raw_edges.min(initial=0) < 0:
        raise unsupported(node, f"block shape {block} must be positive and edges {raw_edges.tolist()} non-negative")
    edges = [(int(raw_edges[2 * i]), int(raw_edges[2 * i + 1])) for i in range(spatial)]
    if spatial == 1:
        block, edges = block + [1], edges + [(0, 0)]
    shape4 = tuple(x.shape) if rank == 4 else (x.shape[0], x.shape[1], 1, x.shape[2])
    b, h, w, c = shape4
    bh, bw = block
    if node.op == "BATCH_TO_SPACE_ND":
        if b % (bh * bw):
            raise unsupported(node, f"batch {b} is not a multiple of the block size {bh * bw}")
        oh, ow = h * bh - sum(edges[0]), w * bw - sum(edges[1])
        if oh < 0 or ow < 0:
            raise unsupported(node, f"crops {edges} are larger than the output")
        out4 = (b // (bh * bw), oh, ow, c)
        fill = 0
    else:
        hp, wp = h + sum(edges[0]), w + sum(edges[1])
        if hp % bh or wp % bw:
            raise unsupported(node, f"padded size ({hp}, {wp}) is not a multiple of the block shape {tuple(block)}")
        out4 = (b * bh * bw, hp // bh, wp // bw, c)
        fill = _space_to_batch_fill(x, out)
    out_shape = out4 if rank == 4 else (out4[0], out4[1], out4[3])
    return BatchSpaceParams(node.op, shape4, (bh, bw), tuple(edges), out4, out_shape, fill)


def _space_to_batch_fill(x, out) -> int | float | bool:
    """LiteRT pads with the output zero point for quantised 8-bit tensors, else with zero."""
    if x.dtype in ("int8", "uint8") and out.quant is not None:
        return int(out.quant.zero_point[0])
    return False if x.dtype == "bool" else 0.0 if x.dtype == "float32" else 0


def evaluate_batch_space(p: BatchSpaceParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0].reshape(p.in_shape4)
    (bh, bw), ((top, bottom), (left, right)) = p.block, p.edges
    b, h, w, c = p.in_shape4
    if p.op == "BATCH_TO_SPACE_ND":
        ob = b // (bh * bw)
        full = x.reshape(bh, bw, ob, h, w, c).transpose(2, 3, 0, 4, 1, 5).reshape(ob, h * bh, w * bw, c)
        out = full[:, top:h * bh - bottom, left:w * bw - right]
    else:
        padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=p.fill)
        hp, wp = padded.shape[1:3]
        out = padded.reshape(b, hp // bh, bh, wp // bw, bw, c).transpose(2, 4, 0, 1, 3, 5)
    return [np.ascontiguousarray(out).reshape(p.out_shape)]


def _batch_to_space_tables(p: BatchSpaceParams) -> list[np.ndarray]:
    (bh, bw), ((top, _), (left, _)) = p.block, p.edges
    s_b, s_h, s_w, _ = strides_of(p.in_shape4)
    ob, oh, ow, oc = p.out_shape4
    h, w = np.arange(oh) + top, np.arange(ow) + left  # positions in the uncropped output
    # output (b, h, w) reads batch ((h % bh) * bw + w % bw) * ob + b, row h // bh, column w // bw
    return [np.arange(ob) * s_b, h // bh * s_h + h % bh * bw * ob * s_b, w // bw * s_w + w % bw * ob * s_b,
            np.arange(oc)]


def _space_to_batch_offsets(p: BatchSpaceParams) -> tuple[np.ndarray, np.ndarray]:
    """Per output (batch, row): the input element offset of that row's start, -1 for a padding row;
    per output (batch, column): the column's element offset within a row, -1 for padding."""
    (bh, bw), ((top, _), (left, _)) = p.block, p.edges
    b, h, w, c = p.in_shape4
    ob, oh, ow, _ = p.out_shape4
    batch = np.arange(ob)
    shift_h, shift_w, source = batch // b // bw, batch // b % bw, batch % b
    rows = np.arange(oh)[None, :] * bh + shift_h[:, None] - top
    cols = np.arange(ow)[None, :] * bw + shift_w[:, None] - left
    row_offsets = np.where((rows >= 0) & (rows < h), (source[:, None] * h + rows) * w * c, -1)
    col_offsets = np.where((cols >= 0) & (cols < w), cols * c, -1)
    return row_offsets.ravel(), col_offsets.ravel()


# --------------------------------------------------------------------------- C lowerings

def _pick_tables(p: PickParams) -> list[np.ndarray]:
    return axis_tables(p.in_shape, [np.asarray(pick, dtype=np.int64) for pick in p.picks])


def _tables(p) -> list[np.ndarray]:
    if isinstance(p, PickParams):
        return _pick_tables(p)
    if isinstance(p, DepthParams):
        return _depth_tables(p)
    return _batch_to_space_tables(p)


def _s2b_items(p: BatchSpaceParams) -> int:
    return p.out_shape4[0] * p.out_shape4[1]


def _lower_space_to_batch(node: Node, graph: Graph, p: BatchSpaceParams) -> KernelCall:
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    require_addressable(node, x, out)
    rows, cols = _space_to_batch_offsets(p)
    fill = np.asarray(p.fill, dtype=out.np_dtype).reshape(1).view(np.uint8)  # as stored in memory
    fields = (("element_size", element_size(out)), ("depth", p.out_shape4[3]), ("out_rows", p.out_shape4[1]),
              ("out_cols", p.out_shape4[2]), ("row_offsets", CArray.of("int32_t", rows if rows.size else [0])),
              ("col_offsets", CArray.of("int32_t", cols if cols.size else [0])), ("fill", CArray.of("uint8_t", fill)))
    return KernelCall("ariel_space_to_batch", "ariel_space_to_batch_params", fields,
                      (node.inputs[0], node.outputs[0]), "indexing.c")


# --------------------------------------------------------------------------- registration

def _opdef(name, plan, evaluate, **kw) -> OpDef:
    def check(node: Node, graph: Graph) -> None:
        plan(node, graph)

    def infer_shapes(node: Node, graph: Graph) -> list[Shape]:
        return [plan(node, graph).out_shape]

    def prepare(node: Node, graph: Graph, semantics: Semantics):
        return plan(node, graph)

    if name == "SPACE_TO_BATCH_ND":
        kw.update(work_items=lambda node, graph: max(1, _s2b_items(plan(node, graph))), lower=_lower_space_to_batch)
    else:
        kw.update(work_items=lambda node, graph: gather_items(_tables(plan(node, graph)))[0],
                  lower=lambda node, graph, p: gather_call(node, graph, node.inputs[0], _tables(p)))
    return OpDef(name=name, check=check, infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
                 num_outputs=(1, 1), **kw)


register(_opdef("SLICE", _slice_plan, evaluate_picks, num_inputs=(3, 3)))
register(_opdef("REVERSE_V2", _reverse_plan, evaluate_picks, num_inputs=(2, 2)))
register(_opdef("MIRROR_PAD", _mirror_pad_plan, evaluate_picks, num_inputs=(2, 2),
                options_type=MirrorPadOptions, tflite_options="MirrorPadOptions"))
register(_opdef("BROADCAST_TO", _broadcast_to_plan, evaluate_picks, num_inputs=(2, 2)))
register(_opdef("SPACE_TO_DEPTH", _depth_plan, evaluate_depth, num_inputs=(1, 1),
                options_type=BlockOptions, tflite_options="SpaceToDepthOptions"))
register(_opdef("DEPTH_TO_SPACE", _depth_plan, evaluate_depth, num_inputs=(1, 1),
                options_type=BlockOptions, tflite_options="DepthToSpaceOptions"))
register(_opdef("BATCH_TO_SPACE_ND", _batch_space_plan, evaluate_batch_space, num_inputs=(3, 3)))
register(_opdef("SPACE_TO_BATCH_ND", _batch_space_plan, evaluate_batch_space, num_inputs=(3, 3)))
