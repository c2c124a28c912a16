"""Quantised ONNX operators against onnxruntime: QLinearConv / QLinearMatMul (QOperator) and DQ -> op -> Q
(QDQ), int8 and uint8 activations, per-tensor and per-channel weights, and whole models made by
onnxruntime.quantization.quantize_static (the path a PyTorch user takes).

arielml lowers them to its int8 kernels, which requantise with TFLite's fixed-point multiplier;
onnxruntime multiplies float(acc) by a float32 scale and rounds half to even (docs/semantics.md,
"ONNX Runtime"). The single-operator tests therefore check that the two agree everywhere except at
rounding ties: wherever they differ, by one step, the exact real value acc * scale lies within the
first rounding's granularity (half of 2^shift steps, TFLite's double rounding) of a half step.
Weights are 7-bit: with uint8 activations and full-range int8 weights onnxruntime on an AVX2 host
without VNNI saturates pairs of products to int16 (vpmaddubsw) and gives other results again
(documented there too)."""
from __future__ import annotations

import numpy as np
import pytest

import arielml
from arielml.ops.registry import LITERT, REGISTRY
from tests.emu_helpers import needs_cross
from tests.onnx_models import helper, make_model, ort, run_onnxruntime

F32 = np.float32


def _case(seed: int, kind: str):
    rng = np.random.default_rng(seed)
    dtype = (np.int8, np.uint8)[seed % 2]
    lo, hi = (-128, 128) if dtype == np.int8 else (0, 256)
    per_channel = seed % 3 != 0
    out_c = int(rng.integers(1, 12))
    if kind == "conv":
        c = int(rng.integers(1, 8))
        x = rng.integers(lo, hi, (1, c, 9, 9)).astype(dtype)
        w = rng.integers(-63, 64, (out_c, c, 3, 3)).astype(np.int8)
    else:
        k = int(rng.integers(2, 40))
        x = rng.integers(lo, hi, (int(rng.integers(1, 4)), k)).astype(dtype)
        w = rng.integers(-63, 64, (k, out_c)).astype(np.int8)
    ws = rng.uniform(0.001, 0.02, out_c).astype(F32) if per_channel else np.array(0.01, F32)
    xs, ys = F32(rng.uniform(0.01, 0.1)), F32(rng.uniform(0.05, 0.5))
    xz, yz = dtype(rng.integers(lo, hi)), dtype(rng.integers(lo, hi))
    bias = rng.integers(-5000, 5000, out_c).astype(np.int32)
    # the graph's float input is exactly representable: QuantizeLinear gives back x
    xf = ((x.astype(F32) - F32(xz)) * xs).astype(F32)
    inits = {"xs": xs, "xz": np.array(xz, dtype), "w": w, "ws": ws, "wz": np.zeros(ws.shape, np.int8), "ys": ys,
             "yz": np.array(yz, dtype)}
    if kind == "conv":
        inits["b"] = bias
        op = helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["yq"],
                              pads=[1, 1, 1, 1])
    else:
        op = helper.make_node("QLinearMatMul", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["yq"])
        bias = np.zeros(out_c, np.int64)
    nodes = [helper.make_node("QuantizeLinear", ["xf", "xs", "xz"], ["xq"]), op,
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
    model = make_model(nodes, {"xf": (xf.shape, F32)}, ["y"], inits)
    # the exact accumulator, for the tie check
    xi = x.astype(np.int64) - int(xz)
    if kind == "conv":
        padded = np.pad(xi, ((0, 0), (0, 0), (1, 1), (1, 1)))
        cols = np.stack([padded[:, :, i:i + 9, j:j + 9] for i in range(3) for j in range(3)], axis=2)
        acc = np.einsum("nckhw,ock->nohw", cols, w.reshape(out_c, -1, 9).astype(np.int64)) + bias.reshape(1, -1, 1, 1)
        real = acc * (np.float64(xs) * ws.astype(np.float64).reshape(1, -1, 1, 1) / np.float64(ys))
    else:
        acc = xi @ w.astype(np.int64) + bias
        real = acc * (np.float64(xs) * ws.astype(np.float64) / np.float64(ys))
    return model, xf, ys, real


@pytest.mark.parametrize("kind", ["conv", "matmul"])
@pytest.mark.parametrize("seed", range(12))
def test_qlinear_op_agrees_with_onnxruntime_except_at_rounding_ties(kind, seed):
    model, xf, ys, real = _case(seed, kind)
    expected = run_onnxruntime(model, [xf])[0]
    loaded = arielml.load(model)
    got = loaded.run([xf])[0]
    # arielml's (TFLite's) requantisation rounds twice: acc * multiplier to an integer in units of
    # 2^shift output steps, then by the shift; the first rounding moves the value by at most half that
    node = next(n for n in loaded.graph.nodes if n.op in ("CONV_2D", "FULLY_CONNECTED"))
    shift = int(np.max(REGISTRY[node.op].prepare(node, loaded.graph, LITERT).requant.shift))
    tie_band = 0.5 * 2.0 ** min(shift, 0) + 1e-4
    assert got.shape == expected.shape
    steps = np.rint(np.abs(got.astype(np.float64) - expected) / ys)
    assert steps.max() <= 1
    differ = steps > 0
    distance_to_half = np.abs(np.abs(real - np.floor(real)) - 0.5)
    assert np.all(distance_to_half[differ] < tie_band), (distance_to_half[differ], tie_band)


def test_qlinear_conv_lowers_to_int8_conv():
    model, *_ = _case(1, "conv")
    graph = arielml.load(model).graph
    convs = [n for n in graph.nodes if n.op == "CONV_2D"]
    assert len(convs) == 1 and graph.tensors[convs[0].outputs[0]].dtype == "int8"
    assert graph.tensors[convs[0].inputs[0]].quant.zero_point[0] < 128  # uint8 held as int8 (zp - 128)


# ---- quantize_static: QDQ per-tensor / per-channel, uint8 activations, QOperator ---------------------

def _quantized_cnn(tmp_path, quant_format: str, per_channel: bool, activations: str, preprocess: bool = False) -> str:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from tests.test_onnx_models import small_cnn
    source = tmp_path / "float.onnx"
    source.write_bytes(small_cnn(0))
    if preprocess:  # onnxruntime's own pre-processing: folds BatchNormalization into the Conv
        from onnxruntime.quantization.shape_inference import quant_pre_process
        quant_pre_process(str(source), str(tmp_path / "pre.onnx"), skip_symbolic_shape=True)
        source = tmp_path / "pre.onnx"

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"x": np.random.default_rng(i).standard_normal((1, 3, 16, 16)).astype(F32)}
                                 for i in range(8)])

        def get_next(self):
            return next(self.batches, None)

    target = tmp_path / "quantized.onnx"
    quantize_static(str(source), str(target), Reader(), quant_format=getattr(QuantFormat, quant_format),
                    per_channel=per_channel, activation_type=getattr(QuantType, activations),
                    weight_type=QuantType.QInt8, extra_options={"WeightSymmetric": True})
    return str(target)


