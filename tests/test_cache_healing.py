"""Robustness suite, class "corrupted cache entries" (issue 12, items 5 and 6): a damaged build cache
heals itself. Every kind of cached artefact is damaged after a first run; the next run must succeed
with the same output bytes, and the damaged file must have been rebuilt (it matches its checksum
record again). Killed builds leave no scratch directories behind, and a relative --cache-dir works.

Runs that load a cached library go through the CLI in a fresh process, as a user's later run would:
a library this process has loaded already would be reused by dlopen, whatever the file now holds."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import arielml
from arielml.cache import BUILD_PREFIX, intact
from tests.conftest import ROOT, ZOO
from tests.emu_helpers import needs_cross

HELLO = ZOO / "tflite_micro/hello_world_int8.tflite"
CACHE = Path("rel") / "cache"  # given relative to the working directory in the item 6 test


def _env(tmp: Path) -> dict[str, str]:
    """The child runs this checkout, with its own temporary directory (to see what builds leave there)."""
    (tmp / "tmp").mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp / "tmp")}


def _arielml_run(cwd: Path, *args: str, relative: bool = False) -> np.ndarray:
    """`arielml run HELLO ... -o out --cache-dir CWD/rel/cache` (or `rel/cache`: relative) in a fresh
    process in `cwd`; its output."""
    cache = CACHE if relative else cwd / CACHE
    proc = subprocess.run([sys.executable, "-m", "arielml.cli", "run", str(HELLO), "--random", "3", "-o", "out",
                           "--cache-dir", str(cache), *args], cwd=cwd, env=_env(cwd), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    return np.load(cwd / "out" / "output_0.npy")


@pytest.fixture(scope="module")
def expected() -> np.ndarray:
    model = arielml.load(HELLO)
    return model.run(model.random_inputs(3), backend="reference")[0]


def _truncate(path: Path) -> bytes:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 3])  # in place, as a full disk or a killed copy leaves it
    return path.read_bytes()


def _garble(path: Path) -> bytes:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 16] = bytes(255 - b for b in data[middle:middle + 16])  # same size: only a hash sees it
    path.write_bytes(bytes(data))
    return bytes(data)


DAMAGE = {"truncated": _truncate, "garbled": _garble}


def _assert_no_build_dirs(cwd: Path) -> None:
    leftovers = [p for p in cwd.rglob(f"{BUILD_PREFIX}*")]
    assert leftovers == [], leftovers


# --- native backend ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def native_cache(tmp_path_factory) -> Path:
    """A populated native cache (hello_world on 1 thread), copied by each test before damaging it."""
    cwd = tmp_path_factory.mktemp("native")
    _arielml_run(cwd, "--backend", "native")
    return cwd / CACHE


def _copy_cache(populated: Path, cwd: Path) -> Path:
    shutil.copytree(populated, cwd / CACHE)
    return cwd / CACHE / "native"


def test_relative_cache_dir_works_for_native(tmp_path, expected):
    """Item 6: the linker runs in a scratch directory; a relative --cache-dir must still find the objects."""
    out = _arielml_run(tmp_path, "--backend", "native", "--cores", "2", relative=True)
    assert np.array_equal(out, expected)
    assert list((tmp_path / CACHE / "native" / "so").glob("*.so"))
    _assert_no_build_dirs(tmp_path)


def test_truncated_native_library_is_rebuilt(native_cache, tmp_path, expected):
    """A truncated cached .so used to SIGBUS every later run."""
    (library,) = _copy_cache(native_cache, tmp_path).joinpath("so").glob("*.so")
    damaged = _truncate(library)
    assert not intact(library)
    assert np.array_equal(_arielml_run(tmp_path, "--backend", "native"), expected)
    assert intact(library) and library.read_bytes() != damaged
    _assert_no_build_dirs(tmp_path)


def test_truncated_and_garbled_native_objects_are_rebuilt(native_cache, tmp_path, expected):
    """Damaged objects (every other one truncated, the rest garbled) are recompiled when a library is
    linked from them again (here: the library is gone, so every object is needed)."""
    native = _copy_cache(native_cache, tmp_path)
    for library in native.joinpath("so").iterdir():
        library.unlink()
    objects = sorted(native.joinpath("obj").glob("*.o"))
    assert len(objects) >= 2
    damaged = {obj: (_truncate if i % 2 else _garble)(obj) for i, obj in enumerate(objects)}
    assert np.array_equal(_arielml_run(tmp_path, "--backend", "native"), expected)
    for obj, bad in damaged.items():
        assert intact(obj) and obj.read_bytes() != bad, obj.name
    _assert_no_build_dirs(tmp_path)


# --- emulator ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def emulator_run(tmp_path_factory):
    """A directory with a populated emulator cache (hello_world on one RP2040 core). Firmware entries
    are keyed by their sources' paths, so every test runs in this same directory, on a fresh copy of
    the cache made from the pristine one."""
    cwd = tmp_path_factory.mktemp("emulator")
    _arielml_run(cwd, "--backend", "emulator", "--target", "rp2040")
    pristine = cwd.parent / (cwd.name + "-pristine")
    shutil.copytree(cwd / CACHE, pristine)

    def fresh_copy() -> Path:
        shutil.rmtree(cwd / CACHE)
        shutil.copytree(pristine, cwd / CACHE)
        return cwd

    return fresh_copy


def _emulator_files(cache: Path) -> dict[str, Path]:
    (entry,) = cache.joinpath("emulator", "firmware").glob("rp2040-*")
    (elf,) = entry.glob("*.elf")
    (hook,) = cache.joinpath("emulator", "hook").glob("cycle_hook-*.so")
    return {"elf": elf, "manifest": entry / "firmware.json", "hook": hook}


@needs_cross
@pytest.mark.cross
@pytest.mark.parametrize("artefact, damage", [("elf", "truncated"), ("elf", "garbled"), ("manifest", "truncated"),
                                              ("manifest", "garbled"), ("hook", "truncated")])
def test_corrupted_emulator_cache_entry_is_rebuilt(artefact, damage, emulator_run, expected):
    """A damaged ELF, firmware.json or hook library used to give exit 3 (or an emulated fault) on every
    later run."""
    cwd = emulator_run()
    path = _emulator_files(cwd / CACHE)[artefact]
    damaged = DAMAGE[damage](path)
    assert np.array_equal(_arielml_run(cwd, "--backend", "emulator", "--target", "rp2040"), expected)
    assert _emulator_files(cwd / CACHE)[artefact] == path  # the same entry, rebuilt in place
    assert path.read_bytes() != damaged
    if artefact != "manifest":  # the manifest holds the images' checksums; the others have records
        assert intact(path)
    _assert_no_build_dirs(cwd)


# --- killed and concurrent builds --------------------------------------------------------------------

_BUILD_SCRIPT = """
import sys
import arielml
from arielml.backends.native import build_native
from arielml.compile import compile_model
model = arielml.load(sys.argv[1])
build_native(compile_model(model.graph, cores=int(sys.argv[3])), sys.argv[2])
"""


def test_killed_build_leaves_no_build_directories(tmp_path, expected):
    """A builder killed mid-build leaves its scratch directory; the next build removes it (its lock
    died with it). Directories of earlier versions in the temporary directory go too."""
    cache = tmp_path / CACHE / "native"
    builder = subprocess.Popen([sys.executable, "-c", _BUILD_SCRIPT, str(HELLO), str(cache), "3"], cwd=tmp_path,
                               env=_env(tmp_path), start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(cache.glob(f"build/{BUILD_PREFIX}*/.lock")):
        assert builder.poll() is None and time.monotonic() < deadline, "the build ended before it could be killed"
        time.sleep(0.01)
    os.killpg(builder.pid, signal.SIGKILL)  # the builder and its compiler
    builder.wait()
    assert list(cache.glob(f"build/{BUILD_PREFIX}*"))  # what the killed build left
    legacy = tmp_path / "tmp" / f"{BUILD_PREFIX}old"  # as builds in the temporary directory used to leave
    legacy.mkdir()
    os.utime(legacy, (time.time() - 7200, time.time() - 7200))
    assert np.array_equal(_arielml_run(tmp_path, "--backend", "native", "--cores", "3"), expected)
    _assert_no_build_dirs(tmp_path)


def test_concurrent_builders_of_one_entry_do_not_corrupt_it(tmp_path, expected):
    """Two processes build the same (empty) cache entry at once: both succeed, the entry checks out."""
    cache = tmp_path / CACHE / "native"
    builders = [subprocess.Popen([sys.executable, "-c", _BUILD_SCRIPT, str(HELLO), str(cache), "2"], cwd=tmp_path,
                                 env=_env(tmp_path), stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for builder in builders:
        assert builder.wait(timeout=300) == 0, builder.stderr.read()[-2000:]
    artefacts = [*cache.glob("so/*.so"), *cache.glob("obj/*.o")]
    assert artefacts and all(intact(path) for path in artefacts)
    assert np.array_equal(_arielml_run(tmp_path, "--backend", "native", "--cores", "2"), expected)
    _assert_no_build_dirs(tmp_path)


@needs_cross
@pytest.mark.cross
def test_a_cross_compile_error_is_short_and_leaves_no_build_directory(tmp_path):
    from arielml.emu import build_firmware
    from arielml.errors import BuildError
    from arielml.targets import get_board
    broken = tmp_path / "broken.c"
    broken.write_text("\n".join(f"int f{i}(void) {{ return undeclared_{i}; }}" for i in range(60)))
    with pytest.raises(BuildError) as info:
        build_firmware(get_board("rp2040"), [broken], out_dir=tmp_path / "firmware", cores=1)
    message = str(info.value)
    assert "undeclared_0" in message and len(message) < 1200, message
    assert "undeclared_59" in (tmp_path / "firmware" / "last-build-error.log").read_text()
    _assert_no_build_dirs(tmp_path)
