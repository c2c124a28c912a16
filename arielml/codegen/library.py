"""Which port and start-up files a generated library carries, per target.

Every core type among the cores a plan uses needs its port (`Board.ports`): one on most boards, two
on the boards that run two firmware images (rp2350-mixed: an Arm and a RISC-V image; stm32h747: an
M7 and an M4 image). The host target uses the posix port. The bare-metal start-up (crt0, crt_main.c,
a linker script per image) is optional - users normally have their own SDK - and is added only when
asked for (`compile_model(..., startup=True)`, `arielml compile --with-startup`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arielml.errors import TargetError
from arielml.passes.plan import Plan
from arielml.targets.boards import Board, CoreType, get_board

RUNTIME = Path(__file__).resolve().parent.parent / "runtime"
HOST_PORT = "posix"
BAREMETAL = "ariel/ports/baremetal"
STARTUP_STACK_BYTES = 4096  # per core, as in the emulator backend's firmware
# Room in the linker scripts' SHARED region beyond what the plan needs (runtime state, arena), for a
# few ARIEL_SHARED variables of the application's own.
SHARED_SLACK_BYTES = 256


@dataclass(frozen=True)
class CoreGroup:
    """The cores of one core type: one firmware image on a bare-metal board."""

    core_type: CoreType
    cores: tuple[int, ...]  # global core ids
    port: str | None  # directory under runtime/ports; None: no port shipped for this core type

    @property
    def arch(self) -> str:
        return "riscv" if self.core_type.toolchain.startswith("riscv") else "arm"


def board_of(plan: Plan) -> Board:
    return get_board(plan.options.target)


def is_host(plan: Plan) -> bool:
    return plan.options.target == "host"


def core_groups(plan: Plan) -> tuple[CoreGroup, ...]:
    """Core types of the cores the plan runs on (0..cores-1), in order of their first core."""
    board = board_of(plan)
    groups: dict[str, list[int]] = {}
    types: dict[str, CoreType] = {}
    for core in range(plan.options.cores):
        core_type = board.core(core)[0]
        groups.setdefault(core_type.name, []).append(core)
        types[core_type.name] = core_type
    port_of = (lambda _: HOST_PORT) if is_host(plan) else board.port_for
    return tuple(CoreGroup(types[name], tuple(ids), port_of(types[name])) for name, ids in groups.items())


def image_sources(sources, core_type: CoreType) -> list:
    """The sources of one image for `core_type`, in their order: an ISA-specific kernels/<dir>/<file>.c
    of this core type (`CoreType.kernel_dirs`, most specific first) takes the place of the portable
    kernels/<file>.c; other core types' kernel directories are left out. `sources` are paths or
    strings, relative or absolute; the same kind comes back."""
    sources = list(sources)
    chosen: dict[Path, tuple[int, object]] = {}  # portable file -> (rank of its directory, replacement)
    for source in sources:
        path = Path(source)
        if path.parent.parent.name == "kernels" and path.parent.name in core_type.kernel_dirs:
            rank = core_type.kernel_dirs.index(path.parent.name)
            portable = path.parent.parent / path.name
            if portable not in chosen or rank < chosen[portable][0]:
                chosen[portable] = (rank, source)
    result = []
    for source in sources:
        path = Path(source)
        if path.parent.parent.name == "kernels":
            continue  # a kernel directory's file: placed where its portable file was
        result.append(chosen[path][1] if path in chosen else source)
    return result


def kernel_variant_files(plan: Plan, kernel_sources) -> dict[str, str]:
    """The ISA-specific replacements (runtime/kernels/<dir>/<file>) of the portable kernel files the
    plan uses, for every core type it runs on, under ariel/."""
    files = {}
    for group in core_groups(plan) if not is_host(plan) else ():
        for directory in group.core_type.kernel_dirs:
            used = [f"kernels/{directory}/{s}" for s in kernel_sources if (RUNTIME / "kernels" / directory / s).is_file()]
            if used:  # with the headers they share (included by relative path)
                used += [f"kernels/{directory}/{h.name}" for h in sorted((RUNTIME / "kernels" / directory).glob("*.h"))]
            files.update({f"ariel/{rel}": (RUNTIME / rel).read_text() for rel in used})
    return files


def ports_of(plan: Plan) -> tuple[str, ...]:
    """The distinct ports the library carries (stm32h747's two core types share one port)."""
    return tuple(dict.fromkeys(g.port for g in core_groups(plan) if g.port is not None))


def _runtime_dir_files(directory: str, suffixes: tuple[str, ...] = (".c", ".h")) -> dict[str, str]:
    files = sorted(f for f in (RUNTIME / directory).iterdir() if f.suffix in suffixes)
    return {f"ariel/{f.relative_to(RUNTIME)}": f.read_text() for f in files}


def port_sources(port: str) -> dict[str, str]:
    return _runtime_dir_files(f"ports/{port}")


def port_files(plan: Plan) -> dict[str, str]:
    files: dict[str, str] = {}
    for port in ports_of(plan):
        files.update(port_sources(port))
    return files


def shared_bytes(plan: Plan) -> int:
    """Bytes of the ARIEL_SHARED variables model.c defines (arena, runtime state, op stamps), each
    8-aligned as the linker places them, plus SHARED_SLACK_BYTES."""
    def align8(n: int) -> int:
        return (n + 7) // 8 * 8
    state = 3 * 4  # ariel_shared (ariel_runtime.h)
    stamps = 4 * (len(plan.kernel_steps) + 1)
    return align8(max(plan.arena_bytes, 8)) + align8(state) + align8(stamps) + SHARED_SLACK_BYTES


def linker_script_name(plan: Plan, group: CoreGroup) -> str:
    board = board_of(plan)
    suffix = "" if len(core_groups(plan)) == 1 else f"-{group.core_type.name}"
    return f"{BAREMETAL}/{board.name}{suffix}.ld"


def startup_files(plan: Plan) -> dict[str, str]:
    """crt0 per architecture, crt_main.c, ariel_emu.h (used only under ARIEL_EMULATOR) and one linker
    script per image, laid out from the board's memory map (arielml/emu/linker.py)."""
    board = board_of(plan)
    groups = core_groups(plan)
    if is_host(plan):
        raise TargetError("--with-startup adds bare-metal start-up code for a microcontroller; the host target "
                          "runs on POSIX threads (drop --with-startup, or pick a board with --target)")
    missing = [g.core_type.name for g in groups if g.port is None]
    if missing:
        raise TargetError(f"target {board.name} has no bare-metal port or start-up here ({', '.join(missing)} cores): "
                          f"build the library with the board vendor's SDK and implement ariel/include/ariel_port.h "
                          f"(drop --with-startup)")
    from arielml.emu.linker import linker_script, static_layouts  # the emulator package: only when asked

    files = _runtime_dir_files("ports/baremetal", (".c", ".h"))
    for arch in dict.fromkeys(g.arch for g in groups):
        crt0 = f"ports/baremetal/crt0_{arch}.S"
        files[f"ariel/{crt0}"] = (RUNTIME / crt0).read_text()
    layouts = static_layouts(board, plan.options.cores, shared_bytes(plan), STARTUP_STACK_BYTES)
    for group, (core_type, layout) in zip(groups, layouts):
        assert core_type.name == group.core_type.name
        files[linker_script_name(plan, group)] = linker_script(layout)
    return files
