"""C kernels of ADD, SUB, MUL, MAXIMUM, MINIMUM (broadcasting), QUANTIZE, DEQUANTIZE, RELU, RELU6,
RELU_N1_TO_1 and LEAKY_RELU: randomised single-operator models, built by the numpy tests' case
generators, compiled to C and run natively on 1..3 threads under both schedulers; every output must
equal LiteRT's reference kernels (the contract) and the reference executor, byte for byte.

Builds are the cost, so the cases of a test are merged into one graph (independent operators side
by side) and compiled once per configuration. Each case keeps its seed for the failure message."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from arielml.backends.native import build_native
from arielml.backends.reference import run_reference
from arielml.codegen.emit import RUNTIME, emit
from arielml.compile import CompileResult, compile_model
from arielml.errors import UnsupportedOperatorError
from arielml.ir import NO_TENSOR, Graph
from arielml.ir.verify import verify
from tests.pointwise_cases import case_rng, load, log_uniform, random_values, random_zero_point
from tests.tflite_builder import ModelBuilder, run_litert

CONFIGS = [(1, "static"), (1, "dynamic"), (2, "static"), (2, "dynamic"), (3, "static"), (3, "dynamic")]
TARGET = "rv32-smp"  # its cheap tiles make the cost model split even small operators across cores
KERNEL_TYPES = ("int8", "uint8", "int16", "int32", "float32")


class Case:
    """One single-operator model, its inputs and LiteRT's output."""

    def __init__(self, seed: int, model_bytes: bytes, inputs: list[np.ndarray], what: str) -> None:
        self.seed, self.inputs, self.what = seed, inputs, what
        self.graph = load(model_bytes).graph
        self.expected = run_litert(model_bytes, inputs)[0]

    def __repr__(self) -> str:
        return f"seed={self.seed} ({self.what})"


def merge(graphs: list[Graph]) -> Graph:
    """Independent graphs side by side in one graph: inputs and outputs concatenated in order."""
    tensors, nodes, inputs, outputs = [], [], [], []
    for k, g in enumerate(graphs):
        base = len(tensors)

        def moved(indices, base=base):
            return tuple(t + base if t != NO_TENSOR else t for t in indices)

        tensors += [replace(t, name=f"case{k}/{t.name}") for t in g.tensors]
        nodes += [replace(n, inputs=moved(n.inputs), outputs=moved(n.outputs), index=len(nodes) + i)
                  for i, n in enumerate(g.nodes)]
        inputs += moved(g.inputs)
        outputs += moved(g.outputs)
    return verify(Graph(tuple(tensors), tuple(nodes), tuple(inputs), tuple(outputs), name="merged"))


def same(got: np.ndarray, want: np.ndarray) -> bool:
    return got.dtype == want.dtype and got.shape == want.shape and bool(np.array_equal(got, want, equal_nan=True))


def describe(got: np.ndarray, want: np.ndarray) -> str:
    if got.shape != want.shape or got.dtype != want.dtype:
        return f"got {got.dtype}{got.shape}, expected {want.dtype}{want.shape}"
    wrong = np.argwhere(~((got == want) | (np.isnan(got) & np.isnan(want)) if got.dtype.kind == "f" else got == want))
    first = tuple(int(i) for i in wrong[0])
    return f"{len(wrong)} of {got.size} differ; first at {first}: got {got[first]}, expected {want[first]}"


def check_native(cases: list[Case], cache, configs=CONFIGS) -> Graph:
    """Reference == LiteRT per case, then native == LiteRT for every configuration."""
    graph = merge([c.graph for c in cases])
    inputs = [x for c in cases for x in c.inputs]
    for case, got in zip(cases, run_reference(graph, inputs)):
        assert same(got, case.expected), f"{case}: reference != LiteRT: {describe(got, case.expected)}"
    for cores, scheduler in configs:
        lib = build_native(compile_model(graph, target=TARGET, cores=cores, scheduler=scheduler), cache)
        for case, got in zip(cases, lib.run(inputs).outputs):
            assert same(got, case.expected), (f"{case} cores={cores} {scheduler}: native != LiteRT: "
                                               f"{describe(got, case.expected)}")
    return graph


# ---- ADD, SUB, MUL, MAXIMUM, MINIMUM ----------------------------------------------------------------

BINARY_OPS = ("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM")


def _binary_cases(per_op: int) -> list[Case]:
    """The numpy tests' generator (random shapes up to 6-D and broadcast patterns, quantisation,
    fused activations, constants), at indices the numpy test does not use, without int64."""
    from tests.test_ops_elementwise import ARITHMETIC_TYPES, _random_case
    cases = []
    for op in BINARY_OPS:
        indices = [i for i in range(1000, 1100) if ARITHMETIC_TYPES[i % len(ARITHMETIC_TYPES)] in KERNEL_TYPES]
        for index in indices[:per_op]:
            seed, model_bytes, inputs, _ = _random_case(op, index)
            cases.append(Case(seed, model_bytes, inputs, f"{op} {ARITHMETIC_TYPES[index % 6]}"))
    return cases


