"""SLICE, REVERSE_V2, MIRROR_PAD, BROADCAST_TO, SPACE_TO_DEPTH, DEPTH_TO_SPACE, BATCH_TO_SPACE_ND,
SPACE_TO_BATCH_ND: randomised single-operator models, arielml's reference bit-exact with LiteRT's
reference kernels (TFLite Micro's opinion recorded), then the C kernels natively on 1..3 threads
under both schedulers against the reference executor."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.errors import UnsupportedOperatorError
from tests.movement_cases import OpSpec, check_litert, check_native, report
from tests.op_harness import Outcome, case_rng, model_for, random_array, random_quant
from tests.tflite_builder import ModelBuilder

DTYPES = ("int8", "uint8", "int16", "int32", "float32", "int64", "bool")
CASES = 14


def _shape(rng, rank, lo=1, hi=5):
    return tuple(int(d) for d in rng.integers(lo, hi + 1, size=rank))


# Each generator returns a Spec (one operator: its inputs with constant data or None, outputs,
# options and the arrays of its run-time inputs); the same Specs feed the LiteRT and native tests.

def slice_spec(rng, dtype, shape=None) -> OpSpec:
    shape = shape or _shape(rng, int(rng.integers(1, 6)))
    begin = [int(rng.integers(0, d)) for d in shape]
    size = [int(rng.integers(1, d - b + 1)) if rng.random() < 0.8 else -1 for b, d in zip(begin, shape)]
    index_type = "int64" if rng.random() < 0.3 else "int32"
    quant = random_quant(rng, dtype)
    # LiteRT checks the file's output shape here instead of resizing: numpy slicing gives it
    out_shape = np.empty(shape)[tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))].shape
    return OpSpec(f"SLICE {dtype} {shape} begin {begin} size {size}", "SLICE",
                  [(shape, dtype, quant, None), ((len(shape),), index_type, None, np.array(begin)),
                   ((len(shape),), index_type, None, np.array(size))], [(dtype, quant)],
                  arrays=[random_array(rng, shape, dtype)], out_shapes=[out_shape])


def reverse_spec(rng, dtype, shape=None) -> OpSpec:
    shape = shape or _shape(rng, int(rng.integers(1, 6)))
    axis = int(rng.integers(-len(shape), len(shape)))
    quant = random_quant(rng, dtype)
    return OpSpec(f"REVERSE_V2 {dtype} {shape} axis {axis}", "REVERSE_V2",
                [(shape, dtype, quant, None), ((1,), "int32", None, np.array([axis]))], [(dtype, quant)],
                arrays=[random_array(rng, shape, dtype)])


def mirror_pad_spec(rng, dtype, shape=None) -> OpSpec:
    shape = shape or _shape(rng, int(rng.integers(1, 5)), 1, 5)
    mode = int(rng.integers(0, 2))
    limit = [d - 1 if mode == 0 else d for d in shape]
    pads = np.array([[int(rng.integers(0, m + 1)), int(rng.integers(0, m + 1))] for m in limit])
    quant = random_quant(rng, dtype)
    return OpSpec(f"MIRROR_PAD {dtype} {shape} pads {pads.tolist()} mode {mode}", "MIRROR_PAD",
                [(shape, dtype, quant, None), ((len(shape), 2), "int64" if rng.random() < 0.3 else "int32", None, pads)],
                [(dtype, quant)], "MirrorPadOptions", dict(mode=mode), [random_array(rng, shape, dtype)])


def broadcast_to_spec(rng, dtype, shape=None) -> OpSpec:
    shape = shape or _shape(rng, int(rng.integers(1, 5)), 1, 4)
    target = [int(rng.integers(1, 4)) if d == 1 and rng.random() < 0.7 else d for d in shape]
    target = [int(d) for d in rng.integers(1, 4, size=int(rng.integers(0, 3)))] + target
    shape = tuple(1 if rng.random() < 0.3 else d for d in shape)
    quant = random_quant(rng, dtype)
    return OpSpec(f"BROADCAST_TO {dtype} {shape} to {target}", "BROADCAST_TO",
                [(shape, dtype, quant, None), ((len(target),), "int32" if rng.random() < 0.7 else "int64", None,
                                               np.array(target))], [(dtype, quant)],
                arrays=[random_array(rng, shape, dtype)], out_shapes=[tuple(target)])


def depth_spec(rng, dtype, op, shape=None) -> OpSpec:
    if shape is None:
        block = int(rng.integers(1, 4))
        n, h, w, c = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        shape = (n, h * block, w * block, c) if op == "SPACE_TO_DEPTH" else (n, h, w, c * block * block)
    else:  # a block size that fits the given shape
        fits = [k for k in (1, 2, 3) if (shape[1] % k == 0 and shape[2] % k == 0 if op == "SPACE_TO_DEPTH"
                                         else shape[3] % (k * k) == 0)]
        block = int(rng.choice(fits))
    quant = random_quant(rng, dtype)
    options = "SpaceToDepthOptions" if op == "SPACE_TO_DEPTH" else "DepthToSpaceOptions"
    return OpSpec(f"{op} {dtype} {shape} block {block}", op, [(shape, dtype, quant, None)], [(dtype, quant)],
                options, dict(blockSize=block), [random_array(rng, shape, dtype)])


def batch_space_spec(rng, dtype, op, rank=None) -> OpSpec:
    rank = rank or int(rng.choice([3, 4, 4]))
    spatial = rank - 2
    block = [int(rng.integers(1, 4)) for _ in range(spatial)]
    c = int(rng.integers(1, 4))
    if op == "BATCH_TO_SPACE_ND":
        batch = int(rng.integers(1, 3)) * int(np.prod(block))
        dims = [int(rng.integers(1, 4)) for _ in range(spatial)]
        edges = np.array([[int(rng.integers(0, 2)), int(rng.integers(0, 2))] if d * k > 2 else [0, 0]
                          for d, k in zip(dims, block)])
    else:
        batch = int(rng.integers(1, 3))
        edges = np.array([[int(rng.integers(0, 3)), 0] for _ in range(spatial)])
        dims = []
        for k, (top, _) in zip(block, edges):
            d = int(rng.integers(1, 6))
            edges[len(dims), 1] = (-(d + top)) % k  # the padded size must divide by the block
            dims.append(d)
    shape = (batch, *dims, c)
    quant = random_quant(rng, dtype)
    return OpSpec(f"{op} {dtype} {shape} block {block} edges {edges.tolist()}", op,
                [(shape, dtype, quant, None), ((spatial,), "int32", None, np.array(block)),
                 ((spatial, 2), "int32", None, edges)], [(dtype, quant)], arrays=[random_array(rng, shape, dtype)])


def _litert_cases(op: str, make, dtypes, minimum: int = 10, cases: int = CASES, tflm_may_differ=False) -> None:
    outcome = Outcome()
    for i in range(cases):
        seed, rng = case_rng(op, i)
        check_litert(seed, make(rng, dtypes[i % len(dtypes)]), outcome)
    report(outcome, op, minimum, tflm_may_differ)


# LiteRT's type lists: SLICE, REVERSE_V2, BROADCAST_TO take every type here; the others fewer
def test_slice_random():
    _litert_cases("SLICE", slice_spec, DTYPES)


def test_reverse_v2_random():
    _litert_cases("REVERSE_V2", reverse_spec, DTYPES)


def test_mirror_pad_random():
    _litert_cases("MIRROR_PAD", mirror_pad_spec, ("int8", "uint8", "int16", "int32", "float32", "int64"))


def test_broadcast_to_random():
    _litert_cases("BROADCAST_TO", broadcast_to_spec, DTYPES)


@pytest.mark.parametrize("op", ["SPACE_TO_DEPTH", "DEPTH_TO_SPACE"])
def test_space_depth_random(op):
    _litert_cases(op, lambda rng, dtype: depth_spec(rng, dtype, op), ("int8", "uint8", "int32", "float32", "int64"))


@pytest.mark.parametrize("op", ["BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND"])
def test_batch_space_random(op):
    # TFLite Micro pads int8 SPACE_TO_BATCH_ND with uninitialised memory (its params' output_offset
    # is never set; seen as 106 and 97 where LiteRT writes the zero point): LiteRT is the contract
    _litert_cases(op, lambda rng, dtype: batch_space_spec(rng, dtype, op),
                  ("int8", "uint8", "int16", "int32", "float32", "int64"), tflm_may_differ=op == "SPACE_TO_BATCH_ND")


def test_out_of_range_controls_are_refused():
    b = ModelBuilder()
    x = b.tensor((3, 4), "int8", quant=(0.1, 0))
    p = b.tensor((2, 2), "int32", data=np.array([[3, 0], [0, 0]]))  # REFLECT allows at most 2 on 3 rows
    y = b.tensor((6, 4), "int8", quant=(0.1, 0))
    b.op("MIRROR_PAD", [x, p], [y], "MirrorPadOptions", mode=0)
    with pytest.raises(UnsupportedOperatorError, match="REFLECT allows"):
        model_for(b.build([x], [y]))
    b = ModelBuilder()
    x = b.tensor((3, 4), "float32")
    begin = b.tensor((2,), "int32", data=np.array([2, 0]))
    size = b.tensor((2,), "int32", data=np.array([2, -1]))
    y = b.tensor((2, 4), "float32")
    b.op("SLICE", [x, begin, size], [y])
    with pytest.raises(UnsupportedOperatorError, match="does not fit"):
        model_for(b.build([x], [y]))


# ---- C kernels --------------------------------------------------------------------------------

def test_rearrange_kernels_match_reference(cache):
    seed = 9100
    rng = np.random.default_rng(seed)
    specs = []
    for dtype in ("int8", "uint8", "int16", "int32", "float32", "int64", "bool"):
        depth_type = dtype if dtype not in ("int16", "bool") else "int32"  # LiteRT's depth ops lack these
        specs += [slice_spec(rng, dtype), reverse_spec(rng, dtype), mirror_pad_spec(rng, dtype),
                  broadcast_to_spec(rng, dtype), depth_spec(rng, depth_type, "SPACE_TO_DEPTH"),
                  depth_spec(rng, depth_type, "DEPTH_TO_SPACE"), batch_space_spec(rng, dtype, "BATCH_TO_SPACE_ND"),
                  batch_space_spec(rng, dtype, "SPACE_TO_BATCH_ND")]
    # large enough that the cost model splits them over the threads
    specs += [slice_spec(rng, "int8", (2, 20, 30, 8)), reverse_spec(rng, "float32", (6, 40, 7)),
              mirror_pad_spec(rng, "int8", (1, 24, 24, 5)), broadcast_to_spec(rng, "int16", (1, 30, 1, 9)),
              depth_spec(rng, "int8", "SPACE_TO_DEPTH", (1, 24, 24, 6)),
              depth_spec(rng, "float32", "DEPTH_TO_SPACE", (1, 12, 10, 36)),
              batch_space_spec(rng, "int8", "BATCH_TO_SPACE_ND", 4), batch_space_spec(rng, "int8", "SPACE_TO_BATCH_ND", 4)]
    check_native(specs, seed, cache)
