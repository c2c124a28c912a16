"""QDQ models (QuantizeLinear / DequantizeLinear around float operators) into integer operators.

  - DequantizeLinear of a constant (weights, int32 bias) keeps the integer data and its scales
    (builder.quantized) beside the dequantized float32 value (builder.constants, for float uses).
  - DequantizeLinear of a computed integer tensor is a *pending* float view (builder.dequantized):
    an integer pattern reads the integer tensor directly; anything else gets a DEQUANTIZE node.
  - DQ -> Conv / Gemm / MatMul -> [Relu] -> Q becomes an int8 CONV_2D / DEPTHWISE_CONV_2D /
    FULLY_CONNECTED with the Q's scale and zero point on its output (Relu fused as the activation,
    a clamp at the zero point: onnxruntime drops such a Relu, the Q clamps alike).
  - DQ -> MaxPool / Reshape / Flatten / Transpose / Squeeze -> Q with the same scale and zero point
    runs on the integers (these only move or compare values; onnxruntime drops these Q/DQ pairs too).
  - Any other QuantizeLinear is a QUANTIZE node.

Arithmetic: by default the integer operators requantise as arielml's kernels do (TFLite's fixed-point
multiplier and shift); under --semantics onnxruntime they take onnxruntime's arithmetic (float32 scale,
half to even, and the QLinear kernels' formulas; onnx_ort.py records what onnxruntime fuses;
docs/semantics.md, "ONNX Runtime"). The two agree except near rounding ties.
Int8 weights (zero point 0, per-tensor or per-channel) with int8 or uint8 activations are lowered;
a uint8 activation is held as int8 with its zero point moved by -128 (the same real values, exactly;
builder.shifted_tensors). uint8 weights and weights with a non-zero zero point are held as int8 w - zp
(exact), or, where some w - zp is outside [-127, 127], int8 with one zero point that the FULLY_CONNECTED
kernels subtract (convolutions: refused by name)."""
from __future__ import annotations

import dataclasses

import numpy as np

from arielml.frontend.onnx import NHWC, Builder
from arielml.ir import NO_TENSOR, QuantParams
from arielml.ops.common import PADDING_VALID

RELU_ACTIVATION = 1  # TFLite's fused activation codes: RELU 1, RELU_N1_TO_1 2, RELU6 3


