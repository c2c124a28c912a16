"""PACK and UNPACK: randomised single-operator models bit-exact with LiteRT's reference kernels
(TFLite Micro's opinion recorded), then their C lowerings (the concatenation and split kernels)
natively on 1..3 threads under both schedulers against the reference executor."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.errors import UnsupportedOperatorError
from tests.movement_cases import OpSpec, check_litert, check_native, report
from tests.op_harness import Outcome, case_rng, model_for, random_array, random_quant
from tests.tflite_builder import ModelBuilder

DTYPES = {"PACK": ("int8", "uint8", "int16", "int32", "float32", "int64"),
          "UNPACK": ("int8", "uint8", "int16", "int32", "float32", "bool")}


def pack_spec(rng, dtype, shape=None, count=None) -> OpSpec:
    shape = shape or tuple(int(d) for d in rng.integers(1, 5, size=int(rng.integers(0, 4))))
    count = count or int(rng.integers(1, 6))
    axis = int(rng.integers(-len(shape) - 1, len(shape) + 1))
    quant = random_quant(rng, dtype)
    arrays = [random_array(rng, shape, dtype) for _ in range(count)]
    return OpSpec(f"PACK {dtype} {count} x {shape} axis {axis}", "PACK", [(shape, dtype, quant, None)] * count,
                  [(dtype, quant)], "PackOptions", dict(valuesCount=count, axis=axis), arrays)


def unpack_spec(rng, dtype, shape=None, axis=None) -> OpSpec:
    shape = shape or tuple(int(d) for d in rng.integers(1, 5, size=int(rng.integers(1, 5))))
    axis = int(rng.integers(-len(shape), len(shape))) if axis is None else axis
    quant = random_quant(rng, dtype)
    num = shape[axis]
    return OpSpec(f"UNPACK {dtype} {shape} axis {axis}", "UNPACK", [(shape, dtype, quant, None)],
                  [(dtype, quant)] * num, "UnpackOptions", dict(num=num, axis=axis), [random_array(rng, shape, dtype)])


@pytest.mark.parametrize("op,make", [("PACK", pack_spec), ("UNPACK", unpack_spec)])
def test_pack_unpack_random(op, make):
    outcome = Outcome()
    for i in range(18):
        seed, rng = case_rng(op, i)
        check_litert(seed, make(rng, DTYPES[op][i % len(DTYPES[op])]), outcome)
    report(outcome, op, 15)


def test_pack_with_other_quantisation_is_refused():
    b = ModelBuilder()
    x = b.tensor((2, 3), "int8", quant=(0.1, 1))
    z = b.tensor((2, 3), "int8", quant=(0.2, 1))
    y = b.tensor((2, 2, 3), "int8", quant=(0.1, 1))
    b.op("PACK", [x, z], [y], "PackOptions", valuesCount=2, axis=0)
    with pytest.raises(UnsupportedOperatorError, match="scale or zero point"):
        model_for(b.build([x, z], [y]))


def test_pack_kernels_match_reference(cache):
    seed = 9200
    rng = np.random.default_rng(seed)
    specs = []
    for pack_type, unpack_type in zip(*DTYPES.values()):
        specs += [pack_spec(rng, pack_type), unpack_spec(rng, unpack_type)]
    specs += [pack_spec(rng, "int8", (16, 20, 3), 4), unpack_spec(rng, "float32", (6, 7, 5, 7)),
              pack_spec(rng, "int16", (3, 5), 11), unpack_spec(rng, "int8", (2, 12, 3), 1)]  # more than 8 buffers
    check_native(specs, seed, cache)
