"""EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL, LOGICAL_AND/OR/NOT and SELECT_V2
(arielml/ops/compare.py): random broadcasting single-op models bit-exact with LiteRT's reference
kernels (TFLite Micro recorded), the C kernels natively on 1..3 threads under both schedulers,
and one emulated two-core rp2040 run, against the reference executor."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.backends.emulator import run_emulated
from arielml.errors import UnsupportedOperatorError
from arielml.ops.compare import COMPARISONS, scaled_values
from arielml.ops.quant_math import quantize_multiplier
from tests.emu_helpers import needs_cross
from tests.op_harness import Outcome, case_rng, check_case, model_for
from arielml.backends.native import build_native
from arielml.compile import compile_model
from tests.test_kernels_data import CONFIGS, Spec, build_model
from tests.tflite_builder import ModelBuilder, run_litert

COMPARE_TYPES = ("float32", "int8", "uint8", "int16", "int32", "int64")
FLOAT_SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.5], np.float32)


def broadcast_shapes(rng, count: int) -> list[tuple[int, ...]]:
    """`count` input shapes that broadcast: an output shape, each input dropping leading dimensions
    and setting others to 1 at random (sometimes all equal, sometimes a scalar)."""
    out = [int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 6)))]
    if rng.random() < 0.25:
        return [tuple(out)] * count
    shapes = []
    for _ in range(count):
        shape = [d if rng.random() < 0.6 else 1 for d in out][int(rng.integers(0, len(out) + 1)) // 2:]
        shapes.append(tuple(shape))
    return shapes


def values(rng, shape, dtype: str, pool: np.ndarray | None = None) -> np.ndarray:
    """Random values drawn often from a small pool, so that equal pairs are common."""
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype == "float32":
        x = rng.uniform(-3, 3, size=shape).astype(np.float32)
        special = FLOAT_SPECIALS[rng.integers(0, len(FLOAT_SPECIALS), size=shape)]
        x = np.where(rng.random(shape) < 0.2, special, x)
    else:
        info = np.iinfo(np.dtype(dtype))
        x = rng.integers(int(info.min), int(info.max) + 1, size=shape, dtype=np.int64).astype(dtype)
    if pool is not None:
        x = np.where(rng.random(shape) < 0.5, pool[rng.integers(0, len(pool), size=shape)], x)
    return np.asarray(x, dtype=dtype)


def quant(rng, dtype: str):
    if dtype not in ("int8", "uint8", "int16"):
        return None
    scale = float(np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(0.9)))))
    if dtype == "int16":
        return scale, 0
    info = np.iinfo(np.dtype(dtype))
    return scale, int(rng.integers(int(info.min), int(info.max) + 1))


def _model(op: str, in_specs, out_dtype: str, out_q=None):
    def build(shapes):
        b = ModelBuilder()
        ins = [b.tensor(shape, dtype, quant=q) for shape, dtype, q in in_specs]
        # LiteRT's SELECT_V2 keeps the file's output shape when nothing broadcasts: give numpy's
        y = b.tensor(shapes[0] if shapes else np.broadcast_shapes(*(s for s, _, _ in in_specs)), out_dtype, quant=out_q)
        b.op(op, ins, [y])
        return b.build(ins, [y])
    return build


def _report(outcome: Outcome, name: str, minimum: int) -> None:
    print(f"{name}: compared {outcome.compared}, rejected {outcome.rejected[:2]}, TFLM agrees {outcome.tflm_agree}, "
          f"disagrees {outcome.tflm_disagree[:3]}, fails {len(outcome.tflm_failed)}")
    assert outcome.compared >= minimum


def compare_case(rng, op: str, dtype: str):
    shapes = broadcast_shapes(rng, 2)
    qs = [quant(rng, dtype), quant(rng, dtype)]
    pool = values(rng, (4,), dtype)
    arrays = [values(rng, s, dtype, pool) for s in shapes]
    return [(s, dtype, q) for s, q in zip(shapes, qs)], arrays


@pytest.mark.parametrize("op", list(COMPARISONS))
def test_comparisons_match_litert(op):
    outcome, micro_int16 = Outcome(), Outcome()
    types = COMPARE_TYPES + (("bool",) if op in ("EQUAL", "NOT_EQUAL") else ())
    for i in range(4 * len(types)):
        dtype = types[i % len(types)]
        seed, rng = case_rng(op + dtype, i)
        in_specs, arrays = compare_case(rng, op, dtype)
        check_case(seed, _model(op, in_specs, "bool"), arrays, micro_int16 if dtype == "int16" else outcome)
    _report(outcome, op, 4 * (len(types) - 1))
    _report(micro_int16, op + " int16", 4)
    # TFLite Micro has no uint8 comparisons (recorded as failures) and scales int16 with parameters
    # it never sets (recorded in micro_int16); everywhere else it must agree
    assert not outcome.tflm_disagree


def _rounding_sensitive_pairs(scales, zero_points, dtype: str, op: str) -> tuple[np.ndarray, np.ndarray]:
    """Input pairs whose comparison differs between single and double rounding of the rescale."""
    codes = np.arange(256, dtype=np.uint8).view(np.dtype(dtype))
    results = []
    for rounding in ("single", "double"):
        (m1, s1), (m2, s2) = (quantize_multiplier(s) for s in scales)
        a = scaled_values(codes, -zero_points[0], m1, s1, rounding)
        b = scaled_values(codes, -zero_points[1], m2, s2, rounding)
        results.append(COMPARISONS[op](a[:, None], b[None, :]))
    i, j = np.nonzero(results[0] != results[1])
    return codes[i], codes[j]


def test_rescaling_rounds_twice():
    """Quantised comparisons of pairs chosen so that single rounding would give the other answer:
    LiteRT must agree with the double rounding of the reference on every one."""
    outcome, sensitive = Outcome(), 0
    for i in range(24):
        seed, rng = case_rng("rescale", i)
        dtype, op = ("int8", "uint8")[i % 2], ("GREATER_EQUAL", "EQUAL", "LESS")[i % 3]
        scales = [float(np.float32(rng.uniform(0.001, 0.9))) for _ in range(2)]
        zero_points = [int(rng.integers(-10, 10)) + (128 if dtype == "uint8" else 0) for _ in range(2)]
        a, b = _rounding_sensitive_pairs(scales, zero_points, dtype, op)
        if not len(a):
            continue
        sensitive += len(a)
        in_specs = [((len(a),), dtype, (scales[0], zero_points[0])), ((len(b),), dtype, (scales[1], zero_points[1]))]
        check_case(seed, _model(op, in_specs, "bool"), [a, b], outcome, tflm=False)
    print(f"{sensitive} rounding-sensitive pairs")
    _report(outcome, "rescaling", 5)


def test_logical_and_select_match_litert():
    outcome = Outcome()
    for i in range(30):
        op = ("LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT")[i % 3]
        seed, rng = case_rng(op, i)
        shapes = broadcast_shapes(rng, 1 if op == "LOGICAL_NOT" else 2)
        check_case(seed, _model(op, [(s, "bool", None) for s in shapes], "bool"),
                   [values(rng, s, "bool") for s in shapes], outcome)
    for i in range(28):
        dtype = ("bool", "float32", "int8", "uint8", "int16", "int32", "int64")[i % 7]
        seed, rng = case_rng("SELECT_V2" + dtype, i)
        shapes = broadcast_shapes(rng, 3)
        q = quant(rng, dtype)
        in_specs = [(shapes[0], "bool", None), (shapes[1], dtype, q), (shapes[2], dtype, q)]
        arrays = [values(rng, shapes[0], "bool"), values(rng, shapes[1], dtype), values(rng, shapes[2], dtype)]
        if dtype == "float32":  # a copy is exact, NaN too, but check_case's comparison does not match NaN
            arrays[1:] = [np.where(np.isnan(a), np.float32(7), a) for a in arrays[1:]]
        check_case(seed, _model("SELECT_V2", in_specs, dtype, q), arrays, outcome)
    _report(outcome, "logical and SELECT_V2", 58)


def test_unsupported_variants_are_refused():
    cases = [("GREATER", [((2,), "bool", None)] * 2, "bool", "bool is not supported"),
             ("EQUAL", [((2,), "int8", None)] * 2, "bool", "needs per-tensor quantisation"),
             ("NOT_EQUAL", [((2,), "int16", None)] * 2, "bool", "needs per-tensor quantisation"),
             ("LESS", [((2,), "int8", (1.5, 0))] * 2, "bool", "scales in"),
             ("LESS", [((2,), "int32", None)] * 2, "int32", "comparisons give bool"),
             ("LOGICAL_AND", [((2,), "int8", None)] * 2, "int8", "takes and gives bool"),
             ("EQUAL", [((2, 3), "int32", None), ((4,), "int32", None)], "bool", "do not broadcast")]
    for op, in_specs, out_dtype, message in cases:
        with pytest.raises(UnsupportedOperatorError, match=message):
            model_for(_model(op, in_specs, out_dtype)([(2,)]))


def _spec(op: str, in_specs, arrays, out_dtype: str, out_q=None) -> Spec:
    return Spec(f"{op} {[s[:2] for s in in_specs]}", op, [(s, d, q, None) for s, d, q in in_specs],
                [(out_dtype, out_q)], arrays=arrays)


def native_specs(rng) -> list[Spec]:
    specs = []
    for k, op in enumerate(COMPARISONS):
        for dtype in COMPARE_TYPES + (("bool",) if op in ("EQUAL", "NOT_EQUAL") else ()):
            in_specs, arrays = compare_case(rng, op, dtype)
            specs.append(_spec(op, in_specs, arrays, "bool"))
    for op in ("LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT"):
        shapes = broadcast_shapes(rng, 1 if op == "LOGICAL_NOT" else 2)
        specs.append(_spec(op, [(s, "bool", None) for s in shapes], [values(rng, s, "bool") for s in shapes], "bool"))
    for dtype in ("bool", "float32", "int8", "int16", "int32", "int64"):
        shapes = broadcast_shapes(rng, 3)
        in_specs = [(shapes[0], "bool", None), (shapes[1], dtype, None), (shapes[2], dtype, None)]
        q = quant(rng, dtype)
        in_specs = [(shapes[0], "bool", None), (shapes[1], dtype, q), (shapes[2], dtype, q)]
        specs.append(_spec("SELECT_V2", in_specs, [values(rng, shapes[0], "bool"), values(rng, shapes[1], dtype),
                                                   values(rng, shapes[2], dtype)], dtype, q))
    # several work items, with a broadcast row and column
    big = [((6, 1, 40), "float32", None), ((5, 1), "float32", None)]
    specs.append(_spec("LESS", big, [values(rng, s, "float32") for s, _, _ in big], "bool"))
    big = [((1, 7, 30), "bool", None), ((4, 1, 30), "int16", None), ((4, 7, 1), "int16", None)]
    specs.append(_spec("SELECT_V2", big, [values(rng, s, d) for s, d, _ in big], "int16"))
    return specs


def output_shapes(specs: list[Spec]) -> list[tuple[int, ...]]:
    return [tuple(np.broadcast_shapes(*(i[0] for i in s.inputs))) for s in specs]


def check_native(specs: list[Spec], seed: int, cache) -> None:
    """1..3 host threads under both schedulers, bit-exact with the reference executor."""
    inputs = [a for s in specs for a in s.arrays]
    model = model_for(build_model(specs, output_shapes(specs)))
    expected = model.run(inputs)
    for cores, scheduler in CONFIGS:
        lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        for got, want, spec in zip(lib.run(inputs).outputs, expected, specs):
            assert got.dtype == want.dtype and got.shape == want.shape, f"seed {seed} {spec.what}"
            assert np.array_equal(got, want, equal_nan=want.dtype == np.float32), (
                f"seed {seed} cores={cores} {scheduler} {spec.what}: {np.count_nonzero(got != want)} of "
                f"{got.size} values differ")


def test_kernels_match_reference(cache):
    seed = 8300
    check_native(native_specs(np.random.default_rng(seed)), seed, cache)


@pytest.mark.cross
@needs_cross
def test_emulated_two_core_rp2040(cache):
    rng = np.random.default_rng(8400)
    q1, q2 = quant(rng, "int8"), quant(rng, "int8")
    parts = [("GREATER_EQUAL", [((3, 1, 50), "int8", q1), ((4, 50), "int8", q2)], "bool", None),
             ("NOT_EQUAL", [((2, 60), "float32", None), ((60,), "float32", None)], "bool", None),
             ("LESS", [((90,), "int32", None), ((1,), "int32", None)], "bool", None),
             ("LOGICAL_OR", [((5, 20), "bool", None), ((5, 1), "bool", None)], "bool", None),
             ("SELECT_V2", [((1, 40), "bool", None), ((3, 40), "float32", None), ((3, 1), "float32", None)],
              "float32", None)]
    specs = [_spec(op, ins, [values(rng, s, d) for s, d, _ in ins], out, q) for op, ins, out, q in parts]
    inputs = [a for s in specs for a in s.arrays]
    model = model_for(build_model(specs, output_shapes(specs)))
    expected = model.run(inputs)
    for want, litert in zip(expected, run_litert(build_model(specs, output_shapes(specs)), inputs)):
        assert np.array_equal(want, litert, equal_nan=want.dtype == np.float32)
    got = run_emulated(model, inputs, "rp2040", 2, cache_dir=cache).outputs
    for g, e, spec in zip(got, expected, specs):
        assert g.dtype == e.dtype and g.shape == e.shape and np.array_equal(g, e, equal_nan=e.dtype == np.float32), \
            spec.what
