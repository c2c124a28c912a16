"""One converter per ONNX op type: (builder, node, attributes) -> IR operators (see frontend/onnx.py
for the layout rules). Converters refuse variants they do not implement with an
UnsupportedOperatorError naming the node (builder.unsupported)."""
from __future__ import annotations

import numpy as np

from arielml.frontend.onnx import NHWC, Builder
from arielml.frontend.onnx_fold import fold_node, resolve_reshape
from arielml.ir import NO_TENSOR

CONVERTERS: dict = {}


def converter(*op_types: str):
    def register(fn):
        for op_type in op_types:
            CONVERTERS[op_type] = fn
        return fn
    return register


def _identity(rank: int) -> tuple[int, ...]:
    return tuple(range(rank))


def _pairs(values, count: int, default: int) -> list[int]:
    return [int(v) for v in values] if values else [default] * count


# ---- constants, aliases, shape arithmetic ------------------------------------------------------------

@converter("Constant")
def _constant(b: Builder, node, attrs) -> None:
    if "value" in attrs:
        from arielml.frontend.onnx import _to_array
        b.constants[node.output[0]] = _to_array(attrs["value"])
        return
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                       ("value_ints", np.int64)):
        if key in attrs:
            b.constants[node.output[0]] = np.array(attrs[key], dtype)
            return
    raise b.unsupported(f"attributes {sorted(attrs)} are not supported")


@converter("Identity", "Dropout")
def _identity_node(b: Builder, node, attrs) -> None:
    if node.op_type == "Dropout" and len(node.input) > 2 and node.input[2]:
        training = b.constant(node.input[2])
        if training is None or bool(np.asarray(training).reshape(-1)[0]):
            raise b.unsupported("Dropout in training mode is not supported (inference only)")
    if node.input[0] in b.constants:
        b.constants[node.output[0]] = b.constants[node.input[0]]
        return
    value = b.value(node.input[0])
    b.set_value(node.output[0], value.index, value.perm)
    if len(node.output) > 1 and node.output[1]:
        raise b.unsupported("Dropout's mask output is not supported")


def _folding(fallback):
    """Fold the node when its inputs are constants, else convert it with `fallback`."""
    def convert(b: Builder, node, attrs) -> None:
        if not fold_node(b, node, attrs):
            fallback(b, node, attrs)
    return convert


def _not_foldable(b: Builder, node, attrs) -> None:
    raise b.unsupported("only supported on constant inputs (shape arithmetic)")


for _op in ("Shape", "Gather", "Cast", "Slice", "ConstantOfShape", "Range", "Size", "Neg"):
    CONVERTERS[_op] = _folding(_not_foldable)


# ---- data movement -------------------------------------------------------------------------------------

def _reshape_to(b: Builder, node, shape) -> None:
    x = b.plain(node.input[0])
    shape_index = b.add_constant(node.output[0] + "/shape", np.array(shape, np.int32))
    b.emit("RESHAPE", (x, shape_index), node.output[0], _identity(len(shape)), _reshape_options(shape))


def _reshape_options(shape):
    from arielml.ops.shape import ReshapeOptions
    return ReshapeOptions(new_shape=tuple(int(d) for d in shape))


def _reshape(b: Builder, node, attrs) -> None:
    target = b.constant(node.input[1])
    if target is None:
        raise b.unsupported("the target shape must be a constant (or constant-foldable shape arithmetic)")
    shape = b.onnx_shape(node.input[0])
    new_shape = resolve_reshape(shape, target, attrs.get("allowzero", 0))
    # a Reshape that flattens (N, C, H, W) to (N, C * H * W), as PyTorch's x.view(x.size(0), -1) exports
    if len(shape) == 4 and new_shape == (shape[0], int(np.prod(shape[1:]))) and \
            _flatten_into_weights(b, node, shape, new_shape):
        return
    _reshape_to(b, node, new_shape)


def _flatten(b: Builder, node, attrs) -> None:
    shape = b.onnx_shape(node.input[0])
    axis = int(attrs.get("axis", 1))
    axis = axis + len(shape) if axis < 0 else axis  # ONNX allows [-rank, rank]
    flat = (int(np.prod(shape[:axis])), int(np.prod(shape[axis:])))
    if axis == 1 and _flatten_into_weights(b, node, shape, flat):
        return
    _reshape_to(b, node, flat)


