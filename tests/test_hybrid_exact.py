"""Hybrid CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (float32 activations, int8 weights) are
bit-exact with LiteRT's reference op resolver, on ordinary inputs and - for per-tensor weights - on
±inf, NaN and ±FLT_MAX, in the reference executor and in the generated C (1 and 2 threads, the work
split finely so that threads share each operator).

LiteRT quantises each batch of the input on the fly (ops/hybrid.py): where a NaN lands in the
std::minmax_element scan decides the scale, an infinity makes every finite value quantise to 0, and
the int32 cast of NaN / ±inf is undefined in C (measured on its x86 build). The cases below put the
special values where each of those rules matters, so a wrong rule fails a test. Per-channel CONV_2D
and DEPTHWISE_CONV_2D quantise the input asymmetrically; that path is matched on finite inputs only.

kws_ref_model_float32 is whole-model bit-exact too: its hybrid CONV_2Ds are exact, and its float
DEPTHWISE_CONV_2D and FULLY_CONNECTED sum in float32 in LiteRT's order."""
from __future__ import annotations

import numpy as np
import pytest

import arielml
from arielml.ops.common import window_2d
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross
from tests.tflite_builder import ModelBuilder, run_litert

FLT_MAX = float(np.finfo(np.float32).max)
KWS = "mlcommons_tiny/kws_ref_model_float32.tflite"
SPECIALS = np.array([np.inf, -np.inf, np.nan, FLT_MAX, -FLT_MAX], dtype=np.float32)
RELU, RELU6 = 1, 3


