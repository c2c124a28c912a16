"""What the cost model counts for one work item of an operator: its cost family and three
counts - multiply-accumulates (or window reads), inner-loop runs (and how many of them are at
the input's edge), output elements.

The families follow the C kernels' shapes, not the TFLite operator list: a 1x1 convolution runs a
different inner loop (two output channels per pass over the input) than a general one; depthwise
convolution and pooling walk a window tap by tap over a block of channels. A "run" is one pass of
a kernel's innermost loop (one dot product, one tap over a channel block, one block of elements):
its fixed cost (call, pointer set-up, loop test) is what makes a 4-MAC dot product far dearer per
MAC than a 64-MAC one. Families without a calibrated entry fall back to `GENERIC` (see
arielml/targets/calibration.py)."""
from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from arielml.ir import Graph, Node
from arielml.ops.common import window_2d
from arielml.ops.conv import channel_block

GENERIC = "generic"


@dataclass(frozen=True)
class ItemWork:
    """The work of one work item of an operator (the op's total divided by its item count)."""

    macs: float
    elements: float
    runs: float = 0.0
    family: str = GENERIC
    edge_runs: float = 0.0
    # conv / depthwise: items are (output row, channel block) in row-major order, and rows at the
    # input's top and bottom edge cost more than the others; then (runs, edge runs) per item of
    # each output row (one batch), items_per_row items per row. Empty: every item costs the same.
    row_profile: tuple[tuple[float, float], ...] = ()
    items_per_row: int = 1
    # int8 1x1 conv: the share of its MACs in output channels whose filter is not all zero; kernels
    # that skip the others (CoreType.skips_zero_filters) do only this share of the multiplies
    live_fraction: float = 1.0

    def runs_in(self, begin: int, end: int) -> tuple[float, float]:
        """(runs, edge runs) of items [begin, end)."""
        if not self.row_profile:
            return self.runs * (end - begin), self.edge_runs * (end - begin)
        runs = edge = 0.0
        item = begin
        while item < end:
            row = item // self.items_per_row
            stop = min(end, (row + 1) * self.items_per_row)
            row_runs, row_edge = self.row_profile[row % len(self.row_profile)]
            runs += row_runs * (stop - item)
            edge += row_edge * (stop - item)
            item = stop
        return runs, edge


def _window(node: Node, graph: Graph, filter_h: int, filter_w: int):
    x = graph.tensors[node.inputs[0]]
    o = node.options
    return window_2d(x.shape[1], x.shape[2], filter_h, filter_w, o.stride_h, o.stride_w, o.padding,
                     getattr(o, "dilation_h_factor", 1), getattr(o, "dilation_w_factor", 1),
                     getattr(o, "explicit_padding", ()))


def _is_pointwise(node: Node, graph: Graph) -> bool:
    """The kernel's 1x1 path: 1x1 filter, no groups, no padding (SAME with a 1x1 filter pads nothing)."""
    x, w = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    if not (w.shape[1] == w.shape[2] == 1 and w.shape[3] == x.shape[3] and x.dtype == "int8"):
        return False
    win = _window(node, graph, 1, 1)
    return win.pad_top == 0 and win.pad_left == 0


def _inside(out_size: int, stride: int, pad: int, reach: int, in_size: int) -> int:
    """Output positions along one axis whose window lies wholly inside the input."""
    return sum(1 for o in range(out_size) if 0 <= o * stride - pad and o * stride - pad + reach < in_size)


FEW_INPUT_CHANNELS = 3  # first layers (RGB images, spectrograms): the ISA kernels have their own paths


def family_of(node: Node, graph: Graph) -> str:
    """Cost family of a node: the op name (CONV_2D split into pointwise, few-input-channel first
    layers and general), with an `_f32` suffix for float kernels, which cost very differently on
    cores without an FPU."""
    out = graph.tensors[node.outputs[0]]
    name = node.op
    if node.op == "CONV_2D" and _is_pointwise(node, graph):
        name = "CONV_2D_1X1"
    elif node.op == "CONV_2D" and graph.tensors[node.inputs[0]].dtype == "int8" \
            and graph.tensors[node.inputs[0]].shape[-1] <= FEW_INPUT_CHANNELS:
        name = "CONV_2D_FEW_IN"
    return f"{name}_F32" if out.dtype == "float32" else name


def _row_profile(node: Node, graph: Graph) -> tuple[tuple[float, float], ...]:
    """Conv / depthwise: (runs, edge runs) per work item of each output row. Depthwise: every
    tap is one run over the channel block; general conv: one dot product per filter row where the
    window is inside the input (a filter row of all input channels is contiguous), one per tap
    where it crosses the edge; 1x1 conv: one dot product per pair of output channels."""
    x, w, out = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]], graph.tensors[node.outputs[0]]
    _, out_h, out_w, out_c = out.shape
    block = channel_block(out.shape[0] * out_h, out_c)
    channels = out_c / -(-out_c // block)  # per item, on average over the blocks
    if node.op == "CONV_2D" and _is_pointwise(node, graph):
        return ((out_w * -(-block // 2), 0.0),)
    win = _window(node, graph, w.shape[1], w.shape[2])
    inside_w = _inside(win.out_w, win.stride_w, win.pad_left, (win.filter_w - 1) * win.dilation_w, x.shape[2])
    reach_h = (win.filter_h - 1) * win.dilation_h
    merged = win.dilation_w == 1 and w.shape[3] == x.shape[3]
    profile = []
    for oy in range(out_h):
        top = oy * win.stride_h - win.pad_top
        inside = inside_w if 0 <= top and top + reach_h < x.shape[1] else 0
        border = out_w - inside
        if node.op == "DEPTHWISE_CONV_2D":
            profile.append((float(out_w * win.taps), float(border * win.taps)))
        else:
            per_pixel = win.filter_h * (1 if merged else win.filter_w)
            profile.append((channels * (inside * per_pixel + border * win.taps), channels * border * win.taps))
    return tuple(profile)


def _live_fraction(node: Node, graph: Graph) -> float:
    """Share of output channels whose (constant) filter has a non-zero weight."""
    w = graph.tensors[node.inputs[1]]
    if w.data is None or w.shape[0] == 0:
        return 1.0
    live = np.any(np.asarray(w.data).reshape(w.shape[0], -1) != 0, axis=1)
    return float(live.mean())


def item_work(node: Node, graph: Graph, macs: float, items: int) -> ItemWork:
    """Per-item counts of an op: MACs (pooling: window reads), runs, edge runs, output elements."""
    out = graph.tensors[node.outputs[0]]
    elements = float(sum(graph.tensors[t].num_elements for t in node.outputs))
    family = family_of(node, graph)
    if node.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        n, out_h, _, out_c = out.shape
        per_row = items // (n * out_h)
        profile = _row_profile(node, graph)
        if len(profile) == 1:
            profile = profile * out_h
        runs = sum(r for r, _ in profile) / out_h
        edge = sum(e for _, e in profile) / out_h
        return ItemWork(macs / items, elements / items, runs, family, edge, profile, per_row,
                        _live_fraction(node, graph) if family == "CONV_2D_1X1" else 1.0)
    if node.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        o = node.options
        taps = _window(node, graph, o.filter_height, o.filter_width).taps
        return ItemWork(elements * taps / items, elements / items, float(taps), family)  # window reads as "MACs"
    if node.op == "MEAN":
        return ItemWork(graph.tensors[node.inputs[0]].num_elements / items, elements / items, 1.0, family)
    return ItemWork(macs / items, elements / items, 1.0, family)