def _flatten_into_weights(b: Builder, node, shape, flat) -> bool:
    """Flatten of an NHWC tensor whose only readers are Gemm/MatMul with constant weights: the NHWC
    bytes are flattened as they are (a RESHAPE, no TRANSPOSE) and the readers' weight columns are
    permuted to that order instead (b.column_order). The usual PyTorch CNN head, Conv -> Flatten ->
    Linear, so needs no transpose; the products are the same, summed in another order."""
    value = b.value(node.input[0])
    readers = b.consumers.get(node.output[0], [])
    if (value.perm != NHWC or len(shape) != 4 or shape[1] == 1 or shape[2] * shape[3] == 1 or not readers
            or node.output[0] in b.graph_outputs):
        return False
    for reader in readers:
        weights = b.constant(reader.input[1]) if len(reader.input) > 1 else None
        if (reader.op_type not in ("Gemm", "MatMul") or reader.input[0] != node.output[0] or weights is None
                or weights.dtype != np.float32 or weights.ndim != 2 or reader.input[1] == node.output[0]
                or any(a.name == "transA" and a.i for a in reader.attribute)):
            return False
    n, c, h, w = shape
    # IR column j = (y * W + x) * C + ch holds ONNX column ch * H * W + y * W + x
    b.column_order[node.output[0]] = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
    shape_index = b.add_constant(node.output[0] + "/shape", np.array(flat, np.int32))
    b.emit("RESHAPE", (value.index, shape_index), node.output[0], (0, 1), _reshape_options(flat))
    return True


def _axes(b: Builder, node, attrs) -> list[int] | None:
    """The axes of Squeeze/Unsqueeze/Reduce*: the attribute (opsets before 13/18), or the constant
    second input that replaced it; None when neither is given."""
    axes = attrs.get("axes")
    if len(node.input) > 1 and node.input[1]:
        axes = b.constant(node.input[1])
        if axes is None:
            raise b.unsupported("axes must be constant")
        axes = axes.tolist()
    return axes


def _squeeze(b: Builder, node, attrs) -> None:
    shape = b.onnx_shape(node.input[0])
    axes = _axes(b, node, attrs)
    axes = [a % len(shape) for a in axes] if axes is not None else [i for i, d in enumerate(shape) if d == 1]
    _reshape_to(b, node, [d for i, d in enumerate(shape) if i not in axes])


def _unsqueeze(b: Builder, node, attrs) -> None:
    shape = list(b.onnx_shape(node.input[0]))
    axes = _axes(b, node, attrs)
    rank = len(shape) + len(axes)
    for axis in sorted(a % rank for a in axes):
        shape.insert(axis, 1)
    _reshape_to(b, node, shape)


CONVERTERS["Reshape"] = _folding(_reshape)
CONVERTERS["Flatten"] = _folding(_flatten)
CONVERTERS["Squeeze"] = _folding(_squeeze)
CONVERTERS["Unsqueeze"] = _folding(_unsqueeze)


def _transpose(b: Builder, node, attrs) -> None:
    """Free: the output is the same IR tensor under another perm (see frontend/onnx.py)."""
    value = b.value(node.input[0])
    rank = len(value.perm)
    t = [int(a) % rank for a in attrs.get("perm", list(reversed(range(rank))))]
    # Y = X.transpose(t); IR = X.transpose(p) = Y.transpose(q) with t[q[i]] = p[i]
    b.set_value(node.output[0], value.index, tuple(t.index(a) for a in value.perm))


CONVERTERS["Transpose"] = _folding(_transpose)


def _concat(b: Builder, node, attrs) -> None:
    from arielml.ops.shape import ConcatenationOptions
    computed = [n for n in node.input if n not in b.constants]
    rank = len(b.onnx_shape(node.input[0]))
    perm = b.value(computed[0]).perm if computed else _identity(rank)
    axis = attrs.get("axis", 0) % rank
    inputs = [b.in_layout(n, perm) for n in node.input]
    b.emit("CONCATENATION", inputs, node.output[0], perm, ConcatenationOptions(axis=perm.index(axis)))


