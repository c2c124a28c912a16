"""±inf, NaN and near-FLT_MAX float32 inputs give what LiteRT's reference kernels give, on the
reference executor and on the native backend (generated C), for every float operator family and on
the float zoo models.

Why they used to differ (docs/semantics.md, "Non-finite floats"): LiteRT clamps every float
operator's result to its activation range, and with no activation that range is [lowest, max] of
float32, not ±inf - so an infinity leaving CONV_2D or FULLY_CONNECTED becomes ±FLT_MAX and the next
layer sees finite numbers. And once values near FLT_MAX are summed, whether a partial sum overflows
depends on the summation order, so the sums are then taken in float32 in LiteRT's order.

The contract checked: NaN and ±inf at exactly the same positions, finite values within the float
tolerance of the rest of the suite (rtol 1e-4)."""
from __future__ import annotations

import numpy as np
import pytest

import arielml
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross
from tests.op_harness import model_for
from tests.tflite_builder import ModelBuilder, run_litert, run_tflm

FLT_MAX = float(np.finfo(np.float32).max)
RTOL, ATOL = 1e-4, 1e-5
NONE, RELU, RELU6, RELU_N1_TO_1 = 0, 1, 3, 2
SPECIALS = {"inf": (np.inf, -np.inf), "big": (FLT_MAX, -FLT_MAX, 3e38, -2e38), "nan": (np.nan,),
            "mixed": (np.inf, -np.inf, np.nan, FLT_MAX, -FLT_MAX)}


def sprinkle(rng: np.random.Generator, shape, kind: str, share: float = 0.15) -> np.ndarray:
    """Uniform [-4, 4) floats with a share of the positions set to the kind's special values."""
    x = rng.uniform(-4.0, 4.0, size=shape).astype(np.float32)
    flat = x.reshape(-1)
    hits = rng.random(flat.size) < share
    hits[rng.integers(flat.size)] = True  # at least one
    flat[hits] = rng.choice(np.array(SPECIALS[kind], dtype=np.float32), size=int(hits.sum()))
    return x


