"""Shared by the Rust tests: Rust present or a clear skip, the core sysroots built once per session
(25-45 s per target on a fresh machine, then cached in arielml's build cache), and cargo run the
way arielml runs it (Debian's cargo, a private CARGO_HOME, offline)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from arielml.errors import BuildError


def _rust_missing() -> str | None:
    from arielml.rust.toolchain import find_rust
    try:
        find_rust()
    except BuildError as e:
        return str(e)
    return None


RUST_MISSING = _rust_missing()
needs_rust = pytest.mark.skipif(RUST_MISSING is not None, reason=f"Rust not installed: {RUST_MISSING}")


@pytest.fixture(scope="session")
def sysroots():
    """Every embedded target's core sysroot, built once (flock-serialised across test workers)."""
    from arielml.rust.toolchain import all_sysroots
    return all_sysroots()


def cargo(crate: Path, *args: str, cargo_home: Path, rustflags: str | None = None,
          extra_env: dict | None = None) -> subprocess.CompletedProcess:
    from arielml.rust.toolchain import cargo_env, find_rust
    rust = find_rust()
    env = cargo_env(rust, cargo_home, **(extra_env or {}))
    if rustflags:
        env["RUSTFLAGS"] = rustflags
    return subprocess.run([str(rust.cargo), *args, "--offline"], cwd=crate, capture_output=True, text=True, env=env)
