"""IF and WHILE with their subgraphs: random handmade models against LiteRT's reference kernels and
TFLite Micro. Control flow known at compile time (a constant or constant-computed IF condition, a
WHILE with a known trip count, IF nested in an unrolled body) is inlined when the model is read and
then runs everywhere: reference, native (1-3 threads) and two emulated rp2040 cores. Control flow
decided at run time runs on the reference executor (the oracle); compiled, an IF runs both branches
and SELECT_V2 (passes/if_conversion.py), or jumps in the op table when a branch must not run on the
other's values (passes/if_jumps.py), and a WHILE jumps in the op table (passes/while_lowering.py,
ariel_runtime.c), an IF inside it too."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.api import Model
from arielml.compile import compile_model
from arielml.errors import UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from arielml.passes.control_flow import MAX_UNROLLED_TRIPS
from tests.op_harness import run_micro
from tests.subgraph_builder import MultiModelBuilder
from tests.tflite_builder import run_litert

BINARY = ("ADD", "SUB", "MUL")
OPTIONS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}


def random_shape(rng) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 4))))


def floats(rng, shape) -> np.ndarray:
    return rng.uniform(-2, 2, size=shape).astype(np.float32)


def binary_branch(m: MultiModelBuilder, shape, op: str):
    """A subgraph (a, b) -> op(a, b)."""
    sub = m.subgraph()
    a, b, y = (sub.tensor(shape, "float32") for _ in range(3))
    sub.op(op, [a, b], [y], OPTIONS[op])
    return sub, ([a, b], [y])


def if_model(rng, condition: str) -> tuple[bytes, list[np.ndarray]]:
    """main: y = IF(cond, x, c) with then = op1(a, b), else = op2(a, b). condition: 'constant' (a
    constant bool), 'computed' (LESS of two constants), 'input' (a graph input)."""
    shape = random_shape(rng)
    m = MultiModelBuilder()
    main = m.subgraph()
    ops = rng.choice(BINARY, size=2, replace=False)
    then_sub, then_sig = binary_branch(m, shape, str(ops[0]))
    else_sub, else_sig = binary_branch(m, shape, str(ops[1]))
    x, y = main.tensor(shape, "float32"), main.tensor(shape, "float32")
    c = main.tensor(shape, "float32", data=floats(rng, shape))
    inputs = [floats(rng, shape)]
    if condition == "constant":
        cond = main.tensor((1,), "bool", data=np.array([rng.integers(2)], np.bool_))
    elif condition == "computed":
        p, q = (main.tensor((1,), "int32", data=rng.integers(-5, 5, size=1).astype(np.int32)) for _ in range(2))
        cond = main.tensor((1,), "bool")
        main.op("LESS", [p, q], [cond])
    else:
        cond = main.tensor((1,), "bool")
        inputs.append(np.array([rng.integers(2)], np.bool_))
    main.op("IF", [cond, x, c], [y], "IfOptions", thenSubgraphIndex=then_sub.index, elseSubgraphIndex=else_sub.index)
    graph_inputs = [x] + ([cond] if condition == "input" else [])
    return m.build({main: (graph_inputs, [y]), then_sub: then_sig, else_sub: else_sig}), inputs


def while_model(rng, trips: int, trips_from_input: bool = False, nested_if: bool = False):
    """main: (i, x) = WHILE(0, x) with cond i < n, body (i + 1, x * 0.5 + c) (nested_if: the body's
    update is IF(i < 2, x + c, x - c) instead)."""
    shape = random_shape(rng)
    m = MultiModelBuilder()
    main, cond, body = m.subgraph(), m.subgraph(), m.subgraph()
    # cond: (i, x, n) -> i < n
    ci, cx, cn, less = cond.tensor((1,), "int32"), cond.tensor(shape, "float32"), cond.tensor((1,), "int32"), None
    less = cond.tensor((1,), "bool")
    cond.op("LESS", [ci, cn], [less])
    # body: (i, x, n) -> (i + 1, update(x), n)
    bi, bx, bn = body.tensor((1,), "int32"), body.tensor(shape, "float32"), body.tensor((1,), "int32")
    one = body.tensor((1,), "int32", data=np.array([1], np.int32))
    c = body.tensor(shape, "float32", data=floats(rng, shape))
    bi2, bx2 = body.tensor((1,), "int32"), body.tensor(shape, "float32")
    body.op("ADD", [bi, one], [bi2], "AddOptions")
    signatures = {cond: ([ci, cx, cn], [less]), body: ([bi, bx, bn], [bi2, bx2, bn])}
    if nested_if:
        then_sub, then_sig = binary_branch(m, shape, "ADD")
        else_sub, else_sig = binary_branch(m, shape, "SUB")
        two = body.tensor((1,), "int32", data=np.array([2], np.int32))
        early = body.tensor((1,), "bool")
        body.op("LESS", [bi, two], [early])
        body.op("IF", [early, bx, c], [bx2], "IfOptions", thenSubgraphIndex=then_sub.index,
                elseSubgraphIndex=else_sub.index)
        signatures.update({then_sub: then_sig, else_sub: else_sig})
    else:
        half = body.tensor((1,), "float32", data=np.array([0.5], np.float32))
        scaled = body.tensor(shape, "float32")
        body.op("MUL", [bx, half], [scaled], "MulOptions")
        body.op("ADD", [scaled, c], [bx2], "AddOptions")
    i0 = main.tensor((1,), "int32", data=np.array([0], np.int32))
    x = main.tensor(shape, "float32")
    n = main.tensor((1,), "int32") if trips_from_input else main.tensor((1,), "int32",
                                                                          data=np.array([trips], np.int32))
    i_out, x_out, n_out = main.tensor((1,), "int32"), main.tensor(shape, "float32"), main.tensor((1,), "int32")
    main.op("WHILE", [i0, x, n], [i_out, x_out, n_out], "WhileOptions", condSubgraphIndex=cond.index,
            bodySubgraphIndex=body.index)
    inputs = [floats(rng, shape)] + ([np.array([trips], np.int32)] if trips_from_input else [])
    signatures[main] = ([x, n] if trips_from_input else [x], [x_out, i_out])
    return m.build(signatures), inputs


def check_against_oracles(model_bytes: bytes, inputs, where: str, micro: bool = True) -> tuple[Model, list]:
    expected = run_litert(model_bytes, inputs)
    model = Model(verify(parse_tflite(model_bytes)))
    got = model.run(inputs)
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == e.dtype and g.shape == e.shape and np.array_equal(g, e), f"{where}: differs from LiteRT"
    if micro:
        for g, t in zip(got, run_micro(model_bytes, inputs, len(expected)), strict=True):
            assert np.array_equal(g, t), f"{where}: differs from TFLite Micro"
    return model, expected


def assert_native(model: Model, inputs, expected, where: str, cache) -> None:
    from arielml.backends.native import build_native
    for cores in (1, 2, 3):
        got = build_native(compile_model(model, target="rv32-smp", cores=cores), cache).run(inputs).outputs
        for g, e in zip(got, expected, strict=True):
            assert np.array_equal(g, e), f"{where}: native {cores} threads differ"


@pytest.mark.parametrize("condition", ["constant", "computed"])
def test_if_known_at_compile_time_is_inlined(condition, cache):
    for seed in range(8):
        model_bytes, inputs = if_model(np.random.default_rng(seed), condition)
        model, expected = check_against_oracles(model_bytes, inputs, f"IF {condition} seed {seed}")
        assert "IF" not in {n.op for n in model.graph.nodes}
        assert any("is inlined" in note for note in model.graph.notes)
        if seed < 2:
            assert_native(model, inputs, expected, f"IF {condition} seed {seed}", cache)


def test_while_with_a_known_trip_count_is_unrolled(cache):
    rng = np.random.default_rng(5)
    for trips in (0, 1, 3, 6, MAX_UNROLLED_TRIPS):
        model_bytes, inputs = while_model(rng, trips)
        model, expected = check_against_oracles(model_bytes, inputs, f"WHILE {trips} trips")
        ops = [n.op for n in model.graph.nodes]
        assert "WHILE" not in ops and ops.count("MUL") == trips
        assert int(expected[1][0]) == trips
        if trips in (0, 3):
            assert_native(model, inputs, expected, f"WHILE {trips} trips", cache)


def test_if_nested_in_an_unrolled_body_is_inlined_too(cache):
    model_bytes, inputs = while_model(np.random.default_rng(9), 4, nested_if=True)
    model, expected = check_against_oracles(model_bytes, inputs, "nested IF")
    ops = [n.op for n in model.graph.nodes]
    assert "IF" not in ops and "WHILE" not in ops and ops.count("SUB") == 2  # trips 2 and 3 take the else branch
    assert_native(model, inputs, expected, "nested IF", cache)


def test_inlined_control_flow_on_two_emulated_rp2040_cores():
    from arielml.backends.emulator import run_emulated
    model_bytes, inputs = while_model(np.random.default_rng(12), 3, nested_if=True)
    model, expected = check_against_oracles(model_bytes, inputs, "emulated", micro=False)
    run = run_emulated(model, inputs, "rp2040", cores=2)
    for g, e in zip(run.outputs, expected, strict=True):
        assert np.array_equal(g, e), "rp2040 x2 differs from LiteRT"
    assert run.cycles > 0


def test_if_decided_at_run_time_is_compiled_by_if_conversion(cache):
    """The reference executor runs the taken branch (the IF stays in the graph); compiled plans run
    both branches and SELECT_V2 the taken one's results: bit-exact with LiteRT either way."""
    from arielml.backends.emulator import run_emulated
    from arielml.backends.native import build_native
    for seed in range(6):
        model_bytes, inputs = if_model(np.random.default_rng(100 + seed), "input")
        libraries = None
        for taken in (False, True):
            inputs[1] = np.array([taken], np.bool_)
            model, expected = check_against_oracles(model_bytes, inputs, f"runtime IF seed {seed} cond {taken}")
            assert "IF" in {n.op for n in model.graph.nodes}
            if seed < 2:
                if libraries is None:
                    libraries = [build_native(compile_model(model, target="rv32-smp", cores=cores), cache)
                                 for cores in (1, 2, 3)]
                for cores, library in enumerate(libraries, start=1):
                    got = library.run(inputs).outputs
                    assert np.array_equal(got[0], expected[0]), f"seed {seed} cond {taken} native {cores} threads"
            if seed == 0:
                run = run_emulated(model, inputs, "rp2040", cores=2)
                assert np.array_equal(run.outputs[0], expected[0]), f"cond {taken} rp2040 x2"
    plan = compile_model(model, cores=2).plan
    assert [s.op for s in plan.steps].count("SELECT_V2") == 1 and "IF" not in {s.op for s in plan.steps}


