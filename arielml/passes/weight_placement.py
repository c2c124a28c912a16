"""Weights in SRAM when it pays: choose which constant arrays the start-up copies from flash to SRAM.

On boards whose flash is slower than SRAM (`MemoryRegion.wait_states`: the RP2040/RP2350 read flash
through an XIP cache over QSPI, the nRF52840 and STM32H7 flash has wait states), every weight a
kernel reads from flash costs extra cycles, and a convolution re-reads its weights once per output
pixel. Where RAM is left after the arena, the stacks and the runtime state, the hottest arrays are
emitted as initialised data (`.data`) instead of const (`.rodata`): the start-up copies them from
their load image in flash into the image's private SRAM, once, before the first inference.

The decision is made here at compile time ("prepare") and recorded in `Plan.weight_placement`; the
code generator only emits what it says (codegen/emit.py). The numbers are the same bytes either
way: only the address the kernel reads them from changes, so the results stay bit-exact.

Benefit of an array = the flash-read cycles it costs per inference (`flash_read_cycles`). Without
a flash cache (nRF52840, the STM32H747's M4): elements read per inference x the flash's wait states;
a weight tensor is read MACs / elements times (a convolution once per output pixel, a fully
connected layer once per batch row), any other array of the step (folded biases, requantisation
records, lookup tables) output elements / elements times, so the most re-read layers come first.
Behind a cache (RP2040/RP2350 XIP, the M7's cache): one miss per line and core, as the kernels' re-reads
hit. Arrays are taken greedily by benefit per byte of SRAM while they fit the budget:

    budget = board SRAM - arena - runtime state - stacks (STARTUP_STACK_BYTES per core)
             - the linker's shared region overhead - SRAM_RESERVE_BYTES (the application's own data)

Boards with two firmware images (stm32h747, rp2350-mixed) keep weights in each image's own flash:
a copy goes to each image's private RAM (`.data` is never in the shared region, so the images still
define the same ARIEL_SHARED variables) and costs its bytes once per image."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from arielml.codegen.kernel_call import C_TYPES, CArray
from arielml.ir import NO_TENSOR
from arielml.passes.plan import Plan, WeightCopy, WeightPlacement
from arielml.targets.boards import get_board

# SRAM kept free for what the plan does not see: the application's own data and stack growth, the
# runtime's and the libc's small statics, the linker's alignment between sections and images.
SRAM_RESERVE_BYTES = 16 * 1024
BOOT_BLOCK_BYTES = 64  # as arielml/emu/linker.py (not imported: the emulator package loads Unicorn)
# The 8-bit kernels requantise from the `rq` records; the multiplier/shift arrays beside them serve
# other paths. Left in flash: copying them would spend SRAM on bytes nobody reads (a kernel that did
# read them would only read them from flash: slower, never wrong).
REQUANT_ARRAYS_UNREAD_WITH_RQ = ("multiplier", "shift")
# Operators whose kernels read all their weights for every output pixel (depthwise: channel-major
# weights, channels inner); the other weighted kernels walk one output-channel block at a time.
SWEEP_ALL_WEIGHTS_PER_PIXEL = ("DEPTHWISE_CONV_2D",)
# arrays smaller than this stay in flash: a few words read a few times gain nothing measurable
MIN_COPY_BYTES = 16


def images_of(plan: Plan) -> int:
    """Firmware images the plan's cores boot (one per core type among them)."""
    board = get_board(plan.options.target)
    return len({board.core(c)[0].name for c in range(plan.options.cores)})


def runtime_state_bytes(plan: Plan) -> int:
    """ariel_shared + the op end stamps (ariel_runtime.h); what check_fit counts besides the arena."""
    return 12 + 4 * (len(plan.kernel_steps) + 1)


