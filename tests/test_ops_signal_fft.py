"""TFLite Micro's SignalRfft (kissfft v130's real FFT; LiteRT has no such operator): random single-op
models in int16, int32 and float32, every power-of-two length from 4 to 1024, bit-exact with TFLite
Micro's interpreter on the reference executor, then the C kernels natively (rows split across 1-3
threads, both schedulers)."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.errors import UnsupportedOperatorError
from tests.op_harness import model_for
from tests.signal_cases import Micro, custom_op, tensor
from tests.tflite_builder import ModelBuilder

TYPE_CODES = {"int16": 7, "int32": 2, "float32": 0}


def rfft_case(rng, dtype: str, fft_length: int | None = None):
    n = fft_length or int(2 ** rng.integers(2, 11))
    length, rows = int(rng.integers(1, n + 1)), int(rng.integers(1, 4))
    b = ModelBuilder()
    x, y = tensor(b, (rows, length), dtype), tensor(b, (rows, n + 2), dtype)
    custom_op(b, "SignalRfft", [x], [y], {"fft_length": n, "T": TYPE_CODES[dtype]})

    def inputs():
        if dtype == "float32":
            return [rng.uniform(-1, 1, (rows, length)).astype(np.float32)]
        info = np.iinfo(dtype)
        return [rng.integers(info.min, info.max, (rows, length), endpoint=True).astype(dtype)]
    return b.build([x], [y]), inputs


@pytest.mark.parametrize("dtype", list(TYPE_CODES))
def test_rfft_matches_tflite_micro(dtype):
    lengths = [4, 8, 16, 32, 64, 128, 256, 512, 1024]
    for seed, n in enumerate(lengths + [None] * 6):
        rng = np.random.default_rng(9000 + 100 * list(TYPE_CODES).index(dtype) + seed)
        model_bytes, inputs = rfft_case(rng, dtype, n)
        x = inputs()
        want = Micro(model_bytes).run(x, 1)[0]
        got = model_for(model_bytes).run(x)[0]
        assert got.dtype == want.dtype and np.array_equal(got, want), f"{dtype} seed {seed} n {n}"


@pytest.mark.parametrize("cores,scheduler", [(1, "static"), (2, "dynamic"), (3, "static")])
def test_rfft_kernels_match_reference(cores, scheduler, cache):
    from arielml.backends.native import build_native
    from arielml.compile import compile_model
    for k, dtype in enumerate(TYPE_CODES):
        rng = np.random.default_rng(9500 + 10 * cores + k)
        model_bytes, inputs = rfft_case(rng, dtype)
        model = model_for(model_bytes)
        x = inputs()
        lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        assert np.array_equal(lib.run(x).outputs[0], model.run(x)[0]), f"{dtype} {cores} cores"


def test_rfft_refuses_lengths_kissfft_needs_other_radices_for():
    b = ModelBuilder()
    x, y = tensor(b, (1, 10), "int16"), tensor(b, (1, 14), "int16")
    custom_op(b, "SignalRfft", [x], [y], {"fft_length": 12, "T": 7})
    with pytest.raises(UnsupportedOperatorError, match="power of two"):
        model_for(b.build([x], [y]))


def irfft_case(rng, dtype: str, fft_length: int | None = None):
    n = fft_length or int(2 ** rng.integers(2, 11))
    rows = int(rng.integers(1, 4))
    b = ModelBuilder()
    x, y = tensor(b, (rows, n + 2), dtype), tensor(b, (rows, n), dtype)
    custom_op(b, "SignalIrfft", [x], [y], {"fft_length": n, "T": TYPE_CODES[dtype]})

    def inputs():
        if dtype == "float32":
            return [rng.uniform(-1, 1, (rows, n + 2)).astype(np.float32)]
        info = np.iinfo(dtype)
        return [rng.integers(info.min, info.max, (rows, n + 2), endpoint=True).astype(dtype)]
    return b.build([x], [y]), inputs


@pytest.mark.parametrize("dtype", list(TYPE_CODES))
def test_irfft_matches_tflite_micro(dtype):
    for seed, n in enumerate([4, 8, 16, 32, 64, 128, 256, 512, 1024, None, None, None]):
        rng = np.random.default_rng(9700 + 100 * list(TYPE_CODES).index(dtype) + seed)
        model_bytes, inputs = irfft_case(rng, dtype, n)
        x = inputs()
        want = Micro(model_bytes).run(x, 1)[0]
        got = model_for(model_bytes).run(x)[0]
        assert got.dtype == want.dtype and np.array_equal(got, want), f"{dtype} seed {seed} n {n}"


@pytest.mark.parametrize("cores,scheduler", [(1, "static"), (2, "dynamic")])
def test_irfft_kernels_match_reference(cores, scheduler, cache):
    from arielml.backends.native import build_native
    from arielml.compile import compile_model
    for k, dtype in enumerate(TYPE_CODES):
        rng = np.random.default_rng(9900 + 10 * cores + k)
        model_bytes, inputs = irfft_case(rng, dtype)
        model = model_for(model_bytes)
        x = inputs()
        lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        assert np.array_equal(lib.run(x).outputs[0], model.run(x)[0]), f"{dtype} {cores} cores"


@pytest.mark.cross
@pytest.mark.parametrize("target", ["rp2040", "rp2350-arm"])
def test_rfft_irfft_emulated_two_cores(target, tmp_path):
    """RFFT -> IRFFT on two rows (one per core) in each type, on the soft-float M0+ and the M33 FPU."""
    from arielml.backends.emulator import run_emulated
    for k, dtype in enumerate(TYPE_CODES):
        rng = np.random.default_rng(9950 + k)
        b = ModelBuilder()
        x, spectrum, y = tensor(b, (2, 100), dtype), tensor(b, (2, 130), dtype), tensor(b, (2, 128), dtype)
        custom_op(b, "SignalRfft", [x], [spectrum], {"fft_length": 128, "T": TYPE_CODES[dtype]})
        custom_op(b, "SignalIrfft", [spectrum], [y], {"fft_length": 128, "T": TYPE_CODES[dtype]})
        model_bytes = b.build([x], [y, spectrum])
        model = model_for(model_bytes)
        if dtype == "float32":
            inputs = [rng.uniform(-1, 1, (2, 100)).astype(np.float32)]
        else:
            info = np.iinfo(dtype)
            inputs = [rng.integers(info.min, info.max, (2, 100), endpoint=True).astype(dtype)]
        want = Micro(model_bytes).run(inputs, 2)
        run = run_emulated(model, inputs, target, 2, cache_dir=tmp_path)
        for got, expected in zip(run.outputs, want):
            assert np.array_equal(got, expected), f"{dtype} on {target}"
