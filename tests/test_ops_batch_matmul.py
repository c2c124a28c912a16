"""BATCH_MATMUL: randomised single-operator models (float32, int8, int16; adj_x / adj_y; ranks 2 to
5 with broadcast batch axes; constant or run-time right-hand side), bit-exact with LiteRT's reference
kernels; TFLite Micro compared too. Then the C kernels natively (1..3 threads, both schedulers)
and one emulated two-core rp2040 run."""
from __future__ import annotations

import numpy as np
import pytest

from tests.op_harness import (assert_emulated_matches_reference, assert_kernels_match_reference, case_rng,
                                check_case, model_for, Outcome, random_array, several)
from tests.tflite_builder import ModelBuilder, run_litert

DTYPES = ("float32", "int8", "int16")


def _quant(rng, dtype: str, scale: float):
    if dtype == "float32":
        return None
    scale = float(np.float32(scale * np.exp(rng.uniform(-0.5, 0.5))))
    return (scale, 0) if dtype == "int16" else (scale, int(rng.integers(-128, 128)))


def batch_matmul_case(rng: np.random.Generator, dtype: str, attention: bool = False):
    """(build, inputs, description); build has .add(builder, out_shape) -> (graph inputs, output).
    attention: a run-time rhs with adj_y (Q K^T), the int8 kernel's summing dot product."""
    rows, depth, cols = (int(d) for d in rng.integers(1, 9, size=3))
    batch_rank = int(rng.integers(0, 4))
    batch = [int(d) for d in rng.integers(1, 4, size=batch_rank)]
    lhs_batch = [d if rng.random() < 0.7 else 1 for d in batch]
    rhs_batch = [d if rng.random() < 0.7 else 1 for d in batch]
    rhs_batch = rhs_batch[int(rng.integers(0, len(rhs_batch) + 1)):]  # rhs may have a lower rank
    adj_x, adj_y = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    constant_rhs = bool(rng.random() < 0.4)
    if attention:
        adj_x, adj_y, constant_rhs = False, True, False
    lhs_shape = tuple(lhs_batch) + ((depth, rows) if adj_x else (rows, depth))
    rhs_shape = tuple(rhs_batch) + ((cols, depth) if adj_y else (depth, cols))
    lq, rq = _quant(rng, dtype, 0.02), _quant(rng, dtype, 0.02)
    out_scale = 0.02 * 0.02 * np.sqrt(depth) * (40 if dtype == "int8" else 1)
    oq = None if dtype == "float32" else _quant(rng, dtype, out_scale)
    lhs, rhs = random_array(rng, lhs_shape, dtype), random_array(rng, rhs_shape, dtype)
    what = f"BATCH_MATMUL {dtype} {lhs_shape} x {rhs_shape} adj ({adj_x},{adj_y}) constant rhs {constant_rhs}"

    def add(b: ModelBuilder, out_shape):
        x = b.tensor(lhs_shape, dtype, quant=lq)
        y = b.tensor(rhs_shape, dtype, quant=rq, data=rhs if constant_rhs else None)
        out = b.tensor(out_shape, dtype, quant=oq)
        b.op("BATCH_MATMUL", [x, y], [out], "BatchMatMulOptions", adjX=adj_x, adjY=adj_y)
        return ([x] if constant_rhs else [x, y]), out

    def build(shapes):
        b = ModelBuilder()
        ins, out = add(b, (1,) if shapes is None else shapes[0])
        return b.build(ins, [out])
    build.add = add
    return build, ([lhs] if constant_rhs else [lhs, rhs]), what


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_matmul_random(dtype):
    outcome = Outcome()
    for i in range(25):
        seed, rng = case_rng("BATCH_MATMUL" + dtype, i)
        build, inputs, what = batch_matmul_case(rng, dtype)
        check_case(seed, build, inputs, outcome)
    print(f"BATCH_MATMUL {dtype}: compared {outcome.compared}, TFLM agrees {outcome.tflm_agree}, disagrees "
          f"{outcome.tflm_disagree}, fails {len(outcome.tflm_failed)} {outcome.tflm_failed[:2]}")
    assert outcome.compared == 25
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"



def _cases(rng, count: int):
    cases, inputs, whats = [], [], []
    for k in range(count):  # the last int8 case is attention-like
        build, arrays, what = batch_matmul_case(rng, DTYPES[k % 3], attention=k == count - 2)
        cases.append((build, run_litert(build(None), arrays)[0].shape))
        inputs += arrays
        whats.append(what)
    return cases, inputs, whats


def test_batch_matmul_kernels_match_reference(cache):
    """Every variant in C on 1..3 threads under both schedulers, against the reference executor."""
    cases, inputs, whats = _cases(np.random.default_rng(9500), 15)
    model = model_for(several(cases))
    assert_kernels_match_reference(model, inputs, whats, cache, equal_nan=True)


def test_batch_matmul_emulated_rp2040_two_cores(tmp_path):
    cases, inputs, _ = _cases(np.random.default_rng(9600), 6)
    model = model_for(several(cases))
    assert_emulated_matches_reference(model, inputs, tmp_path, equal_nan=True)
