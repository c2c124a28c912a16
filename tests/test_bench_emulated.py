"""`arielml bench --backend emulator`: the runs each study plans, the tables (speedups, geomeans, bit-exact
marks, notes) from hand-made measurements, the markdown section replaced in place without touching the
host section, and one real run of hello_world_int8 on small boards (cross toolchains needed)."""
import json
from pathlib import Path

import pytest

from arielml.bench.emulated import (ALL_TARGETS, PRIOR_ART, SECTION_BEGIN, SECTION_END, EmulatorBench, Measurement,
                                    RunSpec, plan_runs)
from arielml.bench.emulated_report import (board_rows, core_rows, kernel_rows, render_markdown, scaling_rows,
                                           unequal_rows, update_section)
from arielml.bench.kernels import KERNEL_CASES
from arielml.bench.host import SECTION_BEGIN as HOST_BEGIN
from arielml.bench.host import SECTION_END as HOST_END
from arielml.bench.host import update_markdown
from arielml.errors import ArielError
from tests.emu_helpers import needs_cross
from tests.test_cli import HELLO, assert_one_line_error, cli

A, B = Path("zoo/mlcommons_tiny/a.tflite"), Path("zoo/other/b.tflite")


def test_plan_runs_covers_every_study():
    specs = plan_runs([(A, "a"), (B, "b")], ALL_TARGETS, study_models=[(A, "a")])
    boards = [(s.label, s.target, s.cores) for s in specs if s.study == "boards"]
    assert boards == [(m, t, c) for m in "ab" for t in ("rp2040", "rp2350-arm") for c in (1, 2)]
    assert [(s.label, s.cores) for s in specs if s.study == "scaling"] == [("a", 1), ("a", 2), ("a", 4), ("a", 8)]
    unequal = [(s.target, s.cores, s.scheduler) for s in specs if s.study == "unequal"]
    assert unequal == [(t, c, s) for t in ("stm32h747", "rp2350-mixed")
                       for c, s in ((1, "static"), (2, "static"), (2, "dynamic"))]
    assert all(s.scheduler == "static" for s in specs if s.study != "unequal")
    # one core of each core type: runs the other studies made at 1 core (static) are not repeated
    cores = [(s.label, s.target) for s in specs if s.study == "cores"]
    assert cores == [("a", "nrf52840"), ("b", "nrf52840"), ("b", "stm32h747"), ("a", "rp2350-riscv"),
                     ("b", "rp2350-riscv")]  # a ran on stm32h747 at 1 core in the unequal-core study
    kernels = [(s.label, s.target, s.cores, s.path) for s in specs if s.study == "kernels"]
    assert kernels == [(c.name, t, 1, None) for t in ("rp2040", "rp2350-arm", "nrf52840", "stm32h747", "rp2350-riscv")
                       for c in KERNEL_CASES]
    assert not [s for s in plan_runs([(A, "a")], ALL_TARGETS, kernels=False) if s.study == "kernels"]
    only = plan_runs([(A, "a")], ("rv32-smp",))
    assert {s.study for s in only} == {"scaling"} and len(only) == 4
    with pytest.raises(ArielError, match="esp32s3"):
        plan_runs([(A, "a")], ("rp2040", "esp32s3"))


def _m(study, label, path, target, cores, ms, scheduler="static", exact=True, error=None, share=(), macs=1000,
       work=(), op_cycles=None):
    clock = {"rp2040": 125e3, "rp2350-arm": 150e3, "rv32-smp": 100e3, "stm32h747": 480e3, "nrf52840": 64e3,
             "rp2350-riscv": 150e3}[target]
    return Measurement(RunSpec(study, path, label, target, cores, scheduler), macs,
                       None if error else round(ms * clock), None if error else ms, 4096, 2048,
                       None if error else exact, share, tuple(0.5 for _ in share), work, instructions=1000,
                       host_seconds=0.001, op_cycles=op_cycles, error=error)


