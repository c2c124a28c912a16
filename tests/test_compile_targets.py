"""`arielml compile --target BOARD -o DIR` gives a self-contained library for the board: its port(s) in
DIR, built for the chip (no emulator control block unless ARIEL_EMULATOR is defined), a README that
names only files DIR has, the optional bare-metal start-up (`--with-startup`) that links and runs;
and the build caches work without a usable home directory."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from arielml.cli import EXIT_USER_ERROR, main
from arielml.codegen.library import RUNTIME, core_groups, image_sources
from arielml.compile import compile_model
from arielml.emu import ElfImage, Firmware, Machine
from arielml.targets.boards import BOARDS, get_board
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross

KWS = ZOO / "mlcommons_tiny/kws_ref_model.tflite"  # int8 conv, depthwise, pool, FC, softmax
HELLO_FLOAT = ZOO / "tflite_micro/hello_world_float.tflite"  # float FC: soft-float on the M0+
HELLO = ZOO / "tflite_micro/hello_world_int8.tflite"
EMULATED = sorted(name for name, board in BOARDS.items() if board.emulated)
WARNINGS = ("-Wall", "-Wextra", "-Werror")


def cores_for(board_name: str) -> int:
    board = get_board(board_name)
    return min(board.core_count, 4)


def compile_cli(model: Path, target: str, cores: int, out: Path, *extra: str) -> dict:
    argv = ["compile", str(model), "--target", target, "--cores", str(cores), "-o", str(out), "--json", *extra]
    return json.loads(_run_cli(argv))


def _run_cli(argv: list[str]) -> str:
    from contextlib import redirect_stdout
    from io import StringIO
    buffer = StringIO()
    with redirect_stdout(buffer):
        code = main(argv)
    assert code == 0, f"arielml {' '.join(argv)} exited {code}"
    return buffer.getvalue()


def cross_compile(directory: Path, core_type, sources: list[str], defines: tuple[str, ...] = ()) -> None:
    """Each file on its own (-c), as a user's build would; -Werror: any warning fails."""
    gcc = core_type.toolchain + "gcc"
    for source in sources:
        command = [gcc, *core_type.gcc_flags, "--specs=picolibc.specs", "-std=c99", "-O2", *WARNINGS, *defines,
                   "-I.", "-Iariel/include", "-c", source, "-o", os.devnull]
        result = subprocess.run(command, cwd=directory, capture_output=True, text=True)
        assert result.returncode == 0, f"{' '.join(command)}\n{result.stderr}"


def library_sources(files: list[str], group) -> list[str]:
    """One image's C files, as the README lists them: its core type's kernels, its port."""
    portable = [f for f in files if f.endswith(".c") and not f.startswith("ariel/ports/")]
    return image_sources(portable, group.core_type) + [f"ariel/ports/{group.port}/port.c"]


# paths the README names: backticked or in code blocks; `<...>` marks the user's own files
PATH_TOKEN = re.compile(r"(?<![\w<$%{])((?:ariel/)?[\w.-]*(?:/[\w.-]+)*\.(?:c|h|S|ld)|ariel/[\w./-]+)(?![\w>])")


def named_paths(readme: str) -> set[str]:
    return {m.group(1).rstrip(".") for m in PATH_TOKEN.finditer(readme)}


def assert_readme_names_existing_files(directory: Path) -> set[str]:
    readme = (directory / "README.md").read_text()
    named = named_paths(readme)
    missing = sorted(p for p in named if not (directory / p).exists())
    assert not missing, f"README.md of {directory.name} names files that are not in the library: {missing}"
    return named


