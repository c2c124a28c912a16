"""Constant folding at load time: operators whose result is known before the model runs become
constants. Converters leave chains of shape arithmetic in graphs built with dynamic shapes
(SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE's shape input); arielml's shapes are static, so those
chains have one value, and an operator such as RESHAPE that needs its shape at compile time can
then read it.

Folded: registered, stateless operators whose inputs are all constants (or that look only at their
inputs' shapes: OpDef.shape_only), whose outputs are index or shape values (int32, int64, bool) of at
most FOLD_MAX_BYTES. Quantised and float arithmetic is never folded: its result depends on the
semantics chosen later (LiteRT or TFLite Micro), and a kernel computing it costs no flash for a
large result. The numpy reference computes the values, so a folded graph runs exactly as before."""
from __future__ import annotations

import dataclasses

import numpy as np

from arielml.errors import ArielError
from arielml.ir.graph import NO_TENSOR, Graph

FOLD_MAX_BYTES = 16 * 1024
FOLDABLE_DTYPES = ("int32", "int64", "bool")


def fold_constants(graph: Graph) -> Graph:
    from arielml.ops.registry import LITERT, REGISTRY
    tensors = list(graph.tensors)
    kept, folded = [], 0
    protected = set(graph.inputs)
    for node in graph.nodes:
        opdef = REGISTRY.get(node.op)
        outputs = [tensors[t] for t in node.outputs if 0 <= t < len(tensors)]
        inputs = [tensors[t] for t in node.inputs if t != NO_TENSOR and 0 <= t < len(tensors)]
        foldable = (opdef is not None and not opdef.state_inputs and opdef.internal_state is None
                    and len(outputs) == len(node.outputs) and len(inputs) == len([t for t in node.inputs if t != NO_TENSOR])
                    and not any(t.variable for t in inputs) and not any(t in protected for t in node.outputs)
                    and (opdef.shape_only or all(t.is_constant for t in inputs))
                    and all(t.dtype in FOLDABLE_DTYPES and not t.is_constant and t.nbytes <= FOLD_MAX_BYTES
                            for t in outputs))
        if foldable:
            current = dataclasses.replace(graph, tensors=tuple(tensors))
            try:  # an operator the verifier will refuse (bad shapes, unsupported variant) stays for it to say so
                opdef.check(node, current)
                params = opdef.prepare(node, current, LITERT)
                values = opdef.evaluate(params, [None if t == NO_TENSOR else tensors[t].data for t in node.inputs])
            except (ArielError, ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError):
                values = None
            if values is not None and len(values) == len(node.outputs) and all(
                    np.asarray(v).dtype == tensors[t].np_dtype and tuple(np.shape(v)) == tensors[t].shape
                    for v, t in zip(values, node.outputs)):
                for v, t in zip(values, node.outputs):
                    data = np.array(v, dtype=tensors[t].np_dtype)
                    data.setflags(write=False)
                    tensors[t] = dataclasses.replace(tensors[t], data=data)
                folded += 1
                continue
        kept.append(node)
    if not folded:
        return graph
    note = f"{folded} operator(s) computing shape or index values from constants were folded into constants"
    return dataclasses.replace(graph, tensors=tuple(tensors), nodes=tuple(kept), notes=graph.notes + (note,))