def test_if_with_a_branch_unsafe_on_untaken_values_runs_only_the_taken_branch(cache):
    """A branch that gathers must not run on the values the other branch is taken for (an index out
    of range): the IF becomes jumps of the op table (passes/if_jumps.py), so only the taken branch
    runs; bit-exact with LiteRT and TFLite Micro both ways, natively and on two emulated cores."""
    from arielml.backends.emulator import run_emulated
    m = MultiModelBuilder()
    main = m.subgraph()
    then_sub, then_sig = binary_branch(m, (3,), "ADD")
    else_sub = m.subgraph()
    a, b, y = else_sub.tensor((3,), "float32"), else_sub.tensor((3,), "float32"), else_sub.tensor((3,), "float32")
    table = else_sub.tensor((4,), "float32", data=np.array([10, 20, 30, 40], np.float32))
    index = else_sub.tensor((3,), "int32")
    else_sub.op("CAST", [a], [index], "CastOptions")
    picked = else_sub.tensor((3,), "float32")
    else_sub.op("GATHER", [table, index], [picked], "GatherOptions")
    else_sub.op("DIV", [picked, b], [y], "DivOptions")
    x, out, cond = main.tensor((3,), "float32"), main.tensor((3,), "float32"), main.tensor((1,), "bool")
    main.op("IF", [cond, x, x], [out], "IfOptions", thenSubgraphIndex=1, elseSubgraphIndex=2)
    model_bytes = m.build({main: ([x, cond], [out]), then_sub: then_sig, else_sub: ([a, b], [y])})
    cases = [[np.array([1, 2, 3], np.float32), np.array([False])],  # else: gathers rows 1-3, divides by x
             [np.array([7, -9, 1e6], np.float32), np.array([True])]]  # then: x + x (else would gather out of range)
    for inputs in cases:
        model, expected = check_against_oracles(model_bytes, inputs, f"IF with GATHER, cond {bool(inputs[1][0])}")
        assert_native(model, inputs, expected, f"IF with GATHER, cond {bool(inputs[1][0])}", cache)
        run = run_emulated(model, inputs, "rp2040", cores=2)
        assert all(np.array_equal(g, e) for g, e in zip(run.outputs, expected, strict=True))
    ops = [s.op for s in compile_model(model, cores=2).plan.steps]
    assert "ARIEL_BRANCH_IF_FALSE" in ops and "ARIEL_JUMP" in ops and "SELECT_V2" not in ops and "IF" not in ops


