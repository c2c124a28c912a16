"""The emulator backend: the compiler's C, cross-compiled for a board and run on the emulated cores.

Bit-exact against the reference executor for every int8 zoo model on rp2040 (1 and 2 cores, both
schedulers) and for a selection on every other emulated board (two ISAs in one run on
rp2350-mixed, cores of different speeds on stm32h747, up to 8 cores on rv32-smp); float models
within float tolerance (hard and soft float); identical bytes under randomised interleavings;
deterministic cycles; models that do not fit are refused with the numbers; faults name the
operator; the API and CLI entry points."""
from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

import arielml
from arielml.backends.emulator import build_emulated, run_emulated
from arielml.cli import main
from arielml.compile import compile_model, plan_model
from arielml.errors import FirmwareFault, FitError, InputError, TargetError
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross
from tests.tflite_builder import ModelBuilder

pytestmark = [pytest.mark.cross, needs_cross]


def _int8_zoo() -> list[str]:
    with open(ZOO / "MANIFEST.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return sorted(r["filename"][:-len(".tflite")] for r in rows
                  if r["filename"].endswith(".tflite") and r["quant"].startswith("int8"))


INT8_ZOO = _int8_zoo()
KWS = "mlcommons_tiny/kws_ref_model"


@pytest.fixture(scope="module")
def cache(pytestconfig):
    return pytestconfig.cache.mkdir("arielml_emulator")


_models: dict[str, arielml.Model] = {}


def model_of(name: str) -> arielml.Model:
    if name not in _models:
        _models[name] = arielml.load(ZOO / f"{name}.tflite")
    return _models[name]


def assert_same(got: list[np.ndarray], want: list[np.ndarray], where: str) -> None:
    assert len(got) == len(want), where
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape, where
        assert np.array_equal(g, w), f"{where}: {(g != w).sum()} of {g.size} values differ"


def assert_close(got: list[np.ndarray], want: list[np.ndarray], where: str) -> None:
    """Float kernels sum in another order than numpy (and soft float rounds like hard float)."""
    for g, w in zip(got, want):
        assert g.dtype == w.dtype == np.float32 and g.shape == w.shape, where
        scale = max(float(np.abs(w).max()), 1e-6)
        assert np.allclose(g, w, rtol=1e-4, atol=1e-5 * scale), f"{where}: max |diff| {float(np.abs(g - w).max())}"


def check_run_shape(run, firmware, cores: int) -> None:
    """What every run reports, independent of the numbers."""
    steps = firmware.plan.kernel_steps
    assert run.cores == cores and run.cycles > 0 and run.ms > 0 and run.instructions > 0
    assert [row["index"] for row in run.per_op] == list(range(len(steps)))
    assert [row["type"] for row in run.per_op] == [s.op for s in steps]
    for row, step in zip(run.per_op, steps):
        assert len(row["per_core_cycles"]) == cores and sum(row["tiles_per_core"]) == len(step.tiles) == row["tiles"]
    assert 0 < run.ram_bytes and 0 < run.flash_bytes
    json.dumps(run.summary())  # JSON-able


@pytest.mark.parametrize("name", INT8_ZOO)
def test_int8_zoo_on_rp2040_is_bit_exact_at_1_and_2_cores(name, cache):
    model = model_of(name)
    x = model.random_inputs(0)
    want = model.run(x)
    cycles = {}
    for cores, scheduler in ((1, "static"), (2, "static"), (2, "dynamic")):
        firmware = build_emulated(model, "rp2040", cores, scheduler, cache_dir=cache)
        run = firmware.run(x)
        where = f"{name} rp2040 cores={cores} {scheduler}"
        assert_same(run.outputs, want, where)
        check_run_shape(run, firmware, cores)
        cycles[(cores, scheduler)] = run.cycles
    # every model but the smallest spends most of its time in operators that split over both cores
    if cycles[(1, "static")] > 1_000_000:
        assert cycles[(2, "static")] < 0.8 * cycles[(1, "static")], cycles
        assert cycles[(2, "dynamic")] < 0.8 * cycles[(1, "static")], cycles


