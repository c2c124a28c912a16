"""Whole ONNX models: a small float CNN (BatchNormalization folded) and MLP against onnxruntime, the
zoo's QDQ LeNet-5 against its TFLite twin and onnxruntime, corrupted files and unsupported nodes,
the CLI, and an emulated two-core RP2040 run."""
from __future__ import annotations

import numpy as np
import pytest

import arielml
from arielml.cli import main
from arielml.errors import ModelFormatError, UnsupportedOperatorError
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross
from tests.onnx_models import helper, make_model, ort, run_onnxruntime
from onnx import numpy_helper as onnx_numpy  # noqa: E402

F32 = np.float32
LENET = ZOO / "simpletinyml_oneliner" / "lenet5_quantized.onnx"
LENET_TFLITE = ZOO / "simpletinyml_oneliner" / "lenet5_quantized.tflite"
needs_zoo = pytest.mark.skipif(not LENET.exists(), reason="zoo not present")


def small_cnn(seed: int = 0) -> bytes:
    """Conv -> BatchNormalization -> Relu -> MaxPool -> depthwise Conv -> Clip(0, 6) -> Conv 1x1 ->
    GlobalAveragePool -> Flatten -> Gemm -> Softmax."""
    rng = np.random.default_rng(seed)
    r = lambda *s: rng.standard_normal(s).astype(F32)  # noqa: E731
    inits = {"W1": r(8, 3, 3, 3) * 0.5, "B1": r(8), "gamma": rng.uniform(0.5, 1.5, 8).astype(F32), "beta": r(8),
             "mean": r(8) * 0.1, "var": rng.uniform(0.5, 2, 8).astype(F32), "DW": r(8, 1, 3, 3) * 0.5,
             "PW": r(12, 8, 1, 1) * 0.5, "FW": r(10, 12), "FB": r(10), "lo": F32(0), "hi": F32(6)}
    nodes = [helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "gamma", "beta", "mean", "var"], ["bn"], epsilon=1e-3),
             helper.make_node("Relu", ["bn"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "DW"], ["c2"], group=8, pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Clip", ["c2", "lo", "hi"], ["r2"]),
             helper.make_node("Conv", ["r2", "PW"], ["c3"]),
             helper.make_node("GlobalAveragePool", ["c3"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "FW", "FB"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["y"], axis=1)]
    return make_model(nodes, {"x": ((1, 3, 16, 16), F32)}, ["y"], inits)


def small_mlp(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    inits = {"W1": rng.standard_normal((20, 32)).astype(F32), "B1": rng.standard_normal(32).astype(F32),
             "W2": rng.standard_normal((32, 5)).astype(F32), "B2": rng.standard_normal(5).astype(F32)}
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["m1"]), helper.make_node("Add", ["m1", "B1"], ["a1"]),
             helper.make_node("Relu", ["a1"], ["h"]), helper.make_node("Gemm", ["h", "W2", "B2"], ["y0"]),
             helper.make_node("Tanh", ["y0"], ["y"])]
    return make_model(nodes, {"x": ((2, 20), F32)}, ["y"], inits)


def _float_close(got, expected):
    # float32 sums in different orders (tests/test_onnx_ops.py's module docstring): 1e-5 of the range
    assert got.shape == expected.shape
    assert float(np.max(np.abs(got.astype(np.float64) - expected))) <= 1e-5 * float(np.max(np.abs(expected)))


@pytest.mark.parametrize("seed", range(3))
def test_float_cnn_with_batch_norm_matches_onnxruntime(seed):
    data = small_cnn(seed)
    model = arielml.load(data)
    ops = [n.op for n in model.graph.nodes]
    # BatchNormalization folded; the only layout change is the input's (3 channels: a real TRANSPOSE),
    # and the (1, 12, 1, 1) map before Flatten is a RESHAPE
    assert ops.count("TRANSPOSE") == 1 and "MUL" not in ops and ops.count("CONV_2D") == 2
    assert "DEPTHWISE_CONV_2D" in ops
    x = np.random.default_rng(seed).standard_normal((1, 3, 16, 16)).astype(F32)
    _float_close(model.run([x])[0], run_onnxruntime(data, [x])[0])


