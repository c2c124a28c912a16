"""Shared machinery of the randomised single-operator tests for the data-movement, slicing,
reduction and resize operators.

Output shapes come from LiteRT itself: a case is first built with placeholder output shapes, LiteRT
(which resizes outputs in its Prepare) tells the real ones, and the model is rebuilt with them. So
the expected shapes are never computed by the code under test."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

from arielml.api import Model
from arielml.errors import UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.tflite_builder import run_litert

BASE_SEED = 20_240_611
QUANT_TYPES = ("int8", "uint8", "int16")


def case_rng(op: str, index: int) -> tuple[int, np.random.Generator]:
    seed = BASE_SEED + 1000 * (sum(map(ord, op)) % 997) + index
    return seed, np.random.default_rng(seed)


def random_array(rng: np.random.Generator, shape, dtype: str) -> np.ndarray:
    if dtype == "float32":
        return rng.uniform(-4.0, 4.0, size=shape).astype(np.float32)
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    info = np.iinfo(np.dtype(dtype))
    lo, hi = max(int(info.min), -(1 << 20)), min(int(info.max), 1 << 20)
    return rng.integers(lo, hi + 1, size=shape, dtype=np.int64).astype(dtype)


def random_quant(rng: np.random.Generator, dtype: str):
    """Per-tensor (scale, zero_point) for a quantised dtype; None for the others."""
    if dtype not in QUANT_TYPES:
        return None
    scale = float(np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(0.5)))))
    if dtype == "int16":
        return scale, 0
    info = np.iinfo(np.dtype(dtype))
    return scale, int(rng.integers(int(info.min), int(info.max) + 1))


@dataclass
class Outcome:
    compared: int = 0
    rejected: list[str] = field(default_factory=list)  # arielml refused (and LiteRT failed or was undefined)
    tflm_agree: int = 0
    tflm_disagree: list[str] = field(default_factory=list)
    tflm_failed: list[str] = field(default_factory=list)


def check_case(seed: int, build: Callable[[list | None], bytes], inputs: list[np.ndarray], outcome: Outcome,
               float_tol: float = 0.0, tflm: bool = True, may_reject: bool = False) -> None:
    """Build (placeholder shapes first, then LiteRT's), run arielml and LiteRT's reference kernels,
    require equality; then compare with TFLite Micro and record what it says.

    When LiteRT itself rejects the case, arielml must reject it too (UnsupportedOperatorError).
    With may_reject, arielml may also refuse a case LiteRT runs (LiteRT's result is then undefined:
    uninitialised output); the refusal is recorded, never counted as a comparison."""
    where = f"seed={seed}"
    placeholder = build(None)
    try:
        expected = run_litert(placeholder, inputs)
    except (RuntimeError, ValueError) as exc:
        with pytest.raises(UnsupportedOperatorError):
            Model(verify(parse_tflite(placeholder)))
        outcome.rejected.append(f"{where}: LiteRT: {str(exc).splitlines()[0][:100]}")
        return
    model_bytes = build([tuple(e.shape) for e in expected])
    try:
        model = Model(verify(parse_tflite(model_bytes)))
    except UnsupportedOperatorError as exc:
        if not may_reject:
            raise AssertionError(f"{where}: {exc}") from None
        outcome.rejected.append(f"{where}: arielml: {exc}")
        return
    got = model.run(inputs)
    assert len(got) == len(expected), where
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and g.shape == e.shape, f"{where}: {g.dtype}{g.shape} != {e.dtype}{e.shape}"
        if float_tol and e.dtype == np.float32:
            np.testing.assert_allclose(g, e, rtol=float_tol, atol=float_tol, err_msg=where)
        else:
            assert np.array_equal(g, e), f"{where}: {np.count_nonzero(g != e)} of {e.size} values differ"
    outcome.compared += 1
    if not tflm:
        return
    try:
        micro = run_micro(model_bytes, inputs, len(expected))
    except Exception as exc:  # TFLM lacks the op/variant, or rejects it: recorded, not a pass
        outcome.tflm_failed.append(f"{where}: {type(exc).__name__}: {str(exc)[:120]}")
        return
    same = all(m.shape == e.shape and (np.allclose(m, e, rtol=1e-5, atol=1e-5) if e.dtype == np.float32
                                       else np.array_equal(m, e)) for m, e in zip(micro, expected))
    if same:
        outcome.tflm_agree += 1
    else:
        outcome.tflm_disagree.append(where)


def run_micro(model_bytes: bytes, inputs: list[np.ndarray], num_outputs: int) -> list[np.ndarray]:
    """TFLite Micro's interpreter (tests.tflite_builder.run_tflm reads one output only)."""
    from tflite_micro.python.tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(model_bytes)
    for i, array in enumerate(inputs):
        it.set_input(array, i)
    it.invoke()
    return [it.get_output(i).copy() for i in range(num_outputs)]


def model_for(model_bytes: bytes) -> Model:
    return Model(verify(parse_tflite(model_bytes)))


def several(cases) -> bytes:
    """One model running several independent single-op cases side by side (one compile per core
    configuration): each case's `build.add(builder, output_shape)` returns its input(s) and output."""
    from tests.tflite_builder import ModelBuilder
    b = ModelBuilder()
    pairs = [build.add(b, shape) for build, shape in cases]
    inputs = [t for x, _ in pairs for t in (x if isinstance(x, (tuple, list)) else (x,))]
    return b.build(inputs, [y for _, y in pairs])


def assert_kernels_match_reference(model: Model, inputs: list[np.ndarray], whats: list[str], cache,
                                   equal_nan: bool = False) -> None:
    """The C kernels natively on 1-3 threads under both schedulers, byte for byte against the
    reference executor (equal_nan: a NaN equals a NaN); `whats` names each output's case."""
    from arielml.backends.native import build_native
    from arielml.compile import compile_model
    from tests.test_kernels_data import CONFIGS
    expected = model.run(inputs)
    for cores, scheduler in CONFIGS:
        lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        for got, want, what in zip(lib.run(inputs).outputs, expected, whats):
            assert got.dtype == want.dtype and got.shape == want.shape, what
            assert np.array_equal(got, want, equal_nan=equal_nan), (
                f"{what} cores={cores} {scheduler}: {np.count_nonzero(got != want)} of {got.size} values differ")


def assert_emulated_matches_reference(model: Model, inputs: list[np.ndarray], cache_dir,
                                      equal_nan: bool = False) -> None:
    """One run on two emulated rp2040 cores, byte for byte against the reference executor."""
    from arielml.backends.emulator import run_emulated
    run = run_emulated(model, inputs, "rp2040", 2, cache_dir=cache_dir)
    for got, want in zip(run.outputs, model.run(inputs)):
        assert np.array_equal(got, want, equal_nan=equal_nan)
