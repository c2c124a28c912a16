"""RESIZE_NEAREST_NEIGHBOR: randomised single-operator models (up- and down-scaling, both flags),
bit-exact with LiteRT's reference kernels; TFLite Micro compared too."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.ops.resize import nearest_sources
from tests.op_harness import Outcome, case_rng, check_case, random_array, random_quant
from tests.tflite_builder import ModelBuilder

DTYPES = ("int8", "uint8", "int16", "int32", "float32")


@pytest.mark.parametrize("flags", [(False, False), (True, False), (False, True), (True, True)])
def test_resize_nearest_neighbor_random(flags):
    align, half = flags
    outcome = Outcome()
    for i in range(15):
        seed, rng = case_rng(f"RESIZE{align}{half}", i)
        dtype = DTYPES[i % len(DTYPES)]
        in_shape = (int(rng.integers(1, 3)), int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 5)))
        size = [int(rng.integers(1, 17)), int(rng.integers(1, 17))]
        if i % 3 == 0:  # integer upscaling, the usual case in detector necks
            size = [in_shape[1] * 2, in_shape[2] * 2]
        quant = random_quant(rng, dtype)

        def build(shapes, in_shape=in_shape, size=size, quant=quant, dtype=dtype):
            b = ModelBuilder()
            x = b.tensor(in_shape, dtype, quant=quant)
            s = b.tensor((2,), "int32", data=np.array(size))
            y = b.tensor((1,) if shapes is None else shapes[0], dtype, quant=quant)
            b.op("RESIZE_NEAREST_NEIGHBOR", [x, s], [y], "ResizeNearestNeighborOptions",
                 alignCorners=align, halfPixelCenters=half)
            return b.build([x], [y])
        check_case(seed, build, [random_array(rng, in_shape, dtype)], outcome)
    print(f"RESIZE_NEAREST_NEIGHBOR align={align} half={half}: compared {outcome.compared}, TFLM agrees "
          f"{outcome.tflm_agree}, disagrees {outcome.tflm_disagree}, fails {len(outcome.tflm_failed)} "
          f"{outcome.tflm_failed[:2]}")
    assert outcome.compared >= 15
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"


def test_nearest_sources_worked_examples():
    assert nearest_sources(2, 4, False, False) == (0, 0, 1, 1)
    assert nearest_sources(3, 2, True, False) == (0, 2)  # scale 2: corners map to corners
    assert nearest_sources(4, 2, False, True) == (1, 3)  # (0.5 * 2, 1.5 * 2)
