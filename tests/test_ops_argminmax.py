"""ARG_MAX, ARG_MIN: randomised single-operator models (float32, int8, uint8, int32; ties; int32 or
int64 output; int32 or int64 axis), bit-exact with LiteRT's reference kernels; TFLite Micro compared
too. Float32 inputs with NaNs are compared with TFLite Micro only (LiteRT's build disagrees with it
and with its own source there; see arielml/ops/argminmax.py). Then the C kernels natively (1..3
threads, both schedulers) and one emulated two-core rp2040 run."""
from __future__ import annotations

import numpy as np
import pytest

from tests.op_harness import (assert_emulated_matches_reference, assert_kernels_match_reference, case_rng,
                                check_case, model_for, Outcome, several)
from tests.tflite_builder import ModelBuilder, run_litert

DTYPES = ("float32", "int8", "uint8", "int32")
TYPE_CODES = {"int32": 2, "int64": 4}


def arg_case(rng: np.random.Generator, op: str, dtype: str, nans: bool = False, int32_only: bool = False):
    rank = int(rng.integers(1, 5))
    shape = tuple(int(d) for d in rng.integers(1, 7, size=rank))
    axis = int(rng.integers(-rank, rank))
    axis_type = str(rng.choice(["int32", "int64"]))
    axis_shape = () if rng.random() < 0.5 else (1,)
    out_type = str(rng.choice(["int32", "int64"]))
    if int32_only:  # what TFLite Micro takes
        axis_type = out_type = "int32"
    if dtype == "float32":
        x = rng.integers(-4, 5, size=shape).astype(np.float32) * np.float32(0.5)  # ties
        if nans:
            x[rng.random(shape) < 0.2] = np.nan
    else:
        info = np.iinfo(np.dtype(dtype))
        lo, hi = (int(info.min), int(info.max)) if rng.random() < 0.5 else (0, 3)  # few values: ties
        x = rng.integers(lo, hi + 1, size=shape, dtype=np.int64).astype(dtype)
    quant = (0.1, 3) if dtype in ("int8", "uint8") else None
    what = f"{op} {dtype} {shape} axis {axis} -> {out_type}"

    def add(b: ModelBuilder, out_shape):
        xt = b.tensor(shape, dtype, quant=quant)
        a = b.tensor(axis_shape, axis_type, data=np.array(axis).reshape(axis_shape))
        y = b.tensor(out_shape, out_type)
        b.op(op, [xt, a], [y], "ArgMaxOptions" if op == "ARG_MAX" else "ArgMinOptions", outputType=TYPE_CODES[out_type])
        return xt, y

    def build(shapes):
        b = ModelBuilder()
        xt, y = add(b, (1,) if shapes is None else shapes[0])
        return b.build([xt], [y])
    build.add = add
    return build, [x], what


@pytest.mark.parametrize("op", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_arg_random(op, dtype):
    outcome = Outcome()
    for i in range(12):
        seed, rng = case_rng(op + dtype, i)
        build, inputs, _ = arg_case(rng, op, dtype)
        check_case(seed, build, inputs, outcome)
    print(f"{op} {dtype}: compared {outcome.compared}, TFLM agrees {outcome.tflm_agree}, disagrees "
          f"{outcome.tflm_disagree}, fails {len(outcome.tflm_failed)} {outcome.tflm_failed[:1]}")
    assert outcome.compared == 12
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"


@pytest.mark.parametrize("op", ["ARG_MAX", "ARG_MIN"])
def test_arg_float_nan_matches_tflite_micro(op):
    """NaN is never picked, and a NaN in first place is never replaced (TFLite Micro's strict
    comparisons)."""
    from tests.op_harness import run_micro
    for i in range(12):
        seed, rng = case_rng(op + "nan", i)
        build, inputs, what = arg_case(rng, op, "float32", nans=True, int32_only=True)
        model_bytes = build([run_litert(build(None), inputs)[0].shape])
        got = model_for(model_bytes).run(inputs)[0]
        assert np.array_equal(got, run_micro(model_bytes, inputs, 1)[0]), f"seed {seed} {what}"



def _cases(rng, rounds: int):
    cases, inputs, whats = [], [], []
    for _ in range(rounds):
        for op in ("ARG_MAX", "ARG_MIN"):
            for dtype in DTYPES:
                build, arrays, what = arg_case(rng, op, dtype, nans=True)
                cases.append((build, run_litert(build(None), arrays)[0].shape))
                inputs += arrays
                whats.append(what)
    return cases, inputs, whats


def test_arg_kernels_match_reference(cache):
    cases, inputs, whats = _cases(np.random.default_rng(9900), 2)
    model = model_for(several(cases))
    assert_kernels_match_reference(model, inputs, whats, cache)


def test_arg_emulated_rp2040_two_cores(tmp_path):
    cases, inputs, _ = _cases(np.random.default_rng(9901), 1)
    model = model_for(several(cases))
    assert_emulated_matches_reference(model, inputs, tmp_path)
