"""The DSP-extension int8 kernels (runtime/kernels/arm_dsp/: SXTB16 + SMLAD, register blocking over
pixels and channels, SMULL requantisation) give the bytes of the reference executor on the emulated
Cortex-M33 (rp2350-arm, 1 and 2 cores), Cortex-M7 + Cortex-M4 (stm32h747, both images when run on
2 cores) and Cortex-M4F (nrf52840): random single-operator CONV_2D (1x1, 3x3, others; strides,
SAME/VALID, odd channel counts, batch > 1, channel blocks, shapes the kernels leave to the portable
loops), DEPTHWISE_CONV_2D and FULLY_CONNECTED models, and whole zoo models at 2 cores.
A failing case prints its seed and shape."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.api import load
from arielml.backends.emulator import build_emulated
from arielml.backends.reference import prepare_all, run_reference
from arielml.ops.registry import SEMANTICS
from tests.conftest import ZOO
from tests.conv_cases import conv_case
from tests.emu_helpers import needs_cross
from tests.test_kernels_conv import fc_case, graph_of
from tests.tflite_builder import ModelBuilder
from tests.window_op_cases import QMAX, log_uniform, random_activation, random_input

pytestmark = [pytest.mark.cross, needs_cross]

# (board, cores, scheduler): the M33 alone and with its twin, the M7 with the M4 beside it, the M4F alone
CONFIGS = [("rp2350-arm", 1, "static"), ("rp2350-arm", 2, "dynamic"), ("stm32h747", 2, "static"),
           ("nrf52840", 1, "static")]


def check_emulated(graph, inputs, configs, whats, semantics: str = "litert") -> None:
    """Every output of the model (one per operator: `whats` says what) equals the reference's."""
    expected = run_reference(graph, inputs, prepare_all(graph, SEMANTICS[semantics]))
    for board, cores, scheduler in configs:
        run = build_emulated(graph, board, cores, scheduler, semantics).run(inputs)
        for got, want, what in zip(run.outputs, expected, whats):
            assert got.dtype == want.dtype and got.shape == want.shape, what
            assert np.array_equal(got, want), (f"{what} on {board} x{cores} {scheduler}: {(got != want).sum()} of "
                                               f"{got.size} values differ")


# ---- random int8 convolutions with the shapes the DSP kernels specialise -------------------------------

