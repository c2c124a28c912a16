"""SOFTMAX, LOG_SOFTMAX, LOGISTIC, TANH, HARD_SWISH: randomised single-operator models against
LiteRT's reference kernels (bit for bit; float32 within a tight tolerance), and against TFLite
Micro with semantics "tflm". Every case is built from BASE_SEED + its index; a failure names it."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.api import Model
from arielml.errors import UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.tflite_builder import ModelBuilder, run_litert

BASE_SEED = 20240611
CASES = 25  # per operator and type combination
# float32: a few ulps relative, and ~4 ulps of 1.0 absolute for results that are small differences
# of O(1) intermediates (LOG_SOFTMAX of the row maximum is -log(sum) with a sum near 1)
FLOAT_RTOL, FLOAT_ATOL = 2e-6, 5e-7


def run_tflm(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """TFLite Micro on a single-output model (the shared helper asks for output details without the
    index this tflite-micro version requires)."""
    from tflite_micro.python.tflite_micro import runtime
    arena = 2 * sum(a.nbytes for a in inputs) * 4 + (64 << 10)  # room for input and output
    interpreter = runtime.Interpreter.from_bytes(model, arena_size=arena)
    for i, array in enumerate(inputs):
        interpreter.set_input(array, i)
    interpreter.invoke()
    return [interpreter.get_output(0).copy()]


def _log_uniform(rng, lo: float, hi: float) -> float:
    return float(np.float32(np.exp(rng.uniform(np.log(lo), np.log(hi)))))


def _zero_point(rng, dtype: str) -> int:
    info = np.iinfo(dtype)
    return int(rng.integers(info.min, info.max + 1))


def _shape(rng, max_rank: int = 4, max_dim: int = 12) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, max_dim + 1, size=int(rng.integers(1, max_rank + 1))))


def _inputs(rng, shape, dtype: str, n: int = 3) -> list[np.ndarray]:
    """Random codes: full range, and narrow bands (rows of similar values exercise softmax sums)."""
    arrays = []
    for k in range(n):
        if dtype == "float32":
            arrays.append((rng.standard_normal(shape) * rng.choice([0.5, 3.0, 12.0])).astype(np.float32))
            continue
        info = np.iinfo(dtype)
        if k == 0:
            lo, hi = info.min, info.max
        else:
            width = int(rng.integers(1, (info.max - info.min) // 4))
            lo = int(rng.integers(info.min, info.max - width))
            hi = lo + width
        arrays.append(rng.integers(lo, hi + 1, size=shape).astype(dtype))
    return arrays


def _model(op: str, shape, in_dtype: str, in_q, out_dtype: str, out_q, options_type=None, **options) -> bytes:
    b = ModelBuilder()
    x = b.tensor(shape, in_dtype, quant=in_q)
    y = b.tensor(shape, out_dtype, quant=out_q)
    b.op(op, [x], [y], options_type, **options)
    return b.build([x], [y])


# --- case generators: rng -> (model bytes, input dtype, shape) --------------------------------

def softmax_case(in_dtype: str, out_dtype: str):
    def make(rng):
        shape = _shape(rng)
        beta = float(np.float32(rng.choice([1.0, _log_uniform(rng, 0.05, 4.0)])))
        if in_dtype == "float32":
            return _model("SOFTMAX", shape, "float32", None, "float32", None, "SoftmaxOptions", beta=beta), shape
        if in_dtype == "int16":
            in_q = (_log_uniform(rng, 2 ** -14, 2 ** -8), 0)
        else:
            in_q = (_log_uniform(rng, 0.002, 0.5), _zero_point(rng, in_dtype))
        out_q = {"int8": (1 / 256, -128), "uint8": (1 / 256, 0)}.get(out_dtype, (1 / 32768, 0))
        if out_dtype == "int16" and in_dtype != "int16":
            out_q = (1 / 65536, -32768)
        return _model("SOFTMAX", shape, in_dtype, in_q, out_dtype, out_q, "SoftmaxOptions", beta=beta), shape
    return make


def log_softmax_case(dtype: str):
    def make(rng):
        shape = _shape(rng)
        if dtype == "float32":
            return _model("LOG_SOFTMAX", shape, "float32", None, "float32", None), shape
        in_q = (_log_uniform(rng, 0.002, 0.5), _zero_point(rng, dtype))
        out_q = (16 / 256, int(np.iinfo(dtype).max))
        return _model("LOG_SOFTMAX", shape, dtype, in_q, dtype, out_q), shape
    return make


def sigmoid_like_case(op: str, dtype: str, standard_output: bool = False):
    """LOGISTIC / TANH. LiteRT's 8-bit table path accepts any TANH output quantisation (and any
    LOGISTIC zero point); standard_output keeps the ones TFLite Micro's kernels assume."""
    def make(rng):
        shape = _shape(rng)
        if dtype == "float32":
            return _model(op, shape, "float32", None, "float32", None), shape
        if dtype == "int16":
            if rng.random() < 0.5:
                in_q = (2.0 ** -12 if op == "LOGISTIC" else float(rng.choice([2.0 ** -12, 2.0 ** -11])), 0)
            else:
                in_q = (_log_uniform(rng, 1e-4, 2e-3), 0)
            return _model(op, shape, "int16", in_q, "int16", (1 / 32768, 0)), shape
        in_q = (_log_uniform(rng, 0.002, 0.25), _zero_point(rng, dtype))
        low = int(np.iinfo(dtype).min)
        if op == "LOGISTIC":
            out_q = (1 / 256, low if standard_output or rng.random() < 0.7 else _zero_point(rng, dtype))
        elif standard_output or rng.random() < 0.5:
            out_q = (1 / 128, low + 128)
        else:
            out_q = (_log_uniform(rng, 0.003, 0.02), _zero_point(rng, dtype))
        return _model(op, shape, dtype, in_q, dtype, out_q), shape
    return make


