"""DIV, FLOOR_DIV, FLOOR_MOD, SQUARED_DIFFERENCE, PRELU (arielml/ops/binary_math.py) and ADD_N (ops/add_n.py):
random broadcasting single-op models bit-exact with LiteRT's reference kernels (TFLite Micro where
LiteRT lacks the variant: int16 SQUARED_DIFFERENCE, int8 ADD_N), the C kernels natively on 1..3
threads under both schedulers, and one emulated two-core rp2040 run, against the reference."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.backends.emulator import run_emulated
from arielml.backends.native import build_native
from arielml.compile import compile_model
from arielml.errors import InputError, UnsupportedOperatorError
from tests.emu_helpers import needs_cross
from tests.op_harness import Outcome, case_rng, check_case, model_for
from tests.test_kernels_data import CONFIGS, Spec, build_model
from tests.test_ops_compare import broadcast_shapes
from tests.test_ops_unary_math import run_micro, same_floats
from tests.tflite_builder import ModelBuilder, run_litert

FLOAT_SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 3e38], np.float32)
FLOAT_OPS = ("DIV", "FLOOR_DIV", "FLOOR_MOD", "SQUARED_DIFFERENCE", "PRELU")


def operand_shapes(rng, op: str) -> list[tuple[int, ...]]:
    """Two broadcasting shapes; PRELU's alpha (the second) broadcasts to the input's shape."""
    shapes = broadcast_shapes(rng, 2)
    if op == "PRELU":
        out = tuple(np.broadcast_shapes(*shapes))
        shapes = [out, shapes[1]]
    return shapes


def float_values(rng, shape) -> np.ndarray:
    x = (rng.uniform(-8, 8, size=shape) * 10.0 ** rng.integers(-2, 3, size=shape)).astype(np.float32)
    x = np.where(rng.random(shape) < 0.2, np.round(x), x)  # exact quotients and remainders
    special = FLOAT_SPECIALS[rng.integers(0, len(FLOAT_SPECIALS), size=shape)]
    return np.where(rng.random(shape) < 0.1, special, x).astype(np.float32)


def int_values(rng, shape, dtype: str, nonzero: bool = False) -> np.ndarray:
    info = np.iinfo(np.dtype(dtype))
    big = rng.integers(int(info.min), int(info.max) + 1, size=shape, dtype=np.int64)
    small = rng.integers(-9, 10, size=shape)
    extreme = np.array([int(info.min), int(info.max), -1, 1])[rng.integers(0, 4, size=shape)]
    x = np.where(rng.random(shape) < 0.5, small, np.where(rng.random(shape) < 0.2, extreme, big))
    if nonzero:
        x = np.where(x == 0, 3, x)
    return x.astype(dtype)


def quant(rng, dtype: str):
    scale = float(np.float32(np.exp(rng.uniform(np.log(2e-3), np.log(0.3)))))
    if dtype == "int16":
        return scale, 0
    info = np.iinfo(np.dtype(dtype))
    return scale, int(rng.integers(int(info.min), int(info.max) + 1))


def _model(op: str, in_specs, out_dtype: str, out_q=None, options=None):
    try:
        out_shape = tuple(np.broadcast_shapes(*(s for s, _, _ in in_specs)))
    except ValueError:  # a case that must be refused
        out_shape = in_specs[0][0]

    def build(shapes):
        b = ModelBuilder()
        ins = [b.tensor(shape, dtype, quant=q) for shape, dtype, q in in_specs]
        y = b.tensor(out_shape, out_dtype, quant=out_q)
        if options:
            b.op(op, ins, [y], options[0], **options[1])
        else:
            b.op(op, ins, [y])
        return b.build(ins, [y])
    return build


def _div_options(rng):
    return ("DivOptions", dict(fusedActivationFunction=int(rng.choice([0, 0, 1, 2, 3]))))


@pytest.mark.parametrize("op", FLOAT_OPS)
def test_float_ops_match_litert(op):
    for i in range(8):
        seed, rng = case_rng(op, i)
        shapes = operand_shapes(rng, op)
        arrays = [float_values(rng, s) for s in shapes]
        if op == "FLOOR_DIV":  # a zero divisor is an error in TFLite (test_zero_divisor_is_an_input_error)
            arrays[1] = np.where(arrays[1] == 0, np.float32(0.25), arrays[1])
        model_bytes = _model(op, [(s, "float32", None) for s in shapes], "float32",
                             options=_div_options(rng) if op == "DIV" else None)(None)
        (want,) = run_litert(model_bytes, arrays)
        (got,) = model_for(model_bytes).run(arrays)
        assert same_floats(got, want), f"seed {seed}: {op} differs from LiteRT"


INT_CASES = [("DIV", "int32"), ("FLOOR_DIV", "int8"), ("FLOOR_DIV", "int16"), ("FLOOR_DIV", "int32"),
             ("FLOOR_MOD", "int8"), ("FLOOR_MOD", "int16"), ("FLOOR_MOD", "int32"), ("FLOOR_MOD", "int64"),
             ("SQUARED_DIFFERENCE", "int32")]


def test_integer_ops_match_litert():
    outcome = Outcome()
    for i in range(4 * len(INT_CASES)):
        op, dtype = INT_CASES[i % len(INT_CASES)]
        seed, rng = case_rng(op + dtype, i)
        shapes = operand_shapes(rng, op)
        arrays = [int_values(rng, shapes[0], dtype), int_values(rng, shapes[1], dtype, nonzero=op != "SQUARED_DIFFERENCE")]
        if op == "DIV":  # INT32_MIN / -1 is undefined in TFLite's C++
            arrays[0] = np.where(arrays[0] == np.iinfo(np.int32).min, 5, arrays[0]).astype(dtype)
        check_case(seed, _model(op, [(s, dtype, None) for s in shapes], dtype,
                                options=_div_options(rng) if op == "DIV" else None), arrays, outcome)
    print(f"integers: compared {outcome.compared}, TFLM agrees {outcome.tflm_agree}, fails {len(outcome.tflm_failed)}")
    assert outcome.compared == 4 * len(INT_CASES)
    assert not outcome.tflm_disagree, outcome.tflm_disagree


def test_zero_divisor_is_an_input_error():
    model = model_for(_model("FLOOR_MOD", [((3,), "int32", None)] * 2, "int32")(None))
    with pytest.raises(InputError, match="Division by zero"):
        model.run([np.array([1, 2, 3], np.int32), np.array([1, 0, 1], np.int32)])
    model = model_for(_model("FLOOR_DIV", [((2,), "float32", None)] * 2, "float32")(None))
    with pytest.raises(InputError, match="Division by zero"):
        model.run([np.array([1, 2], np.float32), np.array([-0.0, 1], np.float32)])


QUANTISED_CASES = [("SQUARED_DIFFERENCE", "int8"), ("PRELU", "int8"), ("PRELU", "uint8"), ("DIV", "int8"),
                   ("DIV", "uint8"), ("PRELU", "int16")]


def quantised_case(rng, op: str, dtype: str):
    shapes = operand_shapes(rng, op)
    qs = [quant(rng, dtype) for _ in range(3)]
    if op == "DIV" and rng.random() < 0.5:  # outputs in range more often
        qs[2] = (float(np.float32(qs[0][0] / qs[1][0] * rng.uniform(0.02, 0.5))), qs[2][1])
    if op == "PRELU" and dtype == "int16":  # int8 alpha
        qs[1] = quant(rng, "int8")
        arrays = [int_values(rng, shapes[0], dtype), int_values(rng, shapes[1], "int8")]
    else:
        arrays = [int_values(rng, s, dtype) for s in shapes]
    if op == "DIV":  # a divisor at its zero point is a real 0: undefined in TFLite
        zero = np.asarray(qs[1][1]).astype(dtype)
        arrays[1] = np.where(arrays[1] == zero, (zero.astype(np.int64) + 1).astype(dtype), arrays[1])
    return shapes, qs, arrays


def test_quantised_ops_match_litert():
    outcome = Outcome()
    for i in range(10 * len(QUANTISED_CASES)):
        op, dtype = QUANTISED_CASES[i % len(QUANTISED_CASES)]
        seed, rng = case_rng(op + dtype, i)
        shapes, qs, arrays = quantised_case(rng, op, dtype)
        options = _div_options(rng) if op == "DIV" else None
        check_case(seed, _model(op, [(s, a.dtype.name, q) for s, a, q in zip(shapes, arrays, qs)], dtype, qs[2],
                                options), arrays, outcome)
    print(f"quantised: compared {outcome.compared}, TFLM agrees {outcome.tflm_agree}, fails {len(outcome.tflm_failed)}")
    assert outcome.compared == 10 * len(QUANTISED_CASES)
    assert not outcome.tflm_disagree, outcome.tflm_disagree


def test_tflite_micro_only_variants():
    """int16 SQUARED_DIFFERENCE and int8 ADD_N: LiteRT lacks them, TFLite Micro is the oracle."""
    for i in range(16):
        seed, rng = case_rng("micro", i)
        if i % 2:
            shapes = broadcast_shapes(rng, 2)
            qs = [quant(rng, "int16") for _ in range(3)]
            build = _model("SQUARED_DIFFERENCE", [(s, "int16", q) for s, q in zip(shapes, qs)], "int16", qs[2])
            arrays = [int_values(rng, s, "int16") for s in shapes]
        else:
            shape = broadcast_shapes(rng, 1)[0]
            q, out_q = quant(rng, "int8"), quant(rng, "int8")
            n = int(rng.integers(2, 6))
            build = _model("ADD_N", [(shape, "int8", q)] * n, "int8", out_q)
            arrays = [int_values(rng, shape, "int8") for _ in range(n)]
        model_bytes = build(None)
        (want,) = run_micro(model_bytes, arrays, 1)
        (got,) = model_for(model_bytes).run(arrays)
        assert np.array_equal(got, want), f"seed {seed}: {np.count_nonzero(got != want)} of {got.size} differ"


def test_add_n_float_order_and_clamp():
    """LiteRT clamps each partial sum (inf + -inf is NaN, FLT_MAX-ish sums come back); TFLite Micro
    sums from 0 without a clamp: both semantics, on the values where they differ."""
    rows = [[np.inf, -np.inf, 0], [3e38, 3e38, -3e38], [1, 2, 3], [np.nan, 1, 1], [-3e38, -3e38, 3e38],
            [-0.0, -0.0, -0.0], [0.5, -np.inf, 1]]
    arrays = [np.array(column, np.float32) for column in zip(*rows)]
    model_bytes = _model("ADD_N", [((len(rows),), "float32", None)] * 3, "float32")(None)
    model = model_for(model_bytes)
    assert same_floats(model.run(arrays)[0], run_litert(model_bytes, arrays)[0])
    assert same_floats(model.run(arrays, semantics="tflm")[0], run_micro(model_bytes, arrays, 1)[0])


def test_add_n_float_and_int32_match_litert():
    outcome = Outcome()
    for i in range(12):
        dtype = ("float32", "int32")[i % 2]
        seed, rng = case_rng("ADD_N" + dtype, i)
        shape = broadcast_shapes(rng, 1)[0]
        n = int(rng.integers(2, 6))
        arrays = [float_values(rng, shape) if dtype == "float32" else int_values(rng, shape, dtype) for _ in range(n)]
        if dtype == "float32":  # NaN does not compare in check_case
            arrays = [np.where(np.isnan(a), np.float32(2), a) for a in arrays]
        check_case(seed, _model("ADD_N", [(shape, dtype, None)] * n, dtype), arrays, outcome)
    assert outcome.compared == 12


def test_unsupported_variants_are_refused():
    cases = [("DIV", [((2,), "int16", (0.1, 0))] * 2, "int16", "int16 is not supported"),
             ("PRELU", [((2,), "int8", None)] * 2, "int8", "needs per-tensor quantisation"),
             ("PRELU", [((2,), "int16", (0.1, 0))] * 2, "int16", "needs an int8 alpha"),
             ("ADD_N", [((2,), "int8", (0.1, 0)), ((2,), "int8", (0.2, 0))], "int8", "share one scale"),
             ("ADD_N", [((2,), "float32", None), ((3,), "float32", None)], "float32", "one shape")]
    for op, in_specs, out_dtype, message in cases:
        with pytest.raises(UnsupportedOperatorError, match=message):
            model_for(_model(op, in_specs, out_dtype, (0.1, 0) if out_dtype in ("int8", "int16") else None)(None))


def _spec(op: str, in_specs, arrays, out_dtype: str, out_q=None, options=None) -> Spec:
    options_type, opts = options or (None, {})
    return Spec(f"{op} {[s[:2] for s in in_specs]}", op, [(s, d, q, None) for s, d, q in in_specs],
                [(out_dtype, out_q)], options_type, opts, arrays)


def native_specs(rng) -> list[Spec]:
    specs = []
    for op in FLOAT_OPS:
        shapes = operand_shapes(rng, op)
        arrays = [float_values(rng, s) for s in shapes]
        if op == "FLOOR_DIV":
            arrays[1] = np.where(arrays[1] == 0, np.float32(0.25), arrays[1])
        specs.append(_spec(op, [(s, "float32", None) for s in shapes], arrays,
                           "float32", options=_div_options(rng) if op == "DIV" else None))
    for op, dtype in INT_CASES:
        shapes = operand_shapes(rng, op)
        specs.append(_spec(op, [(s, dtype, None) for s in shapes],
                           [int_values(rng, shapes[0], dtype), int_values(rng, shapes[1], dtype, nonzero=True)], dtype,
                           options=_div_options(rng) if op == "DIV" else None))
    for op, dtype in QUANTISED_CASES + [("SQUARED_DIFFERENCE", "int16")]:
        shapes, qs, arrays = quantised_case(rng, op, dtype)
        specs.append(_spec(op, [(s, a.dtype.name, q) for s, a, q in zip(shapes, arrays, qs)], arrays, dtype, qs[2],
                           options=_div_options(rng) if op == "DIV" else None))
    for dtype in ("float32", "int32", "int8"):
        q = quant(rng, dtype) if dtype == "int8" else None
        arrays = [float_values(rng, (3, 50)) if dtype == "float32" else int_values(rng, (3, 50), dtype) for _ in range(3)]
        specs.append(_spec("ADD_N", [((3, 50), dtype, q)] * 3, arrays, dtype, quant(rng, dtype) if q else None))
    big = [((4, 3, 70), "float32", None), ((3, 1), "float32", None)]
    specs.append(_spec("PRELU", big, [float_values(rng, s) for s, _, _ in big], "float32"))
    return specs


def output_shapes(specs):
    return [tuple(np.broadcast_shapes(*(i[0] for i in s.inputs))) for s in specs]


def test_kernels_match_reference(cache):
    seed = 8500
    specs = native_specs(np.random.default_rng(seed))
    inputs = [a for s in specs for a in s.arrays]
    model = model_for(build_model(specs, output_shapes(specs)))
    expected = model.run(inputs)
    for cores, scheduler in CONFIGS:
        lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        for got, want, spec in zip(lib.run(inputs).outputs, expected, specs):
            where = f"seed {seed} cores={cores} {scheduler} {spec.what}"
            if want.dtype == np.float32:
                assert same_floats(got, want), where
            else:
                assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want), where


@pytest.mark.cross
@needs_cross
def test_emulated_two_core_rp2040(cache):
    rng = np.random.default_rng(8600)
    q8 = [quant(rng, "int8") for _ in range(3)]
    parts = [("DIV", [((3, 40), "float32", None), ((40,), "float32", None)], "float32", None),
             ("FLOOR_MOD", [((2, 50), "int32", None), ((2, 1), "int32", None)], "int32", None),
             ("FLOOR_DIV", [((70,), "float32", None), ((70,), "float32", None)], "float32", None),
             ("SQUARED_DIFFERENCE", [((3, 1, 30), "int8", q8[0]), ((2, 30), "int8", q8[1])], "int8", q8[2]),
             ("PRELU", [((2, 5, 20), "int8", q8[0]), ((20,), "int8", q8[1])], "int8", q8[2]),
             ("DIV", [((2, 5, 20), "int8", q8[0]), ((5, 1), "int8", q8[1])], "int8", q8[2]),
             ("ADD_N", [((90,), "float32", None)] * 3, "float32", None)]
    specs = []
    for op, ins, out, q in parts:
        arrays = [float_values(rng, s) if d == "float32" else int_values(rng, s, d, nonzero=True) for s, d, _ in ins]
        if op == "DIV" and ins[1][2] is not None:
            zero = np.int8(ins[1][2][1])
            arrays[1] = np.where(arrays[1] == zero, np.int8(zero ^ 1), arrays[1]).astype(np.int8)
        if op == "FLOOR_DIV":
            arrays[1] = np.where(arrays[1] == 0, np.float32(0.25), arrays[1])
        specs.append(_spec(op, ins, arrays, out, q))
    inputs = [a for s in specs for a in s.arrays]
    model = model_for(build_model(specs, output_shapes(specs)))
    expected = model.run(inputs)
    got = run_emulated(model, inputs, "rp2040", 2, cache_dir=cache).outputs
    for g, e, spec in zip(got, expected, specs):
        assert (same_floats(g, e) if e.dtype == np.float32 else
                g.dtype == e.dtype and g.shape == e.shape and np.array_equal(g, e)), spec.what


def test_div_small_dividends_follow_litert_x86_shifts():
    """Dividends at or next to their zero point push TFLite's last right shift past 31 bits; LiteRT
    and TFLite Micro (x86 builds) then give zp + 1, or -128 for -1 / large divisors: reproduced."""
    b = ModelBuilder()
    x, y, out = b.tensor((6,), "int8", quant=(0.1, 3)), b.tensor((6,), "int8", quant=(0.05, -2)), \
        b.tensor((6,), "int8", quant=(0.2, 5))
    b.op("DIV", [x, y], [out])
    model_bytes = b.build([x, y], [out])
    arrays = [np.array([3, 3, 4, 2, 100, -100], np.int8), np.array([10, -50, 60, 127, 7, 7], np.int8)]
    (want,) = run_litert(model_bytes, arrays)
    assert np.array_equal(want, run_micro(model_bytes, arrays, 1)[0])
    assert want[1] == 5 + 1 and want[3] == -128  # 0 / -2.6 and -0.1 / 6.55: the undefined shifts, measured
    assert np.array_equal(model_for(model_bytes).run(arrays)[0], want)


def test_add_n_float_tflm_order_natively(cache):
    """The C kernel's TFLite Micro path (from 0, no clamp) under semantics="tflm", against the
    reference under the same semantics, on values where the two orders differ."""
    rng = np.random.default_rng(8650)
    specials = np.array([3e38, -3e38, np.inf, -np.inf, -0.0, 1.0], np.float32)
    arrays = [specials[rng.integers(0, len(specials), size=(2, 70))] for _ in range(3)]
    specs = [_spec("ADD_N", [((2, 70), "float32", None)] * 3, arrays, "float32")]
    model = model_for(build_model(specs, output_shapes(specs)))
    expected = model.run(arrays, semantics="tflm")
    assert not same_floats(expected[0], model.run(arrays)[0])  # the two semantics differ here
    for cores, scheduler in CONFIGS[:3]:
        lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler,
                                         semantics="tflm"), cache)
        assert same_floats(lib.run(arrays).outputs[0], expected[0]), f"cores={cores} {scheduler}"
