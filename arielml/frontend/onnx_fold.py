"""Load-time folding for the ONNX frontend: nodes whose inputs are all constants (shape arithmetic:
Shape -> Gather -> Concat -> Reshape's shape input, Constant, Cast of constants, ...) are evaluated in
numpy into constants, and BatchNormalization is folded into the Conv or Gemm before it.

BatchNormalization folding follows onnxruntime's ConvBNFusion (default session options apply it, so
this is the arithmetic users get): in float32, scale = gamma / sqrt(var + epsilon), W' = W * scale per
output channel, B' = (B - mean) * scale + beta."""
from __future__ import annotations

import numpy as np

CONSTANT_FOLDABLE = ("Shape", "Gather", "Concat", "Unsqueeze", "Squeeze", "Cast", "Reshape", "Slice", "Add",
                     "Sub", "Mul", "Div", "Identity", "ConstantOfShape", "Range", "Flatten", "Transpose", "Neg",
                     "Size")


def fold_batch_norms(nodes: list, builder) -> list:
    """Fold each BatchNormalization whose input is the only use of a Conv/Gemm output with constant
    weights into that node's weights and bias (new constants in builder.constants)."""
    import onnx
    uses: dict[str, int] = {}
    for node in nodes:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    producers = {out: node for node in nodes for out in node.output}
    dropped, replaced = set(), {}
    for node in nodes:
        if node.op_type != "BatchNormalization" or len(node.output) != 1:
            continue
        producer = producers.get(node.input[0])
        if producer is None or producer.op_type not in ("Conv", "Gemm") or uses.get(node.input[0], 0) != 1:
            continue
        stats = [builder.constants.get(n) for n in node.input[1:5]]
        weights = builder.constants.get(producer.input[1])
        if any(s is None for s in stats) or weights is None or weights.dtype != np.float32:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in producer.attribute}
        if producer.op_type == "Gemm" and (attrs.get("transB", 0) != 1 or attrs.get("alpha", 1.0) != 1.0):
            continue  # Gemm weights (N, K) only: the output channel is the first axis
        epsilon = np.float32(next((onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "epsilon"),
                                  1e-5))
        gamma, beta, mean, var = (np.asarray(s, np.float32) for s in stats)
        scale = (gamma / np.sqrt(var + epsilon)).astype(np.float32)
        bias_name = producer.input[2] if len(producer.input) > 2 and producer.input[2] else None
        bias = builder.constants.get(bias_name) if bias_name else np.zeros(weights.shape[0], np.float32)
        if bias is None:
            continue
        new_w = (weights * scale.reshape((-1,) + (1,) * (weights.ndim - 1))).astype(np.float32)
        new_b = ((bias.astype(np.float32) - mean) * scale + beta).astype(np.float32)
        w_name, b_name = producer.output[0] + "/bn_weights", producer.output[0] + "/bn_bias"
        builder.constants[w_name], builder.constants[b_name] = new_w, new_b
        new_producer = onnx.NodeProto()
        new_producer.CopyFrom(producer)
        del new_producer.input[:]
        new_producer.input.extend([producer.input[0], w_name, b_name])
        del new_producer.output[:]
        new_producer.output.extend([node.output[0]])
        replaced[id(producer)] = new_producer
        dropped.add(id(node))
    if dropped:
        builder.notes.append(f"{len(dropped)} BatchNormalization node(s) folded into the Conv/Gemm before them")
    return [replaced.get(id(n), n) for n in nodes if id(n) not in dropped]


