"""GATHER, GATHER_ND, EMBEDDING_LOOKUP (plain and hybrid int8/uint8 -> float32) and
DYNAMIC_UPDATE_SLICE: randomised single-operator models with constant and run-time indices,
arielml's reference bit-exact with LiteRT's reference kernels (TFLite Micro's opinion recorded);
the C kernels natively on 1..3 threads under both schedulers against the reference executor;
out-of-range run-time indices (LiteRT fails; the reference raises InputError; the C kernels write
zeros for those slices and stay inside their buffers); and one emulated rp2040 run on two cores."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.backends.native import build_native
from arielml.compile import compile_model
from arielml.errors import InputError, UnsupportedOperatorError
from tests.movement_cases import OpSpec, build_model, check_litert, check_native, report
from tests.op_harness import Outcome, case_rng, model_for, random_array, random_quant, run_micro
from tests.tflite_builder import ModelBuilder, run_litert

DTYPES = ("int8", "uint8", "int16", "int32", "float32", "int64", "bool")


def _indices(rng, shape, high, index_type):
    return rng.integers(0, max(high, 1), size=shape).astype(index_type)


def gather_spec(rng, dtype, runtime=None, shape=None) -> OpSpec:
    shape = shape or tuple(int(d) for d in rng.integers(1, 5, size=int(rng.integers(1, 5))))
    rank = len(shape)
    axis = int(rng.integers(0, rank))
    batch_dims = int(rng.integers(0, axis + 1)) if rng.random() < 0.3 else 0
    coords_shape = shape[:batch_dims] + tuple(int(d) for d in rng.integers(1, 4, size=int(rng.integers(0, 3))))
    index_type = str(rng.choice(["int16", "int32", "int64"]))
    coords = _indices(rng, coords_shape, shape[axis], index_type)
    runtime = bool(rng.random() < 0.5) if runtime is None else runtime
    quant = random_quant(rng, dtype)
    options = dict(axis=axis - rank if rng.random() < 0.3 else axis, batchDims=batch_dims)
    what = f"GATHER {dtype} {shape} axis {axis} batch_dims {batch_dims} {index_type} {coords_shape} runtime {runtime}"
    return OpSpec(what, "GATHER", [(shape, dtype, quant, None), (coords_shape, index_type, None, None if runtime else coords)],
                  [(dtype, quant)], "GatherOptions", options,
                  [random_array(rng, shape, dtype)] + ([coords] if runtime else []))


def gather_nd_spec(rng, dtype, runtime=None, shape=None) -> OpSpec:
    shape = shape or tuple(int(d) for d in rng.integers(1, 5, size=int(rng.integers(1, 5))))
    depth = int(rng.integers(1, len(shape) + 1))
    lead = tuple(int(d) for d in rng.integers(1, 4, size=int(rng.integers(0, 3))))
    index_type = str(rng.choice(["int16", "int32", "int64"]))
    indices = np.stack([_indices(rng, lead, d, index_type) for d in shape[:depth]], axis=-1).astype(index_type)
    runtime = bool(rng.random() < 0.5) if runtime is None else runtime
    quant = random_quant(rng, dtype)
    what = f"GATHER_ND {dtype} {shape} indices {indices.shape} {index_type} runtime {runtime}"
    return OpSpec(what, "GATHER_ND", [(shape, dtype, quant, None),
                                      (indices.shape, index_type, None, None if runtime else indices)],
                  [(dtype, quant)], arrays=[random_array(rng, shape, dtype)] + ([indices] if runtime else []))


def embedding_spec(rng, dtype, hybrid=False, runtime=None, shape=None, per_row=False) -> OpSpec:
    shape = shape or tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(2, 4))))
    lookup = _indices(rng, (int(rng.integers(1, 6)),), shape[0], "int32")
    runtime = bool(rng.random() < 0.6) if runtime is None else runtime
    quant = random_quant(rng, dtype) if dtype != "float32" else None
    if hybrid:  # symmetric, one scale or one per row (LiteRT's hybrid path)
        scales = [float(np.float32(10 ** rng.uniform(-3, 0))) for _ in range(shape[0] if per_row else 1)]
        quant = (scales, [0] * len(scales), 0)
    out = ("float32", None) if hybrid else (dtype, quant)
    # the table is a model constant (as converters emit it) or a run-time input
    table_constant = hybrid or rng.random() < 0.5
    table = random_array(rng, shape, dtype)
    arrays = ([lookup] if runtime else []) + ([] if table_constant else [table])
    what = f"EMBEDDING_LOOKUP {dtype} {'hybrid ' if hybrid else ''}{shape} lookups {lookup.tolist()} runtime {runtime}"
    return OpSpec(what, "EMBEDDING_LOOKUP", [(lookup.shape, "int32", None, None if runtime else lookup),
                                             (shape, dtype, quant, table if table_constant else None)],
                  [out], arrays=arrays)


def update_spec(rng, dtype, shape=None, start_type=None) -> OpSpec:
    shape = shape or tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 5))))
    update_shape = tuple(int(rng.integers(1, d + 1)) for d in shape)
    start_type = start_type or str(rng.choice(["int32", "int64"]))
    # starts may fall outside [0, d - u]: LiteRT clamps them
    start = np.array([int(rng.integers(-2, d - u + 3)) for d, u in zip(shape, update_shape)], dtype=start_type)
    quant = random_quant(rng, dtype)
    what = f"DYNAMIC_UPDATE_SLICE {dtype} {shape} update {update_shape} start {start.tolist()}"
    return OpSpec(what, "DYNAMIC_UPDATE_SLICE", [(shape, dtype, quant, None), (update_shape, dtype, quant, None),
                                                 ((len(shape),), start_type, None, None)], [(dtype, quant)],
                  arrays=[random_array(rng, shape, dtype), random_array(rng, update_shape, dtype), start])


def _random_cases(op, make, dtypes, cases=16, minimum=12, tflm_may_differ=False):
    outcome = Outcome()
    for i in range(cases):
        seed, rng = case_rng(op, i)
        check_litert(seed, make(rng, dtypes[i % len(dtypes)]), outcome)
    report(outcome, op, minimum, tflm_may_differ)


def test_gather_random():
    _random_cases("GATHER", gather_spec, DTYPES)


def test_gather_nd_random():
    _random_cases("GATHER_ND", gather_nd_spec, ("int8", "uint8", "int16", "int32", "float32", "int64"))


def test_embedding_lookup_random():
    _random_cases("EMBEDDING_LOOKUP", embedding_spec, ("float32", "int8", "uint8"))


@pytest.mark.parametrize("per_row", [False, True])
def test_embedding_lookup_hybrid_random(per_row):
    # TFLite Micro reads one scale (the first) where LiteRT has one per row: it may differ there
    _random_cases(f"EMBEDDING_LOOKUP hybrid per_row={per_row}",
                  lambda rng, dtype: embedding_spec(rng, dtype, hybrid=True, per_row=per_row), ("int8", "uint8"),
                  cases=10, minimum=10, tflm_may_differ=per_row)


def test_dynamic_update_slice_random():
    _random_cases("DYNAMIC_UPDATE_SLICE", update_spec, ("int8", "int16", "int32", "float32", "int64", "bool"))


def test_embedding_lookup_hybrid_per_row_tflm_semantics(cache):
    """--semantics tflm reproduces TFLite Micro, which reads the first scale for every row."""
    rng = np.random.default_rng(9800)
    differ = 0
    for case in range(6):
        spec = embedding_spec(rng, "int8", hybrid=True, runtime=True, per_row=True)
        shapes = [o.shape for o in run_litert(build_model([spec]), spec.arrays)]
        model_bytes = build_model([spec], shapes)
        model = model_for(model_bytes)
        (micro,) = run_micro(model_bytes, spec.arrays, 1)
        got = model.run(spec.arrays, semantics="tflm")[0]
        assert np.array_equal(got, micro), f"case {case} {spec.what}"
        differ += not np.array_equal(got, model.run(spec.arrays)[0])
        if case == 0:
            plan = compile_model(model, target="rv32-smp", cores=2, semantics="tflm")
            assert np.array_equal(build_native(plan, cache).run(spec.arrays).outputs[0], micro)
    assert differ, "no case told the two semantics apart"


# ---- out-of-range run-time indices --------------------------------------------------------------

def _bad_index_cases(rng):
    """(spec, the output slices the bad indices make zero): GATHER along axis 1, GATHER_ND reading
    [0, 5] of a 3x4 tensor (TFLite Micro would read element 5), EMBEDDING_LOOKUP."""
    x = random_array(rng, (2, 5, 3), "int16")
    g = OpSpec("GATHER out of range", "GATHER", [((2, 5, 3), "int16", None, None), ((4,), "int32", None, None)],
               [("int16", None)], "GatherOptions", dict(axis=1), [x, np.array([1, 7, -1, 4], dtype=np.int32)])
    y = random_array(rng, (3, 4), "float32")
    nd = OpSpec("GATHER_ND out of range", "GATHER_ND", [((3, 4), "float32", None, None), ((3, 2), "int64", None, None)],
                [("float32", None)], arrays=[y, np.array([[0, 5], [2, 3], [-1, 0]], dtype=np.int64)])
    table = random_array(rng, (4, 6), "int8")
    emb = OpSpec("EMBEDDING_LOOKUP out of range", "EMBEDDING_LOOKUP",
                 [((3,), "int32", None, None), ((4, 6), "int8", (0.5, 0), table)], [("float32", None)],
                 arrays=[np.array([3, 4, 0], dtype=np.int32)])
    # the same indices with the bad ones replaced by 0, the output slices those make zero
    return [(g, np.array([1, 0, 0, 4], dtype=np.int32), (slice(None), [1, 2])),
            (nd, np.array([[0, 0], [2, 3], [0, 0]], dtype=np.int64), ([0, 2],)),
            (emb, np.array([3, 0, 0], dtype=np.int32), ([1],))]


def test_constant_indices_out_of_range_are_refused():
    b = ModelBuilder()
    x = b.tensor((3, 4), "float32")
    i = b.tensor((2,), "int32", data=np.array([0, 3]))
    y = b.tensor((2, 4), "float32")
    b.op("GATHER", [x, i], [y], "GatherOptions", axis=0)
    with pytest.raises(UnsupportedOperatorError, match="out of range"):
        model_for(b.build([x], [y]))


def test_out_of_range_indices(cache):
    rng = np.random.default_rng(9300)
    for spec, good_indices, zeroed in _bad_index_cases(rng):
        with pytest.raises((RuntimeError, ValueError)):  # LiteRT fails the inference
            run_litert(build_model([spec]), spec.arrays)
        good = list(spec.arrays)
        good[-1 if spec.op != "EMBEDDING_LOOKUP" else 0] = good_indices
        (shape,) = [o.shape for o in run_litert(build_model([spec]), good)]
        model = model_for(build_model([spec], [shape]))
        with pytest.raises(InputError, match="out of range"):
            model.run(spec.arrays)
        expected = model.run(good)[0]
        expected[zeroed] = 0
        for cores, scheduler in ((1, "static"), (2, "dynamic")):
            lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
            got = lib.run(spec.arrays).outputs[0]
            assert np.array_equal(got, expected), f"{spec.what} cores={cores}"


# ---- C kernels ----------------------------------------------------------------------------------

def test_gather_kernels_match_reference(cache):
    seed = 9400
    rng = np.random.default_rng(seed)
    specs = []
    for k, dtype in enumerate(("int8", "uint8", "int16", "int32", "float32", "int64", "bool")):
        specs += [gather_spec(rng, dtype, runtime=k % 2 == 0), gather_spec(rng, dtype, runtime=k % 2 == 1),
                  gather_nd_spec(rng, dtype if dtype != "bool" else "int8", runtime=k % 2 == 0),
                  update_spec(rng, dtype if dtype != "uint8" else "int8")]
    for dtype in ("float32", "int8", "uint8"):
        specs += [embedding_spec(rng, dtype, runtime=True), embedding_spec(rng, dtype, runtime=False)]
    specs += [embedding_spec(rng, "int8", hybrid=True), embedding_spec(rng, "uint8", hybrid=True, runtime=True),
              embedding_spec(rng, "int8", hybrid=True, runtime=True, per_row=True)]
    # large enough that the cost model splits them over the threads
    specs += [gather_spec(rng, "int8", True, (4, 30, 20)), gather_nd_spec(rng, "float32", True, (20, 16, 9)),
              embedding_spec(rng, "int8", hybrid=True, runtime=True, shape=(50, 40), per_row=True),
              update_spec(rng, "float32", (8, 30, 12), "int64")]
    check_native(specs, seed, cache)


def test_dynamic_update_slice_in_place(cache):
    """An operand that dies at DYNAMIC_UPDATE_SLICE gives its bytes to the output: the kernel then
    writes only the update rows (checked natively, 1 and 2 threads, run-time starts clamped)."""
    rng = np.random.default_rng(9700)
    b = ModelBuilder()
    x = b.tensor((6, 7, 5), "float32")
    axis = b.tensor((1,), "int32", data=np.array([0]))
    operand = b.tensor((6, 7, 5), "float32")
    update = b.tensor((2, 3, 5), "float32")
    start = b.tensor((3,), "int32")
    y = b.tensor((6, 7, 5), "float32")
    b.op("REVERSE_V2", [x, axis], [operand])
    b.op("DYNAMIC_UPDATE_SLICE", [operand, update, start], [y])
    model_bytes = b.build([x, update, start], [y])
    model = model_for(model_bytes)
    for starts in ([1, 2, 0], [5, -3, 9]):
        inputs = [random_array(rng, (6, 7, 5), "float32"), random_array(rng, (2, 3, 5), "float32"),
                  np.array(starts, dtype=np.int32)]
        (want,) = run_litert(model_bytes, inputs)
        assert np.array_equal(model.run(inputs)[0], want)
        for cores, scheduler in ((1, "static"), (2, "dynamic")):
            result = compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler)
            assert result.plan.root(y) == result.plan.root(operand), "the update did not run in place"
            got = build_native(result, cache).run(inputs).outputs[0]
            assert np.array_equal(got, want), f"starts {starts} cores={cores}"
