"""SVDF and sessions: random single-SVDF models run over several steps, the state carried from one
inference to the next, bit-exact with LiteRT's reference kernels (its interpreter keeps variable
tensors across invoke() calls) on the reference executor and in native sessions (C kernel, 1-3
threads, both schedulers); int8 also against TFLite Micro with its double rounding."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.api import Model
from arielml.errors import ModelFormatError, UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.tflite_builder import ModelBuilder

STEPS = 5


def svdf_model(rng, dtype: str, bias: bool = True, activation: int = 1):
    batch, size = int(rng.integers(1, 3)), int(rng.integers(1, 12))
    units, rank, memory = int(rng.integers(1, 6)), int(rng.integers(1, 7)), int(rng.integers(1, 12))
    filters = units * rank
    b = ModelBuilder()
    if dtype == "float32":
        x = b.tensor((batch, size), "float32")
        wf = b.tensor((filters, size), "float32", data=rng.uniform(-1, 1, (filters, size)))
        wt = b.tensor((filters, memory), "float32", data=rng.uniform(-1, 1, (filters, memory)))
        bb = b.tensor((units,), "float32", data=rng.uniform(-1, 1, units)) if bias else -1
        state = b.tensor((batch, filters * memory), "float32", variable=True)
        y = b.tensor((batch, units), "float32")
    else:
        state_scale, time_scale = float(rng.uniform(1e-3, 8e-3)), float(rng.uniform(1e-4, 4e-3))
        x = b.tensor((batch, size), "int8", quant=(float(rng.uniform(0.01, 0.1)), int(rng.integers(-20, 20))))
        wf = b.tensor((filters, size), "int8", quant=(float(rng.uniform(0.002, 0.02)), 0),
                      data=rng.integers(-127, 128, (filters, size)))
        wt = b.tensor((filters, memory), "int16", quant=(time_scale, 0),
                      data=rng.integers(-4000, 4000, (filters, memory)))
        # TFLite Micro wants the bias scale to be state scale x time scale
        bb = b.tensor((units,), "int32", quant=(state_scale * time_scale, 0),
                      data=rng.integers(-5000, 5000, units)) if bias else -1
        state = b.tensor((batch, filters * memory), "int16", quant=(state_scale, 0), variable=True)
        y = b.tensor((batch, units), "int8", quant=(float(rng.uniform(0.01, 0.2)), int(rng.integers(-10, 10))))
    b.op("SVDF", [x, wf, wt, bb, state], [y], "SVDFOptions", rank=rank, fusedActivationFunction=activation)
    return b.build([x], [y]), (batch, size)


def step_inputs(rng, dtype: str, shape) -> list[list[np.ndarray]]:
    if dtype == "float32":
        return [[rng.uniform(-2, 2, shape).astype(np.float32)] for _ in range(STEPS)]
    return [[rng.integers(-128, 128, shape).astype(np.int8)] for _ in range(STEPS)]


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


def _case(seed: int, dtype: str, bias: bool | None = None):
    rng = np.random.default_rng(seed)
    activation = 1 if dtype == "int8" else int(rng.choice([0, 1, 2, 3]))
    with_bias = bool(rng.random() < 0.8) if bias is None else bias
    model_bytes, shape = svdf_model(rng, dtype, bias=with_bias, activation=activation)
    return model_bytes, step_inputs(rng, dtype, shape)


@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_svdf_sessions_match_litert_step_by_step(dtype):
    for seed in range(12):
        model_bytes, steps = _case(1000 * (dtype == "int8") + seed, dtype)
        expected = litert_steps(model_bytes, steps)
        model = Model(verify(parse_tflite(model_bytes)))
        assert model.stateful
        got = [out[0] for out in model.session().run_sequence(steps)]
        for k, (g, e) in enumerate(zip(got, expected)):
            assert np.array_equal(g, e), f"seed {seed} step {k}: {np.count_nonzero(g != e)} values differ"
        # a stateless run is the first step of a fresh session, every time
        fresh = litert_steps(model_bytes, [steps[2]])[0]
        assert np.array_equal(model.run(steps[2])[0], fresh) and np.array_equal(model.run(steps[2])[0], fresh)


@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_svdf_matches_tflite_micro_with_its_semantics(dtype):
    from tflite_micro.python.tflite_micro import runtime
    for seed in range(8):
        model_bytes, steps = _case(2000 + seed, dtype, bias=True)  # TFLite Micro reads the bias scale
        micro = runtime.Interpreter.from_bytes(model_bytes)
        model = Model(verify(parse_tflite(model_bytes)))
        session = model.session(semantics="tflm")
        for k, inputs in enumerate(steps):
            micro.set_input(inputs[0], 0)
            micro.invoke()
            assert np.array_equal(session.run(inputs)[0], micro.get_output(0)), f"seed {seed} step {k}"


@pytest.mark.parametrize("cores,scheduler,semantics", [(1, "static", "litert"), (2, "dynamic", "litert"),
                                                        (3, "static", "litert"), (2, "static", "tflm")])
def test_svdf_native_sessions_carry_state_and_reset(cores, scheduler, semantics):
    for dtype in ("float32", "int8"):
        model_bytes, steps = _case(3000 + cores, dtype)
        model = Model(verify(parse_tflite(model_bytes)))
        expected = [o[0] for o in model.session(semantics=semantics).run_sequence(steps)]
        session = model.session(backend="native", cores=cores, scheduler=scheduler, semantics=semantics)
        other = model.session(backend="native", cores=cores, scheduler=scheduler, semantics=semantics)  # own state
        assert np.array_equal(other.run(steps[0])[0], expected[0])
        got = [o[0] for o in session.run_sequence(steps)]
        for k, (g, e) in enumerate(zip(got, expected)):
            assert np.array_equal(g, e), f"{dtype} {cores} cores step {k}"
        session.reset()
        assert np.array_equal(session.run(steps[0])[0], expected[0])
        assert np.array_equal(other.run(steps[1])[0], expected[1])  # untouched by the first session
        # Model.run stays stateless on the native backend too
        assert np.array_equal(model.run(steps[0], backend="native", cores=cores, scheduler=scheduler,
                                        semantics=semantics)[0], expected[0])


def test_svdf_state_is_outside_the_arena_and_in_the_header():
    from arielml.compile import compile_model
    model_bytes, _ = _case(4000, "int8")
    graph = verify(parse_tflite(model_bytes))
    result = compile_model(graph, target="rp2040", cores=2)
    (state,) = graph.variables
    plan = result.plan
    assert plan.state_bytes == graph.tensors[state].nbytes
    assert plan.offsets[state] == -1  # not in the arena
    header = result.sources["model.h"]
    assert f"#define MODEL_STATE_BYTES {plan.state_bytes}u" in header and "void model_reset(void);" in header


def test_int8_svdf_without_relu_is_refused_as_litert_does():
    rng = np.random.default_rng(5)
    model_bytes, _ = svdf_model(rng, "int8", activation=0)
    with pytest.raises(UnsupportedOperatorError, match="RELU"):
        Model(verify(parse_tflite(model_bytes)))


def test_a_state_input_that_is_not_a_variable_is_a_format_error():
    b = ModelBuilder()
    x = b.tensor((1, 4), "float32")
    wf = b.tensor((2, 4), "float32", data=np.ones((2, 4)))
    wt = b.tensor((2, 3), "float32", data=np.ones((2, 3)))
    state = b.tensor((1, 6), "float32", data=np.zeros((1, 6)))  # a constant, not a variable
    y = b.tensor((1, 2), "float32")
    b.op("SVDF", [x, wf, wt, -1, state], [y], "SVDFOptions", rank=1)
    with pytest.raises(ModelFormatError, match="variable"):
        verify(parse_tflite(b.build([x], [y])))


@pytest.mark.cross
@pytest.mark.parametrize("target,cores", [("rp2040", 2), ("rp2350-riscv", 1)])
def test_svdf_emulated_session_runs_several_inferences_per_firmware_run(target, cores):
    from arielml.backends.emulator import MAX_STEPS
    model_bytes, steps = _case(5000 + cores, "int8")
    rng = np.random.default_rng(9)
    steps = steps + step_inputs(rng, "int8", steps[0][0].shape) * 2  # 3 x STEPS: more than one firmware run
    assert len(steps) > MAX_STEPS
    model = Model(verify(parse_tflite(model_bytes)))
    expected = [o[0] for o in model.session().run_sequence(steps)]
    session = model.session(backend="emulator", target=target, cores=cores)
    got = [o[0] for o in session.run_sequence(steps[:3])] + [session.run(steps[3])[0]]
    got += [o[0] for o in session.run_sequence(steps[4:])]
    for k, (g, e) in enumerate(zip(got, expected)):
        assert np.array_equal(g, e), f"step {k}"
    assert all(run.cycles > 0 for run in session.last_runs) and len(session.last_runs) == len(steps) - 4
    session.reset()
    assert np.array_equal(session.run(steps[0])[0], expected[0])


def int8_state_model(rng):
    """TFLite Micro's int8-state SVDF (int8 time weights and state with a zero point)."""
    batch, size, units, rank, memory = 1, int(rng.integers(2, 10)), int(rng.integers(1, 5)), int(rng.integers(1, 3)), \
        int(rng.integers(2, 8))
    filters = units * rank
    state_scale, time_scale = float(rng.uniform(0.01, 0.05)), float(rng.uniform(0.002, 0.01))
    b = ModelBuilder()
    x = b.tensor((batch, size), "int8", quant=(float(rng.uniform(0.01, 0.1)), int(rng.integers(-20, 20))))
    wf = b.tensor((filters, size), "int8", quant=(float(rng.uniform(0.002, 0.02)), 0),
                  data=rng.integers(-127, 128, (filters, size)))
    wt = b.tensor((filters, memory), "int8", quant=(time_scale, 0), data=rng.integers(-127, 128, (filters, memory)))
    bb = b.tensor((units,), "int32", quant=(state_scale * time_scale, 0), data=rng.integers(-500, 500, units))
    state = b.tensor((batch, filters * memory), "int8", quant=(state_scale, int(rng.integers(-10, 10))), variable=True)
    y = b.tensor((batch, units), "int8", quant=(float(rng.uniform(0.01, 0.2)), int(rng.integers(-10, 10))))
    b.op("SVDF", [x, wf, wt, bb, state], [y], "SVDFOptions", rank=rank, fusedActivationFunction=1)
    return b.build([x], [y]), (batch, size)


def test_int8_state_svdf_matches_tflite_micro_on_every_backend():
    from tflite_micro.python.tflite_micro import runtime
    for seed in range(6):
        rng = np.random.default_rng(6000 + seed)
        model_bytes, shape = int8_state_model(rng)
        steps = step_inputs(rng, "int8", shape)
        micro = runtime.Interpreter.from_bytes(model_bytes)
        expected = []
        for (x,) in steps:
            micro.set_input(x, 0)
            micro.invoke()
            expected.append(micro.get_output(0).copy())
        model = Model(verify(parse_tflite(model_bytes)))
        for backend, kwargs in (("reference", {}), ("native", {"cores": 2})):
            got = [o[0] for o in model.session(backend=backend, semantics="tflm", **kwargs).run_sequence(steps)]
            assert all(np.array_equal(g, e) for g, e in zip(got, expected)), f"seed {seed} {backend}"
