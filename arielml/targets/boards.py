"""Boards and core types as data. Code elsewhere branches on these fields, never on board names."""
from __future__ import annotations

from dataclasses import dataclass

from arielml.errors import TargetError
from arielml.targets.calibration import CALIBRATION


GENERIC = "generic"  # cost family of operators without a calibrated entry of their own


@dataclass(frozen=True)
class OpCost:
    """Cycles of one kernel call on one core type: per multiply-accumulate (or window read), per
    inner-loop run, extra per run at the input's edge (bounds-checked taps), per output element,
    plus a fixed set-up per call (arielml/schedule/features.py says what each count is per family)."""

    per_mac: float
    per_run: float
    per_edge_run: float
    per_element: float
    fixed: float

    def cycles(self, macs: float, runs: float, elements: float, edge_runs: float = 0.0) -> float:
        return (self.fixed + macs * self.per_mac + runs * self.per_run + edge_runs * self.per_edge_run
                + elements * self.per_element)


@dataclass(frozen=True)
class CoreType:
    """One kind of core. The cost fields feed the compile-time cost model; on emulated core types
    they are fitted on the emulator (`python -m arielml.schedule.calibrate`, data in
    arielml/targets/calibration.py). The emulator's cycle model is separate and finer (per
    instruction class, see arielml/emu)."""

    name: str  # "cortex-m0plus", "cortex-m33", "cortex-m4f", "cortex-m7", "hazard3", "host", "xtensa-lx7"
    isa: str  # "armv6m", "armv8m.main", "armv7em", "rv32imac", "host", "xtensa"
    gcc_flags: tuple[str, ...]  # cross-compiler flags selecting this core
    toolchain: str  # compiler driver prefix: "arm-none-eabi-", "riscv64-unknown-elf-", "" (host)
    op_costs: tuple[tuple[str, OpCost], ...]  # cost family -> kernel cost; GENERIC must be present
    op_overhead_cycles: float  # runtime cost of one op on one core outside its kernel (trace, loop, barrier)
    tile_overhead_cycles: float  # static scheduler: each further tile a core runs (table walk, trace)
    grab_cycles: float  # dynamic scheduler: each tile pulled from the shared counter (lock, trace)
    barrier_cycles: float  # a barrier of several cores, on the critical path (last arrival to all running)
    # ISA-specific kernel directories under runtime/kernels/, most specific first: an image for this
    # core type compiles kernels/<dir>/<file>.c in place of the portable kernels/<file>.c
    kernel_dirs: tuple[str, ...] = ()

    @property
    def skips_zero_filters(self) -> bool:
        """The core's int8 1x1 CONV_2D kernel writes channels whose filter is all zero as constants
        (kernels/arm_dsp/conv_s8.c, prepare_wide), so the cost model counts only the others' MACs."""
        return "arm_dsp" in self.kernel_dirs

    def op_cost(self, family: str) -> OpCost:
        """The family's cost; a float family falls back to GENERIC_F32, anything else to GENERIC."""
        costs = dict(self.op_costs)
        if family in costs:
            return costs[family]
        if family in ("CONV_2D_1X1", "CONV_2D_FEW_IN") and "CONV_2D" in costs:
            return costs["CONV_2D"]
        if family.endswith("_F32") and f"{GENERIC}_F32" in costs:
            return costs[f"{GENERIC}_F32"]
        return costs[GENERIC]


@dataclass(frozen=True)
class MemoryRegion:
    name: str  # "flash", "sram"
    base: int
    size: int
    wait_states: int = 0  # extra cycles per access (flash/XIP is slower than SRAM)


@dataclass(frozen=True)
class FlashCache:
    """A cache in front of the flash, shared by all cores (RP2040/RP2350 XIP cache): 2-way
    set-associative, LRU. A hit costs what an SRAM access costs; a miss adds `miss_cycles` (the
    serial flash read of one line). Sources: docs/cycle-model.md."""

    size_bytes: int
    line_bytes: int
    miss_cycles: int
    core_types: tuple[str, ...] = ()  # the core types that fetch through it (empty: every core)

    def serves(self, core_type_name: str) -> bool:
        return not self.core_types or core_type_name in self.core_types


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    cores: tuple[tuple[CoreType, int], ...]  # (core type, clock in Hz) per physical core, core 0 first
    flash: MemoryRegion
    sram: MemoryRegion
    emulated: bool = True  # False: code generation and cost estimates only
    max_cores: int | None = None  # for scalable clusters (rv32-smp): cores can be chosen up to this
    sio_base: int | None = None  # RP2040/RP2350 single-cycle IO block (CPUID, spinlocks, FIFO), if any
    # bare-metal port (arielml/runtime/ports/<port>) per core type name; several entries = one firmware
    # image per core type (rp2350-mixed, stm32h747)
    ports: tuple[tuple[str, str], ...] = ()
    hsem_base: int | None = None  # STM32H7 hardware semaphores, if any
    timer_base: int | None = None  # RP2040 1 MHz TIMER block, if emulated
    emu_quantum_cycles: int = 20_000  # emulator: time slice per round-robin turn, in cycles of the fastest core
    # the emulator models this cache for instruction fetch and data reads from flash in place of
    # flash.wait_states; flash.wait_states stays the average cost per flash data read that the weight
    # placement pass plans with
    flash_cache: FlashCache | None = None
    # a separate cache for data reads from flash, if the core has one (Cortex-M7 D-cache)
    flash_data_cache: FlashCache | None = None

    def port_for(self, core_type: CoreType) -> str | None:
        return dict(self.ports).get(core_type.name)

    @property
    def core_count(self) -> int:
        return self.max_cores or len(self.cores)

    def core(self, index: int) -> tuple[CoreType, int]:
        """Core type and clock of core `index` (a cluster repeats its one core type)."""
        return self.cores[min(index, len(self.cores) - 1)]


