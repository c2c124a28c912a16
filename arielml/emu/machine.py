"""A multi-core microcontroller on Unicorn: one Uc per core, one shared SRAM buffer mapped into all of
them, flash loaded from the ELF image(s), the peripherals of peripherals.py, and a cycle counter per
core (cycle_hook.c + cyclemodel.py).

Time is simulated, in ticks common to all cores (a core's cycle lasts ticks_per_cycle[core] ticks, so
cores of different clocks compare). Cores run one at a time, each until the end of its time slice (the
quantum, in cycles of the fastest core); slices end on block boundaries. Deterministic mode: fixed
slices and core order. Randomised mode (seed): each slice length is drawn from [quantum/4,
7*quantum/4] and the core order is shuffled every round; the seed fully determines the run.

Slices alone would let a core that runs first in host order act on shared state "before" a core that
is earlier in simulated time, and let a core observe a write from its own future: a barrier would be
released at the host-order last arrival, not the latest one. Every piece of state the runtime shares
between cores is read and written under a hardware lock (ariel_runtime.c), so the machine orders the
lock acquisitions in simulated time instead:
* a core that reads a free lock while another runnable core is earlier in simulated time is told the
  lock is taken and stops (it is "deferred"); it retries once no runnable core is earlier, and its
  clock is put back to the first attempt, so the retried spin iteration is not charged;
* a core that takes a lock starts its critical section no earlier than the lock's last release
  (a Lamport clock on every lock), and a core that finds it held waits until the release;
* a core woken by an event resumes no earlier than the event was sent.
Acquisitions therefore happen in simulated-time order (to a basic block), every barrier opens at the
latest arrival, and the cycle counts no longer depend on the quantum or the seed beyond that
granularity (tests/test_emu_time.py states the bound)."""
from __future__ import annotations

import bisect
import math
import ctypes
import mmap
import random
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import unicorn as uc_module
from elftools.elf.elffile import ELFFile
from unicorn import arm_const, riscv_const

from arielml.emu import fasthook, peripherals
from arielml.emu.cyclemodel import classifier_for, misaligned_target_cycles
from arielml.emu.firmware import Firmware
from arielml.emu.peripherals import CONTROL_BASE, CONTROL_SIZE, PPB_BASE, PPB_SIZE, SharedState, TraceEvent
from arielml.errors import FirmwareFault, TargetError
from arielml.targets.boards import Board, check_cores

_ARM_MODELS = {"cortex-m0plus": arm_const.UC_CPU_ARM_CORTEX_M0, "cortex-m33": arm_const.UC_CPU_ARM_CORTEX_M33,
               "cortex-m4f": arm_const.UC_CPU_ARM_CORTEX_M4, "cortex-m7": arm_const.UC_CPU_ARM_CORTEX_M7}
_UNTIL = 0xFFFF_FFF0  # never reached: cores stop through the cycle hook, the control block or a fault
_ARBITRATION_CYCLES = 32  # randomised mode: how much earlier a core may be and still lose a lock race
_STALL_CHECK_INSNS = 1 << 24  # how often (in instructions) to look for a machine that no longer changes


@dataclass(frozen=True)
class RunResult:
    exit_status: int | None  # value core 0 wrote to the control block's EXIT register
    cycles: tuple[int, ...]  # per core, in that core's own clock
    instructions: tuple[int, ...]
    clocks_hz: tuple[int, ...]
    console: str
    trace: tuple[TraceEvent, ...]
    seconds: float  # host wall time
    flash_reads: tuple[int, ...]
    cache_misses: tuple[int, ...] = ()  # per core: flash cache misses (boards with a flash cache)
    mispredicts: tuple[int, ...] = ()  # per core: conditional branches mispredicted (Cortex-M7, Hazard3)

    @property
    def total_instructions(self) -> int:
        return sum(self.instructions)

    @property
    def mips(self) -> float:
        return self.total_instructions / self.seconds / 1e6 if self.seconds > 0 else 0.0

    @property
    def elapsed_seconds(self) -> float:
        """Simulated time until the last core stopped."""
        return max(c / f for c, f in zip(self.cycles, self.clocks_hz))


@dataclass
class _Image:
    path: Path
    arch: str
    entry: int
    initial_sp: int
    segments: list[tuple[int, bytes]]
    symbol_starts: list[int]
    symbol_names: list[str]
    code_ranges: list[tuple[int, int]]  # [start, end) of every allocated executable section