def _params(b: Builder, node, axis_rank: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    scale = b.constant(node.input[1])
    zero_point = b.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if scale is None or (len(node.input) > 2 and node.input[2] and zero_point is None):
        raise b.unsupported("scale and zero point must be constants")
    if zero_point is None:
        zero_point = np.zeros(scale.shape, np.uint8)  # ONNX's default zero point type is uint8
    return scale.astype(np.float32), zero_point, 0


def quant_params(b: Builder, node, rank: int, shift_uint8: bool = False) -> QuantParams:
    """The node's (scale, zero point) inputs; with shift_uint8 a uint8 zero point is moved by -128
    (uint8 values are held as int8: q - 128)."""
    scale, zero_point, _ = _params(b, node)
    if shift_uint8 and zero_point.dtype == np.uint8:
        zero_point = zero_point.astype(np.int32) - 128
    axis = 0
    if scale.size > 1:
        axis = int(next((a.i for a in node.attribute if a.name == "axis"), 1)) % max(rank, 1)
    zps = np.broadcast_to(zero_point.reshape(-1), scale.reshape(-1).shape)
    return QuantParams(scale=tuple(float(s) for s in scale.reshape(-1)), zero_point=tuple(int(z) for z in zps),
                       axis=axis)


def dequantize_linear(b: Builder, node, attrs) -> None:
    source = node.input[0]
    if source in b.constants:
        data = b.constants[source]
        q = quant_params(b, node, data.ndim)
        scale = np.array(q.scale, np.float32)
        zero_point = np.array(q.zero_point, np.int64)
        if len(q.scale) > 1:
            shape = [1] * data.ndim
            shape[q.axis] = -1
            scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
        b.quantized[node.output[0]] = (data, q)
        centred = (data.astype(np.int64) - zero_point).astype(np.float32)
        b.constants[node.output[0]] = (centred * scale).astype(np.float32)
        return
    value = b.value(source)
    if value.index in b.inputs and b.tensors[value.index].quant is None:
        _quantised_graph_input(b, node, source)
    q = quant_params(b, node, len(b.onnx_shape(source)), shift_uint8=b.is_shifted(source))
    tensor = b.tensors[b.value(source).index]
    if tensor.quant != q:
        raise b.unsupported(f"dequantises '{source}' with parameters other than those it was quantised with")
    b.dequantized[node.output[0]] = source


def _quantised_graph_input(b: Builder, node, source: str) -> None:
    """An int8 or uint8 graph input read by DequantizeLinear: it carries that scale and zero point.
    A uint8 input is moved to int8 (zero point - 128) by a QUANTIZE, exact, as the int8 kernels take it."""
    import dataclasses
    value = b.value(source)
    tensor = b.tensors[value.index]
    if tensor.dtype not in ("int8", "uint8"):
        raise b.unsupported(f"graph input '{source}' of type {tensor.dtype} cannot be dequantised (int8, uint8)")
    q = quant_params(b, node, len(tensor.shape))
    if q.per_channel:
        raise b.unsupported("per-axis quantisation of a graph input is not supported")
    b.tensors[value.index] = dataclasses.replace(tensor, quant=q)
    if tensor.dtype == "uint8":
        b.emit("QUANTIZE", (value.index,), source, value.perm, dtype="int8",
               quant=QuantParams(q.scale, tuple(z - 128 for z in q.zero_point), 0))
        b.mark_shifted(source)


def quantize_linear(b: Builder, node, attrs) -> None:
    if node.input[0] in b.constants:
        _fold_quantize_linear(b, node)
        return
    rank = len(b.onnx_shape(node.input[0]))
    q = quant_params(b, node, rank, shift_uint8=True)
    if q.per_channel:
        raise b.unsupported("per-axis quantisation of activations is not supported")
    dtype = output_dtype(b, node)
    if dtype not in ("int8", "uint8"):
        raise b.unsupported(f"quantisation to {dtype} is not supported (int8, uint8)")
    value = b.value(node.input[0])
    # uint8 is held as int8 with zero point - 128: clamp(round(x / s) + z, 0, 255) - 128 is
    # clamp(round(x / s) + z - 128, -128, 127), the same real values
    b.emit("QUANTIZE", (value.index,), node.output[0], value.perm, dtype="int8", quant=q)
    if dtype == "uint8":
        b.mark_shifted(node.output[0])


def _fold_quantize_linear(b: Builder, node) -> None:
    """QuantizeLinear of a constant (weights that load-time folding made constant, e.g. a reshaped
    initializer before a MatMul) becomes a constant integer tensor, so the DequantizeLinear after it
    gives the weights as from an integer initializer. Rounding is QuantizeLinear's: x / scale in
    float32, half to even, plus the zero point, saturated to the output type."""
    data = b.constants[node.input[0]]
    if data.dtype != np.float32:
        raise b.unsupported(f"QuantizeLinear of a {data.dtype} constant (float32)")
    scale, zero_point, _ = _params(b, node)
    dtype = str(zero_point.dtype)
    if dtype not in ("int8", "uint8"):
        raise b.unsupported(f"quantisation to {dtype} is not supported (int8, uint8)")
    if scale.size > 1:  # per-axis: scale and zero point along `axis` (default 1)
        axis = int(next((a.i for a in node.attribute if a.name == "axis"), 1)) % max(data.ndim, 1)
        shape = [1] * data.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    info = np.iinfo(dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.rint(data / scale)  # float32 division, then half to even (np.rint)
    values = np.clip(scaled.astype(np.float64) + zero_point.astype(np.float64), info.min, info.max)
    b.constants[node.output[0]] = values.astype(dtype)


def output_dtype(b: Builder, node) -> str:
    """A QuantizeLinear's output type: its zero point's (uint8 when it has none, as ONNX says)."""
    zero_point = b.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros((), np.uint8)
    return str(zero_point.dtype)


# ---- patterns --------------------------------------------------------------------------------------

def _quantize_after(b: Builder, name: str, allow_relu: bool):
    """The QuantizeLinear that is the only consumer of `name` (through one Relu, or a Clip to [0, 6],
    [0, inf) or [-1, 1], if allowed): -> (q_node, TFLite fused activation code, [nodes to skip]) or None."""
    users = b.consumers.get(name, [])
    if len(users) != 1 or name in b.graph_outputs:
        return None
    user = users[0]
    if user.op_type == "QuantizeLinear":
        return user, 0, [user]
    activation = _fusable_activation(b, user) if allow_relu else None
    if activation is not None:
        after = _quantize_after(b, user.output[0], False)
        if after is not None:
            return after[0], activation, [user] + after[2]
    return None


def _fusable_activation(b: Builder, node) -> int | None:
    if node.op_type == "Relu":
        return RELU_ACTIVATION
    if node.op_type != "Clip":
        return None
    bounds = []
    for position, attr, default in ((1, "min", -np.inf), (2, "max", np.inf)):
        if len(node.input) > position and node.input[position]:
            value = b.constant(node.input[position])
            if value is None:
                return None
            bounds.append(float(value.reshape(-1)[0]))
        else:
            bounds.append(float(next((a.f for a in node.attribute if a.name == attr), default)))
    return {(0.0, np.inf): RELU_ACTIVATION, (-1.0, 1.0): 2, (0.0, 6.0): 3}.get(tuple(bounds))


def _integer_source(b: Builder, name: str):
    """The computed int8/uint8 ONNX value a pending DequantizeLinear reads, or None."""
    return b.dequantized.get(name)


def try_quantized_conv_or_fc(b: Builder, node, attrs) -> bool:
    """DQ(x) -> Conv/Gemm/MatMul(DQ(w), DQ(b)) -> [Relu] -> Q as one integer operator."""
    x_int = _integer_source(b, node.input[0])
    w_name = node.input[1]
    if x_int is None or w_name not in b.quantized:
        return False
    after = _quantize_after(b, node.output[0], allow_relu=True)
    if after is None:
        return False
    q_node, relu, skipped = after
    x_tensor = b.tensors[b.value(x_int).index]
    weights, w_quant = b.quantized[w_name]
    out_dtype = output_dtype(b, q_node)
    if weights.dtype not in (np.int8, np.uint8) or out_dtype not in ("int8", "uint8"):
        raise b.unsupported("only int8/uint8 weights with int8/uint8 activations are lowered to integers so far "
                            f"(weights {weights.dtype}, output {out_dtype})")
    weights, w_quant = centred_weights(b, weights, w_quant, conv=node.op_type == "Conv")
    out_quant = quant_params(b, q_node, 4, shift_uint8=True)
    bias = None
    if len(node.input) > 2 and node.input[2]:
        if node.input[2] not in b.quantized or b.quantized[node.input[2]][0].dtype != np.int32:
            raise b.unsupported("the bias of a quantised Conv/Gemm must be a dequantised int32 constant")
        bias_data, bias_quant = b.quantized[node.input[2]]
        expected = np.float32(x_tensor.quant.single_scale) * np.array(w_quant.scale, np.float32)
        if any(bias_quant.zero_point) or not np.allclose(np.broadcast_to(bias_quant.scale, expected.shape), expected,
                                                         rtol=1e-6):
            raise b.unsupported("the int32 bias's scale is not input scale x weight scale")
        bias = bias_data
    from arielml.frontend.onnx_ort import ort_float_island
    unfused = ort_float_island(b, node, q_node)
    if unfused:
        b.not_reproduced.add(f"{node.op_type} (run in float32 by onnxruntime)")
        b.notes.append(f"onnxruntime (x86-64 CPU provider, default session) does not fuse {node.op_type} "
                       f"'{node.name or '(unnamed)'}' into an integer kernel ({unfused}): it runs it in float32 "
                       "between DequantizeLinear and QuantizeLinear, in MLAS's summation order, which "
                       "--semantics onnxruntime does not reproduce bit for bit (arielml runs it in integers)")
    if node.op_type == "Conv":
        _quantized_conv(b, node, attrs, x_int, weights, w_quant, bias, q_node, out_quant, relu)
    else:
        _quantized_fc(b, node, attrs, x_int, weights, w_quant, bias, q_node, out_quant, relu)
    b.skip.update(id(n) for n in skipped)
    if out_dtype == "uint8":
        b.mark_shifted(q_node.output[0])
    return True


def _quantized_conv(b, node, attrs, x_int, weights, w_quant, bias, q_node, out_quant, relu) -> None:
    from arielml.frontend.onnx_windows import _spatial
    from arielml.ops.conv import Conv2DOptions, DepthwiseConv2DOptions
    shape, strides, dilations, padding, explicit = _spatial(b, node, attrs, weights.shape[2:])
    group = int(attrs.get("group", 1))
    in_channels, out_channels = shape[1], weights.shape[0]
    x = b.in_layout(x_int, NHWC)
    common = dict(padding=padding, stride_h=strides[0], stride_w=strides[1], dilation_h_factor=dilations[0],
                  dilation_w_factor=dilations[1], explicit_padding=explicit,
                  fused_activation_function=int(relu))
    if group > 1 and group == in_channels and weights.shape[1] == 1:
        w = b.add_constant(node.input[1] + "/depthwise", np.transpose(weights, (1, 2, 3, 0)), quant=_axis(w_quant, 3))
        options = DepthwiseConv2DOptions(depth_multiplier=out_channels // in_channels, **common)
        op = "DEPTHWISE_CONV_2D"
    else:
        w = b.add_constant(node.input[1] + "/ohwi", np.transpose(weights, (0, 2, 3, 1)), quant=_axis(w_quant, 0))
        op, options = "CONV_2D", Conv2DOptions(**common)
    bias_index = NO_TENSOR if bias is None else b.add_constant(node.input[2] + "/int32", bias.reshape(-1),
                                                               quant=_bias_quant(b, x_int, w_quant))
    b.emit(op, (x, w, bias_index), q_node.output[0], NHWC, options, dtype="int8", quant=out_quant)


def _quantized_fc(b, node, attrs, x_int, weights, w_quant, bias, q_node, out_quant, relu) -> None:
    from arielml.ops.fully_connected import FullyConnectedOptions
    if node.op_type in ("Gemm", "QGemm"):
        if attrs.get("transA", 0) or float(attrs.get("alpha", 1.0)) != 1.0 or float(attrs.get("beta", 1.0)) != 1.0:
            raise b.unsupported("quantised Gemm with transA, alpha or beta is not supported")
        transposed = bool(attrs.get("transB", 0))
    else:
        transposed = False
    if weights.ndim != 2 or (w_quant.per_channel and w_quant.axis != (0 if transposed else 1)):
        raise b.unsupported("quantised weights must be 2-D, per-tensor or per output column")
    matrix = weights if transposed else weights.T  # FULLY_CONNECTED's (N, K)
    rank = len(b.onnx_shape(x_int))
    x = b.plain(x_int)
    w = b.add_constant(node.input[1] + "/nk", np.ascontiguousarray(matrix), quant=_axis(w_quant, 0))
    bias_index = NO_TENSOR if bias is None else b.add_constant(node.input[2] + "/int32", bias.reshape(-1),
                                                               quant=_bias_quant(b, x_int, w_quant))
    options = FullyConnectedOptions(fused_activation_function=int(relu), keep_num_dims=rank > 2)
    b.emit("FULLY_CONNECTED", (x, w, bias_index), q_node.output[0], tuple(range(rank)), options, dtype="int8",
           quant=out_quant)


def centred_weights(b: Builder, weights: np.ndarray, w_quant: QuantParams,
                    conv: bool) -> tuple[np.ndarray, QuantParams]:
    """int8 weights with zero point 0 holding w - zp, the same real values (scale * (w - zp)) and the
    same integer products onnxruntime sums, for uint8 weights or a non-zero zero point. Where some w - zp
    is outside [-127, 127] a single zero point is kept for a FULLY_CONNECTED (its int8 kernels subtract
    it); per-channel zero points, and convolutions (whose int8 kernels take zero point 0 only), are then
    refused by name."""
    if weights.dtype == np.int8 and not any(w_quant.zero_point):
        return weights, w_quant
    zero_point = np.array(w_quant.zero_point, np.int32)
    if w_quant.per_channel and len(w_quant.zero_point) > 1:
        shape = [1] * weights.ndim
        shape[w_quant.axis] = -1
        zero_point = zero_point.reshape(shape)
    centred = weights.astype(np.int32) - zero_point
    if centred.size and np.abs(centred).max() > 127:
        if len(set(w_quant.zero_point)) == 1 and not conv:
            # one zero point: the int8 FULLY_CONNECTED kernels take it (weight_offset); uint8 weights are held as int8
            # w - 128 with zero point zp - 128, the same differences w - zp
            shift = 128 if weights.dtype == np.uint8 else 0
            held = (weights.astype(np.int32) - shift).astype(np.int8)
            return held, QuantParams(w_quant.scale, tuple(z - shift for z in w_quant.zero_point), w_quant.axis)
        raise b.unsupported(f"{weights.dtype} weights with zero point {list(np.unique(zero_point))[:4]}: "
                            f"w - zero point reaches {int(centred.min())}..{int(centred.max())}, outside the "
                            "int8 kernels' [-127, 127] (quantise weights as int8, symmetric, e.g. "
                            "quantize_static(weight_type=QuantType.QInt8))")
    return centred.astype(np.int8), QuantParams(w_quant.scale, (0,) * len(w_quant.zero_point), w_quant.axis)


def _axis(q: QuantParams, axis: int) -> QuantParams:
    return QuantParams(q.scale, q.zero_point, axis if q.per_channel else 0)


def _bias_quant(b: Builder, x_int: str, w_quant: QuantParams) -> QuantParams:
    x_scale = np.float32(b.tensors[b.value(x_int).index].quant.single_scale)
    scales = tuple(float(x_scale * np.float32(s)) for s in w_quant.scale)
    return QuantParams(scales, (0,) * len(scales), 0)


MOVERS = ("MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze")


def try_integer_mover(b: Builder, node, attrs, convert) -> bool:
    """DQ -> (a value-moving op) -> Q with equal parameters: the op runs on the integers."""
    x_int = _integer_source(b, node.input[0])
    if x_int is None:
        return False
    after = _quantize_after(b, node.output[0], allow_relu=False)
    if after is None:
        return False
    q_node, _, skipped = after
    tensor = b.tensors[b.value(x_int).index]
    if quant_params(b, q_node, len(b.onnx_shape(x_int)), shift_uint8=True) != tensor.quant:
        return False
    if (output_dtype(b, q_node) == "uint8") != b.is_shifted(x_int):
        return False
    import onnx
    renamed = onnx.NodeProto()
    renamed.CopyFrom(node)
    renamed.input[0] = x_int
    renamed.output[0] = q_node.output[0]
    convert(b, renamed, attrs)
    b.skip.update(id(n) for n in skipped)
    if b.is_shifted(x_int):
        b.mark_shifted(q_node.output[0])
    return True


__all__ = ["dequantize_linear", "quantize_linear", "try_quantized_conv_or_fc", "try_integer_mover", "MOVERS",
           "PADDING_VALID"]


# ---- QOperator format: QLinearConv, QLinearMatMul, QGemm (com.microsoft) ---------------------------

class _Output:
    """Stands for the Q node of a QDQ pattern: what _quantized_conv / _quantized_fc read of it."""

    def __init__(self, name: str):
        self.output = [name]


def _linear_params(b: Builder, scale_name: str, zero_name: str, rank: int, axis: int = 0) -> tuple[QuantParams, str]:
    scale = b.constant(scale_name)
    zero_point = b.constant(zero_name) if zero_name else np.zeros((), np.uint8)
    if scale is None or zero_point is None:
        raise b.unsupported("scales and zero points must be constants")
    dtype = str(zero_point.dtype)
    zps = np.broadcast_to(zero_point.reshape(-1).astype(np.int64), scale.reshape(-1).shape)
    return QuantParams(tuple(float(s) for s in scale.astype(np.float32).reshape(-1)), tuple(int(z) for z in zps),
                       axis if scale.size > 1 else 0), dtype


def _shift(q: QuantParams) -> QuantParams:
    return QuantParams(q.scale, tuple(z - 128 for z in q.zero_point), q.axis)


def _qoperator(b: Builder, node, attrs, x_name, x_scale, x_zero, w_name, w_scale, w_zero, y_scale, y_zero,
               bias_name) -> None:
    weights = b.constant(w_name)
    if weights is None or weights.dtype not in (np.int8, np.uint8):
        raise b.unsupported("only constant int8 or uint8 weights are supported")
    x_quant, x_dtype = _linear_params(b, x_scale, x_zero, 4)
    if x_dtype == "uint8":
        x_quant = _shift(x_quant)
    tensor = b.tensors[b.value(x_name).index]
    if tensor.quant != x_quant:
        raise b.unsupported("the input's scale and zero point are not those it was quantised with")
    # per-channel weight scales run along the output channel: axis 0 of Conv weights and of transposed
    # Gemm weights (N, K), axis 1 of MatMul / untransposed Gemm weights (K, N)
    output_axis = 0 if node.op_type == "QLinearConv" or attrs.get("transB", 0) else 1
    w_quant, _ = _linear_params(b, w_scale, w_zero, weights.ndim, axis=output_axis)
    weights, w_quant = centred_weights(b, weights, w_quant, conv=node.op_type == "QLinearConv")
    out_quant, out_dtype = _linear_params(b, y_scale, y_zero, 4)
    if out_dtype == "uint8":
        out_quant = _shift(out_quant)
    bias = None
    if bias_name:
        bias = b.constant(bias_name)
        if bias is None or bias.dtype != np.int32:
            raise b.unsupported("the bias must be a constant int32 tensor")
    if node.op_type == "QLinearConv":
        _quantized_conv(b, node, attrs, x_name, weights, w_quant, bias, _Output(node.output[0]), out_quant, False)
    else:
        if node.op_type == "QGemm" and (attrs.get("transA", 0) or float(attrs.get("alpha", 1.0)) != 1.0):
            raise b.unsupported("QGemm with transA or alpha != 1 is not supported")
        _quantized_fc(b, node, attrs, x_name, weights, w_quant, bias, _Output(node.output[0]), out_quant, False)
    if out_dtype == "uint8":
        b.mark_shifted(node.output[0])


def qlinear_conv(b: Builder, node, attrs) -> None:
    i = list(node.input) + [""] * (9 - len(node.input))
    _qoperator(b, node, attrs, i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], i[8])


def qlinear_matmul(b: Builder, node, attrs) -> None:
    i = list(node.input)
    _qoperator(b, node, attrs, i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], "")


def qgemm(b: Builder, node, attrs) -> None:
    """com.microsoft QGemm: A, a_scale, a_zp, B, b_scale, b_zp, [C], [y_scale, y_zp] (no y_scale: float out)."""
    i = list(node.input) + [""] * (9 - len(node.input))
    if not i[7]:
        raise b.unsupported("QGemm with a float output (no y_scale) is not supported")
    _qoperator(b, node, attrs, i[0], i[1], i[2], i[3], i[4], i[5], i[7], i[8], i[6])


# ---- QLinear operators without an integer lowering yet: a float island ------------------------------

def _dequantized_input(b: Builder, x: str, scale: str, zero: str) -> str:
    """A float name for the integer input (x, scale, zero point) of a QLinear operator."""
    name = f"{x}/dequantized"
    rank = len(b.onnx_shape(x))
    q, dtype = _linear_params(b, scale, zero, rank, axis=1)
    if x in b.constants:
        data = b.constants[x].astype(np.int64)
        scales = np.array(q.scale, np.float32).reshape((-1,) + (1,) * (rank - 2) if q.per_channel else ())
        zeros = np.array(q.zero_point, np.int64).reshape(scales.shape)
        b.constants[name] = ((data - zeros).astype(np.float32) * scales).astype(np.float32)
        return name
    if dtype == "uint8":
        q = _shift(q)
    if b.tensors[b.value(x).index].quant != q:
        raise b.unsupported(f"input '{x}' is read with parameters other than those it was quantised with")
    b.dequantized[name] = x
    return name


def _via_float(float_op: str, triples: int, output_first: bool = False):
    """QLinear<Op> (com.microsoft) as DEQUANTIZE -> <Op> in float -> QUANTIZE."""
    def convert(b: Builder, node, attrs) -> None:
        import onnx
        from arielml.frontend.onnx_ops import CONVERTERS
        i = list(node.input)
        if output_first:
            y_scale, y_zero = i[0], i[1]
        else:
            y_scale, y_zero = i[3 * triples], (i[3 * triples + 1] if len(i) > 3 * triples + 1 else "")
        first = 2 if output_first else 0
        count = (len(i) - 2) // 3 if output_first else triples
        names = [_dequantized_input(b, *i[first + 3 * k: first + 3 * k + 3]) for k in range(count)]
        kept = {k: v for k, v in attrs.items() if k not in ("channels_last", "opset")}
        if attrs.get("channels_last", 0):
            raise b.unsupported("channels_last=1 is not supported")
        float_out = node.output[0] + "/float"
        float_node = onnx.helper.make_node(float_op, names, [float_out], name=node.name, **kept)
        CONVERTERS[float_op](b, float_node, kept)
        q, dtype = _linear_params(b, y_scale, y_zero, len(b.onnx_shape(float_out)))
        value = b.value(float_out)
        b.emit("QUANTIZE", (value.index,), node.output[0], value.perm, dtype="int8",
               quant=_shift(q) if dtype == "uint8" else q)
        if dtype == "uint8":
            b.mark_shifted(node.output[0])
        b.float_islands.add(node.op_type)
    return convert


FLOAT_ISLANDS = {"QLinearAdd": ("Add", 2), "QLinearMul": ("Mul", 2), "QLinearSigmoid": ("Sigmoid", 1),
                 "QLinearLeakyRelu": ("LeakyRelu", 1), "QLinearAveragePool": ("AveragePool", 1),
                 "QLinearGlobalAveragePool": ("GlobalAveragePool", 1), "QLinearSoftmax": ("Softmax", 1)}


def install(converters: dict) -> None:
    for op_type, (float_op, triples) in FLOAT_ISLANDS.items():
        converters[op_type] = _via_float(float_op, triples)
    converters["QLinearConcat"] = _via_float("Concat", 0, output_first=True)
    from arielml.frontend.onnx_ort import (qlinear_add, qlinear_average_pool, qlinear_global_average_pool, qlinear_mul,
                                           qlinear_softmax)
    converters["QLinearGlobalAveragePool"] = qlinear_global_average_pool
    converters["QLinearAdd"] = qlinear_add
    converters["QLinearMul"] = qlinear_mul
    converters["QLinearSoftmax"] = qlinear_softmax
    converters["QLinearAveragePool"] = qlinear_average_pool


# ---- DQ -> elementwise / pooling / concat -> Q on integers ----------------------------------------------

INTEGER_OPS = ("Add", "Sub", "Mul", "GlobalAveragePool", "AveragePool", "Concat", "Relu", "LeakyRelu", "Sigmoid",
               "HardSwish", "Tanh", "Softmax")


def try_integer_op(b: Builder, node, attrs, convert) -> bool:
    """DQ(x...) -> op -> Q: the float converter run on the integer tensors, its output given the Q's
    scale and zero point; kept only when every operator it made accepts those integer types (its
    `check`), otherwise everything is rolled back and the op runs in float."""
    import onnx
    from arielml.errors import ArielError
    from arielml.ir import Graph
    from arielml.ops.registry import LITERT, REGISTRY
    sources = [_integer_source(b, name) for name in node.input]
    if not node.input or any(s is None for s in sources):
        return False
    after = _quantize_after(b, node.output[0], allow_relu=False)
    if after is None:
        return False
    q_node, _, skipped = after
    out_dtype = output_dtype(b, q_node)
    out_quant = quant_params(b, q_node, len(b.onnx_shape(node.input[0])), shift_uint8=True)
    if out_quant.per_channel or out_dtype not in ("int8", "uint8"):
        return False
    mark = (len(b.tensors), len(b.nodes), dict(b.values), dict(b._layouts), set(b.float_islands),
            set(b.shifted_tensors))
    renamed = onnx.NodeProto()
    renamed.CopyFrom(node)
    del renamed.input[:]
    renamed.input.extend(sources)
    renamed.output[0] = q_node.output[0]
    b.real_values = True
    try:
        convert(b, renamed, attrs)
        out = b.values[q_node.output[0]].index
        b.tensors[out] = dataclasses.replace(b.tensors[out], dtype="int8", quant=out_quant)
        graph = Graph(tensors=tuple(b.tensors), nodes=(), inputs=(), outputs=())
        for made in b.nodes[mark[1]:]:
            if any(b.tensors[t].dtype == "float32" for t in made.inputs + made.outputs if t >= 0
                   and not b.tensors[t].is_constant):
                raise ArielError("a float tensor inside an integer pattern")
            REGISTRY[made.op].check(made, graph)
            REGISTRY[made.op].prepare(made, graph, LITERT)
    except ArielError:
        b.real_values = False
        del b.tensors[mark[0]:], b.nodes[mark[1]:]
        b.values, b._layouts, b.float_islands, b.shifted_tensors = mark[2], mark[3], mark[4], mark[5]
        if node.op_type in ("Softmax", "AveragePool"):  # a float island onnxruntime may run as a QLinear op
            from arielml.frontend.onnx_ort import float_softmax_group
            float_softmax_group(b, node, attrs, convert, q_node)
            return True
        return False
    b.real_values = False
    b.integer_groups.add(node.op_type)
    if node.op_type in ("Add", "Sub", "Mul"):
        from arielml.frontend.onnx_ort import mark_ort_add_group
        mark_ort_add_group(b, node, q_node, mark[1])
    elif node.op_type == "GlobalAveragePool":
        from arielml.frontend.onnx_ort import note_unfused_average
        note_unfused_average(b, node, q_node)
    elif node.op_type == "Softmax":
        from arielml.frontend.onnx_ort import mark_ort_softmax
        mark_ort_softmax(b, node, q_node, mark[1])
    elif node.op_type == "AveragePool":
        from arielml.frontend.onnx_ort import mark_ort_average_pool
        mark_ort_average_pool(b, node, q_node, mark[1])
    b.skip.update(id(n) for n in skipped)
    if out_dtype == "uint8":
        b.mark_shifted(q_node.output[0])
    return True

