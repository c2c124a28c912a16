"""The README.md of a generated library, per target: which files to add to the firmware build, the
compiler flags of each core type, how each core calls `<name>_run_on_core`, the SPMD model, and the
board's caveats. It names only files the library contains (tests check it)."""
from __future__ import annotations

from pathlib import Path

import arielml

from arielml.codegen.library import (BAREMETAL, CoreGroup, board_of, core_groups, image_sources, is_host,
                                     linker_script_name)
from arielml.codegen.header import plan_hash
from arielml.codegen.names import comment_text
from arielml.codegen.output_dir import MANIFEST
from arielml.passes.plan import Plan

TEMPLATES = Path(__file__).resolve().parent / "templates"
COMMON_FLAGS = "-std=c99 -O2 -ffunction-sections -fdata-sections"
# Boards whose ports take SIO hardware spinlocks 24-31 (the Pico SDK's "claim free" range)
SIO_SPINLOCK_PORTS = ("rp2040", "rp2350-arm", "rp2-riscv")


def _sources(files: dict[str, str], group: CoreGroup) -> list[str]:
    """The C files of one image: the plan, the runtime and the kernels (the core type's ISA-specific
    ones in place of their portable files), plus its own port (not the host launcher)."""
    portable = [rel for rel in files if rel.endswith(".c") and not rel.startswith("ariel/ports/")
                and not rel.endswith("_posix.c")]
    return image_sources(portable, group.core_type) + ([f"ariel/ports/{group.port}/port.c"] if group.port else [])


def _flags(group: CoreGroup) -> str:
    return " ".join((*group.core_type.gcc_flags, COMMON_FLAGS))


def _cores_text(cores: tuple[int, ...]) -> str:
    return f"core {cores[0]}" if len(cores) == 1 else f"cores {', '.join(map(str, cores))}"


def _file_list(plan: Plan, files: dict[str, str]) -> str:
    p = plan.options.name
    lines = [f"- `{p}.h`: the API (init, run_on_core, input/output pointers and sizes, arena size), return "
             f"codes (`{p.upper()}_OK`, `{p.upper()}_ERROR_*`), each input's and output's type, shape, scale and "
             f"zero point (`{p.upper()}_INPUT0_SCALE`, ...), and the version (`{p.upper()}_VERSION`).",
             f"- `{p}.c`: the plan: op table (kernel, params, buffers, tiles, core of each tile), the arena.",
             f"- `{p}_weights.c`: weights and biases: const arrays (flash), except those copied to SRAM at "
             "start-up (see \"Weights in SRAM\").",
             "- `ariel/include`, `ariel/src`: the runtime (scheduler, barrier), the kernel ABI and the port "
             "contract (`ariel/include/ariel_port.h`).",
             "- `ariel/kernels`: the kernels this model uses (portable C99); a subdirectory (`arm_dsp`, "
             "`armv6m`, `rv32`) holds ISA-specific versions of some of them, which an image of that core type "
             "compiles instead of the portable file of the same name (the source lists below say which)."]
    if is_host(plan):
        lines.append(f"- `ariel/ports/posix`: the POSIX-threads port; `{p}_posix.c`: `{p}_run()` and `{p}_invoke()` on a pool of threads.")
    users: dict[str, list[str]] = {}
    for group in core_groups(plan):
        if group.port is not None and not is_host(plan):
            users.setdefault(group.port, []).append(f"{_cores_text(group.cores)} ({group.core_type.name})")
    for port, who in users.items():
        lines.append(f"- `ariel/ports/{port}/port.c`: the port of {' and '.join(who)}: core id, locks, cycle "
                     "counter, wait/wake.")
    if any(rel.startswith(BAREMETAL) for rel in files):
        lines.append(f"- `{BAREMETAL}`: optional bare-metal start-up (`--with-startup`): crt0, "
                     f"`{BAREMETAL}/crt_main.c`, linker script(s); see \"Start-up\" below.")
    lines.append(f"- `{MANIFEST}` (written by `arielml compile -o`): the files above and their hashes. A later "
                 "compile into this directory replaces them and removes those the new library lacks; it refuses "
                 "rather than touch a file arielml did not write or one edited since.")
    return "\n".join(lines) + "\n"


def _host_build(plan: Plan, files: dict[str, str]) -> str:
    units = " ".join(rel for rel in files if rel.endswith(".c"))
    return ("On this (POSIX) host:\n\n"
            f"    cc -std=c99 -O2 -pthread -I. -Iariel/include -Iariel/ports/posix \\\n"
            f"       {units} <your sources> -lm\n")


