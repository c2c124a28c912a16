"""QUANTIZE (float32 to int8/uint8/int16, per tensor and per channel; requantisation between
integer types) and DEQUANTIZE: randomised single-operator models, bit-exact with LiteRT's
reference kernels; TFLite Micro compared with arielml's "tflm" semantics where it runs the case."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.ops.quantize import REQUANTIZE_PAIRS
from tests.pointwise_cases import (Tally, assert_both_reject, case_rng, compare, log_uniform, random_zero_point,
                                   random_values)
from tests.tflite_builder import ModelBuilder

CASES = 40


def _shape(rng: np.random.Generator) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 5))))


def _build(op: str, shape, in_dtype: str, in_quant, out_dtype: str, out_quant) -> bytes:
    b = ModelBuilder()
    x = b.tensor(shape, in_dtype, quant=in_quant)
    y = b.tensor(shape, out_dtype, quant=out_quant)
    b.op(op, [x], [y])
    return b.build([x], [y])


def _channel_quant(rng, shape, dtype, per_channel: bool):
    """(scale, zero point) or per channel (scales, zero points, axis)."""
    if not per_channel:
        return log_uniform(rng, 1e-4, 1.0), random_zero_point(rng, dtype)
    axis = int(rng.integers(len(shape)))
    scales = [log_uniform(rng, 1e-4, 1.0) for _ in range(shape[axis])]
    return scales, [random_zero_point(rng, dtype) for _ in scales], axis


def test_random_float_quantize_matches_litert():
    tally = Tally("QUANTIZE float32")
    for index in range(CASES):
        seed, rng = case_rng("QUANTIZE-float", index)
        dtype = ("int8", "uint8", "int16")[index % 3]
        shape = _shape(rng)
        quant = _channel_quant(rng, shape, dtype, per_channel=rng.random() < 0.4)
        # values reach past both ends of the output range, so clamping is exercised
        reach = float(np.max(quant[0])) * (1.2 * np.iinfo(np.dtype(dtype)).max)
        x = random_values(rng, shape, "float32", float_range=reach)
        compare(seed, _build("QUANTIZE", shape, "float32", None, dtype, quant), [x], tally)
    print(tally.report())
    assert tally.compared == CASES and tally.tflm_compared >= CASES // 4


REQUANTIZE_CASES = [(i, o) for i, outs in REQUANTIZE_PAIRS.items() for o in outs]


def test_random_requantize_matches_litert():
    tally = Tally("QUANTIZE requantise")
    for index in range(CASES):
        seed, rng = case_rng("QUANTIZE-requant", index)
        in_dtype, out_dtype = REQUANTIZE_CASES[index % len(REQUANTIZE_CASES)]
        shape = _shape(rng)
        in_scale = log_uniform(rng, 1e-4, 1.0)
        # output scales from 1000x finer to 1000x coarser, and sometimes the same (int8 <-> uint8)
        out_scale = in_scale if rng.random() < 0.2 else float(np.float32(in_scale * log_uniform(rng, 1e-3, 1e3)))
        in_zp = random_zero_point(rng, in_dtype) if in_dtype != "int32" else int(rng.integers(-1000, 1000))
        out_zp = random_zero_point(rng, out_dtype)
        if in_dtype == "int8" and out_dtype == "uint8" and rng.random() < 0.5:
            out_scale, out_zp = in_scale, in_zp + 128  # the plain int8 -> uint8 conversion
        if in_dtype == out_dtype == "int16":
            in_zp = out_zp = 0
        x = random_values(rng, shape, in_dtype)
        model = _build("QUANTIZE", shape, in_dtype, (in_scale, in_zp), out_dtype, (out_scale, out_zp))
        compare(seed, model, [x], tally)
    print(tally.report())
    assert tally.compared == CASES and tally.tflm_compared >= CASES // 4


def test_random_dequantize_matches_litert():
    tally = Tally("DEQUANTIZE")
    for index in range(CASES):
        seed, rng = case_rng("DEQUANTIZE", index)
        dtype = ("int8", "uint8", "int16")[index % 3]
        shape = _shape(rng)
        quant = _channel_quant(rng, shape, dtype, per_channel=dtype != "int16" and rng.random() < 0.4)
        x = random_values(rng, shape, dtype)
        compare(seed, _build("DEQUANTIZE", shape, dtype, quant, "float32", None), [x], tally)
    print(tally.report())
    assert tally.compared == CASES and tally.tflm_compared >= CASES // 4


@pytest.mark.parametrize("op,in_dtype,in_quant,out_dtype,out_quant", [
    ("QUANTIZE", "uint8", (0.1, 3), "int32", (0.1, 0)),  # not a pair TFLite requantises
    ("QUANTIZE", "int32", (0.1, 0), "uint8", (0.1, 3)),
    ("QUANTIZE", "int16", (0.1, 2), "int16", (0.2, 0)),  # int16 -> int16 needs zero points 0
    ("QUANTIZE", "float32", None, "int32", (0.1, 0)),
    ("DEQUANTIZE", "int16", (0.1, 5), "float32", None),  # int16 needs zero point 0
])
def test_variants_litert_refuses_are_refused(op, in_dtype, in_quant, out_dtype, out_quant):
    rng = np.random.default_rng(0)
    model = _build(op, (2, 3), in_dtype, in_quant, out_dtype, out_quant)
    assert_both_reject(model, [random_values(rng, (2, 3), in_dtype)], f"{op} {in_dtype} -> {out_dtype}")
