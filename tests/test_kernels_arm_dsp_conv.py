"""The DSP-extension CONV_2D paths of conv_s8.c that requantise in registers: pixel pairs of one-run
windows (1x1 rows, gathered first-layer windows) through mac_pairs_rq, and 1x1 channel blocks with
all-zero filters (prepare_wide, pair_plan, mac_plan_rq): such a channel's output is its requantised
bias, written without multiplies, and the block's other channels are taken two at a time (any two, a
lone one paired with itself). vww_96_int8's later 1x1 layers have 55-91% such channels. Random
single-operator models (1x1 with some filters zeroed, dense 1x1, RGB first layers) on the emulated
Cortex-M33 (1 and 2 cores), Cortex-M7 + M4 and Cortex-M4F, against the reference executor (whose
kernels are the portable ones' bytes)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.emu_helpers import needs_cross
from tests.test_kernels_arm_dsp import CONFIGS, add_conv, check_emulated
from tests.test_kernels_conv import graph_of
from tests.tflite_builder import ModelBuilder

pytestmark = [pytest.mark.cross, needs_cross]


class ZeroingBuilder(ModelBuilder):
    """A ModelBuilder whose next int8 filter tensor gets a random share of its output channels zeroed
    (and, with zero_output_zp, the output after it the zero point 0: RELU's lower bound 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.zero_share, self.rng = 0.0, np.random.default_rng(0)
        self.zero_output_zp, self.output_next = False, False

    def tensor(self, shape, dtype, quant=None, data=None, **kwargs):
        if data is not None and len(shape) == 4 and dtype == "int8":
            data = np.array(data).reshape(shape)
            data[self.rng.random(shape[0]) < self.zero_share] = 0
            self.zero_share, self.output_next = 0.0, self.zero_output_zp
        elif data is None and len(shape) == 4 and self.output_next:
            quant, self.output_next = (quant[0], 0), False
        return super().tensor(shape, dtype, quant=quant, data=data, **kwargs)


# seed, (n, h, w, c, o), stride, padding, share of zero filters, extra
ZERO_SHAPES = [
    (1, (1, 6, 9, 16, 24), 1, 1, 0.5, {}),                      # odd width: a lone pixel, 2 blocks
    (2, (1, 3, 3, 64, 33), 1, 0, 0.8, {}),                      # 3-pixel rows, a block of one channel
    (3, (1, 5, 6, 36, 12), 1, 0, 0.4, {}),                      # 9 words: loop entry 1 of 4
    (4, (1, 4, 5, 24, 20), 1, 0, 0.6, {"activation": 0}),       # 6 words, SSAT alone
    (5, (1, 4, 7, 12, 18), 1, 0, 0.3, {"activation": 3}),       # 3 words, RELU6: both bounds clamped
    (6, (2, 3, 5, 20, 17), 1, 0, 0.5, {"activation": 1}),       # batch 2, RELU: the lower bound
    (7, (1, 7, 7, 32, 20), 2, 1, 0.5, {}),                      # stride 2
    (8, (1, 4, 4, 16, 16), 1, 0, 1.0, {}),                      # every filter zero
    (9, (1, 4, 6, 28, 14), 1, 0, 0.5, {"tiny_scale": True}),    # right shifts up to 31: the old paths
    (10, (1, 4, 5, 16, 10), 1, 0, 0.5, {"big_scale": True}),    # right shifts 0/1 (ariel_rq)
    (11, (1, 2, 8, 256, 16), 1, 0, 0.9, {}),                    # 64 words
    (12, (1, 3, 4, 260, 6), 1, 0, 0.5, {}),                     # 65 words, one block of 6
    (13, (1, 5, 5, 8, 16), 1, 0, 0.5, {}),                      # 8 channels (two words)
    (14, (1, 6, 6, 4, 9), 1, 0, 0.5, {}),                       # one-word windows
    (15, (1, 4, 6, 20, 16), 1, 0, 0.5, {"activation": 1, "zp0": True}),  # RELU at 0: a lower bound of 0
    (16, (1, 3, 5, 12, 10), 1, 0, 0.0, {"activation": 3, "zp0": True}),  # no zero filters: dense blocks
]


# seed, (n, h, w, c, o), stride, padding, share of zero filters (0: dense), extra (kernel: not 1x1)
DENSE_SHAPES = [
    (21, (1, 5, 7, 4, 6), 1, 0, 0.0, {"activation": 1, "zp0": True}),  # one word, RELU at 0
    (22, (1, 4, 9, 12, 11), 1, 0, 0.0, {"activation": 3}),             # 3 words, odd channels, RELU6
    (23, (1, 3, 6, 20, 16), 1, 1, 0.0, {"activation": 0}),             # 5 words, SSAT alone
    (24, (2, 3, 5, 28, 13), 1, 0, 0.0, {}),                            # 7 words, batch 2, lone pixels
    (25, (1, 6, 6, 16, 37), 2, 0, 0.0, {}),                            # stride 2, 3 blocks (the last of 5)
    (26, (1, 2, 3, 48, 3), 1, 0, 0.0, {"activation": 1}),              # 3 channels: a pair and a lone one
    (27, (1, 4, 4, 16, 9), 1, 0, 0.0, {"tiny_scale": True}),           # not SMMLAR: the old loops
    (28, (1, 9, 10, 3, 8), 2, 0, 0.0, {"kernel": (3, 3)}),             # RGB first layer, SAME: gathered
    (29, (1, 7, 8, 3, 12), 2, 1, 0.0, {"kernel": (3, 3), "activation": 3}),  # VALID, RELU6
]


def zero_bundle(base_seed: int, shapes=tuple(ZERO_SHAPES)):
    b = ZeroingBuilder()
    xs, ys, inputs, whats = [], [], [], []
    for seed, shape, stride, padding, share, extra in shapes:
        extra = dict(extra)
        b.zero_share, b.rng = share, np.random.default_rng(base_seed + 50 + seed)
        b.zero_output_zp = extra.pop("zp0", False)
        kernel = extra.pop("kernel", (1, 1))
        x, y, data, what = add_conv(b, base_seed + seed, *shape, kernel, (stride, stride), padding, **extra)
        xs.append(x), ys.append(y), inputs.append(data), whats.append(f"{what}, {share:.0%} zero filters")
    return graph_of(b.build(xs, ys)), inputs, whats


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}x{c[1]}-{c[2]}")
def test_conv_1x1_with_zero_filters_matches_reference(config):
    graph, inputs, whats = zero_bundle(9_800)
    check_emulated(graph, inputs, [config], whats)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}x{c[1]}-{c[2]}")
def test_dense_pixel_pairs_requantised_in_registers_match_reference(config):
    graph, inputs, whats = zero_bundle(9_900, DENSE_SHAPES)
    check_emulated(graph, inputs, [config], whats)
