"""Load-time constant folding (arielml/ir/fold.py): the shape arithmetic converters emit for dynamic
reshapes (SHAPE -> STRIDED_SLICE -> CONCATENATION -> RESHAPE) folds away, the model runs on every
backend as LiteRT runs it, and float or quantised arithmetic on constants is left to the kernels."""
from __future__ import annotations

import numpy as np

from arielml.api import Model
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.tflite_builder import ModelBuilder, run_litert


def dynamic_reshape_model() -> bytes:
    """y = reshape(x, [batch_of(x), -1]) with the batch taken from SHAPE(x) at run time."""
    b = ModelBuilder()
    x = b.tensor((2, 3, 4, 5), "float32")
    shape = b.tensor((4,), "int32")
    begin = b.tensor((1,), "int32", data=np.array([0]))
    end = b.tensor((1,), "int32", data=np.array([1]))
    stride = b.tensor((1,), "int32", data=np.array([1]))
    batch = b.tensor((1,), "int32")
    rest = b.tensor((1,), "int32", data=np.array([-1]))
    new_shape = b.tensor((2,), "int32")
    y = b.tensor((2, 60), "float32")
    z = b.tensor((2, 60), "float32")
    b.op("SHAPE", [x], [shape], "ShapeOptions", outType=2)
    b.op("STRIDED_SLICE", [shape, begin, end, stride], [batch], "StridedSliceOptions")
    b.op("CONCATENATION", [batch, rest], [new_shape], "ConcatenationOptions", axis=0)
    b.op("RESHAPE", [x, new_shape], [y])
    b.op("RELU", [y], [z])
    return b.build([x], [z])


def test_shape_arithmetic_folds_and_the_model_runs_as_litert_runs_it():
    model_bytes = dynamic_reshape_model()
    graph = verify(parse_tflite(model_bytes))
    assert [n.op for n in graph.nodes] == ["RESHAPE", "RELU"]
    assert any("folded" in note for note in graph.notes)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    (expected,) = run_litert(model_bytes, [x])
    model = Model(graph)
    for outputs in (model.run([x]), model.run([x], backend="native", cores=2)):
        assert np.array_equal(outputs[0], expected)


def test_arithmetic_on_constants_is_not_folded():
    b = ModelBuilder()
    x = b.tensor((4,), "float32")
    c1 = b.tensor((4,), "float32", data=np.arange(4))
    c2 = b.tensor((4,), "float32", data=np.ones(4))
    s = b.tensor((4,), "float32")
    y = b.tensor((4,), "float32")
    b.op("ADD", [c1, c2], [s], "AddOptions")
    b.op("MUL", [x, s], [y], "MulOptions")
    graph = verify(parse_tflite(b.build([x], [y])))
    assert [n.op for n in graph.nodes] == ["ADD", "MUL"]


def test_outputs_the_file_leaves_shapeless_take_their_operators_shape():
    """TFLite resizes outputs written with shape () in Prepare; arielml infers them at load time."""
    b = ModelBuilder()
    x = b.tensor((2, 3), "float32")
    y = b.tensor((), "float32")  # blank in the file
    z = b.tensor((), "float32")
    b.op("RELU", [x], [y])
    b.op("TANH", [y], [z])
    model_bytes = b.build([x], [z])
    graph = verify(parse_tflite(model_bytes))
    assert graph.tensors[graph.outputs[0]].shape == (2, 3)
    assert any("without a shape" in note for note in graph.notes)
    data = np.linspace(-2, 2, 6, dtype=np.float32).reshape(2, 3)
    (expected,) = run_litert(model_bytes, [data])
    assert np.array_equal(Model(graph).run([data])[0], expected)
