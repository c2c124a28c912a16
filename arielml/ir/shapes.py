"""Output shapes the model file leaves blank. A converter may write an operator's output with shape
() when its size is only known once the interpreter prepares the operator (TFLite resizes such
outputs in Prepare: the SSD post-processing outputs, for one). arielml's shapes are static: the
operator's own shape inference gives them at load time, before the verifier compares shapes."""
from __future__ import annotations

import dataclasses

from arielml.errors import ArielError
from arielml.ir.graph import Graph


def fill_blank_output_shapes(graph: Graph) -> Graph:
    """Give every operator output that the file declares as a shapeless non-constant () the shape
    the operator infers (in execution order, so later operators see the filled shapes)."""
    from arielml.ops.registry import REGISTRY
    blank = {t for node in graph.nodes for t in node.outputs
             if 0 <= t < len(graph.tensors) and graph.tensors[t].shape == () and not graph.tensors[t].is_constant}
    if not blank:
        return graph
    tensors, filled = list(graph.tensors), 0
    for node in graph.nodes:
        opdef = REGISTRY.get(node.op)
        if opdef is None or not blank.intersection(node.outputs):
            continue
        current = dataclasses.replace(graph, tensors=tuple(tensors))
        try:  # an operator that cannot infer (bad inputs) is left for the verifier to report
            shapes = opdef.infer_shapes(node, current)
        except (ArielError, ValueError, IndexError, TypeError, KeyError, AttributeError):
            continue
        for t, shape in zip(node.outputs, shapes):
            if t in blank and tuple(shape) != ():
                tensors[t] = dataclasses.replace(tensors[t], shape=tuple(int(d) for d in shape))
                filled += 1
    if not filled:
        return graph
    note = f"{filled} operator output(s) without a shape in the file took the shape their operator gives"
    return dataclasses.replace(graph, tensors=tuple(tensors), notes=graph.notes + (note,))