def fold_node(builder, node, attrs: dict) -> bool:
    """Evaluate a node whose inputs are all constants (Shape needs only its input's static shape).
    Returns False when it cannot, and the node is converted into operators instead."""
    op = node.op_type
    if op not in CONSTANT_FOLDABLE:
        return False
    if op in ("Shape", "Size"):
        shape = np.array(builder.onnx_shape(node.input[0]), np.int64)
        start, end = attrs.get("start", 0), attrs.get("end", None)
        result = shape[start:end] if op == "Shape" else np.array(shape.prod(), np.int64)
        builder.constants[node.output[0]] = result
        return True
    inputs = [builder.constant(n) if n else None for n in node.input]
    if any(n and a is None for n, a in zip(node.input, inputs)):
        return False
    # float arithmetic is not folded here (onnxruntime computes it at run time, in float32, like us);
    # integer shape arithmetic is
    if op in ("Add", "Sub", "Mul", "Div", "Neg", "Range") and any(a is not None and a.dtype.kind == "f"
                                                                  for a in inputs):
        return False
    value = _evaluate(op, inputs, attrs)
    if value is None:
        return False
    builder.constants[node.output[0]] = np.asarray(value)
    return True


def _evaluate(op: str, x: list, attrs: dict):
    from arielml.frontend.onnx import ONNX_DTYPES
    if op == "Gather":
        return np.take(x[0], x[1].astype(np.int64), axis=attrs.get("axis", 0))
    if op == "Concat":
        return np.concatenate(x, axis=attrs.get("axis", 0))
    if op == "Unsqueeze":
        axes = attrs.get("axes") if x[1:] == [] or x[1] is None else x[1].tolist()
        result = x[0]
        rank = x[0].ndim + len(axes)
        for axis in sorted(a % rank for a in axes):
            result = np.expand_dims(result, axis)
        return result
    if op == "Squeeze":
        axes = attrs.get("axes") if len(x) < 2 or x[1] is None else x[1].tolist()
        return np.squeeze(x[0], axis=None if axes is None else tuple(a % x[0].ndim for a in axes))
    if op == "Cast":
        to = ONNX_DTYPES.get(attrs.get("to"))
        return None if to is None else x[0].astype(to)
    if op == "Reshape":
        return x[0].reshape(resolve_reshape(x[0].shape, x[1], attrs.get("allowzero", 0)))
    if op == "Flatten":
        axis = int(attrs.get("axis", 1))
        axis = axis + x[0].ndim if axis < 0 else axis
        return x[0].reshape(int(np.prod(x[0].shape[:axis])), -1)
    if op == "Transpose":
        return np.transpose(x[0], attrs.get("perm"))
    if op == "Slice":
        starts, ends = x[1], x[2]
        axes = x[3] if len(x) > 3 and x[3] is not None else np.arange(len(starts))
        steps = x[4] if len(x) > 4 and x[4] is not None else np.ones(len(starts), np.int64)
        index = [slice(None)] * x[0].ndim
        for s, e, a, st in zip(starts, ends, axes, steps):
            index[int(a)] = slice(int(s), int(e), int(st))
        return x[0][tuple(index)]
    if op == "Identity":
        return x[0]
    if op == "ConstantOfShape":
        fill = x[1] if len(x) > 1 else None
        value = attrs.get("value")
        from onnx import numpy_helper
        array = numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
        return np.full(tuple(int(d) for d in x[0]), array.reshape(-1)[0], dtype=array.dtype) if fill is None else None
    if op == "Range":
        return np.arange(x[0], x[1], x[2]).astype(x[0].dtype)
    if op == "Neg":
        return -x[0]
    if op in ("Add", "Sub", "Mul", "Div"):
        a, b = x
        if op == "Div":  # integer division in ONNX truncates toward zero
            return (np.trunc(a / b)).astype(np.result_type(a, b))
        return {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply}[op](a, b)
    return None


def resolve_reshape(in_shape, target, allowzero: int = 0) -> tuple[int, ...]:
    """ONNX Reshape's target: 0 copies the input's dimension (unless allowzero), -1 is inferred."""
    dims = [int(d) for d in np.asarray(target).reshape(-1)]
    if not allowzero:
        dims = [in_shape[i] if d == 0 and i < len(in_shape) else d for i, d in enumerate(dims)]
    if dims.count(-1) == 1:
        known = int(np.prod([d for d in dims if d != -1]))
        total = int(np.prod(in_shape))
        dims[dims.index(-1)] = total // known if known else 0
    return tuple(dims)
