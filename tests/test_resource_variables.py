"""Resource variables (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE) and CALL_ONCE: random
multi-subgraph models run as sessions over several invocations, step by step against LiteRT's
reference kernels and TFLite Micro (each one interpreter invoked again and again), on the
reference executor, natively (1-3 threads, both schedulers) and on two emulated rp2040 cores."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.api import Model
from arielml.errors import UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.subgraph_builder import MultiModelBuilder

DTYPES = ("float32", "int8", "int32")
STEPS = 4


def random_values(rng, shape, dtype: str) -> np.ndarray:
    if dtype == "float32":
        return rng.uniform(-4, 4, size=shape).astype(np.float32)
    if dtype == "int8":
        return rng.integers(-128, 128, size=shape).astype(np.int8)
    return rng.integers(-1000, 1000, size=shape).astype(np.int32)


def accumulator_model(rng, dtype: str) -> tuple[bytes, tuple[int, ...]]:
    """main: y = acc + x; acc = y; last = x; z = last + acc_before. acc starts from init subgraph's
    c1 + c2 (CALL_ONCE, a computed value); 'last' has no init (assigned before it is read). Two
    handles name 'acc' (one with the container) to check that handles are shared by name."""
    shape = tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 4))))
    quant = (float(np.float32(rng.uniform(0.02, 0.2))), int(rng.integers(-20, 20))) if dtype == "int8" else None
    m = MultiModelBuilder()
    main, init = m.subgraph(), m.subgraph()
    container = "box" if rng.integers(2) else ""

    def t(sub, data=None):
        return sub.tensor(shape, dtype, quant=quant, data=data)

    x = t(main)
    main.op("CALL_ONCE", [], [], "CallOnceOptions", initSubgraphIndex=1)
    acc, acc_again, last = (main.var_handle("acc", container), main.var_handle("acc", container),
                            main.var_handle("last"))
    before = t(main)
    main.op("READ_VARIABLE", [acc], [before])
    y = t(main)
    main.op("ADD", [before, x], [y], "AddOptions")
    main.op("ASSIGN_VARIABLE", [acc_again, y], [])
    main.op("ASSIGN_VARIABLE", [last, x], [])
    seen = t(main)
    main.op("READ_VARIABLE", [last], [seen])
    z = t(main)
    main.op("ADD", [seen, before], [z], "AddOptions")

    handle = init.var_handle("acc", container)
    c1, c2 = t(init, random_values(rng, shape, dtype)), t(init, random_values(rng, shape, dtype))
    total = t(init)
    init.op("ADD", [c1, c2], [total], "AddOptions")
    init.op("ASSIGN_VARIABLE", [handle, total], [])
    return m.build({main: ([x], [y, z])}), shape


def litert_steps(model_bytes: bytes, steps) -> list[list[np.ndarray]]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    it = Interpreter(model_content=model_bytes, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    outputs = []
    for inputs in steps:
        for detail, array in zip(it.get_input_details(), inputs):
            it.set_tensor(detail["index"], array)
        it.invoke()
        outputs.append([it.get_tensor(d["index"]).copy() for d in it.get_output_details()])
    return outputs


def tflm_steps(model_bytes: bytes, steps, count: int) -> list[list[np.ndarray]]:
    from tflite_micro.python.tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(model_bytes)
    outputs = []
    for inputs in steps:
        for i, array in enumerate(inputs):
            it.set_input(array, i)
        it.invoke()
        outputs.append([it.get_output(i).copy() for i in range(count)])
    return outputs


def assert_steps_equal(got, expected, where: str) -> None:
    for k, (g_step, e_step) in enumerate(zip(got, expected, strict=True)):
        for g, e in zip(g_step, e_step, strict=True):
            assert g.dtype == e.dtype and g.shape == e.shape, f"{where} step {k}"
            assert np.array_equal(g, e), f"{where} step {k}: {np.count_nonzero(g != e)} of {e.size} values differ"


def case(dtype: str, seed: int):
    rng = np.random.default_rng(seed)
    model_bytes, shape = accumulator_model(rng, dtype)
    steps = [[random_values(rng, shape, dtype)] for _ in range(STEPS)]
    return model_bytes, steps


@pytest.mark.parametrize("dtype", DTYPES)
def test_sessions_match_litert_and_tflite_micro_step_by_step(dtype):
    for seed in range(6):
        model_bytes, steps = case(dtype, seed)
        model = Model(verify(parse_tflite(model_bytes)))
        assert {n.op for n in model.graph.nodes} == {"READ_VARIABLE", "ASSIGN_VARIABLE", "ADD"}
        assert len(model.graph.variables) == 2  # 'acc' (two handles) and 'last'
        expected = litert_steps(model_bytes, steps)
        session = model.session()
        assert_steps_equal(session.run_sequence(steps), expected, f"{dtype} seed {seed} vs LiteRT")
        assert_steps_equal(tflm_steps(model_bytes, steps, 2), expected, f"{dtype} seed {seed} TFLM vs LiteRT")
        session.reset()  # a fresh start: the init subgraph's values again
        assert_steps_equal([session.run(steps[0])], expected[:1], f"{dtype} seed {seed} after reset")
        assert_steps_equal([model.run(steps[1])], litert_steps(model_bytes, steps[1:2]),  # a fresh interpreter
                           f"{dtype} seed {seed} stateless run")


@pytest.mark.parametrize("cores,scheduler", [(1, "static"), (2, "static"), (3, "static"), (2, "dynamic")])
def test_native_sessions_carry_the_variables(cores, scheduler, cache):
    for dtype in DTYPES:
        model_bytes, steps = case(dtype, 100 + cores)
        model = Model(verify(parse_tflite(model_bytes)))
        expected = litert_steps(model_bytes, steps)
        session = model.session(backend="native", cores=cores, scheduler=scheduler)
        assert_steps_equal(session.run_sequence(steps), expected, f"native {dtype} {cores} {scheduler}")
        session.reset()
        assert_steps_equal([session.run(steps[0])], expected[:1], f"native {dtype} after reset")


def test_emulated_session_on_two_rp2040_cores():
    model_bytes, steps = case("int8", 7)
    model = Model(verify(parse_tflite(model_bytes)))
    expected = litert_steps(model_bytes, steps)
    session = model.session(backend="emulator", target="rp2040", cores=2)
    assert_steps_equal(session.run_sequence(steps), expected, "rp2040 x2")
    assert all(run.cycles > 0 for run in session.last_runs)
    session.reset()
    assert_steps_equal([session.run(steps[0])], expected[:1], "rp2040 x2 after reset")


def test_generated_reset_copies_the_init_subgraphs_values():
    from arielml.compile import compile_model
    model_bytes, _ = case("float32", 3)
    result = compile_model(Model(verify(parse_tflite(model_bytes))), cores=2)
    source = next(text for rel, text in result.sources.items() if rel.endswith("model.c"))
    assert "model_state_initial" in source and "void model_reset(void)" in source


def test_oracles_reset_behaviour_as_documented():
    """What docs/semantics.md says LiteRT and TFLite Micro do on a reset (measured): LiteRT's
    reset_all_variables leaves resource variables as they are; TFLite Micro's reset zeroes them and
    does not run CALL_ONCE's init subgraph again. arielml's reset is a fresh start (tested above)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from tflite_micro.python.tflite_micro import runtime
    model_bytes, steps = case("float32", 11)
    expected = litert_steps(model_bytes, steps)
    it = Interpreter(model_content=model_bytes, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    for inputs in steps[:2]:
        it.set_tensor(it.get_input_details()[0]["index"], inputs[0])
        it.invoke()
    it.reset_all_variables()
    it.set_tensor(it.get_input_details()[0]["index"], steps[2][0])
    it.invoke()
    assert np.array_equal(it.get_tensor(it.get_output_details()[0]["index"]), expected[2][0])  # unaffected
    micro = runtime.Interpreter.from_bytes(model_bytes)
    micro.set_input(steps[0][0], 0)
    micro.invoke()
    micro.reset()
    micro.set_input(steps[1][0], 0)
    micro.invoke()
    assert np.array_equal(micro.get_output(0), steps[1][0])  # acc was zero, not the init value


def test_a_variable_of_two_shapes_is_refused():
    m = MultiModelBuilder()
    main = m.subgraph()
    x, wide = main.tensor((2,), "float32"), main.tensor((3,), "float32")
    h = main.var_handle("v")
    main.op("ASSIGN_VARIABLE", [h, x], [])
    main.op("READ_VARIABLE", [h], [wide])
    with pytest.raises(UnsupportedOperatorError, match="changes shape"):
        parse_tflite(m.build({main: ([x], [wide])}))


def test_init_subgraph_reading_an_unassigned_variable_is_refused():
    m = MultiModelBuilder()
    main, init = m.subgraph(), m.subgraph()
    x, y = main.tensor((2,), "float32"), main.tensor((2,), "float32")
    main.op("CALL_ONCE", [], [], "CallOnceOptions", initSubgraphIndex=1)
    h = main.var_handle("v")
    main.op("ASSIGN_VARIABLE", [h, x], [])
    main.op("READ_VARIABLE", [h], [y])
    hi, v = init.var_handle("v"), init.tensor((2,), "float32")
    init.op("READ_VARIABLE", [hi], [v])
    with pytest.raises(UnsupportedOperatorError, match="before assigning"):
        parse_tflite(m.build({main: ([x], [y])}))
