"""--semantics onnxruntime against onnxruntime's CPU provider with its default session options (what
users run): the int8 convolutions and matrix products requantise as MLAS does (float32 scale, half
to even), QuantizeLinear rounds half to even (docs/semantics.md, "ONNX Runtime"). Every assertion is
bit-exact. Weights are 7-bit in the random single-operator models: with uint8 activations and
full-range int8 weights, onnxruntime on an AVX2 host without VNNI saturates pairs of products in
int16 (vpmaddubsw), a result of that host, not of onnxruntime's arithmetic; quantize_static's models
use full-range weights with int8 activations, which onnxruntime computes exactly."""
from __future__ import annotations

import numpy as np
import pytest

import arielml
from arielml.errors import ArielError
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross
from tests.onnx_models import helper, make_model, ort, run_onnxruntime
from tests.test_onnx_quant import _case

F32 = np.float32
needs_zoo = pytest.mark.skipif(not (ZOO / "tflite_micro" / "hello_world_int8.tflite").exists(),
                               reason="zoo not present")


def _default_session(model) -> "ort.InferenceSession":
    source = model if isinstance(model, (bytes, str)) else str(model)
    return ort.InferenceSession(source, providers=["CPUExecutionProvider"])


# ---- single operators ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["conv", "matmul"])
@pytest.mark.parametrize("seed", range(10))
def test_qlinear_conv_and_matmul_are_bit_exact(kind, seed):
    """int8 and uint8 activations (seed parity), per-tensor and per-channel weights (seed % 3)."""
    model, xf, _, _ = _case(seed, kind)
    expected = run_onnxruntime(model, [xf])[0]
    got = arielml.load(model).run([xf], semantics="onnxruntime")[0]
    np.testing.assert_array_equal(got, expected)


def test_litert_semantics_differs_from_onnxruntime_at_rounding_ties():
    """The fixed-point alternative (the default): one step off where acc * scale is near a tie."""
    differ = total = 0
    for seed in range(12):
        model, xf, ys, _ = _case(seed, "conv")
        expected = run_onnxruntime(model, [xf])[0]
        got = arielml.load(model).run([xf])[0]
        steps = np.rint(np.abs(got.astype(np.float64) - expected) / ys)
        assert steps.max() <= 1
        differ, total = differ + int((steps > 0).sum()), total + steps.size
    assert 0 < differ < total / 500