BOARD_CASES = [
    ("rp2350-arm", 2, "static", "mlcommons_tiny/vww_96_int8"),
    ("rp2350-arm", 2, "dynamic", KWS),
    ("rp2350-riscv", 2, "static", KWS),
    ("rp2350-riscv", 2, "dynamic", "mlcommons_tiny/pretrainedResnet_quant"),
    ("rp2350-mixed", 2, "static", KWS),
    ("rp2350-mixed", 2, "dynamic", "mlcommons_tiny/str_ww_ref_model"),
    ("stm32h747", 2, "static", KWS),
    ("stm32h747", 2, "dynamic", "mlcommons_tiny/ad01_int8"),
    ("nrf52840", 1, "static", KWS),
    ("rv32-smp", 4, "static", KWS),
    ("rv32-smp", 8, "dynamic", KWS),
    ("rv32-smp", 8, "static", "simpletinyml_oneliner/lenet5_quantized"),
]


@pytest.mark.parametrize("target,cores,scheduler,name", BOARD_CASES)
def test_other_boards_are_bit_exact(target, cores, scheduler, name, cache):
    model = model_of(name)
    x = model.random_inputs(1)
    firmware = build_emulated(model, target, cores, scheduler, cache_dir=cache)
    run = firmware.run(x)
    assert_same(run.outputs, model.run(x), f"{name} {target} cores={cores} {scheduler}")
    check_run_shape(run, firmware, cores)
    core_types = {firmware.board.core(c)[0].name for c in range(cores)}
    assert len(firmware.firmware.images) == len(core_types)  # two ISAs / two core types: two images
    if cores > 1:
        # every core ran tiles of the model (on rp2350-mixed: Arm and RISC-V code on one arena)
        tiles = np.sum([row["tiles_per_core"] for row in run.per_op], axis=0)
        assert all(t > 0 for t in tiles), tiles


@pytest.mark.parametrize("target,cores,scheduler,name", [
    ("rp2350-arm", 2, "static", "mlcommons_tiny/pretrainedResnet"),   # FPU
    ("rp2040", 2, "dynamic", "mlcommons_tiny/ad01_fp32"),             # soft float (libgcc)
    ("rp2040", 1, "static", "tflite_micro/hello_world_float"),
])
def test_float_models_within_tolerance(target, cores, scheduler, name, cache):
    model = model_of(name)
    x = model.random_inputs(2)
    run = build_emulated(model, target, cores, scheduler, cache_dir=cache).run(x)
    assert_close(run.outputs, model.run(x), f"{name} {target} cores={cores} {scheduler}")


def test_randomised_interleavings_give_identical_bytes(cache):
    name = "mlcommons_tiny/str_ww_ref_model"
    model = model_of(name)
    x = model.random_inputs(3)
    want = model.run(x)
    firmware = build_emulated(model, "rp2040", 2, "dynamic", cache_dir=cache)
    schedules = set()
    # two tiles per operator: which core pulls which depends on who reaches the counter first, so
    # a dozen seeds and two quanta (six seeds at one quantum once all drew the same schedule)
    for seed in range(12):
        run = firmware.run(x, quantum_cycles=300 + 200 * (seed % 2), seed=seed)
        assert_same(run.outputs, want, f"{name} rp2040 2 cores dynamic, seed {seed}")
        schedules.add(tuple(sorted((t.op, t.tile, t.core) for t in run.profile.tiles)))
    # the seeds really change which core pulls which tile
    assert len(schedules) > 1


def test_deterministic_runs_give_the_same_cycles(cache):
    model = model_of(KWS)
    x = model.random_inputs(4)
    firmware = build_emulated(model, "rp2040", 2, "dynamic", cache_dir=cache)
    first, again = firmware.run(x), firmware.run(x)
    assert first.cycles == again.cycles and first.per_op == again.per_op
    assert first.instructions == again.instructions
    assert_same(first.outputs, again.outputs, "repeat")


def test_compile_refuses_weights_larger_than_flash():
    path = ZOO / "mlcommons_tiny" / "ad01_fp32.tflite"
    weights = compile_model(path, target="rv32-smp").weights_bytes
    with pytest.raises(FitError) as info:
        compile_model(path, target="nrf52840")
    message = str(info.value)
    assert f"weights {weights / 1024:.1f} KB" in message and "board has 1024 KB" in message, message
    # two core types = two images, each with its own copy of the weights
    with pytest.raises(FitError, match=r"x 2 images.*board has 2048 KB"):
        compile_model(path, target="stm32h747", cores=2)
    compile_model(path, target="stm32h747", cores=1)  # one image fits


