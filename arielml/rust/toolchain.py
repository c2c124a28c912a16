"""Debian's Rust compiler, offline, and the `core` sysroots for the microcontroller targets.

    rust = find_rust()                               # /usr/bin/rustc + /usr/bin/cargo (rustc-web 1.96)
    sysroot = target_sysroot("thumbv6m-none-eabi")   # built once per machine, then cached
    env = cargo_env(rust, cargo_home)                # offline, no user configuration read

Why not rustup: Debian's rustc-web ships no standard library for the bare-metal targets, only its
source (rust-web-src). `cargo -Zbuild-std=core,compiler_builtins` (RUSTC_BOOTSTRAP=1) builds `core`
from that source; it needs every crate in the library's Cargo.lock, of which Debian vendors 24. The
other 16 (windows-*, rand, shlex, ...) are never compiled for these targets, so empty stand-ins with
the lock file's checksums satisfy cargo's offline resolver. The built rlibs are kept as a sysroot
(`<cache>/rust/sysroot-<version>/lib/rustlib/<target>/lib`), so later builds only pass
`--sysroot` and take seconds.

rustup's proxies in ~/.cargo/bin often come first on PATH: we always run Debian's binaries by their
full path and point CARGO_HOME at arielml's own cache, so no user cargo configuration is read or
written."""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from arielml.cache import absolute, build_dir, build_failure, cache_dir
from arielml.errors import BuildError

DEBIAN_PACKAGES = "rustc-web cargo-web rust-web-src"
INSTALL_HINT = f"install Debian's Rust with 'apt-get install --no-install-recommends {DEBIAN_PACKAGES}'"
RUST_BIN = Path("/usr/bin")
MIN_VERSION = (1, 85)

# Rust target triple per arielml core type (CoreType.name). The M33 ports use the hard-float ABI, so
# the M33 needs the eabihf target, as the M4F and M7 do.
RUST_TARGETS = {
    "cortex-m0plus": "thumbv6m-none-eabi",
    "cortex-m33": "thumbv8m.main-none-eabihf",
    "cortex-m4f": "thumbv7em-none-eabihf",
    "cortex-m7": "thumbv7em-none-eabihf",
    "hazard3": "riscv32imac-unknown-none-elf",
}
EMBEDDED_TARGETS = tuple(sorted(set(RUST_TARGETS.values())))
_SYSROOT_VERSION = "1"  # bump when the sysroot recipe changes


@dataclass(frozen=True)
class Rust:
    rustc: Path
    cargo: Path
    version: str  # "1.96.0"
    host: str  # host triple, e.g. x86_64-unknown-linux-gnu
    library_source: Path  # .../library (Cargo.toml, Cargo.lock, core/, vendor/)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


@lru_cache(maxsize=None)
def find_rust(bin_dir: str | None = None) -> Rust:
    """Debian's rustc and cargo (never rustup's proxies), and the standard library's source; a
    BuildError saying what to install when any of them is missing or too old."""
    directory = Path(bin_dir) if bin_dir is not None else RUST_BIN
    rustc, cargo = directory / "rustc", directory / "cargo"
    if not (os.access(rustc, os.X_OK) and os.access(cargo, os.X_OK)):
        raise BuildError(f"Rust not found ({rustc} and {cargo} are needed; rustup's proxies in ~/.cargo/bin "
                         f"are not used): {INSTALL_HINT}, or run `make test` as root")
    verbose = subprocess.run([str(rustc), "-vV"], capture_output=True, text=True)
    fields = dict(line.split(": ", 1) for line in verbose.stdout.splitlines() if ": " in line)
    version = fields.get("release", "")
    if verbose.returncode != 0 or _version_tuple(version) < MIN_VERSION:
        raise BuildError(f"{rustc} is Rust {version or 'of unknown version'}; arielml needs {'.'.join(map(str, MIN_VERSION))} "
                         f"or newer (Debian 12's plain 'rustc' package is 1.63): {INSTALL_HINT}")
    sysroot = subprocess.run([str(rustc), "--print", "sysroot"], capture_output=True, text=True).stdout.strip()
    library = Path(sysroot) / "lib" / "rustlib" / "src" / "rust" / "library"
    if not (library / "core" / "src" / "lib.rs").is_file():
        raise BuildError(f"the Rust standard library's source is missing ({library}): {INSTALL_HINT}")
    return Rust(rustc, cargo, version, fields.get("host", ""), library.resolve())