def test_core_and_kernel_tables_put_published_figures_beside_ours():
    vww = Path("zoo/mlcommons_tiny/vww_96_int8.tflite")
    bench = _bench(_m("boards", "vww_96_int8", vww, "rp2350-arm", 1, 10.0, macs=1_000_000),
                   _m("cores", "vww_96_int8", vww, "nrf52840", 1, 31.25, macs=1_000_000),
                   _m("cores", "vww_96_int8", vww, "rp2350-riscv", 1, 0.0, error="BuildError: x", macs=1_000_000),
                   _m("kernels", "conv 1×1", None, "rp2350-arm", 1, 1.0, macs=1000, op_cycles=1500),
                   _m("kernels", "conv 1×1", None, "nrf52840", 1, 1.0, macs=1000, op_cycles=2000, exact=False))
    header, rows = core_rows(bench)
    assert header == ["model", "MACs", "cortex-m33 (rp2350-arm)", "best published", "cortex-m4f (nrf52840)",
                      "best published", "hazard3 (rp2350-riscv)", "best published"]
    assert rows == [["vww_96_int8", "1M", "1.50", "1.27 (X-CUBE-AI, STM32U575)", "2.00",
                     "1.42 (X-CUBE-AI, STM32L4R5)", "n/a", "-"]]
    header, rows = kernel_rows(bench)
    assert header == ["kernel", "shape", "MACs", "cortex-m33 (rp2350-arm)", "cortex-m4f (nrf52840)", "bit-exact"]
    assert rows == [["conv 1×1", KERNEL_CASES[0].shape, "1k", "1.50", "2.00", "✗"]]  # the operator's own cycles
    text = render_markdown(bench, "arielml bench --backend emulator")
    assert "best published" in text and "| conv 1×1 |" in text


def _bench(*measurements) -> EmulatorBench:
    return EmulatorBench(tuple(measurements), "test machine", "2026-01-01 00:00 UTC", {"python": "3"})


def test_board_rows_speedup_geomean_and_marks():
    bench = _bench(_m("boards", "a", A, "rp2040", 1, 10.0), _m("boards", "a", A, "rp2040", 2, 5.0),
                   _m("boards", "b", B, "rp2040", 1, 9.0), _m("boards", "b", B, "rp2040", 2, 4.0, exact=False))
    header, rows = board_rows(bench, "rp2040")
    col = {h: i for i, h in enumerate(header)}
    a, b, mean, mlperf = rows
    assert (a[col["speedup"]], a[col["bit-exact"]], a[col["cycles/MAC 1 core"]]) == ("2.00×", "✓", "1250.0")
    assert (b[col["speedup"]], b[col["bit-exact"]]) == ("2.25×", "✗")  # one core count differs: ✗
    assert mean[0] == "geomean (all)" and mean[col["speedup"]] == f"{(2.0 * 2.25) ** 0.5:.2f}×"
    assert mlperf[0] == "geomean (MLPerf Tiny)" and mlperf[col["speedup"]] == "2.00×"  # only a is mlcommons_tiny
    assert a[col["flash"]] == "4.0 KiB" and a[col["RAM"]] == "2.0 KiB"


def test_scaling_unequal_rows_and_notes_in_markdown():
    bench = _bench(
        *[_m("scaling", "a", A, "rv32-smp", n, 8.0 / min(n, 3)) for n in (1, 2, 4, 8)],
        _m("unequal", "a", A, "stm32h747", 1, 3.0, share=(1.0,)),
        _m("unequal", "a", A, "stm32h747", 2, 2.0, share=(0.45, 0.55), work=(0.7, 0.3)),
        _m("unequal", "a", A, "stm32h747", 2, 0.0, "dynamic", error="FirmwareFault: boom"))
    _, scaling = scaling_rows(bench)
    assert [r[1] for r in scaling] == ["1", "2", "4", "8"]
    assert [r[4] for r in scaling] == ["1.00×", "2.00×", "3.00×", "3.00×"] and scaling[3][5] == "38%"
    _, unequal = unequal_rows(bench)
    assert unequal[1][5] == "1.50×" and unequal[1][6] == "cortex-m7 70% / cortex-m4f 30%"
    assert unequal[1][7] == "45% / 55%" and unequal[0][6] == "n/a"  # no MACs recorded: n/a, not 0%
    assert unequal[2][4] == "n/a" and unequal[2][9] == "n/a"
    text = render_markdown(bench, "arielml bench --backend emulator")
    assert text.startswith(SECTION_BEGIN) and text.rstrip().endswith(SECTION_END)
    assert PRIOR_ART in text and "1.3-1.6×" in text and "1.9×" in text and "14 cycles/MAC" in text
    assert "`a` (stm32h747/2c/dynamic): FirmwareFault: boom" in text
    assert "emulator speed: 1 million emulated instructions per second" in text  # 4000 instr / 4 ms... of 6 runs