@pytest.mark.parametrize("quant_format,per_channel,activations", [
    ("QDQ", False, "QInt8"), ("QDQ", True, "QInt8"), ("QDQ", False, "QUInt8"), ("QOperator", False, "QInt8")])
def test_quantize_static_cnn_runs_with_integer_convolutions(tmp_path, quant_format, per_channel, activations):
    """Measured (20 inputs): at most 4 output steps from onnxruntime without fusions: one-step
    requantisation differences (rounding ties, and the mean of GlobalAveragePool computed on integers
    where unfused onnxruntime computes it in float) amplified by the softmax. onnxruntime's own
    default session (fusions) differs from its unfused session by up to 56 steps on these models."""
    path = _quantized_cnn(tmp_path, quant_format, per_channel, activations)
    model = arielml.load(path)
    ops = [n.op for n in model.graph.nodes]
    assert ops.count("CONV_2D") == 2 and "DEPTHWISE_CONV_2D" in ops and "FULLY_CONNECTED" in ops
    assert all(model.graph.tensors[n.outputs[0]].dtype == "int8" for n in model.graph.nodes
               if n.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"))
    assert any("run in float32" in note for note in model.graph.notes)  # BatchNormalization, softmax
    if quant_format == "QDQ":  # DQ -> GlobalAveragePool -> Q runs on integers
        assert any(n.op == "MEAN" and model.graph.tensors[n.inputs[0]].dtype == "int8" for n in model.graph.nodes)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    for seed in range(5):
        x = np.random.default_rng(50 + seed).standard_normal((1, 3, 16, 16)).astype(F32)
        got, expected = model.run([x])[0], session.run(None, {"x": x})[0]
        assert np.max(np.abs(got - expected)) <= 4 / 255 + 1e-6


@pytest.mark.parametrize("op", ["Add", "AveragePool", "GlobalAveragePool", "Concat"])
@pytest.mark.parametrize("seed", range(3))
def test_qdq_elementwise_and_pooling_run_on_integers(op, seed):
    """DQ -> op -> Q becomes an int8 ADD / AVERAGE_POOL_2D / MEAN / CONCATENATION; onnxruntime fuses
    (QLinearAdd, QLinearAveragePool, ...) or computes in float: measured within one output step."""
    rng = np.random.default_rng(seed)
    shape = (1, 3, 6, 6)
    scales = [F32(rng.uniform(0.01, 0.05)) for _ in range(3)]
    zeros = [np.int8(rng.integers(-20, 20)) for _ in range(3)]
    if op in ("AveragePool", "Concat"):  # TFLite's int8 kernels move values: one scale and zero point
        scales, zeros = scales[:1] * 3, zeros[:1] * 3
    inits = {f"s{k}": scales[k] for k in range(3)} | {f"z{k}": np.array(zeros[k], np.int8) for k in range(3)}
    nodes = [helper.make_node("QuantizeLinear", ["a", "s0", "z0"], ["aq"]),
             helper.make_node("QuantizeLinear", ["b", "s1", "z1"], ["bq"]),
             helper.make_node("DequantizeLinear", ["aq", "s0", "z0"], ["ad"]),
             helper.make_node("DequantizeLinear", ["bq", "s1", "z1"], ["bd"])]
    if op == "Add":
        nodes.append(helper.make_node("Add", ["ad", "bd"], ["r"]))
    elif op == "Concat":
        nodes.append(helper.make_node("Concat", ["ad", "bd"], ["r"], axis=1))
    elif op == "AveragePool":
        nodes.append(helper.make_node("AveragePool", ["ad"], ["r"], kernel_shape=[2, 2], strides=[2, 2]))
    else:
        nodes.append(helper.make_node("GlobalAveragePool", ["ad"], ["r"]))
    nodes += [helper.make_node("QuantizeLinear", ["r", "s2", "z2"], ["rq"]),
              helper.make_node("DequantizeLinear", ["rq", "s2", "z2"], ["y"])]
    a, b = (rng.uniform(-2, 2, shape).astype(F32) for _ in range(2))
    model = make_model(nodes, {"a": (shape, F32), "b": (shape, F32)}, ["y"], inits)
    loaded = arielml.load(model)
    ir_op = {"Add": "ADD", "Concat": "CONCATENATION", "AveragePool": "AVERAGE_POOL_2D", "GlobalAveragePool": "MEAN"}[op]
    node = next(n for n in loaded.graph.nodes if n.op == ir_op)
    assert loaded.graph.tensors[node.outputs[0]].dtype == "int8"
    got, expected = loaded.run([a, b])[0], run_onnxruntime(model, [a, b])[0]
    assert np.max(np.abs(got - expected)) <= scales[2] * 1.0001


def test_qdq_concat_of_different_scales_runs_in_float_and_says_so():
    nodes = [helper.make_node("QuantizeLinear", ["a", "s0", "z"], ["aq"]),
             helper.make_node("QuantizeLinear", ["a", "s1", "z"], ["bq"]),
             helper.make_node("DequantizeLinear", ["aq", "s0", "z"], ["ad"]),
             helper.make_node("DequantizeLinear", ["bq", "s1", "z"], ["bd"]),
             helper.make_node("Concat", ["ad", "bd"], ["r"], axis=1),
             helper.make_node("QuantizeLinear", ["r", "s1", "z"], ["rq"]),
             helper.make_node("DequantizeLinear", ["rq", "s1", "z"], ["y"])]
    inits = {"s0": F32(0.02), "s1": F32(0.03), "z": np.array(0, np.int8)}
    model = arielml.load(make_model(nodes, {"a": ((1, 2, 3, 3), F32)}, ["y"], inits))
    concat = next(n for n in model.graph.nodes if n.op == "CONCATENATION")
    assert model.graph.tensors[concat.outputs[0]].dtype == "float32"
    assert any("Concat" in note and "float32" in note for note in model.graph.notes)


@pytest.mark.cross
@needs_cross
@pytest.mark.parametrize("quant_format,per_channel,activations",
                         [("QDQ", True, "QInt8"), ("QOperator", False, "QInt8")])
def test_quantize_static_cnn_on_two_emulated_rp2040_cores_equals_the_reference(tmp_path, quant_format, per_channel,
                                                                               activations):
    from arielml.backends.emulator import run_emulated
    model = arielml.load(_quantized_cnn(tmp_path, quant_format, per_channel, activations))
    x = np.random.default_rng(3).standard_normal((1, 3, 16, 16)).astype(F32)
    np.testing.assert_array_equal(run_emulated(model, [x], "rp2040", 2).outputs[0], model.run([x])[0])


def test_preprocessed_quantize_static_cnn_is_integer_but_for_its_softmax(tmp_path):
    """With onnxruntime's quant_pre_process (BatchNormalization folded) every operator of the QDQ
    model runs on integers except the Softmax (TFLite's int8 softmax needs an output scale of 1/256,
    calibration gives another), which the notes name."""
    model = arielml.load(_quantized_cnn(tmp_path, "QDQ", True, "QInt8", preprocess=True))
    floats = [n.op for n in model.graph.nodes if model.graph.tensors[n.outputs[0]].dtype == "float32"]
    assert floats == ["DEQUANTIZE", "SOFTMAX", "DEQUANTIZE"]
    assert any(note.endswith("Softmax") for note in model.graph.notes)


_MS_QLINEAR = {  # com.microsoft QLinear operators (onnxruntime's QOperator format), inputs after aq/bq
    "QLinearAdd": (["aq", "s0", "z0", "bq", "s1", "z1", "s2", "z2"], {}),
    "QLinearMul": (["aq", "s0", "z0", "bq", "s1", "z1", "s2", "z2"], {}),
    "QLinearConcat": (["s2", "z2", "aq", "s0", "z0", "bq", "s1", "z1"], {"axis": 1}),
    "QLinearGlobalAveragePool": (["aq", "s0", "z0", "s2", "z2"], {"channels_last": 0}),
    "QLinearSigmoid": (["aq", "s0", "z0", "s2", "z2"], {}),
    "QLinearLeakyRelu": (["aq", "s0", "z0", "s2", "z2"], {"alpha": 0.1}),
    "QLinearAveragePool": (["aq", "s0", "z0", "s2", "z2"], {"kernel_shape": [2, 2], "strides": [2, 2]}),
}


def ms_qlinear_model(op: str):
    """A QLinear operator of _MS_QLINEAR between QuantizeLinear and DequantizeLinear: (model, a, b)."""
    from onnx import numpy_helper
    rng = np.random.default_rng(len(op))
    shape = (1, 3, 4, 4)
    inits = {"s0": F32(0.02), "z0": np.array(3, np.int8), "s1": F32(0.03), "z1": np.array(-5, np.int8),
             "s2": F32(0.04), "z2": np.array(1, np.int8)}
    inputs, attrs = _MS_QLINEAR[op]
    nodes = [helper.make_node("QuantizeLinear", ["a", "s0", "z0"], ["aq"]),
             helper.make_node("QuantizeLinear", ["b", "s1", "z1"], ["bq"]),
             helper.make_node(op, inputs, ["rq"], domain="com.microsoft", **attrs),
             helper.make_node("DequantizeLinear", ["rq", "s2", "z2"], ["y"])]
    graph = helper.make_graph(nodes, "t", [helper.make_tensor_value_info(n, 1, list(shape)) for n in "ab"],
                              [helper.make_tensor_value_info("y", 1, None)],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    data = helper.make_model(graph, opset_imports=opsets,
                             ir_version=8).SerializeToString()
    a, b = (rng.uniform(-2, 2, shape).astype(F32) for _ in range(2))
    return data, a, b


@pytest.mark.parametrize("op", sorted(_MS_QLINEAR))
def test_com_microsoft_qlinear_operators_run_as_float_islands_or_integers(op):
    """Measured within one output step of onnxruntime; the float islands are named in the model's
    notes; QLinearGlobalAveragePool, QLinearAdd and QLinearMul are int8 MEAN, ADD and MUL."""
    data, a, b = ms_qlinear_model(op)
    model = arielml.load(data)
    integer = {"QLinearGlobalAveragePool": "MEAN", "QLinearAdd": "ADD", "QLinearMul": "MUL"}
    if op in integer:
        assert any(n.op == integer[op] and model.graph.tensors[n.inputs[0]].dtype == "int8" for n in model.graph.nodes)
    else:
        assert any(op in note for note in model.graph.notes)
    got, expected = model.run([a, b])[0], run_onnxruntime(data, [a, b])[0]
    assert got.shape == expected.shape and np.max(np.abs(got - expected)) <= 0.04 * 1.0001


@pytest.mark.parametrize("clip", [(0.0, 6.0), (0.0, None), (-1.0, 1.0)])
def test_qdq_conv_with_clip_fuses_the_activation(clip):
    """DQ -> Conv -> Clip -> Q: the Clip becomes the int8 convolution's fused activation."""
    rng = np.random.default_rng(5)
    w = rng.integers(-63, 64, (4, 2, 3, 3)).astype(np.int8)
    inits = {"xs": F32(0.05), "xz": np.array(0, np.int8), "w": w, "ws": F32(0.02), "wz": np.array(0, np.int8),
             "ys": F32(0.03), "yz": np.array(-100, np.int8), "lo": F32(clip[0])}
    clip_inputs = ["c", "lo"] + (["hi"] if clip[1] is not None else [])
    if clip[1] is not None:
        inits["hi"] = F32(clip[1])
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"]),
             helper.make_node("Conv", ["xd", "wd"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Clip", clip_inputs, ["r"]),
             helper.make_node("QuantizeLinear", ["r", "ys", "yz"], ["rq"]),
             helper.make_node("DequantizeLinear", ["rq", "ys", "yz"], ["y"])]
    data = make_model(nodes, {"x": ((1, 2, 5, 5), F32)}, ["y"], inits)
    model = arielml.load(data)
    assert [n.op for n in model.graph.nodes if n.op != "TRANSPOSE"] == ["QUANTIZE", "CONV_2D", "DEQUANTIZE"]
    conv = next(n for n in model.graph.nodes if n.op == "CONV_2D")
    assert conv.options.fused_activation_function == {(0.0, 6.0): 3, (0.0, None): 1, (-1.0, 1.0): 2}[clip]
    x = rng.uniform(-3, 3, (1, 2, 5, 5)).astype(F32)
    got, expected = model.run([x])[0], run_onnxruntime(data, [x])[0]
    assert np.max(np.abs(got - expected)) <= 0.03 * 1.0001


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_quantised_graph_input_and_integer_model(dtype):
    """A model whose input is already quantised (int8 or uint8 -> DequantizeLinear -> Conv -> Q): the
    input carries the DequantizeLinear's parameters (uint8 moved to int8 exactly) and the Conv is int8."""
    rng = np.random.default_rng(2)
    lo, hi = (-128, 128) if dtype == np.int8 else (0, 256)
    w = rng.integers(-63, 64, (4, 3, 3, 3)).astype(np.int8)
    inits = {"xs": F32(0.05), "xz": np.array(7, dtype), "w": w, "ws": F32(0.02), "wz": np.array(0, np.int8),
             "ys": F32(0.1), "yz": np.array(-3, np.int8)}
    nodes = [helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"]),
             helper.make_node("Conv", ["xd", "wd"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["cq"]),
             helper.make_node("DequantizeLinear", ["cq", "ys", "yz"], ["y"])]
    data = make_model(nodes, {"x": ((1, 3, 6, 6), dtype)}, ["y"], inits)
    model = arielml.load(data)
    conv = next(n for n in model.graph.nodes if n.op == "CONV_2D")
    assert model.graph.tensors[conv.outputs[0]].dtype == "int8"
    x = rng.integers(lo, hi, (1, 3, 6, 6)).astype(dtype)
    got, expected = model.run([x])[0], run_onnxruntime(data, [x])[0]
    assert np.max(np.abs(got - expected)) <= 0.1 * 1.0001


def test_uint8_graph_output_of_a_quantised_model():
    """QuantizeLinear to uint8 as the graph's output: the int8-held value is moved back to uint8."""
    rng = np.random.default_rng(4)
    w = rng.integers(-63, 64, (4, 2, 1, 1)).astype(np.int8)
    inits = {"xs": F32(0.05), "xz": np.array(128, np.uint8), "w": w, "ws": F32(0.02), "wz": np.array(0, np.int8),
             "ys": F32(0.03), "yz": np.array(120, np.uint8)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"]),
             helper.make_node("Conv", ["xd", "wd"], ["c"]),
             helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["y"])]
    data = make_model(nodes, {"x": ((1, 2, 3, 3), F32)}, ["y"], inits, output_dtype=np.uint8)
    model = arielml.load(data)
    x = rng.uniform(-3, 3, (1, 2, 3, 3)).astype(F32)
    got, expected = model.run([x])[0], run_onnxruntime(data, [x])[0]
    assert got.dtype == np.uint8 and got.shape == expected.shape
    assert np.max(np.abs(got.astype(int) - expected.astype(int))) <= 1


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_pad_of_a_quantised_tensor_pads_with_the_raw_value(dtype):
    """ONNX pads an integer tensor with the raw value given (0 by default); TFLite's PAD pads with the
    zero point: the frontend makes that a PADV2 with the raw value (uint8: shifted like the tensor)."""
    rng = np.random.default_rng(6)
    w = rng.integers(-63, 64, (4, 3, 1, 1)).astype(np.int8)
    inits = {"xs": F32(0.05), "xz": np.array(3, dtype), "w": w, "ws": F32(0.02), "wz": np.array(0, np.int8),
             "ys": F32(0.1), "yz": np.array(17, dtype), "p": np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["cq"]),
             helper.make_node("Pad", ["cq", "p"], ["pq"]),
             helper.make_node("DequantizeLinear", ["pq", "ys", "yz"], ["y"])]
    data = make_model(nodes, {"x": ((1, 3, 4, 5), F32)}, ["y"], inits)
    model = arielml.load(data)
    assert any(n.op == "PADV2" for n in model.graph.nodes)
    x = rng.uniform(-2, 2, (1, 3, 4, 5)).astype(F32)
    got, expected = model.run([x])[0], run_onnxruntime(data, [x])[0]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got[:, :, 0], expected[:, :, 0])  # a padded row: exactly the raw value
    assert np.max(np.abs(got - expected)) <= 0.1 * 1.0001


# (ONNX's Relu has no uint8 type: onnxruntime refuses such a model)
@pytest.mark.parametrize("op,dtype", [("Relu", np.int8), ("Clip", np.int8), ("Clip", np.uint8)])
def test_relu_and_clip_of_stored_integers(op, dtype):
    """ONNX Relu / Clip on an integer tensor work on the stored values (max(q, 0), clamp(q, lo, hi)),
    not on real values as TFLite's int8 RELU does: MAXIMUM / MINIMUM with raw constants."""
    rng = np.random.default_rng(8)
    w = rng.integers(-63, 64, (4, 3, 1, 1)).astype(np.int8)
    lo, hi = (-5, 40) if dtype == np.int8 else (100, 200)
    inits = {"xs": F32(0.05), "xz": np.array(3, dtype), "w": w, "ws": F32(0.02), "wz": np.array(0, np.int8),
             "ys": F32(0.01), "yz": np.array(-20 if dtype == np.int8 else 120, dtype),
             "lo": np.array(lo, dtype), "hi": np.array(hi, dtype)}
    act = (helper.make_node("Relu", ["cq"], ["rq"]) if op == "Relu"
           else helper.make_node("Clip", ["cq", "lo", "hi"], ["rq"]))
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["cq"]), act,
             helper.make_node("DequantizeLinear", ["rq", "ys", "yz"], ["y"])]
    data = make_model(nodes, {"x": ((1, 3, 4, 4), F32)}, ["y"], inits)
    model = arielml.load(data)
    x = rng.uniform(-2, 2, (1, 3, 4, 4)).astype(F32)
    got, expected = model.run([x])[0], run_onnxruntime(data, [x])[0]
    assert np.max(np.abs(got - expected)) <= 0.01 * 1.0001  # QLinearConv's tie rounding at most
