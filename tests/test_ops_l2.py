"""L2_NORMALIZATION (float32, int8, uint8) and L2_POOL_2D (float32): randomised single-operator
models, bit-exact with LiteRT's reference kernels (float32 too: the same operations in the same
order); TFLite Micro compared too. Then the C kernels natively (1..3 threads, both schedulers) and
one emulated two-core rp2040 run."""
from __future__ import annotations

import numpy as np
import pytest

from tests.op_harness import (assert_emulated_matches_reference, assert_kernels_match_reference, case_rng,
                                check_case, model_for, Outcome, random_array, several)
from tests.tflite_builder import ModelBuilder, run_litert

NORM_DTYPES = ("float32", "int8", "uint8")


def l2norm_case(rng: np.random.Generator, dtype: str):
    rank = int(rng.integers(1, 5))
    shape = tuple(int(d) for d in rng.integers(1, 6, size=rank - 1)) + (int(rng.integers(1, 40)),)
    if dtype == "float32":
        x = random_array(rng, shape, dtype)
        if rng.random() < 0.2:
            x[..., :] = 0  # a zero row: the epsilon
        in_q = out_q = None
    else:
        info = np.iinfo(np.dtype(dtype))
        x = rng.integers(int(info.min), int(info.max) + 1, size=shape, dtype=np.int64).astype(dtype)
        in_q = (float(np.float32(rng.uniform(0.01, 0.5))), int(rng.integers(int(info.min), int(info.max) + 1)))
        out_q = (1.0 / 128, 0 if dtype == "int8" else 128)
        if rng.random() < 0.2:
            x[...] = in_q[1]  # a zero row
    what = f"L2_NORMALIZATION {dtype} {shape}"

    def add(b: ModelBuilder, out_shape):
        xt = b.tensor(shape, dtype, quant=in_q)
        y = b.tensor(out_shape, dtype, quant=out_q)
        b.op("L2_NORMALIZATION", [xt], [y], "L2NormOptions")
        return xt, y

    def build(shapes):
        b = ModelBuilder()
        xt, y = add(b, shape if shapes is None else shapes[0])
        return b.build([xt], [y])
    build.add = add
    return build, [x], what


def l2pool_case(rng: np.random.Generator, dtype: str = "float32"):
    while True:
        n, c = int(rng.choice([1, 1, 2])), int(rng.integers(1, 9))
        h, w = int(rng.integers(1, 10)), int(rng.integers(1, 10))
        fh, fw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        sh, sw, padding = int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(0, 2))
        if padding == 0 or (fh <= h and fw <= w):
            break
    act = int(rng.choice([0, 1, 3]))
    x = random_array(rng, (n, h, w, c), "float32")
    what = f"L2_POOL_2D {(n, h, w, c)} filter ({fh},{fw}) stride ({sh},{sw}) padding {padding} act {act}"

    def add(b: ModelBuilder, out_shape):
        xt = b.tensor(x.shape, "float32")
        y = b.tensor(out_shape, "float32")
        b.op("L2_POOL_2D", [xt], [y], "Pool2DOptions", padding=padding, strideH=sh, strideW=sw, filterHeight=fh,
             filterWidth=fw, fusedActivationFunction=act)
        return xt, y

    def build(shapes):
        b = ModelBuilder()
        xt, y = add(b, (1, 1, 1, 1) if shapes is None else shapes[0])
        return b.build([xt], [y])
    build.add = add
    return build, [x], what


@pytest.mark.parametrize("dtype", NORM_DTYPES)
def test_l2_normalization_random(dtype):
    outcome = Outcome()
    for i in range(20):
        seed, rng = case_rng("L2_NORMALIZATION" + dtype, i)
        build, inputs, _ = l2norm_case(rng, dtype)
        check_case(seed, build, inputs, outcome)
    print(f"L2_NORMALIZATION {dtype}: compared {outcome.compared}, TFLM agrees {outcome.tflm_agree}, disagrees "
          f"{outcome.tflm_disagree}, fails {len(outcome.tflm_failed)} {outcome.tflm_failed[:1]}")
    assert outcome.compared == 20
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"


def test_l2_pool_random():
    outcome = Outcome()
    for i in range(20):
        seed, rng = case_rng("L2_POOL_2D", i)
        build, inputs, _ = l2pool_case(rng)
        check_case(seed, build, inputs, outcome)
    print(f"L2_POOL_2D: compared {outcome.compared}, TFLM agrees {outcome.tflm_agree}, disagrees "
          f"{outcome.tflm_disagree}, fails {len(outcome.tflm_failed)} {outcome.tflm_failed[:1]}")
    assert outcome.compared == 20
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"



def _cases(rng, rounds: int):
    cases, inputs, whats = [], [], []
    for _ in range(rounds):
        for make in [lambda: l2pool_case(rng)] + [lambda d=d: l2norm_case(rng, d) for d in NORM_DTYPES]:
            build, arrays, what = make()
            cases.append((build, run_litert(build(None), arrays)[0].shape))
            inputs += arrays
            whats.append(what)
    return cases, inputs, whats


def test_l2_kernels_match_reference(cache):
    cases, inputs, whats = _cases(np.random.default_rng(9930), 4)
    model = model_for(several(cases))
    assert_kernels_match_reference(model, inputs, whats, cache, equal_nan=True)


def test_l2_emulated_rp2040_two_cores(tmp_path):
    cases, inputs, _ = _cases(np.random.default_rng(9931), 1)
    model = model_for(several(cases))
    assert_emulated_matches_reference(model, inputs, tmp_path, equal_nan=True)
