"""`arielml profile`: per-operator and per-core cycles from an emulated run, JSON shape, the Gantt PNG,
and option errors (one line, before anything is built). The chart itself is also drawn from a
hand-made profile, so its layout logic is tested without the cross toolchains."""
import json

import pytest

from arielml.emu.gantt import draw_gantt, op_windows, type_colours
from arielml.emu.profile import OpProfile, Profile, TileSpan
from arielml.targets import get_board
from tests.emu_helpers import needs_cross
from tests.test_cli import HELLO, assert_one_line_error, cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.cross
@needs_cross
def test_profile_json_fields_and_gantt(capsys, tmp_path):
    gantt = tmp_path / "charts" / "hello.png"  # the directory is created
    code, out, err = cli(capsys, "profile", HELLO, "--target", "rp2040", "--cores", "2", "--gantt", gantt, "--json")
    assert code == 0, err
    doc = json.loads(out)
    board = get_board("rp2040")
    assert (doc["target"], doc["cores"], doc["scheduler"]) == ("rp2040", 2, "static")
    assert doc["bit_exact"] is True
    assert doc["clock_hz"] == 125_000_000 and doc["ms"] == pytest.approx(doc["cycles"] / 125e3)
    assert 0 < doc["flash_bytes"] < board.flash.size and 0 < doc["ram_bytes"] < board.sram.size
    assert [op["type"] for op in doc["per_op"]] == ["FULLY_CONNECTED"] * 3  # hello_world: three dense layers
    for op in doc["per_op"]:
        assert len(op["per_core_cycles"]) == len(op["barrier_idle_cycles"]) == len(op["tiles_per_core"]) == 2
        assert sum(op["tiles_per_core"]) == op["tiles"] >= 1
        assert 0 < op["cycles"] <= doc["cycles"] and 0 < op["share"] <= 1
        assert op["ms"] == pytest.approx(op["cycles"] / 125e3)
    assert [c["type"] for c in doc["per_core"]] == ["cortex-m0plus"] * 2
    for c, core in enumerate(doc["per_core"]):
        # a core's busy time is exactly its time inside the operators, so the two tables agree
        assert core["busy_cycles"] == sum(op["per_core_cycles"][c] for op in doc["per_op"])
        assert 0 < core["utilisation"] <= 1 and core["busy_cycles"] > 0 and core["barrier_idle_cycles"] >= 0
        assert core["busy_cycles"] <= doc["cycles"]
    assert doc["gantt"] == str(gantt)
    data = gantt.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


@pytest.mark.cross
@needs_cross
def test_profile_table_and_determinism(capsys):
    args = ("profile", HELLO, "--target", "rp2350-arm", "--cores", "1")
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    assert "FULLY_CONNECTED" in out and "bit-exact" in out and "cortex-m33" in out and "150 MHz" in out
    assert "flash:" in out and "RAM:" in out and "utilisation" in out
    first = json.loads(cli(capsys, *args, "--json")[1])
    second = json.loads(cli(capsys, *args, "--json")[1])
    assert first["cycles"] == second["cycles"] > 0  # the same firmware counts the same cycles every run
    assert [op["cycles"] for op in first["per_op"]] == [op["cycles"] for op in second["per_op"]]
    assert f"{first['cycles']:,}".replace(",", " ") in out  # the table shows that very count


@pytest.mark.parametrize("args, message", [
    (["--target", "esp32s3", "--cores", "1"], "not emulated"),
    (["--target", "host", "--cores", "1"], "native"),
    (["--target", "rp2040", "--cores", "3"], "has 2 core(s)"),
    (["--target", "rp2040", "--scheduler", "greedy"], "unknown scheduler"),
    (["--target", "rp2040", "--gantt", "chart.txt"], ".png"),
    (["--target", "atmega328"], "unknown target"),
])
def test_profile_option_errors_are_one_line(capsys, args, message):
    code, _, err = cli(capsys, "profile", HELLO, *args)
    assert_one_line_error(code, err, contains=message)


def _profile(clocks=(100_000_000, 50_000_000)) -> Profile:
    """Two ops on two cores: op 0 split in two tiles (core 1 is slower and finishes later), op 1 on core 0."""
    tiles = (TileSpan(0, 0, 0, 1e-3, 2e-3), TileSpan(1, 0, 1, 1e-3, 3e-3), TileSpan(0, 1, 0, 3.1e-3, 4e-3))
    ops = (OpProfile(0, 200_000, 2e-3, (100_000, 100_000), (100_000, 0), (1, 1)),
           OpProfile(1, 90_000, 0.9e-3, (90_000, 0), (0, 45_000), (1, 0)))
    return Profile(clocks, 300_000, 3e-3, ops, (190_000, 100_000), (100_000, 45_000), tiles)


def test_op_windows_span_every_core():
    windows = op_windows(_profile())
    assert windows == {0: (1e-3, 3e-3), 1: (3.1e-3, 4e-3)}


def test_type_colours_fixed_for_known_types_distinct_for_others():
    colours = type_colours(["CONV_2D", "GATHER", "CONV_2D", "TILE", "DEPTHWISE_CONV_2D"])
    assert colours["CONV_2D"] != colours["DEPTHWISE_CONV_2D"]
    assert len(set(colours.values())) == 4  # one colour per type
    assert type_colours(["CONV_2D"])["CONV_2D"] == colours["CONV_2D"]  # same type, same colour everywhere


def test_gantt_png_from_a_hand_made_profile(tmp_path):
    path = draw_gantt(_profile(), tmp_path / "g.png", {0: "CONV_2D", 1: "SOFTMAX"}, title="two ops",
                      core_labels=["core 0 (cortex-m7)", "core 1 (cortex-m4f)"])
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000


def test_gantt_refuses_a_run_without_tiles(tmp_path):
    from arielml.errors import ArielError
    empty = Profile((1,), 0, 0.0, (), (0,), (0,), ())
    with pytest.raises(ArielError, match="no tiles"):
        draw_gantt(empty, tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()