@pytest.mark.parametrize("seed", range(3))
def test_float_mlp_matches_onnxruntime(seed):
    data = small_mlp(seed)
    x = np.random.default_rng(seed).standard_normal((2, 20)).astype(F32)
    _float_close(arielml.load(data).run([x])[0], run_onnxruntime(data, [x])[0])


def _lenet_inputs(count: int):
    rng = np.random.default_rng(7)
    return [rng.uniform(0, 1, (1, 1, 28, 28)).astype(F32) for _ in range(count)]


@needs_zoo
def test_lenet5_qdq_onnx_runs_as_int8_and_equals_its_tflite_twin():
    """tf2onnx made the ONNX file from the TFLite one: after lowering the QDQ patterns arielml's graph
    is the TFLite graph's integer arithmetic, and the outputs are the same bytes."""
    onnx_model, tflite_model = arielml.load(LENET), arielml.load(LENET_TFLITE)
    ops = [n.op for n in onnx_model.graph.nodes]
    assert ops.count("CONV_2D") == 2 and ops.count("FULLY_CONNECTED") == 3 and ops.count("MAX_POOL_2D") == 2
    assert all(onnx_model.graph.tensors[n.outputs[0]].dtype == "int8"
               for n in onnx_model.graph.nodes if n.op in ("CONV_2D", "FULLY_CONNECTED"))
    for x in _lenet_inputs(20):
        np.testing.assert_array_equal(onnx_model.run([x])[0], tflite_model.run([x])[0])


