"""The Arm DSP 3x3 depthwise kernels (runtime/kernels/arm_dsp/arm_dsp_depthwise.h: at strides 1 and 2 on rows
of 12 output pixels or more, int16 rings of widened input rows and one channel swept four pixels a step with
SMLAD over tap pairs; else four channels per input word) give the bytes of the reference executor: random single-operator DEPTHWISE_CONV_2D models (depth multiplier 1, 3x3) on the
emulated Cortex-M33 (rp2350-arm at 1 and 2 cores, both schedulers: work split at random items), Cortex-M7
+ Cortex-M4 (stm32h747) and Cortex-M4F (nrf52840). The cases draw odd and narrow widths (1-3 pixels),
widths over a strip (32 pixels at stride 1, 16 at stride 2), channel counts not a multiple of 4 (the
tensor's last group read byte by byte), batches of 2 (the ring must not carry rows across images),
strides 1, 2 and 3 (3: the C loop), SAME and VALID, every clamp form of the sweep (none: SSAT alone;
RELU at the output zero point: the accumulator clamped at 0; RELU6 / RELU_N1_TO_1: both bounds) and
the slow requantisation (right shifts 0-1 and over 22). A failing case prints its seed and shape."""
from __future__ import annotations

import numpy as np
import pytest

from tests.emu_helpers import needs_cross
from tests.test_kernels_arm_dsp import CONFIGS, add_conv, check_emulated
from tests.test_kernels_conv import graph_of
from tests.tflite_builder import ModelBuilder

pytestmark = [pytest.mark.cross, needs_cross]


def random_cases(seed: int, count: int):
    """`count` random 3x3 depthwise shapes: (seed, (n, h, w, c, 0), kernel, stride, padding, extra)."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        stride = int(rng.choice([1, 1, 2, 2, 3]))
        stride_h = int(rng.choice([1, 2])) if rng.random() < 0.3 else stride
        w = int(rng.choice([1, 2, 3, int(rng.integers(4, 13)), int(rng.integers(13, 40))]))
        h = int(rng.integers(1, 7))
        c = int(rng.choice([int(rng.integers(1, 9)), int(rng.integers(9, 38))]))
        padding = int(rng.random() < 0.3)  # VALID needs the window inside
        if padding == 1:
            h, w = max(h, 3), max(w, 3)
        extra = {"activation": int(rng.choice([0, 1, 1, 2, 3]))}
        kind = rng.random()
        if kind < 0.1:
            extra["big_scale"] = True
        elif kind < 0.2:
            extra["tiny_scale"] = True
        n = 2 if rng.random() < 0.2 else 1
        cases.append((seed * 100 + i, (n, h, w, c, 0), (3, 3), (stride_h, stride), padding, extra))
    return cases


def bundle(cases, base_seed: int):
    b = ModelBuilder()
    xs, ys, inputs, whats = [], [], [], []
    for seed, shape, kernel, stride, padding, extra in cases:
        x, y, data, what = add_conv(b, base_seed + seed, *shape, kernel, stride, padding, depthwise=True, **extra)
        xs.append(x), ys.append(y), inputs.append(data), whats.append(f"{what} {extra}")
    return graph_of(b.build(xs, ys)), inputs, whats


# fixed shapes the sweep's boundaries meet: a strip's width exactly, one over, steps of 4 plus 1-3
EDGE_CASES = [
    (1, (1, 3, 32, 8, 0), (3, 3), (1, 1), 0, {"activation": 0}),    # one strip of 32 (8 steps), SSAT
    (2, (1, 3, 33, 8, 0), (3, 3), (1, 1), 0, {"activation": 1}),    # 32 + a lone pixel, ReLU
    (3, (1, 4, 35, 5, 0), (3, 3), (1, 1), 1, {"activation": 3}),    # VALID, 33 pixels, 5 channels
    (4, (1, 5, 33, 12, 0), (3, 3), (2, 2), 0, {"activation": 1}),   # stride 2: 16 + 1 pixels
    (5, (1, 6, 31, 4, 0), (3, 3), (2, 2), 1, {"activation": 2}),    # stride 2 VALID, 15 pixels: 3 steps + 3
    (6, (2, 6, 6, 16, 0), (3, 3), (1, 1), 0, {"activation": 1}),    # batch 2, 6-pixel rows: a step + 2
    (7, (1, 3, 3, 35, 0), (3, 3), (1, 1), 0, {"activation": 0}),    # vww's last shape, 3 lanes in the last group
    (8, (1, 9, 12, 7, 0), (3, 3), (2, 1), 0, {"activation": 1}),    # stride 2 down, 1 across: rows skip
    (9, (1, 4, 26, 13, 0), (3, 3), (2, 2), 0, {"activation": 3}),   # stride 2 sweep, 13 pixels: 3 steps + an overlapping one
    (10, (1, 5, 14, 6, 0), (3, 3), (1, 1), 0, {"activation": 1}),   # 14 pixels: 3 steps + one overlapping by 2
    (11, (1, 4, 18, 9, 0), (3, 3), (1, 1), 0, {"activation": 2}),   # 18 pixels, both bounds: 4 steps + overlap
    (12, (1, 5, 16, 7, 0), (3, 3), (1, 1), 1, {"big_scale": True}),  # VALID, 14 pixels, slow requantisation
    # after a sweep, a slow block of 7 channels on the four-channel kernel: its 8th lane's entry must not be stack garbage
    (13, (1, 3, 27, 7, 0), (3, 3), (3, 3), 1, {"activation": 1, "big_scale": True}),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}x{c[1]}-{c[2]}")
def test_depthwise_3x3_edges_match_reference(config):
    graph, inputs, whats = bundle(EDGE_CASES, 9_800)
    check_emulated(graph, inputs, [config], whats)


@pytest.mark.parametrize("seed", range(4))
def test_depthwise_3x3_random_match_reference(seed):
    graph, inputs, whats = bundle(random_cases(seed, 14), 9_900)
    check_emulated(graph, inputs, [CONFIGS[seed % len(CONFIGS)], CONFIGS[(seed + 1) % len(CONFIGS)]], whats)