def test_while_decided_at_run_time_runs_as_a_loop_of_the_op_table(cache):
    """The reference executor evaluates the subgraphs; compiled plans jump (ARIEL_BRANCH_IF_FALSE,
    ARIEL_JUMP in the op table, every core taking the same way): native 1-3 threads under both
    schedulers, repeated so that a race between the cores would show, and two emulated rp2040 cores."""
    from arielml.backends.emulator import run_emulated
    from arielml.backends.native import build_native
    model_bytes, inputs = while_model(np.random.default_rng(21), 0, trips_from_input=True)
    model = Model(verify(parse_tflite(model_bytes)))
    assert "WHILE" in {n.op for n in model.graph.nodes}
    cases = []
    for trips in (0, 1, 2, 5, 23):
        inputs[1] = np.array([trips], np.int32)
        _, expected = check_against_oracles(model_bytes, inputs, f"runtime WHILE {trips}")
        assert int(expected[1][0]) == trips
        cases.append(([a.copy() for a in inputs], expected))
    for cores, scheduler in ((1, "static"), (2, "static"), (3, "static"), (2, "dynamic"), (3, "dynamic")):
        library = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        for repeat in range(5):
            for arrays, expected in cases:
                got = library.run(arrays).outputs
                assert all(np.array_equal(g, e) for g, e in zip(got, expected, strict=True)), (
                    f"{int(arrays[1][0])} trips, native {cores} threads {scheduler}")
    ops = [s.op for s in compile_model(model, cores=2).plan.steps]
    assert "ARIEL_BRANCH_IF_FALSE" in ops and "ARIEL_JUMP" in ops and "WHILE" not in ops
    for arrays, expected in cases[::2]:
        run = run_emulated(model, arrays, "rp2040", cores=2)
        assert all(np.array_equal(g, e) for g, e in zip(run.outputs, expected, strict=True)), (
            f"{int(arrays[1][0])} trips, rp2040 x2")


