"""ABS, NEG, SQUARE, SQRT, RSQRT, EXP, LOG, SIN, COS, CEIL, FLOOR, ROUND, ELU (ops/unary_math.py):
random single-op models bit-exact with LiteRT's reference kernels (CEIL and ROUND, which LiteRT's
reference resolver lacks, against TFLite Micro); the C kernels natively on 1..3 threads under both
schedulers, and one emulated two-core rp2040 run, against the reference executor."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.backends.emulator import run_emulated
from arielml.backends.native import build_native
from arielml.compile import compile_model
from arielml.errors import UnsupportedOperatorError
from arielml.ops.unary_math import FLOAT_OPS, LIBM
from tests.emu_helpers import needs_cross
from tests.op_harness import Outcome, case_rng, check_case, model_for
from tests.test_kernels_data import CONFIGS, Spec, build_model
from tests.tflite_builder import ModelBuilder, run_litert

NOT_IN_LITERT_REFERENCE = ("CEIL", "ROUND", "ELU")  # BUILTIN_REF has no kernel for these
SPECIALS = np.array([0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, np.inf, -np.inf, np.nan, 1e-30, 3e38], np.float32)


def _shape(rng) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, 7, size=int(rng.integers(1, 5))))


def float_input(rng, shape) -> np.ndarray:
    """Wide magnitudes, exact halves (ROUND's ties) and the IEEE specials."""
    x = (rng.uniform(-6, 6, size=shape) * 10.0 ** rng.integers(-2, 3, size=shape)).astype(np.float32)
    halves = (rng.integers(-20, 20, size=shape) + np.float32(0.5)).astype(np.float32)
    x = np.where(rng.random(shape) < 0.2, halves, x)
    specials = SPECIALS[rng.integers(0, len(SPECIALS), size=shape)]
    return np.where(rng.random(shape) < 0.15, specials, x).astype(np.float32)


def int_input(rng, shape, dtype: str, low: int | None = None) -> np.ndarray:
    info = np.iinfo(np.dtype(dtype))
    lo = int(info.min) if low is None else low
    x = rng.integers(lo, int(info.max) + 1, size=shape, dtype=np.int64)
    extremes = np.array([lo, int(info.max), 0, -1] if low is None else [lo, int(info.max), lo, min(lo + 1, int(info.max))])[rng.integers(0, 4, size=shape)]
    return np.where(rng.random(shape) < 0.1, extremes, x).astype(dtype)


def _single_op(op: str, shape, dtype: str, in_q=None, out_q=None):
    def build(shapes):
        b = ModelBuilder()
        x = b.tensor(shape, dtype, quant=in_q)
        y = b.tensor(shapes[0] if shapes else (1,), dtype, quant=out_q)
        b.op(op, [x], [y])
        return b.build([x], [y])
    return build


def run_micro(model_bytes: bytes, inputs: list[np.ndarray], num_outputs: int) -> list[np.ndarray]:
    """TFLite Micro with an arena large enough for small models (its default is 10x the file size)."""
    from tflite_micro.python.tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(model_bytes, arena_size=64 * 1024)
    for i, array in enumerate(inputs):
        it.set_input(array, i)
    it.invoke()
    return [it.get_output(i).copy() for i in range(num_outputs)]


def _report(outcome: Outcome, name: str, minimum: int) -> None:
    print(f"{name}: compared {outcome.compared}, rejected {len(outcome.rejected)}, TFLM agrees "
          f"{outcome.tflm_agree}, disagrees {outcome.tflm_disagree[:3]}, fails {len(outcome.tflm_failed)}")
    assert outcome.compared >= minimum


def same_floats(got: np.ndarray, want: np.ndarray) -> bool:
    """Bit for bit (so +0.0 and -0.0 differ), except that any NaN matches any NaN."""
    nan = np.isnan(want)
    return (got.shape == want.shape and got.dtype == want.dtype and np.array_equal(np.isnan(got), nan)
            and np.array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32)))