@needs_cross
@pytest.mark.cross
@pytest.mark.parametrize("target", EMULATED)
def test_board_library_cross_compiles_for_the_chip(target, tmp_path):
    """compile -o DIR, then every .c of DIR with the board's toolchain and core flags, without
    ARIEL_EMULATOR, -Wall -Wextra -Werror: the library needs nothing outside DIR."""
    board = get_board(target)
    cores = cores_for(target)
    for model in (KWS, HELLO_FLOAT):
        out = tmp_path / model.stem
        doc = compile_cli(model, target, cores, out)
        files = doc["files"]
        groups = core_groups(compile_model(model, target=target, cores=cores).plan)
        assert {g.core_type.name for g in groups} == {board.core(c)[0].name for c in range(cores)}
        for group in groups:
            assert group.port == board.port_for(group.core_type) and f"ariel/ports/{group.port}/port.c" in files
            cross_compile(out, group.core_type, library_sources(files, group))
        assert not any(f.startswith("ariel/ports/baremetal") or "posix" in f for f in files)  # no --with-startup
        named = assert_readme_names_existing_files(out)
        readme = (out / "README.md").read_text()
        for group in groups:
            assert f"ariel/ports/{group.port}/port.c" in named
            assert " ".join(group.core_type.gcc_flags) in readme  # the flags of each core type
        assert "_run_on_core(c)" in readme and "SPMD" in readme and "no port" not in readme.lower()
        if target.startswith("rp2"):
            assert "spinlocks 24-31" in readme


@needs_cross
@pytest.mark.cross
@pytest.mark.parametrize("target", ["rp2040", "stm32h747", "rp2350-riscv"])
def test_chip_port_never_touches_the_emulator_control_block(target, tmp_path):
    """Without ARIEL_EMULATOR the port neither includes ariel_emu.h nor stores to 0xF0000000; the log
    is a weak hook the application can override (its definition wins at link time)."""
    board = get_board(target)
    compile_model(HELLO, target=target, cores=1, out_dir=tmp_path)
    core_type = board.core(0)[0]
    port = tmp_path / f"ariel/ports/{board.port_for(core_type)}/port.c"
    gcc = core_type.toolchain + "gcc"
    flags = [*core_type.gcc_flags, "--specs=picolibc.specs", "-std=c99", "-O2", f"-I{tmp_path / 'ariel/include'}"]
    chip = subprocess.run([gcc, *flags, "-E", str(port)], capture_output=True, text=True, check=True).stdout
    emulated = subprocess.run([gcc, *flags, f"-I{RUNTIME / 'ports' / 'baremetal'}",
                               "-DARIEL_EMULATOR", "-E", str(port)], capture_output=True, text=True, check=True).stdout
    assert "0xF0000000" not in chip and "ariel_emu_trace" not in chip and "ariel_board_log" in chip
    assert "0xF0000000" in emulated and "ariel_board_log" not in emulated
    symbols = subprocess.run([gcc, *flags, "-c", str(port), "-o", str(tmp_path / "port.o")], capture_output=True,
                             text=True)
    assert symbols.returncode == 0, symbols.stderr
    nm = subprocess.run([core_type.toolchain + "nm", str(tmp_path / "port.o")], capture_output=True, text=True).stdout
    assert re.search(r"^[0-9a-f]+ W ariel_board_log$", nm, re.M), nm  # weak: the application's wins


def test_esp32s3_library_is_emitted_with_a_note(tmp_path):
    """No Xtensa toolchain or port here: the library (plan, runtime, kernels) is still written, and the
    README says what the user must add."""
    doc = compile_cli(KWS, "esp32s3", 2, tmp_path)
    assert {"model.c", "model.h", "model_weights.c", "ariel/src/ariel_runtime.c"} <= set(doc["files"])
    assert not any(f.startswith("ariel/ports/") for f in doc["files"])
    readme = (tmp_path / "README.md").read_text()
    assert "none ships for xtensa-lx7" in readme and "not compiled here" in readme
    assert "xtensa-esp32s3-elf-gcc" in readme and "ariel/include/ariel_port.h" in readme
    assert_readme_names_existing_files(tmp_path)
    assert main(["compile", str(KWS), "--target", "esp32s3", "--cores", "2", "-o", str(tmp_path / "s"),
                 "--with-startup"]) == EXIT_USER_ERROR


def test_host_readme_names_only_existing_files(tmp_path):
    compile_model(HELLO, target="host", cores=2, out_dir=tmp_path)
    named = assert_readme_names_existing_files(tmp_path)
    assert {"ariel/ports/posix/port.c", "model_posix.c"} <= named
    assert main(["compile", str(HELLO), "--target", "host", "-o", str(tmp_path / "s"), "--with-startup"]) \
        == EXIT_USER_ERROR


