"""The RP2040/RP2350 XIP flash cache in the cycle model (arielml/emu/cycle_hook.c, docs/cycle-model.md):
16 KiB, 2-way set-associative, 8-byte lines; a miss costs the board's FlashCache.miss_cycles.
Programs: tests/emu_src/xip_thumb.S (entries data_/code_<small|large>_<passes>)."""
from __future__ import annotations

import pytest

from arielml.emu import build_firmware, run_firmware
from arielml.emu.speed import BENCH
from arielml.targets.boards import get_board
from tests.emu_helpers import link_standalone, needs_cross
from tests.test_emu_time import QUANTUM_SLACK, QUANTUM_SPREAD

pytestmark = [pytest.mark.cross, needs_cross]

LINES_32K = 32768 // 8
LINES_8K = 8192 // 8


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("xip")

    def run_entry(entry: str, board: str = "rp2040", exact: bool = False):
        elf = link_standalone("xip_thumb.S", out, "arm", 0x1000_0000, entry)
        result = run_firmware(get_board(board), elf, cores=1, exact_flash_reads=exact)
        assert result.exit_status == 0
        return result
    return run_entry


@pytest.mark.parametrize("exact", [False, True])
def test_data_within_the_cache_misses_only_while_warming_up(run, exact):
    """8 KiB of flash data read 4 times: the first pass misses every line, the others hit."""
    once, four = run("data_small_1", exact=exact), run("data_small_4", exact=exact)
    assert once.cache_misses[0] >= LINES_8K
    assert four.cache_misses == once.cache_misses
    miss = get_board("rp2040").flash_cache.miss_cycles
    # the extra passes cost only their instructions: the same per pass as without the cache's misses
    first_pass = once.cycles[0] - miss * once.cache_misses[0]
    assert four.cycles[0] - miss * four.cache_misses[0] > 3 * first_pass


@pytest.mark.parametrize("exact", [False, True])
def test_data_larger_than_the_cache_misses_on_every_pass(run, exact):
    """32 KiB streamed in address order through a 16 KiB 2-way LRU cache: every line is evicted
    before it comes round again, so each further pass misses all 4096 lines."""
    once, four = run("data_large_1", exact=exact), run("data_large_4", exact=exact)
    assert four.cache_misses[0] - once.cache_misses[0] >= 3 * LINES_32K
    miss = get_board("rp2040").flash_cache.miss_cycles
    assert four.cycles[0] - once.cycles[0] >= 3 * LINES_32K * miss


def test_default_mode_charges_flash_data_reads_as_exact_mode_does(run):
    """Default mode reads the flash pages without code through a C callback (MMIO) that looks the
    cache up; exact mode's memory hook also sees the literal loads (ldr rX, =...), whose lines the
    code's fetches may not have brought in: at most one more miss per literal load, each the miss cost."""
    miss = get_board("rp2040").flash_cache.miss_cycles
    for entry in ("data_small_4", "data_large_4"):
        default, exact = run(entry), run(entry, exact=True)
        table_bytes = 8192 if "small" in entry else 32768
        assert default.flash_reads[0] == table_bytes // 4 * 4  # 4 passes, word by word
        literal_loads = exact.flash_reads[0] - default.flash_reads[0]
        assert 0 < literal_loads < 16
        extra_misses = exact.cache_misses[0] - default.cache_misses[0]
        assert 0 <= extra_misses <= literal_loads
        assert exact.cycles[0] - default.cycles[0] == extra_misses * miss


def test_code_larger_than_the_cache_misses_after_warm_up(run):
    """18 KiB of straight-line code in a loop: sets that hold three of its lines thrash (LRU), so
    every pass misses again; 2 KiB of code misses only on the first pass."""
    small_once, small_four = run("code_small_1"), run("code_small_4")
    assert small_four.cache_misses == small_once.cache_misses
    assert small_once.cache_misses[0] >= 2048 // 8
    large_once, large_four = run("code_large_1"), run("code_large_4")
    per_pass = (large_four.cache_misses[0] - large_once.cache_misses[0]) / 3
    # 2304 lines over 1024 sets: 256 sets hold 3 lines and miss all 3 each pass (768), the rest hit
    assert 700 <= per_pass <= 800
    assert large_once.cache_misses[0] >= 18432 // 8


def test_rp2350_has_the_cache_and_its_own_miss_cost(run):
    """The same Thumb-1 program on both chips: the same lines miss, each costs 10 cycles more on the
    RP2350; the M33 also saves 3 cycles on the program's loads and stores (1 cycle each, not 2: the
    entry's ldr r4, the exit's ldr and str; its ldr/bx pairs cost the same, 1 + a load-use stall + 2)."""
    rp2040, rp2350 = run("code_small_1"), run("code_small_1", board="rp2350-arm")
    assert rp2350.cache_misses == rp2040.cache_misses
    extra = get_board("rp2350-arm").flash_cache.miss_cycles - get_board("rp2040").flash_cache.miss_cycles
    assert rp2350.cycles[0] - rp2040.cycles[0] == extra * rp2040.cache_misses[0] - 3


def test_same_elf_same_counts(run):
    first, second = run("code_large_4"), run("code_large_4")
    assert (first.cycles, first.instructions, first.cache_misses) == \
        (second.cycles, second.instructions, second.cache_misses)


@pytest.mark.parametrize("board_name", ["rp2040", "stm32h747"])
@pytest.mark.parametrize("exact", [False, True])
def test_counts_do_not_depend_on_the_quantum(tmp_path, board_name, exact):
    """Two cores stream a 16 KB weight table from flash (arielml/emu/bench_src/speed_bench.c). The
    cache and predictor states are per core, so the interleaving of the cores moves cycles only within
    tests/test_emu_time.py's bound (a lock read retried after a deferral re-runs its spin iteration:
    its cycles are taken back, its few cache lookups and branch outcomes are not)."""
    board = get_board(board_name)
    firmware = build_firmware(board, [BENCH], defines={"BENCH_REPEAT": 2}, out_dir=tmp_path)
    runs = [run_firmware(board, firmware, quantum_cycles=quantum, exact_flash_reads=exact)
            for quantum in (7, 97, None, 1_000_000)]
    for core in range(2):
        cycles = [r.cycles[core] for r in runs]
        misses = [r.cache_misses[core] for r in runs]
        assert max(cycles) - min(cycles) <= QUANTUM_SPREAD * min(cycles) + QUANTUM_SLACK, cycles
        assert max(misses) - min(misses) <= 4, misses
    assert runs[0].cache_misses[0] > 0
