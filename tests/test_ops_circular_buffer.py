"""TFLite Micro's CIRCULAR_BUFFER (custom operator; LiteRT has none, TFLite Micro's interpreter is the
oracle): random single-op models over several invocations, step by step, the window and whether the
invocation completes (TFLite Micro's invoke status: 0, or kTfLiteAbort = 15) equal to TFLite Micro's,
then after a reset; a model whose operators after the buffer run only on completed invocations; the C
kernel in native sessions (1-2 threads, both schedulers) and on two emulated rp2040 cores."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.errors import UnsupportedOperatorError
from tests.op_harness import model_for
from tests.signal_cases import custom_op
from tests.tflite_builder import ModelBuilder

STEPS = 7
ABORT = 15  # TfLiteStatus kTfLiteAbort, what TFLite Micro's invoke returns when the buffer ends it


class MicroStream:
    """TFLite Micro's interpreter kept across invocations; run returns (outputs, status)."""

    def __init__(self, model_bytes: bytes, num_outputs: int):
        from tflite_micro.python.tflite_micro import runtime
        self.it, self.num_outputs = runtime.Interpreter.from_bytes(model_bytes, arena_size=1 << 18), num_outputs

    def run(self, inputs):
        for i, array in enumerate(inputs):
            self.it.set_input(array, i)
        status = self.it.invoke()
        return [self.it.get_output(i).copy() for i in range(self.num_outputs)], status


def _completes(session, model) -> bool:
    """The buffer's hidden 'completes' flag (its third state tensor) after the session's last run."""
    graph = model.graph
    flag = next(t for t, tensor in enumerate(graph.tensors) if tensor.name.startswith("circular_buffer_")
                and tensor.name.endswith("_state2"))
    return bool(session._state[flag][0])


def buffer_case(rng, variable: bool):
    h, w, slots = int(rng.integers(1, 4)), int(rng.integers(1, 17)), int(rng.integers(1, 9))
    cycles = int(rng.choice([0, 1, 2, 3, 4]))
    quant = (float(rng.uniform(0.01, 1)), int(rng.integers(-128, 128)))
    b = ModelBuilder()
    x = b.tensor((1, 1, h, w), "int8", quant=quant)
    y = b.tensor((1, slots, h, w), "int8", quant=quant, variable=variable)
    custom_op(b, "CIRCULAR_BUFFER", [x], [y], {"cycles_max": cycles} if cycles else {})
    period = cycles if cycles else (1 if slots in (5, 13, 25) else 2)
    return b.build([x], [y]), (lambda: [rng.integers(-128, 128, (1, 1, h, w)).astype(np.int8)]), slots, period


@pytest.mark.parametrize("variable", [True, False])
def test_circular_buffer_matches_tflite_micro_step_by_step(variable):
    """variable=True: the output marked variable (TFLite Micro fills it with the zero point at start and
    reset: every step compares). False: TFLite Micro's window starts as leftover arena bytes, so the
    window compares once num_slots inputs have filled it, and a reset is compared with a fresh
    interpreter after that many steps."""
    for seed in range(16):
        rng = np.random.default_rng(21_000 + 100 * variable + seed)
        model_bytes, inputs, slots, period = buffer_case(rng, variable)
        model = model_for(model_bytes)
        micro, session = MicroStream(model_bytes, 1), model.session()
        for step in range(STEPS + slots):
            x = inputs()
            (want,), status = micro.run(x)
            got, = session.run(x)
            assert status in (0, ABORT)
            assert _completes(session, model) == (status == 0) == ((step + 1) % period == 0), f"seed {seed} step {step}"
            if variable or step >= slots - 1:
                assert np.array_equal(got, want), f"seed {seed} step {step}"
        session.reset()
        if variable:
            micro.it.reset()  # TFLite Micro refills a variable output with the zero point, restarts the count
        else:
            micro = MicroStream(model_bytes, 1)  # its reset keeps a plain output's bytes: compare a fresh start
        for step in range(slots + 1):
            x = inputs()
            (want,), status = micro.run(x)
            got, = session.run(x)
            assert _completes(session, model) == (status == 0), f"seed {seed} after reset, step {step}"
            if variable or step >= slots - 1:
                assert np.array_equal(got, want), f"seed {seed} after reset, step {step}"