def _qgemm_model(seed: int, signed: bool):
    """com.microsoft QGemm with int32 bias, transB, per-tensor or per-channel weights."""
    rng = np.random.default_rng(seed)
    dtype = np.int8 if signed else np.uint8
    lo, hi = (-128, 128) if signed else (0, 256)
    k, n = int(rng.integers(4, 40)), int(rng.integers(1, 16))
    x = rng.integers(lo, hi, (2, k)).astype(dtype)
    w = rng.integers(-63, 64, (n, k)).astype(np.int8)
    ws = rng.uniform(0.001, 0.02, n).astype(F32) if seed % 2 else np.array(0.01, F32)
    xs, ys = F32(rng.uniform(0.01, 0.1)), F32(rng.uniform(0.05, 0.5))
    xz, yz = dtype(rng.integers(lo, hi)), dtype(rng.integers(lo, hi))
    xf = ((x.astype(F32) - F32(xz)) * xs).astype(F32)
    inits = {"xs": xs, "xz": np.array(xz, dtype), "w": w, "ws": ws, "wz": np.zeros(ws.shape, np.int8),
             "b": rng.integers(-3000, 3000, n).astype(np.int32), "ys": ys, "yz": np.array(yz, dtype)}
    nodes = [helper.make_node("QuantizeLinear", ["xf", "xs", "xz"], ["xq"]),
             helper.make_node("QGemm", ["xq", "xs", "xz", "w", "ws", "wz", "b", "ys", "yz"], ["yq"],
                              domain="com.microsoft", transB=1),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
    model = make_model(nodes, {"xf": (xf.shape, F32)}, ["y"], inits)
    patched = __import__("onnx").load_from_string(model)
    patched.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return patched.SerializeToString(), xf


@pytest.mark.parametrize("seed", range(6))
def test_qgemm_is_bit_exact(seed):
    model, xf = _qgemm_model(seed, signed=seed < 3)
    np.testing.assert_array_equal(arielml.load(model).run([xf], semantics="onnxruntime")[0],
                                  run_onnxruntime(model, [xf])[0])


@pytest.mark.parametrize("seed", range(6))
def test_qdq_conv_fused_by_onnxruntime_is_bit_exact(seed):
    """Q -> DQ -> Conv -> Q -> DQ, int8 activations: on x86 onnxruntime turns both Q/DQ pairs to uint8
    (QDQS8ToU8Transformer) and fuses the group into a QLinearConv."""
    rng = np.random.default_rng(seed)
    c, out_c = int(rng.integers(1, 6)), int(rng.integers(1, 10))
    w = rng.integers(-63, 64, (out_c, c, 3, 3)).astype(np.int8)
    ws = rng.uniform(0.002, 0.02, out_c).astype(F32) if seed % 2 else np.array(0.01, F32)
    xs, ys = F32(rng.uniform(0.01, 0.05)), F32(rng.uniform(0.05, 0.3))
    xz, yz = np.int8(rng.integers(-20, 20)), np.int8(rng.integers(-20, 20))
    bs = (xs * ws).astype(F32)
    inits = {"xs": xs, "xz": np.array(xz), "w": w, "ws": ws, "wz": np.zeros(ws.shape, np.int8),
             "b": rng.integers(-2000, 2000, out_c).astype(np.int32), "bs": bs, "bz": np.zeros(bs.shape, np.int32),
             "ys": ys, "yz": np.array(yz)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=0),
             helper.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bd"], axis=0),
             helper.make_node("Conv", ["xd", "wd", "bd"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
    model = make_model(nodes, {"x": ((1, c, 8, 8), F32)}, ["y"], inits)
    x = rng.standard_normal((1, c, 8, 8)).astype(F32)
    model_ir = arielml.load(model)
    assert [n.op for n in model_ir.graph.nodes].count("CONV_2D") == 1
    np.testing.assert_array_equal(model_ir.run([x], semantics="onnxruntime")[0], run_onnxruntime(model, [x])[0])


def test_quantize_linear_rounds_half_to_even():
    xs = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 126.5, 127.5, 300.0, -300.0, np.nan], F32).reshape(1, -1)
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    model = make_model(nodes, {"x": (xs.shape, F32)}, ["y"], {"s": F32(1.0), "z": np.array(0, np.int8)})
    expected = run_onnxruntime(model, [xs])[0]
    loaded = arielml.load(model)
    np.testing.assert_array_equal(loaded.run([xs], semantics="onnxruntime")[0], expected)
    assert not np.array_equal(loaded.run([xs])[0], expected)  # LiteRT rounds ties away from zero


@needs_zoo
def test_tflite_models_refuse_onnxruntime_semantics():
    model = arielml.load(str(ZOO / "tflite_micro" / "hello_world_int8.tflite"))
    with pytest.raises(ArielError, match="ONNX models"):
        model.run(model.random_inputs(), semantics="onnxruntime")
    with pytest.raises(ArielError, match="ONNX models"):
        model.session(semantics="onnxruntime")


# ---- quantize_static models --------------------------------------------------------------------------

def plain_cnn(seed: int = 0, average: bool = False) -> bytes:
    """Conv -> Relu -> MaxPool -> depthwise Conv -> Relu -> Conv 1x1 -> [GlobalAveragePool] -> Flatten
    -> Gemm (no softmax: onnxruntime runs QLinearSoftmax, not reproduced, see the docs)."""
    rng = np.random.default_rng(seed)
    r = lambda *s: rng.standard_normal(s).astype(F32)  # noqa: E731
    inits = {"W1": r(8, 3, 3, 3) * 0.5, "B1": r(8), "DW": r(8, 1, 3, 3) * 0.5, "DB": r(8) * 0.1,
             "PW": r(12, 8, 1, 1) * 0.5, "FW": r(10, 12 if average else 12 * 4 * 4) * 0.1, "FB": r(10)}
    nodes = [helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "DW", "DB"], ["c2"], group=8, pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("Conv", ["r2", "PW"], ["c3"])]
    if average:  # onnxruntime: QLinearGlobalAveragePool (QDQ fused, or QOperator)
        nodes.append(helper.make_node("GlobalAveragePool", ["c3"], ["g"]))
    nodes += [helper.make_node("Flatten", ["g" if average else "c3"], ["f"]),
              helper.make_node("Gemm", ["f", "FW", "FB"], ["y"], transB=1)]
    return make_model(nodes, {"x": ((1, 3, 16, 16), F32)}, ["y"], inits)


def plain_mlp(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    r = lambda *s: rng.standard_normal(s).astype(F32)  # noqa: E731
    inits = {"W1": r(24, 20) * 0.3, "B1": r(24), "W2": r(16, 24) * 0.3, "B2": r(16), "W3": r(5, 16) * 0.3,
             "B3": r(5)}
    nodes = [helper.make_node("Gemm", ["x", "W1", "B1"], ["h1"], transB=1), helper.make_node("Relu", ["h1"], ["a1"]),
             helper.make_node("Gemm", ["a1", "W2", "B2"], ["h2"], transB=1), helper.make_node("Relu", ["h2"], ["a2"]),
             helper.make_node("Gemm", ["a2", "W3", "B3"], ["y"], transB=1)]
    return make_model(nodes, {"x": ((1, 20), F32)}, ["y"], inits)


def quantize(tmp_path, source: bytes, shape, quant_format: str, per_channel: bool) -> str:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    (tmp_path / "float.onnx").write_bytes(source)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"x": np.random.default_rng(i).standard_normal(shape).astype(F32)}
                                 for i in range(8)])

        def get_next(self):
            return next(self.batches, None)

    target = tmp_path / f"{quant_format}_{int(per_channel)}.onnx"
    quantize_static(str(tmp_path / "float.onnx"), str(target), Reader(),
                    quant_format=getattr(QuantFormat, quant_format),
                    per_channel=per_channel, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    return str(target)


FORMATS = [("QDQ", False), ("QDQ", True), ("QOperator", False), ("QOperator", True)]


def residual_cnn(seed: int = 0, softmax: bool = False) -> bytes:
    """Conv -> Relu -> Conv -> Relu, the two added (a skip connection) -> GlobalAveragePool -> Gemm
    [-> Softmax]."""
    rng = np.random.default_rng(seed)
    r = lambda *s: rng.standard_normal(s).astype(F32)  # noqa: E731
    inits = {"W1": r(8, 3, 3, 3) * 0.5, "B1": r(8), "W2": r(8, 8, 3, 3) * 0.2, "B2": r(8) * 0.1, "FW": r(10, 8),
             "FB": r(10)}
    nodes = [helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "W2", "B2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"]), helper.make_node("Add", ["r1", "r2"], ["s"]),
             helper.make_node("GlobalAveragePool", ["s"], ["g"]), helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "FW", "FB"], ["logits" if softmax else "y"], transB=1)]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["y"], axis=-1))
    return make_model(nodes, {"x": ((1, 3, 12, 12), F32)}, ["y"], inits)


