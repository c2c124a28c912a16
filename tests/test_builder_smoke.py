import numpy as np

import arielml
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from arielml.api import Model
from tests.tflite_builder import ModelBuilder, run_litert


def test_single_fully_connected_matches_litert():
    rng = np.random.default_rng(1)
    b = ModelBuilder()
    x = b.tensor((2, 16), "int8", quant=(0.05, -3))
    w = b.tensor((8, 16), "int8", quant=(0.02, 0), data=rng.integers(-127, 128, (8, 16)))
    bias = b.tensor((8,), "int32", quant=(0.05 * 0.02, 0), data=rng.integers(-500, 500, 8))
    y = b.tensor((2, 8), "int8", quant=(0.07, 5))
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", fusedActivationFunction=1)
    data = b.build([x], [y])
    model = Model(verify(parse_tflite(data)))
    for seed in range(5):
        inputs = model.random_inputs(seed)
        assert np.array_equal(model.run(inputs)[0], run_litert(data, inputs)[0])