def add_conv(b: ModelBuilder, seed: int, n: int, h: int, w: int, c: int, o: int, k: tuple[int, int],
             stride: tuple[int, int], padding: int, depthwise: bool = False, multiplier: int = 1,
             dilation: tuple[int, int] = (1, 1), big_scale: bool = False, tiny_scale: bool = False,
             activation: int | None = None):
    """One int8 CONV_2D / DEPTHWISE_CONV_2D (per-channel weights, random zero points and activation)
    added to `b` with its own input and output; returns (input tensor, output tensor, input, what).
    big_scale: output scales close to the accumulator's, so requantisation shifts right by 0 or 1
    (the kernels' exact 32-bit fallback), and most outputs saturate. tiny_scale: output scales far
    above the accumulator's (right shifts up to 31, as in vww's nearly dead channels). activation: the
    fused activation code (random when None)."""
    rng = np.random.default_rng(seed)
    kh, kw = k
    if depthwise:
        o = c * multiplier
    w_shape = (1, kh, kw, o) if depthwise else (o, kh, kw, c)
    window = kh * kw * (1 if depthwise else c)
    in_scale = log_uniform(rng, 1e-3, 1.0)
    x = b.tensor((n, h, w, c), "int8", quant=(in_scale, int(rng.integers(-128, 128))))
    w_scales = [log_uniform(rng, 1e-3, 1e-1) for _ in range(o)]
    weights = b.tensor(w_shape, "int8", quant=(w_scales, [0] * o, 3 if depthwise else 0),
                       data=rng.integers(-127, 128, w_shape))
    acc_std = (QMAX["int8"] / 1.7) ** 2 * np.sqrt(window)
    bias = b.tensor((o,), "int32", quant=([in_scale * s for s in w_scales], [0] * o),
                    data=rng.integers(-int(acc_std), int(acc_std) + 1, o))
    factor = log_uniform(rng, 0.3, 3) if big_scale else acc_std / (QMAX["int8"] / 2.5) * log_uniform(rng, 0.3, 3)
    if tiny_scale:
        factor = acc_std * log_uniform(rng, 1e2, 1e6)
    out_scale = in_scale * float(np.mean(w_scales)) * factor

    def out_size(size, kk, s, d):
        return -(-size // s) if padding == 0 else -(-(size - (kk - 1) * d) // s)
    out_h, out_w = out_size(h, kh, stride[0], dilation[0]), out_size(w, kw, stride[1], dilation[1])
    y = b.tensor((n, out_h, out_w, o), "int8", quant=(out_scale, int(rng.integers(-128, 128))))
    act = random_activation(rng) if activation is None else activation
    options = dict(padding=padding, strideH=stride[0], strideW=stride[1], fusedActivationFunction=act,
                   dilationHFactor=dilation[0], dilationWFactor=dilation[1])
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", [x, weights, bias], [y], "DepthwiseConv2DOptions", depthMultiplier=multiplier,
             **options)
    else:
        b.op("CONV_2D", [x, weights, bias], [y], "Conv2DOptions", **options)
    what = (f"seed {seed}: {'depthwise' if depthwise else 'conv'} in {(n, h, w, c)} weights {w_shape} stride {stride} "
            f"dilation {dilation} {'SAME' if padding == 0 else 'VALID'}{' big scale' if big_scale else ''}")
    return x, y, random_input(np.random.default_rng(seed + 1), (n, h, w, c), "int8"), what


def bundle(shapes, base_seed: int, depthwise: bool):
    """All the shapes as independent operators of one model (one firmware build per configuration)."""
    b = ModelBuilder()
    xs, ys, inputs, whats = [], [], [], []
    for seed, shape, kernel, stride, padding, extra in shapes:
        x, y, data, what = add_conv(b, base_seed + seed, *shape, kernel, stride, padding, depthwise=depthwise, **extra)
        xs.append(x), ys.append(y), inputs.append(data), whats.append(what)
    return graph_of(b.build(xs, ys)), inputs, whats


# seed, (n, h, w, c, o), kernel, stride, padding (0 SAME, 1 VALID), extra
CONV_SHAPES = [
    (1, (1, 6, 9, 16, 24), (1, 1), (1, 1), 1, {}),                        # 1x1: pixel pairs, channel pairs
    (2, (2, 5, 7, 13, 7), (1, 1), (1, 1), 0, {}),                          # odd channels and width, batch 2
    (3, (1, 7, 7, 37, 35), (1, 1), (2, 2), 1, {}),                         # stride 2, 3 channel blocks
    (4, (1, 4, 5, 8, 5), (1, 1), (1, 1), 0, {"big_scale": True}),          # right shift 0/1: ariel_rq path
    (5, (1, 9, 8, 3, 8), (3, 3), (2, 2), 0, {}),                           # first-layer shape: runs padded
    (6, (1, 8, 7, 16, 18), (3, 3), (1, 1), 0, {}),                         # 3x3 SAME: edges all round
    (7, (2, 6, 6, 5, 3), (3, 3), (1, 2), 1, {}),                           # VALID, odd runs, batch 2
    (8, (1, 10, 6, 1, 4), (5, 2), (2, 1), 0, {}),                          # one channel, short runs: gathered
    (9, (1, 6, 7, 6, 9), (3, 3), (1, 1), 0, {"dilation": (2, 1)}),         # dilated rows (runs still merge)
    (10, (1, 7, 7, 4, 5), (3, 3), (1, 1), 0, {"dilation": (1, 2)}),        # dilated columns: portable loop
    (11, (1, 5, 6, 20, 19), (2, 3), (1, 1), 0, {"big_scale": True}),
    (12, (1, 3, 3, 64, 33), (1, 1), (1, 1), 0, {}),                        # 3 pixels a row: a lone pixel
    (13, (1, 2, 2, 6, 5), (3, 3), (1, 1), 0, {}),                          # every pixel at an edge
    (14, (1, 6, 6, 13, 17), (3, 3), (1, 1), 0, {}),                        # odd runs, too big to pad: byte tails
    (15, (1, 4, 5, 40, 6), (3, 3), (1, 1), 0, {}),                         # edge windows gathered one at a time
    (16, (1, 4, 6, 24, 10), (1, 1), (1, 1), 0, {"tiny_scale": True}),      # right shifts up to 31
    (17, (1, 5, 6, 36, 12), (1, 1), (1, 1), 0, {}),                        # 9 words: every loop entry point
    (18, (1, 3, 8, 8, 16), (1, 1), (1, 1), 0, {}),                         # 8 channels: two words in registers
    (19, (1, 6, 5, 4, 9), (2, 1), (2, 1), 0, {}),                          # gathered 8-byte windows, odd channels
    (20, (1, 7, 9, 3, 16), (3, 3), (1, 1), 1, {}),                         # 27-byte windows gathered whole, 16 channels
    (21, (1, 4, 5, 37, 7), (3, 3), (1, 1), 0, {}),                         # lone gathered windows with byte tails
]