CONVERTERS["Concat"] = _folding(_concat)


@converter("Pad")
def _pad(b: Builder, node, attrs) -> None:
    """constant -> PAD / PADV2, reflect -> MIRROR_PAD (REFLECT). On a quantised integer tensor ONNX pads
    with the raw value given (0 by default) where TFLite's PAD pads with the zero point: PADV2 with
    that raw value unless they agree."""
    from arielml.ops.rearrange import MirrorPadOptions
    mode = _text_attr(attrs.get("mode"), "constant")
    if mode not in ("constant", "reflect"):
        raise b.unsupported(f"mode {mode} is not supported (constant, reflect)")
    rank = len(b.onnx_shape(node.input[0]))
    pads = attrs.get("pads")
    if len(node.input) > 1 and node.input[1]:
        pads = b.constant(node.input[1])
        if pads is None:
            raise b.unsupported("pads must be constant")
    if len(node.input) > 3 and node.input[3]:
        raise b.unsupported("the axes input is not supported")
    pads = [int(p) for p in np.asarray(pads).reshape(-1)]
    fill = b.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if fill is None and "value" in attrs:  # opset < 11
        fill = np.array(attrs["value"], np.float32)
    perm = b.value(node.input[0]).perm
    x = b.in_layout(node.input[0], perm)
    paddings = np.array([[pads[a], pads[a + rank]] for a in perm], np.int32)
    inputs = [x, b.add_constant(node.output[0] + "/paddings", paddings)]
    if mode == "reflect":
        b.emit("MIRROR_PAD", inputs, node.output[0], perm, MirrorPadOptions(mode=0))
        return
    tensor = b.tensors[x]
    raw = float(np.asarray(fill).reshape(-1)[0]) if fill is not None else 0.0
    if b.is_shifted(node.input[0]):
        raw -= 128  # uint8 held as int8
    implicit = tensor.quant.single_zero_point if tensor.quant is not None and tensor.dtype != "float32" else 0
    op = "PAD"
    if raw != implicit:
        op = "PADV2"
        inputs.append(b.add_constant(node.output[0] + "/value", np.array(raw, tensor.dtype), quant=tensor.quant))
    b.emit(op, inputs, node.output[0], perm)


def _text_attr(value, default: str) -> str:
    return (value.decode() if isinstance(value, bytes) else value) if value is not None else default


# ---- elementwise ---------------------------------------------------------------------------------------

def _broadcast_layout(b: Builder, names) -> tuple[int, ...]:
    """The layout an elementwise node computes in: the computed inputs' common perm when they all have
    it and every constant can be broadcast in it, else ONNX's own order."""
    computed = [n for n in names if n not in b.constants]
    rank = max(len(b.onnx_shape(n)) for n in names)
    perms = {b.value(n).perm for n in computed}
    if len(perms) == 1:
        perm = perms.pop()
        if len(perm) == rank and all(len(b.onnx_shape(n)) == rank for n in computed):
            return perm
    return _identity(rank)


def _operand(b: Builder, name: str, perm: tuple[int, ...]) -> int:
    if name not in b.constants and len(b.onnx_shape(name)) != len(perm):
        return b.plain(name)  # a lower-rank operand: ONNX and TFLite both broadcast from the right
    if name in b.constants:
        array = b.constants[name]
        array = array.reshape((1,) * (len(perm) - array.ndim) + array.shape)
        if array.size == 1:  # a scalar broadcasts in any layout: keep it small
            array = array.reshape(())
            return b.add_constant(name + "/scalar", array)
        return b.add_constant(name + "/" + ("nhwc" if perm == NHWC else "b"), np.transpose(array, perm))
    return b.in_layout(name, perm)


