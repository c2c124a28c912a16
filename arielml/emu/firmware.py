"""Cross-build bare-metal firmware for a board: sources + port + start-up + generated linker script.

`build_firmware` makes one ELF image per distinct core type among the cores used (one image on most
boards; two on rp2350-mixed (Arm + RISC-V) and stm32h747 (M7 + M4)). Images share the start of SRAM
(see linker.py): ARIEL_SHARED variables get the same address in every image, which is checked after
linking. Builds are freestanding (-ffreestanding -nostdlib, libgcc; picolibc's libc/libm are on the
link line and only pulled in when the code calls them) and cached by a hash of everything that goes
into them. An entry (`<out_dir>/<board>-<cores>c-<hash>/`) is built in a scratch directory, its
images installed atomically, and its manifest (with the images' checksums) written last; an entry whose
manifest or images do not check out is rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from elftools.elf.elffile import ELFFile

from arielml.cache import absolute, build_dir, build_failure, file_digest, install, write_atomic
from arielml.codegen.library import image_sources
from arielml.emu.linker import BOOT_BLOCK_BYTES, ImageLayout, arch_of, image_groups, linker_script
from arielml.errors import BuildError, FitError
from arielml.targets.boards import Board, CoreType, check_cores

RUNTIME = Path(__file__).resolve().parent.parent / "runtime"
BAREMETAL = RUNTIME / "ports" / "baremetal"
_BUILDER_VERSION = "3"  # bump when the build recipe changes in a way the hash cannot see (3: -ffp-contract=off)
MANIFEST = "firmware.json"
_MANIFEST_VERSION = 2  # 2: image names relative to the entry, with checksums
_MEASURE_SPAN = 0x1000_0000  # pass 1 links into huge regions just to measure section sizes
_PRIVATE_SECTIONS = (".data", ".tdata", ".tbss", ".bss", ".stack")
_SHARED_SECTIONS = (".ariel_boot", ".ariel_shared", ".ariel_shared_bss")


@dataclass(frozen=True)
class ElfImage:
    """One linked image and the cores that run it."""

    path: Path
    core_type: str  # CoreType.name
    arch: str  # "arm" or "riscv"
    cores: tuple[int, ...]  # global ids of the cores that boot this image
    flash_bytes: int  # text + rodata + load images of initialised data
    ram_bytes: int  # private data + bss + stacks (the shared region is counted once in Firmware)


@dataclass(frozen=True)
class Firmware:
    board_name: str
    cores: int
    images: tuple[ElfImage, ...]
    shared_bytes: int  # boot block + ARIEL_SHARED variables, at the start of SRAM

    @property
    def flash_bytes(self) -> int:
        return sum(image.flash_bytes for image in self.images)

    @property
    def ram_bytes(self) -> int:
        return self.shared_bytes + sum(image.ram_bytes for image in self.images)

    def image_of_core(self, core: int) -> ElfImage:
        for image in self.images:
            if core in image.cores:
                return image
        raise BuildError(f"no image runs core {core}")


def _gcc(core_type: CoreType) -> str:
    driver = core_type.toolchain + "gcc"
    if shutil.which(driver) is None:
        package = "gcc-riscv64-unknown-elf" if arch_of(core_type) == "riscv" else "gcc-arm-none-eabi"
        raise BuildError(f"cross compiler '{driver}' not found; install it with "
                         f"'apt-get install --no-install-recommends {package} picolibc-{core_type.toolchain[:-1]}'")
    return driver


def _multilib_flags(core_type: CoreType) -> list[str]:
    # GCC's multilib matcher does not know the _zicsr suffix; the library ABI is the same without it
    return [flag.replace("_zicsr", "") for flag in core_type.gcc_flags]


@lru_cache(maxsize=None)
def _library_paths(core_type: CoreType) -> tuple[str, str, str]:
    """(libgcc.a, picolibc library dir, picolibc include dir) for this core's multilib."""
    gcc = _gcc(core_type)
    flags = _multilib_flags(core_type)
    libgcc = subprocess.run([gcc, *flags, "-print-libgcc-file-name"], capture_output=True, text=True).stdout.strip()
    multidir = subprocess.run([gcc, *flags, "-print-multi-directory"], capture_output=True, text=True).stdout.strip()
    triple = core_type.toolchain[:-1]
    root = Path("/usr/lib/picolibc") / triple
    return libgcc, str(root / "lib" / multidir), str(root / "include")


