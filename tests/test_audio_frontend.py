"""arielml.audio's micro_speech front end (built from its parameters) and the demo's audio stream.

Oracles: TFLite Micro's interpreter running the built graph serialised to a .tflite (its Signal
kernels, its state kept across invocations); TFLite Micro's own audio_preprocessor_int8.tflite,
whose constants the built graph must reproduce (compared with the file when it is at hand - it is
not part of the repository - and with the digest of its constant tables otherwise)."""
from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from arielml.api import Model
from arielml.audio import FrontEndParams, frame_audio, mel_filter_bank, micro_speech_frontend
from arielml.commands._demo_stream import KEYWORD_MODEL, run_stream, synthetic_audio
from arielml.ops.registry import REGISTRY
from tests.conftest import ZOO
from tests.signal_cases import Micro, custom_op, tensor
from tests.tflite_builder import ModelBuilder

# TFLite Micro's model (tensorflow/lite/micro/examples/micro_speech/models/audio_preprocessor_int8.tflite),
# looked for where ARIELML_MICRO_SPEECH_PREPROCESSOR points, else in the shared scratch checkout
PREPROCESSOR = Path(os.environ.get(
    "ARIELML_MICRO_SPEECH_PREPROCESSOR",
    ZOO.parent.parent / "scratch" / "seanet" / "tensorflow" / "lite" / "micro" / "examples" / "micro_speech" / "models"
    / "audio_preprocessor_int8.tflite"))
# sha256 of that file's constant tensors (dtype, shape, bytes), in the order its operators read them
# (constants_digest below): a stand-in for the file, which may not be redistributed here
PREPROCESSOR_CONSTANTS_SHA256 = "3ce78f18c66509d5ef049ada258643f9585096629f93abd5a12c6fe3ed23bebf"


def constants_digest(graph) -> str:
    digest = hashlib.sha256()
    for node in graph.nodes:
        for t in node.inputs:
            tensor_ = graph.tensors[t]
            if tensor_.is_constant:
                digest.update(f"{node.op}:{tensor_.dtype}:{tensor_.shape}:".encode())
                digest.update(np.ascontiguousarray(tensor_.data).tobytes())
    return digest.hexdigest()


def serialise(graph) -> bytes:
    """The graph as a .tflite that TFLite Micro runs: custom operators with their options as
    flexbuffer maps, builtins with default options (asserted), the hidden state inputs left out
    (TFLite Micro keeps that state inside its kernels)."""
    b = ModelBuilder()
    hidden = set(graph.variables)
    index = {t: tensor(b, graph.tensors[t].shape, graph.tensors[t].dtype, data=graph.tensors[t].data)
             for t in range(len(graph.tensors)) if t not in hidden}
    for node in graph.nodes:
        opdef = REGISTRY[node.op]
        inputs = [index[t] for t in node.inputs if t not in hidden]
        outputs = [index[t] for t in node.outputs]
        if opdef.custom_code:
            custom_op(b, opdef.custom_code, inputs, outputs, dataclasses.asdict(node.options))
        else:
            assert node.options is None or node.options == opdef.options_type(), node
            b.op(node.op, inputs, outputs, opdef.tflite_options)
    return b.build([index[t] for t in graph.inputs], [index[t] for t in graph.outputs])


def stream_audio() -> np.ndarray:
    """Tone sweep with noise, then full-scale noise (FFT auto-scale shifts 0), then silence (all-zero
    frames: the log of nothing), so every stage sees its extremes."""
    rng = np.random.default_rng(7)
    return np.concatenate([synthetic_audio(0.3, seed=3), rng.integers(-32768, 32768, 2400).astype(np.int16),
                           np.zeros(2400, np.int16), synthetic_audio(0.1, seed=4)])