def _binary(ir_op: str):
    def convert(b: Builder, node, attrs) -> None:
        from arielml.ops.binary_math import DivOptions
        from arielml.ops.elementwise import AddSubOptions, MulOptions
        if all(n in b.constants for n in node.input):
            if fold_node(b, node, attrs):
                return
            raise b.unsupported("float arithmetic on constants only is not supported")
        if len(node.input) != 2:
            if ir_op not in ("MAXIMUM", "MINIMUM") or not node.input:
                raise b.unsupported(f"{len(node.input)} inputs are not supported (2)")
            _variadic(b, node, attrs, convert)
            return
        if ir_op not in ("MAXIMUM", "MINIMUM") and not b.real_values and any(
                n not in b.constants and b.dtype(n) in ("int8", "uint8", "int16")
                and b.tensors[b.value(n).index].quant is not None for n in node.input):
            # ONNX computes on the stored integers (wrapping); TFLite's quantised kernels on real values
            raise b.unsupported(f"{node.op_type} of stored quantised integers is not supported (only inside "
                                "DequantizeLinear -> op -> QuantizeLinear)")
        perm = _broadcast_layout(b, node.input)
        inputs = [_operand(b, n, perm) for n in node.input]
        options = {"ADD": AddSubOptions(), "SUB": AddSubOptions(), "MUL": MulOptions(), "DIV": DivOptions()}.get(ir_op)
        b.emit(ir_op, inputs, node.output[0], perm, options)
    return convert


def _variadic(b: Builder, node, attrs, convert) -> None:
    """Max/Min of one input (a copy) or of three or more (a chain of two-input operators)."""
    import onnx
    if len(node.input) == 1:
        _identity_node(b, onnx.helper.make_node("Identity", [node.input[0]], [node.output[0]]), {})
        return
    current = node.input[0]
    for k, other in enumerate(node.input[1:], start=1):
        out = node.output[0] if k == len(node.input) - 1 else f"{node.output[0]}/partial{k}"
        convert(b, onnx.helper.make_node(node.op_type, [current, other], [out]), attrs)
        current = out


for _onnx_op, _ir_op in (("Add", "ADD"), ("Sub", "SUB"), ("Mul", "MUL"), ("Div", "DIV"), ("Max", "MAXIMUM"),
                         ("Min", "MINIMUM")):
    CONVERTERS[_onnx_op] = _binary(_ir_op)


def _raw_integer(b: Builder, index: int) -> bool:
    """An integer tensor whose ONNX operator works on the stored values (not on the real values of a
    DQ -> op -> Q group, onnx_quant.try_integer_op, which sets b.real_values)."""
    return b.tensors[index].dtype != "float32" and not b.real_values


def _raw_constant(b: Builder, name: str, value: float, like: int, onnx_value: str) -> int:
    """A raw integer constant of `like`'s type and quantisation (shifted when the value is a uint8 held as int8)."""
    tensor = b.tensors[like]
    raw = value - 128 if b.is_shifted(onnx_value) else value
    return b.add_constant(name, np.array(raw, tensor.dtype), quant=tensor.quant)


def _unary(ir_op: str):
    def convert(b: Builder, node, attrs) -> None:
        value = b.value(node.input[0])
        if _raw_integer(b, value.index):
            if ir_op != "RELU":
                raise b.unsupported(f"{node.op_type} of an integer tensor is not supported")
            # ONNX Relu of stored integers is max(q, 0); TFLite's int8 RELU clamps at the zero point
            zero = _raw_constant(b, node.output[0] + "/zero", 0, value.index, node.input[0])
            b.emit("MAXIMUM", (value.index, zero), node.output[0], value.perm)
            return
        b.emit(ir_op, (value.index,), node.output[0], value.perm)
    return convert


for _onnx_op, _ir_op in (("Relu", "RELU"), ("Sigmoid", "LOGISTIC"), ("Tanh", "TANH"), ("HardSwish", "HARD_SWISH"),
                         ("Abs", "ABS"), ("Sqrt", "SQRT"), ("Exp", "EXP"), ("Log", "LOG"), ("Sin", "SIN"),
                         ("Cos", "COS"), ("Floor", "FLOOR"), ("Ceil", "CEIL")):
    CONVERTERS[_onnx_op] = _unary(_ir_op)


