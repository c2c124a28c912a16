"""RESHAPE, SQUEEZE, EXPAND_DIMS, TRANSPOSE, CONCATENATION, SPLIT, SPLIT_V: randomised
single-operator models, bit-exact with LiteRT's reference kernels; TFLite Micro compared too."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.errors import UnsupportedOperatorError
from tests.op_harness import Outcome, case_rng, check_case, model_for, random_array, random_quant
from tests.tflite_builder import ModelBuilder

CASES = 18
DTYPES = ("int8", "uint8", "int16", "int32", "float32")


def _shape(rng, rank, lo=1, hi=5):
    return tuple(int(d) for d in rng.integers(lo, hi + 1, size=rank))


def _out(shapes, i, fallback=(1,)):
    return fallback if shapes is None else shapes[i]


def _factor_shape(rng, count: int) -> list[int]:
    """A random shape with `count` elements."""
    factors = []
    n, p = count, 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    rank = int(rng.integers(1, 5))
    dims = [1] * rank
    for f in factors:
        dims[int(rng.integers(rank))] *= f
    return dims


def _report(outcome: Outcome, name: str) -> None:
    print(f"{name}: compared {outcome.compared}, TFLM agrees {outcome.tflm_agree}, "
          f"disagrees {outcome.tflm_disagree}, fails {outcome.tflm_failed[:3]}")
    assert outcome.compared >= 15
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"


def test_reshape_random():
    outcome = Outcome()
    for i in range(CASES):
        seed, rng = case_rng("RESHAPE", i)
        dtype = DTYPES[i % len(DTYPES)]
        in_shape = _shape(rng, int(rng.integers(1, 5)))
        target = _factor_shape(rng, int(np.prod(in_shape)))
        if rng.random() < 0.5:
            target[int(rng.integers(len(target)))] = -1
        via_tensor = i % 3 != 0
        quant = random_quant(rng, dtype)

        def build(shapes, in_shape=in_shape, target=target, via_tensor=via_tensor, quant=quant, dtype=dtype):
            b = ModelBuilder()
            x = b.tensor(in_shape, dtype, quant=quant)
            y = b.tensor(_out(shapes, 0), dtype, quant=quant)
            if via_tensor:
                s = b.tensor((len(target),), "int32", data=np.array(target))
                b.op("RESHAPE", [x, s], [y], "ReshapeOptions", newShape=[7] * len(target))  # tensor wins
            else:
                b.op("RESHAPE", [x], [y], "ReshapeOptions", newShape=list(target))
            return b.build([x], [y])
        check_case(seed, build, [random_array(rng, in_shape, dtype)], outcome)
    _report(outcome, "RESHAPE")


def test_squeeze_random():
    outcome = Outcome()
    for i in range(CASES):
        seed, rng = case_rng("SQUEEZE", i)
        dtype = DTYPES[i % len(DTYPES)]
        rank = int(rng.integers(1, 6))
        in_shape = tuple(1 if rng.random() < 0.5 else int(rng.integers(2, 5)) for _ in range(rank))
        ones = [d for d, n in enumerate(in_shape) if n == 1]
        chosen = [d - rank if rng.random() < 0.5 else d for d in ones if rng.random() < 0.6]
        quant = random_quant(rng, dtype)

        def build(shapes, in_shape=in_shape, chosen=chosen, quant=quant, dtype=dtype):
            b = ModelBuilder()
            x = b.tensor(in_shape, dtype, quant=quant)
            y = b.tensor(_out(shapes, 0), dtype, quant=quant)
            b.op("SQUEEZE", [x], [y], "SqueezeOptions", squeezeDims=chosen)
            return b.build([x], [y])
        check_case(seed, build, [random_array(rng, in_shape, dtype)], outcome)
    _report(outcome, "SQUEEZE")


def test_expand_dims_random():
    outcome = Outcome()
    for i in range(CASES):
        seed, rng = case_rng("EXPAND_DIMS", i)
        dtype = DTYPES[i % len(DTYPES)]
        in_shape = _shape(rng, int(rng.integers(0, 5)))
        axis = int(rng.integers(-len(in_shape) - 1, len(in_shape) + 1))
        quant = random_quant(rng, dtype)
        axis_shape = () if rng.random() < 0.5 else (1,)

        def build(shapes, in_shape=in_shape, axis=axis, quant=quant, dtype=dtype, axis_shape=axis_shape):
            b = ModelBuilder()
            x = b.tensor(in_shape, dtype, quant=quant)
            a = b.tensor(axis_shape, "int32", data=np.array(axis))
            y = b.tensor(_out(shapes, 0), dtype, quant=quant)
            b.op("EXPAND_DIMS", [x, a], [y])
            return b.build([x], [y])
        check_case(seed, build, [random_array(rng, in_shape, dtype)], outcome)
    _report(outcome, "EXPAND_DIMS")


def test_transpose_random():
    outcome = Outcome()
    for i in range(CASES):
        seed, rng = case_rng("TRANSPOSE", i)
        dtype = DTYPES[i % len(DTYPES)]
        rank = int(rng.integers(1, 6))
        in_shape = _shape(rng, rank, 1, 4)
        perm = [int(p) - (rank if rng.random() < 0.3 else 0) for p in rng.permutation(rank)]
        quant = random_quant(rng, dtype)

        def build(shapes, in_shape=in_shape, perm=perm, quant=quant, dtype=dtype):
            b = ModelBuilder()
            x = b.tensor(in_shape, dtype, quant=quant)
            p = b.tensor((len(perm),), "int32", data=np.array(perm))
            y = b.tensor(_out(shapes, 0), dtype, quant=quant)
            b.op("TRANSPOSE", [x, p], [y])
            return b.build([x], [y])
        check_case(seed, build, [random_array(rng, in_shape, dtype)], outcome)
    _report(outcome, "TRANSPOSE")


def _concat_case(i: int, outcome: Outcome, dtype: str, op_name: str = "CONCATENATION") -> None:
    seed, rng = case_rng(op_name + dtype, i)
    rank = int(rng.integers(1, 5))
    axis = int(rng.integers(-rank, rank))
    count = int(rng.integers(1, 5))
    base = _shape(rng, rank, 1, 4)
    shapes_in = []
    for _ in range(count):
        s = list(base)
        s[axis] = int(rng.integers(1, 5))
        shapes_in.append(tuple(s))
    out_quant = random_quant(rng, dtype)
    # uint8 inputs get their own scales/zero points (requantised); the others must match the output
    quants = [random_quant(rng, dtype) if dtype == "uint8" and rng.random() < 0.7 else out_quant for _ in shapes_in]
    constant = [count > 1 and k == 0 and rng.random() < 0.3 for k in range(count)]
    arrays = [random_array(rng, s, dtype) for s in shapes_in]

    def build(shapes):
        b = ModelBuilder()
        xs = [b.tensor(s, dtype, quant=q, data=a if c else None)
              for s, q, a, c in zip(shapes_in, quants, arrays, constant)]
        y = b.tensor(_out(shapes, 0), dtype, quant=out_quant)
        b.op("CONCATENATION", xs, [y], "ConcatenationOptions", axis=axis)
        return b.build([x for x, c in zip(xs, constant) if not c], [y])
    check_case(seed, build, [a for a, c in zip(arrays, constant) if not c], outcome)


@pytest.mark.parametrize("dtype", DTYPES + ("int64", "bool"))
def test_concatenation_random(dtype):
    outcome = Outcome()
    for i in range(15):
        _concat_case(i, outcome, dtype)
    _report(outcome, f"CONCATENATION {dtype}")


def test_concatenation_rejects_fused_activation_and_int8_rescale():
    b = ModelBuilder()
    x = b.tensor((1, 4), "float32")
    z = b.tensor((1, 4), "float32")
    y = b.tensor((1, 8), "float32")
    b.op("CONCATENATION", [x, z], [y], "ConcatenationOptions", axis=1, fusedActivationFunction=1)
    with pytest.raises(UnsupportedOperatorError, match="fused activation RELU"):
        model_for(b.build([x, z], [y]))
    b = ModelBuilder()
    x = b.tensor((1, 4), "int8", quant=(0.1, 0))
    z = b.tensor((1, 4), "int8", quant=(0.2, 0))
    y = b.tensor((1, 8), "int8", quant=(0.1, 0))
    b.op("CONCATENATION", [x, z], [y], "ConcatenationOptions", axis=1)
    with pytest.raises(UnsupportedOperatorError, match="scale or zero point"):
        model_for(b.build([x, z], [y]))


def test_split_random():
    outcome = Outcome()
    for i in range(CASES):
        seed, rng = case_rng("SPLIT", i)
        dtype = DTYPES[i % len(DTYPES)]
        rank = int(rng.integers(1, 5))
        in_shape = list(_shape(rng, rank, 1, 4))
        axis = int(rng.integers(-rank, rank))
        num = int(rng.integers(1, 4))
        in_shape[axis] *= num
        in_shape = tuple(in_shape)
        quant = random_quant(rng, dtype)

        def build(shapes, in_shape=in_shape, axis=axis, num=num, quant=quant, dtype=dtype):
            b = ModelBuilder()
            a = b.tensor((), "int32", data=np.array(axis))
            x = b.tensor(in_shape, dtype, quant=quant)
            ys = [b.tensor(_out(shapes, k), dtype, quant=quant) for k in range(num)]
            b.op("SPLIT", [a, x], ys, "SplitOptions", numSplits=num)
            return b.build([x], ys)
        check_case(seed, build, [random_array(rng, in_shape, dtype)], outcome)
    _report(outcome, "SPLIT")


def test_split_v_random():
    outcome = Outcome()
    for i in range(CASES):
        seed, rng = case_rng("SPLIT_V", i)
        dtype = DTYPES[i % len(DTYPES)]
        rank = int(rng.integers(1, 5))
        in_shape = list(_shape(rng, rank, 1, 4))
        axis = int(rng.integers(-rank, rank))
        sizes = [int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 4)))]
        in_shape[axis] = sum(sizes)
        in_shape = tuple(in_shape)
        given = list(sizes)
        if rng.random() < 0.5:
            given[int(rng.integers(len(given)))] = -1
        quant = random_quant(rng, dtype)

        def build(shapes, in_shape=in_shape, axis=axis, given=given, quant=quant, dtype=dtype):
            b = ModelBuilder()
            x = b.tensor(in_shape, dtype, quant=quant)
            s = b.tensor((len(given),), "int32", data=np.array(given))
            a = b.tensor((1,), "int32", data=np.array([axis]))
            ys = [b.tensor(_out(shapes, k), dtype, quant=quant) for k in range(len(given))]
            b.op("SPLIT_V", [x, s, a], ys, "SplitVOptions", numSplits=len(given))
            return b.build([x], ys)
        check_case(seed, build, [random_array(rng, in_shape, dtype)], outcome)
    _report(outcome, "SPLIT_V")


def test_non_constant_shape_input_is_unsupported():
    b = ModelBuilder()
    x = b.tensor((2, 6), "float32")
    s = b.tensor((2,), "int32")
    y = b.tensor((3, 4), "float32")
    b.op("RESHAPE", [x, s], [y], "ReshapeOptions")
    with pytest.raises(UnsupportedOperatorError, match="constant"):
        model_for(b.build([x, s], [y]))