DEPTHWISE_SHAPES = [
    (1, (1, 8, 9, 16, 0), (3, 3), (1, 1), 0, {}),                          # dm1 3x3 SAME, edges
    (2, (2, 7, 6, 21, 0), (3, 3), (2, 2), 0, {}),                          # stride 2, 2 channel blocks, batch 2
    (3, (1, 6, 7, 7, 0), (3, 3), (1, 1), 1, {"big_scale": True}),          # VALID, odd channels, ariel_rq path
    (4, (1, 7, 7, 5, 0), (3, 3), (1, 2), 0, {"dilation": (2, 2)}),         # dilated 3x3
    (5, (1, 6, 8, 9, 0), (5, 3), (1, 1), 0, {}),                           # other windows
    (6, (1, 5, 5, 6, 0), (3, 3), (1, 1), 0, {"multiplier": 2}),            # depth multiplier 2: portable loop
    (13, (1, 5, 5, 6, 0), (2, 2), (1, 1), 0, {}),                          # 2x2: four channels per word
    (7, (1, 4, 4, 3, 0), (3, 3), (2, 2), 0, {}),                           # 3 channels, tiny
    (8, (1, 2, 1, 5, 0), (3, 3), (1, 1), 0, {}),                           # narrower than the window: edges only
    (9, (2, 3, 2, 17, 0), (3, 3), (2, 2), 0, {}),                          # padded rows and columns, 2 blocks
    (10, (1, 4, 20, 9, 0), (3, 3), (1, 1), 0, {}),                         # rows >= 16 wide: the channel sweep
    (11, (2, 5, 33, 19, 0), (3, 3), (2, 2), 1, {}),                        # the sweep, stride 2, VALID, 2 blocks
    (12, (1, 3, 40, 4, 0), (3, 3), (1, 1), 0, {"big_scale": True}),        # the sweep, ariel_rq path
    (14, (1, 4, 5, 8, 0), (3, 3), (1, 1), 0, {"tiny_scale": True}),        # right shifts up to 31
    (15, (1, 4, 50, 5, 0), (3, 3), (1, 3), 0, {}),                         # the sweep, stride 3 (C loop)
    (16, (1, 3, 70, 6, 0), (3, 3), (1, 1), 0, {}),                         # rows over a strip (65 pixels)
    (17, (1, 6, 6, 13, 0), (3, 3), (1, 1), 0, {}),                         # narrow rows, last group of 1 channel
    (18, (1, 7, 7, 30, 0), (3, 3), (2, 2), 0, {}),                         # stride 2, odd width, groups of 2
    (19, (1, 5, 80, 7, 0), (3, 3), (2, 2), 0, {}),                         # stride 2 over two strips (33 pixels)
    (20, (1, 4, 3, 40, 0), (3, 3), (1, 1), 0, {}),                         # 3-pixel rows: a pair and a lone pixel
    (21, (1, 5, 9, 11, 0), (3, 3), (2, 1), 1, {"big_scale": True}),        # slow requantisation, VALID
    (22, (1, 4, 9, 8, 0), (3, 3), (1, 2), 0, {"tiny_scale": True}),        # right shifts over 22: slow blocks
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}x{c[1]}-{c[2]}")
def test_conv_matches_reference(config):
    graph, inputs, whats = bundle(CONV_SHAPES, 9_100, depthwise=False)
    check_emulated(graph, inputs, [config], whats)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}x{c[1]}-{c[2]}")