@converter("LeakyRelu")
def _leaky_relu(b: Builder, node, attrs) -> None:
    from arielml.ops.activation import LeakyReluOptions
    value = b.value(node.input[0])
    alpha = float(np.float32(attrs.get("alpha", 0.01)))
    b.emit("LEAKY_RELU", (value.index,), node.output[0], value.perm, LeakyReluOptions(alpha=alpha))


def _scalar(b: Builder, node, position: int, attr: str, default):
    if len(node.input) > position and node.input[position]:
        array = b.constant(node.input[position])
        if array is None:
            raise b.unsupported(f"input {position} must be constant")
        return float(array.reshape(-1)[0])
    return attrs_default(attr, default)


def attrs_default(value, default):
    return default if value is None else value


@converter("Clip")
def _clip(b: Builder, node, attrs) -> None:
    low = _scalar(b, node, 1, attrs.get("min"), -np.inf)
    high = _scalar(b, node, 2, attrs.get("max"), np.inf)
    value = b.value(node.input[0])
    named = {(0.0, np.inf): "RELU", (0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1"}.get((low, high))
    if named is not None and b.tensors[value.index].dtype == "float32":
        b.emit(named, (value.index,), node.output[0], value.perm)
        return
    current, perm = value.index, value.perm
    for bound, op in ((low, "MAXIMUM"), (high, "MINIMUM")):
        if np.isfinite(bound):
            if b.tensors[value.index].dtype == "float32":
                limit = b.add_constant(f"{node.output[0]}/{op.lower()}", np.array(bound, np.float32))
            else:  # bounds of stored integers, in the tensor's own type and quantisation
                limit = _raw_constant(b, f"{node.output[0]}/{op.lower()}", bound, value.index, node.input[0])
            current = b.emit(op, (current, limit), node.output[0], perm)


@converter("HardSigmoid")
def _hard_sigmoid(b: Builder, node, attrs) -> None:
    """max(0, min(1, alpha * x + beta)): MUL, ADD, MAXIMUM, MINIMUM, each rounded to float32 as
    onnxruntime's kernel does."""
    from arielml.ops.elementwise import AddSubOptions, MulOptions
    value = b.value(node.input[0])
    out, perm = node.output[0], value.perm
    alpha = b.add_constant(out + "/alpha", np.array(attrs.get("alpha", 0.2), np.float32))
    beta = b.add_constant(out + "/beta", np.array(attrs.get("beta", 0.5), np.float32))
    zero = b.add_constant(out + "/zero", np.array(0.0, np.float32))
    one = b.add_constant(out + "/one", np.array(1.0, np.float32))
    t = b.emit("MUL", (value.index, alpha), out, perm, MulOptions())
    t = b.emit("ADD", (t, beta), out, perm, AddSubOptions())
    t = b.emit("MINIMUM", (t, one), out, perm)
    b.emit("MAXIMUM", (t, zero), out, perm)


def _softmax(ir_op: str):
    def convert(b: Builder, node, attrs) -> None:
        from arielml.ops.softmax import SoftmaxOptions
        rank = len(b.onnx_shape(node.input[0]))
        axis = attrs.get("axis", -1 if b.opset >= 13 else 1) % rank
        if b.opset < 13 and axis != rank - 1:
            raise b.unsupported("opset < 13 Softmax over a flattened axis range is supported only on the last axis")
        value = b.value(node.input[0])
        perm = value.perm if value.perm.index(axis) == rank - 1 else _identity(rank)
        if perm.index(axis) != rank - 1:
            raise b.unsupported(f"softmax over axis {axis} (not the last) is not supported")
        x = b.in_layout(node.input[0], perm)
        options = SoftmaxOptions(beta=1.0) if ir_op == "SOFTMAX" else None
        b.emit(ir_op, (x,), node.output[0], perm, options)
    return convert


CONVERTERS["Softmax"] = _softmax("SOFTMAX")
CONVERTERS["LogSoftmax"] = _softmax("LOG_SOFTMAX")


@converter("BatchNormalization")
def _batch_norm(b: Builder, node, attrs) -> None:
    """A BatchNormalization not folded into a Conv/Gemm (onnx_fold.py): y = x * s + t per channel
    (axis 1) with s = (1 / sqrt(var + epsilon)) * gamma, t = beta - mean * s computed in float32, each
    step rounded, as onnxruntime's kernel does (batch_norm.h: inv_std, new_scale, new_bias), then
    MUL and ADD."""
    from arielml.ops.elementwise import AddSubOptions, MulOptions
    stats = [b.constant(n) for n in node.input[1:5]]
    if any(s is None for s in stats) or len(node.output) > 1 and any(node.output[1:]):
        raise b.unsupported("only inference mode with constant statistics is supported")
    gamma, beta, mean, var = (np.asarray(s, np.float32) for s in stats)
    root = np.sqrt((var + np.float32(attrs.get("epsilon", 1e-5))).astype(np.float32)).astype(np.float32)
    scale = ((np.float32(1) / root).astype(np.float32) * gamma).astype(np.float32)
    shift = (beta - (mean * scale).astype(np.float32)).astype(np.float32)
    rank = len(b.onnx_shape(node.input[0]))
    per_channel = (1, -1) + (1,) * (rank - 2)
    b.constants[node.output[0] + "/bn_scale"] = scale.reshape(per_channel)
    b.constants[node.output[0] + "/bn_shift"] = shift.reshape(per_channel)
    perm = _broadcast_layout(b, [node.input[0], node.output[0] + "/bn_scale"])
    x = b.in_layout(node.input[0], perm)
    t = b.emit("MUL", (x, _operand(b, node.output[0] + "/bn_scale", perm)), node.output[0], perm, MulOptions())
    b.emit("ADD", (t, _operand(b, node.output[0] + "/bn_shift", perm)), node.output[0], perm, AddSubOptions())


# ---- matrix products -----------------------------------------------------------------------------------

def _fully_connected(b: Builder, x_name: str, weights: np.ndarray, bias, out_name: str) -> None:
    """x (..., K) times weights (N, K) (+ bias (N,)) -> (..., N) as FULLY_CONNECTED."""
    from arielml.ops.fully_connected import FullyConnectedOptions
    rank = len(b.onnx_shape(x_name))
    x = b.plain(x_name)
    if x_name in b.column_order:  # the input's columns are in NHWC order (_flatten_into_weights)
        weights = weights[:, b.column_order[x_name]]
    w = b.add_constant(out_name + "/weights", np.ascontiguousarray(weights, np.float32))
    bias_index = b.add_constant(out_name + "/bias", np.asarray(bias, np.float32)) if bias is not None else NO_TENSOR
    b.emit("FULLY_CONNECTED", (x, w, bias_index), out_name, _identity(rank),
           FullyConnectedOptions(keep_num_dims=rank > 2))


@converter("Gemm")
def _gemm(b: Builder, node, attrs) -> None:
    weights = b.constant(node.input[1])
    if weights is None or attrs.get("transA", 0):
        raise b.unsupported("only constant B and transA=0 are supported")
    if len(b.onnx_shape(node.input[0])) != 2:
        raise b.unsupported("A must be 2-D")
    weights = weights if attrs.get("transB", 0) else weights.T  # FULLY_CONNECTED's (N, K)
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    if alpha != 1.0:
        weights = (weights * np.float32(alpha)).astype(np.float32)
        b.notes.append("Gemm alpha != 1 is folded into the weights (float rounding may differ from onnxruntime)")
    bias = None
    if len(node.input) > 2 and node.input[2]:
        c = b.constant(node.input[2])
        n = weights.shape[0]
        if c is None or c.size not in (1, n) or (c.ndim == 2 and c.shape[0] != 1):
            raise b.unsupported("C must be a constant of N elements (or one)")
        bias = np.broadcast_to(c.reshape(-1), (n,)).astype(np.float32)
        if beta != 1.0:
            bias = (bias * np.float32(beta)).astype(np.float32)
    _fully_connected(b, node.input[0], weights, bias, node.output[0])


@converter("MatMul")
def _matmul(b: Builder, node, attrs) -> None:
    weights = b.constant(node.input[1])
    if weights is not None and weights.ndim == 2 and weights.dtype == np.float32:
        _fully_connected(b, node.input[0], weights.T, None, node.output[0])
        return
    from arielml.ops.batch_matmul import BatchMatMulOptions
    rank = len(b.onnx_shape(node.input[0]))
    b.emit("BATCH_MATMUL", (b.plain(node.input[0]), b.plain(node.input[1])), node.output[0], _identity(rank),
           BatchMatMulOptions())




# ---- reductions, slicing, casts, gathers ---------------------------------------------------------------

def _reduce(ir_op: str):
    def convert(b: Builder, node, attrs) -> None:
        from arielml.ops.reduce import ReducerOptions
        rank = len(b.onnx_shape(node.input[0]))
        axes = _axes(b, node, attrs)
        if not axes:
            if attrs.get("noop_with_empty_axes", 0):
                _identity_node(b, node, {})
                return
            axes = list(range(rank))
        axes = sorted({int(a) % rank for a in axes})
        keep = bool(attrs.get("keepdims", 1))
        value = b.value(node.input[0])
        perm = value.perm
        ir_axes = b.add_constant(node.output[0] + "/axes", np.array([perm.index(a) for a in axes], np.int32))
        if keep:
            out_perm = perm
        else:  # the kept ONNX axes, renumbered, in the IR's order
            kept = [a for a in perm if a not in axes]
            out_perm = tuple(sorted(kept).index(a) for a in kept)
        b.emit(ir_op, (value.index, ir_axes), node.output[0], out_perm, ReducerOptions(keep_dims=keep))
    return convert


for _onnx_op, _ir_op in (("ReduceMean", "MEAN"), ("ReduceMax", "REDUCE_MAX"), ("ReduceMin", "REDUCE_MIN"),
                         ("ReduceSum", "SUM")):
    CONVERTERS[_onnx_op] = _reduce(_ir_op)


def _strided_slice(b: Builder, source: str, out_name: str, starts, ends, axes, steps) -> None:
    """ONNX Slice semantics (starts/ends clamped per axis) as one STRIDED_SLICE in the input's layout."""
    from arielml.ops.slice import StridedSliceOptions
    shape = b.onnx_shape(source)
    rank = len(shape)
    value = b.value(source)
    begin, end, stride = [0] * rank, list(shape), [1] * rank
    end_mask = 0
    for s, e, a, st in zip(starts, ends, axes, steps):
        a, s, e, st = int(a) % rank, int(s), int(e), int(st)
        if st == 0:
            raise b.unsupported("a step of 0 is not allowed")
        dim = shape[a]
        s = s + dim if s < 0 else s
        e = e + dim if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), dim), min(max(e, 0), dim)
        else:
            s, e = min(max(s, -1), dim - 1), min(max(e, -1), dim - 1)
        begin[a], end[a], stride[a] = s, e, st
        if st < 0 and e < 0:  # up to and including index 0: TFLite reads a negative end as from the back
            end_mask |= 1 << value.perm.index(a)
    ir = lambda v: np.array([v[a] for a in value.perm], np.int32)  # noqa: E731
    inputs = (value.index, b.add_constant(out_name + "/begin", ir(begin)), b.add_constant(out_name + "/end", ir(end)),
              b.add_constant(out_name + "/strides", ir(stride)))
    b.emit("STRIDED_SLICE", inputs, out_name, value.perm, StridedSliceOptions(end_mask=end_mask))


