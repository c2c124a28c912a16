"""`arielml compile --lang rust`: the crate's host `cargo test` (the model through the POSIX port
against the reference executor's vectors, and a corrupted vector that must fail), its cross builds
for the boards' Rust targets, the CLI, and a clear error when Rust is missing."""
from __future__ import annotations

import json
import subprocess

import pytest

from arielml.cli import main
from arielml.errors import BuildError
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross
from tests.rust_support import cargo, needs_rust, sysroots  # noqa: F401 (fixture)

HELLO = ZOO / "tflite_micro" / "hello_world_int8.tflite"
SPEECH = ZOO / "tflite_micro" / "micro_speech_quantized.tflite"


def test_missing_rust_names_the_packages(tmp_path):
    from arielml.rust.toolchain import find_rust
    with pytest.raises(BuildError, match="apt-get install --no-install-recommends rustc-web cargo-web rust-web-src"):
        find_rust(str(tmp_path))


def test_bad_lang_is_one_line(tmp_path, capsys):
    code = main(["compile", str(HELLO), "--target", "rp2040", "--lang", "go", "-o", str(tmp_path / "x")])
    assert code != 0
    assert "unknown --lang 'go'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@needs_rust
def test_host_cargo_test_matches_reference_and_can_fail(tmp_path, capsys):
    """Two cores (threads on the host), a multi-operator int8 model; then one expected output byte
    flipped: the crate's own test must catch it."""
    crate = tmp_path / "crate"
    code = main(["compile", str(SPEECH), "--target", "rp2040", "--cores", "2", "--lang", "rust", "--name", "speech",
                 "-o", str(crate), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out)
    assert summary["rust_targets"] == ["thumbv6m-none-eabi"] and summary["crate"] == "speech"
    lib = (crate / "src" / "lib.rs").read_text()
    assert "#![no_std]" in lib and "pub const CORES: usize = 2;" in lib and "pub fn input0(&mut self)" in lib
    run = cargo(crate, "test", cargo_home=tmp_path / "cargo-home")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "test matches_the_reference_executor ... ok" in run.stdout
    vector = crate / "tests" / "vectors" / "1" / "output0.bin"
    data = bytearray(vector.read_bytes())
    data[len(data) // 2] ^= 0x01
    vector.write_bytes(bytes(data))
    broken = cargo(crate, "test", cargo_home=tmp_path / "cargo-home")
    assert broken.returncode != 0
    assert "vector 1 output 0" in broken.stdout + broken.stderr


@needs_rust
@needs_cross
@pytest.mark.parametrize("target, cores", [("rp2040", 2), ("rp2350-riscv", 2), ("rp2350-arm", 1), ("stm32h747", 2)])
def test_crate_cross_builds_for_the_board(tmp_path, sysroots, target, cores):  # noqa: F811
    """build.rs compiles the C with the board's cross compiler; the C objects are for the board's ISA."""
    from arielml.rust.crate import write_crate
    from arielml.rust.toolchain import RUST_TARGETS, sysroot_dir, find_rust, rust_cache
    from arielml.targets import get_board
    crate = tmp_path / "crate"
    write_crate(HELLO, target, cores, crate, vectors=1)
    rust_target = RUST_TARGETS[get_board(target).core(0)[0].name]
    root = sysroot_dir(find_rust(), rust_cache())
    run = cargo(crate, "build", "--release", "--target", rust_target, cargo_home=tmp_path / "cargo-home",
                rustflags=f"--sysroot {root}")
    assert run.returncode == 0, run.stderr[-3000:]
    archives = list((crate / "target" / rust_target / "release" / "build").rglob("libarielml_model.a"))
    assert len(archives) == 1
    objdump = "riscv64-unknown-elf-objdump" if "riscv" in rust_target else "arm-none-eabi-objdump"
    listing = subprocess.run([objdump, "-f", str(archives[0])], capture_output=True, text=True).stdout
    assert ("architecture: riscv" if "riscv" in rust_target else "architecture: arm") in listing, listing[:400]
    assert (crate / "target" / rust_target / "release" / "libmodel.rlib").is_file()


@needs_rust
@needs_cross
def test_readme_two_core_main_compiles(tmp_path, sysroots):  # noqa: F811
    """The complete two-core main of the crate's README builds against the crate for thumbv6m."""
    import re
    from arielml.rust.crate import write_crate
    from arielml.rust.toolchain import find_rust, rust_cache, sysroot_dir
    write_crate(HELLO, "rp2040", 2, tmp_path / "crate", vectors=1)
    readme = (tmp_path / "crate" / "README.md").read_text()
    main_rs = re.search(r"## A complete two-core main.*?```rust\n(.*?)```", readme, re.S).group(1)
    app_dir = tmp_path / "app"
    (app_dir / "src").mkdir(parents=True)
    (app_dir / "src" / "lib.rs").write_text(main_rs)
    (app_dir / "Cargo.toml").write_text('[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n'
                                        '[lib]\ncrate-type = ["staticlib"]\n\n[dependencies]\nmodel = { path = "../crate" }\n\n'
                                        '[profile.release]\npanic = "abort"\n')
    root = sysroot_dir(find_rust(), rust_cache())
    run = cargo(app_dir, "build", "--release", "--target", "thumbv6m-none-eabi", cargo_home=tmp_path / "cargo-home",
                rustflags=f"--sysroot {root}")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (app_dir / "target" / "thumbv6m-none-eabi" / "release" / "libapp.a").is_file()


def test_model_file_name_cannot_inject_rust(tmp_path):
    """The crate's doc comments and README name the model file: a name carrying a newline and Rust
    code must reach them only as harmless text (no Rust toolchain needed: the files are inspected)."""
    import shutil

    from arielml.rust.crate import write_crate
    evil = tmp_path / 'm"\nfn injected() {}\n.tflite'
    shutil.copy(ZOO / "tflite_micro" / "hello_world_int8.tflite", evil)
    crate = write_crate(evil, "host", 1, tmp_path / "crate")
    for rel in crate.files:
        if rel.endswith((".rs", ".md", ".toml")):
            lines = (crate.out_dir / rel).read_text(errors="replace").splitlines()
            # the name's newline would start a Rust item after the doc comment: it must not
            assert not any(line.strip().startswith("fn injected") for line in lines), rel
