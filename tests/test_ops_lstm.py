"""UNIDIRECTIONAL_SEQUENCE_LSTM: random single-LSTM models (tests/lstm_cases.py) run over several
invocations in sessions, the output and cell states carried from one to the next.

Oracles: int8 (int16 cell state) under semantics "litert" (the default): LiteRT's reference
interpreter, bit-exact (its 8x8_16 arithmetic, ops/lstm_litert.py); under "tflm": TFLite Micro,
bit-exact. int16 activations (LiteRT has no such LSTM) and float32: TFLite Micro under both. LiteRT's
float LSTM multiplies through its optimised GEMM even under the reference resolver, so float32 holds
against LiteRT only to a few float32 ulps (measured below); see docs/semantics.md."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.api import Model
from arielml.errors import UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.lstm_cases import litert_steps, lstm_model, micro_steps, step_inputs


def _case(seed: int, dtype: str, **kwargs):
    rng = np.random.default_rng(seed)
    clip = {"float32": 1.5, "int8": 3.0, "int16": 0.5}[dtype] if seed % 3 == 0 else 0.0
    model_bytes, shape = lstm_model(rng, dtype, time_major=bool(seed % 2), cell_clip=clip, **kwargs)
    return model_bytes, step_inputs(rng, dtype, shape)


def _model(model_bytes: bytes) -> Model:
    return Model(verify(parse_tflite(model_bytes)))


def _oracle(dtype: str, semantics: str):
    """int8 under litert: LiteRT's reference interpreter; everything else: TFLite Micro."""
    return litert_steps if (dtype, semantics) == ("int8", "litert") else micro_steps


def _assert_steps(got, expected, what: str) -> None:
    for k, (g, e) in enumerate(zip(got, expected)):
        assert np.array_equal(g, e), f"{what} step {k}: {np.count_nonzero(g != e)} values differ"


@pytest.mark.parametrize("dtype", ["float32", "int8", "int16"])
def test_lstm_sessions_match_the_oracle_step_by_step(dtype):
    for seed in range(8):
        model_bytes, steps = _case(100 * len(dtype) + seed, dtype)
        model = _model(model_bytes)
        assert model.stateful
        for semantics in ("litert", "tflm"):
            expected = _oracle(dtype, semantics)(model_bytes, steps)
            got = [out[0] for out in model.session(semantics=semantics).run_sequence(steps)]
            _assert_steps(got, expected, f"seed {seed} {semantics}")
        # a stateless run is the first step of a fresh session
        assert np.array_equal(model.run(steps[1])[0], _oracle(dtype, "litert")(model_bytes, [steps[1]])[0])


def test_int8_lstm_litert_semantics_is_litert_bit_for_bit():
    """LiteRT's int8 LSTM (gemmlowp int16 sigmoid/tanh, its own saturation order, the hidden
    intermediate's scale) against its reference interpreter: random layers, batch 1-3, time-major
    both ways, with and without cell clip, three invocations of one session each; TFLite Micro's
    arithmetic under "tflm" on the same layers. The two oracles disagree on most of these layers."""
    disagree = 0
    for seed in range(24):
        rng = np.random.default_rng(5000 + seed)
        model_bytes, shape = lstm_model(rng, "int8", time_major=bool(seed % 2), cell_clip=3.0 if seed % 3 == 0 else 0.0,
                                        batch=1 + seed % 3, size=int(rng.integers(1, 24)),
                                        cells=int(rng.integers(1, 24)))
        steps = step_inputs(rng, "int8", shape)
        model = _model(model_bytes)
        litert, micro = litert_steps(model_bytes, steps), micro_steps(model_bytes, steps)
        _assert_steps([o[0] for o in model.session().run_sequence(steps)], litert, f"seed {seed} litert")
        _assert_steps([o[0] for o in model.session(semantics="tflm").run_sequence(steps)], micro, f"seed {seed} tflm")
        disagree += any(not np.array_equal(a, b) for a, b in zip(litert, micro))
    assert disagree >= 12  # the two arithmetics really differ (measured: 18 of 24)


def test_float_lstm_agrees_with_litert_to_float32_rounding():
    """LiteRT's float LSTM sums through its optimised fully connected kernel (another summation
    order): measured differences stay within a few ulps of the values (|x| <= 1)."""
    for seed in range(6):
        model_bytes, steps = _case(700 + seed, "float32")
        expected = litert_steps(model_bytes, steps)
        got = [out[0] for out in _model(model_bytes).session().run_sequence(steps)]
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=0, atol=1e-6)


