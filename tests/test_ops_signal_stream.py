"""TFLite Micro's streaming Signal operators (SignalDelay, SignalFramer, SignalOverlapAdd,
SignalStacker; LiteRT has none): random single-op models run over several invocations, their
lines kept as hidden state, bit-exact with TFLite Micro's interpreter step by step (frames TFLite
Micro reports not valid are left unwritten there: compared only when valid); then the C kernels in
native sessions (1-3 threads, both schedulers) and on two emulated rp2040 cores."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.errors import UnsupportedOperatorError
from tests.op_harness import model_for
from tests.signal_cases import Micro, custom_op, tensor
from tests.tflite_builder import ModelBuilder

STEPS = 6


def _samples(rng, shape, dtype="int16"):
    if dtype == "float32":
        return rng.uniform(-1, 1, shape).astype(np.float32)
    return rng.integers(-32768, 32768, shape).astype(np.int16)


def delay_case(rng):
    rows, frame, delay = int(rng.integers(1, 4)), int(rng.integers(1, 40)), int(rng.integers(0, 50))
    b = ModelBuilder()
    x, y = tensor(b, (rows, frame), "int16"), tensor(b, (rows, frame), "int16")
    custom_op(b, "SignalDelay", [x], [y], {"delay_length": delay})
    return b.build([x], [y]), lambda: [_samples(rng, (rows, frame))], 1


def framer_case(rng):
    rows, step = int(rng.integers(1, 3)), int(rng.integers(1, 20))
    size, frames = int(rng.integers(1, 60)), int(rng.integers(1, 4))
    prefill = bool(rng.random() < 0.5) and size >= step  # TFLite Micro crashes on prefill with size < step
    b = ModelBuilder()
    x = tensor(b, (rows, frames * step), "int16")
    y, valid = tensor(b, (rows, frames, size), "int16"), tensor(b, (), "bool")
    custom_op(b, "SignalFramer", [x], [y, valid], {"frame_size": size, "frame_step": step, "prefill": prefill})
    return b.build([x], [y, valid]), lambda: [_samples(rng, (rows, frames * step))], 2


def overlap_add_case(rng):
    dtype = "int16" if rng.random() < 0.6 else "float32"
    rows, frames, size = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 40))
    step = int(rng.integers(1, size + 1))
    b = ModelBuilder()
    x, y = tensor(b, (rows, frames, size), dtype), tensor(b, (rows, frames * step), dtype)
    custom_op(b, "SignalOverlapAdd", [x], [y], {"T": 7 if dtype == "int16" else 0, "frame_step": step})
    return b.build([x], [y]), lambda: [_samples(rng, (rows, frames, size), dtype)], 1


def stacker_case(rng):
    channels, left, right = int(rng.integers(1, 12)), int(rng.integers(0, 4)), int(rng.integers(0, 4))
    step = int(rng.integers(1, left + right + 2))
    b = ModelBuilder()
    x = tensor(b, (channels,), "int16")
    y, valid = tensor(b, (channels * (left + right + 1),), "int16"), tensor(b, (), "bool")
    custom_op(b, "SignalStacker", [x], [y, valid], {"num_channels": channels, "stacker_left_context": left,
                                                    "stacker_right_context": right, "stacker_step": step})
    return b.build([x], [y, valid]), lambda: [_samples(rng, (channels,))], 2


CASES = {"delay": delay_case, "framer": framer_case, "overlap_add": overlap_add_case, "stacker": stacker_case}


def _same(got, want, num_outputs: int) -> bool:
    if num_outputs == 2:  # (frames, valid): frames compared only when TFLite Micro wrote them all
        return bool(got[1]) == bool(want[1]) and (not bool(want[1]) or np.array_equal(got[0], want[0]))
    return got[0].dtype == want[0].dtype and np.array_equal(got[0], want[0])


@pytest.mark.parametrize("op", list(CASES))
def test_stream_op_matches_tflite_micro_step_by_step(op):
    for seed in range(12):
        rng = np.random.default_rng(11_000 + 100 * list(CASES).index(op) + seed)
        model_bytes, inputs, num_outputs = CASES[op](rng)
        micro = Micro(model_bytes)
        session = model_for(model_bytes).session()
        for step in range(STEPS):
            x = inputs()
            assert _same(session.run(x), micro.run(x, num_outputs), num_outputs), f"{op} seed {seed} step {step}"
        session.reset()
        fresh = Micro(model_bytes)
        x = inputs()
        assert _same(session.run(x), fresh.run(x, num_outputs), num_outputs), f"{op} seed {seed} after reset"


@pytest.mark.parametrize("cores,scheduler", [(1, "static"), (2, "dynamic"), (3, "static")])
def test_stream_kernels_match_reference_sessions(cores, scheduler):
    for k, op in enumerate(CASES):
        rng = np.random.default_rng(12_000 + 10 * cores + k)
        model_bytes, inputs, _ = CASES[op](rng)
        model = model_for(model_bytes)
        steps = [inputs() for _ in range(STEPS)]
        expected = model.session().run_sequence(steps)
        got = model.session(backend="native", cores=cores, scheduler=scheduler).run_sequence(steps)
        for step, (g, e) in enumerate(zip(got, expected)):
            assert all(np.array_equal(a, b) for a, b in zip(g, e)), f"{op} {cores} cores step {step}"


@pytest.mark.cross
def test_stream_ops_emulated_rp2040_two_cores():
    """Framer -> OverlapAdd and Delay -> Stacker chains, one session each, several steps."""
    rng = np.random.default_rng(13_000)
    b = ModelBuilder()
    x = tensor(b, (2, 32), "int16")
    frames, valid = tensor(b, (2, 2, 24), "int16"), tensor(b, (), "bool")
    custom_op(b, "SignalFramer", [x], [frames, valid], {"frame_size": 24, "frame_step": 16, "prefill": True})
    added = tensor(b, (2, 32), "int16")
    custom_op(b, "SignalOverlapAdd", [frames], [added], {"T": 7, "frame_step": 16})
    delayed = tensor(b, (2, 32), "int16")
    custom_op(b, "SignalDelay", [added], [delayed], {"delay_length": 5})
    flat = tensor(b, (64,), "int16")
    b.op("RESHAPE", [delayed, tensor(b, (1,), "int32", data=np.array([64]))], [flat])
    stacked, ready = tensor(b, (64 * 3,), "int16"), tensor(b, (), "bool")
    custom_op(b, "SignalStacker", [flat], [stacked, ready],
              {"num_channels": 64, "stacker_left_context": 1, "stacker_right_context": 1, "stacker_step": 1})
    model = model_for(b.build([x], [stacked, ready]))
    steps = [[_samples(rng, (2, 32))] for _ in range(4)]
    expected = model.session().run_sequence(steps)
    got = model.session(backend="emulator", target="rp2040", cores=2).run_sequence(steps)
    for step, (g, e) in enumerate(zip(got, expected)):
        assert all(np.array_equal(a, b) for a, b in zip(g, e)), f"step {step}"


def test_stream_variants_refused_with_reasons():
    b = ModelBuilder()
    x, y, valid = tensor(b, (10,), "int16"), tensor(b, (3, 8), "int16"), tensor(b, (), "bool")
    custom_op(b, "SignalFramer", [x], [y, valid], {"frame_size": 8, "frame_step": 3, "prefill": False})
    with pytest.raises(UnsupportedOperatorError, match="multiple of frame_step"):
        model_for(b.build([x], [y, valid]))
    b = ModelBuilder()
    x, y, valid = tensor(b, (8,), "int16"), tensor(b, (2, 3), "int16"), tensor(b, (), "bool")
    custom_op(b, "SignalFramer", [x], [y, valid], {"frame_size": 3, "frame_step": 4, "prefill": True})
    with pytest.raises(UnsupportedOperatorError, match="prefill"):
        model_for(b.build([x], [y, valid]))
