"""Multi-core behaviour: every board boots, the shared counter under hardware locks is exact under
randomised interleavings, the unlocked one is not (so the interleaving really varies), runs are
deterministic, and profiles come out of the trace."""
from __future__ import annotations

import pytest

from arielml.emu import build_firmware, build_profile, draw_gantt, run_firmware
from arielml.targets.boards import BOARDS, get_board
from tests.emu_helpers import SRC, needs_cross

pytestmark = [pytest.mark.cross, needs_cross]
ROUNDS = 300  # race.c


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("emu_multicore")


@pytest.mark.parametrize("name", [b.name for b in BOARDS.values() if b.emulated])
def test_each_board_boots_all_cores_and_exits(name, out):
    """race.c on every core of every emulated board (rv32-smp at 4 cores); exercises start-up,
    .data/.bss set-up, the release of the other cores, the port's locks, waits and wakes, and on
    rp2350-mixed / stm32h747 two images sharing SRAM."""
    board = get_board(name)
    cores = 4 if name == "rv32-smp" else board.core_count
    firmware = build_firmware(board, [SRC / "race.c"], out_dir=out, cores=cores)
    assert len(firmware.images) == len({board.core(c)[0].name for c in range(cores)})
    result = run_firmware(board, firmware)
    assert result.exit_status & 0xFFFF == ROUNDS * cores
    assert all(c > 0 for c in result.cycles)


@pytest.mark.parametrize("name", ["rp2040", "rp2350-mixed", "stm32h747"])
def test_locked_counter_exact_under_random_interleavings(name, out):
    board = get_board(name)
    firmware = build_firmware(board, [SRC / "race.c"], out_dir=out)
    racy_results = set()
    for seed in range(6):
        result = run_firmware(board, firmware, quantum_cycles=300, seed=seed)
        assert result.exit_status & 0xFFFF == ROUNDS * board.core_count, f"seed {seed}"
        racy_results.add(result.exit_status >> 16)
    # the unlocked counter loses updates under some interleavings: the randomisation is real
    assert min(racy_results) < ROUNDS * board.core_count, f"racy totals {racy_results}"


def test_random_mode_is_reproducible_from_its_seed(out):
    board = get_board("rp2040")
    firmware = build_firmware(board, [SRC / "race.c"], out_dir=out)
    first = run_firmware(board, firmware, quantum_cycles=300, seed=11)
    again = run_firmware(board, firmware, quantum_cycles=300, seed=11)
    assert (first.cycles, first.exit_status) == (again.cycles, again.exit_status)


def test_deterministic_mode_same_cycles(out):
    board = get_board("stm32h747")
    firmware = build_firmware(board, [SRC / "race.c"], out_dir=out)
    runs = [run_firmware(board, firmware) for _ in range(2)]
    assert runs[0].cycles == runs[1].cycles and runs[0].trace == runs[1].trace


def test_clocks_of_unequal_cores(out):
    """stm32h747: the M7 runs at twice the M4's clock; cores stay in step in time, so the M7's cycle
    count at the end is about twice the M4's (both wait for each other at the end)."""
    board = get_board("stm32h747")
    result = run_firmware(board, build_firmware(board, [SRC / "race.c"], out_dir=out))
    seconds = [c / f for c, f in zip(result.cycles, result.clocks_hz)]
    assert abs(seconds[0] - seconds[1]) / max(seconds) < 0.2


def test_profile_and_gantt(out, tmp_path):
    board = get_board("rp2040")
    firmware = build_firmware(board, [SRC / "profile_prog.c"], out_dir=out)
    result = run_firmware(board, firmware)
    assert result.exit_status == 42
    profile = build_profile(result)
    assert [op.op for op in profile.ops] == [0, 1]
    assert [sum(op.tiles) for op in profile.ops] == [4, 2]
    assert len(profile.tiles) == 6
    # both cores work in op 0; the op's span covers its tiles and its barrier
    assert all(t > 0 for t in profile.ops[0].tiles)
    for op in profile.ops:
        assert op.cycles >= max(op.core_cycles)
    assert 0 < sum(profile.busy_cycles) <= 2 * profile.total_cycles
    assert all(0 < u <= 1 for u in profile.utilisation)
    png = draw_gantt(profile, tmp_path / "gantt.png", op_types={0: "CONV_2D", 1: "FULLY_CONNECTED"})
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
