"""Shared machinery of the randomised tests of the elementwise, quantisation and activation
operators (tests/test_ops_elementwise.py, test_ops_quantize.py, test_ops_activation.py).

Each case is one single-operator model with a seed of its own (BASE_SEED + a per-operator offset +
the case index); every assertion message names the seed. arielml (semantics "litert") must equal
LiteRT's reference kernels bit for bit. Where TFLite Micro runs the case, arielml with semantics
"tflm" must equal TFLite Micro bit for bit too, and the tally records how often TFLite Micro and
LiteRT disagree (and on which cases)."""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest

from arielml.api import Model
from arielml.errors import UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.tflite_builder import run_litert

BASE_SEED = 73_400_000


def case_rng(op: str, index: int) -> tuple[int, np.random.Generator]:
    seed = BASE_SEED + 1000 * (zlib.crc32(op.encode()) % 1000) + index
    return seed, np.random.default_rng(seed)


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A float32-representable value spread over orders of magnitude (scales are float32 in files)."""
    return float(np.float32(np.exp(rng.uniform(np.log(lo), np.log(hi)))))


def random_zero_point(rng: np.random.Generator, dtype: str) -> int:
    if dtype in ("int16", "int32"):
        return 0
    info = np.iinfo(np.dtype(dtype))
    return int(rng.integers(int(info.min), int(info.max) + 1))


def random_values(rng: np.random.Generator, shape, dtype: str, float_range: float = 8.0) -> np.ndarray:
    """Integers over the whole range of the type (int32/int64: a wide but not overflowing range);
    floats uniform in [-float_range, float_range)."""
    if dtype == "float32":
        return rng.uniform(-float_range, float_range, size=shape).astype(np.float32)
    info = np.iinfo(np.dtype(dtype))
    lo, hi = max(int(info.min), -(1 << 40)), min(int(info.max), 1 << 40)
    return rng.integers(lo, hi + 1, size=shape, dtype=np.int64).astype(dtype)


@dataclass
class Tally:
    """What one randomised test saw; printed at the end (run pytest with -s to read it)."""

    name: str
    compared: int = 0
    tflm_compared: int = 0
    tflm_differs_from_litert: list[str] = field(default_factory=list)
    tflm_unsupported: list[str] = field(default_factory=list)

    def report(self) -> str:
        return (f"{self.name}: {self.compared} cases identical to LiteRT; TFLite Micro ran "
                f"{self.tflm_compared} (identical to arielml --semantics tflm), of which "
                f"{len(self.tflm_differs_from_litert)} differ from LiteRT {self.tflm_differs_from_litert[:4]}; "
                f"TFLite Micro refused {len(self.tflm_unsupported)} {self.tflm_unsupported[:3]}")


def load(model_bytes: bytes) -> Model:
    return Model(verify(parse_tflite(model_bytes)))


def _same(got: np.ndarray, expected: np.ndarray) -> bool:
    if got.dtype != expected.dtype or got.shape != expected.shape:
        return False
    if got.dtype == np.float32:  # identical, NaN where NaN
        return bool(np.array_equal(got, expected, equal_nan=True))
    return bool(np.array_equal(got, expected))


def _describe(got: np.ndarray, expected: np.ndarray) -> str:
    if got.dtype != expected.dtype or got.shape != expected.shape:
        return f"got {got.dtype}{got.shape}, expected {expected.dtype}{expected.shape}"
    wrong = np.argwhere(got != expected)
    first = tuple(int(i) for i in wrong[0]) if len(wrong) else ()
    return (f"{len(wrong)} of {expected.size} values differ; first at {first}: "
            f"got {got[first] if first else got}, expected {expected[first] if first else expected}")


def compare(seed: int, model_bytes: bytes, inputs: list[np.ndarray], tally: Tally, tflm: bool = True) -> None:
    """arielml == LiteRT reference kernels; where TFLite Micro runs: arielml(tflm) == TFLite Micro."""
    model = load(model_bytes)
    expected = run_litert(model_bytes, inputs)[0]
    got = model.run(inputs)[0]
    assert _same(got, expected), f"seed={seed}: arielml != LiteRT: {_describe(got, expected)}"
    tally.compared += 1
    if not tflm:
        return
    try:
        micro = run_micro(model_bytes, inputs)
    except Exception as exc:  # TFLite Micro lacks this operator variant: recorded, not a comparison
        tally.tflm_unsupported.append(f"seed={seed}: {str(exc).splitlines()[0][:80]}")
        return
    ours = model.run(inputs, semantics="tflm")[0]
    assert _same(ours, micro), f"seed={seed}: arielml --semantics tflm != TFLite Micro: {_describe(ours, micro)}"
    tally.tflm_compared += 1
    if not _same(micro, expected):
        tally.tflm_differs_from_litert.append(f"seed={seed}")


def run_micro(model_bytes: bytes, inputs: list[np.ndarray]) -> np.ndarray:
    """TFLite Micro's interpreter, first output (tests.tflite_builder.run_tflm probes for a second)."""
    from tflite_micro.python.tflite_micro import runtime
    interpreter = runtime.Interpreter.from_bytes(model_bytes)
    for i, array in enumerate(inputs):
        interpreter.set_input(array, i)
    interpreter.invoke()
    return interpreter.get_output(0).copy()


def assert_both_reject(model_bytes: bytes, inputs: list[np.ndarray], why: str) -> None:
    """A case LiteRT refuses (a clean error in its Prepare, never an abort) that arielml refuses too."""
    with pytest.raises(UnsupportedOperatorError):
        load(model_bytes)
    with pytest.raises((RuntimeError, ValueError)):
        run_litert(model_bytes, inputs)