def hard_swish_case(dtype: str):
    def make(rng):
        shape = _shape(rng)
        if dtype == "float32":
            return _model("HARD_SWISH", shape, "float32", None, "float32", None), shape
        in_q = (_log_uniform(rng, 0.003, 0.3), _zero_point(rng, dtype))
        out_q = (_log_uniform(rng, 0.003, 0.3), _zero_point(rng, dtype))
        return _model("HARD_SWISH", shape, dtype, in_q, dtype, out_q), shape
    return make


LITERT_SUITES = {
    "SOFTMAX float32": (softmax_case("float32", "float32"), "float32"),
    "SOFTMAX int8->int8": (softmax_case("int8", "int8"), "int8"),
    "SOFTMAX uint8->uint8": (softmax_case("uint8", "uint8"), "uint8"),
    "SOFTMAX int8->int16": (softmax_case("int8", "int16"), "int8"),
    "SOFTMAX uint8->int16": (softmax_case("uint8", "int16"), "uint8"),
    "SOFTMAX int16->int16": (softmax_case("int16", "int16"), "int16"),
    "LOG_SOFTMAX float32": (log_softmax_case("float32"), "float32"),
    "LOG_SOFTMAX int8": (log_softmax_case("int8"), "int8"),
    "LOG_SOFTMAX uint8": (log_softmax_case("uint8"), "uint8"),
    **{f"{op} {dtype}": (sigmoid_like_case(op, dtype), dtype)
       for op in ("LOGISTIC", "TANH") for dtype in ("float32", "int8", "uint8", "int16")},
    **{f"HARD_SWISH {dtype}": (hard_swish_case(dtype), dtype) for dtype in ("float32", "int8", "uint8")},
}

# what TFLite Micro supports (no uint8), with the output quantisation its kernels assume
TFLM_SUITES = {
    "SOFTMAX float32": (softmax_case("float32", "float32"), "float32"),
    "SOFTMAX int8->int8": (softmax_case("int8", "int8"), "int8"),
    "SOFTMAX int8->int16": (softmax_case("int8", "int16"), "int8"),
    "SOFTMAX int16->int16": (softmax_case("int16", "int16"), "int16"),
    "LOG_SOFTMAX float32": (log_softmax_case("float32"), "float32"),
    "LOG_SOFTMAX int8": (log_softmax_case("int8"), "int8"),
    **{f"{op} {dtype}": (sigmoid_like_case(op, dtype, standard_output=True), dtype)
       for op in ("LOGISTIC", "TANH") for dtype in ("float32", "int8", "int16")},
    **{f"HARD_SWISH {dtype}": (hard_swish_case(dtype), dtype) for dtype in ("float32", "int8")},
}


