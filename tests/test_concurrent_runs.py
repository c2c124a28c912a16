"""Concurrent callers of one compiled model finish, with the same bytes as one caller (issue 12 item 2).

`<name>_run` used to call `<name>_init()` - which resets the barrier - before it took the posix
port's run lock, so a second caller reset the barrier under the first caller's cores and both hung
for good. Every case runs in a subprocess with a timeout: a regression fails instead of hanging."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import arielml
from arielml.backends.native import build
from arielml.compile import compile_model
from tests.conftest import ROOT, ZOO

AD01 = ZOO / "mlcommons_tiny/ad01_int8.tflite"  # 10 FULLY_CONNECTED layers: a barrier after each
RUNS = 30
TIMEOUT = 120  # seconds; the runs take well under one

# Two threads x RUNS inferences on one model. Phase 1: <name>_run (the caller's copies are its own
# business: only termination is checked). Phase 2: <name>_invoke, which copies inputs and outputs under
# the run lock: every result must equal a single caller's.
CONCURRENT_MAIN = textwrap.dedent("""\
    #include <pthread.h>
    #include <stdio.h>
    #include <string.h>

    #include "model.h"

    #define RUNS %(runs)d
    static int8_t input[MODEL_INPUT0_ELEMENTS];
    static int8_t results[2][RUNS][MODEL_OUTPUT0_ELEMENTS];

    static void *run_only(void *arg)
    {
        int r;
        (void)arg;
        for (r = 0; r < RUNS; r++) {
            if (model_run(MODEL_CORES) != MODEL_OK) {
                return (void *)1;
            }
        }
        return NULL;
    }

    static void *invoke(void *arg)
    {
        const unsigned thread = *(const unsigned *)arg;
        int r;
        for (r = 0; r < RUNS; r++) {
            const void *inputs[1];
            void *outputs[1];
            inputs[0] = input;
            outputs[0] = results[thread][r];
            if (model_invoke(inputs, outputs, MODEL_CORES) != MODEL_OK) {
                return (void *)1;
            }
        }
        return NULL;
    }

    static int two_threads(void *(*body)(void *))
    {
        static unsigned ids[2] = {0u, 1u};
        pthread_t threads[2];
        void *status[2];
        unsigned t;
        for (t = 0; t < 2u; t++) {
            if (pthread_create(&threads[t], NULL, body, &ids[t]) != 0) {
                return 1;
            }
        }
        for (t = 0; t < 2u; t++) {
            pthread_join(threads[t], &status[t]);
        }
        return status[0] != NULL || status[1] != NULL;
    }

    int main(void)
    {
        unsigned i;
        int r;
        for (i = 0; i < MODEL_INPUT0_ELEMENTS; i++) {
            input[i] = (int8_t)((i * 37u) %% 256u - 128u);
        }
        memcpy(model_input(0), input, sizeof input);
        if (two_threads(run_only) != 0 || two_threads(invoke) != 0) {
            return 2;
        }
        for (r = 0; r < RUNS; r++) {
            if (memcmp(results[0][r], results[0][0], sizeof results[0][0]) != 0 ||
                memcmp(results[1][r], results[0][0], sizeof results[0][0]) != 0) {
                fprintf(stderr, "run %%d differs\\n", r);
                return 3;
            }
        }
        fwrite(results[0][0], 1, sizeof results[0][0], stdout);
        return 0;
    }
    """) % {"runs": RUNS}


def _input(model) -> np.ndarray:
    shape = model.graph.tensors[model.graph.inputs[0]].shape
    count = int(np.prod(shape))
    return ((np.arange(count) * 37) % 256 - 128).astype(np.int8).reshape(shape)


@pytest.mark.parametrize("scheduler, sanitize", [("static", None), ("dynamic", None), ("dynamic", "thread")])
def test_two_c_threads_share_one_model(cache, scheduler, sanitize):
    model = arielml.load(AD01)
    result = compile_model(model, cores=2, scheduler=scheduler)
    exe = build(result.sources, cache, sanitize=sanitize, executable_main=CONCURRENT_MAIN)
    proc = subprocess.run([str(exe)], capture_output=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    expected = model.run(_input(model))[0]
    assert proc.stdout == expected.tobytes()


PYTHON_THREADS = textwrap.dedent("""\
    import sys, threading
    import numpy as np
    import arielml
    model = arielml.load(sys.argv[1])
    x = np.frombuffer(bytes.fromhex(sys.argv[2]), dtype=np.int8).reshape(model.input_specs[0][0])
    results, errors = [[], []], []
    def work(k):
        try:
            for _ in range(%(runs)d):
                out = model.run_native(x, cores=2, scheduler=sys.argv[3], cache_dir=sys.argv[4])
                results[k].append(out.outputs[0].tobytes())
        except BaseException as e:
            errors.append(repr(e))
    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors
    assert len(results[0]) == len(results[1]) == %(runs)d
    assert len(set(results[0] + results[1])) == 1, "concurrent runs gave different bytes"
    sys.stdout.write(results[0][0].hex())
    """) % {"runs": RUNS}


@pytest.mark.parametrize("scheduler", ["static", "dynamic"])
def test_two_python_threads_share_one_model(cache, scheduler):
    """Two Python threads x 30 runs of Model.run_native(cores=2) (what Model.run(backend="native")
    calls) on one Model; ctypes releases the GIL during the run, so the C calls overlap."""
    model = arielml.load(AD01)
    x = _input(model)
    proc = subprocess.run([sys.executable, "-c", PYTHON_THREADS, str(AD01), x.tobytes().hex(), scheduler, str(cache)],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert bytes.fromhex(proc.stdout) == model.run(x)[0].tobytes()
