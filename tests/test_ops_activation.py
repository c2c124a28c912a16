"""RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU: randomised single-operator models (random shapes, input and
output quantisation over orders of magnitude, random zero points, random alpha), bit-exact with
LiteRT's reference kernels; TFLite Micro compared with arielml's "tflm" semantics where it runs."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.ops.activation import CLAMPS, LEAKY_RELU_TYPES
from tests.pointwise_cases import (Tally, assert_both_reject, case_rng, compare, log_uniform, random_zero_point,
                                   random_values)
from tests.tflite_builder import ModelBuilder

CASES = 40


def _build(op: str, shape, dtype: str, quant, alpha: float | None = None) -> bytes:
    b = ModelBuilder()
    x = b.tensor(shape, dtype, quant=quant[0] if quant else None)
    y = b.tensor(shape, dtype, quant=quant[1] if quant else None)
    if alpha is None:
        b.op(op, [x], [y])
    else:
        b.op(op, [x], [y], "LeakyReluOptions", alpha=alpha)
    return b.build([x], [y])


def _random_case(op: str, index: int, dtypes: tuple[str, ...]):
    seed, rng = case_rng(op, index)
    dtype = dtypes[index % len(dtypes)]
    shape = tuple(int(d) for d in rng.integers(1, 7, size=int(rng.integers(1, 5))))
    quant = None
    if dtype != "float32":
        in_scale = log_uniform(rng, 1e-4, 1.0)
        # converted models mostly keep the scale; requantising ones change it by up to 100x
        out_scale = in_scale if rng.random() < 0.3 else float(np.float32(in_scale * log_uniform(rng, 1e-2, 1e2)))
        quant = [(in_scale, random_zero_point(rng, dtype)), (out_scale, random_zero_point(rng, dtype))]
    x = random_values(rng, shape, dtype, float_range=8.0)
    return seed, rng, shape, dtype, quant, x


@pytest.mark.parametrize("op", list(CLAMPS))
def test_random_clamp_activation_matches_litert(op):
    tally = Tally(op)
    for index in range(CASES):
        seed, _, shape, dtype, quant, x = _random_case(op, index, CLAMPS[op][1])
        compare(seed, _build(op, shape, dtype, quant), [x], tally)
    print(tally.report())
    assert tally.compared == CASES and tally.tflm_compared >= (CASES // 4 if op != "RELU_N1_TO_1" else 0)


def test_random_leaky_relu_matches_litert():
    tally = Tally("LEAKY_RELU")
    for index in range(CASES):
        seed, rng, shape, dtype, quant, x = _random_case("LEAKY_RELU", index, LEAKY_RELU_TYPES)
        alpha = float(np.float32(rng.choice([0.0, 0.01, 0.2, -0.5, rng.uniform(-2.0, 2.0)])))
        compare(seed, _build("LEAKY_RELU", shape, dtype, quant, alpha), [x], tally)
    print(tally.report())
    assert tally.compared == CASES and tally.tflm_compared >= CASES // 4


@pytest.mark.parametrize("op,dtype,quant", [
    ("RELU", "int16", [(0.01, 4), (0.01, 0)]),  # int16 needs zero point 0
    ("RELU_N1_TO_1", "int16", [(0.01, 0), (0.01, 0)]),  # no int16 RELU_N1_TO_1 in TFLite
    ("RELU6", "int32", None),
])
def test_variants_litert_refuses_are_refused(op, dtype, quant):
    rng = np.random.default_rng(0)
    assert_both_reject(_build(op, (2, 3), dtype, quant), [random_values(rng, (2, 3), dtype)], f"{op} {dtype}")