@pytest.mark.parametrize("cores,scheduler", [(1, "static"), (2, "dynamic"), (3, "static")])
def test_lstm_native_sessions_carry_state_and_reset(cores, scheduler):
    for dtype, semantics in (("float32", "litert"), ("int8", "litert"), ("int8", "tflm"), ("int16", "litert")):
        model_bytes, steps = _case(900 + cores, dtype, batch=3)
        model = _model(model_bytes)
        expected = [o[0] for o in model.session(semantics=semantics).run_sequence(steps)]
        assert all(np.array_equal(e, o) for e, o in zip(expected, _oracle(dtype, semantics)(model_bytes, steps)))
        session = model.session(backend="native", semantics=semantics, cores=cores, scheduler=scheduler)
        other = model.session(backend="native", semantics=semantics, cores=cores, scheduler=scheduler)  # own state
        assert np.array_equal(other.run(steps[0])[0], expected[0])
        got = [o[0] for o in session.run_sequence(steps)]
        for k, (g, e) in enumerate(zip(got, expected)):
            assert np.array_equal(g, e), f"{dtype} {cores} cores step {k}"
        session.reset()
        assert np.array_equal(session.run(steps[0])[0], expected[0])
        assert np.array_equal(other.run(steps[1])[0], expected[1])  # untouched by the first session


def test_lstm_native_random_shapes():
    for seed in range(6):
        for dtype, semantics in (("float32", "litert"), ("int8", "litert"), ("int8", "tflm"), ("int16", "litert")):
            model_bytes, steps = _case(1200 + seed, dtype)
            model = _model(model_bytes)
            expected = [o[0] for o in model.session(semantics=semantics).run_sequence(steps)]
            got = [o[0] for o in model.session(backend="native", semantics=semantics, cores=2).run_sequence(steps)]
            assert all(np.array_equal(g, e) for g, e in zip(got, expected)), f"{dtype} {semantics} seed {seed}"


def test_int8_lstm_emulated_on_two_rp2040_cores():
    from arielml.backends.emulator import run_emulated
    model_bytes, steps = _case(1500, "int8", batch=2, time=3, size=6, cells=5)
    model = _model(model_bytes)
    expected = model.run(steps[0], semantics="tflm")[0]
    run = run_emulated(model, steps[0], target="rp2040", cores=2, semantics="tflm")
    assert np.array_equal(run.outputs[0], expected)
    assert np.array_equal(expected, micro_steps(model_bytes, [steps[0]])[0])
    # a session on the board: the firmware invokes the model again and again, the state kept
    session = model.session(backend="emulator", target="rp2040", cores=2, semantics="tflm")
    _assert_steps([o[0] for o in session.run_sequence(steps)], micro_steps(model_bytes, steps), "tflm")


def _float_vector(b, rng):
    return b.tensor((4,), "float32", data=rng.uniform(-1, 1, 4))


@pytest.mark.parametrize("extra,match", [
    ({9: _float_vector, 10: _float_vector, 11: _float_vector}, "peephole"),
    ({20: _float_vector, 21: _float_vector, 22: _float_vector, 23: _float_vector}, "layer-norm"),
    ({16: lambda b, rng: b.tensor((4, 4), "float32", data=rng.uniform(-1, 1, (4, 4)))}, "projection"),
])
def test_lstm_variants_are_refused_by_name(extra, match):
    model_bytes, _ = lstm_model(np.random.default_rng(3), "float32", cells=4, extra=extra)
    with pytest.raises(UnsupportedOperatorError, match=match):
        _model(model_bytes)


def test_cifg_and_hybrid_lstm_are_refused_by_name():
    rng = np.random.default_rng(4)
    model_bytes, _ = lstm_model(rng, "float32", cells=4, extra={1: lambda b, r: -1, 5: lambda b, r: -1,
                                                                  12: lambda b, r: -1})
    with pytest.raises(UnsupportedOperatorError, match="CIFG"):
        _model(model_bytes)
    model_bytes, _ = lstm_model(rng, "float32", cells=4, size=3, extra={
        2: lambda b, r: b.tensor((4, 3), "int8", quant=(0.01, 0), data=r.integers(-127, 128, (4, 3)))})
    with pytest.raises(UnsupportedOperatorError, match="hybrid"):
        _model(model_bytes)