def rust_target(core_type_name: str) -> str:
    try:
        return RUST_TARGETS[core_type_name]
    except KeyError:
        raise BuildError(f"no Rust target for core type {core_type_name}; Rust builds support "
                         f"{', '.join(sorted(RUST_TARGETS))}") from None


def rust_cache(root: str | Path | None = None) -> Path:
    """arielml's Rust cache: sysroots, the offline crate source and a private CARGO_HOME."""
    directory = cache_dir("emulator", root) / "rust"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def cargo_env(rust: Rust, cargo_home: Path, **extra: str) -> dict[str, str]:
    """The environment for Debian's cargo: offline, its own CARGO_HOME (the user's ~/.cargo and its
    config are never read), Debian's rustc, and no RUSTFLAGS or toolchain overrides inherited."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CARGO_", "RUSTUP_")) and k not in ("RUSTFLAGS", "RUSTC", "RUSTDOC", "RUSTC_WRAPPER")}
    env.update(CARGO_HOME=str(cargo_home), RUSTC=str(rust.rustc), RUSTDOC=str(rust.rustc.with_name("rustdoc")),
               CARGO_NET_OFFLINE="true", CARGO_TERM_COLOR="never",
               PATH=f"{rust.rustc.parent}{os.pathsep}{env.get('PATH', '')}")
    env.update(extra)
    return env


def _lock_packages(lock: Path) -> list[dict]:
    """The [[package]] entries of a Cargo.lock (name, version, source, checksum), parsed by hand:
    tomllib would do, but the lock format is flat and this keeps the parse obvious."""
    packages, current = [], None
    for line in lock.read_text().splitlines():
        if line.strip() == "[[package]]":
            current = {}
            packages.append(current)
        elif current is not None and " = " in line and not line.startswith(" "):
            key, value = line.split(" = ", 1)
            if value.startswith('"'):
                current[key.strip()] = value.strip().strip('"')
    return packages


def offline_source(rust: Rust, directory: Path) -> Path:
    """A cargo directory source holding every registry crate of the standard library's Cargo.lock:
    Debian's vendored ones (symlinked) and empty stand-ins for the rest."""
    if (directory / ".complete").is_file():
        return directory
    # built under a private name and renamed into place: parallel test workers may get here together
    import tempfile
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    _fill_offline_source(rust, staging)
    (staging / ".complete").write_text(rust.version + "\n")
    try:
        os.replace(staging, directory)
    except OSError:  # another process installed it first (or an old incomplete copy is in the way)
        if not (directory / ".complete").is_file():
            shutil.rmtree(directory, ignore_errors=True)
            os.replace(staging, directory)
        else:
            shutil.rmtree(staging, ignore_errors=True)
    return directory


def _fill_offline_source(rust: Rust, directory: Path) -> None:
    vendor = rust.library_source / "vendor"
    for package in _lock_packages(rust.library_source / "Cargo.lock"):
        if not package.get("source", "").startswith("registry+"):
            continue
        name, version = package["name"], package["version"]
        target = directory / f"{name}-{version}"
        if target.exists() or target.is_symlink():
            continue
        vendored = vendor / f"{name}-{version}"
        if vendored.is_dir():
            target.symlink_to(vendored)
            continue
        # never compiled for our targets (Windows, test-only, host tools): a crate with nothing in it
        (target / "src").mkdir(parents=True)
        (target / "Cargo.toml").write_text(f'[package]\nname = "{name}"\nversion = "{version}"\nedition = "2015"\n\n'
                                           f'[lib]\npath = "src/lib.rs"\n')
        (target / "src" / "lib.rs").write_text("#![no_std]\n")
        (target / ".cargo-checksum.json").write_text(json.dumps({"files": {}, "package": package.get("checksum")}))


def source_replacement(source: Path) -> list[str]:
    """cargo --config arguments: crates.io replaced by the offline directory source."""
    return ["--config", 'source.crates-io.replace-with="arielml-offline"',
            "--config", f'source.arielml-offline.directory="{source}"']


def sysroot_dir(rust: Rust, cache: Path) -> Path:
    return cache / f"sysroot-{rust.version}-{_SYSROOT_VERSION}"


def _sysroot_ready(root: Path, target: str) -> bool:
    lib = root / "lib" / "rustlib" / target / "lib"
    return (lib / ".complete").is_file() and any(lib.glob("libcore-*.rlib"))