def _large_broadcast_case(op: str, index: int) -> Case:
    """Hundreds to thousands of output elements with odd dimensions, so tiles (blocks of 64
    elements) start and end in the middle of rows and of broadcast runs."""
    from tests.test_ops_elementwise import OPTIONS, _build, _quant
    seed, rng = case_rng(f"native-large-{op}", index)
    dtype = KERNEL_TYPES[index % len(KERNEL_TYPES)]
    full = [int(d) for d in rng.integers(2, 12, size=int(rng.integers(2, 5)))]
    shapes = []
    for _ in range(2):
        kept = full[int(rng.integers(0, len(full))):] if rng.random() < 0.4 else full
        shapes.append(tuple(1 if rng.random() < 0.35 else d for d in kept))
    options = {"fusedActivationFunction": int(rng.integers(0, 4))} if op in OPTIONS else {}
    quant = _quant(rng, op, dtype, options)
    if options.get("potScaleInt16") and op == "ADD":
        options["potScaleInt16"] = False  # LiteRT's power-of-two int16 ADD does not broadcast
    inputs = [random_values(rng, s, dtype) for s in shapes]
    return Case(seed, _build(op, dtype, shapes, quant, options, None), inputs, f"{op} {dtype} {shapes}")


def test_binary_ops_match_litert(cache):
    cases = _binary_cases(per_op=8) + [_large_broadcast_case(op, i) for op in BINARY_OPS for i in range(5)]
    kernels = {s.call.kernel for s in compile_model(merge([c.graph for c in cases]), target=TARGET).plan.kernel_steps}
    # every arithmetic path is exercised: quantised 8/16-bit, power-of-two int16, float, int32, max/min
    assert {"ariel_add_sub_q_s8", "ariel_add_sub_q_u8", "ariel_add_sub_q_s16", "ariel_mul_q_s8",
            "ariel_mul_q_s16", "ariel_add_f32", "ariel_mul_s32", "ariel_maximum_s8", "ariel_minimum_f32"} <= kernels
    check_native(cases, cache)


# ---- QUANTIZE, DEQUANTIZE -------------------------------------------------------------------------------

def _quantize_cases() -> list[Case]:
    from arielml.ops.quantize import REQUANTIZE_PAIRS
    from tests.test_ops_quantize import _build, _channel_quant, _shape
    cases = []
    for index in range(9):  # float32 -> int8 / uint8 / int16, per tensor and per channel
        seed, rng = case_rng("native-QUANTIZE-float", index)
        dtype = ("int8", "uint8", "int16")[index % 3]
        shape = tuple(d * 3 for d in _shape(rng))  # up to ~40k elements: many tiles
        quant = _channel_quant(rng, shape, dtype, per_channel=index % 2 == 1)
        reach = float(np.max(quant[0])) * (1.2 * np.iinfo(np.dtype(dtype)).max)
        x = random_values(rng, shape, "float32", float_range=reach)
        x.flat[: min(4, x.size)] = np.float32(np.max(quant[0])) * np.float32([0.5, -0.5, 1.5, -2.5])[: min(4, x.size)]
        model = _build("QUANTIZE", shape, "float32", None, dtype, quant)
        cases.append(Case(seed, model, [x], f"QUANTIZE f32->{dtype}"))
    pairs = [(i, o) for i, outs in REQUANTIZE_PAIRS.items() for o in outs]
    for index, (in_dtype, out_dtype) in enumerate(pairs):  # every requantisation pair
        seed, rng = case_rng("native-QUANTIZE-requant", index)
        shape = _shape(rng)
        in_scale = log_uniform(rng, 1e-4, 1.0)
        out_scale = float(np.float32(in_scale * log_uniform(rng, 1e-3, 1e3)))
        in_zp = random_zero_point(rng, in_dtype) if in_dtype != "int32" else int(rng.integers(-1000, 1000))
        out_zp = random_zero_point(rng, out_dtype)
        if in_dtype == out_dtype == "int16":
            in_zp = out_zp = 0
        model = _build("QUANTIZE", shape, in_dtype, (in_scale, in_zp), out_dtype, (out_scale, out_zp))
        cases.append(Case(seed, model, [random_values(rng, shape, in_dtype)], f"QUANTIZE {in_dtype}->{out_dtype}"))
    for index in range(8):  # DEQUANTIZE per tensor (tables) and per channel (float multiply)
        seed, rng = case_rng("native-DEQUANTIZE", index)
        dtype = ("int8", "uint8", "int16")[index % 3]
        shape = _shape(rng)
        quant = _channel_quant(rng, shape, dtype, per_channel=dtype != "int16" and index % 2 == 1)
        model = _build("DEQUANTIZE", shape, dtype, quant, "float32", None)
        cases.append(Case(seed, model, [random_values(rng, shape, dtype)], f"DEQUANTIZE {dtype}"))
    return cases