@lru_cache(maxsize=None)
def _compiler_version(driver: str) -> str:
    return subprocess.run([driver, "--version"], capture_output=True, text=True).stdout.splitlines()[0]


def _run(command: list[str], what: str, work: Path) -> None:
    # the compiler's temporary files go into the build directory, removed even if we are killed
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TMPDIR": str(work)})
    if result.returncode != 0:
        # work is <out_dir>/build/arielml-build-*: the full log is kept in out_dir
        raise BuildError(build_failure(what, result.stderr + result.stdout, work.parent.parent))


def _image_groups(board: Board, cores: int) -> list[tuple[CoreType, tuple[int, ...]]]:
    result = image_groups(board, cores)
    for core_type, ids in result:
        if ids != tuple(range(ids[0], ids[0] + len(ids))):
            raise BuildError(f"{board.name}: cores of type {core_type.name} are not consecutive ({list(ids)})")
        if board.port_for(core_type) is None:
            raise BuildError(f"target {board.name} has no bare-metal port for {core_type.name}")
    return result


def _hash_inputs(board: Board, cores: int, sources, include_dirs, defines, opt, stack_bytes) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([_BUILDER_VERSION, repr(board), cores, sorted(defines.items()), opt, stack_bytes,
                              [_compiler_version(_gcc(ct)) for ct, _ in _image_groups(board, cores)]]).encode())
    files = [Path(s) for s in sources]
    for directory in [*map(Path, include_dirs), RUNTIME / "include", RUNTIME / "ports"]:
        files += sorted(p for p in directory.rglob("*") if p.suffix in (".h", ".c", ".S") and "posix" not in p.parts)
    files.append(Path(__file__).with_name("linker.py"))
    for path in files:
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def _section_sizes(elf_path: Path) -> dict[str, tuple[int, int]]:
    """name -> (address, size) of every allocated section."""
    with open(elf_path, "rb") as handle:
        elf = ELFFile(handle)
        return {s.name: (s["sh_addr"], s["sh_size"]) for s in elf.iter_sections() if s["sh_flags"] & 2}


def _flash_bytes(elf_path: Path) -> int:
    """Flash the image spans: from its first to the end of its last loaded byte (every loaded segment
    sits in flash; the span includes the gap before .rodata's page, linker.py)."""
    with open(elf_path, "rb") as handle:
        spans = [(seg["p_paddr"], seg["p_paddr"] + seg["p_filesz"]) for seg in ELFFile(handle).iter_segments()
                 if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > 0]
    return max(end for _, end in spans) - min(start for start, _ in spans) if spans else 0


def _shared_symbols(elf_path: Path, shared: tuple[int, int]) -> dict[str, tuple[int, int]]:
    with open(elf_path, "rb") as handle:
        table = ELFFile(handle).get_section_by_name(".symtab")
        return {s.name: (s["st_value"], s["st_size"]) for s in table.iter_symbols()
                if s["st_info"]["type"] == "STT_OBJECT" and shared[0] <= s["st_value"] < shared[1]}


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def build_firmware(board: Board, sources, include_dirs=(), defines=None, out_dir=Path("build/firmware"),
                   opt: str = "-O2", cores: int | None = None, stack_bytes: int = 4096) -> Firmware:
    """Cross-compile `sources` (C or assembly; one of them defines `int ariel_main(unsigned core)`) with
    the board's port and start-up code. Returns the linked images; rebuilds only when an input changed.

    Defines passed to every compile: ARIEL_EMULATOR=1 (the ports and start-up then use the emulator's
    control block for trace, console and exit; real-board builds leave it out), ARIEL_CORES=<cores>,
    ARIEL_BOARD="<name>", plus `defines`."""
    cores = board.core_count if cores is None else cores
    check_cores(board, cores)
    # a compiled library carries the board's port (and maybe start-up) under ariel/ports/ for the user's
    # own build; here the port and start-up come from the runtime, built with ARIEL_EMULATOR
    sources = [s for s in sources if not _is_library_port(Path(s))]
    if not board.emulated:
        raise BuildError(f"target {board.name} has no bare-metal build here (code generation and estimates only)")
    defines = dict(defines or {})
    key = _hash_inputs(board, cores, sources, include_dirs, defines, opt, stack_bytes)
    out_dir = absolute(out_dir)
    entry = out_dir / f"{board.name}-{cores}c-{key}"
    manifest = entry / MANIFEST
    firmware = _load_manifest(manifest)
    if firmware is not None:
        return firmware
    # a missing, damaged or stale entry: build from scratch in a private directory, install the images
    # atomically, and write the manifest (with the images' checksums) last
    with build_dir(out_dir) as work:
        firmware = _build(board, cores, sources, include_dirs, defines, opt, stack_bytes, work)
        images = tuple(replace(image, path=install(image.path, entry / image.path.name)) for image in firmware.images)
        for image in firmware.images:  # the linker script and map, for whoever debugs the image
            for companion in (image.path.with_suffix(".ld"), image.path.with_suffix(".map")):
                install(companion, entry / companion.name)
        firmware = replace(firmware, images=images)
        _write_manifest(manifest, firmware)
    return firmware