def plan_ram_bytes(plan: Plan) -> int:
    """RAM the plan needs besides weight copies: arena, runtime state and op stamps as the linker
    places them (with its slack), the boot flags and every core's stack. What `ram_budget` is
    measured against, the weight copies added (the application's own data comes on top)."""
    from arielml.codegen.library import STARTUP_STACK_BYTES, shared_bytes
    # shared_bytes: arena + runtime state + op stamps as the linker aligns them, plus the slack the
    # linker scripts keep; BOOT_BLOCK_BYTES: the boot flags before them (arielml/emu/linker.py)
    return shared_bytes(plan) + BOOT_BLOCK_BYTES + STARTUP_STACK_BYTES * plan.options.cores


def sram_budget(plan: Plan) -> int:
    """SRAM bytes the copies may take, all images together (never negative): what the board has
    left, and no more than what the plan's ram_budget leaves."""
    board = get_board(plan.options.target)
    budget = board.sram.size - plan_ram_bytes(plan) - SRAM_RESERVE_BYTES
    if plan.options.ram_budget is not None:
        budget = min(budget, plan.options.ram_budget - plan_ram_bytes(plan))
    return max(0, budget)


def _itemsize(dtype: str) -> int:
    return np.dtype("uint8" if dtype == "bool" else dtype).itemsize


