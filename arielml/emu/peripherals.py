"""Models of the memory-mapped peripherals the bare-metal ports use (docs/emulator.md lists them).
Each model is shared by all cores; every access says which core makes it. Values that depend on time
read the calling core's cycle counter, so they are as deterministic as the cycle model."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

CONTROL_BASE = 0xF000_0000
CONTROL_SIZE = 0x1000
PPB_BASE = 0xE000_0000
PPB_SIZE = 0x10_0000

# Cortex-M CPUID register values (implementer, variant, part number, revision) per core type
ARM_CPUID = {"cortex-m0plus": 0x410CC601, "cortex-m4f": 0x410FC241, "cortex-m33": 0x411FD210, "cortex-m7": 0x411FC272}


@dataclass
class TraceEvent:
    core: int
    cycle: int  # the core's own cycle count when it wrote the event
    event: int
    a: int
    b: int


@dataclass
class SharedState:
    """State behind the MMIO blocks; one per machine."""

    ncores: int
    cycles: Callable[[int], int]  # core -> its cycle count
    clock_hz: Callable[[int], int]
    spinlocks: list[bool] = field(default_factory=lambda: [False] * 32)
    fifos: list[deque] = field(default_factory=list)  # fifos[c]: words waiting for core c
    fifo_depth: int = 8
    hsem: list[int] = field(default_factory=lambda: [0] * 32)  # 0 free, else LOCK | coreid << 8 | procid
    console: list[str] = field(default_factory=list)
    trace: list[TraceEvent] = field(default_factory=list)
    trace_latch: dict[int, list[int]] = field(default_factory=dict)
    current_op: dict[int, int] = field(default_factory=dict)
    exit_status: int | None = None
    halted: set[int] = field(default_factory=set)
    ppb_words: dict[tuple[int, int], int] = field(default_factory=dict)  # (core, offset) -> written value
    cyccnt_offset: dict[int, int] = field(default_factory=dict)
    read_string: Callable[[int, int], str] | None = None  # (core, address) -> NUL-terminated string
    # (core, value) called when firmware writes the STEP register: the host reads a finished
    # inference's outputs while the firmware goes on with the next (sessions, several inferences a run)
    on_step: Callable[[int, int], None] | None = None

    def __post_init__(self) -> None:
        self.fifos = [deque() for _ in range(self.ncores)]


# ---- emulator control block ------------------------------------------------------------------------

def control_read(state: SharedState, core: int, offset: int) -> int:
    if offset == 0x14:
        value = state.cycles(core)
        state.trace_latch.setdefault(core, [0, 0, 0])[2] = value >> 32
        return value & 0xFFFF_FFFF
    if offset == 0x24:
        return state.trace_latch.get(core, [0, 0, 0])[2]
    if offset == 0x18:
        return core
    return 0


def control_write(state: SharedState, core: int, offset: int, value: int) -> bool:
    """Returns True when the core must stop running now (exit or halt)."""
    latch = state.trace_latch.setdefault(core, [0, 0, 0])
    if offset == 0x00:
        state.exit_status = value
        return True
    if offset == 0x04:
        state.console.append(chr(value & 0xFF))
    elif offset == 0x08:
        latch[0] = value
    elif offset == 0x0C:
        latch[1] = value
    elif offset == 0x10:
        state.trace.append(TraceEvent(core, state.cycles(core), value, latch[0], latch[1]))
        if value == 1:
            state.current_op[core] = latch[0]
        elif value == 2:
            state.current_op.pop(core, None)
    elif offset == 0x1C:
        state.halted.add(core)
        return True
    elif offset == 0x20 and state.read_string is not None:
        state.console.append(state.read_string(core, value))
    elif offset == 0x28 and state.on_step is not None:
        state.on_step(core, value)
    return False


# ---- RP2040 / RP2350 SIO -------------------------------------------------------------------------------

def sio_read(state: SharedState, core: int, offset: int) -> int:
    if offset == 0x000:
        return core
    if 0x100 <= offset < 0x180:
        n = (offset - 0x100) // 4
        if state.spinlocks[n]:
            return 0
        state.spinlocks[n] = True
        return 1 << n
    if offset == 0x05C:  # SPINLOCK_ST
        return sum(1 << n for n, held in enumerate(state.spinlocks) if held)
    if offset == 0x050:  # FIFO_ST: VLD (data for us), RDY (room toward the other core)
        other = _fifo_peer(state, core)
        return (1 if state.fifos[core] else 0) | (2 if len(state.fifos[other]) < state.fifo_depth else 0)
    if offset == 0x058:
        return state.fifos[core].popleft() if state.fifos[core] else 0
    if offset in (0x1B0, 0x1B4):  # MTIME / MTIMEH, counting at the system clock (MTIME_CTRL.FULLSPEED)
        value = state.cycles(core)
        return value & 0xFFFF_FFFF if offset == 0x1B0 else value >> 32
    return 0


def sio_write(state: SharedState, core: int, offset: int, value: int) -> None:
    if 0x100 <= offset < 0x180:
        state.spinlocks[(offset - 0x100) // 4] = False
    elif offset == 0x054:
        other = _fifo_peer(state, core)
        if len(state.fifos[other]) < state.fifo_depth:
            state.fifos[other].append(value & 0xFFFF_FFFF)


def _fifo_peer(state: SharedState, core: int) -> int:
    return min(core ^ 1, state.ncores - 1)


# ---- RP2040 TIMER (1 MHz) ------------------------------------------------------------------------------

def timer_read(state: SharedState, core: int, offset: int) -> int:
    microseconds = state.cycles(core) * 1_000_000 // state.clock_hz(core)
    if offset in (0x0C, 0x28):  # TIMELR, TIMERAWL
        return microseconds & 0xFFFF_FFFF
    if offset in (0x08, 0x24):  # TIMEHR, TIMERAWH
        return microseconds >> 32
    return 0


# ---- STM32H7 HSEM --------------------------------------------------------------------------------------

HSEM_LOCK = 0x8000_0000
HSEM_MASTER_ID = (3, 1)  # bus master id of core 0 (Cortex-M7) and core 1 (Cortex-M4)


def hsem_read(state: SharedState, core: int, offset: int) -> int:
    if 0x80 <= offset < 0x100:  # RLR: one-step lock with process id 0
        n = (offset - 0x80) // 4
        if state.hsem[n] == 0:
            state.hsem[n] = HSEM_LOCK | HSEM_MASTER_ID[min(core, 1)] << 8
        return state.hsem[n]
    if offset < 0x80:
        return state.hsem[offset // 4]
    return 0


def hsem_write(state: SharedState, core: int, offset: int, value: int) -> None:
    if offset < 0x80:
        n = offset // 4
        master = HSEM_MASTER_ID[min(core, 1)]
        if value & HSEM_LOCK:  # two-step lock: succeeds only if free
            if state.hsem[n] == 0 and (value >> 8) & 0xF == master:
                state.hsem[n] = value & (HSEM_LOCK | 0xFFF)
        elif state.hsem[n] and (state.hsem[n] & 0xFFF) == (value & 0xFFF):
            state.hsem[n] = 0


# ---- Cortex-M private peripheral bus (SCB CPUID, CPACR, DWT cycle counter, SysTick) --------------------

def ppb_read(state: SharedState, core: int, core_type: str, offset: int) -> int:
    if offset == 0xED00:
        return ARM_CPUID.get(core_type, 0)
    if offset == 0x1004:  # DWT_CYCCNT
        return (state.cycles(core) - state.cyccnt_offset.get(core, 0)) & 0xFFFF_FFFF
    if offset == 0xE018:  # SYST_CVR: counts down from SYST_RVR at the core clock
        reload = state.ppb_words.get((core, 0xE014), 0xFFFFFF) & 0xFFFFFF
        return reload - state.cycles(core) % (reload + 1)
    return state.ppb_words.get((core, offset), 0)


def ppb_write(state: SharedState, core: int, offset: int, value: int) -> None:
    if offset == 0x1004:
        state.cyccnt_offset[core] = state.cycles(core) - value
    state.ppb_words[(core, offset)] = value