NETWORKS = {"cnn": (lambda: plain_cnn(), (1, 3, 16, 16)), "cnn_average": (lambda: plain_cnn(1, True), (1, 3, 16, 16)),
            "mlp": (lambda: plain_mlp(), (1, 20))}


@pytest.mark.parametrize("network", sorted(NETWORKS))
@pytest.mark.parametrize("quant_format,per_channel", FORMATS)
def test_quantize_static_models_are_bit_exact(tmp_path, network, quant_format, per_channel):
    build, shape = NETWORKS[network]
    path = quantize(tmp_path, build(), shape, quant_format, per_channel)
    model, session = arielml.load(path), _default_session(path)
    ops = [n.op for n in model.graph.nodes]
    assert "FULLY_CONNECTED" in ops and all(model.graph.tensors[n.outputs[0]].dtype == "int8" for n in
                                            model.graph.nodes if n.op in ("CONV_2D", "FULLY_CONNECTED"))
    for seed in range(8):
        x = np.random.default_rng(100 + seed).standard_normal(shape).astype(F32)
        np.testing.assert_array_equal(model.run([x], semantics="onnxruntime")[0], session.run(None, {"x": x})[0])


@pytest.mark.cross
@needs_cross
def test_quantize_static_cnn_on_two_emulated_rp2040_cores_is_bit_exact(tmp_path):
    path = quantize(tmp_path, residual_cnn(softmax=True), (1, 3, 12, 12), "QOperator", True)
    model, session = arielml.load(path), _default_session(path)
    assert {"MEAN", "ADD", "SOFTMAX"} <= {n.op for n in model.graph.nodes}  # the onnxruntime kernels
    inputs = [np.random.default_rng(200 + i).standard_normal((1, 3, 12, 12)).astype(F32) for i in range(3)]
    emulated = model.session(backend="emulator", target="rp2040", cores=2, semantics="onnxruntime")
    for x in inputs:
        np.testing.assert_array_equal(emulated.run([x])[0], session.run(None, {"x": x})[0])
    np.testing.assert_array_equal(model.run([inputs[0]], backend="emulator", target="rp2040", cores=2,
                                            semantics="onnxruntime")[0], session.run(None, {"x": inputs[0]})[0])


@needs_zoo
def test_fusion_decisions_of_onnxruntime_are_named_in_the_notes(tmp_path):
    """lenet5_quantized.onnx (tf2onnx: Q -> Reshape -> DQ chains) keeps int8 inputs where its outputs
    become uint8 pairs: onnxruntime leaves its first Conv and first Gemm unfused (float32), as its
    optimized graph shows; quantize_static's QDQ CNN is fused throughout (no such note)."""
    graph = arielml.load(str(ZOO / "simpletinyml_oneliner" / "lenet5_quantized.onnx")).graph
    unfused = [note for note in graph.notes if "does not fuse" in note]
    assert len(unfused) == 2 and "does not fuse Conv" in unfused[0] and "does not fuse Gemm" in unfused[1]
    assert any("does not reproduce" in note and "Conv (run in float32" in note for note in graph.notes)
    path = quantize(tmp_path, plain_cnn(), (1, 3, 16, 16), "QDQ", True)
    assert not [note for note in arielml.load(path).graph.notes if "does not" in note]


def test_operators_not_reproduced_are_named(tmp_path):
    from tests.test_onnx_quant import _quantized_cnn, ms_qlinear_model
    for op in ("QLinearSigmoid",):
        notes = arielml.load(ms_qlinear_model(op)[0]).graph.notes
        assert any("does not reproduce" in note and op in note for note in notes)
    # BatchNormalization, GlobalAveragePool and Softmax are all reproduced: nothing named
    notes = arielml.load(_quantized_cnn(tmp_path, "QDQ", True, "QInt8")).graph.notes
    assert not [note for note in notes if "does not reproduce" in note]