def test_startup_is_optional_and_deterministic(tmp_path):
    plain = compile_model(KWS, target="stm32h747", cores=2)
    assert not any(f.startswith("ariel/ports/baremetal") for f in plain.files)
    a = compile_model(KWS, target="stm32h747", cores=2, startup=True, out_dir=tmp_path / "a")
    b = compile_model(KWS, target="stm32h747", cores=2, startup=True, out_dir=tmp_path / "b")
    assert a.sources == b.sources and str(tmp_path) not in "".join(a.sources.values())
    startup = {f for f in a.files if f.startswith("ariel/ports/baremetal/")}
    assert startup == {"ariel/ports/baremetal/ariel_emu.h", "ariel/ports/baremetal/crt0_arm.S",
                       "ariel/ports/baremetal/crt_main.c", "ariel/ports/baremetal/stm32h747-cortex-m7.ld",
                       "ariel/ports/baremetal/stm32h747-cortex-m4f.ld"}
    named = assert_readme_names_existing_files(tmp_path / "a")
    assert {"ariel/ports/baremetal/stm32h747-cortex-m7.ld", "ariel/ports/baremetal/stm32h747-cortex-m4f.ld"} <= named
    # the two images: flash and private SRAM side by side, the shared region at the start of SRAM in both
    m7, m4 = (a.sources[f"ariel/ports/baremetal/stm32h747-{c}.ld"] for c in ("cortex-m7", "cortex-m4f"))
    origin = re.compile(r"(\w+) \((\w+)\)\s*: ORIGIN = (0x[0-9a-f]+), LENGTH = (0x[0-9a-f]+)")
    r7 = {name: (int(o, 16), int(n, 16)) for name, _, o, n in origin.findall(m7)}
    r4 = {name: (int(o, 16), int(n, 16)) for name, _, o, n in origin.findall(m4)}
    assert r7["SHARED"] == r4["SHARED"] and r7["FLASH"][0] + r7["FLASH"][1] <= r4["FLASH"][0]
    assert r7["RAM"][0] + r7["RAM"][1] <= r4["RAM"][0] and r4["RAM"][0] + r4["RAM"][1] <= 0x2400_0000 + 512 * 1024


APP = """#include "model.h"
#include "ariel_port.h"
void ariel_main_init(void) { model_init(); }
int ariel_main(unsigned core)
{
    model_run_on_core(core);
    ariel_port_log(core == 0u ? "core 0 done\\n" : "other core done\\n");
    return 7;
}
"""


def _link_image(directory: Path, group, script: str, out: Path) -> Path:
    """The README's recipe: library + port + crt0 + crt_main.c + the generated script, for the emulator."""
    files = image_sources([str(p.relative_to(directory)) for p in sorted(directory.rglob("*.c"))
                           if "ports" not in p.parts and p.name != "app.c"], group.core_type)  # this core type's kernels
    # as the README says: GCC's multilib matching does not know _zicsr (the libc ABI is the same without it)
    flags = [flag.replace("_zicsr", "") for flag in group.core_type.gcc_flags]
    command = [group.core_type.toolchain + "gcc", *flags, "--specs=picolibc.specs", "-std=c99",
               "-O2", *WARNINGS, "-DARIEL_EMULATOR", "-ffunction-sections", "-fdata-sections", "-nostartfiles",
               "-T", script, "-Wl,--gc-sections", "-I.", "-Iariel/include", "-Iariel/ports/baremetal", *files,
               f"ariel/ports/{group.port}/port.c", "ariel/ports/baremetal/crt_main.c",
               f"ariel/ports/baremetal/crt0_{group.arch}.S", "app.c", "-o", str(out)]
    result = subprocess.run(command, cwd=directory, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stderr}"
    return out


