"""Frontend, verifier and Python API defects of issue 12 (items 4 and 8): a graph input with constant
data, negative dimensions, missing weight buffers, what `arielml.load` accepts, and the reference
backend's refusal of options it cannot honour."""
from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest

import arielml
from arielml.errors import InputError, ModelFormatError, TargetError
from arielml.ir.verify import verify
from tests.conftest import ZOO
from tests.tflite_builder import ModelBuilder, run_litert, run_tflm

CONSTANT = np.array([[1.0, -2.0, 3.0, -4.0]], np.float32)
GIVEN = np.array([[5.0, -6.0, 7.0, -8.0]], np.float32)


def _constant_input_model() -> bytes:
    """RELU of a graph input that also has a constant buffer in the file."""
    b = ModelBuilder()
    x = b.tensor((1, 4), "float32", data=CONSTANT, name="const_in")
    y = b.tensor((1, 4), "float32")
    b.op("RELU", [x], [y])
    return b.build([x], [y])


# ---- item 4: a graph input with constant data --------------------------------------------------------

def test_constant_graph_input_is_read_as_an_input():
    """The oracles use the caller's value: TFLite Micro copies it in; LiteRT's set_tensor overwrites
    the constant (in the model's own bytes; from a read-only mapped file it crashes). arielml drops
    the data in the frontend and says so."""
    data = _constant_input_model()
    model = arielml.load(data)
    tensor = model.graph.tensors[model.graph.inputs[0]]
    assert not tensor.is_constant
    assert any("'const_in' carries constant data" in note for note in model.graph.notes)
    (ours,) = model.run([GIVEN])
    np.testing.assert_array_equal(ours, np.maximum(GIVEN, 0))
    np.testing.assert_array_equal(ours, run_tflm(data, [GIVEN])[0])
    np.testing.assert_array_equal(ours, run_litert(bytes(data), [GIVEN])[0])  # a copy: LiteRT writes into it


def test_constant_graph_input_runs_natively(cache):
    """It used to SIGSEGV the host process (the kernel wrote the input over const weights)."""
    model = arielml.load(_constant_input_model())
    result = model.run_native([GIVEN], cache_dir=cache)
    np.testing.assert_array_equal(result.outputs[0], np.maximum(GIVEN, 0))


def test_verifier_refuses_a_constant_graph_input():
    """A Graph built in Python (not read by the frontend) with a constant input is malformed."""
    graph = arielml.load(_constant_input_model()).graph
    tensors = list(graph.tensors)
    tensors[graph.inputs[0]] = dataclasses.replace(tensors[graph.inputs[0]], data=CONSTANT)
    with pytest.raises(ModelFormatError, match="graph input 'const_in' has constant data"):
        verify(dataclasses.replace(graph, tensors=tuple(tensors)))


# ---- item 8: negative dimensions -----------------------------------------------------------------------

@pytest.mark.parametrize("shape, signature, where", [
    ((1, -2, 4), None, "shape"),
    ((1, 4), (-3, 4), "shape signature"),
    ((-7, 4), (-1, 4), "shape"),
])
def test_negative_dimension_other_than_minus_one_is_refused(shape, signature, where):
    b = ModelBuilder()
    x = b.tensor(shape, "float32", shape_signature=signature, name="odd_input")
    y = b.tensor((1, 4), "float32")
    b.op("RELU", [x], [y])
    with pytest.raises(ModelFormatError, match=rf"tensor 'odd_input' has a negative dimension in its {where}"):
        arielml.load(b.build([x], [y]))


@pytest.mark.parametrize("shape, signature", [((-1, 4), None), ((1, 4), (-1, 4))])
def test_minus_one_stays_the_dynamic_batch(shape, signature):
    b = ModelBuilder()
    x = b.tensor(shape, "float32", shape_signature=signature)
    y = b.tensor((1, 4), "float32")
    b.op("RELU", [x], [y])
    model = arielml.load(b.build([x], [y]))
    assert model.graph.tensors[x].shape == (1, 4)
    assert any("dynamic dimensions" in note for note in model.graph.notes)