def test_qlinear_global_average_pool_is_an_int8_mean_bit_exact_with_onnxruntime():
    from tests.test_onnx_quant import ms_qlinear_model
    data, a, b = ms_qlinear_model("QLinearGlobalAveragePool")
    model = arielml.load(data)
    assert [n.op for n in model.graph.nodes].count("MEAN") == 1
    for seed in range(5):
        x, y = (np.random.default_rng(seed).uniform(-2, 2, a.shape).astype(F32) for _ in range(2))
        np.testing.assert_array_equal(model.run([x, y], semantics="onnxruntime")[0], run_onnxruntime(data, [x, y])[0])


@pytest.mark.parametrize("per_channel", [False, True])
def test_residual_cnn_qoperator_is_bit_exact_with_qlinear_add(tmp_path, per_channel):
    """QLinearAdd as an 8-bit ADD with MLAS's AVX2 arithmetic (fused multiply-adds, ops/ort_add.py)."""
    path = quantize(tmp_path, residual_cnn(), (1, 3, 12, 12), "QOperator", per_channel)
    model, session = arielml.load(path), _default_session(path)
    assert [n.options.onnxruntime for n in model.graph.nodes if n.op == "ADD"] == ["qlinear_s8"]
    for seed in range(8):
        x = np.random.default_rng(300 + seed).standard_normal((1, 3, 12, 12)).astype(F32)
        np.testing.assert_array_equal(model.run([x], semantics="onnxruntime")[0], session.run(None, {"x": x})[0])


def test_residual_cnn_qdq_names_what_onnxruntime_leaves_in_float(tmp_path):
    """The skip connection's Q feeds two DQs: it stays int8 on x86 while the other pairs become uint8,
    so onnxruntime fuses neither Conv nor the Add (as its optimized graph shows). The Add's float32
    path is reproduced ("float"); the Convs' float32 sums are not, and the notes say so."""
    path = quantize(tmp_path, residual_cnn(), (1, 3, 12, 12), "QDQ", True)
    model = arielml.load(path)
    assert [n.options.onnxruntime for n in model.graph.nodes if n.op == "ADD"] == ["float"]
    assert len([note for note in model.graph.notes if "does not fuse Conv" in note]) == 2


def _qdq_add_model(seed: int):
    """Q -> DQ of two inputs -> Add -> Q -> DQ: both pairs become uint8 on x86, a fused QLinearAdd."""
    rng = np.random.default_rng(seed)
    sx, sy, sz = (F32(rng.uniform(0.01, 0.05)) for _ in range(3))
    inits = {"sx": sx, "zx": np.array(rng.integers(-10, 10), np.int8), "sy": sy,
             "zy": np.array(rng.integers(-10, 10), np.int8), "sz": sz, "zz": np.array(rng.integers(-10, 10), np.int8)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
             helper.make_node("QuantizeLinear", ["y", "sy", "zy"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "sy", "zy"], ["yd"]),
             helper.make_node("Add", ["xd", "yd"], ["s"]),
             helper.make_node("QuantizeLinear", ["s", "sz", "zz"], ["sq"]),
             helper.make_node("DequantizeLinear", ["sq", "sz", "zz"], ["out"])]
    return make_model(nodes, {"x": ((1, 4, 8, 8), F32), "y": ((1, 4, 8, 8), F32)}, ["out"], inits)


@pytest.mark.parametrize("seed", range(4))
def test_qdq_add_and_qlinear_add_are_bit_exact_on_the_reference_and_native(seed):
    from tests.test_onnx_quant import ms_qlinear_model
    for data, shape in ((_qdq_add_model(seed), (1, 4, 8, 8)), (ms_qlinear_model("QLinearAdd")[0], (1, 3, 4, 4))):
        model = arielml.load(data)
        rng = np.random.default_rng(seed)
        x, y = (rng.uniform(-3, 3, shape).astype(F32) for _ in range(2))
        expected = run_onnxruntime(data, [x, y])[0]
        np.testing.assert_array_equal(model.run([x, y], semantics="onnxruntime")[0], expected)
        if seed == 0:
            np.testing.assert_array_equal(model.run([x, y], backend="native", semantics="onnxruntime")[0], expected)