def _board_build(plan: Plan, files: dict[str, str]) -> str:
    groups = core_groups(plan)
    board = board_of(plan)
    out = []
    if len(groups) > 1:
        out.append(f"{board.name} runs {len(groups)} firmware images, one per core type. Each image is built from "
                   "the same library sources with its own compiler flags and its own port; both must place the "
                   "shared variables (sections `.data.ariel_shared` and `.bss.ariel_shared`: the arena and the "
                   "runtime state, marked `ARIEL_SHARED[_ZERO]`) at the same address in shared SRAM, in the same "
                   "order - every image defines the same ones. Constants (weights) live in each image's own flash, and the "
                   "weights copied to SRAM (see \"Weights in SRAM\") in each image's private RAM, never in the shared "
                   "region. "
                   "Only the first image's start-up may initialise (zero) that region.\n")
    for group in groups:
        title = f"### Image for {_cores_text(group.cores)}: {group.core_type.name}" if len(groups) > 1 else ""
        if title:
            out.append(title + "\n")
        sources = _sources(files, group)
        compiler = group.core_type.toolchain + "gcc"
        out.append("Add to the firmware build (CMake, make, the vendor SDK's project, ...):\n")
        out.append("- sources: " + ", ".join(f"`{s}`" for s in sources))
        out.append("- include directories: `.` and `ariel/include`")
        if group.port is None:
            out += [f"- compiler: `{compiler}` with the flags of your SDK's project (e.g. ESP-IDF), plus "
                    f"`{COMMON_FLAGS}`",
                    f"- a port: none ships for {group.core_type.name}. Write one C file implementing the eight "
                    "functions of `ariel/include/ariel_port.h` (core id, 8 locks, cycle counter, trace, log, "
                    "wait, wake) with the SDK's primitives - with ESP-IDF e.g. `xPortGetCoreID()` for the core id, "
                    "`portMUX_TYPE` spinlocks for the locks, `esp_cpu_get_cycle_count()` for the cycles - and add "
                    "it to the sources.", "",
                    f"Note: this library was generated but not compiled here: `{compiler}` does not come with "
                    f"arielml, no port ships for {group.core_type.name}, and {board.name} is not emulated (its "
                    "timings are cost-model estimates).", ""]
            continue
        out.append(f"- compiler flags of the {group.core_type.name}: `{' '.join(group.core_type.gcc_flags)}` "
                   f"(plus e.g. `{COMMON_FLAGS}`)")
        out.append("")
        example = [compiler, _flags(group), "-I. -Iariel/include", "-c"]
        # two images compile the same sources with other flags: their objects must not share names
        obj = "${f%.c}.o" if len(groups) == 1 else f"${{f%.c}}.{group.core_type.name}.o"
        out.append(f"For example, with `{compiler}` (add your libc's headers, e.g. `--specs=picolibc.specs`):\n")
        out.append(f"    for f in {' '.join(sources)}; do\n"
                   f"      {' '.join(example)} $f -o {obj}; done\n")
        if len(groups) > 1:
            out.append(f"(Objects of this image end in `.{group.core_type.name}.o`: link them into its image "
                       "only.)\n")
    return "\n".join(out)