def _calibrated(name: str, isa: str, gcc_flags: tuple[str, ...], toolchain: str, data: dict | None = None,
                kernel_dirs: tuple[str, ...] = ()) -> CoreType:
    """A core type whose costs come from the calibration data (or from `data`, for core types the
    emulator cannot run)."""
    data = data or CALIBRATION[name]
    costs = tuple((family, OpCost(*values)) for family, values in sorted(data["families"].items()))
    return CoreType(name, isa, gcc_flags, toolchain, costs, data["op_overhead"], data["tile_overhead"],
                    data["grab"], data["barrier"], kernel_dirs)


def _arm(name: str, isa: str, cpu: str, extra: tuple[str, ...], kernel_dirs: tuple[str, ...]) -> CoreType:
    return _calibrated(name, isa, (f"-mcpu={cpu}", "-mthumb", *extra), "arm-none-eabi-", kernel_dirs=kernel_dirs)


# kernel directories: "arm_dsp" = Armv7E-M / Armv8-M Mainline with the DSP extension (SMLAD, SXTB16);
# "armv6m" = Cortex-M0/M0+ (8 low registers, no SIMD); "rv32" = RV32IM cores
CORTEX_M0PLUS = _arm("cortex-m0plus", "armv6m", "cortex-m0plus", ("-mfloat-abi=soft",), ("armv6m",))
CORTEX_M33 = _arm("cortex-m33", "armv8m.main", "cortex-m33", ("-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"), ("arm_dsp",))
CORTEX_M4F = _arm("cortex-m4f", "armv7em", "cortex-m4", ("-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"), ("arm_dsp",))
CORTEX_M7 = _arm("cortex-m7", "armv7em", "cortex-m7", ("-mfloat-abi=hard", "-mfpu=fpv5-d16"), ("arm_dsp",))
HAZARD3 = _calibrated("hazard3", "rv32imac", ("-march=rv32imac_zicsr", "-mabi=ilp32"), "riscv64-unknown-elf-",
                      kernel_dirs=("rv32",))
# not emulated here: estimates. The LX7 (with its MAC16 unit, FPU) is assumed to cost what the
# Cortex-M33 costs; the host's costs only set tile sizes for the native backend (threads).
XTENSA_LX7 = _calibrated("xtensa-lx7", "xtensa", (), "xtensa-esp32s3-elf-", CALIBRATION["cortex-m33"])
HOST = _calibrated("host", "host", (), "", {
    "families": {GENERIC: (0.5, 2.0, 0.0, 1.0, 50.0), f"{GENERIC}_F32": (0.5, 2.0, 0.0, 1.0, 50.0)},
    "op_overhead": 500, "tile_overhead": 2000, "grab": 2000, "barrier": 5000})

KB = 1024
MB = 1024 * KB

# XIP caches (docs/cycle-model.md): RP2040 datasheet 2.6.3.1, 16 kB, two-way, 8-byte lines (1024 sets);
# a miss is a QSPI read of one line, measured ~400 ns = 50 cycles at 125 MHz (SSI at the Pico SDK's
# default divider). RP2350: same organisation (datasheet 4.4); its QMI at the default divider is
# estimated at ~60 cycles of 150 MHz per line.
RP2040_XIP_CACHE = FlashCache(16 * KB, 8, 48)
RP2350_XIP_CACHE = FlashCache(16 * KB, 8, 58)
# STM32H747's Cortex-M7 L1 instruction cache (16 KB, 2-way, 32-byte lines; ARM DDI 0489 TRM): a miss reads
# one 256-bit flash word over AXI, 4 wait states at the 240 MHz AXI clock (RM0399 flash latency table):
# ~5 AXI cycles = 10 M7 cycles, plus ~4 for the interconnect (an estimate). The M4 fetches through ST's
# ART accelerator (modelled as hits, as before).
STM32H7_M7_ICACHE = FlashCache(16 * KB, 32, 14, core_types=("cortex-m7",))
# its L1 data cache: 16 KB, 4-way, 32-byte lines (modelled 2-way), the same flash word per miss
STM32H7_M7_DCACHE = FlashCache(16 * KB, 32, 14, core_types=("cortex-m7",))