def test_a_long_loop_stays_a_loop_and_compiles(cache):
    from arielml.backends.native import build_native
    model_bytes, inputs = while_model(np.random.default_rng(3), MAX_UNROLLED_TRIPS + 4)
    model, expected = check_against_oracles(model_bytes, inputs, "long WHILE", micro=False)
    assert "WHILE" in {n.op for n in model.graph.nodes}
    got = build_native(compile_model(model, target="rv32-smp", cores=2), cache).run(inputs).outputs
    assert all(np.array_equal(g, e) for g, e in zip(got, expected, strict=True))


def test_a_loop_with_an_if_inside_is_compiled_as_nested_jumps(cache):
    """WHILE decided at run time whose body holds an IF decided at run time: the loop jumps
    (passes/while_lowering.py) and so does the IF inside it (passes/if_jumps.py)."""
    from arielml.backends.emulator import run_emulated
    model_bytes, inputs = while_model(np.random.default_rng(4), 3, trips_from_input=True, nested_if=True)
    for trips in (0, 1, 2, 4):
        inputs[1] = np.array([trips], np.int32)
        model, expected = check_against_oracles(model_bytes, inputs, f"runtime WHILE with IF inside, {trips} trips")
        assert_native(model, inputs, expected, f"WHILE with IF, {trips} trips", cache)
        if trips in (0, 4):
            run = run_emulated(model, inputs, "rp2040", cores=2)
            assert all(np.array_equal(g, e) for g, e in zip(run.outputs, expected, strict=True)), f"{trips} trips"
    ops = [s.op for s in compile_model(model, cores=2).plan.steps]
    assert ops.count("ARIEL_BRANCH_IF_FALSE") == 2 and ops.count("ARIEL_JUMP") == 2 and "IF" not in ops


