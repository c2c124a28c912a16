"""The Cortex-M0+ int8 kernels (runtime/kernels/armv6m/conv_s8.c, fully_connected_s8.c) against the
reference executor, byte for byte, on the emulated RP2040 at 1 and 2 cores.

Each model holds many independent random single-operator cases side by side (one firmware build
covers them all): CONV_2D 1x1 (the in-place path, strides 1 and 2), 3x3 and first-layer shapes
(1-3 input channels, odd filters such as 10x4; the copied-window path, SAME padding at every
border), windows too large to copy (portable fallback), odd channel counts (a channel pair of
itself), odd output widths (a pixel pair of itself), batch > 1, DEPTHWISE_CONV_2D and
FULLY_CONNECTED. With 2 cores the plan splits every operator into tiles, so work items start and
end inside rows and channel blocks; one run replaces the plan's tiles by random cuts on random cores.
The one-multiply requantisation's bracket is also checked on its own against TFLite's rounding. A
failing case names its seed and shape."""
from __future__ import annotations

import numpy as np
import pytest

import arielml
from arielml.api import Model
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross
from tests.tflite_builder import ModelBuilder
from tests.window_op_cases import QMAX, log_uniform, random_activation, random_input, zero_point

pytestmark = needs_cross
BASE_SEED = 46_000


