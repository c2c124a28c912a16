"""Quantised ONNX weights that are not plain int8 initializers with zero point 0, against onnxruntime:
  - QuantizeLinear of weights that load-time folding makes constant (a Reshape of an initializer,
    as onnxruntime's quantize_static writes for the ONNX model zoo's MNIST-8) folded into an integer
    constant with QuantizeLinear's rounding (float32 x / scale, half to even, saturated);
  - uint8 weights and weights with a non-zero zero point, held as int8 w - zp (exact) where that
    fits [-127, 127], else (MatMul/Gemm) int8 with one zero point the kernels subtract; a convolution
    then is refused by name.
Every comparison is bit-exact (semantics onnxruntime; the default litert semantics rounds
differently at ties, tested elsewhere)."""
from __future__ import annotations

import numpy as np
import pytest

import arielml
from arielml.errors import ArielError
from tests.emu_helpers import needs_cross
from tests.onnx_models import helper, make_model, run_onnxruntime

F32 = np.float32


def _reshaped_weight_matmul(seed: int, per_channel: bool, w_dtype=np.int8) -> tuple[bytes, np.ndarray]:
    """x -> Q -> DQ -> MatMul(DQ(Q(Reshape(w_init)))) -> Q -> DQ; the weights have exact rounding ties
    (odd and even halves) and values beyond the int8 range (saturation)."""
    rng = np.random.default_rng(seed)
    k, n = 12, 5
    ws = rng.uniform(0.01, 0.03, n).astype(F32) if per_channel else np.array(0.02, F32)
    codes = rng.integers(-140, 140, (k, n)).astype(F32)
    ties = rng.random((k, n)) < 0.4  # some weights exactly half way between two codes
    w = ((codes + np.where(ties, F32(0.5), F32(0))) * ws).astype(F32)
    w = (w / ws * ws).astype(F32)
    wz = (np.full(ws.shape, 7, w_dtype) if w_dtype == np.uint8 else np.zeros(ws.shape, np.int8))
    inits = {"w_flat": w.reshape(-1), "w_shape": np.array([k, n], np.int64), "ws": ws, "wz": wz,
             "xs": np.array(0.05, F32), "xz": np.array(3, np.int8), "ys": np.array(0.4, F32),
             "yz": np.array(-2, np.int8)}
    nodes = [helper.make_node("Reshape", ["w_flat", "w_shape"], ["w_f"]),
             helper.make_node("QuantizeLinear", ["w_f", "ws", "wz"], ["w_q"], axis=1),
             helper.make_node("DequantizeLinear", ["w_q", "ws", "wz"], ["w_dq"], axis=1),
             helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["x_q"]),
             helper.make_node("DequantizeLinear", ["x_q", "xs", "xz"], ["x_dq"]),
             helper.make_node("MatMul", ["x_dq", "w_dq"], ["y_f"]),
             helper.make_node("QuantizeLinear", ["y_f", "ys", "yz"], ["y_q"]),
             helper.make_node("DequantizeLinear", ["y_q", "ys", "yz"], ["y"])]
    model = make_model(nodes, {"x": ((3, k), F32)}, ["y"], inits)
    x = rng.uniform(-6, 6, (3, k)).astype(F32)
    return model, x


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_quantize_linear_of_reshaped_weights_is_folded_bit_exact(seed, per_channel):
    model, x = _reshaped_weight_matmul(seed, per_channel)
    expected = run_onnxruntime(model, [x])[0]
    loaded = arielml.load(model)
    assert "QUANTIZE" not in [n.op for n in loaded.graph.nodes[1:]]  # only the input's QuantizeLinear runs
    np.testing.assert_array_equal(loaded.run([x], semantics="onnxruntime")[0], expected)


def test_folded_weights_round_half_to_even_and_saturate():
    """The folded constant itself: onnxruntime's QuantizeLinear on the same weights."""
    model, _ = _reshaped_weight_matmul(0, True)
    import onnx
    proto = onnx.load_from_string(model)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    w = inits["w_flat"].reshape(12, 5)
    q = make_model([helper.make_node("QuantizeLinear", ["w", "ws", "wz"], ["q"], axis=1)],
                   {"w": ((12, 5), F32)}, ["q"], {"ws": inits["ws"], "wz": inits["wz"]}, output_dtype=np.int8)
    expected = run_onnxruntime(q, [w])[0]
    loaded = arielml.load(model)
    weights = [t for t in loaded.graph.tensors if t.name == "w_dq/nk"]  # FULLY_CONNECTED's (N, K) weights
    assert len(weights) == 1, [t.name for t in loaded.graph.tensors]
    np.testing.assert_array_equal(weights[0].data, np.ascontiguousarray(expected.T))
    assert (expected == 127).any() and (expected == -128).any()  # saturation was exercised