def test_integer_emulation_of_the_float_requantisation_matches_float32(tmp_path):
    """ariel_scale_round_even (runtime/include/ariel_round_even.h) against numpy's float32: accumulators
    over the whole int32 range (float32(acc) rounds above 2^24), exact ties, tiny, subnormal and large
    scales; and ariel_round_half_even."""
    import shutil
    import subprocess
    from pathlib import Path
    rng = np.random.default_rng(0)
    accs = np.concatenate([rng.integers(-2**31, 2**31, 4000), rng.integers(-2**20, 2**20, 4000),
                           np.array([0, 1, -1, 2**24 - 1, 2**24 + 1, 2**25 + 3, -2**31, 2**31 - 1])]).astype(np.int64)
    scales = np.concatenate([rng.uniform(1e-6, 1.0, 3000), 2.0 ** -rng.integers(1, 40, 2000),
                             rng.uniform(1, 300, 1000), [1e-45, 3e-39, 1e-38, 0.0]]).astype(F32)
    pairs = np.stack([accs[rng.integers(0, accs.size, 20000)], rng.integers(0, scales.size, 20000)], axis=1)
    odd = rng.integers(-2**10, 2**10, 4000) * 2 + 1  # acc * 2^-m with acc odd * 2^(m-1): exact ties
    m = rng.integers(1, 20, 4000)
    tie_accs, tie_scales = odd * 2 ** (m - 1), (2.0 ** -m).astype(F32)
    acc = np.concatenate([pairs[:, 0], tie_accs]).astype(np.int64)
    scale = np.concatenate([scales[pairs[:, 1]], tie_scales]).astype(F32)
    expected = np.rint(np.clip(acc.astype(F32) * scale, F32(-2**30), F32(2**30))).astype(np.int64)
    source = tmp_path / "t.c"
    source.write_text('#include <stdio.h>\n#include "ariel_round_even.h"\nint main(void) {\n'
                      '    long long a; unsigned s; float f;\n'
                      '    while (scanf("%lld %u %f", &a, &s, &f) == 3) {\n'
                      '        printf("%ld %ld\\n", (long)ariel_scale_round_even((int32_t)a, (int32_t)s),\n'
                      '               (long)ariel_round_half_even(f));\n    }\n    return 0;\n}\n')
    include = Path(arielml.__file__).parent / "runtime" / "include"
    binary = tmp_path / "t"
    subprocess.run([shutil.which("gcc") or "cc", "-std=c99", "-O2", "-I", str(include), str(source), "-o", str(binary)],
                   check=True)
    halves = (rng.integers(-2**22, 2**22, acc.size) / 2).astype(F32)
    text = "\n".join(f"{a} {int(s.view(np.uint32))} {float(h)!r}" for a, s, h in zip(acc, scale, halves))
    out = subprocess.run([str(binary)], input=text, capture_output=True, text=True, check=True).stdout.split()
    got = np.array(out, np.int64).reshape(-1, 2)
    np.testing.assert_array_equal(got[:, 0], expected)
    np.testing.assert_array_equal(got[:, 1], np.rint(halves).astype(np.int64))


@pytest.mark.parametrize("quant_format", ["QDQ", "QOperator"])
def test_softmax_classifier_is_bit_exact_with_qlinear_softmax(tmp_path, quant_format):
    """quantize_static's small_cnn (BatchNormalization, GlobalAveragePool, Softmax): onnxruntime runs a
    QLinearSoftmax (its float32 table of exponentials, ops/ort_softmax.py)."""
    from tests.test_onnx_quant import _quantized_cnn
    path = _quantized_cnn(tmp_path, quant_format, quant_format == "QDQ", "QInt8")
    model, session = arielml.load(path), _default_session(path)
    assert [n.options.onnxruntime != () for n in model.graph.nodes if n.op == "SOFTMAX"] == [True]
    for seed in range(8):
        x = np.random.default_rng(400 + seed).standard_normal((1, 3, 16, 16)).astype(F32)
        np.testing.assert_array_equal(model.run([x], semantics="onnxruntime")[0], session.run(None, {"x": x})[0])