def test_update_section_keeps_everything_else(tmp_path):
    doc = tmp_path / "benchmarks.md"
    update_markdown(doc, f"{HOST_BEGIN}\nhost v1\n{HOST_END}\n")  # the host command creates the file
    doc.write_text(doc.read_text() + "\nhand-written notes\n")
    update_section(doc, f"{SECTION_BEGIN}\nemu v1\n{SECTION_END}\n")
    first = doc.read_text()
    assert "host v1" in first and "emu v1" in first and "hand-written notes" in first
    update_section(doc, f"{SECTION_BEGIN}\nemu v2\n{SECTION_END}\n")
    second = doc.read_text()
    assert second == first.replace("emu v1", "emu v2")  # only our section changed, byte for byte
    update_markdown(doc, f"{HOST_BEGIN}\nhost v2\n{HOST_END}\n")  # and the host writer leaves ours alone
    third = doc.read_text()
    assert "host v2" in third and "host v1" not in third and "hand-written notes" in third
    assert third.split(SECTION_BEGIN)[1] == second.split(SECTION_BEGIN)[1]
    fresh = tmp_path / "new" / "b.md"
    update_section(fresh, f"{SECTION_BEGIN}\nx\n{SECTION_END}\n")
    assert fresh.read_text().startswith("# Benchmarks") and fresh.read_text().count(SECTION_BEGIN) == 1


def test_targets_option_is_for_the_emulator_only(capsys):
    code, _, err = cli(capsys, "bench", "--backend", "native", "--models", HELLO, "--targets", "rp2040")
    assert_one_line_error(code, err, contains="--backend emulator")
    code, _, err = cli(capsys, "bench", "--backend", "emulator", "--models", HELLO, "--targets", "esp32s3")
    assert_one_line_error(code, err, contains="does not cover")


@pytest.mark.cross
@needs_cross
def test_emulator_bench_hello_world_writes_its_section(capsys, tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\nintro\n\n{HOST_BEGIN}\nhost table\n{HOST_END}\n")
    code, out, err = cli(capsys, "bench", "--backend", "emulator", "--models", "hello_world_int8",
                         "--targets", "rp2040,rv32-smp,stm32h747", "--write", doc, "--json")
    assert code == 0, err
    result = json.loads(out)
    runs = {(r["study"], r["target"], r["cores"], r["scheduler"]): r for r in result["runs"]}
    assert set(runs) == {("boards", "rp2040", 1, "static"), ("boards", "rp2040", 2, "static"),
                         *[("scaling", "rv32-smp", n, "static") for n in (1, 2, 4, 8)],
                         ("unequal", "stm32h747", 1, "static"), ("unequal", "stm32h747", 2, "static"),
                         ("unequal", "stm32h747", 2, "dynamic")}
    for key, r in runs.items():
        assert r["error"] is None and r["bit_exact"] is True, (key, r)
        assert r["cycles"] > 0 and r["macs"] == 288 and r["flash_bytes"] > 0 and r["ram_bytes"] > 0
        assert len(r["busy_share"]) == len(r["mac_share"]) == key[2]
        assert sum(r["busy_share"]) == pytest.approx(1.0) and sum(r["mac_share"]) == pytest.approx(1.0)
    assert runs[("boards", "rp2040", 1, "static")]["ms"] == pytest.approx(
        runs[("boards", "rp2040", 1, "static")]["cycles"] / 125e3)
    assert result["mips"] > 0
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nintro\n") and f"{HOST_BEGIN}\nhost table\n{HOST_END}\n" in text
    assert text.count(SECTION_BEGIN) == 1 and PRIOR_ART in text
    assert "arielml bench --backend emulator --targets rp2040,rv32-smp,stm32h747 --models hello_world_int8" in text
    row = next(line for line in text.splitlines() if line.startswith("| hello_world_int8 | 288 |"))
    one, two = (runs[("boards", "rp2040", n, "static")] for n in (1, 2))
    assert f"| {one['ms'] / two['ms']:.2f}× |" in row and row.endswith("| ✓ |")