BOARDS: dict[str, Board] = {b.name: b for b in (
    Board("host", "this machine: generated C built with the host compiler, POSIX threads",
          ((HOST, 2_000_000_000),) * 2, MemoryRegion("flash", 0, 1 << 40), MemoryRegion("sram", 0, 1 << 40),
          emulated=False, max_cores=64),
    Board("rp2040", "Raspberry Pi RP2040: 2x Cortex-M0+, 264 KB SRAM, 2 MB QSPI flash (XIP)",
          ((CORTEX_M0PLUS, 125_000_000),) * 2, MemoryRegion("flash", 0x1000_0000, 2 * MB, wait_states=1),
          MemoryRegion("sram", 0x2000_0000, 264 * KB), sio_base=0xD000_0000,
          ports=(("cortex-m0plus", "rp2040"),), timer_base=0x4005_4000, flash_cache=RP2040_XIP_CACHE),
    Board("rp2350-arm", "Raspberry Pi RP2350: 2x Cortex-M33 (DSP, FPU), 520 KB SRAM, 4 MB flash",
          ((CORTEX_M33, 150_000_000),) * 2, MemoryRegion("flash", 0x1000_0000, 4 * MB, wait_states=1),
          MemoryRegion("sram", 0x2000_0000, 520 * KB), sio_base=0xD000_0000, ports=(("cortex-m33", "rp2350-arm"),),
          flash_cache=RP2350_XIP_CACHE),
    Board("rp2350-riscv", "Raspberry Pi RP2350: 2x Hazard3 RV32IMAC, 520 KB SRAM, 4 MB flash",
          ((HAZARD3, 150_000_000),) * 2, MemoryRegion("flash", 0x1000_0000, 4 * MB, wait_states=1),
          MemoryRegion("sram", 0x2000_0000, 520 * KB), sio_base=0xD000_0000, ports=(("hazard3", "rp2-riscv"),),
          flash_cache=RP2350_XIP_CACHE),
    Board("rp2350-mixed", "Raspberry Pi RP2350: one Cortex-M33 and one Hazard3 sharing SRAM (two ISAs)",
          ((CORTEX_M33, 150_000_000), (HAZARD3, 150_000_000)), MemoryRegion("flash", 0x1000_0000, 4 * MB, wait_states=1),
          MemoryRegion("sram", 0x2000_0000, 520 * KB), sio_base=0xD000_0000,
          ports=(("cortex-m33", "rp2350-arm"), ("hazard3", "rp2-riscv")), flash_cache=RP2350_XIP_CACHE),
    Board("nrf52840", "Nordic nRF52840: 1x Cortex-M4F 64 MHz, 256 KB SRAM, 1 MB flash (single-core baseline)",
          ((CORTEX_M4F, 64_000_000),), MemoryRegion("flash", 0x0000_0000, 1 * MB, wait_states=2),
          MemoryRegion("sram", 0x2000_0000, 256 * KB), ports=(("cortex-m4f", "nrf52840"),)),
    Board("stm32h747", "ST STM32H747: Cortex-M7 480 MHz + Cortex-M4 240 MHz on shared SRAM",
          ((CORTEX_M7, 480_000_000), (CORTEX_M4F, 240_000_000)), MemoryRegion("flash", 0x0800_0000, 2 * MB, wait_states=4),
          MemoryRegion("sram", 0x2400_0000, 512 * KB), ports=(("cortex-m7", "stm32h747"), ("cortex-m4f", "stm32h747")),
          hsem_base=0x5802_6400, flash_cache=STM32H7_M7_ICACHE, flash_data_cache=STM32H7_M7_DCACHE),
    Board("rv32-smp", "generic RV32IMAC cluster, up to 8 cores at 100 MHz on shared SRAM (scaling studies)",
          ((HAZARD3, 100_000_000),), MemoryRegion("flash", 0x1000_0000, 16 * MB, wait_states=1),
          MemoryRegion("sram", 0x2000_0000, 2 * MB), max_cores=8, sio_base=0xD000_0000, ports=(("hazard3", "rp2-riscv"),)),
    Board("esp32s3", "Espressif ESP32-S3: 2x Xtensa LX7 240 MHz, 512 KB SRAM (code generation and estimates only)",
          ((XTENSA_LX7, 240_000_000),) * 2, MemoryRegion("flash", 0x4200_0000, 8 * MB, wait_states=2),
          MemoryRegion("sram", 0x3FC8_8000, 512 * KB), emulated=False),
)}


def get_board(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise TargetError(f"unknown target '{name}'; known targets: {', '.join(BOARDS)}") from None


def check_cores(board: Board, cores: int) -> None:
    if not 1 <= cores <= board.core_count:
        if board.name == "host":  # threads, not cores: the native backend's own limit and message
            from arielml.backends.native import check_threads
            check_threads(cores)
        raise TargetError(f"target {board.name} has {board.core_count} core(s); asked for {cores}")