def _build(board: Board, cores: int, sources, include_dirs, defines, opt, stack_bytes, work: Path) -> Firmware:
    """Compile and link every image in `work` (measure, then pack)."""
    groups = _image_groups(board, cores)
    objects = [_compile_image(board, core_type, index, sources, include_dirs, defines, opt, cores, work)
               for index, (core_type, _) in enumerate(groups)]

    def layouts(measure: dict | None) -> list[ImageLayout]:
        result = []
        flash_at, ram_at = board.flash.base, None
        shared_length = (_MEASURE_SPAN if measure is None else measure["shared"])
        ram_at = board.sram.base + shared_length
        for index, (core_type, ids) in enumerate(groups):
            if measure is None:
                flash_len, ram_len = _MEASURE_SPAN, _MEASURE_SPAN
                flash_origin, ram_origin = board.flash.base, board.sram.base + _MEASURE_SPAN * (index + 1)
            else:
                flash_len, ram_len = measure["flash"][index], measure["ram"][index]
                flash_origin, ram_origin = flash_at, ram_at
                flash_at, ram_at = _align(flash_at + flash_len, 4096), ram_at + ram_len
            result.append(ImageLayout(flash_origin, flash_len, board.sram.base, shared_length, ram_origin, ram_len,
                                      ids[0], len(ids), index, len(groups), stack_bytes,
                                      (board.sio_base or 0) if len(ids) > 1 else 0, arch_of(core_type)))
        return result

    first = [_link(core_type, objs, layout, work / f"measure{i}.elf")
             for i, ((core_type, _), objs, layout) in enumerate(zip(groups, objects, layouts(None)))]
    sizes = [_section_sizes(path) for path in first]
    shared = max(sum(s.get(name, (0, 0))[1] for name in _SHARED_SECTIONS) + 16 for s in sizes)
    measure = {"shared": _align(shared, 256),
               "flash": [_align(_flash_bytes(path), 256) for path in first],
               "ram": [_align(sum(s.get(name, (0, 0))[1] for name in _PRIVATE_SECTIONS) + 64, 256) for s in sizes]}
    flash_total = sum(_align(f, 4096) for f in measure["flash"])
    ram_total = measure["shared"] + sum(measure["ram"])
    if flash_total > board.flash.size or ram_total > board.sram.size:
        raise FitError(f"firmware does not fit {board.name}: flash {flash_total} of {board.flash.size} bytes, "
                       f"RAM {ram_total} of {board.sram.size} bytes (shared {measure['shared']}, private "
                       f"{measure['ram']} incl. {stack_bytes}-byte stacks); use fewer cores, a smaller model "
                       f"or a board with more memory")
    final = [_link(core_type, objs, layout, work / f"image{i}-{core_type.name}.elf")
             for i, ((core_type, _), objs, layout) in enumerate(zip(groups, objects, layouts(measure)))]
    _check_shared_layout(final, (board.sram.base, board.sram.base + measure["shared"]))
    images = tuple(ElfImage(path, core_type.name, arch_of(core_type), ids, _flash_bytes(path), measure["ram"][i])
                   for i, (path, (core_type, ids)) in enumerate(zip(final, groups)))
    return Firmware(board.name, cores, images, measure["shared"])


def _is_library_port(path: Path) -> bool:
    parts = path.parts
    return any(parts[i:i + 2] == ("ariel", "ports") for i in range(len(parts) - 1))