def target_sysroot(target: str, cache_root: str | Path | None = None) -> Path | None:
    """The sysroot with `core` and `compiler_builtins` for `target`, built on first use (25-45 s per
    target) and cached; None for the host, whose standard library Debian ships."""
    rust = find_rust()
    if target in ("host", rust.host):
        return None
    if target not in EMBEDDED_TARGETS:
        raise BuildError(f"unknown Rust target {target}; one of {', '.join(EMBEDDED_TARGETS)} or host")
    cache = rust_cache(cache_root)
    root = sysroot_dir(rust, cache)
    if _sysroot_ready(root, target):
        return root
    with open(cache / f".sysroot-{target}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per target; the others wait and reuse its result
        if not _sysroot_ready(root, target):
            _build_sysroot(rust, target, cache, root)
    return root


def all_sysroots(cache_root: str | Path | None = None, jobs: int = 2) -> dict[str, Path | None]:
    """Every embedded target's sysroot (built when missing): `make test`'s set-up, the tests' fixture.
    Two targets at a time: building core is mostly one compiler thread, and CI machines have 2 cores."""
    from concurrent.futures import ThreadPoolExecutor
    rust = find_rust()
    offline_source(rust, rust_cache(cache_root) / f"offline-source-{rust.version}")  # once, before the threads
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        built = list(pool.map(lambda target: target_sysroot(target, cache_root), EMBEDDED_TARGETS))
    return dict(zip(EMBEDDED_TARGETS, built))


_PROBE_MANIFEST = """[package]
name = "arielml_sysroot_probe"
version = "0.0.0"
edition = "2021"

[lib]
path = "lib.rs"

[profile.release]
panic = "abort"
opt-level = "s"
"""


def _build_sysroot(rust: Rust, target: str, cache: Path, root: Path) -> None:
    """cargo -Zbuild-std=core,compiler_builtins on an empty no_std crate, then keep core's and
    compiler_builtins' rlibs (with what they depend on) as the target's sysroot."""
    source = offline_source(rust, cache / f"offline-source-{rust.version}")
    with build_dir(cache) as work:
        (work / "Cargo.toml").write_text(_PROBE_MANIFEST)
        (work / "lib.rs").write_text("#![no_std]\n")
        env = cargo_env(rust, work / "cargo-home", RUSTC_BOOTSTRAP="1")
        command = [str(rust.cargo), "build", "--release", "--offline", "--target", target,
                   "-Zbuild-std=core,compiler_builtins", "--target-dir", str(work / "target"),
                   *source_replacement(source)]
        result = subprocess.run(command, cwd=work, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise BuildError(build_failure(f"building Rust's core for {target}", result.stderr + result.stdout, cache))
        deps = work / "target" / target / "release" / "deps"
        staged = work / "sysroot" / "lib" / "rustlib" / target / "lib"
        staged.mkdir(parents=True)
        for rlib in deps.glob("*.rlib"):
            if not rlib.name.startswith("libarielml_sysroot_probe"):
                shutil.copy2(rlib, staged / rlib.name)
        if not any(staged.glob("libcore-*.rlib")):
            raise BuildError(f"building Rust's core for {target} produced no libcore rlib in {deps}")
        (staged / ".complete").write_text(rust.version + "\n")
        final = root / "lib" / "rustlib" / target
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            shutil.rmtree(final)
        os.replace(staged.parent, final)


def describe() -> dict:
    """What `arielml targets`-style reports and the docs show: the compiler and the ready sysroots."""
    rust = find_rust()
    root = sysroot_dir(rust, rust_cache())
    return {"rustc": str(rust.rustc), "version": rust.version, "host": rust.host,
            "sysroots": {t: _sysroot_ready(root, t) for t in EMBEDDED_TARGETS}}


__all__ = ["Rust", "find_rust", "rust_target", "target_sysroot", "all_sysroots", "cargo_env", "rust_cache",
           "offline_source", "source_replacement", "RUST_TARGETS", "EMBEDDED_TARGETS", "absolute"]


if __name__ == "__main__":  # `python -m arielml.rust.toolchain --sysroot TARGET`: build if needed, print the path
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--sysroot":
        print(target_sysroot(sys.argv[2]) or "")
    elif len(sys.argv) == 2 and sys.argv[1] == "--all":
        for name, path in all_sysroots().items():
            print(f"{name}: {path}")
    else:
        sys.exit("usage: python -m arielml.rust.toolchain --sysroot TARGET | --all")