def test_lstm_without_tanh_or_with_a_cell_scale_not_a_power_of_two_is_refused():
    from ai_edge_litert import schema_py_generated as schema
    model_bytes, _ = lstm_model(np.random.default_rng(6), "int8", cells=3)
    model = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    op = model.subgraphs[0].operators[0]
    op.builtinOptions.fusedActivationFunction = 1  # RELU
    with pytest.raises(UnsupportedOperatorError, match="TANH"):
        _model(_pack(model))
    op.builtinOptions.fusedActivationFunction = 4
    model.subgraphs[0].tensors[op.inputs[19]].quantization.scale = [3e-4]
    with pytest.raises(UnsupportedOperatorError, match="power of two"):
        _model(_pack(model))


def _pack(model) -> bytes:
    import flatbuffers
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _split_plan(model: Model, cores: int):
    from arielml.passes.pipeline import run_pipeline, verify_plan
    from arielml.passes.plan import CompileOptions
    return run_pipeline(model.graph, CompileOptions(cores=cores), check=verify_plan)


@pytest.mark.parametrize("dtype", ["float32", "int8", "int16"])
def test_batch1_lstm_on_several_cores_splits_over_units(dtype):
    """passes/lstm_steps.py: one op per time step over the hidden units, spread over the cores;
    native sessions equal the reference (and so TFLite Micro) step by step, both schedulers."""
    for seed in range(2):
        model_bytes, steps = _case(3000 + seed, dtype, batch=1, time=4, size=40, cells=64)
        model = _model(model_bytes)
        plan = _split_plan(model, 2)
        split = [s for s in plan.steps if s.op == "ARIEL_LSTM_STEP"]
        assert len(split) == 4 and all(set(s.tile_core) == {0, 1} for s in split)
        assert _split_plan(model, 1).steps[0].op == "UNIDIRECTIONAL_SEQUENCE_LSTM"  # one core: the layer as is
        for semantics in ("litert", "tflm") if dtype == "int8" else ("litert",):
            expected = [o[0] for o in model.session(semantics=semantics).run_sequence(steps)]
            if seed == 0:
                _assert_steps(expected, _oracle(dtype, semantics)(model_bytes, steps), f"{dtype} {semantics}")
            for cores, scheduler in ((2, "static"), (3, "dynamic")):
                session = model.session(backend="native", semantics=semantics, cores=cores, scheduler=scheduler)
                _assert_steps([o[0] for o in session.run_sequence(steps)], expected,
                              f"{dtype} {semantics} seed {seed} {cores} cores {scheduler}")


def test_small_lstm_is_not_split():
    model_bytes, _ = _case(3100, "int8", batch=1, time=3, size=4, cells=5)  # 4 x 5 x 9 = 180 MACs a step
    assert [s.op for s in _split_plan(_model(model_bytes), 2).steps] == ["UNIDIRECTIONAL_SEQUENCE_LSTM"]


def test_batch1_int8_lstm_split_over_units_on_two_emulated_rp2040_cores():
    """LiteRT's arithmetic (the default semantics) on the board, split over units on two cores."""
    from arielml.backends.emulator import run_emulated
    model_bytes, steps = _case(3003, "int8", batch=1, time=4, size=40, cells=64)
    model = _model(model_bytes)
    expected = litert_steps(model_bytes, steps)
    one, two = (run_emulated(model, steps[0], target="rp2040", cores=cores) for cores in (1, 2))
    assert np.array_equal(one.outputs[0], expected[0]) and np.array_equal(two.outputs[0], expected[0])
    assert two.cycles < 0.6 * one.cycles  # measured 1.96x (docs/semantics.md)
    session = model.session(backend="emulator", target="rp2040", cores=2)
    for k, (g, e) in enumerate(zip((o[0] for o in session.run_sequence(steps)), expected)):
        assert np.array_equal(g, e), f"step {k}"


def _without_intermediates(model_bytes: bytes) -> bytes:
    from ai_edge_litert import schema_py_generated as schema
    model = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    model.subgraphs[0].operators[0].intermediates = []
    return _pack(model)


