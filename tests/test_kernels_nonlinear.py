"""C kernels of SOFTMAX, LOG_SOFTMAX, LOGISTIC, TANH and HARD_SWISH (runtime/kernels/softmax.c,
nonlinear.c): randomised multi-operator models compiled natively, run at 1..3 cores under both
schedulers, bytes identical to the reference executor (float32 within the tolerance of
tests/test_ops_nonlinear.py: libm's expf/tanhf against numpy's). Each model holds several
independent single-op branches so that one build covers many cases; a failure names its seed."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from arielml.api import Model
from arielml.backends.native import build_native
from arielml.backends.reference import prepare_all, run_reference
from arielml.codegen.emit import RUNTIME
from arielml.compile import compile_model
from arielml.errors import UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from arielml.ops.registry import SEMANTICS
from tests.test_ops_nonlinear import FLOAT_ATOL, FLOAT_RTOL, _inputs, _log_uniform, _shape, _zero_point
from tests.tflite_builder import ModelBuilder, run_litert

CONFIGS = [(c, s) for c in (1, 2, 3) for s in ("static", "dynamic")]
BASE_SEED = 51_700_000
NONLINEAR = ("SOFTMAX", "LOG_SOFTMAX", "LOGISTIC", "TANH", "HARD_SWISH")


class Branches:
    """A model of independent single-op branches, each with its own input and output."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.builder = ModelBuilder()
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.in_dtypes: list[str] = []
        self.shapes: list[tuple[int, ...]] = []

    def add(self, op: str, shape, in_dtype: str, in_q, out_dtype: str, out_q, options_type=None, **options):
        x = self.builder.tensor(shape, in_dtype, quant=in_q)
        y = self.builder.tensor(shape, out_dtype, quant=out_q)
        self.builder.op(op, [x], [y], options_type, **options)
        self.inputs.append(x)
        self.outputs.append(y)
        self.in_dtypes.append(in_dtype)
        self.shapes.append(tuple(shape))

    def model(self) -> tuple[bytes, Model]:
        data = self.builder.build(self.inputs, self.outputs)
        return data, Model(verify(parse_tflite(data)))

    def input_sets(self, count: int) -> list[list[np.ndarray]]:
        """`count` sets of inputs: full-range codes first, then narrow bands (similar values in a
        row stress the softmax sums)."""
        per_branch = [_inputs(self.rng, shape, dtype, n=count) for shape, dtype in zip(self.shapes, self.in_dtypes)]
        return [[arrays[k] for arrays in per_branch] for k in range(count)]


# ---- random branches, the same distributions as tests/test_ops_nonlinear.py -----------------

def add_softmax(b: Branches, in_dtype: str, out_dtype: str, shape=None) -> None:
    rng = b.rng
    shape = shape or _shape(rng)
    beta = float(np.float32(rng.choice([1.0, _log_uniform(rng, 0.05, 4.0)])))
    if in_dtype == "float32":
        b.add("SOFTMAX", shape, "float32", None, "float32", None, "SoftmaxOptions", beta=beta)
        return
    if in_dtype == "int16":
        in_q = (_log_uniform(rng, 2 ** -14, 2 ** -8), 0)
        out_q = (1 / 32768, 0)
    else:
        in_q = (_log_uniform(rng, 0.002, 0.5), _zero_point(rng, in_dtype))
        out_q = {"int8": (1 / 256, -128), "uint8": (1 / 256, 0), "int16": (1 / 65536, -32768)}[out_dtype]
    b.add("SOFTMAX", shape, in_dtype, in_q, out_dtype, out_q, "SoftmaxOptions", beta=beta)


def add_log_softmax(b: Branches, dtype: str, shape=None) -> None:
    rng = b.rng
    shape = shape or _shape(rng)
    if dtype == "float32":
        b.add("LOG_SOFTMAX", shape, "float32", None, "float32", None)
        return
    in_q = (_log_uniform(rng, 0.002, 0.5), _zero_point(rng, dtype))
    b.add("LOG_SOFTMAX", shape, dtype, in_q, dtype, (16 / 256, int(np.iinfo(dtype).max)))


def add_sigmoid_like(b: Branches, op: str, dtype: str, standard: bool | None = None) -> None:
    """LOGISTIC / TANH; 8-bit outputs take the quantisation TFLite Micro's fixed-point path assumes
    when `standard` (None: half of the time), free ones otherwise."""
    rng = b.rng
    shape = _shape(rng)
    if dtype == "float32":
        b.add(op, shape, "float32", None, "float32", None)
        return
    if dtype == "int16":
        if rng.random() < 0.5:
            in_q = (2.0 ** -12 if op == "LOGISTIC" else float(rng.choice([2.0 ** -12, 2.0 ** -11])), 0)
        else:
            in_q = (_log_uniform(rng, 1e-4, 2e-3), 0)
        b.add(op, shape, "int16", in_q, "int16", (1 / 32768, 0))
        return
    in_q = (_log_uniform(rng, 0.002, 0.25), _zero_point(rng, dtype))
    low = int(np.iinfo(dtype).min)
    standard = rng.random() < 0.5 if standard is None else standard
    if op == "LOGISTIC":
        out_q = (1 / 256, low if standard or dtype == "uint8" else _zero_point(rng, dtype))
    elif standard:
        out_q = (1 / 128, low + 128)
    else:
        out_q = (_log_uniform(rng, 0.003, 0.02), _zero_point(rng, dtype))
    b.add(op, shape, dtype, in_q, dtype, out_q)


