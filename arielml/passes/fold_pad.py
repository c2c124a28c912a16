"""Pass fold_pad: a PAD (or PADV2) whose only reader is a VALID CONV_2D or DEPTHWISE_CONV_2D is folded
into that convolution as explicit padding, so the padded copy is never written.

Exact, not approximate: a quantised convolution reads every padded tap as its input zero point
(the input offset makes such a tap contribute nothing), which is what the PAD wrote when its pad
value is that zero point; the convolution then sees the same numbers. Folded only when:
- the PAD pads height and width only (not batch or channels), by >= 0, with the zero point of its
  output, which is the convolution's input (same scale and zero point as the PAD's input);
- the activations are quantised (int8, uint8, int16). Float and hybrid convolutions keep their PAD:
  a hybrid kernel quantises its input from the input's range, which the padding's zeros change;
- the PAD's output is read by nothing else and is not a graph output.
Node indices (the operator numbers users see) stay those of the file; the PAD's output tensor is
left unused. Models exported from PyTorch and MCUNet put such PADs before many convolutions."""
from __future__ import annotations

from dataclasses import replace

from arielml.errors import ArielError
from arielml.ir import Graph, Node
from arielml.ops.common import PADDING_VALID
from arielml.passes.plan import Plan

_QUANTISED = ("int8", "uint8", "int16")


def _fold(pad: Node, conv: Node, graph: Graph, readers: dict[int, int]) -> tuple[int, ...] | None:
    """(top, bottom, left, right) when `pad` can fold into `conv`, else None."""
    from arielml.ops.slice import _pad_plan  # the PAD's own reading of its paddings and pad value
    if conv.options is None or conv.options.padding != PADDING_VALID or conv.options.explicit_padding:
        return None
    padded = pad.outputs[0]
    x, out = graph.tensors[pad.inputs[0]], graph.tensors[padded]
    weights = graph.tensors[conv.inputs[1]]
    if readers.get(padded, 0) != 1 or padded in graph.outputs or len(x.shape) != 4:
        return None
    if x.dtype not in _QUANTISED or out.dtype != x.dtype or weights.dtype not in ("int8", "uint8"):
        return None
    if x.quant is None or out.quant is None or x.quant != out.quant or out.quant.per_channel:
        return None
    try:
        plan = _pad_plan(pad, graph)
    except ArielError:
        return None  # lower() reports what is wrong with this PAD
    (n0, n1), (top, bottom), (left, right), (c0, c1) = plan.paddings
    if n0 or n1 or c0 or c1 or plan.pad_value != out.quant.zero_point[0]:
        return None
    return (top, bottom, left, right)


def fold_pad(plan: Plan) -> Plan:
    graph = plan.graph
    producer = {t: i for i, node in enumerate(graph.nodes) for t in node.outputs}
    readers: dict[int, int] = {}
    for node in graph.nodes:
        for t in set(node.inputs):
            readers[t] = readers.get(t, 0) + 1
    nodes = list(graph.nodes)
    dropped: set[int] = set()
    notes = []
    for i, node in enumerate(graph.nodes):
        if node.op not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        source = producer.get(node.inputs[0])
        if source is None or graph.nodes[source].op not in ("PAD", "PADV2"):
            continue
        pad = graph.nodes[source]
        padding = _fold(pad, node, graph, readers)
        if padding is None:
            continue
        nodes[i] = replace(node, inputs=(pad.inputs[0], *node.inputs[1:]),
                           options=replace(node.options, explicit_padding=padding))
        dropped.add(source)
        notes.append(f"{pad.op} #{pad.index} folded into {node.op} #{node.index} (padding {padding[0]}, "
                     f"{padding[1]}, {padding[2]}, {padding[3]}: top, bottom, left, right)")
    if not dropped:
        return plan
    kept = tuple(node for i, node in enumerate(nodes) if i not in dropped)
    return replace(plan, graph=replace(graph, nodes=kept), notes=(*plan.notes, *notes))