def flash_read_cycles(plan: Plan, nbytes: int, elements: int, reads: float, working_set: int = 0) -> float:
    """Estimated cycles per inference, all cores together, that reading an array `reads` times from
    flash costs beyond reading it from SRAM. The reads are shared among the plan's cores.

    Through a flash cache (RP2040/RP2350 XIP cache, `Board.flash_cache`): each core misses once per
    line of the array and then hits. The kernels walk the weights one output-channel block at a time
    over all the pixels of their tile, so what they re-read between misses is a block's weights, a
    few KB at most, and stays cached. Measured on the emulated rp2040 (exact flash reads): every
    CONV_2D of vww_96_int8 and MCUNet-10fps pays 1.0-1.2 misses per line of its arrays per
    inference, whatever its re-read count (4 to 2304). A kernel that sweeps all of an array for
    every pixel (`working_set` = the array) re-reads it from flash once it outgrows the cache: the
    share of the re-reads that miss grows from none at one cache size to all at two (MCUNet's
    depthwise layers of 16.5, 21.6 and 26.5 KB: 1.3, 1.9 and 2.1 misses per line, 4 reads).
    Without a cache: every element read pays the flash's wait states (one access per element)."""
    board = get_board(plan.options.target)
    cores = plan.options.cores
    total = 0.0
    for core in range(cores):
        cache = board.flash_cache
        if cache is not None and cache.serves(board.core(core)[0].name):
            thrashing = min(1.0, max(0.0, (working_set - cache.size_bytes) / cache.size_bytes))
            passes = 1.0 + thrashing * max(0.0, reads / cores - 1.0)
            total += passes * -(-nbytes // cache.line_bytes) * cache.miss_cycles
        else:
            total += reads / cores * elements * board.flash.wait_states
    return total


def candidates(plan: Plan) -> list[WeightCopy]:
    """Every constant array the kernels read, with its reads per inference and the flash-read
    cycles it costs, unplaced. A graph constant read by several operators appears once, its reads
    and cycles summed."""
    graph = plan.graph
    tensors: dict[int, WeightCopy] = {}
    params: list[WeightCopy] = []
    for k, step in enumerate(plan.kernel_steps):
        macs = step.item_macs * step.work_items
        outputs = max(1.0, step.item_elements * step.work_items)
        constants = list(dict.fromkeys(plan.root(t) for t in step.call.buffers
                                       if t != NO_TENSOR and graph.tensors[plan.root(t)].is_constant))
        fields = dict(step.call.fields)
        arrays = [(name, value) for name, value in step.call.fields if isinstance(value, CArray)
                  and not ("rq" in fields and name in REQUANT_ARRAYS_UNREAD_WITH_RQ)]
        # (elements, bytes) of every array the step reads: the graph constants, then the params arrays
        shapes = ([(graph.tensors[t].num_elements, graph.tensors[t].nbytes) for t in constants]
                  + [(len(v.values), len(v.values) * np.dtype(C_TYPES[v.ctype]).itemsize) for _, v in arrays])
        # the step's weights - its largest array - are read MACs / elements times (a convolution once
        # per output pixel, a fully connected layer once per batch row); any other array, e.g. a
        # per-channel bias, output elements / elements times
        weights = max(range(len(shapes)), key=lambda i: shapes[i][0], default=-1) if macs > 0 else -1
        costs = []
        for i, (elements, nbytes) in enumerate(shapes):
            reads = max(1.0, (macs if i == weights else outputs) / max(elements, 1))
            sweep = nbytes if i == weights and step.op in SWEEP_ALL_WEIGHTS_PER_PIXEL else 0
            costs.append((reads, flash_read_cycles(plan, nbytes, elements, reads, sweep)))
        for t, (reads, cycles) in zip(constants, costs):
            if t in tensors:
                old = tensors[t]
                tensors[t] = replace(old, reads=old.reads + reads, saved_cycles=old.saved_cycles + cycles)
            else:
                tensors[t] = WeightCopy(tensor=t, op=k, field="", nbytes=graph.tensors[t].nbytes, reads=reads,
                                        saved_cycles=cycles, label=f"tensor {t} ({step.op})")
        for (name, _), (_, nbytes), (reads, cycles) in zip(arrays, shapes[len(constants):], costs[len(constants):]):
            params.append(WeightCopy(tensor=NO_TENSOR, op=k, field=name, nbytes=nbytes, reads=reads,
                                     saved_cycles=cycles, label=f"op {k} {step.op} .{name}"))
    return list(tensors.values()) + params


def choose(candidates: list[WeightCopy], budget: int, copies_per_byte: int = 1) -> list[WeightCopy]:
    """Greedy by saved cycles per byte of SRAM (ties: larger saving, then the order given): take
    each array that still fits the budget. `copies_per_byte`: images holding a copy each."""
    order = sorted(range(len(candidates)),
                   key=lambda i: (-candidates[i].saved_cycles / max(candidates[i].nbytes, 1),
                                  -candidates[i].saved_cycles, i))
    chosen, left = [], budget
    for i in order:
        c = candidates[i]
        cost = c.nbytes * copies_per_byte
        if c.nbytes >= MIN_COPY_BYTES and c.saved_cycles > 0 and cost <= left:
            chosen.append(c)
            left -= cost
    return chosen


def place_weights(plan: Plan) -> Plan:
    """The pass: record which constant arrays go to SRAM (none when off, on the host, or when the
    board's flash is as fast as its SRAM)."""
    mode = plan.options.weights_in_sram
    board = get_board(plan.options.target)
    if plan.options.target == "host":
        return replace(plan, weight_placement=WeightPlacement(mode, "not applicable: the host has no flash"))
    if mode == "off":
        return replace(plan, weight_placement=WeightPlacement(mode, "turned off with weights_in_sram=off"))
    if plan.options.optimize == "memory" and plan.options.ram_budget is None:
        return replace(plan, weight_placement=WeightPlacement(
            mode, "optimize=memory keeps every weight in flash (give a ram_budget to spend RAM on copies)"))
    if board.flash.wait_states == 0:
        return replace(plan, weight_placement=WeightPlacement(mode, f"{board.name}'s flash is as fast as its SRAM"))
    if any(s.call is None for s in plan.kernel_steps):  # analysis-only plans: no arrays to emit
        return replace(plan, weight_placement=WeightPlacement(mode, "some operators have no C kernel: no library to place weights in"))
    images = images_of(plan)
    budget = sram_budget(plan)
    chosen = choose(candidates(plan), budget, images)
    if not chosen:
        why = "no SRAM left for copies" if budget < MIN_COPY_BYTES else "nothing worth copying fits the SRAM left"
    else:
        per_image = f", in each of {images} images" if images > 1 else ""
        why = f"{len(chosen)} arrays copied to SRAM{per_image}"
    return replace(plan, weight_placement=WeightPlacement(mode, why, budget, images, tuple(chosen)))
