"""CUMSUM: randomised single-operator models (float32, int32, int64; exclusive and reverse; any
axis), bit-exact with LiteRT's kernels (float32 too: the same addition order); TFLite Micro compared
too. int8 (TFLite Micro only; LiteRT rejects it) against TFLite Micro. Then the C kernels natively
(1..3 threads, both schedulers) and one emulated two-core rp2040 run."""
from __future__ import annotations

import numpy as np
import pytest

from tests.op_harness import (assert_emulated_matches_reference, assert_kernels_match_reference, case_rng,
                                check_case, model_for, Outcome, random_array, several)
from tests.tflite_builder import ModelBuilder

DTYPES = ("float32", "int32", "int64")


def cumsum_case(rng: np.random.Generator, dtype: str):
    rank = int(rng.integers(1, 5))
    shape = tuple(int(d) for d in rng.integers(1, 8, size=rank))
    axis = int(rng.integers(-rank, rank))
    exclusive, reverse = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    if dtype == "int32" and rng.random() < 0.3:  # large values: the sums wrap around
        x = rng.integers(-(1 << 31), 1 << 31, size=shape, dtype=np.int64).astype(np.int32)
    elif dtype == "int64":
        x = rng.integers(-(1 << 40), 1 << 40, size=shape, dtype=np.int64)
    elif dtype == "int8":
        x = rng.integers(-128, 128, size=shape).astype(np.int8)
    else:
        x = random_array(rng, shape, dtype)
    what = f"CUMSUM {dtype} {shape} axis {axis} exclusive {exclusive} reverse {reverse}"

    in_q = out_q = None
    if dtype == "int8":
        in_q = (float(np.float32(rng.uniform(0.01, 0.1))), int(rng.integers(-128, 128)))
        out_q = (float(np.float32(in_q[0] * rng.uniform(1, 8))), int(rng.integers(-128, 128)))

    def add(b: ModelBuilder, out_shape):
        xt = b.tensor(shape, dtype, quant=in_q)
        a = b.tensor((), "int32", data=np.array(axis))
        y = b.tensor(out_shape, dtype, quant=out_q)
        b.op("CUMSUM", [xt, a], [y], "CumsumOptions", exclusive=exclusive, reverse=reverse)
        return xt, y

    def build(shapes):
        b = ModelBuilder()
        xt, y = add(b, shape if shapes is None else shapes[0])
        return b.build([xt], [y])
    build.add = add
    return build, [x], what


@pytest.mark.parametrize("dtype", DTYPES)
def test_cumsum_random(dtype):
    outcome = Outcome()
    for i in range(16):
        seed, rng = case_rng("CUMSUM" + dtype, i)
        build, inputs, _ = cumsum_case(rng, dtype)
        check_case(seed, build, inputs, outcome)
    print(f"CUMSUM {dtype}: compared {outcome.compared}, TFLM agrees {outcome.tflm_agree}, disagrees "
          f"{outcome.tflm_disagree}, fails {len(outcome.tflm_failed)} {outcome.tflm_failed[:1]}")
    assert outcome.compared == 16
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"


def test_cumsum_int8_matches_tflite_micro():
    from tests.op_harness import run_micro
    for i in range(20):
        seed, rng = case_rng("CUMSUMint8", i)
        build, inputs, what = cumsum_case(rng, "int8")
        model_bytes = build(None)
        got = model_for(model_bytes).run(inputs)[0]
        assert np.array_equal(got, run_micro(model_bytes, inputs, 1)[0]), f"seed {seed} {what}"



def _cases(rng, rounds: int):
    cases, inputs, whats = [], [], []
    for _ in range(rounds):
        for dtype in DTYPES + ("int8",):
            build, arrays, what = cumsum_case(rng, dtype)
            cases.append((build, arrays[0].shape))
            inputs += arrays
            whats.append(what)
    return cases, inputs, whats


def test_cumsum_kernels_match_reference(cache):
    cases, inputs, whats = _cases(np.random.default_rng(9910), 4)
    model = model_for(several(cases))
    assert_kernels_match_reference(model, inputs, whats, cache)


def test_cumsum_emulated_rp2040_two_cores(tmp_path):
    cases, inputs, _ = _cases(np.random.default_rng(9911), 1)
    model = model_for(several(cases))
    assert_emulated_matches_reference(model, inputs, tmp_path)