def _call(plan: Plan) -> str:
    p, cores = plan.options.name, plan.options.cores
    how_split = ("each core's tiles were chosen at compile time by the cost model, faster cores getting more"
                 if plan.options.scheduler == "static" else
                 "the cores pull tiles from a shared counter under a lock")
    model = (f"The model runs SPMD: every core runs the same code, `{p}_run_on_core(c)`, on its share of each "
             f"operator's tiles, and the cores meet at a barrier after each operator ({plan.options.scheduler} "
             f"scheduler: {how_split}).\n\n"
             f"- Exactly {cores} core(s) (`{p.upper()}_CORES`) call `{p}_run_on_core(c)`, each with its own index "
             "c, for every inference; every call returns when the outputs are complete.\n"
             f"- Core 0 alone calls `{p}_init()`, once, before any core enters `{p}_run_on_core`.\n"
             "- Inputs and outputs live in the arena: core 0 writes the inputs before its call and reads the "
             "outputs after it" + (" (the other cores wait at the start barrier of the next run meanwhile)"
                                   if cores > 1 else "") + ".\n\nExample:\n")
    if is_host(plan):
        return model + f"""
    #include "{p}.h"
    memcpy({p}_input(0), data, {p}_input_bytes(0));
    if ({p}_run({p.upper()}_CORES) != {p.upper()}_OK) {{ ... }}  /* POSIX: init, then a pool of threads, created once, reused */
    read({p}_output(0), {p}_output_bytes(0));
    {p}_shutdown();                   /* optional: join the threads (also done at unload) */

From several threads at once, `{p}_invoke(inputs, outputs, {p.upper()}_CORES)` copies the inputs in and
the outputs out under the run lock (`{p}_run` serialises the inference, but not your copies).
Return codes: `{p.upper()}_OK` (0), `{p.upper()}_ERROR_CORE` (a thread count other than {p.upper()}_CORES),
`{p.upper()}_ERROR_THREAD` (a thread could not start).
"""
    board = board_of(plan)
    if board.name.startswith("rp2"):
        how = "Pico SDK: multicore_launch_core1"
    elif len(core_groups(plan)) > 1:
        how = "its own firmware image, released by core 0"
    else:
        how = "by your SDK"
    lines = [model, f'    #include "{p}.h"', ""]
    if cores > 1:
        others = "core 1" if cores == 2 else f"cores 1..{cores - 1}"
        lines += [f"    /* {others}: started after core 0 has run {p}_init() ({how}) */",
                  "    void other_core_main(unsigned c)",
                  "    {",
                  f"        for (;;) {{ {p}_run_on_core(c); }}   /* sleeps at the start barrier between runs */",
                  "    }", ""]
    lines += ["    /* core 0 */",
              f"    {p}_init();                          /* once, before starting the other cores */",
              *([f"    /* ... start {'core 1' if cores == 2 else 'the other cores'} here ... */"] if cores > 1 else []),
              "    for (;;) {",
              f"        memcpy({p}_input(0), data, {p}_input_bytes(0));",
              f"        {p}_run_on_core(0);             /* {p.upper()}_OK; {p.upper()}_ERROR_CORE if c >= {p.upper()}_CORES */",
              f"        use({p}_output(0), {p}_output_bytes(0));",
              "    }", ""]
    return "\n".join(lines)


def _notes(plan: Plan, files: dict[str, str]) -> str:
    board = board_of(plan)
    if is_host(plan):
        return ""
    p = plan.options.name
    ports = {g.port for g in core_groups(plan)}
    out = ["## Board notes", ""]
    if ports & set(SIO_SPINLOCK_PORTS):
        out.append(f"- Locks: the port uses SIO hardware spinlocks 24-31 (its locks 0-7). The Pico SDK leaves "
                   "24-31 to the application but hands them out at run time (`spin_lock_claim_unused`): claim "
                   "them before anything else does, e.g. `spin_lock_claim_mask(0xFF000000u)` in main.")
    if board.name.startswith("rp2350"):
        out.append("- RP2350 erratum E2: a write to an SIO register at offset 0x180 or above (doorbells, MTIME "
                   "control, ...) also releases hardware spinlocks. Do not write those registers while an "
                   "inference runs (the Pico SDK's own locks are software locks on the RP2350 for this reason).")
    if board.hsem_base is not None:
        out.append("- Locks: hardware semaphores (HSEM) 24-31, 1-step lock; ST's examples use the low ones. "
                   "Caches: the M7's D-cache must not hold the shared region (`.data/.bss.ariel_shared`): make it "
                   "non-cacheable with the MPU, or run with the D-cache off; the M4 has no cache. Start the M4's "
                   f"`{p}_run_on_core(1)` loop only after the M7 has run `{p}_init()` (the CubeH7 dual-core "
                   "template's HSEM boot handshake does this).")
    if board.hsem_base is None and len(board.cores) == 1 and board.max_cores is None:
        out.append("- One core: locks are compiler barriers, nothing waits.")
    if any(g.port is None for g in core_groups(plan)):
        out.append(f"- No port and no emulation for {board.name} here: the library is generated (the plan, the "
                   "kernels, the runtime) and its timing comes from cost-model estimates only.")
    else:
        out.append("- Cycle counter: the ports read the board's timer or the DWT cycle counter (turned on at first "
                   f"use); it only feeds `{p}_op_end_times()`.")
        out.append("- Trace and log: on the chip `ariel_port_trace` does nothing and `ariel_port_log` calls "
                   "`void ariel_board_log(const char *message)`, a weak function that does nothing: define it in "
                   "your application to route the runtime's messages to a UART, RTT or printf. Compiling with "
                   "`-DARIEL_EMULATOR` sends both to arielml's emulator instead (it would fault on a chip).")
    out += ["", "## Weights in SRAM", "", _placement_text(plan)]
    if any(rel.startswith(BAREMETAL) for rel in files):
        out += ["", "## Start-up (optional, `--with-startup`)", "",
                _startup_text(plan)]
    return "\n".join(out) + "\n"


