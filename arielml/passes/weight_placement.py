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

Benefit of an array = the flash-read cycles it would cost per inference: elements read per
inference x the board's wait states (one access per element, as the portable kernels load them).
A weight tensor is read MACs / elements times (a convolution once per output pixel, a fully
connected layer once per batch row); any other array of the step (folded biases, requantisation
records, lookup tables) output elements / elements times. Arrays are taken greedily by benefit per
byte of SRAM, hottest first, while they fit the budget:

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
# arrays smaller than this stay in flash: a few words read a few times gain nothing measurable
MIN_COPY_BYTES = 16


def images_of(plan: Plan) -> int:
    """Firmware images the plan's cores boot (one per core type among them)."""
    board = get_board(plan.options.target)
    return len({board.core(c)[0].name for c in range(plan.options.cores)})


def runtime_state_bytes(plan: Plan) -> int:
    """ariel_shared + the op end stamps (ariel_runtime.h); what check_fit counts besides the arena."""
    return 12 + 4 * (len(plan.kernel_steps) + 1)


def sram_budget(plan: Plan) -> int:
    """SRAM bytes the copies may take, all images together (never negative)."""
    from arielml.codegen.library import STARTUP_STACK_BYTES, shared_bytes

    board = get_board(plan.options.target)
    # shared_bytes: arena + runtime state + op stamps as the linker aligns them, plus the slack the
    # linker scripts keep; BOOT_BLOCK_BYTES: the boot flags before them (arielml/emu/linker.py)
    used = (shared_bytes(plan) + BOOT_BLOCK_BYTES + STARTUP_STACK_BYTES * plan.options.cores
            + SRAM_RESERVE_BYTES)
    return max(0, board.sram.size - used)


def _itemsize(dtype: str) -> int:
    return np.dtype("uint8" if dtype == "bool" else dtype).itemsize


def candidates(plan: Plan) -> list[WeightCopy]:
    """Every constant array the kernels read, with its reads per inference, unplaced. A graph
    constant read by several operators appears once, its reads summed."""
    graph, wait = plan.graph, get_board(plan.options.target).flash.wait_states
    tensors: dict[int, WeightCopy] = {}
    params: list[WeightCopy] = []
    for k, step in enumerate(plan.kernel_steps):
        macs = step.item_macs * step.work_items
        outputs = max(1.0, step.item_elements * step.work_items)
        constants = [plan.root(t) for t in step.call.buffers
                     if t != NO_TENSOR and graph.tensors[plan.root(t)].is_constant]
        fields = dict(step.call.fields)
        arrays = [(name, value) for name, value in step.call.fields if isinstance(value, CArray)
                  and not ("rq" in fields and name in REQUANT_ARRAYS_UNREAD_WITH_RQ)]
        sizes = [graph.tensors[t].num_elements for t in constants] + [len(v.values) for _, v in arrays]
        largest = max(sizes, default=0)  # the step's weights: read MACs / elements times
        weights_seen = False

        def reads_of(elements: int) -> float:
            nonlocal weights_seen
            if macs > 0 and elements == largest and not weights_seen:
                weights_seen = True
                return max(1.0, macs / max(elements, 1))
            return max(1.0, outputs / max(elements, 1))

        for t in constants:
            tensor = graph.tensors[t]
            reads = reads_of(tensor.num_elements)
            cycles = reads * tensor.num_elements * wait
            if t in tensors:
                old = tensors[t]
                tensors[t] = replace(old, reads=old.reads + reads, saved_cycles=old.saved_cycles + cycles)
            else:
                tensors[t] = WeightCopy(tensor=t, op=k, field="", nbytes=tensor.nbytes, reads=reads,
                                        saved_cycles=cycles, label=f"tensor {t} ({step.op})")
        for name, value in arrays:
            elements = len(value.values)
            reads = reads_of(elements)
            params.append(WeightCopy(tensor=NO_TENSOR, op=k, field=name,
                                     nbytes=elements * np.dtype(C_TYPES[value.ctype]).itemsize, reads=reads,
                                     saved_cycles=reads * elements * wait, label=f"op {k} {step.op} .{name}"))
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
