"""AVERAGE_POOL_2D and MAX_POOL_2D: randomised single-operator models against LiteRT's reference
kernels (bit for bit; float32 within a few ulps) and TFLite Micro (`semantics="tflm"`); rejected
variants. (The zoo's pooling nodes are checked in tests/test_ops_conv.py.) A failing case prints its
seed: rerun it with `pool_case(seed, op)`."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.errors import UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.tflite_builder import ModelBuilder
from tests.window_op_cases import (Case, assert_exact, assert_float_close, litert, log_uniform, random_activation,
                                   random_input, run_arielml, tflm, zero_point)

BASE_SEED = 9_000
CASES = 64  # per operator and run
KINDS = ("int8", "uint8", "int16", "float32")
TFLM_KINDS = {"int8", "int16", "float32"}  # TFLite Micro has no uint8 pooling


def pool_case(seed: int, op: str) -> Case:
    rng = np.random.default_rng(seed)
    kind = KINDS[seed % len(KINDS)]
    while True:
        n, c = int(rng.choice([1, 1, 2])), int(rng.integers(1, 9))
        h, w = int(rng.integers(1, 13)), int(rng.integers(1, 13))
        if rng.random() < 0.2:  # global pooling, as classifier heads use it
            fh, fw, sh, sw, padding = h, w, 1, 1, 1
        else:
            fh, fw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
            sh, sw, padding = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(0, 2))
        if padding == 0 or (fh <= h and fw <= w):
            break
    out_h = -(-h // sh) if padding == 0 else -(-(h - fh + 1) // sh)
    out_w = -(-w // sw) if padding == 0 else -(-(w - fw + 1) // sw)
    activation = random_activation(rng)
    b = ModelBuilder()
    quant = None if kind == "float32" else (log_uniform(rng, 1e-3, 1.0), zero_point(rng, kind))
    x = b.tensor((n, h, w, c), kind, quant=quant)
    y = b.tensor((n, out_h, out_w, c), kind, quant=quant)
    b.op(op, [x], [y], "Pool2DOptions", padding=padding, strideH=sh, strideW=sw, filterHeight=fh, filterWidth=fw,
         fusedActivationFunction=activation)
    inputs = [random_input(rng, (n, h, w, c), kind, float_range=log_uniform(rng, 0.1, 10))]
    what = (f"in {(n, h, w, c)} filter ({fh},{fw}) stride ({sh},{sw}) {'SAME' if padding == 0 else 'VALID'} "
            f"act {activation} quant {quant}")
    return Case(seed, b.build([x], [y]), inputs, kind, what, tflm=kind in TFLM_KINDS)


@pytest.mark.parametrize("index", range(CASES))
@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_random_pool_matches_litert_and_tflm(op, index):
    case = pool_case(BASE_SEED + index, op)
    (ours,) = run_arielml(case)
    (theirs,) = litert(case)
    if ours.dtype == np.float32:
        assert_float_close(ours, theirs, case)
    else:
        assert_exact(ours, theirs, case)
    if case.tflm:
        (ours,) = run_arielml(case, semantics="tflm")
        (theirs,) = tflm(case)
        if ours.dtype == np.float32:
            assert_float_close(ours, theirs, case)
        else:
            assert_exact(ours, theirs, case, who="TFLite Micro")


def test_average_pool_rounds_half_away_from_zero():
    """Hand-worked: int8 window sums -3 and 3 over 2 values round to -2 and 2 (not -1 and 1)."""
    b = ModelBuilder()
    x = b.tensor((1, 1, 4, 1), "int8", quant=(0.5, 0))
    y = b.tensor((1, 1, 2, 1), "int8", quant=(0.5, 0))
    b.op("AVERAGE_POOL_2D", [x], [y], "Pool2DOptions", padding=1, strideH=1, strideW=2, filterHeight=1,
         filterWidth=2)
    case = Case(0, b.build([x], [y]), [np.array([-1, -2, 1, 2], dtype=np.int8).reshape(1, 1, 4, 1)], "int8", "")
    (ours,) = run_arielml(case)
    assert ours.ravel().tolist() == [-2, 2]
    assert_exact(ours, litert(case)[0], case)


def _pool_model(dtype, in_quant, out_quant, filter_hw=(2, 2), padding=0, shape=(1, 4, 4, 2)):
    b = ModelBuilder()
    x = b.tensor(shape, dtype, quant=in_quant)
    out_hw = (2, 2) if padding == 0 else (shape[1] - filter_hw[0] + 1, shape[2] - filter_hw[1] + 1)
    y = b.tensor((1, *[max(d, 1) for d in out_hw], shape[3]), dtype, quant=out_quant)
    b.op("MAX_POOL_2D", [x], [y], "Pool2DOptions", padding=padding, strideH=2, strideW=2,
         filterHeight=filter_hw[0], filterWidth=filter_hw[1])
    return b.build([x], [y])


@pytest.mark.parametrize("why, model", [
    ("output scale differs from input", lambda: _pool_model("int8", (0.1, 0), (0.2, 0))),
    ("output zero point differs from input", lambda: _pool_model("int8", (0.1, 0), (0.1, 3))),
    ("int16 with a zero point", lambda: _pool_model("int16", (0.1, 5), (0.1, 5))),
    ("VALID window larger than input", lambda: _pool_model("int8", (0.1, 0), (0.1, 0), filter_hw=(5, 2), padding=1)),
    ("int32 pooling", lambda: _pool_model("int32", None, None)),
])
def test_unsupported_pool_variants_are_rejected(why, model):
    with pytest.raises(UnsupportedOperatorError):
        verify(parse_tflite(model()))