def streaming_model(rng, cycles: int, slots: int = 4, depth: int = 8, filters: int = 6) -> bytes:
    """CIRCULAR_BUFFER -> CONV_2D over the whole window (a strided streaming convolution's step)."""
    b = ModelBuilder()
    q_in = (0.05, int(rng.integers(-20, 20)))
    x = b.tensor((1, 1, 1, depth), "int8", quant=q_in)
    window = b.tensor((1, slots, 1, depth), "int8", quant=q_in, variable=True)
    custom_op(b, "CIRCULAR_BUFFER", [x], [window], {"cycles_max": cycles})
    weights = rng.integers(-127, 128, (filters, slots, 1, depth)).astype(np.int8)
    w = b.tensor(weights.shape, "int8", quant=([0.01] * filters, [0] * filters, 0), data=weights)
    bias = b.tensor((filters,), "int32", quant=([0.05 * 0.01] * filters, [0] * filters, 0),
                    data=rng.integers(-500, 500, filters).astype(np.int32))
    y = b.tensor((1, 1, 1, filters), "int8", quant=(0.2, -3))
    b.op("CONV_2D", [window, w, bias], [y], "Conv2DOptions", padding=1, strideW=1, strideH=1)
    return b.build([x], [y, window])


def test_streaming_conv_matches_tflite_micro_on_completed_invocations():
    """TFLite Micro skips the convolution on the invocations the buffer ends: its output is then
    whatever the arena held (unspecified, in arielml too). On completed ones both agree."""
    for seed, cycles in enumerate((1, 2, 3)):
        rng = np.random.default_rng(22_000 + seed)
        model_bytes = streaming_model(rng, cycles)
        model = model_for(model_bytes)
        micro, session = MicroStream(model_bytes, 2), model.session()
        completed = 0
        for step in range(9):
            x = [rng.integers(-128, 128, (1, 1, 1, 8)).astype(np.int8)]
            (want_y, want_window), status = micro.run(x)
            got_y, got_window = session.run(x)
            assert np.array_equal(got_window, want_window), f"cycles {cycles} step {step}"
            if status == 0:
                completed += 1
                assert np.array_equal(got_y, want_y), f"cycles {cycles} step {step}"
        assert completed == 9 // cycles


@pytest.mark.parametrize("cores,scheduler", [(1, "static"), (2, "dynamic"), (2, "static")])
def test_circular_buffer_kernel_matches_reference_sessions(cores, scheduler):
    for seed in range(4):
        rng = np.random.default_rng(23_000 + 10 * cores + seed)
        model_bytes, inputs, slots, _ = buffer_case(rng, variable=bool(seed % 2))
        model = model_for(model_bytes)
        steps = [inputs() for _ in range(STEPS)]
        reference, native = model.session(), model.session(backend="native", cores=cores, scheduler=scheduler)
        expected, got = reference.run_sequence(steps), native.run_sequence(steps)
        reference.reset(), native.reset()
        expected += reference.run_sequence(steps[:3])
        got += native.run_sequence(steps[:3])
        for step, (g, e) in enumerate(zip(got, expected)):
            assert np.array_equal(g[0], e[0]), f"seed {seed} {cores} cores step {step}"
    model = model_for(streaming_model(np.random.default_rng(23_500), cycles=2))
    steps = [[np.random.default_rng(k).integers(-128, 128, (1, 1, 1, 8)).astype(np.int8)] for k in range(5)]
    expected = model.session().run_sequence(steps)
    got = model.session(backend="native", cores=cores, scheduler=scheduler).run_sequence(steps)
    for step, (g, e) in enumerate(zip(got, expected)):
        assert np.array_equal(g[1], e[1]), f"step {step}"  # the window: written before the invocation ends
        if (step + 1) % 2 == 0:  # completed invocations: the convolution ran
            assert np.array_equal(g[0], e[0]), f"step {step}"