def _qlinear_with_weights(kind: str, w: np.ndarray, wz: np.ndarray, seed: int) -> tuple[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    out_c = w.shape[0] if kind == "conv" else w.shape[1]
    ws = rng.uniform(0.002, 0.01, wz.size).astype(F32).reshape(wz.shape)
    # onnxruntime pairs uint8 weights with uint8 activations only
    x_dtype = w.dtype.type
    x = rng.integers(np.iinfo(x_dtype).min, np.iinfo(x_dtype).max + 1,
                     (1, w.shape[1], 6, 6) if kind == "conv" else (2, w.shape[0])).astype(x_dtype)
    xs, xz = F32(0.03), x_dtype(-5 if x_dtype == np.int8 else 131)
    xf = ((x.astype(F32) - F32(xz)) * xs).astype(F32)
    inits = {"xs": np.array(xs), "xz": np.array(xz), "w": w, "ws": ws, "wz": wz, "ys": np.array(0.2, F32),
             "yz": np.array(4, x_dtype)}
    if kind == "conv":
        inits["b"] = rng.integers(-3000, 3000, out_c).astype(np.int32)
        op = helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["yq"],
                              pads=[1, 1, 1, 1])
    else:
        op = helper.make_node("QLinearMatMul", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["yq"])
    nodes = [helper.make_node("QuantizeLinear", ["xf", "xs", "xz"], ["xq"]), op,
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
    return make_model(nodes, {"xf": (xf.shape, F32)}, ["y"], inits), xf


def _weights(kind: str, dtype, low: int, high: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(low, high, (4, 3, 3, 3) if kind == "conv" else (10, 4)).astype(dtype)


@pytest.mark.parametrize("kind", ["conv", "matmul"])
@pytest.mark.parametrize("case", ["int8 zp 9", "int8 zp -40 full range", "uint8 zp 128", "uint8 zp 100 full range"])
def test_weights_with_zero_points_and_uint8_weights_are_bit_exact(kind, case):
    dtype = np.uint8 if case.startswith("uint8") else np.int8
    zp = int(case.split()[2])
    full = case.endswith("full range")
    info = np.iinfo(dtype)
    low, high = (info.min, info.max + 1) if full else (max(info.min, zp - 100), min(info.max + 1, zp + 100))
    w = _weights(kind, dtype, low, high, 1)
    model, xf = _qlinear_with_weights(kind, w, np.array(zp, dtype), 2)
    if full and kind == "conv":
        with pytest.raises(ArielError, match=r"QLinearConv.*w - zero point reaches"):
            arielml.load(model)
        return
    expected = run_onnxruntime(model, [xf])[0]
    loaded = arielml.load(model)
    np.testing.assert_array_equal(loaded.run([xf], semantics="onnxruntime")[0], expected)
    if case == "uint8 zp 100 full range":
        np.testing.assert_array_equal(loaded.run([xf], backend="native", semantics="onnxruntime")[0], expected)


def test_per_channel_zero_points_beyond_int8_are_refused_by_name():
    w = _weights("matmul", np.uint8, 0, 256, 3)
    model, _ = _qlinear_with_weights("matmul", w, np.array([0, 255, 10, 128], np.uint8), 4)
    with pytest.raises(ArielError, match=r"QLinearMatMul.*w - zero point reaches"):
        arielml.load(model)


def test_per_channel_zero_points_within_int8_are_centred_bit_exact():
    rng = np.random.default_rng(5)
    wz = np.array([120, 130, 128, 100], np.uint8)
    w = (wz.astype(np.int32) + rng.integers(-100, 100, (10, 4))).astype(np.uint8)
    model, xf = _qlinear_with_weights("matmul", w, wz, 6)
    np.testing.assert_array_equal(arielml.load(model).run([xf], semantics="onnxruntime")[0],
                                  run_onnxruntime(model, [xf])[0])


@needs_cross
def test_kept_weight_zero_point_on_two_emulated_rp2040_cores_is_bit_exact():
    """int8 weights whose w - zp leaves int8: the FULLY_CONNECTED kernels subtract the zero point
    (armv6m's too), as the reference and onnxruntime do."""
    w = _weights("matmul", np.int8, -128, 128, 1)
    model, xf = _qlinear_with_weights("matmul", w, np.array(-40, np.int8), 2)
    expected = run_onnxruntime(model, [xf])[0]
    loaded = arielml.load(model)
    got = loaded.run([xf], backend="emulator", target="rp2040", cores=2, semantics="onnxruntime")[0]
    np.testing.assert_array_equal(got, expected)
    # the fixed-point (litert) kernels subtract it too: emulated equals the reference
    np.testing.assert_array_equal(loaded.run([xf], backend="emulator", target="rp2040", cores=2)[0],
                                  loaded.run([xf])[0])