@needs_zoo
def test_lenet5_qdq_onnx_against_onnxruntime():
    """Not bit-exact (docs/semantics.md, "ONNX Runtime"): onnxruntime requantises with a float32 scale
    and rounds half to even, and with default session options it fuses only some DQ-op-Q groups (here
    the second Conv and the last two Gemms) and runs the others in float. Measured on the output
    (scale 0.01458): at most 2 steps from onnxruntime without fusions (ORT_ENABLE_BASIC), at most 6
    from the default session. These bounds are what is asserted; most outputs are equal."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    basic = ort.InferenceSession(str(LENET), options, providers=["CPUExecutionProvider"])
    default = ort.InferenceSession(str(LENET), providers=["CPUExecutionProvider"])
    model = arielml.load(LENET)
    step = float(np.float32(0.014583269134163857))
    equal = 0
    for x in _lenet_inputs(30):
        got = model.run([x])[0]
        unfused = basic.run(None, {basic.get_inputs()[0].name: x})[0]
        fused = default.run(None, {default.get_inputs()[0].name: x})[0]
        assert np.max(np.abs(got - unfused)) <= 2 * step + 1e-6
        assert np.max(np.abs(got - fused)) <= 6 * step + 1e-6
        equal += np.array_equal(got, unfused)
    assert equal >= 10  # most inputs: the same bytes


@pytest.mark.parametrize("damage", ["truncated", "random", "empty", "flipped"])
def test_corrupted_onnx_files_give_a_model_format_error(tmp_path, damage, capsys):
    data = small_cnn()
    rng = np.random.default_rng(1)
    if damage == "truncated":
        data = data[:len(data) // 3]
    elif damage == "random":
        data = b"\x08" + rng.bytes(300)
    elif damage == "empty":
        data = b""
    else:
        data = bytearray(data)
        data[40:60] = rng.bytes(20)
        data = bytes(data)
    path = tmp_path / "bad.onnx"
    path.write_bytes(data)
    try:
        arielml.load(path)
    except (ModelFormatError, UnsupportedOperatorError):
        pass  # a flipped byte may also land in an op type's name
    else:
        if damage != "flipped":
            pytest.fail("a damaged file loaded")
    code = main(["inspect", str(path)])
    err = capsys.readouterr().err
    assert code != 0 or damage == "flipped"
    if code != 0:
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_node_that_reads_a_missing_value_is_a_model_format_error():
    data = make_model([helper.make_node("Relu", ["nowhere"], ["y"])], {"x": ((1, 4), F32)}, ["y"])
    with pytest.raises(ModelFormatError, match="nowhere"):
        arielml.load(data)


def test_unsupported_node_is_named_with_its_op_type_and_index():
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="first"),
             helper.make_node("Einsum", ["r", "r"], ["y"], name="my_einsum", equation="ij,ij->ij")]
    data = make_model(nodes, {"x": ((2, 3), F32)}, ["y"])
    with pytest.raises(UnsupportedOperatorError, match=r"'my_einsum' \(#1, op type Einsum"):
        arielml.load(data)


def test_cli_inspect_run_and_compile_accept_onnx(tmp_path, capsys):
    path = tmp_path / "cnn.onnx"
    path.write_bytes(small_cnn())
    assert main(["inspect", str(path)]) == 0
    assert "CONV_2D" in capsys.readouterr().out
    assert main(["run", str(path)]) == 0
    out = tmp_path / "c"
    assert main(["compile", str(path), "--target", "rp2040", "--cores", "2", "-o", str(out)]) == 0
    assert (out / "model.c").exists() and (out / "model_weights.c").exists()


@needs_zoo
@pytest.mark.cross
@needs_cross
def test_lenet5_onnx_on_two_emulated_rp2040_cores_equals_the_reference():
    from arielml.backends.emulator import run_emulated
    model = arielml.load(LENET)
    x = _lenet_inputs(1)[0]
    run = run_emulated(model, [x], "rp2040", 2)
    np.testing.assert_array_equal(run.outputs[0], model.run([x])[0])


@pytest.mark.cross
@needs_cross
def test_float_onnx_cnn_on_emulated_rp2040_same_bytes_on_one_and_two_cores():
    """Float models are float-close to the reference executor (its convolution sums in float64 and
    rounds once; the C kernels sum in float32), and the same bytes for any core count."""
    from arielml.backends.emulator import run_emulated
    model = arielml.load(small_cnn(1))
    x = np.random.default_rng(1).standard_normal((1, 3, 16, 16)).astype(F32)
    one, two = (run_emulated(model, [x], "rp2040", cores).outputs[0] for cores in (1, 2))
    np.testing.assert_array_equal(one, two)
    _float_close(two, model.run([x])[0])


@pytest.mark.parametrize("seed", range(3))
def test_conv_flatten_gemm_head_needs_no_transpose(seed):
    """PyTorch's CNN head Conv -> Flatten -> Linear: the Gemm's weight columns are permuted to the NHWC
    order at load time, so only the input's layout change remains."""
    rng = np.random.default_rng(seed)
    inits = {"W": rng.standard_normal((6, 2, 3, 3)).astype(F32), "G": rng.standard_normal((5, 6 * 4 * 4)).astype(F32),
             "M": rng.standard_normal((6 * 4 * 4, 3)).astype(F32)}
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]), helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]), helper.make_node("Gemm", ["f", "G"], ["y"], transB=1),
             helper.make_node("MatMul", ["f", "M"], ["z"])]
    graph = helper.make_graph(nodes, "head", [helper.make_tensor_value_info("x", 1, [1, 2, 6, 6])],
                              [helper.make_tensor_value_info(n, 1, None) for n in ("y", "z")],
                              [onnx_numpy.from_array(a, n) for n, a in inits.items()])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()
    model = arielml.load(data)
    assert [n.op for n in model.graph.nodes].count("TRANSPOSE") == 1
    x = rng.standard_normal((1, 2, 6, 6)).astype(F32)
    for got, expected in zip(model.run([x]), run_onnxruntime(data, [x])):
        _float_close(got, expected)