def _placement_text(plan: Plan) -> str:
    """Which weights the start-up copies from flash to SRAM (passes/weight_placement.py), and what
    that asks of the firmware's start-up."""
    p, placement = plan.options.name, plan.weight_placement
    if placement is None or not placement.copies:
        return (f"None: every weight is a const array in flash ({placement.reason if placement else 'not planned'}). "
                "`--weights-in-sram auto` copies the most re-read ones to SRAM when the flash is slower and RAM "
                "is left.")
    copied = ", ".join(c.label for c in placement.copies[:6]) + (", ..." if len(placement.copies) > 6 else "")
    each = f" in each of the {placement.images} images" if placement.images > 1 else ""
    return (f"{len(placement.copies)} arrays ({sum(c.nbytes for c in placement.copies)} bytes{each}) are initialised "
            f"data rather than const, because the kernels re-read them often and {board_of(plan).name}'s flash is "
            f"slower than its SRAM: the start-up copies them from their load image in flash to SRAM before "
            f"`main` (`.data`; the Pico SDK's, CMSIS's and `--with-startup`'s start-up all do). They add "
            f"{placement.sram_bytes} bytes to the RAM the library needs (flash stays the same). Hottest first: "
            f"{copied}; each is marked \"copied to SRAM at start-up\" in `{p}.c` or `{p}_weights.c`. "
            "Compile with `--weights-in-sram off` to keep every weight in flash.")


def _startup_text(plan: Plan) -> str:
    p = plan.options.name
    lines = ["The bare-metal start-up the emulator uses: every core enters the crt0 at reset, moves to its own "
             f"stack, the first core of each image copies `.data` and zeroes `.bss`, core 0 zeroes the shared "
             f"region, calls `void ariel_main_init(void)` (weak: define it to call `{p}_init()` and fill the "
             "inputs) and releases the other cores; every core then calls `int ariel_main(unsigned core)`, "
             f"which you write (e.g. `{p}_run_on_core(core)`). A core whose `ariel_main` returns sleeps.",
             "It assumes every core starts at reset. A real RP2040/RP2350 keeps core 1 in the boot ROM until "
             "core 0 launches it and needs a boot stage / image definition in flash, which the Pico SDK "
             "provides: there, use the SDK's start-up and the code under \"Call\".", ""]
    for group in core_groups(plan):
        script = linker_script_name(plan, group)
        crt0 = f"{BAREMETAL}/crt0_{group.arch}.S"
        lines.append(f"- {_cores_text(group.cores)} ({group.core_type.name}): link with `{crt0}`, "
                     f"`{BAREMETAL}/crt_main.c` and `-nostartfiles -T {script}` (include directory "
                     f"`{BAREMETAL}` too). The script "
                     + ("splits flash and SRAM evenly between the images" if len(core_groups(plan)) > 1
                        else "gives the image all of flash and SRAM")
                     + f", and reserves {_shared_kib(plan)} at the start of SRAM for the shared variables; edit "
                     "the MEMORY lengths to taste.")
        if any("_zicsr" in flag for flag in group.core_type.gcc_flags):
            lines.append("  When the link picks the libc by multilib (e.g. `--specs=picolibc.specs`), link with "
                         "`-march=rv32imac`: GCC's multilib matching does not know the `_zicsr` suffix (same ABI).")
    return "\n".join(lines)


def _shared_kib(plan: Plan) -> str:
    from arielml.codegen.library import shared_bytes
    return f"{shared_bytes(plan)} bytes (plus a 64-byte boot block)"


def render_readme(plan: Plan, files: dict[str, str], weights_bytes: int) -> str:
    """`files`: every other file of the library (the README may name only these)."""
    o = plan.options
    board = board_of(plan)
    build = _host_build(plan, files) if is_host(plan) else _board_build(plan, files)
    return (TEMPLATES / "README.md").read_text().format(
        name=o.name, NAME=o.name.upper(), model=comment_text(plan.graph.name), version=arielml.__version__,
        plan_hash=plan_hash(files, o.name), target=o.target, description=board.description, cores=o.cores,
        scheduler=o.scheduler, semantics=o.semantics.name, arena=plan.arena_bytes, weights=weights_bytes,
        files=_file_list(plan, files), build=build, call=_call(plan), notes=_notes(plan, files))
