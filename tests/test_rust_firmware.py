"""`--firmware rust`: a Rust main (no_std, arielml's start-up code and linker scripts) around the same
C library runs on every emulated board at 1 and 2 cores with the C harness firmware's outputs, byte for
byte, and the same flash and RAM within 5%; the CLI reports it in the same JSON."""
from __future__ import annotations

import json

import numpy as np
import pytest

import arielml
from arielml.cli import main
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross
from tests.rust_support import needs_rust, sysroots  # noqa: F401 (fixture)

pytestmark = [pytest.mark.cross, needs_cross, needs_rust]

HELLO = ZOO / "tflite_micro" / "hello_world_int8.tflite"
SPEECH = ZOO / "tflite_micro" / "micro_speech_quantized.tflite"
BOARDS = [("rp2040", 1), ("rp2040", 2), ("rp2350-arm", 1), ("rp2350-arm", 2), ("rp2350-riscv", 1),
          ("rp2350-riscv", 2), ("stm32h747", 1), ("stm32h747", 2), ("nrf52840", 1)]


def _within(rust: int, c: int, fraction: float) -> bool:
    return abs(rust - c) <= fraction * c


@pytest.mark.parametrize("target, cores", BOARDS)
def test_rust_main_is_bit_exact_with_the_c_firmware(sysroots, target, cores):  # noqa: F811
    from arielml.backends.emulator import build_emulated
    from arielml.rust.firmware import build_rust_emulated
    model = arielml.load(HELLO)
    inputs = [np.array([[v]], dtype=np.int8) for v in (-128, 0, 77)]
    rust = build_rust_emulated(model, target, cores)
    c = build_emulated(model, target, cores)
    for x in inputs:
        rust_run, c_run = rust.run([x]), c.run([x])
        assert np.array_equal(rust_run.outputs[0], c_run.outputs[0])
        assert np.array_equal(rust_run.outputs[0], model.run([x])[0])
    assert _within(rust_run.flash_bytes, c_run.flash_bytes, 0.05), (rust_run.flash_bytes, c_run.flash_bytes)
    assert _within(rust_run.ram_bytes, c_run.ram_bytes, 0.05), (rust_run.ram_bytes, c_run.ram_bytes)
    assert len(rust_run.per_op) == len(c_run.per_op)
    image = rust.firmware.images[0].path
    assert "ariel_main" in image.with_suffix(".map").read_text()


def test_conv_model_two_cores_cli_json(sysroots, tmp_path, capsys):  # noqa: F811
    """A model with convolutions through the CLI: the Rust firmware's JSON, its outputs equal to the C
    firmware's."""
    outputs = {}
    for firmware in ("c", "rust"):
        code = main(["run", str(SPEECH), "--backend", "emulator", "--target", "rp2040", "--cores", "2", "--random", "3",
                     "--firmware", firmware, "--json", "-o", str(tmp_path / firmware)])
        out = capsys.readouterr()
        assert code == 0, out.err
        result = json.loads(out.out)
        assert result["cycles"] > 0 and result["flash_bytes"] > 0 and result["per_op"]
        assert result.get("firmware", "c") == firmware
        outputs[firmware] = np.load(tmp_path / firmware / "output_0.npy")
    assert np.array_equal(outputs["c"], outputs["rust"])


def test_firmware_option_is_checked(tmp_path, capsys):
    assert main(["run", str(HELLO), "--firmware", "rust", "-o", str(tmp_path)]) != 0
    assert "--backend emulator" in capsys.readouterr().err
    assert main(["run", str(HELLO), "--firmware", "go", "--backend", "emulator", "--target", "rp2040",
                 "-o", str(tmp_path)]) != 0
    assert "unknown --firmware 'go'" in capsys.readouterr().err


def test_profile_and_bench_take_the_rust_firmware(sysroots, tmp_path, capsys):  # noqa: F811
    code = main(["profile", str(HELLO), "--target", "nrf52840", "--firmware", "rust", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    profile = json.loads(out.out)
    assert profile["firmware"] == "rust" and profile["bit_exact"] is True and profile["cycles"] > 0
    doc = tmp_path / "bench.md"
    doc.write_text("# benchmarks\n\nkept\n")
    code = main(["bench", "--backend", "emulator", "--firmware", "rust", "--models", str(HELLO), "--targets",
                 "nrf52840", "--write", str(doc), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    rows = json.loads(out.out)["rows"]
    assert len(rows) == 1 and rows[0]["bit_exact"] and rows[0]["cycles_rust"] > 0 and rows[0]["flash_c"] > 0
    text = doc.read_text()
    assert "kept" in text and "arielml bench rust: begin" in text and "| hello_world_int8.tflite | nrf52840 | 1 |" in text


@pytest.mark.parametrize("target, cores", [("rp2040", 2), ("rp2350-riscv", 1)])
def test_stateful_model_steps_and_state_match_the_c_firmware(sysroots, target, cores):  # noqa: F811
    """An SVDF model (state kept across inferences): more steps than one firmware run holds, so the
    state also crosses runs through the harness's staging; outputs and final state equal the C
    firmware's and the reference session's."""
    from arielml.api import Model
    from arielml.backends.emulator import MAX_STEPS, build_emulated
    from arielml.frontend.tflite import parse_tflite
    from arielml.ir.verify import verify
    from arielml.rust.firmware import build_rust_emulated
    from tests.test_ops_svdf import _case, step_inputs
    model_bytes, steps = _case(7000 + cores, "int8")
    steps = steps + step_inputs(np.random.default_rng(3), "int8", steps[0][0].shape)
    assert len(steps) > MAX_STEPS
    model = Model(verify(parse_tflite(model_bytes)))
    expected = [o[0] for o in model.session().run_sequence(steps)]
    rust_runs, rust_state = build_rust_emulated(model, target, cores).run_steps(steps)
    c_runs, c_state = build_emulated(model, target, cores).run_steps(steps)
    assert rust_state == c_state and rust_state is not None
    for k, (r, c, e) in enumerate(zip(rust_runs, c_runs, expected)):
        assert np.array_equal(r.outputs[0], c.outputs[0]) and np.array_equal(r.outputs[0], e), f"step {k}"