def _slice(b: Builder, node, attrs) -> None:
    if b.opset < 10:
        starts, ends = attrs["starts"], attrs["ends"]
        axes, steps = attrs.get("axes", list(range(len(starts)))), [1] * len(starts)
    else:
        consts = [b.constant(n) if n else None for n in list(node.input[1:]) + [""] * (5 - len(node.input))]
        if any(n and c is None for n, c in zip(node.input[1:], consts)):
            raise b.unsupported("starts, ends, axes and steps must be constant")
        starts, ends = consts[0].tolist(), consts[1].tolist()
        axes = consts[2].tolist() if consts[2] is not None else list(range(len(starts)))
        steps = consts[3].tolist() if consts[3] is not None else [1] * len(starts)
    _strided_slice(b, node.input[0], node.output[0], starts, ends, axes, steps)


CONVERTERS["Slice"] = _folding(_slice)


@converter("Split")
def _split(b: Builder, node, attrs) -> None:
    shape = b.onnx_shape(node.input[0])
    axis = int(attrs.get("axis", 0)) % len(shape)
    sizes = attrs.get("split")
    if len(node.input) > 1 and node.input[1]:
        sizes = b.constant(node.input[1])
        if sizes is None:
            raise b.unsupported("split sizes must be constant")
        sizes = sizes.tolist()
    if not sizes:
        count = int(attrs.get("num_outputs", len(node.output)))
        chunk = -(-shape[axis] // count)
        sizes = [min(chunk, shape[axis] - k * chunk) for k in range(count)]
    start = 0
    for out, size in zip(node.output, sizes):
        if out:
            _strided_slice(b, node.input[0], out, [start], [start + int(size)], [axis], [1])
        start += int(size)


def _cast(b: Builder, node, attrs) -> None:
    from arielml.frontend.onnx import ONNX_DTYPES
    to = ONNX_DTYPES.get(attrs.get("to"))
    if to is None:
        raise b.unsupported(f"cast to ONNX type {attrs.get('to')} is not supported")
    value = b.value(node.input[0])
    if b.tensors[value.index].dtype == to:
        b.set_value(node.output[0], value.index, value.perm)
        return
    b.emit("CAST", (value.index,), node.output[0], value.perm, dtype=to)


CONVERTERS["Cast"] = _folding(_cast)


def _gather(b: Builder, node, attrs) -> None:
    from arielml.ops.gather import GatherOptions
    indices = b.constant(node.input[1])
    if indices is None:
        raise b.unsupported("the indices must be constant")
    shape = b.onnx_shape(node.input[0])
    axis = int(attrs.get("axis", 0)) % len(shape)
    indices = np.where(indices < 0, indices + shape[axis], indices).astype(np.int32)
    x = b.plain(node.input[0])
    index = b.add_constant(node.output[0] + "/indices", indices)
    out_rank = len(shape) - 1 + indices.ndim
    b.emit("GATHER", (x, index), node.output[0], tuple(range(out_rank)), GatherOptions(axis=axis))


CONVERTERS["Gather"] = _folding(_gather)


# ---- quantised (QDQ): integer patterns first, float otherwise (frontend/onnx_quant.py) ---------------

def _install_quantised() -> None:
    from arielml.frontend import onnx_quant
    CONVERTERS["DequantizeLinear"] = onnx_quant.dequantize_linear
    CONVERTERS["QuantizeLinear"] = onnx_quant.quantize_linear
    CONVERTERS["QLinearConv"] = onnx_quant.qlinear_conv
    CONVERTERS["QLinearMatMul"] = onnx_quant.qlinear_matmul
    CONVERTERS["QGemm"] = onnx_quant.qgemm
    onnx_quant.install(CONVERTERS)
    from arielml.frontend import onnx_integer
    onnx_integer.install(CONVERTERS)
    for op_type in onnx_quant.INTEGER_OPS:
        float_convert = CONVERTERS[op_type]
        CONVERTERS[op_type] = _integer_first(
            lambda b, node, attrs, convert=float_convert: onnx_quant.try_integer_op(b, node, attrs, convert),
            float_convert)
    for op_type in ("Conv", "Gemm", "MatMul"):
        CONVERTERS[op_type] = _integer_first(onnx_quant.try_quantized_conv_or_fc, CONVERTERS[op_type])
    for op_type in onnx_quant.MOVERS:
        float_convert = CONVERTERS[op_type]
        CONVERTERS[op_type] = _integer_first(
            lambda b, node, attrs, convert=float_convert: onnx_quant.try_integer_mover(b, node, attrs, convert),
            float_convert)


def _integer_first(integer, float_convert):
    def convert(b: Builder, node, attrs) -> None:
        if not integer(b, node, attrs):
            float_convert(b, node, attrs)
    return convert


# the windowed operators (Conv, pools, Resize, ConvTranspose) register themselves into CONVERTERS;
# the quantised wrappers go around the finished table
from arielml.frontend import onnx_windows  # noqa: E402,F401

_install_quantised()
