"""RESIZE_BILINEAR: randomised single-operator models (float32, int8, int16, uint8; align_corners,
half_pixel_centers, up- and down-sampling), bit-exact with LiteRT's reference kernels (float32 too:
the reference's operation order); TFLite Micro compared too. Then the C kernels natively (1..3
threads, both schedulers) and one emulated two-core rp2040 run."""
from __future__ import annotations

import numpy as np
import pytest

from tests.op_harness import (assert_emulated_matches_reference, assert_kernels_match_reference, case_rng,
                                check_case, model_for, Outcome, random_array, several)
from tests.tflite_builder import ModelBuilder, run_litert

DTYPES = ("float32", "int8", "int16", "uint8")


def bilinear_case(rng: np.random.Generator, dtype: str):
    n = int(rng.choice([1, 1, 2]))
    h, w, c = int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 6))
    if rng.random() < 0.5:  # the common x2 upsampling: exact halves in the weights
        out_h, out_w = 2 * h, 2 * w
    else:
        out_h, out_w = int(rng.integers(1, 17)), int(rng.integers(1, 17))
    flags = int(rng.integers(0, 3))
    align, half = flags == 1, flags == 2
    zero_point = 0 if dtype == "int16" else int(rng.integers(-20, 20)) + (128 if dtype == "uint8" else 0)
    quant = None if dtype == "float32" else (0.05, zero_point)
    x = random_array(rng, (n, h, w, c), dtype)
    if dtype != "float32":
        info = np.iinfo(np.dtype(dtype))
        x = rng.integers(int(info.min), int(info.max) + 1, size=(n, h, w, c), dtype=np.int64).astype(dtype)
    what = f"RESIZE_BILINEAR {dtype} {(n, h, w, c)} -> {(out_h, out_w)} align {align} half {half}"

    def add(b: ModelBuilder, out_shape):
        xt = b.tensor(x.shape, dtype, quant=quant)
        s = b.tensor((2,), "int32", data=np.array([out_h, out_w]))
        y = b.tensor(out_shape, dtype, quant=quant)
        b.op("RESIZE_BILINEAR", [xt, s], [y], "ResizeBilinearOptions", alignCorners=align, halfPixelCenters=half)
        return xt, y

    def build(shapes):
        b = ModelBuilder()
        xt, y = add(b, (n, out_h, out_w, c) if shapes is None else shapes[0])
        return b.build([xt], [y])
    build.add = add
    return build, [x], what


@pytest.mark.parametrize("dtype", DTYPES)
def test_resize_bilinear_random(dtype):
    outcome = Outcome()
    for i in range(20):
        seed, rng = case_rng("RESIZE_BILINEAR" + dtype, i)
        build, inputs, _ = bilinear_case(rng, dtype)
        check_case(seed, build, inputs, outcome)
    print(f"RESIZE_BILINEAR {dtype}: compared {outcome.compared}, TFLM agrees {outcome.tflm_agree}, disagrees "
          f"{outcome.tflm_disagree}, fails {len(outcome.tflm_failed)} {outcome.tflm_failed[:1]}")
    assert outcome.compared == 20
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"



def _cases(rng, rounds: int):
    cases, inputs, whats = [], [], []
    for _ in range(rounds):
        for dtype in DTYPES:
            build, arrays, what = bilinear_case(rng, dtype)
            cases.append((build, run_litert(build(None), arrays)[0].shape))
            inputs += arrays
            whats.append(what)
    return cases, inputs, whats


def test_resize_bilinear_kernels_match_reference(cache):
    cases, inputs, whats = _cases(np.random.default_rng(9920), 4)
    model = model_for(several(cases))
    assert_kernels_match_reference(model, inputs, whats, cache)


def test_resize_bilinear_emulated_rp2040_two_cores(tmp_path):
    cases, inputs, _ = _cases(np.random.default_rng(9921), 1)
    model = model_for(several(cases))
    assert_emulated_matches_reference(model, inputs, tmp_path)
