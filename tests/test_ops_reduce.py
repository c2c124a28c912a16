"""MEAN: randomised single-operator models, bit-exact with LiteRT's reference kernels for int8,
uint8, int16 and int32, within float tolerance for float32; TFLite Micro compared too."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.ops.reduce import fold_mean_multiplier
from tests.op_harness import Outcome, case_rng, check_case, random_array, random_quant
from tests.tflite_builder import ModelBuilder

DTYPES = ("int8", "uint8", "int16", "int32", "float32")


def _mean_case(i: int, dtype: str, outcome: Outcome) -> None:
    seed, rng = case_rng("MEAN" + dtype, i)
    if i % 4 == 0:  # the global-average-pool shape every CNN ends with
        in_shape = (1, int(rng.integers(1, 8)), int(rng.integers(1, 8)), int(rng.integers(1, 9)))
        axes, keep = [1, 2], bool(rng.random() < 0.7)
    else:
        rank = int(rng.integers(1, 5))
        in_shape = tuple(int(d) for d in rng.integers(1, 7, size=rank))
        axes = [int(a) - (rank if rng.random() < 0.3 else 0)
                for a in rng.choice(rank, size=int(rng.integers(1, rank + 1)), replace=False)]
        if rng.random() < 0.2:
            axes.append(axes[0])  # duplicates are allowed and ignored
        keep = bool(rng.random() < 0.5)
    in_quant, out_quant = random_quant(rng, dtype), random_quant(rng, dtype)
    if in_quant is not None and rng.random() < 0.2:
        out_quant = in_quant  # same parameters: only the division remains
    axis_shape = () if len(axes) == 1 and rng.random() < 0.5 else (len(axes),)

    def build(shapes):
        b = ModelBuilder()
        x = b.tensor(in_shape, dtype, quant=in_quant)
        a = b.tensor(axis_shape, "int32", data=np.array(axes).reshape(axis_shape))
        y = b.tensor((1,) if shapes is None else shapes[0], dtype, quant=out_quant)
        b.op("MEAN", [x, a], [y], "ReducerOptions", keepDims=keep)
        return b.build([x], [y])
    x = random_array(rng, in_shape, dtype)
    check_case(seed, build, [x], outcome, float_tol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mean_random(dtype):
    outcome = Outcome()
    for i in range(20):
        _mean_case(i, dtype, outcome)
    print(f"MEAN {dtype}: compared {outcome.compared}, TFLM agrees {outcome.tflm_agree}, disagrees "
          f"{outcome.tflm_disagree}, fails {len(outcome.tflm_failed)} {outcome.tflm_failed[:2]}")
    assert outcome.compared >= 15
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"


def test_fold_mean_multiplier_matches_worked_example():
    # 0.75 = 1610612736 * 2^-31 (shift 0); n = 6: k = 2, (1610612736 << 2) // 6 = 1073741824, shift -2
    assert fold_mean_multiplier(1610612736, 0, 6) == (1073741824, -2)
    # the shift is bounded so that 31 + shift' stays >= 0
    assert fold_mean_multiplier(1 << 30, -30, 1 << 10) == ((1 << 30 << 1) // (1 << 10), -31)
