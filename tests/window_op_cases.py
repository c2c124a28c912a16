"""Shared helpers for the randomised CONV_2D / DEPTHWISE_CONV_2D / pooling tests: quantisation
parameters, random inputs, and running one built model through arielml and the two TFLites."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.api import Model
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.tflite_builder import run_litert

QMAX = {"int8": 127, "uint8": 255, "int16": 32767}
QMIN = {"int8": -128, "uint8": 0, "int16": -32768}


@dataclass
class Case:
    """One single-operator model with its inputs; `tflm` says whether TFLite Micro supports it."""

    seed: int
    model: bytes
    inputs: list[np.ndarray]
    kind: str
    what: str
    tflm: bool = True

    def __str__(self) -> str:
        return f"seed={self.seed} {self.kind}: {self.what}"


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A scale spanning orders of magnitude: 10^U(log10 lo, log10 hi)."""
    return float(10.0 ** rng.uniform(np.log10(lo), np.log10(hi)))


def zero_point(rng: np.random.Generator, dtype: str) -> int:
    if dtype == "int16":
        return 0  # TFLite's 16-bit quantisation is symmetric
    return int(rng.integers(QMIN[dtype], QMAX[dtype] + 1))


def random_activation(rng: np.random.Generator) -> int:
    """Fused activation code: NONE, RELU, RELU_N1_TO_1, RELU6."""
    return int(rng.choice([0, 1, 2, 3]))


def random_input(rng: np.random.Generator, shape, dtype: str, float_range: float = 1.0) -> np.ndarray:
    if dtype == "float32":
        return rng.uniform(-float_range, float_range, shape).astype(np.float32)
    return rng.integers(QMIN[dtype], QMAX[dtype] + 1, shape).astype(dtype)


def run_arielml(case: Case, semantics: str = "litert") -> list[np.ndarray]:
    model = Model(verify(parse_tflite(case.model)))
    return model.run(case.inputs, semantics=semantics)


def litert(case: Case) -> list[np.ndarray]:
    return run_litert(case.model, case.inputs)


def tflm(case: Case) -> list[np.ndarray]:
    """TFLite Micro's interpreter (single-output models)."""
    from tflite_micro.python.tflite_micro import runtime
    # the default arena (10x the model size) is too small for tiny weights with large activations
    interpreter = runtime.Interpreter.from_bytes(case.model, arena_size=1 << 20)
    for i, array in enumerate(case.inputs):
        interpreter.set_input(array, i)
    interpreter.invoke()
    return [interpreter.get_output(0).copy()]


def assert_float_close(ours: np.ndarray, theirs: np.ndarray, case: Case, rtol: float = 2e-6) -> None:
    """float32: both sides round each product/sum to float32 in a different order; the difference is
    bounded by a few ulps of the largest magnitude involved."""
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, case
    scale = max(float(np.max(np.abs(theirs))), 1e-30)
    err = float(np.max(np.abs(ours.astype(np.float64) - theirs.astype(np.float64))))
    assert err <= rtol * scale, f"{case}: float error {err:.3g} > {rtol} * {scale:.3g}"


def assert_exact(ours: np.ndarray, theirs: np.ndarray, case: Case, who: str = "LiteRT") -> None:
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, \
        f"{case}: {ours.dtype}{ours.shape} vs {theirs.dtype}{theirs.shape}"
    diff = ours.astype(np.int64) - theirs.astype(np.int64)
    assert not diff.any(), (f"{case}: differs from {who} on {np.count_nonzero(diff)}/{diff.size} values, "
                            f"max |diff| {np.max(np.abs(diff))}")
