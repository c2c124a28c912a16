"""SHAPE and BROADCAST_ARGS: random single-operator models bit-exact with LiteRT's reference kernels
(TFLite Micro's opinion recorded), then the C kernels (a compile-time constant output, or
BROADCAST_ARGS computed on the device from run-time shapes) natively against the reference."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.backends.native import build_native
from arielml.compile import compile_model
from arielml.errors import InputError, UnsupportedOperatorError
from tests.movement_cases import OpSpec, build_model, check_litert, check_native, report
from tests.op_harness import Outcome, case_rng, model_for, random_array, random_quant

DTYPES = ("int8", "uint8", "int16", "int32", "float32", "int64", "bool")


def shape_spec(rng, dtype) -> OpSpec:
    # rank >= 1: LiteRT's Python wrapper cannot return SHAPE's empty output of a scalar
    shape = tuple(int(d) for d in rng.integers(1, 5, size=int(rng.integers(1, 5))))
    out_type = str(rng.choice(["int32", "int64"]))
    return OpSpec(f"SHAPE {dtype} {shape} -> {out_type}", "SHAPE", [(shape, dtype, random_quant(rng, dtype), None)],
                  [(out_type, None)], "ShapeOptions", dict(outType=2 if out_type == "int32" else 4),
                  [random_array(rng, shape, dtype)])


def _broadcastable_pair(rng):
    full = [int(d) for d in rng.integers(0, 5, size=int(rng.integers(0, 5)))]
    a = [d if rng.random() < 0.6 else 1 for d in full[int(rng.integers(0, len(full) + 1)):]]
    b = [d if rng.random() < 0.6 else 1 for d in full[int(rng.integers(0, len(full) + 1)):]]
    return a, b


def broadcast_args_spec(rng, index_type, runtime=None) -> OpSpec:
    a, b = _broadcastable_pair(rng)
    runtime = bool(rng.random() < 0.5) if runtime is None else runtime
    if not runtime:  # an empty constant has no buffer, which the frontend reads as a damaged file
        a, b = a or [1], b or [1]
    a, b = np.array(a, dtype=index_type), np.array(b, dtype=index_type)
    spec = OpSpec(f"BROADCAST_ARGS {index_type} {a.tolist()} {b.tolist()} runtime {runtime}", "BROADCAST_ARGS",
                  [(a.shape, index_type, None, None if runtime else a), (b.shape, index_type, None, None if runtime else b)],
                  [(index_type, None)], arrays=[a, b] if runtime else [])
    return spec


def test_shape_random():
    outcome = Outcome()
    for i in range(14):
        seed, rng = case_rng("SHAPE", i)
        check_litert(seed, shape_spec(rng, DTYPES[i % len(DTYPES)]), outcome)
    report(outcome, "SHAPE", 14)


def test_broadcast_args_random():
    outcome = Outcome()
    for i in range(14):
        seed, rng = case_rng("BROADCAST_ARGS", i)
        check_litert(seed, broadcast_args_spec(rng, ("int32", "int64")[i % 2]), outcome)
    report(outcome, "BROADCAST_ARGS", 14)


def test_shapes_that_do_not_broadcast(cache):
    a, b = np.array([2, 3], dtype=np.int32), np.array([4, 3], dtype=np.int32)
    constant = OpSpec("", "BROADCAST_ARGS", [((2,), "int32", None, a), ((2,), "int32", None, b)], [("int32", None)])
    with pytest.raises(UnsupportedOperatorError, match="do not broadcast"):
        model_for(build_model([constant], [(2,)]))
    runtime = OpSpec("", "BROADCAST_ARGS", [((2,), "int32", None, None), ((2,), "int32", None, None)],
                     [("int32", None)], arrays=[a, b])
    model = model_for(build_model([runtime], [(2,)]))
    with pytest.raises(InputError, match="do not broadcast"):
        model.run([a, b])
    lib = build_native(compile_model(model, target="rv32-smp", cores=1), cache)
    assert lib.run([a, b]).outputs[0].tolist() == [0, 3]  # the kernel's documented answer


def test_shape_value_kernels_match_reference(cache):
    seed = 9500
    rng = np.random.default_rng(seed)
    specs = [shape_spec(rng, dtype) for dtype in DTYPES]
    specs += [broadcast_args_spec(rng, t, runtime) for t in ("int32", "int64") for runtime in (True, False, True)]
    check_native(specs, seed, cache, configs=[(1, "static"), (2, "dynamic")])