# ---- item 8: a missing weight buffer -------------------------------------------------------------------

@pytest.mark.parametrize("buffer", ["empty", "out-of-range"])
def test_missing_weight_buffer_is_named(buffer):
    b = ModelBuilder()
    x = b.tensor((1, 4, 4, 2), "float32")
    w = b.tensor((3, 1, 1, 2), "float32", name="conv_weights")  # no data: buffer 0, the empty sentinel
    if buffer == "out-of-range":
        b.tensors[w].buffer = 57
    y = b.tensor((1, 4, 4, 3), "float32")
    b.op("CONV_2D", [x, w, -1], [y], "Conv2DOptions", padding=0, strideW=1, strideH=1)
    with pytest.raises(ModelFormatError) as error:
        arielml.load(b.build([x], [y]))
    message = str(error.value)
    assert "CONV_2D (operator #0)" in message and "'conv_weights'" in message
    assert "buffer is missing or empty" in message and "before anything writes it" not in message


def test_read_before_write_is_still_reported_as_such():
    """A tensor some later operator writes is an ordering problem, not a missing buffer."""
    b = ModelBuilder()
    x = b.tensor((1, 4), "float32")
    a = b.tensor((1, 4), "float32", name="late")
    y = b.tensor((1, 4), "float32")
    b.op("RELU", [a], [y])
    b.op("RELU", [x], [a])
    with pytest.raises(ModelFormatError, match="reads 'late' before anything writes it"):
        arielml.load(b.build([x], [y]))


# ---- item 8: what arielml.load accepts -----------------------------------------------------------------

@pytest.mark.parametrize("wrap", [
    pytest.param(bytes, id="bytes"), pytest.param(bytearray, id="bytearray"),
    pytest.param(memoryview, id="memoryview"), pytest.param(io.BytesIO, id="BytesIO"),
])
def test_load_accepts_bytes_and_binary_file_objects(wrap):
    data = _constant_input_model()
    model = arielml.load(wrap(data))
    np.testing.assert_array_equal(model.run([GIVEN])[0], np.maximum(GIVEN, 0))
    assert model.path is None


def test_load_accepts_an_open_binary_file(tmp_path):
    path = tmp_path / "relu.tflite"
    path.write_bytes(_constant_input_model())
    with open(path, "rb") as f:
        model = arielml.load(f)
    assert model.graph.name == "relu"


@pytest.mark.parametrize("source, fragment", [
    (None, "got NoneType"), (42, "got int"), (io.StringIO("TFL3"), "binary mode"),
    (b"not a model", "not a TFLite model"),
])
def test_load_refuses_anything_else_with_a_user_error(source, fragment):
    with pytest.raises(arielml.ArielError, match=fragment):
        arielml.load(source)


# ---- item 8: the reference backend does not ignore cores, scheduler or target -------------------------

@pytest.mark.parametrize("options", [dict(cores=2), dict(target="rp2040"), dict(scheduler="dynamic")])
def test_reference_backend_refuses_placement_options(options):
    model = arielml.load(_constant_input_model())
    name, value = next(iter(options.items()))
    with pytest.raises(TargetError, match=rf"{name}={value!r} does not apply to the reference backend"):
        model.run([GIVEN], **options)
    model.run([GIVEN], cores=1, scheduler="static", target=None)  # the defaults, spelled out, are fine


@pytest.mark.parametrize("seed", [-1, 1.5, "3", None])
def test_random_inputs_refuses_a_bad_seed_with_a_user_error(seed):
    model = arielml.load(ZOO / "tflite_micro" / "hello_world_int8.tflite")
    with pytest.raises(InputError, match="seed"):
        model.random_inputs(seed)
    assert model.random_inputs(2**70)[0].shape == (1, 1)