def pytorch_style_cnn(seed: int = 0) -> bytes:
    """What torch.onnx.export writes for a small MobileNetV3-like network: a named dynamic batch,
    Constant nodes for Clip's bounds (ReLU6), depthwise Conv, HardSwish, a squeeze-excitation block
    (GlobalAveragePool, 1x1 Convs, HardSigmoid, Mul broadcast over H and W), a residual Add, and
    x.view(x.size(0), -1) as Shape -> Gather -> Unsqueeze -> Concat -> Reshape before the Linear."""
    rng = np.random.default_rng(seed)
    r = lambda *s: (rng.standard_normal(s) * 0.3).astype(F32)  # noqa: E731
    c = 8
    inits = {"w0": r(c, 3, 3, 3), "b0": r(c), "dw": r(c, 1, 3, 3), "bdw": r(c), "se1": r(4, c, 1, 1), "bse1": r(4),
             "se2": r(c, 4, 1, 1), "bse2": r(c), "pw": r(c, c, 1, 1), "bpw": r(c), "fc": r(10, c * 4 * 4), "bfc": r(10),
             "idx0": np.array(0, np.int64), "m1": np.array([-1], np.int64), "ax0": np.array([0], np.int64)}
    n = helper.make_node
    nodes = [n("Constant", [], ["six"], value=onnx_numpy.from_array(np.array(6, F32))),
             n("Constant", [], ["zero"], value=onnx_numpy.from_array(np.array(0, F32))),
             n("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1], strides=[2, 2], kernel_shape=[3, 3]),
             n("Clip", ["c0", "zero", "six"], ["a0"]),
             n("Conv", ["a0", "dw", "bdw"], ["c1"], pads=[1, 1, 1, 1], group=c),
             n("HardSwish", ["c1"], ["a1"]),
             n("GlobalAveragePool", ["a1"], ["s0"]),
             n("Conv", ["s0", "se1", "bse1"], ["s1"]), n("Relu", ["s1"], ["s2"]),
             n("Conv", ["s2", "se2", "bse2"], ["s3"]), n("HardSigmoid", ["s3"], ["s4"], alpha=1 / 6, beta=0.5),
             n("Mul", ["a1", "s4"], ["se"]),
             n("Conv", ["se", "pw", "bpw"], ["c2"]),
             n("Add", ["c2", "a0"], ["res"]),
             n("MaxPool", ["res"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             n("Shape", ["p"], ["sh"]), n("Gather", ["sh", "idx0"], ["batch"], axis=0),
             n("Unsqueeze", ["batch", "ax0"], ["batch1"]), n("Concat", ["batch1", "m1"], ["shape"], axis=0),
             n("Reshape", ["p", "shape"], ["flat"]),
             n("Gemm", ["flat", "fc", "bfc"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "pytorch_style",
                              [helper.make_tensor_value_info("x", 1, ["batch_size", 3, 16, 16])],
                              [helper.make_tensor_value_info("y", 1, ["batch_size", 10])],
                              [onnx_numpy.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


@pytest.mark.parametrize("seed", range(2))
def test_pytorch_style_cnn_matches_onnxruntime(seed):
    data = pytorch_style_cnn(seed)
    model = arielml.load(data)
    ops = [n.op for n in model.graph.nodes]
    assert ops.count("TRANSPOSE") == 1 and "RELU6" in ops and "HARD_SWISH" in ops  # shape chain folded
    x = np.random.default_rng(seed).standard_normal((1, 3, 16, 16)).astype(F32)
    _float_close(model.run([x])[0], run_onnxruntime(data, [x])[0])


@pytest.mark.parametrize("quant_format", ["QDQ", "QOperator"])
def test_pytorch_style_cnn_quantized_within_one_step_of_onnxruntime(tmp_path, quant_format):
    """quantize_static, per-channel: convolutions, the squeeze-excitation Mul and the residual Add run
    on integers (HardSwish and HardSigmoid as float islands). Measured: within one output step of
    onnxruntime, with and without its fusions, on 10 inputs."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static
    source, target = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    source.write_bytes(pytorch_style_cnn(0))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"x": np.random.default_rng(i).standard_normal((1, 3, 16, 16)).astype(F32)}
                                 for i in range(8)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(source), str(target), Reader(), quant_format=getattr(QuantFormat, quant_format),
                    per_channel=True, extra_options={"WeightSymmetric": True})
    model = arielml.load(target)
    integer_ops = {n.op for n in model.graph.nodes if model.graph.tensors[n.outputs[0]].dtype == "int8"}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D"} <= integer_ops
    step = float(model.graph.tensors[model.graph.nodes[-1].inputs[0]].quant.single_scale)
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    for i in range(10):
        x = np.random.default_rng(100 + i).standard_normal((1, 3, 16, 16)).astype(F32)
        got, expected = model.run([x])[0], session.run(None, {"x": x})[0]
        assert np.max(np.abs(got - expected)) <= step * 1.0001