def test_int8_lstm_without_intermediates_is_refused_under_litert_as_litert_refuses_it():
    """LiteRT's Prepare requires the five intermediates of an int8 LSTM; TFLite Micro needs none."""
    model_bytes, steps = _case(3200, "int8", batch=1, time=2, size=3, cells=4)
    bare = _without_intermediates(model_bytes)
    with pytest.raises(RuntimeError):
        litert_steps(bare, steps)
    model = _model(bare)
    with pytest.raises(UnsupportedOperatorError, match="five intermediate tensors"):
        model.run(steps[0])
    _assert_steps([o[0] for o in model.session(semantics="tflm").run_sequence(steps)], micro_steps(bare, steps), "tflm")


def test_int8_lstm_cell_scale_outside_litert_range_is_refused_under_litert_only():
    from ai_edge_litert import schema_py_generated as schema
    model_bytes, steps = _case(3300, "int8", batch=1, time=2, size=3, cells=4)
    model = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    op = model.subgraphs[0].operators[0]
    model.subgraphs[0].tensors[op.inputs[19]].quantization.scale = [2.0 ** -7]
    coarse = _pack(model)
    with pytest.raises(UnsupportedOperatorError, match=r"2\^-15 \.\. 2\^-9"):
        _model(coarse).run(steps[0])
    _assert_steps([o[0] for o in _model(coarse).session(semantics="tflm").run_sequence(steps)],
                  micro_steps(coarse, steps), "tflm")


def test_fixed16_logistic_and_tanh_c_equal_numpy_on_every_int16(tmp_path):
    """runtime/include/ariel_fixed16.h (the C kernel's gates) against ops/fixed_point16.py (the
    reference's), every int16 input, at every integer-bit count LiteRT's LSTM uses (3 for the
    gates, 0..6 for the cell state; tanh reads with one more)."""
    import ctypes
    import shutil
    import subprocess
    from arielml.codegen.kernel_interface import RUNTIME
    from arielml.ops import fixed_point16
    source = tmp_path / "fx16.c"
    source.write_text('#include "ariel_fixed16.h"\n'
                      'void run(int32_t logistic, int32_t bits, int32_t *out) {\n'
                      '    int32_t a;\n'
                      '    for (a = -32768; a < 32768; a++) {\n'
                      '        out[a + 32768] = logistic ? fx16_logistic(a, bits) : fx16_tanh(a, bits);\n'
                      '    }\n'
                      '}\n')
    library = tmp_path / "fx16.so"
    cc = shutil.which("gcc") or shutil.which("cc")
    subprocess.run([cc, "-O1", "-shared", "-fPIC", f"-I{RUNTIME / 'include'}", str(source), "-o", str(library)],
                   check=True)
    run = ctypes.CDLL(str(library)).run
    values = np.arange(-32768, 32768, dtype=np.int64)
    out = np.zeros(65536, dtype=np.int32)
    for logistic, bits in [(1, 3)] + [(0, k) for k in range(7)]:
        run(logistic, bits, out.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)))
        expected = (fixed_point16.logistic if logistic else fixed_point16.tanh)(values, bits)
        assert np.array_equal(out, expected), f"logistic={logistic} bits={bits}: {np.count_nonzero(out != expected)}"
        real = values / 2.0 ** (15 - bits)
        want = 1 / (1 + np.exp(-real)) if logistic else np.tanh(real)
        assert np.abs(expected / 32768 - want).max() < 2e-3  # and it is the function it claims to be


def test_int8_lstm_output_state_follows_the_hidden_intermediate_under_litert():
    """LiteRT requantises tanh(c) x o to the fifth intermediate's scale and zero point (the
    converter makes them the output state's; here they differ) and reads the output state back
    with the output state's own: arielml does the same."""
    from ai_edge_litert import schema_py_generated as schema
    for seed in range(3):
        model_bytes, steps = _case(3400 + seed, "int8", batch=2, time=3, size=5, cells=6)
        model = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
        op = model.subgraphs[0].operators[0]
        hidden = model.subgraphs[0].tensors[op.intermediates[4]].quantization
        hidden.scale = [hidden.scale[0] * 1.7]
        hidden.zeroPoint = [hidden.zeroPoint[0] + 9]
        changed = _pack(model)
        expected = litert_steps(changed, steps)
        assert any(not np.array_equal(a, b) for a, b in zip(expected, litert_steps(model_bytes, steps)))
        m = _model(changed)
        _assert_steps([o[0] for o in m.session().run_sequence(steps)], expected, f"seed {seed}")
        _assert_steps([o[0] for o in m.session(backend="native", cores=2).run_sequence(steps)], expected,
                      f"seed {seed} native")