def _qlinear_softmax_model(signed: bool, y_scale: float, depth: int):
    import onnx
    dtype = np.int8 if signed else np.uint8
    inits = {"xs": F32(0.07), "xz": np.array(3 if signed else 131, dtype), "ys": F32(y_scale),
             "yz": np.array(-128 if signed else 0, dtype)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("QLinearSoftmax", ["xq", "xs", "xz", "ys", "yz"], ["yq"], domain="com.microsoft",
                              axis=-1, opset=13),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
    model = onnx.load_from_string(make_model(nodes, {"x": ((3, depth), F32)}, ["y"], inits))
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model.SerializeToString()


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("y_scale", [1 / 256, 1 / 255])
def test_qlinear_softmax_is_bit_exact_on_the_reference_and_native(signed, y_scale):
    data = _qlinear_softmax_model(signed, y_scale, 37)
    model = arielml.load(data)
    for seed in range(6):
        x = np.random.default_rng(seed).uniform(-6, 6, (3, 37)).astype(F32)
        expected = run_onnxruntime(data, [x])[0]
        np.testing.assert_array_equal(model.run([x], semantics="onnxruntime")[0], expected)
        if seed == 0:
            np.testing.assert_array_equal(model.run([x], backend="native", semantics="onnxruntime")[0], expected)


def test_qdq_softmax_on_the_int8_kernel_takes_onnxruntime_arithmetic():
    """Output scale 1/256, zero point -128: the int8 SOFTMAX kernel takes the group; under onnxruntime
    semantics it computes the QLinearSoftmax (uint8 on x86 after the pair rewrite)."""
    inits = {"xs": F32(0.05), "xz": np.array(-7, np.int8), "ys": F32(1 / 256), "yz": np.array(-128, np.int8)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node("Softmax", ["xd"], ["s"], axis=-1),
             helper.make_node("QuantizeLinear", ["s", "ys", "yz"], ["sq"]),
             helper.make_node("DequantizeLinear", ["sq", "ys", "yz"], ["y"])]
    data = make_model(nodes, {"x": ((4, 21), F32)}, ["y"], inits)
    model = arielml.load(data)
    softmax = [n for n in model.graph.nodes if n.op == "SOFTMAX"]
    assert len(softmax) == 1 and model.graph.tensors[softmax[0].inputs[0]].dtype == "int8"
    for seed in range(6):
        x = np.random.default_rng(seed).uniform(-5, 5, (4, 21)).astype(F32)
        expected = run_onnxruntime(data, [x])[0]
        np.testing.assert_array_equal(model.run([x], semantics="onnxruntime")[0], expected)
        if seed == 0:
            np.testing.assert_array_equal(model.run([x], backend="native", semantics="onnxruntime")[0], expected)


def test_leaky_relu_tables_are_bit_exact_on_every_code():
    """DQ -> LeakyRelu -> Q as an int8 LEAKY_RELU: onnxruntime's table (float32 function of each
    dequantised code, QuantizeLinear), on all 256 codes; the default litert semantics differs."""
    inits = {"xs": F32(0.03), "xz": np.array(5, np.int8), "ys": F32(0.02), "yz": np.array(-20, np.int8)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node("LeakyRelu", ["xd"], ["l"], alpha=0.13),
             helper.make_node("QuantizeLinear", ["l", "ys", "yz"], ["lq"]),
             helper.make_node("DequantizeLinear", ["lq", "ys", "yz"], ["y"])]
    data = make_model(nodes, {"x": ((1, 256), F32)}, ["y"], inits)
    model = arielml.load(data)
    assert "LEAKY_RELU" in [n.op for n in model.graph.nodes]
    x = ((np.arange(256) - 128 - 5) * F32(0.03)).astype(F32).reshape(1, 256)
    expected = run_onnxruntime(data, [x])[0]
    np.testing.assert_array_equal(model.run([x], semantics="onnxruntime")[0], expected)
    np.testing.assert_array_equal(model.run([x], backend="native", semantics="onnxruntime")[0], expected)
    assert not np.array_equal(model.run([x])[0], expected)


@pytest.mark.parametrize("op", ["QLinearLeakyRelu", "QLinearConcat"])
def test_qlinear_float_islands_that_are_exact(op):
    """Their float islands compute what onnxruntime's tables compute, so no note names them."""
    from tests.test_onnx_quant import ms_qlinear_model
    data, a, _ = ms_qlinear_model(op)
    model = arielml.load(data)
    assert not [note for note in model.graph.notes if "does not reproduce" in note]
    for seed in range(5):
        x, y = (np.random.default_rng(seed).uniform(-3, 3, a.shape).astype(F32) for _ in range(2))
        np.testing.assert_array_equal(model.run([x, y], semantics="onnxruntime")[0], run_onnxruntime(data, [x, y])[0])


def _qdq_mul_model(seed: int, shared: bool):
    """Q -> DQ of two inputs -> Mul -> Q -> DQ, scales on a coarse grid (exact ties). shared: a's Q also
    feeds a second DQ, so on x86 it stays int8 and (for int8 models) the Mul runs in float32."""
    rng = np.random.default_rng(seed)
    dtype = np.int8 if seed % 2 else np.uint8
    lo, hi = (-128, 128) if dtype == np.int8 else (0, 256)
    sa, sb, sc = F32(rng.integers(1, 64) / 256), F32(rng.integers(1, 64) / 256), F32(rng.integers(1, 64) / 64)
    zeros = [dtype(rng.integers(lo, hi)) for _ in range(3)]
    inits = {"sa": sa, "za": np.array(zeros[0]), "sb": sb, "zb": np.array(zeros[1]), "sc": sc, "zc": np.array(zeros[2])}
    nodes = [helper.make_node("QuantizeLinear", ["a", "sa", "za"], ["aq"]),
             helper.make_node("DequantizeLinear", ["aq", "sa", "za"], ["ad"]),
             helper.make_node("QuantizeLinear", ["b", "sb", "zb"], ["bq"]),
             helper.make_node("DequantizeLinear", ["bq", "sb", "zb"], ["bd"])]
    outputs = ["y"]
    if shared:
        nodes += [helper.make_node("DequantizeLinear", ["aq", "sa", "za"], ["ad2"]),
                  helper.make_node("Relu", ["ad2"], ["r"])]
        outputs.append("r")
    nodes += [helper.make_node("Mul", ["ad", "bd"], ["c"]),
              helper.make_node("QuantizeLinear", ["c", "sc", "zc"], ["cq"]),
              helper.make_node("DequantizeLinear", ["cq", "sc", "zc"], ["y"])]
    data = make_model(nodes, {"a": ((1, 2048), F32), "b": ((1, 2048), F32)}, outputs, inits)
    qa, qb = rng.integers(lo, hi, 2048), rng.integers(lo, hi, 2048)
    a = ((qa - int(zeros[0])) * sa).astype(F32).reshape(1, -1)
    b = ((qb - int(zeros[1])) * sb).astype(F32).reshape(1, -1)
    return data, a, b


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_qdq_mul_and_qlinear_mul_are_bit_exact(seed, shared):
    from tests.test_onnx_quant import ms_qlinear_model
    data, a, b = _qdq_mul_model(seed, shared)
    model = arielml.load(data)
    mode = [n.options.onnxruntime for n in model.graph.nodes if n.op == "MUL"]
    assert mode == ["float" if shared and seed % 2 else "qlinear_u8"]
    expected = run_onnxruntime(data, [a, b])[0]
    np.testing.assert_array_equal(model.run([a, b], semantics="onnxruntime")[0], expected)
    if seed < 2:
        np.testing.assert_array_equal(model.run([a, b], backend="native", semantics="onnxruntime")[0], expected)
    data, a, b = ms_qlinear_model("QLinearMul")
    x, y = (np.random.default_rng(seed).uniform(-3, 3, a.shape).astype(F32) for _ in range(2))
    np.testing.assert_array_equal(arielml.load(data).run([x, y], semantics="onnxruntime")[0],
                                  run_onnxruntime(data, [x, y])[0])


def test_hard_swish_table_is_bit_exact_on_every_code():
    """DQ -> HardSwish -> Q as an int8 HARD_SWISH: onnxruntime's float32 x * HardSigmoid(x) table."""
    checked = 0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        inits = {"xs": F32(rng.uniform(0.01, 0.06)), "xz": np.array(rng.integers(-30, 30), np.int8),
                 "ys": F32(rng.uniform(0.01, 0.05)), "yz": np.array(rng.integers(-30, 30), np.int8)}
        nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
                 helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
                 helper.make_node("HardSwish", ["xd"], ["h"]),
                 helper.make_node("QuantizeLinear", ["h", "ys", "yz"], ["hq"]),
                 helper.make_node("DequantizeLinear", ["hq", "ys", "yz"], ["y"])]
        data = make_model(nodes, {"x": ((1, 256), F32)}, ["y"], inits)
        model = arielml.load(data)
        if "HARD_SWISH" not in [n.op for n in model.graph.nodes]:
            continue  # scales TFLite's int8 kernel refuses: a float island, named in the notes
        x = ((np.arange(-128, 128) - int(inits["xz"])) * inits["xs"]).astype(F32).reshape(1, 256)
        expected = run_onnxruntime(data, [x])[0]
        np.testing.assert_array_equal(model.run([x], semantics="onnxruntime")[0], expected)
        if checked == 0:
            np.testing.assert_array_equal(model.run([x], backend="native", semantics="onnxruntime")[0], expected)
        checked += 1
    assert checked >= 2