def add_hard_swish(b: Branches, dtype: str) -> None:
    rng = b.rng
    shape = _shape(rng)
    if dtype == "float32":
        b.add("HARD_SWISH", shape, "float32", None, "float32", None)
        return
    in_q = (_log_uniform(rng, 0.003, 0.3), _zero_point(rng, dtype))
    out_q = (_log_uniform(rng, 0.003, 0.3), _zero_point(rng, dtype))
    b.add("HARD_SWISH", shape, dtype, in_q, dtype, out_q)


def family_model(rng: np.random.Generator, dtype: str) -> Branches:
    """Every operator of the family for one input type, two random branches of each."""
    b = Branches(rng)
    for _ in range(2):
        if dtype in ("int8", "uint8"):
            add_softmax(b, dtype, dtype)
            add_softmax(b, dtype, "int16")
            add_log_softmax(b, dtype)
            add_hard_swish(b, dtype)
        elif dtype == "float32":
            add_softmax(b, "float32", "float32")
            add_log_softmax(b, "float32")
            add_hard_swish(b, "float32")
        else:
            add_softmax(b, "int16", "int16")
        for op in ("LOGISTIC", "TANH"):
            add_sigmoid_like(b, op, dtype)
    return b


def long_rows_model(rng: np.random.Generator) -> tuple[Branches, list[list[np.ndarray]]]:
    """Rows of 512 and more: with many equal codes the sum of exponentials reaches 512 and more,
    the output shift exceeds 31 (LiteRT aborts there; the reference gives the minimum code), and
    a row of 4095 equal codes is the largest sum the kernel accepts."""
    b = Branches(rng)
    add_softmax(b, "int8", "int8", shape=(3, 700))
    add_softmax(b, "uint8", "uint8", shape=(2, 1000))
    add_softmax(b, "int8", "int16", shape=(2, 600))
    add_log_softmax(b, "int8", shape=(2, 900))
    add_log_softmax(b, "uint8", shape=(1, 4095))
    add_softmax(b, "int8", "int8", shape=(1, 4095))
    add_softmax(b, "int16", "int16", shape=(2, 3000))
    sets = []
    for kind in ("equal", "band", "full"):
        arrays = []
        for shape, dtype in zip(b.shapes, b.in_dtypes):
            info = np.iinfo(dtype)
            if kind == "equal":  # every row constant: sum = depth
                rows = rng.integers(info.min, info.max + 1, size=(shape[0], 1))
                arrays.append(np.broadcast_to(rows, shape).astype(dtype))
            elif kind == "band":
                lo = int(rng.integers(info.min, info.max - 3))
                arrays.append(rng.integers(lo, lo + 4, size=shape).astype(dtype))
            else:
                arrays.append(rng.integers(info.min, info.max + 1, size=shape).astype(dtype))
        sets.append(arrays)
    return b, sets


# ---- checks -----------------------------------------------------------------------------------

def _compare(got: list[np.ndarray], want: list[np.ndarray], model: Model, where: str) -> None:
    for k, (g, w) in enumerate(zip(got, want)):
        node = model.graph.nodes[k]
        what = f"{where}: branch {k} {node.op} {w.dtype}{tuple(w.shape)}"
        assert g.dtype == w.dtype and g.shape == w.shape, f"{what}: got {g.dtype}{g.shape}"
        if w.dtype == np.float32:
            assert np.allclose(g, w, rtol=FLOAT_RTOL, atol=FLOAT_ATOL), (
                f"{what}: max |diff| {np.abs(g.astype(np.float64) - w).max()}")
        else:
            assert np.array_equal(g, w), f"{what}: {(g != w).sum()} of {g.size} differ"


def check_configs(model: Model, input_sets, cache, where: str, semantics: str = "litert", configs=CONFIGS):
    prepared = prepare_all(model.graph, SEMANTICS[semantics])
    expected = [run_reference(model.graph, inputs, prepared) for inputs in input_sets]
    split = False
    for cores, scheduler in configs:
        # rv32-smp's cheap tiles make the cost model split ops, so the threads really share rows
        result = compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler, semantics=semantics)
        lib = build_native(result, cache)
        split |= any(len(s.tiles) > 1 for s in result.plan.kernel_steps if s.op in NONLINEAR)
        for inputs, want in zip(input_sets, expected):
            _compare(lib.run(inputs).outputs, want, model, f"{where} cores={cores} {scheduler} {semantics}")
    assert split or all(c == 1 for c, _ in configs), f"{where}: no operator was split over several tiles"


