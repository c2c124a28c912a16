"""ConvInteger and MatMulInteger (int32 outputs) against onnxruntime: random single-operator models,
int8 and uint8 inputs, with and without zero points, bit-exact
on the reference, native and two emulated rp2040 cores (arielml/frontend/onnx_integer.py)."""
from __future__ import annotations

import numpy as np
import pytest

import arielml
from arielml.errors import ArielError
from tests.emu_helpers import needs_cross
from tests.onnx_models import helper, make_model, run_onnxruntime


def _case(kind: str, seed: int, weight_range: int = 128):
    rng = np.random.default_rng(seed)
    dtype = (np.uint8, np.int8)[seed % 2] if kind == "matmul" else np.uint8  # ORT: ConvInteger takes uint8
    info = np.iinfo(dtype)
    w_dtype = dtype if kind == "conv" else (np.int8, np.uint8)[seed % 3 == 0]
    winfo = np.iinfo(w_dtype)
    out_c = int(rng.integers(1, 6))
    if kind == "conv":
        c = int(rng.integers(1, 4))
        x = rng.integers(info.min, info.max + 1, (1, c, 7, 7)).astype(dtype)
        w = rng.integers(max(winfo.min, -weight_range), min(winfo.max + 1, weight_range), (out_c, c, 3, 3))
    else:
        k = int(rng.integers(2, 30))
        x = rng.integers(info.min, info.max + 1, (int(rng.integers(1, 4)), k)).astype(dtype)
        w = rng.integers(max(winfo.min, -weight_range), min(winfo.max + 1, weight_range), (k, out_c))
    w = w.astype(w_dtype)
    inits = {"w": w}
    names = ["x", "w"]
    if seed % 4:  # zero points (seed % 4 == 0: none, the default 0)
        inits["xz"] = np.array(rng.integers(info.min, info.max + 1), dtype)
        # onnxruntime's CPU kernels take one weight zero point only
        inits["wz"] = np.array(rng.integers(winfo.min // 4, winfo.max // 4 + 1)).astype(w_dtype)
        names += ["xz", "wz"]
    if kind == "conv":
        node = helper.make_node("ConvInteger", names, ["y"], pads=[1, 1, 1, 1], strides=[1 + seed % 2] * 2)
    else:
        node = helper.make_node("MatMulInteger", names, ["y"])
    model = make_model([node], {"x": (x.shape, dtype)}, ["y"], inits, output_dtype=np.int32)
    return model, x


@pytest.mark.parametrize("kind", ["conv", "matmul"])
@pytest.mark.parametrize("seed", range(8))
def test_integer_ops_are_bit_exact_with_onnxruntime(kind, seed):
    model, x = _case(kind, seed)
    expected = run_onnxruntime(model, [x])[0]
    loaded = arielml.load(model)
    got = loaded.run([x])[0]
    assert got.dtype == np.int32
    if seed == 0:  # the notes say how it runs, and nothing claims it is not reproduced
        notes = " ".join(loaded.graph.notes)
        assert "on exact integers" in notes and "does not reproduce" not in notes
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(loaded.run([x], semantics="onnxruntime")[0], expected)
    if seed < 2:
        np.testing.assert_array_equal(loaded.run([x], backend="native")[0], expected)


@needs_cross
def test_integer_ops_on_two_emulated_rp2040_cores_are_bit_exact():
    for kind, seed in (("conv", 3), ("matmul", 1)):
        model, x = _case(kind, seed)
        got = arielml.load(model).run([x], backend="emulator", target="rp2040", cores=2)[0]
        np.testing.assert_array_equal(got, run_onnxruntime(model, [x])[0])


def test_sums_beyond_float32_integers_are_refused_by_name():
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, (600, 3)).astype(np.int8)
    w[:, 0] = -128
    model = make_model([helper.make_node("MatMulInteger", ["x", "w"], ["y"])], {"x": ((1, 600), np.uint8)}, ["y"],
                       {"w": w}, output_dtype=np.int32)
    with pytest.raises(ArielError, match=r"MatMulInteger.*2\^24"):
        arielml.load(model)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_matmul_integer_after_quantize_linear_then_scaled(dtype):
    """The static pattern: QuantizeLinear -> MatMulInteger -> Cast -> Mul (uint8 is held as int8 inside)."""
    rng = np.random.default_rng(7)
    zp = np.array(130 if dtype == np.uint8 else -3, dtype)
    inits = {"s": np.array(0.02, np.float32), "z": zp, "w": rng.integers(-128, 128, (20, 6)).astype(np.int8),
             "wz": np.array(5, np.int8), "k": np.array(0.0007, np.float32)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
             helper.make_node("MatMulInteger", ["xq", "w", "z", "wz"], ["acc"]),
             helper.make_node("Cast", ["acc"], ["accf"], to=1),
             helper.make_node("Mul", ["accf", "k"], ["y"])]
    model = make_model(nodes, {"x": ((3, 20), np.float32)}, ["y"], inits)
    x = rng.uniform(-2, 2, (3, 20)).astype(np.float32)
    expected = run_onnxruntime(model, [x])[0]
    loaded = arielml.load(model)
    for semantics in ("litert", "onnxruntime"):
        np.testing.assert_array_equal(loaded.run([x], semantics=semantics)[0], expected)