def test_built_front_end_runs_like_tflite_micro_over_a_stream():
    graph = micro_speech_frontend()
    frames = frame_audio(stream_audio())
    micro = Micro(serialise(graph))
    expected = [micro.run([frame], 1)[0] for frame in frames]
    got = Model(graph=graph).session(backend="reference").run_sequence([[frame] for frame in frames])
    assert len(frames) >= 25
    for step, (want, have) in enumerate(zip(expected, got)):
        np.testing.assert_array_equal(have[0], want.reshape(have[0].shape), err_msg=f"step {step}")
    # the stream is not trivial: features vary, and the noise estimate (state) changes the output
    assert len({a.tobytes() for a in expected}) > len(frames) // 2
    fresh = Model(graph=graph).session(backend="reference").run([frames[-1]])[0]
    assert not np.array_equal(fresh, got[-1][0])


def test_built_constants_are_tflite_micros():
    graph = micro_speech_frontend()
    if PREPROCESSOR.is_file():
        import arielml
        theirs = arielml.load(PREPROCESSOR).graph
        assert [(n.op, n.options) for n in theirs.nodes] == [(n.op, n.options) for n in graph.nodes]
        for a, b in zip(theirs.nodes, graph.nodes):
            for ta, tb in zip(a.inputs, b.inputs):
                x, y = theirs.tensors[ta], graph.tensors[tb]
                assert (x.shape, x.dtype, x.is_constant) == (y.shape, y.dtype, y.is_constant), (a.op, x.name)
                if x.is_constant:
                    np.testing.assert_array_equal(y.data, x.data, err_msg=f"{a.op}: {x.name}")
        assert constants_digest(theirs) == PREPROCESSOR_CONSTANTS_SHA256
    assert constants_digest(graph) == PREPROCESSOR_CONSTANTS_SHA256


def test_filter_bank_bands_are_triangles_that_tile_the_spectrum():
    """Properties that hold whatever the float rounding: every bin of [start, end) belongs to one
    band; there its weight falls as the frequency rises and weight + unweight is one unit (less
    one when both truncate)."""
    params = FrontEndParams()
    bank = mel_filter_bank(params)
    assert (bank.start_bin, bank.end_bin) == (5, 241)  # 125 Hz / 31.25 Hz + 1; bins up to 7500 Hz
    unit = 1 << params.filter_bank_scaling_bits
    owners = np.zeros(params.fft_length // 2 + 1, int)
    for band in range(params.channels + 1):
        first, start, width = int(bank.frequency_starts[band]), int(bank.weight_starts[band]), int(bank.widths[band])
        assert width % params.filter_bank_block == 0 and first % 2 == 0
        weights = bank.weights[start:start + width].astype(int)
        unweights = bank.unweights[start:start + width].astype(int)
        used = (weights + unweights) > 0
        owners[first + np.flatnonzero(used)] += 1
        assert set((weights + unweights)[used]) <= {unit - 1, unit}
        assert np.all(np.diff(weights[used]) <= 0)
    assert np.all(owners[bank.start_bin:bank.end_bin] == 1)
    assert not owners[:bank.start_bin].any() and not owners[bank.end_bin:].any()


@pytest.mark.skipif(not (ZOO / KEYWORD_MODEL).is_file(), reason="the zoo's micro_speech model is missing")
def test_demo_stream_on_two_emulated_cores_matches_the_reference():
    frames = 3
    result = run_stream(ZOO / KEYWORD_MODEL, target="rp2040", cores=2, frames=frames)
    assert len(result.steps) == frames and result.bit_exact
    for step in result.steps:
        assert step.cycles > 0
        assert step.ms == pytest.approx(step.cycles / 125e3)  # rp2040 at 125 MHz
    # the features are the front end's over the demo's audio, from a fresh state
    windows = frame_audio(synthetic_audio())[:frames]
    expected = Model(graph=micro_speech_frontend()).session().run_sequence([[w] for w in windows])
    np.testing.assert_array_equal(result.features, np.stack([e[0] for e in expected]))
    # the keyword model saw those rows last, silence (-128) before them
    import arielml
    keyword = arielml.load(ZOO / KEYWORD_MODEL)
    rows = np.full((49, 40), -128, np.int8)
    rows[-frames:] = result.features
    np.testing.assert_array_equal(result.scores, keyword.run([rows.reshape(1, -1)])[0].ravel())
    np.testing.assert_array_equal(result.probabilities, (result.scores.astype(float) + 128) / 256)
    assert result.keyword_cycles > 0