def _load_elf(path: Path) -> _Image:
    with open(path, "rb") as handle:
        elf = ELFFile(handle)
        arch = "riscv" if elf["e_machine"] == "EM_RISCV" else "arm"
        segments = [(seg["p_paddr"], seg.data()) for seg in elf.iter_segments()
                    if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > 0]
        functions = []
        table = elf.get_section_by_name(".symtab")
        if table is not None:
            functions = sorted((s["st_value"] & ~1, s.name) for s in table.iter_symbols()
                               if s["st_info"]["type"] == "STT_FUNC" and s.name)
        initial_sp = 0
        vectors = next((s for s in (table.iter_symbols() if table else ())
                        if s.name in ("__ariel_vectors", "__isr_vector", "__Vectors", "__vectors", "g_pfnVectors")), None)
        vector_address = vectors["st_value"] if vectors is not None else min(a for a, _ in segments)
        for address, data in segments:
            if address <= vector_address < address + len(data) - 4:
                initial_sp = int.from_bytes(data[vector_address - address: vector_address - address + 4], "little")
        code = [(s["sh_addr"], s["sh_addr"] + s["sh_size"]) for s in elf.iter_sections()
                if s["sh_flags"] & 0x6 == 0x6 and s["sh_size"] and s["sh_type"] != "SHT_NOBITS"]  # SHF_ALLOC|SHF_EXECINSTR
        return _Image(Path(path), arch, elf["e_entry"], initial_sp, segments, [a for a, _ in functions],
                      [n for _, n in functions], code)