def _same(ours: np.ndarray, theirs: np.ndarray) -> bool:
    if ours.dtype != theirs.dtype or ours.shape != theirs.shape:
        return False
    if ours.dtype == np.float32:
        return bool(np.allclose(ours, theirs, rtol=FLOAT_RTOL, atol=FLOAT_ATOL))
    return bool(np.array_equal(ours, theirs))


def _describe(ours: np.ndarray, theirs: np.ndarray) -> str:
    if ours.shape != theirs.shape or ours.dtype != theirs.dtype:
        return f"got {ours.dtype}{ours.shape}, expected {theirs.dtype}{theirs.shape}"
    diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
    return f"{np.count_nonzero(diff)} of {diff.size} differ, max |diff| {diff.max()}"


def _run_suite(name: str, suites: dict, oracle, semantics: str, salt: int) -> None:
    make, in_dtype = suites[name]
    failures = []
    for index in range(CASES):
        seed = BASE_SEED + salt + index
        rng = np.random.default_rng(seed)
        data, shape = make(rng)
        model = Model(verify(parse_tflite(data)))
        for inputs in _inputs(rng, shape, in_dtype):
            ours = model.run([inputs], semantics=semantics)[0]
            theirs = oracle(data, [inputs])[0]
            if not _same(ours, theirs):
                failures.append(f"{name} seed={seed}: {_describe(ours, theirs)}")
                break
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", sorted(LITERT_SUITES))
def test_matches_litert_reference(name):
    _run_suite(name, LITERT_SUITES, run_litert, "litert", salt=0)


@pytest.mark.parametrize("name", sorted(TFLM_SUITES))
def test_matches_tflite_micro_with_tflm_semantics(name):
    _run_suite(name, TFLM_SUITES, run_tflm, "tflm", salt=100_000)


@pytest.mark.parametrize("op, scale, zero_point, out_q", [
    ("LOGISTIC", 0.027042416855692863, -36, (1 / 256, -128)),
    ("TANH", 0.01799054630100727, 116, (1 / 128, 0)),
])
def test_int8_logistic_and_tanh_differ_between_litert_and_tflm(op, scale, zero_point, out_q):
    """Why semantics matter: LiteRT's int8 LOGISTIC/TANH is a table built with libm in float32,
    TFLite Micro's is gemmlowp fixed point. They round a value near .5 differently for about one
    input scale in 1000-3000 (found by a sweep of random scales); these are such scales."""
    data = _model(op, (256,), "int8", (scale, zero_point), "int8", out_q)
    codes = np.arange(-128, 128, dtype=np.int8)
    model = Model(verify(parse_tflite(data)))
    litert, tflm = run_litert(data, [codes])[0], run_tflm(data, [codes])[0]
    assert np.count_nonzero(litert != tflm) == 1
    assert np.array_equal(model.run([codes])[0], litert)
    assert np.array_equal(model.run([codes], semantics="tflm")[0], tflm)


@pytest.mark.parametrize("op, in_dtype, out_dtype, in_q, out_q, why", [
    ("SOFTMAX", "int8", "int8", (0.1, 0), (0.1, 0), "scale 0.00390625 and zero point -128"),
    ("SOFTMAX", "int8", "uint8", (0.1, 0), (1 / 256, 0), "int8 input with uint8 output"),
    ("LOG_SOFTMAX", "int8", "int8", (0.1, 0), (1 / 256, -128), "scale 16/256"),
    ("LOGISTIC", "int8", "int8", (0.1, 0), (1 / 128, -128), "1/256"),
    ("TANH", "int16", "int16", (2 ** -12, 0), (2 ** -14, 0), r"2\^-15"),
    ("HARD_SWISH", "int16", "int16", (0.1, 0), (0.1, 0), "int16 is not supported"),
])
def test_unsupported_variants_raise_a_clear_error(op, in_dtype, out_dtype, in_q, out_q, why):
    options = ("SoftmaxOptions", {"beta": 1.0}) if op == "SOFTMAX" else (None, {})
    data = _model(op, (1, 8), in_dtype, in_q, out_dtype, out_q, options[0], **options[1])
    with pytest.raises(UnsupportedOperatorError, match=why):
        verify(parse_tflite(data))
