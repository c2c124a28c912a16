"""IR verifier: structural invariants every pass must keep. Run after each pass in tests."""
from __future__ import annotations

from arielml.errors import ModelFormatError
from arielml.ir.graph import NO_TENSOR, Graph


def verify(graph: Graph) -> Graph:
    """Raise ModelFormatError when the graph is malformed; return it unchanged otherwise.

    Checks: tensor references are in range; every non-constant tensor a node reads is a graph input
    or written earlier (execution order is a topological order); each tensor has one writer;
    constant data matches its shape; every operator's inferred output shapes match the tensors."""
    from arielml.ops.registry import lookup

    n = len(graph.tensors)
    written: set[int] = set(graph.inputs)
    for t in graph.inputs + graph.outputs:
        if not 0 <= t < n:
            raise ModelFormatError(f"graph input/output {t} is not a tensor")
    for tensor in graph.tensors:
        if tensor.data is not None and tuple(tensor.data.shape) != tensor.shape:
            raise ModelFormatError(f"constant '{tensor.name}' data shape {tensor.data.shape} != {tensor.shape}")
    for node in graph.nodes:
        where = f"{node.op} (operator #{node.index})"
        for t in node.inputs:
            if t == NO_TENSOR:
                continue
            if not 0 <= t < n:
                raise ModelFormatError(f"{where} reads tensor {t}, which does not exist")
            if t not in written and not graph.tensors[t].is_constant:
                raise ModelFormatError(f"{where} reads '{graph.tensors[t].name}' before anything writes it")
        for t in node.outputs:
            if not 0 <= t < n:
                raise ModelFormatError(f"{where} writes tensor {t}, which does not exist")
            if t in written or graph.tensors[t].is_constant:
                raise ModelFormatError(f"{where} writes '{graph.tensors[t].name}', which already has a value")
            written.add(t)
        opdef = lookup(node)
        opdef.check(node, graph)
        inferred = opdef.infer_shapes(node, graph)
        for t, shape in zip(node.outputs, inferred):
            if tuple(shape) != graph.tensors[t].shape:
                raise ModelFormatError(
                    f"{where}: output '{graph.tensors[t].name}' has shape {graph.tensors[t].shape} in the file, "
                    f"but the operator gives {tuple(shape)}")
    for t in graph.outputs:
        if t not in written and not graph.tensors[t].is_constant:
            raise ModelFormatError(f"graph output '{graph.tensors[t].name}' is never written")
    return graph