class Machine:
    """Run bare-metal firmware on an emulated board.

    `firmware`: a Firmware from build_firmware, or the path of any ELF built for the board's memory
    map (every core then boots that image; Arm: SP from the vector table, PC from the ELF entry)."""

    def __init__(self, board: Board, firmware: Firmware | str | Path, cores: int | None = None,
                 quantum_cycles: int | None = None, seed: int | None = None,
                 max_instructions: int = 20_000_000_000, exact_flash_reads: bool = False):
        if not board.emulated:
            raise TargetError(f"target {board.name} cannot be emulated here (code generation and estimates only)")
        self.board = board
        if isinstance(firmware, Firmware):
            cores = firmware.cores if cores is None else cores
            paths = [firmware.image_of_core(c).path for c in range(cores)]
        else:
            cores = board.core_count if cores is None else cores
            paths = [Path(firmware)] * cores
        check_cores(board, cores)
        self.ncores = cores
        if quantum_cycles is not None and (not isinstance(quantum_cycles, int) or quantum_cycles < 1):
            raise TargetError(f"quantum_cycles must be a whole number of cycles >= 1 (got {quantum_cycles!r}); "
                              f"leave it unset for the board's default ({board.emu_quantum_cycles})")
        self.quantum = quantum_cycles if quantum_cycles is not None else board.emu_quantum_cycles
        self.seed = seed
        self.max_instructions = max_instructions
        # default: data reads from the flash pages without code (.rodata, .data's load image) are charged
        # by an MMIO read callback in C, literal-pool loads statically; exact: a memory hook on the whole
        # flash charges every data read from flash, those from code pages too (every load and store then
        # takes Unicorn's slow path: ~4x slower; a check of the default, docs/cycle-model.md)
        self.exact_flash_reads = exact_flash_reads
        self.core_types = [board.core(c)[0] for c in range(cores)]
        self.clocks = [board.core(c)[1] for c in range(cores)]
        ticks = math.lcm(*self.clocks)
        self.ticks_per_cycle = [ticks // f for f in self.clocks]  # common time base of all cores
        self._blocked: dict[int, tuple[str, int]] = {}  # core -> lock it waits for (held by another core)
        self._requested: dict[int, int] = {}  # blocked core -> ticks when it first asked for the lock
        # core -> (cycles to retry a lock read at, ticks when it can take the lock, ticks of its request)
        self._deferred: dict[int, tuple[int, int, int]] = {}
        self._lock_free_at: dict[tuple[str, int], int] = {}  # lock -> ticks of its latest release
        self._rng: random.Random | None = None  # randomised mode (seed), set by run()
        self._arbitration_ticks = _ARBITRATION_CYCLES * min(self.ticks_per_cycle)
        self._images = {p: _load_elf(p) for p in dict.fromkeys(paths)}
        self.core_image = [self._images[p] for p in paths]
        self._lib = fasthook.hook_library()
        self._events = self._lib.ariel_events_new(cores)
        self._caches = []  # one flash cache state per core (cycle_hook.c says why)
        self._windows = []  # the MMIO windows on flash data pages (C objects), per core
        self._flash = mmap.mmap(-1, _page_align(board.flash.size))
        self._sram = mmap.mmap(-1, _page_align(board.sram.size))
        for image in self._images.values():
            for address, data in image.segments:
                self._store(address, data)
        self.state = SharedState(cores, self._cycles_of, lambda c: self.clocks[c])
        self.state.read_string = self._read_string
        self._classifiers: dict[str, object] = {}
        self._block_cache: dict[tuple[str, int, bytes], int] = {}
        self._classify_error: BaseException | None = None
        self._invalid_access: dict[int, tuple[int, int]] = {}
        self._keep_alive: list[object] = []
        self.ucs = []
        self.ctxs = []
        for core in range(cores):
            self._create_core(core)
        self._asleep = [False] * cores

    # ---- set-up ------------------------------------------------------------------------------------

    def _store(self, address: int, data: bytes) -> None:
        for region, buffer in ((self.board.flash, self._flash), (self.board.sram, self._sram)):
            if region.base <= address and address + len(data) <= region.base + region.size:
                buffer[address - region.base: address - region.base + len(data)] = data
                return
        raise FirmwareFault(f"ELF segment at {address:#x} ({len(data)} bytes) lies outside {self.board.name}'s "
                            f"flash and SRAM; build it for this board's memory map")

    def _create_core(self, core: int) -> None:
        core_type = self.core_types[core].name
        image = self.core_image[core]
        if image.arch == "arm":
            uc = uc_module.Uc(uc_module.UC_ARCH_ARM, uc_module.UC_MODE_THUMB)
            uc.ctl_set_cpu_model(_ARM_MODELS[core_type])  # first call on this Uc (the Cortex-M0 trap)
        else:
            uc = uc_module.Uc(uc_module.UC_ARCH_RISCV, uc_module.UC_MODE_RISCV32)
        board = self.board
        sram_ptr = ctypes.addressof(ctypes.c_char.from_buffer(self._sram))
        uc.mem_map_ptr(board.sram.base, len(self._sram), uc_module.UC_PROT_ALL, sram_ptr)
        state = self.state
        self._mmio(uc, CONTROL_BASE, CONTROL_SIZE, core,
                   lambda c, off: peripherals.control_read(state, c, off), self._control_write)
        if board.sio_base is not None:
            self._mmio(uc, board.sio_base, 0x1000, core, self._sio_read, self._sio_write)
        if board.timer_base is not None:
            self._mmio(uc, board.timer_base, 0x1000, core, lambda c, off: peripherals.timer_read(state, c, off),
                       lambda c, off, v: None)
        if board.hsem_base is not None:
            base = board.hsem_base & ~0xFFF
            delta = board.hsem_base - base
            self._mmio(uc, base, 0x1000, core, lambda c, off: self._hsem_read(c, off - delta),
                       lambda c, off, v: self._hsem_write(c, off - delta, v))
        if image.arch == "arm":
            self._mmio(uc, PPB_BASE, PPB_SIZE, core,
                       lambda c, off: peripherals.ppb_read(state, c, self.core_types[c].name, off),
                       lambda c, off, v: peripherals.ppb_write(state, c, off, v))
        classify = fasthook.CLASSIFY_FN(self._make_classifier(core, uc))
        cache, data_cache = (c if c is not None and c.serves(core_type) else None
                             for c in (board.flash_cache, board.flash_data_cache))
        flash_wait = board.flash.wait_states if cache is None and data_cache is None else 0
        ctx = self._lib.ariel_core_new(core, ctypes.c_void_p(uc._uch.value), fasthook.emu_stop_address(), classify,
                                       self._events, flash_wait, self.ticks_per_cycle[core])
        ctx.contents.predictor = {"hazard3": fasthook.PREDICTOR_HAZARD3, "cortex-m7": fasthook.PREDICTOR_M7}.get(
            core_type, fasthook.PREDICTOR_NONE)
        ctx.contents.misaligned_target = misaligned_target_cycles(core_type)
        ctx.contents.cache = self._new_cache(cache)
        ctx.contents.dcache = self._new_cache(data_cache)
        charged = bool(flash_wait) or cache is not None or data_cache is not None
        self._map_flash(uc, ctx, charged and not self.exact_flash_reads)
        fasthook.add_c_hooks(uc, ctx, (board.flash.base, board.flash.base + board.flash.size - 1)
                             if charged and self.exact_flash_reads else None)
        uc.hook_add(uc_module.UC_HOOK_MEM_INVALID, self._make_invalid_hook(core))
        self._keep_alive.append(classify)
        if image.arch == "arm":
            uc.reg_write(arm_const.UC_ARM_REG_SP, image.initial_sp)
        self.ucs.append(uc)
        self.ctxs.append(ctx)
        self._pcs = getattr(self, "_pcs", []) + [image.entry & ~1]

    def _map_flash(self, uc, ctx, data_windows: bool) -> None:
        """Map the flash into a core: pages that hold code RAM-mapped (QEMU's fast path for fetches and
        literal loads), and, if `data_windows`, every other page as MMIO read by cycle_hook.c, which
        charges each data read (wait states or the cache). Without data windows all of it is RAM-mapped."""
        base, size = self.board.flash.base, len(self._flash)
        flash_ptr = ctypes.addressof(ctypes.c_char.from_buffer(self._flash))
        for start, end, is_code in self._flash_runs(data_windows):
            if is_code:
                uc.mem_map_ptr(base + start, end - start, uc_module.UC_PROT_READ | uc_module.UC_PROT_EXEC,
                               flash_ptr + start)
            else:
                window = self._lib.ariel_window_new(ctx, flash_ptr + start, base + start)
                if not window:
                    raise MemoryError("no memory for the emulated flash")
                self._windows.append(window)
                fasthook.map_flash_window(uc, window, base + start, end - start)

    def _flash_runs(self, data_windows: bool) -> list[tuple[int, int, bool]]:
        """The flash as runs of whole pages, [(start offset, end offset, holds code)]. A page holds code if
        an executable section of any image touches it (linker.py starts .rodata on a page of its own, so
        with our images no constant shares a page with code; a foreign ELF's constants beside code are
        read for free, as literal pools are)."""
        size = len(self._flash)
        if not data_windows:
            return [(0, size, True)]
        base = self.board.flash.base
        code = bytearray(size // _PAGE)
        for image in self._images.values():
            for start, end in image.code_ranges:
                first, last = max(start, base), min(end, base + size)
                for page in range((first - base) // _PAGE, (last - base + _PAGE - 1) // _PAGE):
                    code[page] = 1
        runs = []
        for page, flag in enumerate(code):
            if runs and runs[-1][2] == bool(flag):
                runs[-1] = (runs[-1][0], (page + 1) * _PAGE, bool(flag))
            else:
                runs.append((page * _PAGE, (page + 1) * _PAGE, bool(flag)))
        return runs

    def _new_cache(self, cache) -> int | None:
        """A fresh cache state in C for one core (its address), or None."""
        if cache is None:
            return None
        board = self.board
        state = self._lib.ariel_cache_new(board.flash.base, board.flash.size, cache.size_bytes, cache.line_bytes,
                                          cache.miss_cycles)
        if not state:
            raise MemoryError("no memory for the emulated flash cache")
        self._caches.append(state)
        return ctypes.cast(state, ctypes.c_void_p).value

    def _mmio(self, uc, base, size, core, read, write) -> None:
        uc.mmio_map(base, size, lambda _uc, off, _size, _ud: read(core, off), None,
                    lambda _uc, off, _size, value, _ud: write(core, off, value), None)

    def _control_write(self, core: int, offset: int, value: int) -> None:
        if peripherals.control_write(self.state, core, offset, value):
            self._stop(core)

    # A core that finds a hardware lock taken stops and waits until the holder releases it; it then
    # resumes at the release time. Spinning on the lock is not emulated instruction by instruction
    # (it would only burn host time, and its length would be an artefact of the time slices).
    def _sio_read(self, core: int, offset: int) -> int:
        if 0x100 <= offset < 0x180:
            n = (offset - 0x100) // 4
            if not self._may_acquire(core, ("sio", n), free=not self.state.spinlocks[n]):
                return 0
        return peripherals.sio_read(self.state, core, offset)

    def _sio_write(self, core: int, offset: int, value: int) -> None:
        peripherals.sio_write(self.state, core, offset, value)
        if 0x100 <= offset < 0x180:
            self._release(core, ("sio", (offset - 0x100) // 4))

    def _hsem_read(self, core: int, offset: int) -> int:
        if 0x80 <= offset < 0x100:  # RLR: the one-step lock
            n = (offset - 0x80) // 4
            mine = peripherals.HSEM_LOCK | peripherals.HSEM_MASTER_ID[min(core, 1)] << 8
            if not self._may_acquire(core, ("hsem", n), free=self.state.hsem[n] in (0, mine)):
                return 0
        return peripherals.hsem_read(self.state, core, offset)

    def _hsem_write(self, core: int, offset: int, value: int) -> None:
        n = offset // 4
        was_free = offset < 0x80 and self.state.hsem[n] == 0
        peripherals.hsem_write(self.state, core, offset, value)
        if offset < 0x80 and was_free and self.state.hsem[n] != 0:  # the two-step lock was taken
            self._start_after_release(core, ("hsem", n))
        elif offset < 0x80 and not was_free and self.state.hsem[n] == 0:
            self._release(core, ("hsem", n))

    # ---- locks in simulated time (see the module docstring) ----------------------------------------

    def _may_acquire(self, core: int, lock: tuple[str, int], free: bool) -> bool:
        """`core` reads the register that takes `lock`. True: it takes it now (its clock moved to the
        lock's last release if that is later). False: the read must answer "held": the lock is held
        (the core waits for the release) or a core comes first (the core stops and retries when none
        does). Cores come first by (time, time of their request, core index): among cores that spun
        on a held lock, the one that asked first gets it at the release, whatever the time slices."""
        ctx = self.ctxs[core].contents
        pending = self._deferred.pop(core, None)
        if pending is not None:
            ctx.cycles, _, requested = pending  # the retry re-ran the spin loop's block: charge it once
        else:
            requested = ctx.cycles * self.ticks_per_cycle[core]
        if not free:  # it waits for the release (_release)
            self._blocked[core] = lock
            self._requested[core] = requested
            self._stop(core)
            return False
        # a lock released later in simulated time (earlier only in host order) is taken at the release
        start = max(ctx.cycles * self.ticks_per_cycle[core], self._lock_free_at.get(lock, 0))
        if self._other_core_first(core, start, requested):
            self._deferred[core] = (ctx.cycles, start, requested)
            self._stop(core)
            return False
        self._start_after_release(core, lock)
        return True

    def _start_after_release(self, core: int, lock: tuple[str, int]) -> None:
        ctx = self.ctxs[core].contents
        ctx.cycles = max(ctx.cycles, -(-self._lock_free_at.get(lock, 0) // self.ticks_per_cycle[core]))

    def _next_access(self, core: int) -> tuple[int, int] | None:
        """(ticks at which `core` will next touch shared state, ticks of its pending lock request), or
        None if it cannot before another core acts (halted, waiting for a held lock, or sleeping
        without a pending event)."""
        if core in self.state.halted or core in self._blocked:
            return None
        ticks = self.ctxs[core].contents.cycles * self.ticks_per_cycle[core]
        requested = ticks
        if core in self._deferred:
            _, ticks, requested = self._deferred[core]
        if self._asleep[core]:
            events = self._events.contents
            if not events.event[core]:
                return None
            ticks = requested = max(ticks, events.event_time[core])
        return ticks, requested

    def _other_core_first(self, core: int, now: int, requested: int) -> bool:
        """Whether another core comes before `core`, which will touch a lock at `now` (ticks) and
        asked for it at `requested`."""
        if self._rng is not None:
            # randomised mode looks for races: a core may win a lock against one that is up to
            # _ARBITRATION_CYCLES earlier, as bus arbitration might let it (times stay consistent)
            now -= self._rng.randint(0, self._arbitration_ticks)
        mine = (now, requested, core)
        for other in range(self.ncores):
            if other != core:
                access = self._next_access(other)
                if access is not None and (*access, other) < mine:
                    return True
        return False

    def _stop(self, core: int) -> None:
        """Stop a core from inside an MMIO callback: the rest of the current block still runs."""
        self.ctxs[core].contents.stop_reason = fasthook.STOP_EXTERNAL
        self.ucs[core].emu_stop()

    def _release(self, core: int, lock: tuple[str, int]) -> None:
        now = self.ctxs[core].contents.cycles * self.ticks_per_cycle[core]
        self._lock_free_at[lock] = max(now, self._lock_free_at.get(lock, 0))
        for waiter, wanted in list(self._blocked.items()):
            if wanted == lock:
                # it retries as a deferred read would: at the release, its spin iteration charged once
                del self._blocked[waiter]
                ctx = self.ctxs[waiter].contents
                resume = max(ctx.cycles, -(-now // self.ticks_per_cycle[waiter]))
                self._deferred[waiter] = (resume, resume * self.ticks_per_cycle[waiter], self._requested.pop(waiter))

    def _make_invalid_hook(self, core: int):
        def on_invalid(_uc, access, address, size, value, _ud):
            self._invalid_access[core] = (access, address)
            return False
        return on_invalid

    def _make_classifier(self, core: int, uc):
        core_type = self.core_types[core].name
        if core_type not in self._classifiers:
            flash = (self.board.flash.base, self.board.flash.base + self.board.flash.size)
            # with a flash cache, a literal sits beside the code that loads it: a hit in default mode
            cached = self.board.flash_cache is not None and self.board.flash_cache.serves(core_type)
            literal_wait = 0 if self.exact_flash_reads or cached else self.board.flash.wait_states
            self._classifiers[core_type] = classifier_for(core_type, literal_wait, flash)
        classifier = self._classifiers[core_type]

        def classify(_core: int, address: int, size: int) -> int:
            try:
                code = bytes(uc.mem_read(address, size))
                key = (core_type, address, code)
                packed = self._block_cache.get(key)
                if packed is None:
                    packed = classifier.classify(code, address).pack()
                    self._block_cache[key] = packed
                return packed
            except BaseException as error:  # never let an exception cross the C boundary
                self._classify_error = error
                return fasthook.CLASSIFY_FAILED
        return classify

    def _read_string(self, core: int, address: int) -> str:
        raw = bytearray()
        while len(raw) < 4096:
            at = address + len(raw)
            found = self._buffer_of(at, 1)
            room = 64 if found is None else min(64, len(found[0]) - found[1])  # not past a buffer's end
            chunk = self.read(at, room)
            end = chunk.find(b"\0")
            raw += chunk if end < 0 else chunk[:end]
            if end >= 0:
                break
        return raw.decode("utf-8", "replace")

    def _cycles_of(self, core: int) -> int:
        return self.ctxs[core].contents.cycles

    # ---- running -----------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run until core 0 writes EXIT (or every core halts). Raises FirmwareFault on a fault, when the
        instruction budget runs out, or when the cores stop making progress."""
        started = time.perf_counter()
        state, ctxs = self.state, [c.contents for c in self.ctxs]
        rng = self._rng = random.Random(self.seed) if self.seed is not None else None
        tpc = self.ticks_per_cycle
        slice_ticks = self.quantum * min(tpc)  # the quantum is in cycles of the fastest core
        horizon = [0] * self.ncores  # per core: end of its current slice, in ticks
        order = list(range(self.ncores))
        next_stall_check, last_snapshot = _STALL_CHECK_INSNS, None
        events = self._events.contents.event
        event_times = self._events.contents.event_time
        while state.exit_status is None and len(state.halted) < self.ncores:
            if rng is not None:
                rng.shuffle(order)
            for core in order:
                if core in state.halted or state.exit_status is not None:
                    continue
                ctx = ctxs[core]
                now = ctx.cycles * tpc[core]
                if now >= horizon[core]:  # its slice is used up (a stop for a lock leaves the rest of it)
                    step = slice_ticks if rng is None else rng.randint(max(1, slice_ticks // 4), slice_ticks * 7 // 4)
                    horizon[core] += step  # the overshoot past the old slice comes out of the new one
                    if horizon[core] <= now:  # it slept past the end of the new slice too
                        horizon[core] = now + step
                if core in self._blocked:
                    continue
                if self._asleep[core]:
                    if not events[core]:
                        continue
                    # woken by an event: resume at the time it was sent (if that is later)
                    ctx.cycles = max(ctx.cycles, -(-event_times[core] // tpc[core]))
                    if self._asleep[core] == "wfe":
                        events[core] = 0  # WFE already executed: waking consumes the event
                    self._asleep[core] = False  # a wait hint's block re-runs and consumes it itself
                if core in self._deferred and self._other_core_first(core, *self._next_access(core)):
                    continue  # its lock read waits until no runnable core is earlier
                target = -(-horizon[core] // tpc[core])
                if ctx.cycles >= target and core not in self._deferred:
                    continue
                self._run_core(core, ctx, max(target, ctx.cycles + 1))
            total = sum(c.insns for c in ctxs)
            if total > self.max_instructions:
                raise self._fault(self._busiest_core(ctxs), f"instruction budget exhausted "
                                  f"({self.max_instructions} instructions); the firmware never wrote EXIT")
            running = [c for c in range(self.ncores) if c not in state.halted]
            if running and state.exit_status is None and \
                    all((self._asleep[c] and not events[c]) or c in self._blocked for c in running):
                waits = ", ".join(f"core {c} " + (f"waits for {self._blocked[c][0]} lock {self._blocked[c][1]}"
                                                   if c in self._blocked else "waits for an event (WFE)")
                                  for c in running)
                raise self._fault(running[0], f"deadlock: {waits}, and no core can release them")
            if total >= next_stall_check:
                next_stall_check = total + _STALL_CHECK_INSNS
                snapshot = self._snapshot()
                if snapshot == last_snapshot:
                    raise self._fault(self._busiest_core(ctxs), "the cores are spinning forever: "
                                      "registers and memory did not change over the last check interval")
                last_snapshot = snapshot
        seconds = time.perf_counter() - started
        return RunResult(state.exit_status, tuple(c.cycles for c in ctxs), tuple(c.insns for c in ctxs),
                         tuple(self.clocks), "".join(state.console), tuple(state.trace), seconds,
                         tuple(c.flash_reads for c in ctxs), tuple(c.cache_misses for c in ctxs),
                         tuple(c.mispredicts for c in ctxs))

    def _run_core(self, core: int, ctx, target: int) -> None:
        uc = self.ucs[core]
        arm = self.core_image[core].arch == "arm"
        ctx.target = target
        while True:
            ctx.stop_reason = fasthook.STOP_NONE
            pc = self._pcs[core]
            try:
                uc.emu_start(pc | 1 if arm else pc, _UNTIL)
                error = None
            except uc_module.UcError as caught:
                error = caught
            pc = uc.reg_read(arm_const.UC_ARM_REG_PC if arm else riscv_const.UC_RISCV_REG_PC)
            self._pcs[core] = pc
            if ctx.stop_reason == fasthook.STOP_CLASSIFY_ERROR:
                raise self._fault(core, f"the cycle model could not classify the code at {ctx.last_block:#x}: "
                                  f"{self._classify_error}")
            if error is None:
                if ctx.stop_reason in (fasthook.STOP_QUANTUM, fasthook.STOP_EXTERNAL):
                    return
                # a wait hint (h3.block; its block has not run yet), or WFI (Arm) / wfi (RISC-V)
                self._sleep(core, ctx, "hint" if ctx.stop_reason == fasthook.STOP_WAIT else "wfe")
                return
            if error.errno == uc_module.UC_ERR_INSN_INVALID and (ctx.prev_flags & fasthook.FLAG_WFE_END) \
                    and pc == ctx.prev_end:
                events = self._events.contents.event
                if events[core]:
                    events[core] = 0  # an event was pending: WFE returns at once, or when it
                    # was sent if that is later in simulated time (it was sent first only in host order)
                    ctx.cycles = max(ctx.cycles, -(-self._events.contents.event_time[core] // self.ticks_per_cycle[core]))
                    ctx.prev_flags = 0
                    if ctx.cycles < target:
                        continue
                    return
                self._sleep(core, ctx, "wfe")
                return
            raise self._fault(core, self._describe_error(core, error))

    def _sleep(self, core: int, ctx, kind: str) -> None:
        """The core waits for an event; its clock stops here and resumes at the event's time."""
        self._asleep[core] = kind
        ctx.prev_flags = 0

    def _describe_error(self, core: int, error) -> str:
        access = self._invalid_access.pop(core, None)
        if error.errno == uc_module.UC_ERR_INSN_INVALID:
            return ("undefined instruction (not implemented by this core: "
                    f"{self.core_types[core].name}, e.g. a Thumb-2/DSP instruction on a Cortex-M0+)")
        if access is not None:
            kind = {uc_module.UC_MEM_READ_UNMAPPED: "read of unmapped", uc_module.UC_MEM_WRITE_UNMAPPED: "write to unmapped",
                    uc_module.UC_MEM_FETCH_UNMAPPED: "fetch from unmapped", uc_module.UC_MEM_WRITE_PROT: "write to read-only",
                    uc_module.UC_MEM_FETCH_PROT: "fetch from non-executable"}.get(access[0], "invalid access to")
            return f"{kind} address {access[1]:#x}"
        return f"{error} ({error.errno})"

    def _busiest_core(self, ctxs) -> int:
        return max(range(self.ncores), key=lambda c: ctxs[c].insns)

    def _fault(self, core: int, what: str) -> FirmwareFault:
        pc = self._pcs[core]
        symbol = self.symbol_at(core, pc)
        op = self.state.current_op.get(core)
        operator = f"operator {op}" if op is not None else "no operator running"
        return FirmwareFault(f"{self.board.name} core {core} ({self.core_types[core].name}) at PC {pc:#010x} "
                             f"in {symbol}, {operator}: {what}")

    def symbol_at(self, core: int, address: int) -> str:
        image = self.core_image[core]
        index = bisect.bisect_right(image.symbol_starts, address) - 1
        if index < 0:
            return "?"
        return f"{image.symbol_names[index]}+{address - image.symbol_starts[index]:#x}"

    def _snapshot(self) -> tuple:
        registers = []
        for core, uc in enumerate(self.ucs):
            if self.core_image[core].arch == "arm":
                ids = [getattr(arm_const, f"UC_ARM_REG_R{i}") for i in range(13)] + [arm_const.UC_ARM_REG_SP,
                                                                                    arm_const.UC_ARM_REG_LR]
            else:
                ids = [getattr(riscv_const, f"UC_RISCV_REG_X{i}") for i in range(1, 32)]
            registers.append(tuple(uc.reg_read(r) for r in ids) + (self._pcs[core],))
        return (zlib.crc32(self._sram), tuple(registers), tuple(self.state.spinlocks), tuple(self.state.hsem),
                tuple(sorted(self.state.halted)))

    # ---- memory access for callers (inputs/outputs of a model) ---------------------------------------

    def _buffer_of(self, address: int, size: int):
        """(buffer, offset) of the flash or SRAM bytes at `address`, or None."""
        for region, buffer in ((self.board.flash, self._flash), (self.board.sram, self._sram)):
            if region.base <= address and address + size <= region.base + len(buffer):
                return buffer, address - region.base
        return None

    def read(self, address: int, size: int) -> bytes:
        # straight from the memory buffers: a host read of flash data pages must not go through (and
        # charge) the cores' MMIO windows
        found = self._buffer_of(address, size)
        if found is None:
            return bytes(self.ucs[0].mem_read(address, size))
        buffer, offset = found
        return bytes(buffer[offset: offset + size])

    def write(self, address: int, data: bytes) -> None:
        found = self._buffer_of(address, len(data))
        if found is None:
            self.ucs[0].mem_write(address, bytes(data))
            return
        buffer, offset = found
        buffer[offset: offset + len(data)] = bytes(data)

    def symbol_address(self, name: str, core: int = 0) -> int:
        image = self.core_image[core]
        with open(image.path, "rb") as handle:
            table = ELFFile(handle).get_section_by_name(".symtab")
            for symbol in table.iter_symbols():
                if symbol.name == name:
                    return symbol["st_value"]
        raise KeyError(name)

    def close(self) -> None:
        for ctx in self.ctxs:
            self._lib.ariel_core_free(ctx)
        self.ctxs = []
        if self._events:
            self._lib.ariel_events_free(self._events)
            self._events = None
        for state in self._caches:
            self._lib.ariel_cache_free(state)
        self._caches = []
        self.ucs = []  # the Ucs (and their MMIO mappings) go before the windows they point to
        for window in self._windows:
            self._lib.ariel_window_free(window)
        self._windows = []


_PAGE = 0x1000  # Unicorn maps memory in 4 KiB pages


def _page_align(size: int) -> int:
    return (size + _PAGE - 1) & ~(_PAGE - 1)


def run_firmware(board: Board, firmware: Firmware | str | Path, cores: int | None = None,
                 quantum_cycles: int | None = None, seed: int | None = None,
                 max_instructions: int = 20_000_000_000, exact_flash_reads: bool = False) -> RunResult:
    """Build a Machine, run it to the end, free it."""
    machine = Machine(board, firmware, cores, quantum_cycles, seed, max_instructions, exact_flash_reads)
    try:
        return machine.run()
    finally:
        machine.close()