def _write_manifest(path: Path, firmware: Firmware) -> None:
    """The entry's commit record: what the images are, their file names (relative to the entry, so a
    cache can be moved) and checksums. Its own checksum catches damage that still parses as JSON."""
    body = {"board": firmware.board_name, "cores": firmware.cores, "shared": firmware.shared_bytes,
            "images": [[im.path.name, im.core_type, im.arch, list(im.cores), im.flash_bytes, im.ram_bytes,
                        *file_digest(im.path)] for im in firmware.images]}
    text = json.dumps(body, sort_keys=True)
    write_atomic(path, json.dumps({"version": _MANIFEST_VERSION, "body": body,
                                   "sha256": hashlib.sha256(text.encode()).hexdigest()}).encode())


def _load_manifest(path: Path) -> Firmware | None:
    """The entry's firmware, or None when the manifest or any image is missing, damaged or from
    another version (the caller rebuilds)."""
    try:
        data = json.loads(path.read_bytes())
        body = data["body"]
        if (data["version"] != _MANIFEST_VERSION or
                hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest() != data["sha256"]):
            return None
        images = []
        for name, core_type, arch, cores, flash, ram, sha, size in body["images"]:
            image = path.parent / name
            if Path(name).name != name or file_digest(image) != (sha, size):
                return None
            images.append(ElfImage(image, core_type, arch, tuple(cores), flash, ram))
        return Firmware(body["board"], body["cores"], tuple(images), body["shared"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _compile_image(board: Board, core_type: CoreType, index: int, sources, include_dirs, defines, opt, cores,
                   work: Path) -> list[Path]:
    gcc = _gcc(core_type)
    _, _, libc_include = _library_paths(core_type)
    port = RUNTIME / "ports" / board.port_for(core_type)
    crt0 = BAREMETAL / ("crt0_riscv.S" if arch_of(core_type) == "riscv" else "crt0_arm.S")
    # the core type's ISA-specific kernels replace their portable files in this image
    all_sources = [Path(s) for s in image_sources(sources, core_type)] + [port / "port.c", BAREMETAL / "crt_main.c", crt0]
    # -ffp-contract=off: no fused multiply-adds on FPU cores, whose single rounding differs from
    # LiteRT's two (docs/semantics.md); the native build gets the same from -std=c99
    flags = [*core_type.gcc_flags, opt, "-g", "-ffp-contract=off", "-ffreestanding", "-ffunction-sections",
             "-fdata-sections", "-fno-common", "-Wall", "-DARIEL_EMULATOR=1", f"-DARIEL_CORES={cores}",
             f'-DARIEL_BOARD="{board.name}"',
             *[f"-D{k}" if v is None else f"-D{k}={v}" for k, v in defines.items()],
             *[f"-I{d}" for d in include_dirs], f"-I{RUNTIME / 'include'}", f"-I{BAREMETAL}", "-isystem", libc_include]
    objects = []
    out = work / f"obj{index}-{core_type.name}"
    out.mkdir(exist_ok=True)
    for n, source in enumerate(all_sources):
        obj = out / f"{n:03d}-{source.stem}.o"
        _run([gcc, *flags, "-c", str(source), "-o", str(obj)], f"compiling {source.name} for {core_type.name}", work)
        objects.append(obj)
    return objects


def _link(core_type: CoreType, objects: list[Path], layout: ImageLayout, out: Path) -> Path:
    script = out.with_suffix(".ld")
    script.write_text(linker_script(layout))
    libgcc, libc_dir, _ = _library_paths(core_type)
    _run([_gcc(core_type), *core_type.gcc_flags, "-nostdlib", "-nostartfiles", "-T", str(script),
          "-Wl,--gc-sections", f"-Wl,-Map={out.with_suffix('.map')}", *map(str, objects),
          f"-L{libc_dir}", "-Wl,--start-group", "-lc", "-lm", libgcc, "-Wl,--end-group", "-o", str(out)],
         f"linking {out.name}", out.parent)
    return out


def _check_shared_layout(images: list[Path], shared: tuple[int, int]) -> None:
    if len(images) < 2:
        return
    reference = _shared_symbols(images[0], shared)
    for other in images[1:]:
        symbols = _shared_symbols(other, shared)
        differing = sorted(n for n in set(reference) | set(symbols) if reference.get(n) != symbols.get(n))
        if differing:
            raise BuildError(f"shared SRAM variables differ between {images[0].name} and {other.name}: "
                             f"{', '.join(differing[:8])}; every image must define the same ARIEL_SHARED "
                             f"variables in the same order and with the same types")
