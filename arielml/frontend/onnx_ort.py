"""What onnxruntime's CPU provider (default session, x86-64 host) makes of a quantised ONNX graph, for
--semantics onnxruntime (docs/semantics.md, "ONNX Runtime"): which DQ -> op -> Q groups its optimizer
fuses into integer kernels and which it runs in float32 (read from its QDQ selectors and its
int8-to-uint8 rewrite, technique only), and the com.microsoft QLinear operators lowered to arielml's
integer operators (QLinearGlobalAveragePool -> MEAN, QLinearAdd -> ADD) whose onnxruntime arithmetic
the ops apply under that semantics."""
from __future__ import annotations

import dataclasses

from arielml.frontend.onnx import Builder
from arielml.frontend.onnx_quant import _dequantized_input, _linear_params, _shift, _via_float, output_dtype


def _x86_dtype_after_s8_to_u8(b: Builder, q_node) -> str:
    """The type a QuantizeLinear's output has after onnxruntime's QDQS8ToU8Transformer (x86 hosts):
    an int8 Q whose only consumer is a DequantizeLinear becomes a uint8 Q/DQ pair (zero point + 128).
    A DQ read by several nodes counts as several: EnsureUniqueDQForNodeUnit (an earlier pass) gives
    each reader its own DQ, and the Q then has several consumers (a residual branch stays int8)."""
    dtype = output_dtype(b, q_node)
    users = b.consumers.get(q_node.output[0], [])
    if dtype != "int8" or len(users) != 1 or users[0].op_type != "DequantizeLinear" \
            or q_node.output[0] in b.graph_outputs:
        return dtype
    readers = b.consumers.get(users[0].output[0], [])
    uses = len(readers) + (users[0].output[0] in b.graph_outputs)  # a DQ giving a graph output is converted too
    return "uint8" if uses <= 1 else dtype


def _x86_input_dtype(b: Builder, dequantized: str) -> str:
    """The type onnxruntime (x86) dequantises for ONNX value `dequantized` (a DequantizeLinear's output)."""
    dq = b.producers.get(dequantized)
    source = b.producers.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
    if source is not None and source.op_type == "QuantizeLinear":
        return _x86_dtype_after_s8_to_u8(b, source)
    name = dq.input[0] if dq is not None else dequantized  # a graph input, or a Q -> Reshape -> DQ chain
    return "uint8" if b.is_shifted(name) else b.tensors[b.value(name).index].dtype


def mark_ort_add(b: Builder, first_node: int, mode: str) -> None:
    """Record on the 8-bit ADD/SUB/MUL just made what onnxruntime runs there (ops/ort_add.py)."""
    for position in range(first_node, len(b.nodes)):
        made = b.nodes[position]
        if made.op in ("ADD", "SUB", "MUL"):
            b.nodes[position] = dataclasses.replace(made, options=dataclasses.replace(made.options, onnxruntime=mode))


def ort_float_island(b: Builder, node, q_node) -> str:
    """Why onnxruntime's default CPU session on an x86-64 host would leave this DQ -> Conv/MatMul/Gemm
    -> Q group unfused (float32), or "" when it fuses it into QLinearConv/QLinearMatMul/QGemm. Its rules
    (qdq_selectors.cc, qdq_s8_to_u8.cc, read for technique): int8 Q -> DQ pairs become uint8 first; then
    a Conv/MatMul group fuses when its activation input and its output have the same type and that
    type is not int8 (int8 activations are fused on ARM hosts only); a Gemm group when the two types
    are equal (int8 included)."""
    x_dtype = _x86_input_dtype(b, node.input[0])
    y_dtype = _x86_dtype_after_s8_to_u8(b, q_node)
    if x_dtype != y_dtype:
        return f"{x_dtype} input, {y_dtype} output"
    if x_dtype == "int8" and node.op_type in ("Conv", "MatMul"):
        return "int8 activations are fused on ARM hosts only"
    return ""