def test_a_branch_of_another_signature_is_refused():
    m = MultiModelBuilder()
    main = m.subgraph()
    then_sub, then_sig = binary_branch(m, (2,), "ADD")
    else_sub, else_sig = binary_branch(m, (3,), "ADD")
    x, y, cond = main.tensor((2,), "float32"), main.tensor((2,), "float32"), main.tensor((1,), "bool")
    main.op("IF", [cond, x, x], [y], "IfOptions", thenSubgraphIndex=1, elseSubgraphIndex=2)
    with pytest.raises(UnsupportedOperatorError, match="dynamic shapes"):
        verify(parse_tflite(m.build({main: ([x, cond], [y]), then_sub: then_sig, else_sub: else_sig})))


@pytest.mark.parametrize("optimize", ["latency", "memory"])
def test_plans_with_jumps_and_conversions_verify_after_every_pass(optimize):
    from arielml.passes.pipeline import run_pipeline, verify_plan
    from arielml.passes.plan import CompileOptions
    rng = np.random.default_rng(31)
    for model_bytes in (while_model(rng, 2, trips_from_input=True)[0], if_model(rng, "input")[0],
                        while_model(rng, MAX_UNROLLED_TRIPS + 1)[0]):
        graph = verify(parse_tflite(model_bytes))
        for scheduler in ("static", "dynamic"):
            plan = run_pipeline(graph, CompileOptions(cores=2, scheduler=scheduler, optimize=optimize),
                                check=verify_plan)
            assert not {"IF", "WHILE"} & {s.op for s in plan.steps}


def test_a_subgraph_that_calls_itself_is_a_format_error():
    from arielml.errors import ModelFormatError
    for condition in ("constant", "input"):
        m = MultiModelBuilder()
        main, branch = m.subgraph(), m.subgraph()
        x, y, cond = main.tensor((2,), "float32"), main.tensor((2,), "float32"), main.tensor(
            (1,), "bool", data=np.array([True]) if condition == "constant" else None)
        main.op("IF", [cond, x], [y], "IfOptions", thenSubgraphIndex=1, elseSubgraphIndex=1)
        a, b = branch.tensor((2,), "float32"), branch.tensor((2,), "float32")
        c = branch.tensor((1,), "bool", data=np.array([True]))
        branch.op("IF", [c, a], [b], "IfOptions", thenSubgraphIndex=1, elseSubgraphIndex=1)
        inputs = [x] if condition == "constant" else [x, cond]
        with pytest.raises(ModelFormatError, match="calls itself"):
            verify(parse_tflite(m.build({main: (inputs, [y]), branch: ([a], [b])})))
