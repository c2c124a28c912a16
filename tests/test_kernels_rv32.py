"""The RV32 (Hazard3) int8 kernels, runtime/kernels/rv32/{conv_s8,fully_connected_s8}.c, against the
portable loops they replace (ariel_conv_q8_portable.h, ariel_fc_q8_portable.h) and the reference
executor.

1. Host harness (fast, many cases): the rv32 files are plain C99, so a host build runs them beside
   the portable static functions on thousands of random geometries - every channel block 1..16,
   random [begin, end) splits of the work items, paddings, strides, dilations, zero points, extreme
   biases (int32 wrap-around) and requantisation records (left shifts, right shifts up to 31,
   single-rounding records that must fall back) - and compares the bytes. Also the MULHSU-based
   requantisation (rq_channel_apply) against ariel_rq on random records and accumulators.
2. Emulated rp2350-riscv (1 and 2 cores) and rp2350-mixed (one Cortex-M33 and one Hazard3 image):
   one model of independent random single-op int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED
   layers (one firmware build per board), byte for byte against the reference executor; and
   vww_96_int8 at 2 cores."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import arielml
from arielml.backends.emulator import run_emulated
from arielml.backends.reference import prepare_all, run_reference
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from arielml.ops.registry import LITERT
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross
from tests.tflite_builder import ModelBuilder
from tests.window_op_cases import QMAX, log_uniform, random_activation, zero_point

RUNTIME = Path(__file__).resolve().parents[1] / "arielml" / "runtime"

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../kernels/rv32/conv_s8.c"
#include "../kernels/rv32/fully_connected_s8.c"

static uint64_t state;
static uint32_t next(void) { /* xorshift64* */
    state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
    return (uint32_t)((state * 2685821657736338717ull) >> 32);
}
static int32_t range(int32_t lo, int32_t hi) { return lo + (int32_t)(next() % (uint32_t)(hi - lo + 1)); }

static int8_t input[2 * 12 * 12 * 24], weights[24 * 4 * 4 * 24], packed[24 * 16], out_a[8192], out_b[8192];
static int32_t bias[64], rq[64 * 4];

/* a record as requant_records makes it: double rounding, or (single) 2^15 with a right shift */
static void random_record(int32_t *r, int single)
{
    const int32_t shift = next() % 4 == 0 ? range(1, 6) : -range(0, 31);
    r[0] = next() % 8 == 0 ? (int32_t)(next() >> 1) : (int32_t)((1u << 30) | (next() >> 2));
    r[1] = shift > 0 ? shift : 0;
    r[2] = shift > 0 ? 0 : -shift;
    r[3] = single && r[2] > 0 ? (1 << 15) : (1 << 14);
}

static void random_values(int32_t channels, int single)
{
    int32_t i;
    const int32_t spread = next() % 4 == 0 ? 0x7fffffff : range(1, 1 << 20);
    for (i = 0; i < (int32_t)sizeof input; i++) input[i] = (int8_t)next();
    for (i = 0; i < (int32_t)sizeof weights; i++) weights[i] = (int8_t)next();
    for (i = 0; i < channels; i++) {
        bias[i] = (int32_t)(next() % (2u * (uint32_t)spread + 1u) - (uint32_t)spread);
        random_record(rq + 4 * i, single && next() % 4 == 0);
    }
}

/* the work items [0, n) in random pieces: every piece is a call */
static void run_pieces(void (*kernel)(const void *, void *const *, int32_t, int32_t), const void *p,
                       void *const *buffers, int32_t n)
{
    int32_t begin = 0;
    while (begin < n) {
        const int32_t end = begin + range(1, n - begin);
        kernel(p, buffers, begin, end);
        begin = end;
    }
}

static void conv_portable(const void *p, void *const *b, int32_t begin, int32_t end)
{ conv_q8((const ariel_conv_params *)p, b, begin, end, 0); }
static void depthwise_portable(const void *p, void *const *b, int32_t begin, int32_t end)
{
    const ariel_conv_params *c = (const ariel_conv_params *)p;
    if (c->packed_weights) depthwise_dm1_s8(c, (const int8_t *)b[0], (int8_t *)b[3], begin, end);
    else depthwise_q8(c, b, begin, end, 0);
}
static void fc_portable(const void *p, void *const *b, int32_t begin, int32_t end)
{ fully_connected_q8((const ariel_fully_connected_q8_params *)p, b, begin, end, 0); }

static int32_t out_size(int32_t in, int32_t eff, int32_t stride, int32_t pad_total)
{ return (in + pad_total - eff) / stride + 1; }

static int conv_case(int depthwise)
{
    ariel_conv_params p;
    ariel_conv_geometry *g = &p.g;
    void *buffers[4] = {input, weights, 0, 0};
    int32_t items, i, n, pad_h, pad_w, eff_h, eff_w, batch;
    memset(&p, 0, sizeof p);
    batch = range(1, 2);
    g->in_h = range(1, 12); g->in_w = range(1, 12);
    g->filter_h = next() % 3 == 0 ? range(1, 4) : (next() % 2 ? 3 : 1);
    g->filter_w = next() % 4 == 0 ? range(1, 4) : g->filter_h;
    g->stride_h = range(1, 3); g->stride_w = range(1, 3);
    g->dilation_h = next() % 4 == 0 ? 2 : 1;
    g->dilation_w = next() % 6 == 0 ? 2 : 1;
    g->groups = 1;
    g->depth_multiplier = 1;
    if (depthwise) {
        g->in_c = range(1, 24);
        g->depth_multiplier = next() % 5 == 0 ? 2 : 1;
        g->out_c = g->in_c * g->depth_multiplier;
        if (g->out_c > 24) { g->in_c = 12; g->out_c = 12 * g->depth_multiplier; }
    } else {
        g->in_c = next() % 3 == 0 ? range(1, 24) : (int32_t)(4 * range(1, 6));
        g->out_c = range(1, 24);
        if (next() % 8 == 0 && g->in_c % 2 == 0 && g->out_c % 2 == 0) g->groups = 2;
    }
    eff_h = (g->filter_h - 1) * g->dilation_h + 1;
    eff_w = (g->filter_w - 1) * g->dilation_w + 1;
    pad_h = range(0, eff_h - 1); pad_w = range(0, eff_w - 1);
    if (g->in_h + pad_h < eff_h || g->in_w + pad_w < eff_w) return 0; /* no output */
    g->pad_top = range(0, pad_h); g->pad_left = range(0, pad_w);
    g->out_h = out_size(g->in_h, eff_h, g->stride_h, pad_h);
    g->out_w = out_size(g->in_w, eff_w, g->stride_w, pad_w);
    g->channel_block = range(1, g->out_c < 16 ? g->out_c : 16);
    random_values(g->out_c, 1);
    p.input_zero_point = range(-128, 127);
    p.output_zero_point = range(-128, 127);
    p.act_min = range(-128, 127);
    p.act_max = range(p.act_min, 127);
    p.rounding = 0;
    p.bias = bias;
    p.rq = rq;
    if (depthwise && g->depth_multiplier == 1) {
        /* channel-major [out_c][taps], as the compiler packs them */
        const int32_t taps = g->filter_h * g->filter_w;
        int32_t c, t;
        for (c = 0; c < g->out_c; c++)
            for (t = 0; t < taps; t++) packed[c * taps + t] = weights[t * g->out_c + c];
        p.packed_weights = packed;
    }
    items = batch * g->out_h * ((g->out_c + g->channel_block - 1) / g->channel_block);
    n = batch * g->out_h * g->out_w * g->out_c;
    /* the kernels read batch from the row index: in_h rows per batch */
    buffers[3] = out_a;
    memset(out_a, 0x55, (size_t)n);
    memset(out_b, 0x55, (size_t)n);
    run_pieces(depthwise ? ariel_depthwise_conv_s8 : ariel_conv_s8, &p, buffers, items);
    buffers[3] = out_b;
    (depthwise ? depthwise_portable : conv_portable)(&p, buffers, 0, items);
    for (i = 0; i < n; i++) {
        if (out_a[i] != out_b[i]) {
            printf("%s mismatch at %d: in %dx%dx%dx%d filter %dx%d stride %d,%d dilation %d,%d pad %d,%d groups %d "
                   "dm %d out_c %d block %d: %d vs %d\n", depthwise ? "depthwise" : "conv", (int)i, (int)batch,
                   (int)g->in_h, (int)g->in_w, (int)g->in_c, (int)g->filter_h, (int)g->filter_w, (int)g->stride_h,
                   (int)g->stride_w, (int)g->dilation_h, (int)g->dilation_w, (int)g->pad_top, (int)g->pad_left,
                   (int)g->groups, (int)g->depth_multiplier, (int)g->out_c, (int)g->channel_block, out_a[i], out_b[i]);
            return -1;
        }
    }
    return 1;
}

static int fc_case(void)
{
    ariel_fully_connected_q8_params p;
    void *buffers[4] = {input, weights, 0, 0};
    int32_t n, i, single = next() % 3 == 0;
    memset(&p, 0, sizeof p);
    p.rows = range(1, 4); p.units = range(1, 40); p.depth = range(1, 70);
    random_values(p.units, single);
    p.per_channel = next() % 2;
    p.output_zero_point = range(-128, 127);
    p.act_min = range(-128, 127);
    p.act_max = range(p.act_min, 127);
    p.bias = bias;
    p.rq = rq;
    p.acc_limit = single && rq[1] > 0 ? (int32_t)((1u << (31 - rq[1])) - 1) : 0x7fffffff;
    if (!p.per_channel && single) rq[3] = rq[2] > 0 ? (1 << 15) : (1 << 14);
    n = p.rows * p.units;
    buffers[3] = out_a;
    run_pieces(ariel_fully_connected_s8, &p, buffers, n);
    buffers[3] = out_b;
    fc_portable(&p, buffers, 0, n);
    for (i = 0; i < n; i++) {
        if (out_a[i] != out_b[i]) {
            printf("fc mismatch at %d: rows %d units %d depth %d: %d vs %d\n", (int)i, (int)p.rows, (int)p.units,
                   (int)p.depth, out_a[i], out_b[i]);
            return -1;
        }
    }
    return 1;
}

/* rq_channel_apply against ariel_rq on double-rounding records and any accumulator; and where
 * rq_prepare allows the short form (window and bias small enough), rq_fast_apply on the accumulators
 * such a window can produce */
static int requant_cases(int32_t count)
{
    ariel_conv_params p;
    rq_channel q;
    int32_t i, fast = 0;
    memset(&p, 0, sizeof p);
    p.bias = bias;
    p.rq = rq;
    for (i = 0; i < count; i++) {
        const uint32_t kind = next() % 4;
        int32_t acc = kind == 0 ? (int32_t)next() : kind == 1 ? range(-70000, 70000)
                    : kind == 2 ? (next() % 2 ? 0x7fffffff - range(0, 1000) : (int32_t)0x80000000 + range(0, 1000))
                    : range(-300, 300);
        const int32_t window = next() % 2 ? range(1, 64) : range(1, 40000);
        random_record(rq, 0);
        bias[0] = next() % 2 ? 0 : range(-(1 << 28), 1 << 28);
        p.output_zero_point = range(-128, 127);
        if (!rq_prepare(&p, 0, 1, window, &q)) { printf("double-rounding record refused\n"); return -1; }
        if (rq_channel_apply((uint32_t)acc, &q) != ariel_rq(acc, rq)) {
            printf("requant mismatch: acc %ld m %ld left %ld right %ld: %ld vs %ld\n", (long)acc, (long)rq[0],
                   (long)rq[1], (long)rq[2], (long)rq_channel_apply((uint32_t)acc, &q), (long)ariel_rq(acc, rq));
            return -1;
        }
        if (q.fast) {
            /* a window sum plus the bias, as the kernels feed it */
            const int32_t sum = (int32_t)((int64_t)(next() % (2u * (uint32_t)window * 16384u + 1u)) - (int64_t)window * 16384);
            acc = kind == 3 ? bias[0] + range(-300, 300) : bias[0] + sum;
            fast++;
            if (rq_fast_apply((uint32_t)acc, &q) != ariel_rq(acc, rq) + p.output_zero_point) {
                printf("fast requant mismatch: acc %ld m %ld right %ld zp %ld: %ld vs %ld\n", (long)acc, (long)rq[0],
                       (long)rq[2], (long)p.output_zero_point, (long)rq_fast_apply((uint32_t)acc, &q),
                       (long)(ariel_rq(acc, rq) + p.output_zero_point));
                return -1;
            }
        }
    }
    return fast > count / 10 ? 1 : -1; /* the short form must be exercised */
}

int main(int argc, char **argv)
{
    const long cases = argc > 1 ? atol(argv[1]) : 1000;
    long i, done[3] = {0, 0, 0};
    state = argc > 2 ? (uint64_t)atoll(argv[2]) : 88172645463325252ull;
    if (requant_cases(2000000) < 0) return 1;
    for (i = 0; i < cases; i++) {
        int r;
        r = conv_case(0); if (r < 0) return 1; done[0] += r;
        r = conv_case(1); if (r < 0) return 1; done[1] += r;
        r = fc_case(); if (r < 0) return 1; done[2] += r;
    }
    printf("ok %ld conv %ld depthwise %ld fc\n", done[0], done[1], done[2]);
    return 0;
}
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.fail("no host C compiler (gcc) found: install build-essential")
    folder = tmp_path_factory.mktemp("rv32_kernels")
    (RUNTIME / "include").is_dir()
    source = folder / "harness.c"
    source.write_text(HARNESS.replace("../kernels/", f"{RUNTIME}/kernels/"))
    exe = folder / "harness"
    subprocess.run([compiler, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-function",
                    f"-I{RUNTIME / 'include'}", "-o", str(exe), str(source)], check=True, capture_output=True, text=True)
    return exe


@pytest.mark.parametrize("seed", [1, 2])
def test_rv32_kernels_match_the_portable_loops_on_random_geometry(harness, seed):
    run = subprocess.run([str(harness), "1500", str(seed)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("ok"), run.stdout + run.stderr
    conv, depthwise, fc = (int(word) for word in run.stdout.split()[1::2])
    assert conv > 1000 and depthwise > 1000 and fc == 1500, run.stdout  # most geometries have an output


# ---- emulated: random single-op layers, one model ----------------------------------------------------

def _int8_layer(b: ModelBuilder, rng: np.random.Generator, op: str, x_shape, w_shape, out_shape, channels: int,
                window: int, **options) -> tuple[int, int]:
    """An int8 layer with per-channel weights and a bias; returns (input, output) tensors."""
    in_scale = log_uniform(rng, 1e-3, 1.0)
    x = b.tensor(x_shape, "int8", quant=(in_scale, zero_point(rng, "int8")))
    scales = [log_uniform(rng, 1e-3, 1e-1) for _ in range(channels)]
    axis = 3 if op == "DEPTHWISE_CONV_2D" else 0
    w = b.tensor(w_shape, "int8", quant=(scales, [0] * channels, axis), data=rng.integers(-128, 128, w_shape))
    acc_std = (QMAX["int8"] / 1.7) ** 2 * np.sqrt(window)
    bias = b.tensor((channels,), "int32", quant=([in_scale * s for s in scales], [0] * channels),
                    data=rng.integers(-int(acc_std), int(acc_std) + 1, channels))
    out_scale = in_scale * float(np.mean(scales)) * acc_std / (QMAX["int8"] / 2.5) * log_uniform(rng, 0.2, 5)
    y = b.tensor(out_shape, "int8", quant=(out_scale, zero_point(rng, "int8")))
    options_type = {"CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
                    "FULLY_CONNECTED": "FullyConnectedOptions"}[op]
    b.op(op, [x, w, bias], [y], options_type, fusedActivationFunction=random_activation(rng), **options)
    return x, y


def _out(size: int, filter_size: int, stride: int, same: bool) -> int:
    return -(-size // stride) if same else -(-(size - filter_size + 1) // stride)


# (filter, stride, SAME?, batch, h, w, in_c, out_c): 1x1 blocks and tails, 3x3 with borders, odd shapes
CONV_SHAPES = [(1, 1, False, 1, 5, 7, 16, 19), (1, 2, True, 2, 6, 5, 13, 7), (3, 1, True, 1, 7, 9, 16, 17),
               (1, 1, True, 1, 3, 6, 32, 12), (3, 2, True, 1, 6, 9, 32, 6),
               (3, 2, True, 1, 9, 8, 3, 8), (3, 2, False, 2, 7, 6, 5, 3), (2, 1, True, 1, 4, 11, 6, 5),
               (4, 3, False, 1, 10, 9, 7, 21)]
# (stride, SAME?, batch, h, w, channels, depth multiplier)
DEPTHWISE_SHAPES = [(1, True, 1, 6, 6, 20), (2, True, 1, 9, 8, 16), (1, False, 2, 5, 7, 3), (2, False, 1, 8, 9, 17),
                    (1, True, 1, 3, 1, 5)]
# (rows, depth, units)
FC_SHAPES = [(1, 64, 10), (3, 37, 7), (2, 5, 18)]


def random_layers_model(seed: int) -> tuple[bytes, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    inputs, outputs, arrays = [], [], []
    for k, stride, same, n, h, w, c, o in CONV_SHAPES:
        out_shape = (n, _out(h, k, stride, same), _out(w, k, stride, same), o)
        io = _int8_layer(b, rng, "CONV_2D", (n, h, w, c), (o, k, k, c), out_shape, o, k * k * c,
                         padding=0 if same else 1, strideH=stride, strideW=stride)
        inputs.append(io[0]), outputs.append(io[1])
    for stride, same, n, h, w, c in DEPTHWISE_SHAPES:
        out_shape = (n, _out(h, 3, stride, same), _out(w, 3, stride, same), c)
        io = _int8_layer(b, rng, "DEPTHWISE_CONV_2D", (n, h, w, c), (1, 3, 3, c), out_shape, c, 9,
                         padding=0 if same else 1, strideH=stride, strideW=stride, depthMultiplier=1)
        inputs.append(io[0]), outputs.append(io[1])
    for rows, depth, units in FC_SHAPES:
        io = _int8_layer(b, rng, "FULLY_CONNECTED", (rows, depth), (units, depth), (rows, units), units, depth)
        inputs.append(io[0]), outputs.append(io[1])
    model = b.build(inputs, outputs)
    for t in inputs:
        arrays.append(rng.integers(-128, 128, b.tensors[t].shape).astype(np.int8))
    return model, arrays


@pytest.fixture(scope="module")
def emu_cache(pytestconfig):
    return pytestconfig.cache.mkdir("arielml_emulator")


@pytest.fixture(scope="module")
def layers():
    model_bytes, inputs = random_layers_model(7_700)
    graph = verify(parse_tflite(model_bytes))
    return graph, inputs, run_reference(graph, inputs, prepare_all(graph, LITERT))


@pytest.mark.cross
@needs_cross
@pytest.mark.parametrize("board,cores", [("rp2350-riscv", 1), ("rp2350-riscv", 2), ("rp2350-mixed", 2)])
def test_random_int8_layers_on_hazard3_match_the_reference(layers, board, cores, emu_cache):
    graph, inputs, expected = layers
    run = run_emulated(arielml.Model(graph), inputs, board, cores, cache_dir=emu_cache)
    for i, (got, want) in enumerate(zip(run.outputs, expected)):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want), f"{board} x{cores}: layer {i}: {(got != want).sum()} of {got.size} differ"


@pytest.mark.cross
@needs_cross
def test_vww_on_two_hazard3_cores_is_bit_exact(emu_cache):
    model = arielml.load(ZOO / "mlcommons_tiny" / "vww_96_int8.tflite")
    inputs = model.random_inputs(3)
    run = run_emulated(model, inputs, "rp2350-riscv", 2, cache_dir=emu_cache)
    for got, want in zip(run.outputs, model.run(inputs)):
        assert np.array_equal(got, want)
