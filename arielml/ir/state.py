"""Operator-owned state: operators that remember something between invocations without the model
file naming a tensor for it (TFLite Micro keeps it in the operator's persistent buffers: the Signal
library's framer, delay and overlap-add lines, its noise estimates). The frontend gives each such
node hidden variable tensors, appended to its inputs, so that the compiler plans, resets and
carries them like the model's own variable tensors (SVDF's, LSTM's)."""
from __future__ import annotations

import dataclasses

from arielml.ir.graph import Graph, Tensor


def attach_internal_state(graph: Graph) -> Graph:
    """Append a variable tensor per state buffer that an operator declares (OpDef.internal_state)
    to its node's inputs; the OpDef's state_inputs name those positions."""
    from arielml.ir.verify import check_arity, operator_errors
    from arielml.ops.registry import REGISTRY
    tensors, nodes = list(graph.tensors), list(graph.nodes)
    for position, node in enumerate(nodes):
        opdef = REGISTRY.get(node.op)
        if opdef is None or opdef.internal_state is None:
            continue
        with operator_errors(node, "state"):
            specs = opdef.internal_state(node, graph)
        hidden = []
        for k, (shape, dtype) in enumerate(specs):
            tensors.append(Tensor(name=f"{node.op.lower()}_{node.index}_state{k}", shape=tuple(shape), dtype=dtype,
                                  variable=True))
            hidden.append(len(tensors) - 1)
        nodes[position] = dataclasses.replace(node, inputs=tuple(node.inputs) + tuple(hidden))
        check_arity(nodes[position])
    if len(tensors) == len(graph.tensors):
        return graph
    return dataclasses.replace(graph, tensors=tuple(tensors), nodes=tuple(nodes))