@pytest.mark.parametrize("dtype, salt", [("int8", 0), ("uint8", 1), ("int16", 2), ("float32", 3)])
def test_random_family_models_match_reference(dtype, salt, cache):
    for model_index in range(2):
        seed = BASE_SEED + 100 * salt + model_index
        b = family_model(np.random.default_rng(seed), dtype)
        data, model = b.model()
        input_sets = b.input_sets(2)
        # the first model under every configuration, the second under every other one (build time)
        check_configs(model, input_sets, cache, f"seed={seed}", configs=CONFIGS[model_index::model_index + 1])
        if model_index == 0:  # the reference itself is LiteRT's reference kernels bit for bit
            want = run_litert(data, input_sets[0])
            _compare(model.run(input_sets[0]), want, model, f"seed={seed} reference vs LiteRT")


def test_tflm_semantics_fixed_point_paths(cache):
    """int8 LOGISTIC/TANH take TFLite Micro's gemmlowp path and int16 SOFTMAX its float32 tables."""
    seed = BASE_SEED + 500
    rng = np.random.default_rng(seed)
    b = Branches(rng)
    for _ in range(3):
        add_sigmoid_like(b, "LOGISTIC", "int8", standard=True)
        add_sigmoid_like(b, "TANH", "int8", standard=True)
        add_softmax(b, "int16", "int16")
    _, model = b.model()
    check_configs(model, b.input_sets(2), cache, f"seed={seed}", semantics="tflm",
                  configs=[(1, "static"), (2, "dynamic"), (3, "static")])


def test_rows_of_512_and_more(cache):
    seed = BASE_SEED + 600
    b, input_sets = long_rows_model(np.random.default_rng(seed))
    _, model = b.model()
    expected = run_reference(model.graph, input_sets[0], prepare_all(model.graph, SEMANTICS["litert"]))
    # the case matters: constant rows of 700 give a sum of 700 and an int8 output of -128
    assert (expected[0] == -128).all()
    check_configs(model, input_sets, cache, f"seed={seed}", configs=CONFIGS[:1] + CONFIGS[-1:])


def test_longer_rows_are_refused_with_a_clear_error():
    b = Branches(np.random.default_rng(0))
    add_softmax(b, "int8", "int8", shape=(1, 4096))
    _, model = b.model()
    with pytest.raises(UnsupportedOperatorError, match="last axis of 4096"):
        compile_model(model, target="rv32-smp", cores=2)


def test_pointwise_ops_write_in_place_over_a_dead_input(cache):
    """A chain LOGISTIC -> TANH -> HARD_SWISH -> SOFTMAX on int8: the planner puts the TANH and
    HARD_SWISH outputs over their dead inputs (each kernel reads element i before writing it)."""
    seed = BASE_SEED + 700
    rng = np.random.default_rng(seed)
    builder = ModelBuilder()
    shape = (4, 9, 13)
    x = builder.tensor(shape, "int8", quant=(0.05, 3))
    a = builder.tensor(shape, "int8", quant=(1 / 256, -128))
    t = builder.tensor(shape, "int8", quant=(1 / 128, 0))
    h = builder.tensor(shape, "int8", quant=(0.01, -20))
    s = builder.tensor(shape, "int8", quant=(1 / 256, -128))
    builder.op("LOGISTIC", [x], [a])
    builder.op("TANH", [a], [t])
    builder.op("HARD_SWISH", [t], [h])
    builder.op("SOFTMAX", [h], [s], "SoftmaxOptions", beta=1.0)
    model = Model(verify(parse_tflite(builder.build([x], [s]))))
    plan = compile_model(model, target="rv32-smp", cores=2).plan
    assert any("in place" in note for note in plan.notes), plan.notes
    inputs = [rng.integers(-128, 128, size=shape).astype(np.int8)]
    check_configs(model, [inputs], cache, f"seed={seed}", configs=[(1, "static"), (2, "dynamic"), (3, "static")])


# ---- the kernels compile for the MCU toolchains ----------------------------------------------

# picolibc supplies <math.h> to the float32 kernels; the integer ones need no C library at all
CROSS = {"arm-none-eabi-gcc": ("-mcpu=cortex-m0plus", "-mthumb", "--specs=picolibc.specs"),
         "riscv64-unknown-elf-gcc": ("-march=rv32imac_zicsr", "-mabi=ilp32", "--specs=picolibc.specs")}


@pytest.mark.parametrize("compiler", ["gcc", *CROSS])
def test_kernels_compile_warning_free(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    flags = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", *CROSS.get(compiler, ()))
    if compiler in CROSS:
        flags += ("-ffreestanding",)
    for source in ("softmax.c", "nonlinear.c", "softmax_f32.c", "nonlinear_f32.c"):
        subprocess.run([compiler, *flags, f"-I{RUNTIME / 'include'}", "-c", str(RUNTIME / "kernels" / source),
                        "-o", str(tmp_path / (source + ".o"))], check=True, capture_output=True)