def add_conv(b: ModelBuilder, rng: np.random.Generator, n: int, h: int, w: int, c: int, o: int, kh: int, kw: int,
             stride: tuple[int, int], same: bool, depthwise: bool = False, per_channel: bool = True,
             gain: float = 1.0, dilation: int = 1, groups: int = 1, dead: int = 0, activation: int | None = None,
             extreme: bool = False):
    """One int8 CONV_2D / DEPTHWISE_CONV_2D (multiplier o / c) on its own input; returns (input tensor,
    output tensor, input array, description). gain scales the output scale: 2^20 makes the right shift
    exceed 21 (the requantisation's exact path only), 2^-10 a multiplier above 1 (a left shift). dead:
    that many channels get a weight scale of 1e-6 or 1e-9 (right shifts > 21, multipliers of 0) among
    ordinary channels. extreme: weights and inputs only -128 and 127 (the packed 16-bit lanes' limits: two
    products of (-128)(-128) make a lane sum of 2^15)."""
    sh, sw = stride
    eff_h, eff_w = (kh - 1) * dilation + 1, (kw - 1) * dilation + 1
    out_h = -(-h // sh) if same else -(-(h - eff_h + 1) // sh)
    out_w = -(-w // sw) if same else -(-(w - eff_w + 1) // sw)
    in_scale = log_uniform(rng, 1e-3, 1.0)
    x = b.tensor((n, h, w, c), "int8", quant=(in_scale, zero_point(rng, "int8")))
    w_shape = (1, kh, kw, o) if depthwise else (o, kh, kw, c // groups)
    w_scales = [log_uniform(rng, 1e-3, 1e-1) for _ in range(o if per_channel else 1)]
    w_scales[:dead] = [1e-9 if i % 2 else 1e-6 for i in range(dead)]  # multiplier 0 / right shift > 21
    w_data = rng.choice([-128, 127], w_shape) if extreme else rng.integers(-127, 128, w_shape)
    wt = b.tensor(w_shape, "int8", quant=(w_scales, [0] * len(w_scales), 3 if depthwise else 0), data=w_data)
    window = kh * kw * (1 if depthwise else c // groups)
    acc_std = (QMAX["int8"] / 1.7) ** 2 * np.sqrt(window)
    bias = b.tensor((o,), "int32", quant=([in_scale * s for s in w_scales], [0] * len(w_scales)),
                    data=rng.integers(-int(acc_std), int(acc_std) + 1, o))
    out_scale = in_scale * float(np.mean(w_scales)) * acc_std / (QMAX["int8"] / 2.5) * log_uniform(rng, 0.2, 5)
    y = b.tensor((n, out_h, out_w, o), "int8", quant=(out_scale * gain, zero_point(rng, "int8")))
    activation = random_activation(rng) if activation is None else activation
    options = dict(padding=0 if same else 1, strideH=sh, strideW=sw, fusedActivationFunction=activation,
                   dilationHFactor=dilation, dilationWFactor=dilation)
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], "DepthwiseConv2DOptions", depthMultiplier=o // c, **options)
    else:
        b.op("CONV_2D", [x, wt, bias], [y], "Conv2DOptions", **options)
    what = (f"{'DEPTHWISE' if depthwise else 'CONV'} in {(n, h, w, c)} weights {w_shape} stride {stride} "
            f"{'SAME' if same else 'VALID'} dilation {dilation} groups {groups}")
    shape = (n, h, w, c)
    array = rng.choice(np.array([-128, 127], np.int8), shape) if extreme else random_input(rng, shape, "int8")
    return x, y, array, what


def add_fc(b: ModelBuilder, rng: np.random.Generator, rows: int, depth: int, units: int, per_channel: bool):
    in_scale = log_uniform(rng, 1e-3, 1.0)
    x = b.tensor((rows, depth), "int8", quant=(in_scale, zero_point(rng, "int8")))
    scales = [log_uniform(rng, 1e-3, 1e-1) for _ in range(units if per_channel else 1)]
    w = b.tensor((units, depth), "int8", quant=(scales, [0] * len(scales), 0),
                 data=rng.integers(-127, 128, (units, depth)))
    acc_std = (QMAX["int8"] / 1.7) ** 2 * np.sqrt(depth)
    bias = b.tensor((units,), "int32", quant=([in_scale * s for s in scales], [0] * len(scales)),
                    data=rng.integers(-int(acc_std), int(acc_std) + 1, units))
    out_scale = in_scale * float(np.mean(scales)) * acc_std / (QMAX["int8"] / 2.5) * log_uniform(rng, 0.2, 5)
    y = b.tensor((rows, units), "int8", quant=(out_scale, zero_point(rng, "int8")))
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", fusedActivationFunction=random_activation(rng))
    return x, y, random_input(rng, (rows, depth), "int8"), f"FC {rows}x{depth} -> {units}"


# (n, h, w, c, o, kh, kw, stride, same): CONV_2D shapes that reach every path of the M0+ kernel (copied
# windows: row by row for <= 4 channel blocks, block by block beyond)
CONV_SHAPES = [
    (1, 5, 7, 16, 20, 1, 1, (1, 1), True),    # 1x1 in place, odd width, two channel blocks
    (1, 6, 6, 9, 7, 1, 1, (2, 2), False),     # 1x1 stride 2, odd channels
    (2, 3, 4, 5, 3, 1, 1, (1, 1), True),      # batch 2
    (1, 9, 9, 3, 8, 3, 3, (2, 2), True),      # VWW's first layer, small
    (1, 8, 11, 3, 7, 3, 3, (1, 1), False),    # RGB 3x3 VALID: every window in place (v6m_mac_packed_3x9), odd channels
    (1, 7, 6, 3, 18, 3, 3, (1, 1), True),     # RGB 3x3 on packed weights over two channel blocks (9 pairs fit)
    (1, 5, 6, 3, 20, 3, 3, (2, 1), True),     # 10 pairs do not fit beside the windows: v6m_mac_2x2_3x9
    (1, 13, 10, 1, 17, 10, 4, (2, 2), True),  # kws's first layer: 1 channel, 10x4 filter (packed pixel pairs)
    (1, 7, 6, 2, 20, 3, 3, (1, 1), True),     # even window, weights copied to the stack: packed pairs at borders
    (1, 8, 7, 2, 5, 5, 3, (1, 2), False),     # 2 input channels, odd filter, VALID
    (2, 6, 5, 7, 33, 3, 3, (1, 1), True),     # 3x3, three channel blocks, batch 2
    (1, 4, 5, 3, 70, 3, 3, (1, 1), True),     # 5 channel blocks: copied windows block by block
    (1, 5, 6, 80, 3, 3, 3, (1, 1), True),     # window of 720 bytes: portable fallback
    (1, 32, 32, 2, 16, 1, 1, (1, 1), True),   # 16k outputs: many requantisations near a rounding step
    # 1x1 on packed weights (v6m_packed.h) in chunks of channel pairs: window 67 (5 pairs a chunk, a block of
    # 16 and one of 5 channels), 190 (2 pairs a chunk, odd channels), 383 (no pair fits: the 2x2 kernel)
    (1, 5, 6, 67, 21, 1, 1, (1, 1), True),
    (1, 4, 4, 190, 5, 1, 1, (1, 1), True),
    (1, 3, 3, 383, 4, 1, 1, (1, 1), True),
    # fewer than PACK_MIN_PIXELS pixels, even windows: pixel pairs on packed inputs (v6m_mac_xpacked_2px);
    # windows of 4k + 2 and 4k bytes, odd channels, three blocks (MCUNet's 2x2 layers); an odd window: 2x2
    (1, 2, 3, 30, 9, 1, 1, (1, 1), True),
    (1, 1, 3, 32, 5, 1, 1, (1, 1), True),
    (1, 2, 2, 96, 40, 1, 1, (1, 1), True),
    (1, 1, 3, 21, 6, 1, 1, (1, 1), True),
]
# (shape, options): dilation (copied windows, depthwise in place and copied), groups (portable conv_q8)
OPTION_SHAPES = [((1, 9, 10, 5, 7, 3, 3, (1, 1), True), dict(dilation=2)),
                 ((1, 9, 12, 16, 16, 3, 3, (1, 1), False), dict(dilation=2, depthwise=True)),
                 ((1, 7, 8, 16, 16, 3, 3, (2, 1), True), dict(dilation=2, depthwise=True)),
                 ((1, 5, 6, 6, 4, 3, 3, (1, 1), True), dict(groups=2)),
                 ((1, 6, 7, 16, 16, 3, 3, (1, 1), True), dict(depthwise=True, gain=2.0 ** 20)),  # exact-only
                 ((1, 6, 7, 16, 16, 3, 3, (1, 1), True), dict(depthwise=True, gain=2.0 ** -6)),  # shifts 6-17
                 # left shifts through the 4-pixel requantisation: in place (VALID) and from a strip (SAME)
                 ((1, 5, 13, 16, 16, 3, 3, (1, 1), False), dict(depthwise=True, gain=2.0 ** -10)),
                 ((1, 4, 9, 20, 20, 3, 3, (1, 1), True), dict(depthwise=True, gain=2.0 ** -10)),
                 ((1, 4, 6, 24, 32, 1, 1, (1, 1), True), dict(dead=19)),  # 1x1 on packed pixel pairs
                 ((1, 6, 6, 24, 20, 1, 1, (1, 1), True), dict(dead=13)),  # 1x1 on packed weights
                 # packed 1x1 lanes at their limits: windows of 4k + 1 and 4k + 3 bytes, 3 channel blocks
                 ((1, 4, 5, 13, 37, 1, 1, (1, 1), True), dict(extreme=True, gain=4.0)),
                 ((1, 3, 7, 67, 9, 1, 1, (1, 1), True), dict(extreme=True, gain=8.0, activation=0)),
                 ((1, 1, 5, 14, 7, 1, 1, (1, 1), True), dict(extreme=True, gain=4.0, activation=0)),  # packed inputs
                 ((1, 11, 6, 1, 16, 10, 4, (2, 2), True), dict(extreme=True, gain=4.0, activation=0)),
                 # 7x7 in place, four pixels then two; no activation (a narrow clamp could hide errors)
                 ((1, 8, 14, 16, 16, 7, 7, (1, 1), False), dict(depthwise=True, activation=0))]  # 3 of 16 dead / 16 of 16 dead
# (shape, gain): requantisation with a right shift > 21 (exact path only) and with a left shift
# the 1x1 left shift: 18 pixels (four fours, then a pair) over 11 channels (an odd last channel); both
# requantisation cases on packed pixel pairs too (6 and 4 pixels)
GAIN_SHAPES = [((1, 6, 6, 8, 10, 1, 1, (1, 1), True), 2.0 ** 20), ((1, 5, 5, 1, 6, 3, 3, (1, 1), True), 2.0 ** -10),
               ((1, 3, 6, 12, 11, 1, 1, (1, 1), True), 2.0 ** -10),
               ((1, 2, 3, 12, 11, 1, 1, (1, 1), True), 2.0 ** -10), ((1, 2, 2, 8, 10, 1, 1, (1, 1), True), 2.0 ** 20)]
DEPTHWISE_SHAPES = [
    (1, 7, 9, 20, 20, 3, 3, (1, 1), True),    # narrow rows: a zero-point-padded strip per work item
    (1, 5, 40, 16, 16, 3, 3, (1, 1), True),   # wide rows: in place, border pixel pairs copied
    (1, 9, 8, 17, 17, 3, 3, (2, 2), True),
    (1, 11, 11, 6, 6, 5, 5, (2, 2), False),
    (1, 10, 9, 24, 24, 7, 7, (1, 1), True),   # 7x7 (MCUNet), 16 + 8 channels, every pixel near a border
    (1, 12, 19, 40, 40, 5, 5, (2, 2), True),  # MCUNet's 5x5 stride 2: border pairs gathered, 4 pixels in place
    (1, 7, 8, 40, 40, 7, 7, (2, 2), True),    # 7x7 stride 2 over a strip, 16 + 16 + 8 channels
    (1, 9, 30, 20, 20, 7, 7, (1, 1), True),   # wide 7x7 rows: border fours from strips of their 10 columns
    (1, 6, 37, 16, 16, 3, 3, (2, 1), True),   # 3x3 stride (2, 1), odd width: border fours, a last pair
    (2, 4, 7, 3, 3, 1, 5, (1, 3), False),     # 1x5, stride 3, batch 2
    (1, 6, 6, 5, 5, 2, 4, (1, 1), True),      # width 4: portable fallback
    (2, 5, 6, 4, 8, 3, 3, (1, 1), True),      # depth multiplier 2: portable
]
# depths 67, 16, 129, 5, 30: every depth mod 4 (the unrolled loops are entered at depth mod 4 steps)
FC_SHAPES = [(1, 67, 21, True), (3, 16, 5, False), (2, 129, 4, True), (1, 5, 1, False), (2, 30, 7, True)]


def random_model(seed: int) -> tuple[bytes, list[np.ndarray], list[str]]:
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    inputs, outputs, arrays, names = [], [], [], []
    cases = [lambda s=s: add_conv(b, rng, *s) for s in CONV_SHAPES]
    cases += [lambda s=s: add_conv(b, rng, *s, depthwise=True) for s in DEPTHWISE_SHAPES]
    cases += [lambda s=s, k=k: add_conv(b, rng, *s, gain=k) for s, k in GAIN_SHAPES]
    cases += [lambda s=s, k=k: add_conv(b, rng, *s, **k) for s, k in OPTION_SHAPES]
    cases += [lambda s=s: add_fc(b, rng, *s) for s in FC_SHAPES]
    for make in cases:
        x, y, array, what = make()
        inputs.append(x)
        outputs.append(y)
        arrays.append(array)
        names.append(what)
    return b.build(inputs, outputs), arrays, names


@pytest.mark.parametrize("cores", [1, 2])
def test_random_int8_ops_bit_exact_on_rp2040(cores):
    seed = BASE_SEED + cores
    model_bytes, arrays, names = random_model(seed)
    model = Model(verify(parse_tflite(model_bytes)))
    expected = model.run(arrays)
    got = model.run_emulated(arrays, "rp2040", cores=cores).outputs
    for name, ours, want in zip(names, got, expected):
        assert np.array_equal(ours, want), f"seed {seed} cores {cores}: {name}: {(ours != want).sum()} of " \
                                           f"{want.size} values differ"


def _random_tiles(plan, rng: np.random.Generator, cores: int):
    """The plan with every kernel step cut into random [begin, end) tiles on random cores: tiles that
    start and end mid-row and mid-block, fewer items than channel blocks, single items."""
    from dataclasses import replace
    steps = []
    for step in plan.steps:
        if step.is_view or step.work_items < 2:
            steps.append(step)
            continue
        count = int(rng.integers(1, min(step.work_items, 12) + 1))
        cuts = sorted(rng.choice(np.arange(1, step.work_items), count - 1, replace=False).tolist())
        bounds = [0, *cuts, step.work_items]
        tiles = tuple((int(a), int(b)) for a, b in zip(bounds, bounds[1:]))
        steps.append(replace(step, tiles=tiles, tile_core=tuple(int(c) for c in rng.integers(0, cores, len(tiles)))))
    return replace(plan, steps=tuple(steps))


def test_random_tile_ranges_bit_exact_on_two_rp2040_cores():
    """Every kernel of the random model with its work items cut at random points (any [begin, end)
    must give the reference's bytes: the kernels take items block by block inside a range)."""
    from arielml.backends.emulator import build_firmware_for_plan
    from arielml.compile import plan_model
    seed = BASE_SEED + 7
    model_bytes, arrays, names = random_model(seed)
    model = Model(verify(parse_tflite(model_bytes)))
    expected = model.run(arrays)
    plan = _random_tiles(plan_model(model, "rp2040", 2), np.random.default_rng(seed), 2)
    got = build_firmware_for_plan(model, plan).run(arrays).outputs
    for name, ours, want in zip(names, got, expected):
        assert np.array_equal(ours, want), f"seed {seed}: {name}: {(ours != want).sum()} of {want.size} values differ"


def test_zoo_models_bit_exact_on_two_rp2040_cores():
    for name in ("kws_ref_model", "vww_96_int8"):
        model = arielml.load((ZOO / "mlcommons_tiny" / f"{name}.tflite").read_bytes())
        inputs = model.random_inputs(seed=3)
        want = model.run(inputs)
        got = model.run_emulated(inputs, "rp2040", cores=2).outputs
        for ours, theirs in zip(got, want):
            assert np.array_equal(ours, theirs), f"{name}: {(ours != theirs).sum()} values differ"


def _tflite_double_rounding(x: np.ndarray, m: np.ndarray, r: np.ndarray) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier for a right shift r: SaturatingRoundingDoublingHighMul
    (C division truncating toward zero) then RoundingDivideByPOT (half away from zero)."""
    ab = x * m
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    high = np.where(s >= 0, s >> 31, -((-s) >> 31))
    mask = (np.int64(1) << r) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (high < 0)
    return (high >> r) + (remainder > threshold)


def test_fast_requantisation_bracket_is_exact():
    """v6m_requant.h's one-MULS path, its arithmetic mirrored here: whenever R1 = floor((Q + A) / 2^22)
    equals R2 = floor((Q + A + u) / 2^22) (u < 2^(9+r) below the channel's bound, m normalised), R1 is
    the exact magnitude. Random accumulators and ones placed just below a rounding step of Q + A."""
    rng = np.random.default_rng(BASE_SEED)
    count = 200_000
    r = rng.integers(0, 22, count).astype(np.int64)
    m = rng.integers(1 << 30, 1 << 31, count).astype(np.int64)
    neg = rng.integers(0, 2, count).astype(np.int64)
    mf = m >> (9 + r)
    a = (np.int64(1) << (21 - r)) + np.where(r >= 1, np.int64(1) << 21, 0) - neg
    random_u = (rng.random(count) * (np.int64(1) << (9 + r))).astype(np.int64)
    step = rng.integers(1, 256, count).astype(np.int64)  # just below a multiple of 2^22 of Q + A
    near_u = np.clip(np.clip((step << 22) - a, 0, None) // mf + rng.integers(-2, 3, count), 0,
                     (np.int64(1) << (9 + r)) - 1)
    # the bracket's upper end reached: x < 0 and the multiplier's low 9 + r bits all ones make
    # floor(E / 2^t) = A + u, so a bracket one narrower would decide some of these wrongly
    ones = (mf << (9 + r)) | ((np.int64(1) << (9 + r)) - 1)
    a_neg = (np.int64(1) << (21 - r)) + np.where(r >= 1, np.int64(1) << 21, 0) - 1
    edge_u = np.clip(np.clip((step << 22) - a_neg, 0, None) // (mf + 1) + rng.integers(-2, 3, count), 0,
                     (np.int64(1) << (9 + r)) - 1)  # Q + A + u at a multiple of 2^22
    for u, m_, neg_ in ((random_u, m, neg), (near_u, m, neg), (edge_u, ones, np.ones_like(neg))):
        a_ = (np.int64(1) << (21 - r)) + np.where(r >= 1, np.int64(1) << 21, 0) - neg_
        q = u * mf
        r1, r2 = (q + a_) >> 22, (q + a_ + u) >> 22
        assert ((q + a_ + u) < (1 << 32)).all()
        want = np.abs(_tflite_double_rounding(np.where(neg_ == 1, -u, u), m_, r))
        decided = r1 == r2
        assert decided.sum() > count // 10  # the test decides enough cases to mean something
        assert np.array_equal(r1[decided], want[decided])