def mark_ort_add_group(b: Builder, node, q_node, first_node: int) -> None:
    """A DQ -> Add/Sub -> Q group made into an 8-bit ADD/SUB: onnxruntime fuses an Add (into a
    QLinearAdd; never a Sub) when its two inputs and its output have one type after the int8-to-uint8
    rewrite, and runs it in float32 otherwise."""
    types = {_x86_input_dtype(b, name) for name in node.input} | {_x86_dtype_after_s8_to_u8(b, q_node)}
    fused = node.op_type in ("Add", "Mul") and len(types) == 1
    mark_ort_add(b, first_node, f"qlinear_{'u8' if types == {'uint8'} else 's8'}" if fused else "float")


def _integer_qlinear(b: Builder, node, float_op: str, inputs: list[tuple[str, str, str]], y_scale: str,
                     y_zero: str, triples: int) -> str | None:
    """A com.microsoft QLinear operator as arielml's integer operator: the float converter of
    `float_op` run on the integer inputs, its output given (y_scale, y_zero). Falls back to a float
    island (None) when an input is a constant or the integer kernel refuses the scales (its `check`);
    otherwise returns the output's ONNX type."""
    import onnx
    from arielml.errors import ArielError
    from arielml.frontend.onnx_ops import CONVERTERS
    from arielml.ir import Graph
    from arielml.ops.registry import LITERT, REGISTRY
    if any(x in b.constants for x, _, _ in inputs):
        _via_float(float_op, triples)(b, node, {})
        return None
    for x, scale, zero in inputs:
        _dequantized_input(b, x, scale, zero)  # checks each input's parameters
    q, dtype = _linear_params(b, y_scale, y_zero, len(b.onnx_shape(inputs[0][0])))
    mark = (len(b.tensors), len(b.nodes), dict(b.values), dict(b._layouts))
    b.real_values = True
    try:
        CONVERTERS[float_op](b, onnx.helper.make_node(float_op, [x for x, _, _ in inputs], [node.output[0]]), {})
        out = b.values[node.output[0]].index
        b.tensors[out] = dataclasses.replace(b.tensors[out], dtype="int8", quant=_shift(q) if dtype == "uint8" else q)
        graph = Graph(tensors=tuple(b.tensors), nodes=(), inputs=(), outputs=())
        for made in b.nodes[mark[1]:]:
            REGISTRY[made.op].check(made, graph)
            REGISTRY[made.op].prepare(made, graph, LITERT)
    except ArielError:
        del b.tensors[mark[0]:], b.nodes[mark[1]:]
        b.values, b._layouts = mark[2], mark[3]
        b.real_values = False
        _via_float(float_op, triples)(b, node, {})
        return None
    b.real_values = False
    if dtype == "uint8":
        b.mark_shifted(node.output[0])
    return dtype


def _softmax_settings(b: Builder, node, q_node) -> tuple | None:
    """(x_scale, x_zero, y_scale, y_zero, raw_shift) of the QLinearSoftmax onnxruntime makes of this
    DQ -> Softmax -> Q group (stored zero points; raw_shift 128 where it computes on uint8), or None
    when it does not fuse it (input and output types differ after the int8-to-uint8 rewrite)."""
    from arielml.frontend.onnx_quant import quant_params
    x_type, y_type = _x86_input_dtype(b, node.input[0]), _x86_dtype_after_s8_to_u8(b, q_node)
    if x_type != y_type:
        return None
    source = b.dequantized.get(node.input[0])
    x_quant = b.tensors[b.value(source).index].quant
    y_quant = quant_params(b, q_node, len(b.onnx_shape(source)), shift_uint8=True)
    return (x_quant.single_scale, x_quant.single_zero_point, y_quant.single_scale, y_quant.single_zero_point,
            128 if x_type == "uint8" else 0)


