"""CAST (every pair of bool, int8, uint8, int16, int32, int64, float32), ZEROS_LIKE and FILL
(arielml/ops/cast_fill.py): random single-op models bit-exact with LiteRT's reference kernels and,
under semantics="tflm", with TFLite Micro on the pairs it has; the C kernels natively on 1..3
threads under both schedulers, and one emulated two-core rp2040 run, against the reference."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.backends.emulator import run_emulated
from arielml.backends.native import build_native
from arielml.compile import compile_model
from arielml.errors import UnsupportedOperatorError
from arielml.ops.cast_fill import CAST_TYPES
from tests.emu_helpers import needs_cross
from tests.op_harness import case_rng, model_for
from tests.test_kernels_data import CONFIGS, Spec, build_model
from tests.test_ops_unary_math import run_micro, same_floats
from tests.tflite_builder import ModelBuilder, run_litert

# TFLite Micro's CAST: inputs and outputs it converts (it also has uint32, which arielml does not)
MICRO_FROM = ("bool", "int8", "int16", "int32", "float32")
MICRO_TO = ("int8", "int16", "int32", "float32")
FLOAT_SPECIALS = np.array([np.nan, np.inf, -np.inf, -0.0, 127.9, 128.0, -128.5, 255.7, 256.0, -0.9,
                           32767.5, 32768.0, 2.1474836e9, -2.1474839e9, 9.3e18, -9.3e18, 0.5], np.float32)


def values(rng, shape, dtype: str) -> np.ndarray:
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype == "float32":
        x = (rng.uniform(-1, 1, size=shape) * 10.0 ** rng.integers(0, 20, size=shape)).astype(np.float32)
        special = FLOAT_SPECIALS[rng.integers(0, len(FLOAT_SPECIALS), size=shape)]
        return np.where(rng.random(shape) < 0.3, special, x).astype(np.float32)
    info = np.iinfo(np.dtype(dtype))
    x = rng.integers(int(info.min), int(info.max) + 1, size=shape, dtype=np.int64)
    return np.where(rng.random(shape) < 0.2, 0, x).astype(dtype)


def _shape(rng) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 4))))


def cast_model(shape, in_dtype: str, out_dtype: str) -> bytes:
    b = ModelBuilder()
    x = b.tensor(shape, in_dtype)
    y = b.tensor(shape, out_dtype)
    b.op("CAST", [x], [y])
    return b.build([x], [y])


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    if want.dtype == np.float32:
        return same_floats(got, want)
    return got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)


@pytest.mark.parametrize("in_dtype", CAST_TYPES)
def test_cast_matches_litert_and_tflite_micro(in_dtype):
    for out_dtype in CAST_TYPES:
        for i in range(3):
            seed, rng = case_rng(f"CAST{in_dtype}{out_dtype}", i)
            shape = _shape(rng)
            x = values(rng, shape, in_dtype)
            model_bytes = cast_model(shape, in_dtype, out_dtype)
            model = model_for(model_bytes)
            (want,) = run_litert(model_bytes, [x])
            assert _same(model.run([x])[0], want), f"seed {seed}: {in_dtype} -> {out_dtype} differs from LiteRT"
            if in_dtype in MICRO_FROM and out_dtype in MICRO_TO:
                (micro,) = run_micro(model_bytes, [x], 1)
                assert _same(model.run([x], semantics="tflm")[0], micro), \
                    f"seed {seed}: {in_dtype} -> {out_dtype} differs from TFLite Micro"


def fill_model(dims, dtype: str, dims_dtype: str = "int32", constant_dims: bool = True, value_quant=None):
    b = ModelBuilder()
    d = b.tensor((len(dims),), dims_dtype, data=np.array(dims) if constant_dims else None)
    v = b.tensor((), dtype, quant=value_quant)
    y = b.tensor(tuple(dims), dtype, quant=value_quant)
    b.op("FILL", [d, v], [y])
    return b.build([v] if constant_dims else [d, v], [y])


def test_fill_and_zeros_like_match_litert():
    for i, dtype in enumerate(CAST_TYPES * 2):
        seed, rng = case_rng("FILL" + dtype, i)
        # (dims [] - a scalar FILL - is an empty constant buffer, which the frontend reads as missing data)
        dims = list(_shape(rng)) if i % 5 else [1]
        value = values(rng, (), dtype)
        if dtype == "float32":
            value = np.where(np.isnan(value), np.float32(1.5), value).astype(np.float32)
        quant = (0.1, 3) if dtype in ("int8", "uint8") and i % 2 else None
        model_bytes = fill_model(dims, dtype, ("int32", "int64")[i % 2], value_quant=quant)
        (want,) = run_litert(model_bytes, [value])
        assert _same(model_for(model_bytes).run([value])[0], want), f"seed {seed}: FILL {dtype}"
        shape = _shape(rng)
        b = ModelBuilder()
        x = b.tensor(shape, dtype)
        y = b.tensor(shape, dtype)
        b.op("ZEROS_LIKE", [x], [y])
        model_bytes = b.build([x], [y])
        x_value = values(rng, shape, dtype)
        if dtype in ("int32", "int64", "float32"):  # LiteRT's ZEROS_LIKE types
            (want,) = run_litert(model_bytes, [x_value])
        else:
            want = np.zeros(shape, dtype=dtype)
        assert _same(model_for(model_bytes).run([x_value])[0], want), f"seed {seed}: ZEROS_LIKE {dtype}"


def test_fill_needs_constant_dims():
    with pytest.raises(UnsupportedOperatorError, match="dims must be constant"):
        model_for(fill_model([2, 3], "float32", constant_dims=False))


def native_specs(rng) -> list[Spec]:
    specs = []
    for in_dtype in CAST_TYPES:
        for out_dtype in CAST_TYPES:
            shape = _shape(rng) if rng.random() < 0.8 else (3, 45)
            specs.append(Spec(f"CAST {in_dtype} -> {out_dtype} {shape}", "CAST", [(shape, in_dtype, None, None)],
                              [(out_dtype, None)], arrays=[values(rng, shape, in_dtype)]))
    for dtype in CAST_TYPES:
        shape = (2, 70)
        specs.append(Spec(f"ZEROS_LIKE {dtype}", "ZEROS_LIKE", [(shape, dtype, None, None)], [(dtype, None)],
                          arrays=[values(rng, shape, dtype)]))
        value = values(rng, (), dtype)
        if dtype == "float32":
            value = np.float32(-2.5)
        specs.append(Spec(f"FILL {dtype}", "FILL", [((2,), "int32", None, np.array([3, 50])), ((), dtype, None, None)],
                          [(dtype, None)], arrays=[np.asarray(value, dtype=dtype)]))
    return specs


def _output_shapes(specs):
    return [tuple(s.inputs[0][3]) if s.op == "FILL" else s.inputs[0][0] for s in specs]


def check_native(specs, seed, cache, semantics: str = "litert"):
    inputs = [a for s in specs for a in s.arrays]
    model = model_for(build_model(specs, _output_shapes(specs)))
    expected = model.run(inputs, semantics=semantics)
    for cores, scheduler in CONFIGS:
        lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler,
                                         semantics=semantics), cache)
        for got, want, spec in zip(lib.run(inputs).outputs, expected, specs):
            assert _same(got, want), f"seed {seed} cores={cores} {scheduler} {spec.what}"


def test_kernels_match_reference(cache):
    seed = 8700
    check_native(native_specs(np.random.default_rng(seed)), seed, cache)


def test_float_to_int_nan_follows_tflite_micro_under_tflm(cache):
    rng = np.random.default_rng(8750)
    specs = [Spec(f"CAST float32 -> {t}", "CAST", [((40,), "float32", None, None)], [(t, None)],
                  arrays=[values(rng, (40,), "float32")]) for t in ("int8", "int16", "int32", "int64", "uint8")]
    check_native(specs, 8750, cache, semantics="tflm")


@pytest.mark.cross
@needs_cross
def test_emulated_two_core_rp2040(cache):
    rng = np.random.default_rng(8800)
    pairs = [("float32", "int8"), ("float32", "int64"), ("int32", "float32"), ("int64", "float32"), ("int16", "uint8"),
             ("bool", "float32"), ("float32", "bool"), ("uint8", "int32")]
    specs = [Spec(f"CAST {a} -> {b}", "CAST", [((3, 30), a, None, None)], [(b, None)],
                  arrays=[values(rng, (3, 30), a)]) for a, b in pairs]
    specs.append(Spec("FILL int64", "FILL", [((2,), "int32", None, np.array([2, 40])), ((), "int64", None, None)],
                      [("int64", None)], arrays=[np.asarray(-(1 << 40) - 3, dtype=np.int64)]))
    specs.append(Spec("ZEROS_LIKE float32", "ZEROS_LIKE", [((90,), "float32", None, None)], [("float32", None)],
                      arrays=[values(rng, (90,), "float32")]))
    inputs = [a for s in specs for a in s.arrays]
    model = model_for(build_model(specs, _output_shapes(specs)))
    expected = model.run(inputs)
    got = run_emulated(model, inputs, "rp2040", 2, cache_dir=cache).outputs
    for g, e, spec in zip(got, expected, specs):
        assert _same(g, e), spec.what


def test_unsigned_16_and_32_bit_casts_match_litert_and_the_c_kernel():
    """uint16/uint32 (TFLite Micro's Signal tensors) cast among the integer types."""
    from arielml.api import Model
    from arielml.frontend.tflite import parse_tflite
    from arielml.ir.verify import verify
    from tests.tflite_builder import ModelBuilder, run_litert
    rng = np.random.default_rng(11)
    pairs = [("uint32", "int32"), ("int32", "uint32"), ("uint16", "int16"), ("int16", "uint16"), ("uint32", "int16"),
             ("int8", "uint32"), ("uint16", "uint32")]
    for source, target in pairs:
        b = ModelBuilder()
        x = b.tensor((3, 17), source)
        y = b.tensor((3, 17), target)
        b.op("CAST", [x], [y])
        model_bytes = b.build([x], [y])
        info = np.iinfo(np.dtype(source))
        data = rng.integers(int(info.min), int(info.max) + 1, (3, 17), dtype=np.int64).astype(source)
        model = Model(verify(parse_tflite(model_bytes)))
        got = model.run([data])[0]
        try:
            (want,) = run_litert(model_bytes, [data])
        except (RuntimeError, ValueError):  # LiteRT lacks the pair: C's conversion (two's complement) is the oracle
            want = data.astype(target)
        assert got.dtype == np.dtype(target) and np.array_equal(got, want), (source, target)
        assert np.array_equal(model.run([data], backend="native", cores=2)[0], want), (source, target)