@pytest.mark.parametrize("op", FLOAT_OPS)
def test_float_ops_match_litert(op):
    """Against LiteRT's reference kernels (TFLite Micro for CEIL and ROUND, which BUILTIN_REF lacks;
    TFLite Micro must agree on the exact operations as well)."""
    tflm_agree = 0
    for i in range(6):
        seed, rng = case_rng(op, i)
        shape = _shape(rng)
        x = float_input(rng, shape)
        model_bytes = _single_op(op, shape, "float32")([shape])
        (got,) = model_for(model_bytes).run([x])
        (micro,) = run_micro(model_bytes, [x], 1)
        if op not in NOT_IN_LITERT_REFERENCE:
            (want,) = run_litert(model_bytes, [x])
            assert same_floats(got, want), f"seed {seed}: {op} differs from LiteRT"
        if op in NOT_IN_LITERT_REFERENCE or op not in LIBM:
            assert same_floats(got, micro), f"seed {seed}: {op} differs from TFLite Micro"
        tflm_agree += same_floats(got, micro)
    print(f"{op}: TFLite Micro bit-exact on {tflm_agree} of 6")


def _random_quant(rng, dtype: str):
    scale = float(np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(0.5)))))
    if dtype == "int16":
        return scale, 0
    return scale, int(rng.integers(-128, 128))


def test_quantised_abs_rsqrt_exp_log_match_litert():
    outcome = Outcome()
    for i in range(36):
        op = ("ABS", "RSQRT", "ABS", "EXP", "LOG", "RSQRT")[i % 6]
        dtype = "int16" if (op == "ABS" and i % 4) or (op == "EXP" and i % 12 == 3) else "int8"
        seed, rng = case_rng(op + dtype, i)
        shape = _shape(rng)
        in_q = _random_quant(rng, dtype)
        # equal scales now and then: ABS then skips the rescale
        out_q = (in_q[0], _random_quant(rng, dtype)[1]) if op == "ABS" and i % 6 == 0 else _random_quant(rng, dtype)
        if dtype == "int16":
            out_q = (out_q[0], 0)
        low = in_q[1] if op == "RSQRT" else None  # RSQRT is defined for x >= zero point only
        check_case(seed, _single_op(op, shape, dtype, in_q, out_q), [int_input(rng, shape, dtype, low)], outcome,
                   may_reject=op == "RSQRT")
    _report(outcome, "quantised ABS/RSQRT/EXP/LOG", 30)
    assert not outcome.tflm_disagree


def test_int8_elu_matches_tflite_micro():
    """LiteRT's reference resolver has no ELU: TFLite Micro's lookup table is the oracle."""
    for i in range(12):
        seed, rng = case_rng("ELU", i)
        shape = _shape(rng)
        in_q, out_q = _random_quant(rng, "int8"), _random_quant(rng, "int8")
        x = int_input(rng, shape, "int8")
        model_bytes = _single_op("ELU", shape, "int8", in_q, out_q)([shape])
        (want,) = run_micro(model_bytes, [x], 1)
        (got,) = model_for(model_bytes).run([x])
        assert np.array_equal(got, want), f"seed {seed}: {np.count_nonzero(got != want)} of {got.size} differ"


def test_stored_value_abs_and_neg_match_litert():
    outcome = Outcome()
    cases = [("ABS", "int16", False), ("ABS", "int32", False), ("NEG", "int8", True), ("NEG", "int8", False),
             ("NEG", "int16", False), ("NEG", "int32", False), ("NEG", "int64", False), ("NEG", "int16", True)]
    for i, (op, dtype, quantised) in enumerate(cases * 2):
        seed, rng = case_rng(op + dtype, i)
        shape = _shape(rng)
        q = _random_quant(rng, dtype) if quantised else None
        check_case(seed, _single_op(op, shape, dtype, q, q), [int_input(rng, shape, dtype)], outcome)
    _report(outcome, "ABS/NEG on stored values", len(cases) * 2)


def test_unsupported_variants_are_refused():
    for op, dtype, q in [("SQRT", "int8", (0.1, 0)), ("ABS", "int64", None), ("LOG", "int16", (0.1, 0)),
                         ("RSQRT", "int16", (0.1, 0))]:
        with pytest.raises(UnsupportedOperatorError, match=f"{op}.*{dtype} is not supported"):
            model_for(_single_op(op, (2, 3), dtype, q, q)([(2, 3)]))