def test_hard_swish_float_island_is_onnxruntimes():
    """QLinear-free float HardSwish (a float model, or a QOperator model's float island): onnxruntime's
    x * HardSigmoid(x), on the reference and native backends."""
    data = make_model([helper.make_node("HardSwish", ["x"], ["y"])], {"x": ((1, 4096), F32)}, ["y"])
    model = arielml.load(data)
    x = np.random.default_rng(0).uniform(-5, 5, (1, 4096)).astype(F32)
    expected = run_onnxruntime(data, [x])[0]
    np.testing.assert_array_equal(model.run([x], semantics="onnxruntime")[0], expected)
    np.testing.assert_array_equal(model.run([x], backend="native", semantics="onnxruntime")[0], expected)
    assert not np.array_equal(model.run([x])[0], expected)  # TFLite's x * relu6(x + 3) / 6 rounds elsewhere


def test_unfolded_batch_normalization_is_bit_exact():
    """A BatchNormalization after a Relu (nothing to fold into): x * s + t with onnxruntime's
    s = (1 / sqrt(var + eps)) * gamma and t = beta - mean * s (gamma / sqrt(...) differs in the last
    bit of about one output in six)."""
    for seed in range(5):
        rng = np.random.default_rng(seed)
        inits = {"g": rng.uniform(0.5, 1.5, 16).astype(F32), "b": rng.standard_normal(16).astype(F32),
                 "m": rng.standard_normal(16).astype(F32), "v": rng.uniform(0.1, 3, 16).astype(F32)}
        nodes = [helper.make_node("Relu", ["x"], ["r"]),
                 helper.make_node("BatchNormalization", ["r", "g", "b", "m", "v"], ["y"], epsilon=1e-3)]
        data = make_model(nodes, {"x": ((1, 16, 8, 8), F32)}, ["y"], inits)
        x = rng.standard_normal((1, 16, 8, 8)).astype(F32)
        np.testing.assert_array_equal(arielml.load(data).run([x], semantics="onnxruntime")[0],
                                      run_onnxruntime(data, [x])[0])


