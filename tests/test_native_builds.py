"""The native backend's build and load path (issue 12): short build errors (item 6), concurrent Python
callers of one model (item 2, the Python side), and the thread count against this machine's CPUs
(item 8: "host has 64 core(s)" on a 2-CPU machine)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import arielml
from arielml.backends.native import (MAX_THREADS, available_cpus, build, build_native, check_threads,
                                     threads_note)
from arielml.compile import compile_model
from arielml.errors import BuildError, TargetError
from tests.conftest import ROOT, ZOO

HELLO = ZOO / "tflite_micro/hello_world_int8.tflite"


# --- build failures: a few relevant lines, not a dump -------------------------------------------------

def test_a_compile_error_is_short_and_the_full_output_is_kept(tmp_path):
    body = "\n".join(f"int f{i}(void) {{ return undeclared_{i}; }}" for i in range(60))  # 60 errors
    with pytest.raises(BuildError) as info:
        build({"broken.c": body}, tmp_path)
    message = str(info.value)
    assert "undeclared_0" in message and "error" in message
    assert len(message) < 1200, message  # the whole compiler output is ~10 kB
    log = tmp_path / "last-build-error.log"
    assert str(log) in message and "undeclared_59" in log.read_text()
    assert list((tmp_path / "build").iterdir()) == []  # the failed build cleaned up after itself


def test_a_link_error_is_short(tmp_path):
    with pytest.raises(BuildError) as info:
        build({"a.c": "int twice(void) { return 1; }\n", "b.c": "int twice(void) { return 2; }\n"}, tmp_path)
    message = str(info.value)
    assert "linking" in message and "multiple definition" in message and len(message) < 1200, message


def test_a_relative_cache_dir_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    library = build({"one.c": "int one(void) { return 1; }\n"}, "rel/cache")
    assert library.is_absolute() and library.is_relative_to(tmp_path / "rel" / "cache")


# --- concurrent callers --------------------------------------------------------------------------------

def test_two_threads_run_one_model_on_two_cores_with_their_own_inputs(cache):
    """Issue 12 "done when": two threads x 30 runs on one model with 2 cores finish, each run giving
    the reference bytes for its own inputs (the library's input and output buffers are shared by the
    whole process: a run is one step from writing the inputs to reading the outputs). Both threads
    also race to build and load the library on their first call."""
    model = arielml.load(ZOO / "mlcommons_tiny/ad01_int8.tflite")
    cases = [model.random_inputs(seed) for seed in range(6)]
    wanted = [model.run(x, backend="reference")[0] for x in cases]
    failures: list[str] = []

    def worker(first: int) -> None:
        try:
            for k in range(30):
                case = (first + k) % len(cases)
                got = model.run_native(cases[case], cores=2, cache_dir=cache).outputs[0]
                if not np.array_equal(got, wanted[case]):
                    failures.append(f"run {k} of thread {first}: wrong bytes for inputs {case}")
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(f"thread {first}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(first,), daemon=True) for first in (0, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "concurrent native runs hang"
    assert failures == []


def test_threads_building_one_library_at_once_share_it(tmp_path):
    model = arielml.load(HELLO)
    compiled = compile_model(model.graph, cores=2)
    paths, errors = [], []

    def worker() -> None:
        try:
            paths.append(build_native(compiled, tmp_path).path)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and len(set(paths)) == 1 and len(paths) == 3


# --- threads versus CPUs -----------------------------------------------------------------------------

def test_available_cpus_is_this_process_affinity():
    assert available_cpus() == len(os.sched_getaffinity(0))


def test_the_thread_limit_message_states_the_real_cpu_count():
    with pytest.raises(TargetError) as info:
        check_threads(MAX_THREADS + 1)
    message = str(info.value)
    assert f"1 to {MAX_THREADS} threads" in message and f"{available_cpus()} CPU(s)" in message
    assert f"has {MAX_THREADS} core" not in message


def test_more_threads_than_cpus_give_the_reference_bytes_and_say_so(cache):
    threads = available_cpus() + 1
    model = arielml.load(HELLO)
    x = model.random_inputs(5)
    library = build_native(compile_model(model.graph, cores=threads, scheduler="dynamic"), cache)
    assert np.array_equal(library.run(x).outputs[0], model.run(x, backend="reference")[0])
    note = threads_note(threads)
    assert note is not None and f"{threads} threads share {available_cpus()} CPU(s)" in note
    assert threads_note(available_cpus()) is None


def test_cli_thread_limit_message_is_true():
    proc = subprocess.run([sys.executable, "-m", "arielml.cli", "run", str(HELLO), "--backend", "native",
                           "--cores", str(MAX_THREADS + 1)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"host has {MAX_THREADS} core" not in proc.stderr and f"{available_cpus()} CPU(s)" in proc.stderr


def test_cli_run_says_when_threads_exceed_cpus(tmp_path):
    threads = available_cpus() + 1
    proc = subprocess.run([sys.executable, "-m", "arielml.cli", "run", str(HELLO), "--backend", "native",
                           "--cores", str(threads), "--json", "-o", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert f"{threads} threads share {available_cpus()} CPU(s)" in report["note"]