def _pool_settings(b: Builder, node, q_node) -> tuple:
    """(x_scale, x_zero, y_scale, y_zero, raw_shift, mode) of a DQ -> AveragePool -> Q group for
    ops/ort_pool.py: "qlinear" when onnxruntime fuses it (one type after the int8-to-uint8 rewrite)."""
    settings = _softmax_settings(b, node, q_node)
    if settings is not None:
        return settings + ("qlinear",)
    from arielml.frontend.onnx_quant import quant_params
    source = b.dequantized.get(node.input[0])
    x_quant = b.tensors[b.value(source).index].quant
    y_quant = quant_params(b, q_node, len(b.onnx_shape(source)), shift_uint8=True)
    return (x_quant.single_scale, x_quant.single_zero_point, y_quant.single_scale, y_quant.single_zero_point, 0,
            "float")


def _mark_softmax(b: Builder, first_node: int, settings: tuple, op: str = "SOFTMAX") -> None:
    for position in range(first_node, len(b.nodes)):
        made = b.nodes[position]
        if made.op == op:
            b.nodes[position] = dataclasses.replace(made, options=dataclasses.replace(made.options,
                                                                                      onnxruntime=settings))


def mark_ort_softmax(b: Builder, node, q_node, first_node: int) -> None:
    """An int8 SOFTMAX made from a DQ -> Softmax -> Q group: onnxruntime's QLinearSoftmax, if fused."""
    settings = _softmax_settings(b, node, q_node)
    if settings is None:
        b.not_reproduced.add("Softmax (run in float32 by onnxruntime)")
    else:
        _mark_softmax(b, first_node, settings)


def mark_ort_average_pool(b: Builder, node, q_node, first_node: int) -> None:
    """An int8 AVERAGE_POOL_2D made from a DQ -> AveragePool -> Q group."""
    _mark_softmax(b, first_node, _pool_settings(b, node, q_node), "AVERAGE_POOL_2D")


def float_softmax_group(b: Builder, node, attrs, convert, q_node) -> None:
    """A DQ -> Softmax/AveragePool -> Q group the int8 kernel refused: the float operator (its Q
    converts on its own), marked with what onnxruntime runs there (QLinearSoftmax when it fuses the
    group; QLinearAveragePool or a float average)."""
    first = len(b.nodes)
    if node.op_type == "AveragePool":
        settings = _pool_settings(b, node, q_node)
        convert(b, node, attrs)
        _mark_softmax(b, first, settings, "AVERAGE_POOL_2D")
        b.ort_islands.add("AveragePool")
        return
    settings = _softmax_settings(b, node, q_node)
    convert(b, node, attrs)
    if settings is None:
        b.not_reproduced.add("Softmax (run in float32 by onnxruntime)")
    else:
        _mark_softmax(b, first, settings)
        b.ort_islands.add("Softmax")


def qlinear_softmax(b: Builder, node, attrs) -> None:
    """com.microsoft QLinearSoftmax: a float island whose SOFTMAX is marked with its parameters."""
    i = list(node.input) + [""] * (5 - len(node.input))
    rank = len(b.onnx_shape(i[0]))
    x_quant, x_type = _linear_params(b, i[1], i[2], rank)
    y_quant, _ = _linear_params(b, i[3], i[4], rank)
    if x_type == "uint8":
        x_quant, y_quant = _shift(x_quant), _shift(y_quant)
    first = len(b.nodes)
    _via_float("Softmax", 1)(b, node, attrs)
    _mark_softmax(b, first, (x_quant.single_scale, x_quant.single_zero_point, y_quant.single_scale,
                             y_quant.single_zero_point, 128 if x_type == "uint8" else 0))
    b.ort_islands.add("QLinearSoftmax")


def qlinear_average_pool(b: Builder, node, attrs) -> None:
    """com.microsoft QLinearAveragePool: a float island whose AVERAGE_POOL_2D is marked with its
    parameters (ops/ort_pool.py)."""
    i = list(node.input) + [""] * (5 - len(node.input))
    rank = len(b.onnx_shape(i[0]))
    x_quant, x_type = _linear_params(b, i[1], i[2], rank)
    y_quant, _ = _linear_params(b, i[3], i[4], rank)
    if x_type == "uint8":
        x_quant, y_quant = _shift(x_quant), _shift(y_quant)
    first = len(b.nodes)
    _via_float("AveragePool", 1)(b, node, attrs)
    _mark_softmax(b, first, (x_quant.single_scale, x_quant.single_zero_point, y_quant.single_scale,
                             y_quant.single_zero_point, 128 if x_type == "uint8" else 0, "qlinear"), "AVERAGE_POOL_2D")
    b.ort_islands.add("QLinearAveragePool")


