"""TRANSPOSE_CONV: randomised single-operator models, bit-exact with LiteRT's reference kernels for
float32, int8 (per-tensor and per-channel weights, int32 bias) and int16x8 (int64 bias), with and
without bias, SAME and VALID padding, strides 1..3; TFLite Micro compared too. Then the C kernels
natively (1..3 threads, both schedulers) and one emulated two-core rp2040 run."""
from __future__ import annotations

import numpy as np
import pytest

from tests.op_harness import (assert_emulated_matches_reference, assert_kernels_match_reference, case_rng,
                                check_case, Outcome, random_array, several)
from tests.tflite_builder import ModelBuilder

DTYPES = ("float32", "int8", "int16")


def transpose_conv_case(rng: np.random.Generator, dtype: str, run_time_shape: bool = False,
                        wide: bool = False):
    """(build, inputs, description) of one random TRANSPOSE_CONV; run_time_shape: the output shape
    is a graph input (as in TFLite Micro's int16 seanet models), fed its true values; wide: more
    than 256 input channels on a small image (the int16 kernel's int64 path)."""
    n = int(rng.choice([1, 1, 2]))
    h, w = int(rng.integers(1, 7)), int(rng.integers(1, 7))
    in_c, out_c = int(rng.integers(1, 9)), int(rng.integers(1, 21))
    if wide:
        h, w, in_c, out_c = 2, 2, int(rng.integers(257, 300)), 3
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    padding = int(rng.integers(0, 2))
    if padding == 0:  # SAME: output = input * stride
        out_h, out_w = h * sh, w * sw
    else:  # VALID: output = (input - 1) * stride + filter
        out_h, out_w = (h - 1) * sh + kh, (w - 1) * sw + kw
    has_bias = bool(rng.random() < 0.7)
    act = int(rng.choice([0, 0, 1, 3]))
    weights = random_array(rng, (out_c, kh, kw, in_c), "float32" if dtype == "float32" else "int8")
    if dtype == "float32":
        x_quant = w_quant = y_quant = None
        bias = rng.uniform(-2, 2, size=out_c).astype(np.float32)
        bias_type = "float32"
    else:
        weights = rng.integers(-127, 128, size=(out_c, kh, kw, in_c)).astype(np.int8)
        x_scale = float(np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(0.1)))))
        if rng.random() < 0.6:
            w_scales = [float(np.float32(s)) for s in np.exp(rng.uniform(np.log(1e-3), np.log(0.05), size=out_c))]
            w_quant = (w_scales, [0] * out_c, 0)
        else:
            w_scales = [float(np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(0.05)))))] * out_c
            w_quant = (w_scales[0], 0)
        taps = in_c * -(-kh // sh) * -(-kw // sw)
        y_scale = float(np.float32(x_scale * np.mean(w_scales) * np.sqrt(taps) * (60 if dtype == "int8" else 1)
                                   * np.exp(rng.uniform(-1, 1))))
        if dtype == "int8":
            x_quant, y_quant = (x_scale, int(rng.integers(-128, 128))), (y_scale, int(rng.integers(-128, 128)))
            bias_type = "int32"
            bias = rng.integers(-30000, 30000, size=out_c).astype(np.int32)
        else:
            x_quant, y_quant = (x_scale, 0), (y_scale / 300, 0)
            bias_type = "int64"
            bias = rng.integers(-(1 << 24), 1 << 24, size=out_c).astype(np.int64)
    x = random_array(rng, (n, h, w, in_c), dtype) if dtype != "int16" else \
        rng.integers(-32768, 32768, size=(n, h, w, in_c)).astype(np.int16)
    if dtype == "int8":
        x = rng.integers(-128, 128, size=(n, h, w, in_c)).astype(np.int8)
    what = (f"TRANSPOSE_CONV {dtype} in {(n, h, w, in_c)} filter {(out_c, kh, kw)} stride ({sh},{sw}) "
            f"padding {padding} bias {has_bias} act {act}")
    out_shape = (n, out_h, out_w, out_c)

    def add(b: ModelBuilder, shape_of_y) -> tuple[int, int]:
        shape = b.tensor((4,), "int32", data=None if run_time_shape else np.array(out_shape, dtype=np.int32))
        wt = b.tensor(weights.shape, "float32" if dtype == "float32" else "int8", quant=w_quant, data=weights)
        xt = b.tensor(x.shape, dtype, quant=x_quant)
        ins = [shape, wt, xt]
        if has_bias:
            ins.append(b.tensor((out_c,), bias_type, data=bias))
        y = b.tensor(shape_of_y, dtype, quant=y_quant)
        b.op("TRANSPOSE_CONV", ins, [y], "TransposeConvOptions", padding=padding, strideH=sh, strideW=sw,
             fusedActivationFunction=act)
        return (shape, xt) if run_time_shape else xt, y

    def build(shapes):
        b = ModelBuilder()
        xt, y = add(b, out_shape if shapes is None else shapes[0])
        return b.build(list(xt) if run_time_shape else [xt], [y])
    build.add = add
    if run_time_shape:
        return build, [np.array(out_shape, dtype=np.int32), x], what + " run-time output shape"
    return build, [x], what


@pytest.mark.parametrize("dtype", DTYPES)
def test_transpose_conv_random(dtype):
    outcome = Outcome()
    for i in range(25):
        seed, rng = case_rng("TRANSPOSE_CONV" + dtype, i)
        build, inputs, what = transpose_conv_case(rng, dtype)
        check_case(seed, build, inputs, outcome)
    print(f"TRANSPOSE_CONV {dtype}: compared {outcome.compared}, TFLM agrees {outcome.tflm_agree}, disagrees "
          f"{outcome.tflm_disagree}, fails {len(outcome.tflm_failed)} {outcome.tflm_failed[:2]}")
    assert outcome.compared == 25
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_transpose_conv_run_time_output_shape(dtype):
    """The output shape fed at run time, as TFLite Micro's int16 seanet integration models do: its
    values are not read (the file's output shape is used, as TFLite Micro does); fed the true
    shape, LiteRT's reference and TFLite Micro give arielml's bytes."""
    outcome = Outcome()
    for i in range(10):
        seed, rng = case_rng("TRANSPOSE_CONV_shape" + dtype, i)
        build, inputs, _ = transpose_conv_case(rng, dtype, run_time_shape=True)
        check_case(seed, build, inputs, outcome)
    assert outcome.compared == 10
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"


# ---- C kernels -----------------------------------------------------------------------------------


def test_transpose_conv_kernels_match_reference(cache):
    """Every variant in C on 1..3 threads under both schedulers, against the reference executor."""
    from tests.op_harness import model_for
    from tests.tflite_builder import run_litert
    rng = np.random.default_rng(9300)
    cases, inputs, whats = [], [], []
    for k in range(16):  # then two with the output shape fed at run time, two with > 256 channels
        build, arrays, what = transpose_conv_case(rng, DTYPES[k % 3], run_time_shape=k in (12, 13), wide=k >= 14)
        cases.append((build, run_litert(build(None), arrays)[0].shape))
        inputs += arrays
        whats.append(what)
    model = model_for(several(cases))
    assert_kernels_match_reference(model, inputs, whats, cache, equal_nan=True)


def test_transpose_conv_emulated_rp2040_two_cores(tmp_path):
    """int8, int16 and float32 transpose convolutions on two emulated Cortex-M0+ cores: the
    reference executor's bytes."""
    from tests.op_harness import model_for
    from tests.tflite_builder import run_litert
    rng = np.random.default_rng(9400)
    cases, inputs = [], []
    for dtype in DTYPES:
        build, arrays, _ = transpose_conv_case(rng, dtype)
        cases.append((build, run_litert(build(None), arrays)[0].shape))
        inputs += arrays
    model = model_for(several(cases))
    assert_emulated_matches_reference(model, inputs, tmp_path, equal_nan=True)


def test_decoder_chain_emulated_rp2040_two_cores(tmp_path):
    """A small int8 decoder head using several of the new operators in a row (TRANSPOSE_CONV ->
    RESIZE_BILINEAR -> REDUCE_MAX -> ARG_MAX): LiteRT's reference bytes, and the same bytes from
    the C kernels on two emulated Cortex-M0+ cores."""
    from arielml.backends.emulator import run_emulated
    from tests.op_harness import model_for
    from tests.tflite_builder import run_litert
    rng = np.random.default_rng(9450)
    b = ModelBuilder()
    x = b.tensor((1, 5, 6, 8), "int8", quant=(0.05, 3))
    shape = b.tensor((4,), "int32", data=np.array([1, 10, 12, 12], np.int32))
    w = b.tensor((12, 3, 3, 8), "int8", quant=([0.01] * 12, [0] * 12, 0),
                 data=rng.integers(-127, 128, (12, 3, 3, 8)))
    bias = b.tensor((12,), "int32", data=rng.integers(-500, 500, 12))
    up = b.tensor((1, 10, 12, 12), "int8", quant=(0.02, -2))
    b.op("TRANSPOSE_CONV", [shape, w, x, bias], [up], "TransposeConvOptions", padding=0, strideH=2, strideW=2)
    size = b.tensor((2,), "int32", data=np.array([15, 18]))
    resized = b.tensor((1, 15, 18, 12), "int8", quant=(0.02, -2))
    b.op("RESIZE_BILINEAR", [up, size], [resized], "ResizeBilinearOptions", halfPixelCenters=True)
    axes = b.tensor((2,), "int32", data=np.array([1, 2]))
    pooled = b.tensor((1, 12), "int8", quant=(0.02, -2))
    b.op("REDUCE_MAX", [resized, axes], [pooled], "ReducerOptions", keepDims=False)
    axis = b.tensor((), "int32", data=np.array(1))
    label = b.tensor((1,), "int32")
    b.op("ARG_MAX", [pooled, axis], [label], "ArgMaxOptions", outputType=2)
    model_bytes = b.build([x], [resized, pooled, label])
    inputs = [rng.integers(-128, 128, (1, 5, 6, 8)).astype(np.int8)]
    model = model_for(model_bytes)
    expected = model.run(inputs)
    for got, want in zip(expected, run_litert(model_bytes, inputs)):
        assert np.array_equal(got, want)
    run = run_emulated(model, inputs, "rp2040", 2, cache_dir=tmp_path)
    for got, want in zip(run.outputs, expected):
        assert np.array_equal(got, want)