def test_compile_refuses_an_arena_larger_than_sram(tmp_path):
    b = ModelBuilder()
    shape = (1, 128, 128, 4)  # three 256 KB float tensors live at once
    x, y, z = (b.tensor(shape, "float32") for _ in range(3))
    b.op("ADD", [x, y], [z], "AddOptions")
    path = tmp_path / "big_add.tflite"
    path.write_bytes(b.build(inputs=[x, y], outputs=[z]))
    arena = plan_model(path, target="rp2040").arena_bytes
    assert arena > 264 * 1024
    with pytest.raises(FitError) as info:
        compile_model(path, target="rp2040")
    message = str(info.value)
    assert f"arena {arena / 1024:.1f}".rstrip("0").rstrip(".") in message and "board has 264 KB" in message, message


def test_build_refuses_a_firmware_that_does_not_fit(cache):
    """vww_96_float: its 252 KB arena passes the plan's lower bound on the nRF52840 (256 KB), the
    linked ELF (arena + stack + runtime) does not."""
    model = model_of("mlcommons_tiny/vww_96_float")
    compile_model(model.graph, target="nrf52840")
    with pytest.raises(FitError) as info:
        build_emulated(model, "nrf52840", 1, cache_dir=cache)
    numbers = re.search(r"RAM (\d+) of (\d+) bytes", str(info.value))
    assert numbers is not None, str(info.value)
    assert int(numbers.group(2)) == 256 * 1024 < int(numbers.group(1))


def test_a_fault_in_a_kernel_names_the_operator(cache):
    model = model_of(KWS)
    firmware = build_emulated(model, "rp2040", 2, "dynamic", cache_dir=cache)
    assert firmware.plan.kernel_steps[2].op == "CONV_2D"

    def corrupt_input_pointer_of_op2(machine):
        machine.write(machine.symbol_address("model_op2_buffers"), (0x3000_0000).to_bytes(4, "little"))

    with pytest.raises(FirmwareFault) as info:
        firmware.run(model.random_inputs(0), before_start=corrupt_input_pointer_of_op2)
    message = str(info.value)
    assert "operator 2 (CONV_2D, model operator #2)" in message, message
    assert "read of unmapped address 0x30000000" in message and "rp2040 core" in message, message
    assert " in ?" not in message  # a symbol, not an unknown PC
    # the firmware is not damaged: the next run is fine
    x = model.random_inputs(0)
    assert_same(firmware.run(x).outputs, model.run(x), "after the fault")


def test_esp32s3_compiles_but_is_not_emulated(cache):
    model = model_of("tflite_micro/hello_world_int8")
    assert compile_model(model.graph, target="esp32s3", cores=2).sources
    with pytest.raises(TargetError, match="code generation and cost-model estimates only"):
        build_emulated(model, "esp32s3", 2, cache_dir=cache)


def test_bad_inputs_are_refused_before_building(cache):
    model = model_of("tflite_micro/hello_world_int8")
    with pytest.raises(InputError, match="must be int8"):
        run_emulated(model, [np.zeros((1, 1), np.float32)], "rp2040", 2, cache_dir=cache)
    with pytest.raises(InputError, match="shape"):
        run_emulated(model, [np.zeros((1, 3), np.int8)], "rp2040", 2, cache_dir=cache)
    with pytest.raises(TargetError, match="has 2 core"):
        run_emulated(model, model.random_inputs(0), "rp2040", 3, cache_dir=cache)


def test_model_run_backend_emulator(cache):
    model = arielml.load(ZOO / "tflite_micro" / "micro_speech_quantized.tflite")
    x = model.random_inputs(6)
    got = model.run(x, backend="emulator", target="rp2350-riscv", cores=2, scheduler="dynamic")
    assert_same(got, model.run(x), "Model.run(backend='emulator')")
    with pytest.raises(TargetError, match="needs a target board"):
        model.run(x, backend="emulator")


def test_cli_run_backend_emulator_json(capsys, tmp_path):
    hello = ZOO / "tflite_micro" / "hello_world_int8.tflite"
    code = main(["run", str(hello), "--backend", "emulator", "--target", "rp2040", "--cores", "2", "--json",
                 "--random", "5", "-o", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["target"] == "rp2040" and doc["cores"] == 2 and doc["cycles"] > 0
    assert doc["ms"] == pytest.approx(doc["cycles"] / 125e3)
    assert doc["flash_bytes"] > 0 and doc["ram_bytes"] > 0
    assert [op["type"] for op in doc["per_op"]] == ["FULLY_CONNECTED"] * 3
    model = arielml.load(hello)
    assert_same([np.load(tmp_path / "output_0.npy")], model.run(model.random_inputs(5)), "CLI")
    code = main(["run", str(hello), "--backend", "emulator", "--target", "esp32s3", "-o", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code != 0 and "estimates only" in err and "Traceback" not in err