def test_quantize_dequantize_match_litert(cache):
    cases = _quantize_cases()
    kernels = {s.call.kernel for s in compile_model(merge([c.graph for c in cases]), target=TARGET).plan.kernel_steps}
    assert {"ariel_quantize_f32_s8", "ariel_quantize_f32_u8", "ariel_quantize_f32_s16", "ariel_table8_to_8",
            "ariel_table8_to_s16", "ariel_table8_to_f32", "ariel_requantize_s16_s8", "ariel_requantize_s32_s16",
            "ariel_dequantize_s16_f32", "ariel_dequantize_s8_f32"} <= kernels
    check_native(cases, cache)


# ---- RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU --------------------------------------------------------------

def _activation_cases(per_op: int) -> list[Case]:
    from arielml.ops.activation import CLAMPS, LEAKY_RELU_TYPES
    from tests.test_ops_activation import _build, _random_case
    cases = []
    for op in (*CLAMPS, "LEAKY_RELU"):
        dtypes = LEAKY_RELU_TYPES if op == "LEAKY_RELU" else CLAMPS[op][1]
        for index in range(1000, 1000 + per_op):
            seed, rng, shape, dtype, quant, x = _random_case(op, index, dtypes)
            alpha = None
            if op == "LEAKY_RELU":
                alpha = float(np.float32(rng.choice([0.01, 0.2, -0.5, rng.uniform(-2.0, 2.0)])))
            cases.append(Case(seed, _build(op, shape, dtype, quant, alpha), [x], f"{op} {dtype}"))
    return cases


def test_activations_match_litert(cache):
    cases = _activation_cases(per_op=8)
    kernels = {s.call.kernel for s in compile_model(merge([c.graph for c in cases]), target=TARGET).plan.kernel_steps}
    assert {"ariel_clamp_f32", "ariel_requantize_s16_s16", "ariel_leaky_relu_f32", "ariel_leaky_relu_s16",
            "ariel_table8_to_8"} <= kernels
    check_native(cases, cache)


def test_tflm_semantics_bit_exact(cache):
    """--semantics tflm changes the prepared params (SUB/MUL multipliers, int16 ADD/SUB path, int16
    RELU6 as a clamp of stored values, ...): the kernels follow the reference executor there too."""
    from arielml.backends.reference import prepare_all
    from arielml.ops.registry import TFLM
    cases = _binary_cases(per_op=4) + _activation_cases(per_op=8)
    graph = merge([c.graph for c in cases])
    inputs = [x for c in cases for x in c.inputs]
    expected = run_reference(graph, inputs, prepare_all(graph, TFLM))
    for cores, scheduler in [(2, "dynamic"), (3, "static")]:
        result = compile_model(graph, target=TARGET, cores=cores, scheduler=scheduler, semantics="tflm")
        assert "ariel_clamp_s16" in {s.call.kernel for s in result.plan.kernel_steps}
        for case, got, want in zip(cases, build_native(result, cache).run(inputs).outputs, expected):
            assert same(got, want), f"{case} tflm cores={cores} {scheduler}: {describe(got, want)}"


# ---- in place, and any split of the work items ------------------------------------------------------------

def _chain_case(dtype: str) -> Case:
    """float -> QUANTIZE -> ADD (broadcast constant) -> RELU -> LEAKY_RELU -> MUL (by itself) ->
    MAXIMUM (constant) -> SUB (minus the ADD's output) -> QUANTIZE (requantise) -> DEQUANTIZE -> float.
    Every intermediate but the ADD's output is dead after its consumer, so the planner runs those
    consumers in place (RELU must not: SUB still reads its input)."""
    seed, rng = case_rng(f"native-chain-{dtype}", 0)
    b = ModelBuilder()
    shape = (1, 13, 11, 7)
    info = np.iinfo(np.dtype(dtype))

    def q() -> tuple[float, int]:
        return log_uniform(rng, 0.02, 0.1), 0 if dtype == "int16" else random_zero_point(rng, dtype)

    x = b.tensor(shape, "float32")
    t = [b.tensor(shape, dtype, quant=q()) for _ in range(8)]
    const = b.tensor((7,), dtype, quant=q(), data=rng.integers(int(info.min), int(info.max) + 1, size=7))
    floor = b.tensor((1, 1, 11, 1), dtype, quant=q(), data=rng.integers(-20, 20, size=11))
    out = b.tensor(shape, "float32")
    b.op("QUANTIZE", [x], [t[0]])
    b.op("ADD", [t[0], const], [t[1]], "AddOptions", potScaleInt16=False)
    b.op("RELU", [t[1]], [t[2]])
    b.op("LEAKY_RELU", [t[2]], [t[3]], "LeakyReluOptions", alpha=0.25)
    b.op("MUL", [t[3], t[3]], [t[4]], "MulOptions")
    b.op("MAXIMUM", [t[4], floor], [t[5]])
    b.op("SUB", [t[5], t[1]], [t[6]], "SubOptions", potScaleInt16=False)
    b.op("QUANTIZE", [t[6]], [t[7]])
    b.op("DEQUANTIZE", [t[7]], [out])
    model = b.build([x], [out])
    return Case(seed, model, [rng.uniform(-4, 4, size=shape).astype(np.float32)], f"chain {dtype}")


