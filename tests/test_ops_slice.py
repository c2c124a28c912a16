"""STRIDED_SLICE, PAD, PADV2: randomised single-operator models, bit-exact with LiteRT's reference
kernels; TFLite Micro compared too."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.errors import UnsupportedOperatorError
from tests.op_harness import Outcome, case_rng, check_case, model_for, random_array, random_quant
from tests.tflite_builder import ModelBuilder

DTYPES = ("int8", "uint8", "int16", "int32", "float32")


def _out(shapes, i):
    return (1,) if shapes is None else shapes[i]


def _report(outcome: Outcome, name: str, minimum: int = 15) -> None:
    print(f"{name}: compared {outcome.compared}, rejected {len(outcome.rejected)}, TFLM agrees "
          f"{outcome.tflm_agree}, disagrees {outcome.tflm_disagree}, fails {len(outcome.tflm_failed)} "
          f"{outcome.tflm_failed[:2]}")
    assert outcome.compared >= minimum
    assert not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"


def _random_slice(rng, in_shape):
    rank = len(in_shape)
    style = rng.random()
    ellipsis = new_axis = offset = 0
    count = rank
    if style < 0.2:  # an ellipsis somewhere, fewer explicit indices
        count = int(rng.integers(1, rank + 1))
        ellipsis = 1 << int(rng.integers(count))
    elif style < 0.35:
        count = int(rng.integers(1, rank + 1))  # trailing dimensions implied
    if style > 0.5 and rng.random() < 0.5:
        new_axis = int(rng.integers(0, 1 << count))
    begin, end, strides = [], [], []
    for k in range(count):
        size = in_shape[min(k, rank - 1)]
        stride = int(rng.choice([1, 1, 1, 2, 3, -1, -2]))
        strides.append(stride)
        if rng.random() < 0.2:  # anything, often out of range or empty
            begin.append(int(rng.integers(-size - 1, size + 1)))
            end.append(int(rng.integers(-size - 1, size + 2)))
            continue
        first = int(rng.integers(0, size))
        last = first + int(np.sign(stride)) * int(rng.integers(1, size + 1))  # may run past the edge
        # indices may be written from the end (negative)
        begin.append(first - size if rng.random() < 0.3 else first)
        end.append(last - size if rng.random() < 0.3 and 0 <= last < size else last)
    begin_mask = int(rng.integers(0, 1 << count)) if rng.random() < 0.5 else 0
    end_mask = int(rng.integers(0, 1 << count)) if rng.random() < 0.5 else 0
    shrink = 0
    if rng.random() < 0.3:
        k = int(rng.integers(count))
        if not (ellipsis >> k & 1):
            shrink = 1 << k
            size = in_shape[min(k, rank - 1)]
            begin[k] = int(rng.integers(-size, size))
            strides[k] = 1
    if style > 0.85 and not ellipsis and not new_axis and count == rank:
        offset = 1  # end holds sizes
        strides = [abs(s) for s in strides]
        begin = [int(rng.integers(0, d)) for d in in_shape]
        end = [int(rng.integers(1, d - b + 1)) for b, d in zip(begin, in_shape)]
        begin_mask = end_mask = shrink = 0
    return dict(begin=begin, end=end, strides=strides, beginMask=begin_mask, endMask=end_mask,
                ellipsisMask=ellipsis, newAxisMask=new_axis, shrinkAxisMask=shrink, offset=bool(offset))


def test_strided_slice_random():
    outcome = Outcome()
    for i in range(60):
        seed, rng = case_rng("STRIDED_SLICE", i)
        dtype = DTYPES[i % len(DTYPES)]
        in_shape = tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 5))))
        spec = _random_slice(rng, in_shape)
        quant = random_quant(rng, dtype)

        def build(shapes, in_shape=in_shape, spec=dict(spec), quant=quant, dtype=dtype):
            spec = dict(spec)
            b = ModelBuilder()
            x = b.tensor(in_shape, dtype, quant=quant)
            ts = [b.tensor((len(spec[k]),), "int32", data=np.array(spec.pop(k))) for k in ("begin", "end", "strides")]
            y = b.tensor(_out(shapes, 0), dtype, quant=quant)
            b.op("STRIDED_SLICE", [x] + ts, [y], "StridedSliceOptions", **spec)
            return b.build([x], [y])
        check_case(seed, build, [random_array(rng, in_shape, dtype)], outcome, may_reject=True)
        if outcome.compared >= 30:
            break
    _report(outcome, "STRIDED_SLICE", minimum=25)
    assert len(outcome.rejected) <= outcome.compared, outcome.rejected  # the generator mostly makes valid slices


def test_strided_slice_known_semantics():
    """Hand-checked cases: negative stride with masks, ellipsis + new axis, shrink, offset."""
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)

    def slice_with_arielml(expected, begin, end, strides, **options):
        b = ModelBuilder()
        t = b.tensor(x.shape, "float32")
        ts = [b.tensor((len(v),), "int32", data=np.array(v)) for v in (begin, end, strides)]
        y = b.tensor(expected.shape, "float32")
        b.op("STRIDED_SLICE", [t] + ts, [y], "StridedSliceOptions", **options)
        return model_for(b.build([t], [y])).run([x])[0]

    expected = x[::-1, 1:, ::-2]
    assert np.array_equal(slice_with_arielml(expected, [0, 1, -1], [0, 3, 0], [-1, 1, -2], beginMask=1,
                                             endMask=1 | 4), expected)
    expected = x[..., None, 1]
    assert np.array_equal(slice_with_arielml(expected, [0, 0, 1], [0, 0, 2], [1, 1, 1], ellipsisMask=1,
                                             newAxisMask=2, shrinkAxisMask=4), expected)
    expected = x[1:2, 0:2, 1:4]  # offset: end holds sizes
    assert np.array_equal(slice_with_arielml(expected, [1, 0, 1], [1, 2, 3], [1, 1, 1], offset=True), expected)


def test_strided_slice_out_of_range_shrink_is_unsupported():
    b = ModelBuilder()
    x = b.tensor((3, 4), "int8", quant=(0.1, 0))
    ts = [b.tensor((2,), "int32", data=np.array(v)) for v in ([5, 0], [6, 4], [1, 1])]
    y = b.tensor((4,), "int8", quant=(0.1, 0))
    b.op("STRIDED_SLICE", [x] + ts, [y], "StridedSliceOptions", shrinkAxisMask=1)
    with pytest.raises(UnsupportedOperatorError, match="out of range"):
        model_for(b.build([x], [y]))


def _pad_case(op: str, i: int, outcome: Outcome) -> None:
    seed, rng = case_rng(op, i)
    dtype = DTYPES[i % len(DTYPES)]
    rank = int(rng.integers(1, 6))
    in_shape = tuple(int(d) for d in rng.integers(1, 5, size=rank))
    pads = rng.integers(0, 4, size=(rank, 2))
    pad_dtype = "int64" if rng.random() < 0.3 else "int32"
    # int8/int16 also come unquantised: LiteRT then pads with 0, not with the zero point
    quant = random_quant(rng, dtype) if dtype == "uint8" or rng.random() < 0.8 else None
    with_value = op == "PADV2" and rng.random() < 0.85
    value = random_array(rng, (), dtype)

    def build(shapes):
        b = ModelBuilder()
        x = b.tensor(in_shape, dtype, quant=quant)
        p = b.tensor((rank, 2), pad_dtype, data=pads)
        inputs = [x, p]
        if with_value:
            inputs.append(b.tensor((), dtype, quant=quant, data=value))
        y = b.tensor(_out(shapes, 0), dtype, quant=quant)
        b.op(op, inputs, [y])
        return b.build([x], [y])
    check_case(seed, build, [random_array(rng, in_shape, dtype)], outcome)


@pytest.mark.parametrize("op", ["PAD", "PADV2"])
def test_pad_random(op):
    outcome = Outcome()
    for i in range(20):
        _pad_case(op, i, outcome)
    _report(outcome, op)


def test_padv2_value_with_other_quantisation_is_unsupported():
    b = ModelBuilder()
    x = b.tensor((1, 3), "int8", quant=(0.1, 3))
    p = b.tensor((2, 2), "int32", data=np.array([[0, 0], [1, 1]]))
    v = b.tensor((), "int8", quant=(0.2, 3), data=np.array(5))
    y = b.tensor((1, 5), "int8", quant=(0.1, 3))
    b.op("PADV2", [x, p, v], [y])
    with pytest.raises(UnsupportedOperatorError, match="pad value"):
        model_for(b.build([x], [y]))