# float32 operators whose every output element is one float32 operation: onnxruntime's results are
# reproduced bit for bit (tests/test_onnx_ops.py), inside float islands too
EXACT_FLOAT = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Relu", "LeakyRelu", "Clip", "HardSigmoid", "MaxPool",
               "GlobalMaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Pad", "Slice",
               "Gather", "Split", "Identity"}
# DQ -> op -> Q groups run on integers whose onnxruntime arithmetic the ops reproduce (Concat: the
# int8 CONCATENATION copies, equal parameters only, as onnxruntime's QLinearConcat does)
REPRODUCED_GROUPS = {"Add", "Sub", "Mul", "GlobalAveragePool", "Softmax", "LeakyRelu", "HardSwish", "Relu",
                     "Concat", "AveragePool"}
# QOperator operators run as float islands whose result is onnxruntime's: a table of one float32
# function of each code (QLinearLeakyRelu), QuantizeLinear of each dequantised value (QLinearConcat)
EXACT_FLOAT |= {"QLinearLeakyRelu", "QLinearConcat", "HardSwish",  # HardSwish: ops/nonlinear.py
                "BatchNormalization"}  # x * s + t with onnxruntime's s and t (onnx_ops.py)


def note_unfused_average(b: Builder, node, q_node) -> None:
    """onnxruntime fuses DQ -> GlobalAveragePool -> Q into QLinearGlobalAveragePool when input and
    output have one type after the int8-to-uint8 rewrite; otherwise it averages in float32."""
    if _x86_input_dtype(b, node.input[0]) != _x86_dtype_after_s8_to_u8(b, q_node):
        b.not_reproduced.add("GlobalAveragePool (run in float32 by onnxruntime)")


def not_reproduced_note(b: Builder) -> str | None:
    """The model's ONNX op types where --semantics onnxruntime is not bit-exact (docs/onnx.md)."""
    kinds = set(b.not_reproduced)
    kinds |= {t for t in b.integer_groups if t not in REPRODUCED_GROUPS}
    kinds |= {t for t in b.float_islands - {"DequantizeLinear", "QuantizeLinear", ""} - b.ort_islands
              if t not in EXACT_FLOAT}
    if not kinds:
        return None
    return ("--semantics onnxruntime does not reproduce onnxruntime's arithmetic bit for bit for: "
            + ", ".join(sorted(kinds)) + " (its QLinear kernels' tables and float32 sums; docs/onnx.md)")


def qlinear_global_average_pool(b: Builder, node, attrs) -> None:
    """com.microsoft QLinearGlobalAveragePool as an int8 MEAN: onnxruntime sums the integers too, and
    MEAN requantises as it does under --semantics onnxruntime."""
    if attrs.get("channels_last", 0):
        raise b.unsupported("channels_last=1 is not supported")
    i = list(node.input) + [""] * (5 - len(node.input))
    _integer_qlinear(b, node, "GlobalAveragePool", [(i[0], i[1], i[2])], i[3], i[4], 1)


def _qlinear_binary(float_op: str):
    """com.microsoft QLinearAdd / QLinearMul as an 8-bit ADD / MUL marked with onnxruntime's
    arithmetic for them (ops/ort_add.py)."""
    def convert(b: Builder, node, attrs) -> None:
        i = list(node.input) + [""] * (8 - len(node.input))
        first = len(b.nodes)
        dtype = _integer_qlinear(b, node, float_op, [(i[0], i[1], i[2]), (i[3], i[4], i[5])], i[6], i[7], 2)
        if dtype is not None:
            mark_ort_add(b, first, f"qlinear_{'u8' if dtype == 'uint8' else 's8'}")
    return convert


qlinear_add = _qlinear_binary("Add")
qlinear_mul = _qlinear_binary("Mul")