@needs_cross
@pytest.mark.cross
@pytest.mark.parametrize("target,cores", [("rp2040", 2), ("rp2350-mixed", 2)])
def test_startup_files_link_and_run_on_the_emulator(target, cores, tmp_path):
    """DIR alone (with --with-startup) builds a firmware: one image per core type from the generated
    linker scripts; it boots every core on the emulator, runs the model and exits."""
    board = get_board(target)
    result = compile_model(HELLO, target=target, cores=cores, startup=True, out_dir=tmp_path)
    (tmp_path / "app.c").write_text(APP)
    groups = core_groups(result.plan)
    images = []
    for group in groups:
        suffix = "" if len(groups) == 1 else f"-{group.core_type.name}"
        script = f"ariel/ports/baremetal/{board.name}{suffix}.ld"
        elf = _link_image(tmp_path, group, script, tmp_path / f"image{len(images)}.elf")
        images.append(ElfImage(elf, group.core_type.name, group.arch, group.cores, 0, 0))
    machine = Machine(board, Firmware(board.name, cores, tuple(images), 0))
    try:
        run = machine.run()
    finally:
        machine.close()
    assert run.exit_status == 7 and "core 0 done" in run.console.splitlines()
    # every core ran the model: RUN_BEGIN (7) and a BARRIER_BEGIN (5) of the last op from each (core 0
    # may exit before another core's later marks: it leaves the final barrier as soon as all arrived)
    last_op = len(result.plan.kernel_steps) - 1
    assert sorted(e.core for e in run.trace if e.event == 7) == list(range(cores))
    assert {e.core for e in run.trace if e.event == 5 and e.a == last_op} == set(range(cores))


# ---- the README's build commands and model.h, as a firmware developer uses them ---------------------

README_LOOP = re.compile(r"^    (for f in .*?; do)\n      (\S+)(.*?; done)$", re.M)


@needs_cross
@pytest.mark.cross
@pytest.mark.parametrize("target", ["stm32h747", "rp2350-mixed", "rp2040"])
def test_readme_build_commands_run_and_keep_each_images_objects(target, tmp_path):
    """The README's build loops, run as written (plus the libc headers and -Werror): every image
    compiles, and two images' objects never overwrite each other (they once shared `model.o`)."""
    board = get_board(target)
    result = compile_model(HELLO, target=target, cores=board.core_count, out_dir=tmp_path)
    readme = (tmp_path / "README.md").read_text()
    loops = README_LOOP.findall(readme)
    groups = core_groups(result.plan)
    assert len(loops) == len(groups)
    expected = 0
    for (head, compiler, rest), group in zip(loops, groups):
        assert compiler == group.core_type.toolchain + "gcc"
        script = f"{head} {compiler} --specs=picolibc.specs {' '.join(WARNINGS)}{rest}"
        run = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True)
        assert run.returncode == 0, f"{script}\n{run.stderr}"
        expected += len(head.split(" in ", 1)[1].split(";")[0].split())
    objects = sorted(tmp_path.rglob("*.o"))
    assert len(objects) == expected, [str(o.relative_to(tmp_path)) for o in objects]


HEADER_USE = """#include <string.h>
#include "model.h"

static const uint32_t input_shape[MODEL_INPUT0_RANK] = MODEL_INPUT0_SHAPE;
static const MODEL_OUTPUT0_TYPE *output;
typedef char bytes_match[(sizeof(MODEL_INPUT0_TYPE) * MODEL_INPUT0_ELEMENTS == MODEL_INPUT0_BYTES) ? 1 : -1];

int app_step(unsigned core, const int8_t *sample);
int app_step(unsigned core, const int8_t *sample)
{
    const float scale = MODEL_INPUT0_SCALE;
    int status;
    if (core == 0u) {
        memcpy(model_input(0), sample, MODEL_INPUT0_BYTES + 0u * input_shape[0]);
    }
    status = model_run_on_core(core);
    output = (const MODEL_OUTPUT0_TYPE *)model_output(0);
    return status == MODEL_OK && MODEL_INPUT0_DTYPE == MODEL_DTYPE_INT8 && scale > 0.0f ? output[0] : MODEL_ERROR_CORE;
}
"""


@needs_cross
@pytest.mark.cross
def test_header_macros_compile_pedantic_for_arm_riscv_and_host(tmp_path):
    """An application using model.h's macros and calls compiles with -std=c99 -pedantic -Wall -Wextra
    -Werror on both ISAs of rp2350-mixed (Arm and RISC-V images) and on the host."""
    result = compile_model(KWS, target="rp2350-mixed", cores=2, out_dir=tmp_path)
    (tmp_path / "app.c").write_text(HEADER_USE)
    for group in core_groups(result.plan):
        cross_compile(tmp_path, group.core_type, ["app.c"], defines=("-pedantic",))
    host = subprocess.run(["gcc", "-std=c99", "-pedantic", *WARNINGS, "-I.", "-c", "app.c", "-o", os.devnull],
                          cwd=tmp_path, capture_output=True, text=True)
    assert host.returncode == 0, host.stderr