def unary_spec(rng, op: str, dtype: str, shape=None, quantised: bool = False) -> Spec:
    shape = shape or _shape(rng)
    in_q = out_q = None
    if quantised:
        in_q, out_q = _random_quant(rng, dtype), _random_quant(rng, dtype)
    if dtype == "float32":
        x = float_input(rng, shape)
        if op in ("SQRT", "RSQRT", "LOG"):
            x = np.abs(x)  # NaN's sign bit differs between C libraries; positive arguments keep it out
    else:
        x = int_input(rng, shape, dtype, in_q[1] if op == "RSQRT" else None)
    return Spec(f"{op} {dtype} {shape} {in_q}->{out_q}", op, [(shape, dtype, in_q, None)], [(dtype, out_q)],
                arrays=[x])


def check_native(specs: list[Spec], seed: int, cache) -> None:
    """Compile the specs' model (output shape = input shape) for 1..3 host threads under both
    schedulers; every output must be the reference executor's, bit for bit (any NaN for a NaN)."""
    inputs = [a for s in specs for a in s.arrays]
    model = model_for(build_model(specs, [s.inputs[0][0] for s in specs]))
    expected = model.run(inputs)
    for cores, scheduler in CONFIGS:
        lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        for got, want, spec in zip(lib.run(inputs).outputs, expected, specs):
            where = f"seed {seed} cores={cores} {scheduler} {spec.what}"
            if want.dtype == np.float32:
                assert same_floats(got, want), where
            else:
                assert got.shape == want.shape and got.dtype == want.dtype and np.array_equal(got, want), where


def test_kernels_match_reference(cache):
    seed = 8100
    rng = np.random.default_rng(seed)
    specs = [unary_spec(rng, op, "float32") for op in FLOAT_OPS]
    specs += [unary_spec(rng, op, "float32", (3, 50)) for op in ("ROUND", "SQUARE", "SIN")]  # several items
    specs += [unary_spec(rng, "ABS", "int8", quantised=True), unary_spec(rng, "RSQRT", "int8", quantised=True),
              unary_spec(rng, "ELU", "int8", (3, 40), quantised=True), unary_spec(rng, "EXP", "int8", quantised=True),
              unary_spec(rng, "LOG", "int8", quantised=True), unary_spec(rng, "EXP", "int16", (5, 30), quantised=True),
              unary_spec(rng, "ABS", "int16", (7, 40), quantised=True), unary_spec(rng, "ABS", "int16"),
              unary_spec(rng, "ABS", "int32"), unary_spec(rng, "NEG", "int8"),
              unary_spec(rng, "NEG", "int16", (5, 30)), unary_spec(rng, "NEG", "int32"),
              unary_spec(rng, "NEG", "int64")]
    check_native(specs, seed, cache)


@pytest.mark.cross
@needs_cross
def test_emulated_two_core_rp2040(cache):
    """Float and integer unary math on two emulated Cortex-M0+ cores (picolibc): exact except for
    the C library's expf/logf/sinf/cosf, which may round differently from the host's."""
    rng = np.random.default_rng(8200)
    specs = [unary_spec(rng, op, "float32", (4, 40)) for op in ("ABS", "SQRT", "RSQRT", "ROUND", "FLOOR", "SIN", "ELU")]
    specs += [unary_spec(rng, "ABS", "int8", (3, 70), quantised=True),
              unary_spec(rng, "ABS", "int16", (90,), quantised=True), unary_spec(rng, "NEG", "int32", (80,)),
              unary_spec(rng, "ELU", "int8", (70,), quantised=True)]
    inputs = [a for s in specs for a in s.arrays]
    model = model_for(build_model(specs, [s.inputs[0][0] for s in specs]))
    expected = model.run(inputs)
    got = run_emulated(model, inputs, "rp2040", 2, cache_dir=cache).outputs
    for g, e, spec in zip(got, expected, specs):
        assert g.dtype == e.dtype and g.shape == e.shape, spec.what
        if spec.op in LIBM:
            np.testing.assert_allclose(g, e, rtol=2e-6, atol=1e-7, err_msg=spec.what)
        else:
            assert np.array_equal(g, e, equal_nan=e.dtype == np.float32), spec.what
