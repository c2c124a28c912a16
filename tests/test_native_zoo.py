"""Every zoo model through the generated C on host threads: 1..4 cores x both schedulers give the
reference executor's bytes (quantised models) or agree within float tolerance (float models, whose C
kernels sum in another order than numpy)."""
from __future__ import annotations

import numpy as np
import pytest

import arielml
from arielml.backends.native import build_native
from arielml.compile import compile_model
from tests.conftest import ZOO

MODELS = sorted(p.relative_to(ZOO).with_suffix("").as_posix() for p in ZOO.rglob("*.tflite"))
CONFIGS = [(c, s) for c in (1, 2, 3, 4) for s in ("static", "dynamic")]


def is_float(array: np.ndarray) -> bool:
    return array.dtype == np.float32


@pytest.mark.parametrize("name", MODELS)
def test_zoo_model_native_matches_reference(name, cache):
    model = arielml.load(ZOO / f"{name}.tflite")
    inputs = [model.random_inputs(seed) for seed in (0, 1)]
    expected = [model.run(x) for x in inputs]
    for cores, scheduler in CONFIGS:
        # rv32-smp's cost model splits ops finely, so the threads really share every operator
        lib = build_native(compile_model(model.graph, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        for x, want_all in zip(inputs, expected):
            for got, want in zip(lib.run(x).outputs, want_all):
                where = f"{name} cores={cores} {scheduler}"
                assert got.dtype == want.dtype and got.shape == want.shape, where
                if is_float(want):
                    scale = max(float(np.abs(want).max()), 1e-6)
                    assert np.allclose(got, want, rtol=1e-4, atol=1e-5 * scale), (
                        f"{where}: max |diff| {float(np.abs(got - want).max())}")
                else:
                    assert np.array_equal(got, want), f"{where}: {(got != want).sum()} of {got.size} differ"