def assert_bit_exact(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    """Same NaN positions and, elsewhere, the same float32 bits (so -0.0 != +0.0)."""
    theirs = np.asarray(theirs).reshape(ours.shape)
    assert ours.dtype == theirs.dtype == np.float32, what
    nan = np.isnan(ours)
    assert np.array_equal(nan, np.isnan(theirs)), f"{what}: NaN at other positions"
    differ = ours[~nan].view(np.uint32) != theirs[~nan].view(np.uint32)
    assert not differ.any(), (f"{what}: {int(differ.sum())} of {ours.size} values differ, e.g. "
                              f"{ours[~nan][differ][:4]} vs LiteRT {theirs[~nan][differ][:4]}")


def sprinkle(rng: np.random.Generator, x: np.ndarray, values, count: int) -> np.ndarray:
    x = x.copy()
    flat = x.reshape(-1)
    flat[rng.integers(0, flat.size, count)] = rng.choice(np.asarray(values, np.float32), count)
    return x


# ---- kws_ref_model_float32 ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def kws():
    from tests.test_zoo import LiteRT
    return arielml.load(ZOO / KWS), LiteRT((ZOO / KWS).read_bytes())


def kws_special_inputs(model: arielml.Model) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(12)
    cases = []
    for k in range(4):
        x = model.random_inputs(100 + k)[0]
        cases.append((f"a third ±inf #{k}", sprinkle(rng, x, SPECIALS[:2], x.size // 3)))
        cases.append((f"a few of each special #{k}", sprinkle(rng, x, SPECIALS, int(rng.integers(1, 40)))))
    x = model.random_inputs(200)[0]
    cases.append(("NaN first", sprinkle(rng, x, SPECIALS[2:3], 5)))
    cases[-1][1].reshape(-1)[0] = np.nan
    cases.append(("±FLT_MAX only", sprinkle(rng, x, SPECIALS[3:], 30)))
    return cases


def test_kws_bit_exact_on_random_inputs(kws):
    model, litert = kws
    for seed in range(10):
        x = model.random_inputs(seed)
        assert_bit_exact(model.run(x)[0], litert(x)[0], f"kws seed {seed}")


def test_kws_bit_exact_with_non_finite_inputs(kws, cache):
    model, litert = kws
    for label, x in kws_special_inputs(model):
        theirs = litert([x])[0]
        assert_bit_exact(model.run([x])[0], theirs, f"kws {label} (reference)")
        for cores in (1, 2):
            got = model.run_native([x], cores=cores, target="rv32-smp", cache_dir=cache).outputs[0]
            assert_bit_exact(got, theirs, f"kws {label} (native, {cores} cores)")


def test_kws_native_equals_litert_on_random_inputs(kws, cache):
    model, litert = kws
    for seed in range(3):
        x = model.random_inputs(seed)
        for cores in (1, 2):
            got = model.run_native(x, cores=cores, target="rv32-smp", cache_dir=cache).outputs[0]
            assert_bit_exact(got, litert(x)[0], f"kws seed {seed} (native, {cores} cores)")


# ---- single hybrid CONV_2D models --------------------------------------------------------------

def hybrid_conv_model(rng: np.random.Generator, batch: int, zero_bias: bool) -> tuple[bytes, tuple]:
    """A random hybrid CONV_2D; a zero bias lets tiny outputs (the 'tiny' inputs) show."""
    in_h, in_w, in_c = int(rng.integers(3, 10)), int(rng.integers(3, 10)), int(rng.integers(1, 5))
    fh, fw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    out_c = int(rng.integers(1, 7))
    padding, stride_h, stride_w = int(rng.integers(0, 2)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
    activation = int(rng.choice([0, RELU, RELU6]))
    win = window_2d(in_h, in_w, fh, fw, stride_h, stride_w, padding, 1, 1)
    b = ModelBuilder()
    x = b.tensor((batch, in_h, in_w, in_c), "float32")
    weights = rng.integers(-127, 128, (out_c, fh, fw, in_c)).astype(np.int8)
    w = b.tensor(weights.shape, "int8", quant=(float(rng.uniform(0.001, 0.05)), 0), data=weights)
    bias_values = np.zeros(out_c, np.float32) if zero_bias else rng.normal(size=out_c).astype(np.float32)
    bias = b.tensor((out_c,), "float32", data=bias_values)
    y = b.tensor((batch, win.out_h, win.out_w, out_c), "float32")
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", padding=padding, strideW=stride_w, strideH=stride_h,
         fusedActivationFunction=activation)
    return b.build(inputs=[x], outputs=[y]), (batch, in_h, in_w, in_c)


def single_op_inputs(rng: np.random.Generator, shape) -> list[tuple[str, np.ndarray]]:
    x = rng.uniform(-4, 4, shape).astype(np.float32)
    few = max(1, x.size // 20)
    cases = [("random", x), ("+inf", sprinkle(rng, x, SPECIALS[:1], few)),
             ("±inf", sprinkle(rng, x, SPECIALS[:2], few)), ("NaN", sprinkle(rng, x, SPECIALS[2:3], few)),
             ("inf, NaN and FLT_MAX", sprinkle(rng, sprinkle(rng, x, SPECIALS[:3], few), SPECIALS[3:4], 2)),
             ("±FLT_MAX", sprinkle(rng, x, SPECIALS[3:], few)),
             # the scan's first pair holds a NaN: it becomes the max, later values replace it
             ("NaN first", np.concatenate([np.full(1, np.nan, np.float32), x.reshape(-1)[1:]]).reshape(shape)),
             # non-negative with a NaN: max |x| may come out 0, then every value quantises to 0 (NaN too)
             ("zeros and NaN", sprinkle(rng, np.zeros(shape, np.float32), SPECIALS[2:3], few)),
             # range < 127 / FLT_MAX: 127 / range is inf, x * inf saturates, 0 * inf is NaN
             ("tiny", (x * np.float32(1e-39)).astype(np.float32)),
             ("all zero", np.zeros(shape, np.float32))]
    return cases


@pytest.mark.parametrize("seed", range(5))
def test_single_hybrid_conv_matches_litert(seed, cache):
    rng = np.random.default_rng(5_000 + seed)
    model_bytes, shape = hybrid_conv_model(rng, batch=1 + seed % 2, zero_bias=seed % 3 == 0)
    model = arielml.load(model_bytes)
    for label, x in single_op_inputs(rng, shape):
        theirs = run_litert(model_bytes, [x])[0]
        assert_bit_exact(model.run([x])[0], theirs, f"seed {seed} {label} (reference)")
        for cores in (1, 2):
            got = model.run_native([x], cores=cores, target="rv32-smp", cache_dir=cache).outputs[0]
            assert_bit_exact(got, theirs, f"seed {seed} {label} (native, {cores} cores)")


def per_channel_model(rng: np.random.Generator, depthwise: bool) -> tuple[bytes, tuple]:
    """Hybrid CONV_2D with differing per-channel weight scales, or hybrid DEPTHWISE_CONV_2D."""
    batch, in_c = int(rng.integers(1, 3)), int(rng.integers(1, 5))
    out_c = in_c * int(rng.integers(1, 3)) if depthwise else int(rng.integers(2, 7))
    fh, fw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    padding, stride_h, stride_w = int(rng.integers(0, 2)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
    activation = int(rng.choice([0, RELU, RELU6]))
    win = window_2d(8, 7, fh, fw, stride_h, stride_w, padding, 1, 1)
    b = ModelBuilder()
    x = b.tensor((batch, 8, 7, in_c), "float32")
    weights = rng.integers(-127, 128, (1, fh, fw, out_c) if depthwise else (out_c, fh, fw, in_c)).astype(np.int8)
    scales = np.linspace(0.002, 0.05, out_c) * rng.uniform(0.5, 1.5)  # all different
    w = b.tensor(weights.shape, "int8", quant=(list(scales), [0] * out_c, 3 if depthwise else 0), data=weights)
    bias = b.tensor((out_c,), "float32", data=rng.normal(size=out_c).astype(np.float32))
    y = b.tensor((batch, win.out_h, win.out_w, out_c), "float32")
    common = dict(padding=padding, strideW=stride_w, strideH=stride_h, fusedActivationFunction=activation)
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], "DepthwiseConv2DOptions", depthMultiplier=out_c // in_c, **common)
    else:
        b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", **common)
    return b.build(inputs=[x], outputs=[y]), (batch, 8, 7, in_c)


@pytest.mark.parametrize("depthwise", [False, True])
def test_per_channel_hybrid_conv_matches_litert_on_finite_inputs(depthwise, cache):
    """Asymmetric input quantisation (float32 scale and zero point), per-channel rescale: bit-exact
    with LiteRT on finite inputs (mixed signs, one sign, ±FLT_MAX). With ±inf and NaN LiteRT's
    asymmetric quantiser was not matched (docs/semantics.md): there the reference and the C kernel
    agree with each other."""
    rng = np.random.default_rng(7_000 + depthwise)
    for _ in range(3):
        model_bytes, shape = per_channel_model(rng, depthwise)
        model = arielml.load(model_bytes)
        x = rng.uniform(-4, 4, shape).astype(np.float32)
        cases = (("mixed", x), ("positive", np.abs(x)), ("negative", -np.abs(x)),
                 ("±FLT_MAX", sprinkle(rng, x, SPECIALS[3:], 3)), ("all zero", np.zeros(shape, np.float32)))
        for label, values in cases:
            theirs = run_litert(model_bytes, [values])[0]
            assert_bit_exact(model.run([values])[0], theirs, f"{label} (reference)")
            for cores in (1, 2):
                got = model.run_native([values], cores=cores, target="rv32-smp", cache_dir=cache).outputs[0]
                assert_bit_exact(got, theirs, f"{label} (native, {cores} cores)")
        special = sprinkle(rng, x, SPECIALS, 6)
        assert_bit_exact(model.run_native([special], cores=2, target="rv32-smp", cache_dir=cache).outputs[0],
                         model.run([special])[0], "specials: native vs reference")


def test_equal_per_channel_scales_take_the_symmetric_path():
    """LiteRT treats a CONV_2D whose per-channel scales are all equal as per-tensor (symmetric input
    quantisation); so does arielml."""
    rng = np.random.default_rng(8)
    b = ModelBuilder()
    x = b.tensor((1, 6, 5, 3), "float32")
    weights = rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    w = b.tensor(weights.shape, "int8", quant=([0.02] * 4, [0] * 4, 0), data=weights)
    bias = b.tensor((4,), "float32", data=rng.normal(size=4).astype(np.float32))
    y = b.tensor((1, 4, 3, 4), "float32")
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", padding=1, strideW=1, strideH=1)
    model_bytes = b.build(inputs=[x], outputs=[y])
    values = rng.uniform(-4, 4, (1, 6, 5, 3)).astype(np.float32)
    assert_bit_exact(arielml.load(model_bytes).run([values])[0], run_litert(model_bytes, [values])[0], "equal scales")


def hybrid_fc_model(rng: np.random.Generator, activation: int) -> tuple[bytes, tuple]:
    rows, depth, units = int(rng.integers(1, 4)), int(rng.integers(1, 40)), int(rng.integers(1, 9))
    b = ModelBuilder()
    x = b.tensor((rows, depth), "float32")
    weights = rng.integers(-127, 128, (units, depth)).astype(np.int8)
    w = b.tensor(weights.shape, "int8", quant=(float(rng.uniform(0.001, 0.05)), 0), data=weights)
    bias_values = np.zeros(units, np.float32) if activation == 0 else rng.normal(size=units).astype(np.float32)
    bias = b.tensor((units,), "float32", data=bias_values)
    y = b.tensor((rows, units), "float32")
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", fusedActivationFunction=activation)
    return b.build(inputs=[x], outputs=[y]), (rows, depth)


@pytest.mark.parametrize("activation", [0, RELU, 2, RELU6])  # 2 = RELU_N1_TO_1
def test_single_hybrid_fully_connected_matches_litert(activation, cache):
    """Each row is quantised on its own; LiteRT's activation here keeps infinities (no ±FLT_MAX
    clamp) and turns NaN into the lower bound."""
    rng = np.random.default_rng(6_000 + activation)
    model_bytes, shape = hybrid_fc_model(rng, activation)
    model = arielml.load(model_bytes)
    for label, x in single_op_inputs(rng, shape):
        theirs = run_litert(model_bytes, [x])[0]
        assert_bit_exact(model.run([x])[0], theirs, f"act {activation} {label} (reference)")
        for cores in (1, 2):
            got = model.run_native([x], cores=cores, target="rv32-smp", cache_dir=cache).outputs[0]
            assert_bit_exact(got, theirs, f"act {activation} {label} (native, {cores} cores)")


@pytest.mark.parametrize("rows", [[[np.nan, 0, 0, 0, np.nan]], [[np.nan, 0, 0, 0, 0, 0, 0, np.nan]],
                                  [[np.nan, 0, 0, 0, 0, 0, np.nan]], [[np.nan, 0], [0, np.nan]],
                                  [[np.nan, 0, 0]], [[np.nan, 0, 0, 0, -0.0]], [[np.nan, 0, 0, 1e-45, 0]]])
def test_fully_connected_zero_input_test_matches_litert(rows, cache):
    """LiteRT skips the product when the whole input is zero, by a test where a NaN counts as zero
    among the first size - size % 4 values and as non-zero after them; a NaN first in a row makes
    the row's scale NaN otherwise. Identity weights show each output."""
    x = np.array(rows, np.float32)
    depth = x.shape[1]
    b = ModelBuilder()
    xt = b.tensor(x.shape, "float32")
    w = b.tensor((depth, depth), "int8", quant=(1.0, 0), data=np.eye(depth, dtype=np.int8))
    bias = b.tensor((depth,), "float32", data=np.full(depth, 0.5, np.float32))
    y = b.tensor(x.shape, "float32")
    b.op("FULLY_CONNECTED", [xt, w, bias], [y], "FullyConnectedOptions", fusedActivationFunction=0)
    model_bytes = b.build(inputs=[xt], outputs=[y])
    model = arielml.load(model_bytes)
    theirs = run_litert(model_bytes, [x])[0]
    assert_bit_exact(model.run([x])[0], theirs, f"{rows} (reference)")
    assert_bit_exact(model.run_native([x], cores=2, target="rv32-smp", cache_dir=cache).outputs[0], theirs,
                     f"{rows} (native)")


def test_quantiser_nan_placement_matches_litert():
    """A 1x1 identity convolution shows LiteRT's quantised input times its scale: NaN at every
    position of short vectors, alone and with ±inf and ±FLT_MAX, exercises each branch of the
    std::minmax_element scan (pairs, the odd last value, the first pair)."""
    rng = np.random.default_rng(77)
    for length in range(1, 8):
        b = ModelBuilder()
        x = b.tensor((1, 1, length, 1), "float32")
        w = b.tensor((1, 1, 1, 1), "int8", quant=(1.0, 0), data=np.ones(1, np.int8))
        bias = b.tensor((1,), "float32", data=np.zeros(1, np.float32))
        y = b.tensor((1, 1, length, 1), "float32")
        b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", padding=1, strideW=1, strideH=1)
        model_bytes = b.build(inputs=[x], outputs=[y])
        model = arielml.load(model_bytes)
        for position in range(length):
            for extra in (None, *SPECIALS):
                v = rng.integers(-9, 10, length).astype(np.float32)
                if extra is not None and length > 1:
                    v[(position + 1 + int(rng.integers(length - 1))) % length] = extra
                v[position] = np.nan
                v = v.reshape(1, 1, length, 1)
                assert_bit_exact(model.run([v])[0], run_litert(model_bytes, [v])[0], f"{v.ravel()}")


def test_hybrid_window_too_large_for_int32_is_refused():
    from arielml.errors import ArielError
    from arielml.ops.hybrid import HYBRID_MAX_WINDOW
    rng = np.random.default_rng(1)
    b = ModelBuilder()
    depth = HYBRID_MAX_WINDOW + 1
    x = b.tensor((1, 1, 1, depth), "float32")
    w = b.tensor((1, 1, 1, depth), "int8", quant=(0.01, 0), data=rng.integers(-127, 128, depth).astype(np.int8))
    bias = b.tensor((1,), "float32", data=np.zeros(1, np.float32))
    y = b.tensor((1, 1, 1, 1), "float32")
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", padding=1, strideW=1, strideH=1)
    with pytest.raises(ArielError, match="int32 accumulator"):
        arielml.load(b.build(inputs=[x], outputs=[y])).run([np.zeros((1, 1, 1, depth), np.float32)])


@pytest.mark.cross
@needs_cross
@pytest.mark.parametrize("board", ["stm32h747", "rp2040"])
def test_single_hybrid_conv_emulated(board):
    """The hybrid kernels cross-compiled, on a Cortex-M7 with an FPU and on the soft-float RP2040:
    the same bytes as LiteRT, special values included."""
    rng = np.random.default_rng(9_000)
    for model_bytes, shape in (hybrid_conv_model(rng, batch=1, zero_bias=True), hybrid_fc_model(rng, RELU)):
        model = arielml.load(model_bytes)
        for label, x in single_op_inputs(rng, shape):
            got = model.run_emulated([x], board).outputs[0]
            assert_bit_exact(got, run_litert(model_bytes, [x])[0], f"{label} on {board} (emulated)")