@pytest.mark.cross
def test_streaming_conv_emulated_rp2040_two_cores():
    rng = np.random.default_rng(24_000)
    model = model_for(streaming_model(rng, cycles=2, slots=5, depth=16, filters=8))
    steps = [[rng.integers(-128, 128, (1, 1, 1, 16)).astype(np.int8)] for _ in range(5)]
    expected = model.session().run_sequence(steps)
    got = model.session(backend="emulator", target="rp2040", cores=2).run_sequence(steps)
    for step, (g, e) in enumerate(zip(got, expected)):
        assert np.array_equal(g[1], e[1]), f"step {step}"
        if (step + 1) % 2 == 0:
            assert np.array_equal(g[0], e[0]), f"step {step}"


def test_circular_buffer_variants_refused_with_reasons():
    def single(shape_in, shape_out, dtype="int8", options=None):
        b = ModelBuilder()
        quant = (0.1, 0) if dtype == "int8" else None
        x, y = b.tensor(shape_in, dtype, quant=quant), b.tensor(shape_out, dtype, quant=quant)
        custom_op(b, "CIRCULAR_BUFFER", [x], [y], {"cycles_max": 2} if options is None else options)
        return b.build([x], [y])

    with pytest.raises(UnsupportedOperatorError, match="int8 only"):
        model_for(single((1, 1, 1, 4), (1, 3, 1, 4), "float32"))
    with pytest.raises(UnsupportedOperatorError, match=r"\[1, 1, H, W\]"):
        model_for(single((2, 1, 1, 4), (2, 3, 1, 4)))
    with pytest.raises(UnsupportedOperatorError, match="shared by every interpreter"):
        model_for(single((1, 1, 2, 96), (1, 3, 2, 96), options={}))


def chained_buffers(rng) -> bytes:
    """buffer (every 2nd invocation) -> CONV_2D -> buffer (every 3rd of those) -> CONV_2D: the second
    buffer keeps state, so it must advance only when the first completes (TFLite Micro's abort)."""
    b = ModelBuilder()
    q = (0.05, 0)
    x = b.tensor((1, 1, 1, 8), "int8", quant=q)
    window1 = b.tensor((1, 2, 1, 8), "int8", quant=q, variable=True)
    custom_op(b, "CIRCULAR_BUFFER", [x], [window1], {"cycles_max": 2})
    w1 = b.tensor((8, 2, 1, 8), "int8", quant=([0.02] * 8, [0] * 8, 0), data=rng.integers(-127, 128, (8, 2, 1, 8)))
    mid = b.tensor((1, 1, 1, 8), "int8", quant=q)
    b.op("CONV_2D", [window1, w1, -1], [mid], "Conv2DOptions", padding=1, strideW=1, strideH=1)
    window2 = b.tensor((1, 3, 1, 8), "int8", quant=q, variable=True)
    custom_op(b, "CIRCULAR_BUFFER", [mid], [window2], {"cycles_max": 3})
    w2 = b.tensor((4, 3, 1, 8), "int8", quant=([0.02] * 4, [0] * 4, 0), data=rng.integers(-127, 128, (4, 3, 1, 8)))
    y = b.tensor((1, 1, 1, 4), "int8", quant=(0.1, 2))
    b.op("CONV_2D", [window2, w2, -1], [y], "Conv2DOptions", padding=1, strideW=1, strideH=1)
    return b.build([x], [y, window2])


def test_chained_buffers_skip_the_rest_of_an_invocation_as_tflite_micro_does():
    rng = np.random.default_rng(25_000)
    model_bytes = chained_buffers(rng)
    model = model_for(model_bytes)
    steps = [[rng.integers(-128, 128, (1, 1, 1, 8)).astype(np.int8)] for _ in range(14)]
    micro = MicroStream(model_bytes, 2)
    wanted = [micro.run(x) for x in steps]
    sessions = {"reference": model.session(), "native 2 static": model.session(backend="native", cores=2),
                "native 2 dynamic": model.session(backend="native", cores=2, scheduler="dynamic"),
                "emulator rp2040 x2": model.session(backend="emulator", target="rp2040", cores=2)}
    for name, session in sessions.items():
        got = session.run_sequence(steps)
        completed = 0
        for step, ((want, status), g) in enumerate(zip(wanted, got)):
            if status == 0:  # both buffers completed: every output is specified
                completed += 1
                assert all(np.array_equal(a, b) for a, b in zip(g, want)), f"{name} step {step}"
        assert completed == 14 // 6, name