def test_operators_run_in_place_and_stay_exact(cache):
    cases = [_chain_case(dtype) for dtype in ("int8", "uint8", "int16")]
    graph = check_native(cases, cache)
    notes = compile_model(graph, target=TARGET, cores=2).plan.notes
    in_place = {note.split(" #")[0] for note in notes if "in place" in note}
    assert in_place == {"ADD", "LEAKY_RELU", "MUL", "MAXIMUM", "SUB", "QUANTIZE"}, notes


def _random_tiles(items: int, rng: np.random.Generator) -> tuple[tuple[int, int], ...]:
    if items <= 1:
        return ((0, items),)
    cuts = sorted(set(rng.integers(1, items, size=min(items - 1, int(rng.integers(0, 12)))).tolist()))
    bounds = [0, *cuts, items]
    return tuple((bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1))


def test_any_split_of_the_work_items_gives_the_same_bytes(cache):
    """Random tile boundaries (single items, uneven ranges) on 3 threads pulling tiles dynamically."""
    seed = 4_242
    rng = np.random.default_rng(seed)
    cases = ([_large_broadcast_case(op, 10 + i) for op in BINARY_OPS for i in range(2)]
             + [_chain_case("int8")] + _quantize_cases()[:9])
    graph = merge([c.graph for c in cases])
    inputs = [x for c in cases for x in c.inputs]
    for attempt in range(2):
        plan = compile_model(graph, target=TARGET, cores=3, scheduler="dynamic").plan
        steps = tuple(s if s.is_view else replace(s, tiles=_random_tiles(s.work_items, rng)) for s in plan.steps)
        assert sum(len(s.tiles) > 1 for s in steps) >= len(cases) // 2
        plan = replace(plan, steps=steps)
        sources, weights_bytes = emit(plan)
        lib = build_native(CompileResult(plan.arena_bytes, weights_bytes, tuple(sources), plan, sources), cache)
        for case, got in zip(cases, lib.run(inputs).outputs):
            assert same(got, case.expected), (f"{case} split seed={seed} attempt={attempt}: "
                                               f"{describe(got, case.expected)}")


# ---- refusals and cross compilation ------------------------------------------------------------------------

def test_integer_models_carry_no_floating_point(cache):
    """int8 ADD/MUL/MAXIMUM and table activations link only the integer kernel files."""
    cases = [c for c in _binary_cases(per_op=4) + _activation_cases(per_op=4)
             if c.graph.tensors[c.graph.outputs[0]].dtype in ("int8", "uint8", "int16")]
    result = compile_model(merge([c.graph for c in cases]), target=TARGET, cores=2)
    sources = {s.call.source for s in result.plan.kernel_steps}
    assert sources == {"elementwise.c", "unary.c"}, sources
    for rel, text in result.sources.items():
        if rel.endswith(".c") and "posix" not in rel:
            code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
            assert not re.search(r"\b(float|double)\b", code), rel


def test_variants_without_kernel_are_refused_clearly():
    b = ModelBuilder()
    x, y, z = (b.tensor((2, 3), "int64") for _ in range(3))
    b.op("ADD", [x, y], [z], "AddOptions")
    with pytest.raises(UnsupportedOperatorError, match="no C kernel yet for ADD .*int64"):
        compile_model(load(b.build([x, y], [z])).graph)


CROSS = {"arm-none-eabi-gcc": ("-mcpu=cortex-m0plus", "-mthumb"),
         "riscv64-unknown-elf-gcc": ("-march=rv32imac_zicsr", "-mabi=ilp32")}


@pytest.mark.parametrize("compiler", sorted(CROSS))
def test_kernels_cross_compile_for_the_mcu_cores(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (make test installs it)")
    for source in ("elementwise.c", "elementwise_f32.c", "unary.c", "unary_f32.c"):
        cmd = [compiler, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffreestanding", *CROSS[compiler],
               f"-I{RUNTIME / 'include'}", "-c", str(RUNTIME / "kernels" / source), "-o", str(tmp_path / "k.o")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert Path(tmp_path / "k.o").stat().st_size > 0
