"""C kernels of the pooling and data-movement family (AVERAGE_POOL_2D, MAX_POOL_2D, TRANSPOSE,
CONCATENATION, SPLIT, SPLIT_V, STRIDED_SLICE, PAD, PADV2, MEAN, RESIZE_NEAREST_NEIGHBOR): random
operators, several per model, compiled and run natively on 1..3 threads under both schedulers;
the outputs must be the reference executor's bytes. Output shapes come from LiteRT (a model is
built with placeholder output shapes first). A failing case prints its seed and operator."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from arielml.api import Model
from arielml.backends.native import build_native
from arielml.compile import compile_model
from arielml.errors import UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from arielml.ops.data_kernels import simplify_axes
from tests.tflite_builder import ModelBuilder, run_litert

CONFIGS = [(1, "static"), (2, "dynamic"), (3, "static"), (2, "static"), (3, "dynamic"), (1, "dynamic")]
QUANT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


@dataclass
class Spec:
    """One operator of a test model: its inputs (shape, dtype, quant, constant data or None),
    output (dtype, quant) pairs, options, and the arrays fed to its non-constant inputs."""

    what: str
    op: str
    inputs: list[tuple]
    outputs: list[tuple]
    options_type: str | None = None
    options: dict = field(default_factory=dict)
    arrays: list[np.ndarray] = field(default_factory=list)


def build_model(specs: list[Spec], shapes: list[tuple[int, ...]] | None = None) -> bytes:
    b = ModelBuilder()
    graph_inputs, graph_outputs = [], []
    for spec in specs:
        ins = []
        for shape, dtype, quant, data in spec.inputs:
            ins.append(b.tensor(shape, dtype, quant=quant, data=data))
            if data is None:
                graph_inputs.append(ins[-1])
        outs = [b.tensor(shapes[len(graph_outputs) + k] if shapes else (1,), dtype, quant=quant)
                for k, (dtype, quant) in enumerate(spec.outputs)]
        b.op(spec.op, ins, outs, spec.options_type, **spec.options)
        graph_outputs += outs
    return b.build(graph_inputs, graph_outputs)


def check_native(specs: list[Spec], seed: int, cache) -> None:
    inputs = [a for s in specs for a in s.arrays]
    shapes = [o.shape for o in run_litert(build_model(specs), inputs)]
    model = Model(verify(parse_tflite(build_model(specs, shapes))))
    expected = model.run(inputs)
    owners = [s for s in specs for _ in s.outputs]
    for cores, scheduler in CONFIGS:
        lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        for got, want, spec in zip(lib.run(inputs).outputs, expected, owners):
            assert got.dtype == want.dtype and got.shape == want.shape, f"seed {seed} {spec.what}"
            assert np.array_equal(got, want, equal_nan=want.dtype == np.float32), (
                f"seed {seed} cores={cores} {scheduler} {spec.what}: {np.count_nonzero(got != want)} of "
                f"{got.size} values differ")


def random_array(rng, shape, dtype: str) -> np.ndarray:
    if dtype == "float32":
        return rng.uniform(-3, 3, size=shape).astype(np.float32)
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    info = np.iinfo(np.dtype(dtype))
    return rng.integers(max(info.min, -(1 << 20)), min(info.max, 1 << 20) + 1, size=shape).astype(dtype)


def random_quant(rng, dtype: str):
    if dtype not in QUANT_RANGE:
        return None
    lo, hi = QUANT_RANGE[dtype]
    return float(np.float32(10 ** rng.uniform(-3, 0))), 0 if dtype == "int16" else int(rng.integers(lo, hi + 1))


# ---- pooling ------------------------------------------------------------------------------------

def pool_spec(rng, op: str, dtype: str) -> Spec:
    while True:
        n, c = int(rng.choice([1, 1, 2])), int(rng.integers(1, 40))
        h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        if rng.random() < 0.25:  # global pooling, as classifier heads use it
            fh, fw, sh, sw, padding = h, w, 1, 1, 1
        else:
            fh, fw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
            sh, sw, padding = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(0, 2))
        if padding == 0 or (fh <= h and fw <= w):
            break
    quant = random_quant(rng, dtype)
    act = int(rng.choice([0, 1, 2, 3]))
    what = f"{op} {dtype} in {(n, h, w, c)} filter ({fh},{fw}) stride ({sh},{sw}) padding {padding} act {act}"
    return Spec(what, op, [((n, h, w, c), dtype, quant, None)], [(dtype, quant)], "Pool2DOptions",
                dict(padding=padding, strideH=sh, strideW=sw, filterHeight=fh, filterWidth=fw,
                     fusedActivationFunction=act), [random_array(rng, (n, h, w, c), dtype)])


def test_pooling_kernels_match_reference(cache):
    seed = 7100
    rng = np.random.default_rng(seed)
    specs = [pool_spec(rng, op, dtype) for op in ("AVERAGE_POOL_2D", "MAX_POOL_2D")
             for dtype in ("int8", "int8", "int8", "uint8", "int16", "float32", "float32")]
    check_native(specs, seed, cache)


# ---- TRANSPOSE, CONCATENATION, SPLIT, SPLIT_V -------------------------------------------------------

DATA_TYPES = ("int8", "uint8", "int16", "int32", "float32", "int64", "bool")


def transpose_spec(rng, dtype: str, shape: tuple[int, ...] | None = None) -> Spec:
    rank = len(shape) if shape else int(rng.integers(1, 6))
    shape = shape or tuple(int(d) for d in rng.integers(1, 6, size=rank))
    perm = rng.permutation(rank)
    quant = random_quant(rng, dtype)
    return Spec(f"TRANSPOSE {dtype} {shape} perm {perm.tolist()}", "TRANSPOSE",
                [(shape, dtype, quant, None), ((rank,), "int32", None, perm)], [(dtype, quant)],
                arrays=[random_array(rng, shape, dtype)])


def concat_spec(rng, dtype: str) -> Spec:
    rank = int(rng.integers(1, 5))
    axis = int(rng.integers(-rank, rank))
    base = [int(d) for d in rng.integers(1, 5, size=rank)]
    out_quant = random_quant(rng, dtype)
    inputs, arrays = [], []
    for k in range(int(rng.integers(1, 5))):
        shape = list(base)
        shape[axis] = int(rng.integers(1, 5))
        # uint8 inputs may have their own quantisation (requantised); the others share the output's
        quant = random_quant(rng, dtype) if dtype == "uint8" and rng.random() < 0.7 else out_quant
        data = random_array(rng, shape, dtype)
        constant = k == 0 and rng.random() < 0.3
        inputs.append((tuple(shape), dtype, quant, data if constant else None))
        if not constant:
            arrays.append(data)
    if not arrays:  # at least one run-time input
        inputs[0] = inputs[0][:3] + (None,)
        arrays.append(random_array(rng, inputs[0][0], dtype))
    return Spec(f"CONCATENATION {dtype} axis {axis} {[i[0] for i in inputs]}", "CONCATENATION", inputs,
                [(dtype, out_quant)], "ConcatenationOptions", dict(axis=axis), arrays)


def split_spec(rng, dtype: str, variant: str) -> Spec:
    rank = int(rng.integers(1, 5))
    shape = [int(d) for d in rng.integers(1, 5, size=rank)]
    axis = int(rng.integers(-rank, rank))
    quant = random_quant(rng, dtype)
    if variant == "SPLIT":
        num = int(rng.integers(1, 4))
        shape[axis] *= num
        inputs = [((), "int32", None, np.array(axis)), (tuple(shape), dtype, quant, None)]
        options = ("SplitOptions", dict(numSplits=num))
    else:
        sizes = [int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 4)))]
        shape[axis] = sum(sizes)
        num = len(sizes)
        if rng.random() < 0.5:
            sizes[int(rng.integers(num))] = -1
        inputs = [(tuple(shape), dtype, quant, None), ((num,), "int32", None, np.array(sizes)),
                  ((1,), "int32", None, np.array([axis]))]
        options = ("SplitVOptions", dict(numSplits=num))
    return Spec(f"{variant} {dtype} {tuple(shape)} axis {axis} into {num}", variant, inputs, [(dtype, quant)] * num,
                *options, arrays=[random_array(rng, tuple(shape), dtype)])


def test_shape_kernels_match_reference(cache):
    seed = 7200
    rng = np.random.default_rng(seed)
    specs = []
    for k, dtype in enumerate(DATA_TYPES + ("int8", "float32")):
        specs.append(transpose_spec(rng, dtype))
        specs.append(concat_spec(rng, dtype if dtype != "bool" else "uint8"))
        # LiteRT splits only these types
        split_type = dtype if dtype in ("int8", "uint8", "int16", "int32", "float32") else "int32"
        specs.append(split_spec(rng, split_type, ("SPLIT", "SPLIT_V")[k % 2]))
    # large enough that the cost model splits them over the threads; rows longer than one chunk
    specs += [transpose_spec(rng, "int8", (3, 8, 9, 5)), transpose_spec(rng, "float32", (2, 7, 6, 11)),
              transpose_spec(rng, "int16", (70, 5))]
    check_native(specs, seed, cache)


# ---- STRIDED_SLICE, PAD, PADV2 ----------------------------------------------------------------------

def slice_spec(rng, dtype: str, shape: tuple[int, ...] | None = None) -> Spec:
    rank = len(shape) if shape else int(rng.integers(1, 5))
    shape = shape or tuple(int(d) for d in rng.integers(1, 7, size=rank))
    begin, end, strides = [], [], []
    for d in shape:
        stride = int(rng.choice([1, 1, 2, 3, -1, -2]))
        lo, hi = sorted(int(v) for v in rng.integers(0, d + 1, size=2))
        if hi == lo:
            hi = lo + 1 if lo < d else lo
            lo = min(lo, d - 1)
        if stride < 0:
            lo, hi = hi - 1, lo - 1  # walk down from hi - 1 to lo
        begin.append(lo)
        end.append(hi)
        strides.append(stride)
    masks = dict(beginMask=int(rng.integers(0, 1 << rank)), endMask=int(rng.integers(0, 1 << rank)))
    if rng.random() < 0.3:  # shrink one axis: take the single element at a valid index
        axis = int(rng.integers(rank))
        begin[axis], end[axis], strides[axis] = int(rng.integers(shape[axis])), 0, 1
        masks = dict(beginMask=masks["beginMask"] & ~(1 << axis), endMask=0, shrinkAxisMask=1 << axis)
        end[axis] = begin[axis] + 1
    ints = [((rank,), "int32", None, np.array(v)) for v in (begin, end, strides)]
    quant = random_quant(rng, dtype)
    return Spec(f"STRIDED_SLICE {dtype} {shape} begin {begin} end {end} strides {strides} {masks}",
                "STRIDED_SLICE", [(shape, dtype, quant, None)] + ints, [(dtype, quant)], "StridedSliceOptions",
                masks, [random_array(rng, shape, dtype)])


def pad_spec(rng, dtype: str, op: str, shape: tuple[int, ...] | None = None) -> Spec:
    rank = len(shape) if shape else int(rng.integers(1, 5))
    shape = shape or tuple(int(d) for d in rng.integers(1, 6, size=rank))
    pads = rng.integers(0, 3, size=(rank, 2)) * (rng.random(size=(rank, 1)) < 0.6)
    quant = random_quant(rng, dtype)
    inputs = [(shape, dtype, quant, None), ((rank, 2), "int32", None, pads)]
    if op == "PADV2":
        inputs.append(((1,), dtype, quant, random_array(rng, (1,), dtype)))
    return Spec(f"{op} {dtype} {shape} paddings {pads.tolist()}", op, inputs, [(dtype, quant)],
                arrays=[random_array(rng, shape, dtype)])


def test_slice_and_pad_kernels_match_reference(cache):
    seed = 7300
    rng = np.random.default_rng(seed)
    specs = []
    for dtype in ("int8", "uint8", "int16", "int32", "float32", "int8", "float32"):
        specs.append(slice_spec(rng, dtype))
        specs.append(pad_spec(rng, dtype, "PAD"))
        specs.append(pad_spec(rng, dtype, "PADV2"))
    specs += [slice_spec(rng, "int8", (4, 9, 10, 6)), slice_spec(rng, "float32", (3, 7, 12)),
              slice_spec(rng, "uint8", (2, 700)), pad_spec(rng, "int8", "PAD", (2, 11, 9, 7)),
              pad_spec(rng, "float32", "PADV2", (1, 12, 12, 3))]
    check_native(specs, seed, cache)


# ---- MEAN, RESIZE_NEAREST_NEIGHBOR ----------------------------------------------------------------

def mean_spec(rng, dtype: str, shape: tuple[int, ...] | None = None) -> Spec:
    rank = len(shape) if shape else int(rng.integers(1, 5))
    shape = shape or tuple(int(d) for d in rng.integers(1, 7, size=rank))
    if rank == 4 and rng.random() < 0.5:
        axes = [1, 2]  # global average pooling, the common case
    else:
        axes = sorted(set(int(a) for a in rng.integers(-rank, rank, size=int(rng.integers(1, rank + 1)))))
    keep = bool(rng.random() < 0.5)
    in_quant = random_quant(rng, dtype)
    out_quant = random_quant(rng, dtype)
    return Spec(f"MEAN {dtype} {shape} axes {axes} keep {keep}", "MEAN",
                [(shape, dtype, in_quant, None), ((len(axes),), "int32", None, np.array(axes))],
                [(dtype, out_quant)], "ReducerOptions", dict(keepDims=keep), [random_array(rng, shape, dtype)])


def resize_spec(rng, dtype: str, big: bool = False) -> Spec:
    shape = (int(rng.choice([1, 2])), int(rng.integers(1, 7)), int(rng.integers(1, 7)), int(rng.integers(1, 5)))
    size = np.array([int(rng.integers(1, 13)), int(rng.integers(1, 13))]) * (3 if big else 1)
    align, half = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    quant = random_quant(rng, dtype)
    return Spec(f"RESIZE_NEAREST_NEIGHBOR {dtype} {shape} to {size.tolist()} align {align} half {half}",
                "RESIZE_NEAREST_NEIGHBOR", [(shape, dtype, quant, None), ((2,), "int32", None, size)],
                [(dtype, quant)], "ResizeNearestNeighborOptions", dict(alignCorners=align, halfPixelCenters=half),
                [random_array(rng, shape, dtype)])


def test_mean_and_resize_kernels_match_reference(cache):
    seed = 7400
    rng = np.random.default_rng(seed)
    specs = []
    for dtype in ("int8", "int8", "uint8", "int16", "int32", "float32", "float32", "int8"):
        specs.append(mean_spec(rng, dtype))
        specs.append(resize_spec(rng, dtype))
    specs += [mean_spec(rng, "int8", (2, 9, 9, 24)), mean_spec(rng, "float32", (3, 8, 5, 7)),
              resize_spec(rng, "int8", big=True), resize_spec(rng, "float32", big=True)]
    check_native(specs, seed, cache)


# ---- compile-time pieces ----------------------------------------------------------------------------

def test_gather_axes_fold_and_merge():
    # NCHW (1, 1, 4, 5) -> NHWC (1, 4, 5, 1): only size-1 axes move, so it is one contiguous run
    strides = {0: 20, 1: 20, 2: 5, 3: 1}
    tables = [np.arange(d) * strides[a] for d, a in zip((1, 4, 5, 1), (0, 2, 3, 1))]
    base, axes = simplify_axes(tables)
    assert base == 0 and len(axes) == 1 and np.array_equal(axes[0], np.arange(20))
    # a real transpose keeps two axes; a fixed (sliced) index becomes the base
    base, axes = simplify_axes([np.array([7]), np.arange(3) * 1, np.arange(4) * 3])
    assert base == 7 and [a.tolist() for a in axes] == [[0, 1, 2], [0, 3, 6, 9]]


def test_unsupported_variants_raise_a_clear_error():
    b = ModelBuilder()  # int8 MEAN over 70000 values could overflow the kernel's int32 sum
    x = b.tensor((1, 70000), "int8", quant=(0.1, 3))
    axis = b.tensor((1,), "int32", data=np.array([1]))
    y = b.tensor((1,), "int8", quant=(0.1, 3))
    b.op("MEAN", [x, axis], [y], "ReducerOptions", keepDims=False)
    model = Model(verify(parse_tflite(b.build([x], [y]))))
    with pytest.raises(UnsupportedOperatorError, match="MEAN .*overflow"):
        compile_model(model)


def test_float_mean_reference_sums_in_litert_order():
    """The float32 MEAN reference (and its C kernel) adds one element at a time in row-major order,
    as LiteRT's reference kernel does: bit-exact with LiteRT, where numpy's pairwise np.sum is not."""
    seed = 7500
    rng = np.random.default_rng(seed)
    for case in range(12):
        spec = mean_spec(rng, "float32", tuple(int(d) for d in rng.integers(1, 30, size=4)))
        (want,) = run_litert(build_model([spec]), spec.arrays)
        (got,) = Model(verify(parse_tflite(build_model([spec], [want.shape])))).run(spec.arrays)
        assert np.array_equal(got, want), f"seed {seed} case {case} {spec.what}"