@needs_zoo
def test_cli_run_profile_and_compile_take_onnxruntime_semantics(tmp_path, capsys):
    from arielml.cli import main
    path = quantize(tmp_path, plain_mlp(), (1, 20), "QDQ", True)
    assert main(["run", path, "--semantics", "onnxruntime", "-o", str(tmp_path / "o")]) == 0
    out = tmp_path / "c"
    assert main(["compile", path, "--target", "rp2040", "--cores", "2", "--semantics", "onnxruntime",
                 "-o", str(out)]) == 0
    assert "ariel_fully_connected_s8_fq" in (out / "model.c").read_text()
    assert "conv_s8_float_requant.c" in [p.name for p in (out / "ariel" / "kernels").iterdir()]
    capsys.readouterr()
    assert main(["run", str(ZOO / "tflite_micro" / "hello_world_int8.tflite"), "--semantics", "onnxruntime"]) != 0
    assert "ONNX models" in capsys.readouterr().err


def test_relu_group_table_is_bit_exact_on_every_code():
    """DQ -> Relu -> Q with other output parameters: an int8 RELU computing onnxruntime's float32
    max(DQ(x), 0) and QuantizeLinear for each code (TFLite requantises in fixed point)."""
    inits = {"xs": F32(0.037), "xz": np.array(11, np.int8), "ys": F32(0.021), "yz": np.array(-128, np.int8)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node("Relu", ["xd"], ["r"]),
             helper.make_node("QuantizeLinear", ["r", "ys", "yz"], ["rq"]),
             helper.make_node("DequantizeLinear", ["rq", "ys", "yz"], ["y"])]
    data = make_model(nodes, {"x": ((1, 256), F32)}, ["y"], inits)
    model = arielml.load(data)
    assert "RELU" in [n.op for n in model.graph.nodes]
    x = ((np.arange(-128, 128) - 11) * F32(0.037)).astype(F32).reshape(1, 256)
    expected = run_onnxruntime(data, [x])[0]
    np.testing.assert_array_equal(model.run([x], semantics="onnxruntime")[0], expected)
    np.testing.assert_array_equal(model.run([x], backend="native", semantics="onnxruntime")[0], expected)


def _qdq_average_pool(seed: int, same: bool, kernel: int, stride: int, pad: int):
    """DQ -> AveragePool -> Q on a coarse scale grid (exact ties: 2x2 means of .5 are frequent)."""
    rng = np.random.default_rng(seed)
    xs = F32(rng.integers(1, 64) / 256)
    ys = xs if same else F32(rng.integers(1, 64) / 256)
    xz = np.int8(rng.integers(-20, 20))
    yz = xz if same else np.int8(rng.integers(-20, 20))
    inits = {"xs": xs, "xz": np.array(xz), "ys": ys, "yz": np.array(yz)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node("AveragePool", ["xd"], ["p"], kernel_shape=[kernel, kernel], strides=[stride, stride],
                              pads=[pad] * 4),
             helper.make_node("QuantizeLinear", ["p", "ys", "yz"], ["pq"]),
             helper.make_node("DequantizeLinear", ["pq", "ys", "yz"], ["y"])]
    data = make_model(nodes, {"x": ((1, 8, 8, 8), F32)}, ["y"], inits)
    x = ((rng.integers(-128, 128, (1, 8, 8, 8)) - int(xz)) * xs).astype(F32)
    return data, x


@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("kernel,stride,pad", [(2, 2, 0), (3, 1, 1), (8, 1, 0)])
def test_average_pool_groups_are_bit_exact(same, kernel, stride, pad):
    """Equal parameters: an int8 AVERAGE_POOL_2D; different ones: a float island; an 8x8 window over
    the 8x8 image: QLinearGlobalAveragePool's arithmetic. All as QLinearAveragePool computes them."""
    for seed in range(4):
        data, x = _qdq_average_pool(seed, same, kernel, stride, pad)
        model = arielml.load(data)
        assert [n.options.onnxruntime != () for n in model.graph.nodes if n.op == "AVERAGE_POOL_2D"] == [True]
        expected = run_onnxruntime(data, [x])[0]
        np.testing.assert_array_equal(model.run([x], semantics="onnxruntime")[0], expected)
        if seed == 0:
            np.testing.assert_array_equal(model.run([x], backend="native", semantics="onnxruntime")[0], expected)


def test_qlinear_average_pool_is_bit_exact():
    from tests.test_onnx_quant import ms_qlinear_model
    data, a, _ = ms_qlinear_model("QLinearAveragePool")
    model = arielml.load(data)
    assert not [note for note in model.graph.notes if "does not reproduce" in note]
    for seed in range(5):
        x, y = (np.random.default_rng(seed).uniform(-3, 3, a.shape).astype(F32) for _ in range(2))
        np.testing.assert_array_equal(model.run([x, y], semantics="onnxruntime")[0], run_onnxruntime(data, [x, y])[0])


@pytest.mark.cross
@needs_cross
def test_average_pool_groups_on_two_emulated_rp2040_cores(tmp_path):
    """kernels/pool_onnxruntime.c in soft-float on the Cortex-M0+: int8 path and float island."""
    for same in (True, False):
        data, x = _qdq_average_pool(1, same, 2, 2, 0)
        got = arielml.load(data).run([x], backend="emulator", target="rp2040", cores=2, semantics="onnxruntime")[0]
        np.testing.assert_array_equal(got, run_onnxruntime(data, [x])[0])
