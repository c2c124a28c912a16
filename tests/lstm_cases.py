"""Random single-UNIDIRECTIONAL_SEQUENCE_LSTM models (tests/test_ops_lstm.py): Keras-style layers
in float32, int8 (int16 cell state) and int16 activations, time-major or not, with the output and
cell states as variable tensors, and the oracles stepped over several invocations."""
from __future__ import annotations

import numpy as np

from tests.tflite_builder import ModelBuilder

STEPS = 3


def lstm_model(rng, dtype: str, time_major: bool = False, cell_clip: float = 0.0, batch=None, time=None,
               size=None, cells=None, extra: dict | None = None):
    """A model with one LSTM; returns (model bytes, input shape). extra: {input position: tensor
    maker(builder, rng)} to add the variants the op refuses (peephole, projection, ...)."""
    batch = int(rng.integers(1, 4)) if batch is None else batch
    time = int(rng.integers(1, 5)) if time is None else time
    size = int(rng.integers(1, 10)) if size is None else size
    cells = int(rng.integers(1, 9)) if cells is None else cells
    shape = (time, batch, size) if time_major else (batch, time, size)
    out_shape = shape[:2] + (cells,)
    b = ModelBuilder()
    inputs = [-1] * 24
    if dtype == "float32":
        x = b.tensor(shape, "float32")
        for k in range(1, 9):
            inputs[k] = b.tensor((cells, size if k < 5 else cells), "float32",
                                 data=rng.uniform(-1, 1, (cells, size if k < 5 else cells)))
        for k in range(12, 16):
            inputs[k] = b.tensor((cells,), "float32", data=rng.uniform(-1, 1, cells))
        hidden = b.tensor((batch, cells), "float32", variable=True)
        cell = b.tensor((batch, cells), "float32", variable=True)
        y = b.tensor(out_shape, "float32")
    else:
        bias_type = "int32" if dtype == "int8" else "int64"
        x_quant = (float(rng.uniform(0.01, 0.05)), int(rng.integers(-20, 20)) if dtype == "int8" else 0)
        if dtype == "int16":
            x_quant = (float(rng.uniform(1e-4, 4e-4)), 0)
        h_quant = (float(rng.uniform(0.004, 0.01)), int(rng.integers(-10, 10)) if dtype == "int8" else 0)
        if dtype == "int16":
            h_quant = (float(rng.uniform(2e-5, 6e-5)), 0)
        x = b.tensor(shape, dtype, quant=x_quant)
        weight_scales = rng.uniform(0.004, 0.02, 9)
        for k in range(1, 9):
            cols = size if k < 5 else cells
            inputs[k] = b.tensor((cells, cols), "int8", quant=(float(weight_scales[k]), 0),
                                 data=rng.integers(-127, 128, (cells, cols)))
        for k in range(12, 16):
            bias_scale = x_quant[0] * weight_scales[k - 11]
            inputs[k] = b.tensor((cells,), bias_type, quant=(bias_scale, 0),
                                 data=rng.integers(-3000, 3000, cells) * (1 if dtype == "int8" else 50))
        hidden = b.tensor((batch, cells), dtype, quant=h_quant, variable=True)
        cell = b.tensor((batch, cells), "int16", quant=(2.0 ** int(rng.integers(-13, -9)), 0), variable=True)
        y = b.tensor(out_shape, dtype, quant=h_quant)
    inputs[0], inputs[18], inputs[19] = x, hidden, cell
    for position, make in (extra or {}).items():
        inputs[position] = make(b, rng)
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, [y], "UnidirectionalSequenceLSTMOptions",
         fusedActivationFunction=4, cellClip=cell_clip, timeMajor=time_major)
    if dtype != "float32":
        _add_intermediates(b, h_quant, dtype)
    return b.build([x], [y]), shape


def _add_intermediates(b: ModelBuilder, hidden_quant, dtype: str) -> None:
    """LiteRT's integer LSTM reads five intermediate tensors (the gates' pre-activation scales and
    the hidden state's), as the converter writes them; the first four without quantisation (LiteRT
    then assumes 2^-12, TFLite Micro's fixed choice)."""
    ids = [b.tensor((0,), "float32", name=f"intermediate{k}") for k in range(4)]
    ids.append(b.tensor((0,), dtype, quant=hidden_quant, name="effective_hidden_scale_intermediate"))
    b.operators[-1].intermediates = ids


def step_inputs(rng, dtype: str, shape, steps: int = STEPS) -> list[list[np.ndarray]]:
    if dtype == "float32":
        return [[rng.uniform(-2, 2, shape).astype(np.float32)] for _ in range(steps)]
    info = np.iinfo(dtype)
    lo, hi = (-128, 128) if dtype == "int8" else (-12000, 12000)
    return [[rng.integers(max(lo, info.min), hi, shape).astype(dtype)] for _ in range(steps)]


def litert_steps(model_bytes: bytes, steps) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    it = Interpreter(model_content=model_bytes, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    outputs = []
    for (x,) in steps:
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        outputs.append(it.get_tensor(it.get_output_details()[0]["index"]).copy())
    return outputs


def micro_steps(model_bytes: bytes, steps) -> list[np.ndarray]:
    from tflite_micro.python.tflite_micro import runtime
    micro = runtime.Interpreter.from_bytes(model_bytes)
    outputs = []
    for (x,) in steps:
        micro.set_input(x, 0)
        micro.invoke()
        outputs.append(micro.get_output(0).copy())
    return outputs


def hybrid_lstm_model(rng, time_major: bool = False, cell_clip: float = 0.0, asymmetric: bool = False, batch=None,
                      time=None, size=None, cells=None):
    """A hybrid LSTM (float32 activations, int8 weights with one scale each, float32 biases), as
    dynamic-range quantisation writes it; returns (model bytes, input shape)."""
    batch = int(rng.integers(1, 4)) if batch is None else batch
    time = int(rng.integers(1, 5)) if time is None else time
    size = int(rng.integers(1, 10)) if size is None else size
    cells = int(rng.integers(1, 9)) if cells is None else cells
    shape = (time, batch, size) if time_major else (batch, time, size)
    b = ModelBuilder()
    inputs = [-1] * 24
    x = b.tensor(shape, "float32")
    for k in range(1, 9):
        cols = size if k < 5 else cells
        inputs[k] = b.tensor((cells, cols), "int8", quant=(float(rng.uniform(0.004, 0.02)), 0),
                             data=rng.integers(-127, 128, (cells, cols)))
    for k in range(12, 16):
        inputs[k] = b.tensor((cells,), "float32", data=rng.uniform(-1, 1, cells))
    hidden = b.tensor((batch, cells), "float32", variable=True)
    cell = b.tensor((batch, cells), "float32", variable=True)
    y = b.tensor(shape[:2] + (cells,), "float32")
    inputs[0], inputs[18], inputs[19] = x, hidden, cell
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, [y], "UnidirectionalSequenceLSTMOptions",
         fusedActivationFunction=4, cellClip=cell_clip, timeMajor=time_major, asymmetricQuantizeInputs=asymmetric)
    return b.build([x], [y]), shape