# ---- build caches without a usable home directory ---------------------------------------------------

def _cli_env(tmp_path: Path, home: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_CACHE_HOME")}
    if home is not None:
        env["HOME"] = home
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return env


def _arielml(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "arielml.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def _unwritable_home(tmp_path: Path, kind: str) -> str:
    """A HOME under which nothing can be created: a regular file, or a read-only directory (root
    writes through permission bits, so for root a read-only file system: /sys)."""
    if kind == "file":
        home = tmp_path / "home-is-a-file"
        home.write_text("")
        return str(home)
    if os.getuid() != 0:
        home = tmp_path / "read-only-home"
        home.mkdir(mode=0o555)
        return str(home)
    return "/sys"


@pytest.mark.parametrize("home", ["file", "read-only"])
def test_native_run_works_without_a_writable_home(home, tmp_path):
    """HOME is a regular file or a read-only directory: the build cache falls back to a private
    directory under the temporary directory, and the run succeeds."""
    env = _cli_env(tmp_path, _unwritable_home(tmp_path, home))
    assert _arielml(["run", str(HELLO), "-o", str(tmp_path / "ref")], env, tmp_path).returncode == 0
    proc = _arielml(["run", str(HELLO), "--backend", "native", "--cores", "2", "-o", str(tmp_path / "out"),
                     "--json"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["backend"] == "native"
    fallback = tmp_path / "tmp" / f"arielml-{os.getuid()}" / "native"
    assert any(fallback.rglob("*.so")), "the build went to the per-user temporary cache"
    assert (fallback.parent.stat().st_mode & 0o777) == 0o700


@needs_cross
@pytest.mark.cross
def test_emulator_run_works_without_a_writable_home(tmp_path):
    env = _cli_env(tmp_path, _unwritable_home(tmp_path, "read-only"))
    proc = _arielml(["run", str(HELLO), "--backend", "emulator", "--target", "rp2040", "--cores", "2",
                     "-o", str(tmp_path / "out"), "--json"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["cycles"] > 0
    fallback = tmp_path / "tmp" / f"arielml-{os.getuid()}"
    assert any((fallback / "emulator").rglob("*.elf")) and any((fallback / "emu").glob("cycle_hook-*.so"))


def test_cache_dir_option_is_used_and_checked(tmp_path):
    env = _cli_env(tmp_path, str(tmp_path / "home"))
    cache = tmp_path / "my-cache"
    proc = _arielml(["run", str(HELLO), "--backend", "native", "--cache-dir", str(cache), "-o", str(tmp_path / "out"),
                     "--json"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert any((cache / "native").rglob("*.so")) and not (tmp_path / "home" / ".cache").exists()
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    proc = _arielml(["run", str(HELLO), "--backend", "native", "--cache-dir", str(blocked), "-o",
                     str(tmp_path / "out")], env, tmp_path)
    assert proc.returncode == EXIT_USER_ERROR and "cache" in proc.stderr and "internal error" not in proc.stderr
    proc = _arielml(["run", str(HELLO), "--cache-dir", str(cache), "-o", str(tmp_path / "out")], env, tmp_path)
    assert proc.returncode == EXIT_USER_ERROR and "--cache-dir" in proc.stderr  # reference: nothing to build


def test_cache_dir_function(tmp_path, monkeypatch):
    from arielml.cache import cache_dir
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir("native") == tmp_path / "xdg" / "arielml" / "native" and (tmp_path / "xdg/arielml/native").is_dir()
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: relative paths are invalid
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir("emu") == tmp_path / "home" / ".cache" / "arielml" / "emu"
    assert cache_dir("emulator", root=tmp_path / "explicit") == tmp_path / "explicit" / "emulator"
    with pytest.raises(ValueError):
        cache_dir("nonsense")
    shutil.rmtree(tmp_path / "home")


@needs_cross
@pytest.mark.cross
def test_profile_and_bench_take_cache_dir(tmp_path, capsys):
    cache = tmp_path / "cache"
    assert main(["profile", str(HELLO), "--target", "rp2040", "--cores", "2", "--cache-dir", str(cache), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bit_exact"] is True
    assert any((cache / "emulator").rglob("*.elf"))
    assert main(["bench", "--help"]) == 0 and "--cache-dir" in capsys.readouterr().out