def assert_same_specials(ours: np.ndarray, theirs: np.ndarray, what: str, exact: bool = False) -> None:
    """NaN and ±inf at the same positions and finite values within the float tolerance; with exact,
    every value equal (the operators that sum in LiteRT's order, and those without rounding)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, what
    if ours.dtype != np.float32:
        assert np.array_equal(ours, theirs), f"{what}: {ours.ravel()[:16]} vs LiteRT {theirs.ravel()[:16]}"
        return
    for test in (np.isnan, np.isposinf, np.isneginf):
        differ = test(ours) != test(theirs)
        assert not differ.any(), (f"{what}: {test.__name__} differs at {np.argwhere(differ)[:4].tolist()}: ours "
                                  f"{ours[differ][:4]} LiteRT {theirs[differ][:4]}")
    finite = np.isfinite(theirs)
    if exact:
        assert np.array_equal(ours[finite], theirs[finite]), f"{what}: not bit-exact"
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=RTOL, atol=ATOL, err_msg=what)


# ---- single-operator models ---------------------------------------------------------------------

def _weights(rng, shape):
    return rng.uniform(-2.0, 2.0, size=shape).astype(np.float32)  # |w| > 1: FLT_MAX * w overflows


def unary(op, options_type=None, shape=(1, 4, 5, 3), **options):
    def build(rng):
        b = ModelBuilder()
        x, y = b.tensor(shape, "float32"), b.tensor(shape, "float32")
        b.op(op, [x], [y], options_type, **options)
        return b.build([x], [y]), [shape]
    return build


def binary(op, options_type=None, **options):
    def build(rng):
        b = ModelBuilder()
        shape = (1, 4, 5, 3)
        x, z, y = b.tensor(shape, "float32"), b.tensor(shape, "float32"), b.tensor(shape, "float32")
        b.op(op, [x, z], [y], options_type, **options)
        return b.build([x, z], [y]), [shape, shape]
    return build


def conv(activation, depthwise=False, padding=0):
    def build(rng):
        b = ModelBuilder()
        x = b.tensor((1, 5, 6, 3), "float32")
        if depthwise:
            w = b.tensor((1, 3, 3, 6), "float32", data=_weights(rng, (1, 3, 3, 6)))
            bias = b.tensor((6,), "float32", data=_weights(rng, (6,)))
            y = b.tensor((1, 5, 6, 6) if padding == 0 else (1, 3, 4, 6), "float32")
            b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], "DepthwiseConv2DOptions", padding=padding, strideW=1,
                 strideH=1, depthMultiplier=2, fusedActivationFunction=activation)
        else:
            w = b.tensor((4, 3, 3, 3), "float32", data=_weights(rng, (4, 3, 3, 3)))
            bias = b.tensor((4,), "float32", data=_weights(rng, (4,)))
            y = b.tensor((1, 5, 6, 4) if padding == 0 else (1, 3, 4, 4), "float32")
            b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", padding=padding, strideW=1, strideH=1,
                 fusedActivationFunction=activation)
        return b.build([x], [y]), [(1, 5, 6, 3)]
    return build


def fully_connected(activation, with_bias=True):
    def build(rng):
        b = ModelBuilder()
        x = b.tensor((3, 12), "float32")
        w = b.tensor((5, 12), "float32", data=_weights(rng, (5, 12)))
        bias = b.tensor((5,), "float32", data=_weights(rng, (5,))) if with_bias else -1
        y = b.tensor((3, 5), "float32")
        b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", fusedActivationFunction=activation)
        return b.build([x], [y]), [(3, 12)]
    return build


def pool(op, activation=NONE):
    def build(rng):
        b = ModelBuilder()
        x, y = b.tensor((1, 5, 6, 3), "float32"), b.tensor((1, 5, 6, 3), "float32")
        b.op(op, [x], [y], "Pool2DOptions", padding=0, strideW=1, strideH=1, filterWidth=3, filterHeight=3,
             fusedActivationFunction=activation)
        return b.build([x], [y]), [(1, 5, 6, 3)]
    return build


def mean(rng):
    b = ModelBuilder()
    x = b.tensor((1, 4, 5, 3), "float32")
    axes = b.tensor((2,), "int32", data=np.array([1, 2], np.int32))
    y = b.tensor((1, 1, 1, 3), "float32")
    b.op("MEAN", [x, axes], [y], "ReducerOptions", keepDims=True)
    return b.build([x], [y]), [(1, 4, 5, 3)]


def quantize(zero_point):
    def build(rng):
        b = ModelBuilder()
        x, y = b.tensor((1, 40), "float32"), b.tensor((1, 40), "int8", quant=(0.1, zero_point))
        b.op("QUANTIZE", [x], [y])
        return b.build([x], [y]), [(1, 40)]
    return build


OPS = {
    "CONV_2D": conv(NONE), "CONV_2D-relu": conv(RELU), "CONV_2D-valid-relu6": conv(RELU6, padding=1),
    "DEPTHWISE_CONV_2D": conv(NONE, depthwise=True), "DEPTHWISE_CONV_2D-relu": conv(RELU, depthwise=True),
    "FULLY_CONNECTED": fully_connected(NONE), "FULLY_CONNECTED-relu": fully_connected(RELU),
    "FULLY_CONNECTED-no-bias": fully_connected(NONE, with_bias=False),
    "AVERAGE_POOL_2D": pool("AVERAGE_POOL_2D"), "AVERAGE_POOL_2D-relu_n1": pool("AVERAGE_POOL_2D", RELU_N1_TO_1),
    "MAX_POOL_2D": pool("MAX_POOL_2D"), "MAX_POOL_2D-relu": pool("MAX_POOL_2D", RELU),
    "MEAN": mean,
    "ADD": binary("ADD", "AddOptions"), "SUB": binary("SUB", "SubOptions"), "MUL": binary("MUL", "MulOptions"),
    "ADD-relu6": binary("ADD", "AddOptions", fusedActivationFunction=RELU6),
    "MAXIMUM": binary("MAXIMUM"), "MINIMUM": binary("MINIMUM"),
    "RELU": unary("RELU"), "RELU6": unary("RELU6"), "RELU_N1_TO_1": unary("RELU_N1_TO_1"),
    "LEAKY_RELU": unary("LEAKY_RELU", "LeakyReluOptions", alpha=0.2), "HARD_SWISH": unary("HARD_SWISH"),
    "LOGISTIC": unary("LOGISTIC"), "TANH": unary("TANH"),
    "SOFTMAX": unary("SOFTMAX", "SoftmaxOptions", shape=(3, 7), beta=1.0),
    "SOFTMAX-beta": unary("SOFTMAX", "SoftmaxOptions", shape=(3, 7), beta=0.5),
    "LOG_SOFTMAX": unary("LOG_SOFTMAX", shape=(3, 7)),
    "QUANTIZE": quantize(-3), "QUANTIZE-zp5": quantize(5),
}


LIBM = {"LOGISTIC", "TANH"}  # exp/tanh of the C library: within rounding, not bit for bit


def _case(name: str, kind: str, seed: int):
    rng = np.random.default_rng(seed)
    model_bytes, shapes = OPS[name](rng)
    inputs = [sprinkle(rng, shape, kind) for shape in shapes]
    return model_bytes, inputs


@pytest.mark.parametrize("kind", list(SPECIALS))
@pytest.mark.parametrize("name", list(OPS))
def test_single_op_reference(name, kind):
    for seed in range(3):
        model_bytes, inputs = _case(name, kind, seed)
        expected = run_litert(model_bytes, inputs)
        ours = model_for(model_bytes).run(inputs)
        for o, e in zip(ours, expected):
            assert_same_specials(o, e, f"{name} {kind} seed {seed} (reference)", exact=name not in LIBM)


@pytest.mark.parametrize("name", [n for n in OPS if n != "RELU_N1_TO_1"])  # not a TFLite Micro operator
def test_single_op_tflm(name):
    """TFLite Micro's float kernels behave the same on specials (same activation range, same loop
    order, same QUANTIZE cast): semantics="tflm" matches them too."""
    for kind in SPECIALS:
        model_bytes, inputs = _case(name, kind, 0)
        expected = run_tflm(model_bytes, inputs)
        ours = model_for(model_bytes).run(inputs, semantics="tflm")
        for o, e in zip(ours, expected):
            assert_same_specials(o, e.reshape(o.shape), f"{name} {kind} (tflm)", exact=name not in LIBM)


@pytest.mark.parametrize("name", list(OPS))
def test_single_op_native(name, cache):
    """The C kernels (runtime/kernels/*_f32.c) built for the host: the same specials as LiteRT, and
    bit for bit the numpy reference wherever that sums in LiteRT's order."""
    models = {}  # the weights come from the seed: one build per seed
    for kind in SPECIALS:
        for seed in range(2):
            model_bytes, inputs = _case(name, kind, seed)
            model = models.setdefault(seed, model_for(model_bytes))
            expected = run_litert(model_bytes, inputs)
            ours = model.run_native(inputs, cache_dir=cache).outputs
            for o, e in zip(ours, expected):
                assert_same_specials(o, e, f"{name} {kind} seed {seed} (native)", exact=name not in LIBM)


# ---- float zoo models ---------------------------------------------------------------------------

FLOAT_ZOO = ["tflite_micro/hello_world_float.tflite", "mlcommons_tiny/ad01_fp32.tflite",
             "mlcommons_tiny/pretrainedResnet.tflite", "mlcommons_tiny/vww_96_float.tflite"]


def zoo_inputs(model: arielml.Model) -> dict[str, np.ndarray]:
    """One +inf, one -inf, one FLT_MAX, and a 2 % sprinkle of every special, in [-1, 1) data."""
    ((shape, _),) = model.input_specs
    rng = np.random.default_rng(12)
    base = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    cases = {}
    for label, value in (("+inf", np.inf), ("-inf", -np.inf), ("FLT_MAX", FLT_MAX)):
        x = base.copy()
        x.reshape(-1)[rng.integers(x.size)] = value
        cases[label] = x
    cases["sprinkled"] = sprinkle(rng, shape, "mixed", share=0.02)
    return cases


@pytest.fixture(scope="module")
def zoo_models():
    return {}


@pytest.mark.parametrize("name", FLOAT_ZOO)
def test_float_zoo_reference(name, zoo_models):
    path = ZOO / name
    model = zoo_models.setdefault(name, arielml.load(path))
    for label, x in zoo_inputs(model).items():
        expected = run_litert(path.read_bytes(), [x])
        for o, e in zip(model.run([x]), expected):
            assert_same_specials(o, e.reshape(o.shape), f"{name} {label} (reference)")


@pytest.mark.parametrize("name", FLOAT_ZOO)
def test_float_zoo_native(name, zoo_models, cache):
    path = ZOO / name
    model = zoo_models.setdefault(name, arielml.load(path))
    for label, x in zoo_inputs(model).items():
        expected = run_litert(path.read_bytes(), [x])
        for o, e in zip(model.run_native([x], cache_dir=cache).outputs, expected):
            assert_same_specials(o, e.reshape(o.shape), f"{name} {label} (native)")


def test_hello_world_issue_case():
    """The issue's numbers: hello_world float with x = +inf gives 2.3e38 in LiteRT (NaN before), and
    -inf gives FLT_MAX."""
    path = ZOO / "tflite_micro" / "hello_world_float.tflite"
    model = arielml.load(path)
    for value in (np.inf, -np.inf):
        x = np.array([[value]], np.float32)
        (ours,), (theirs,) = model.run([x]), run_litert(path.read_bytes(), [x])
        assert np.isfinite(ours).all() and np.array_equal(ours, theirs.reshape(ours.shape)), (value, ours, theirs)


@pytest.mark.cross
@needs_cross
@pytest.mark.parametrize("board", ["stm32h747", "rp2040"])
def test_single_op_emulated(board):
    """The same kernels cross-compiled: on a core with an FPU (Cortex-M7 here) gcc fuses x * w + acc
    into one vfma unless -ffp-contract=off (the firmware build passes it; -std=c99 implies it for the
    native build and the generated README), and a fused FLT_MAX * 1.5 - FLT_MAX is finite where
    LiteRT's two roundings give NaN. The soft-float RP2040 is the control."""
    for name in ("FULLY_CONNECTED", "CONV_2D"):
        model_bytes, inputs = _case(name, "big", 0)
        expected = run_litert(model_bytes, inputs)
        for o, e in zip(model_for(model_bytes).run_emulated(inputs, board).outputs, expected):
            assert_same_specials(o, e, f"{name} big on {board} (emulated)", exact=True)
