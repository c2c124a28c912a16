"""Emulated time is physically consistent (issue 12, item 3).

The machine orders lock acquisitions in simulated time (arielml/emu/machine.py), so a barrier opens at
the latest arrival in simulated time, not at the last arrival in host order. Invariants checked on
every emulated board, both schedulers, quanta from 1 cycle to a million and randomised interleavings:
no core is busy longer than the run, utilisation never exceeds 100%, and no core spends longer in an
operator than the operator's span. The quantum changes a deterministic run's cycles by at most
QUANTUM_SPREAD (plus QUANTUM_SLACK cycles: lock requests that tie within a basic block). Randomised
mode lets a core win a lock race against one up to 32 cycles earlier (to find races), so seeds move
the cycles by at most SEED_SPREAD_TINY on a model whose barriers outweigh its work and SEED_SPREAD on
larger ones."""
from __future__ import annotations

import pytest

import arielml
from arielml.backends.emulator import build_emulated
from arielml.emu.machine import Machine
from arielml.errors import ArielError
from arielml.targets.boards import get_board
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross

pytestmark = [pytest.mark.cross, needs_cross]

HELLO = ZOO / "tflite_micro" / "hello_world_int8.tflite"
# every emulated board with all its cores (rv32-smp at 4 and 8), and one single-core board
BOARD_CORES = [("rp2040", 2), ("rp2350-arm", 2), ("rp2350-riscv", 2), ("rp2350-mixed", 2), ("stm32h747", 2),
               ("rv32-smp", 4), ("rv32-smp", 8), ("nrf52840", 1)]
QUANTA = (1, 97, None, 1_000_000)  # None: the board's default
QUANTUM_SPREAD = 0.001
QUANTUM_SLACK = 4
SEED_SPREAD_TINY = 0.10  # hello_world: ~2,600 cycles, of which ~900 are in barriers
SEED_SPREAD = 0.01


def assert_spread(cycles: list[int], spread: float, slack: int = 0) -> None:
    assert max(cycles) - min(cycles) <= spread * min(cycles) + slack, f"cycles {cycles}"


@pytest.fixture(scope="module")
def cache(pytestconfig):
    return pytestconfig.cache.mkdir("arielml_emulator")


@pytest.fixture(scope="module")
def hello():
    model = arielml.load(HELLO)
    return model, model.random_inputs(0)


def assert_physical(run, what: str) -> None:
    profile = run.profile
    total = profile.total_seconds
    assert total > 0, what
    for core, (busy, clock) in enumerate(zip(profile.busy_cycles, profile.clocks_hz)):
        # exact in integers: busy / clock <= total_cycles / clock0
        assert busy * profile.clocks_hz[0] <= profile.total_cycles * clock, \
            f"{what}: core {core} busy {busy} cycles, run {profile.total_cycles}"
    assert max(profile.utilisation) <= 1.0, f"{what}: utilisation {profile.utilisation}"
    for op in profile.ops:
        for core, (cycles, clock) in enumerate(zip(op.core_cycles, profile.clocks_hz)):
            assert cycles / clock <= op.seconds * (1 + 1e-12), f"{what}: op {op.op} core {core}"


@pytest.mark.parametrize("scheduler", ["static", "dynamic"])
@pytest.mark.parametrize("target,cores", BOARD_CORES, ids=[f"{t}-{c}" for t, c in BOARD_CORES])
def test_no_core_is_busy_longer_than_the_run(target, cores, scheduler, hello, cache):
    model, x = hello
    want = model.run(x)
    firmware = build_emulated(model, target, cores, scheduler, cache_dir=cache)
    runs = [(q, None) for q in QUANTA] + [(None, 3), (97, 5)]
    cycles = {}
    for quantum, seed in runs:
        run = firmware.run(x, quantum_cycles=quantum, seed=seed)
        what = f"{target} {cores} cores {scheduler} quantum {quantum} seed {seed}"
        assert all((a == b).all() for a, b in zip(run.outputs, want)), what
        assert_physical(run, what)
        cycles[quantum, seed] = run.cycles
    assert_spread([c for (_, seed), c in cycles.items() if seed is None], QUANTUM_SPREAD, QUANTUM_SLACK)
    assert_spread(list(cycles.values()), SEED_SPREAD_TINY)


def test_the_reported_case_is_consistent(hello, cache):
    """The review's case: 835 cycles reported while one core was busy for 3,542 (424%)."""
    model, x = hello
    run = build_emulated(model, "rv32-smp", 4, "dynamic", cache_dir=cache).run(x)
    assert max(run.profile.busy_cycles) <= run.cycles
    assert_physical(run, "hello_world rv32-smp 4 dynamic")


@pytest.mark.parametrize("scheduler", ["static", "dynamic"])
def test_quantum_changes_a_larger_run_by_a_stated_bound(scheduler, cache):
    model = arielml.load(ZOO / "mlcommons_tiny" / "ad01_int8.tflite")
    x = model.random_inputs(0)
    firmware = build_emulated(model, "rv32-smp", 8, scheduler, cache_dir=cache)
    by_quantum = []
    for quantum in (100, None, 1_000_000):
        run = firmware.run(x, quantum_cycles=quantum)
        assert_physical(run, f"ad01 rv32-smp 8 {scheduler} quantum {quantum}")
        by_quantum.append(run.cycles)
    assert_spread(by_quantum, QUANTUM_SPREAD, QUANTUM_SLACK)
    by_seed = []
    for seed in (1, 2):
        run = firmware.run(x, seed=seed)
        assert_physical(run, f"ad01 rv32-smp 8 {scheduler} seed {seed}")
        by_seed.append(run.cycles)
    assert_spread(by_quantum + by_seed, SEED_SPREAD)


def test_unequal_clocks_one_cycle_quantum_does_not_change_the_time(cache):
    """stm32h747 (M7 480 MHz + M4 240 MHz): a one-cycle quantum used to double simple_add's cycles."""
    model = arielml.load(ZOO / "tflite_micro" / "simple_add_model.tflite")
    x = model.random_inputs(0)
    firmware = build_emulated(model, "stm32h747", 2, "dynamic", cache_dir=cache)
    default, tiny = firmware.run(x), firmware.run(x, quantum_cycles=1)
    assert_physical(tiny, "simple_add stm32h747 quantum 1")
    assert_spread([default.cycles, tiny.cycles], QUANTUM_SPREAD, QUANTUM_SLACK)


@pytest.mark.parametrize("quantum", [0, -1, -20_000, 2.5])
def test_a_quantum_below_one_cycle_is_refused(quantum, hello, cache):
    model, x = hello
    firmware = build_emulated(model, "rp2040", 2, "static", cache_dir=cache)
    with pytest.raises(ArielError, match="quantum"):
        firmware.run(x, quantum_cycles=quantum)
    with pytest.raises(ArielError, match="quantum"):
        Machine(get_board("rp2040"), firmware.firmware, quantum_cycles=quantum)
