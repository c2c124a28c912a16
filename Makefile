# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
APT_PACKAGES := gcc-arm-none-eabi picolibc-arm-none-eabi gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
# Rust 1.96 with the standard library's source (the plain `rustc` package is 1.63); docs/rust.md
RUST_PACKAGES := rustc-web cargo-web rust-web-src

.PHONY: setup toolchains rust demo test bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# Cross compilers for the emulated boards; installed only when missing and only when we are root.
toolchains:
	@if ! command -v arm-none-eabi-gcc >/dev/null || ! command -v riscv64-unknown-elf-gcc >/dev/null \
	    || [ ! -d /usr/lib/picolibc/arm-none-eabi ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	  else echo "note: cross toolchains missing; run as root or install: $(APT_PACKAGES)"; fi; \
	fi

# Debian's Rust (always used by full path: rustup's proxies in ~/.cargo/bin are never run), then the
# core sysroots of the MCU targets, built once per machine into arielml's build cache (~1 min each).
rust: $(STAMP)
	@if [ ! -x /usr/bin/rustc ] || [ ! -x /usr/bin/cargo ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(RUST_PACKAGES); \
	  else echo "note: Rust missing; run as root or install: $(RUST_PACKAGES)"; fi; \
	fi
	@if [ -x /usr/bin/rustc ]; then $(PY) -m arielml.rust.toolchain --all; fi

setup: $(STAMP) toolchains rust

demo: setup
	$(VENV)/bin/arielml demo

test: setup
	$(PY) -m pytest -n 2 -q

bench: setup
	$(VENV)/bin/arielml bench

# What `make clean` removes: the virtualenv, build/, pytest's cache (it holds the test suite's cached C
# and firmware builds), and arielml's own build caches (arielml/cache.py): $XDG_CACHE_HOME/arielml or
# ~/.cache/arielml, and the per-user fallback under the temporary directory. Outputs you wrote (out/,
# -o DIR of compile) are kept.
USER_CACHE := $(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)/arielml
TEMP_CACHE := $(if $(TMPDIR),$(TMPDIR),/tmp)/arielml-$(shell id -u)
clean:
	@echo "removing $(VENV) build .pytest_cache $(USER_CACHE) $(TEMP_CACHE)"
	rm -rf $(VENV) build .pytest_cache "$(USER_CACHE)" "$(TEMP_CACHE)"