def test_depthwise_matches_reference(config):
    graph, inputs, whats = bundle(DEPTHWISE_SHAPES, 9_300, depthwise=True)
    check_emulated(graph, inputs, [config], whats)


# 1x1 over 8 input channels at stride 1 without activation clamps (SSAT only): the channel sweep
# (conv_sweep_1x1x8); with clamps, strides or rare scales: the pixel pairs
SWEEP_SHAPES = [
    (1, (1, 5, 9, 8, 16), (1, 1), (1, 1), 0, {"activation": 0}),          # one block of 16, odd width
    (2, (2, 3, 7, 8, 5), (1, 1), (1, 1), 1, {"activation": 0}),           # batch 2, 5 channels
    (3, (1, 4, 6, 8, 37), (1, 1), (1, 1), 0, {"activation": 0}),          # 3 channel blocks
    (4, (1, 4, 6, 8, 12), (1, 1), (1, 1), 0, {"activation": 0, "tiny_scale": True}),  # not SMMLAR
    (5, (1, 4, 6, 8, 12), (1, 1), (1, 1), 0, {"activation": 3}),          # RELU6 clamps: pixel pairs
    (6, (1, 5, 8, 8, 9), (1, 1), (2, 2), 0, {"activation": 0}),           # stride 2: pixel pairs
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}x{c[1]}-{c[2]}")
def test_conv_1x1_over_8_channels_matches_reference(config):
    graph, inputs, whats = bundle(SWEEP_SHAPES, 9_400, depthwise=False)
    check_emulated(graph, inputs, [config], whats)


@pytest.mark.parametrize("seed", range(3))
def test_random_geometry_int8_conv_and_depthwise(seed):
    """tests/conv_cases.py's random geometry (groups, dilation, any window and padding)."""
    for depthwise in (False, True):
        case = conv_case(9_500 + seed, depthwise, "int8" if seed % 2 else "int8-per-tensor")
        check_emulated(graph_of(case.model), case.inputs, [CONFIGS[(seed + depthwise) % len(CONFIGS)]], [str(case)])


# ---- FULLY_CONNECTED --------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_fully_connected_matches_reference(seed):
    """Units in fours and leftovers, depth tails, rows > 1, work split at any element; LiteRT's single
    rounding and TFLite Micro's double rounding."""
    case = fc_case(9_700 + seed, "int8-per-channel" if seed % 2 else "int8")
    check_emulated(graph_of(case.model), case.inputs, [CONFIGS[seed % len(CONFIGS)], CONFIGS[2]], [str(case)],
                   semantics="tflm" if seed % 2 else "litert")


# ---- whole models -------------------------------------------------------------------------------------

def test_zoo_models_bit_exact_on_two_m33_cores():
    for name in ("vww_96_int8", "kws_ref_model", "pretrainedResnet_quant"):
        model = load(ZOO / "mlcommons_tiny" / f"{name}.tflite")
        inputs = model.random_inputs(seed=3)
        expected = model.run(inputs)
        got = model.run_emulated(inputs, "rp2350-arm", cores=2).outputs
        for g, e in zip(got, expected):
            assert np.array_equal(g, e), f"{name}: {(g != e).sum()} values differ on 2 emulated Cortex-M33"
