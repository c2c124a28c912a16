"""ariel_rq_apply (runtime/include/ariel_kernels.h): the 32-bit-only requantisation the int8 kernels
use, against arielml.ops.quant_math on millions of random (accumulator, multiplier, shift) triples,
for both rounding modes, through a small host C harness; the records come from
kernel_support.requant_records, as in the generated code. Plus: the helper compiles for the
Cortex-M0+ without any 64-bit library call. A failing case prints its seed and the triple."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from arielml.ops.kernel_support import requant_records, single_rounding_acc_limit
from arielml.ops.quant_math import DOUBLE_ROUNDING, SINGLE_ROUNDING, multiply_by_quantized_multiplier

INCLUDE = Path(__file__).resolve().parents[1] / "arielml" / "runtime" / "include"
ROWS = 1_500_000  # per rounding mode
SEED = 20_250

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include "ariel_kernels.h"
/* stdin: rows of 6 int32 (acc, multiplier, left, right, nudge, acc_limit); stdout: one int32 each */
int main(void)
{
    static int32_t in[6 * 4096];
    static int32_t out[4096];
    size_t rows;
    while ((rows = fread(in, 6 * sizeof(int32_t), 4096, stdin)) > 0) {
        size_t i;
        for (i = 0; i < rows; i++) {
            const int32_t *r = in + 6 * i;
            const int32_t limit = r[5];
            const int32_t acc = r[0] > limit ? limit : r[0] < ~limit ? ~limit : r[0]; /* as kernels/fully_connected.c */
            out[i] = ariel_rq_apply(acc, r[1], r[2], r[3], r[4]);
        }
        if (fwrite(out, sizeof(int32_t), rows, stdout) != rows) {
            return 1;
        }
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.fail("no host C compiler (gcc) found: install build-essential")
    folder = tmp_path_factory.mktemp("requant")
    (folder / "harness.c").write_text(HARNESS)
    exe = folder / "harness"
    subprocess.run([compiler, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{INCLUDE}", "-o", str(exe),
                    str(folder / "harness.c")], check=True, capture_output=True, text=True)
    return exe


def random_triples(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accumulators: uniform int32, log-uniform magnitudes, and edge values; multipliers: TFLite's
    [2^30, 2^31), anything in [0, 2^31), and special values (powers of two make rounding ties
    frequent); shifts over the whole -31..30 with the common -12..0 weighted up."""
    kind = rng.integers(0, 10, n)
    acc = rng.integers(-(1 << 31), 1 << 31, n, dtype=np.int64)
    magnitude = np.floor(2.0 ** rng.uniform(0, 31, n)).astype(np.int64)
    acc = np.where(kind < 4, acc, np.where(rng.integers(0, 2, n) == 1, magnitude, -magnitude))
    powers = 1 << rng.integers(0, 31, n, dtype=np.int64)
    edges = np.stack([np.zeros(n, np.int64), np.ones(n, np.int64), np.full(n, -(1 << 31)), np.full(n, (1 << 31) - 1),
                      powers, -powers, powers + 1, -powers - 1, powers - 1, 1 - powers], axis=1)
    acc = np.where(kind == 9, edges[np.arange(n), rng.integers(0, edges.shape[1], n)], acc)
    acc = np.clip(acc, -(1 << 31), (1 << 31) - 1)

    mkind = rng.integers(0, 20, n)
    special = np.array([0, 1, 2, 3, 1 << 30, (1 << 30) + 1, (1 << 31) - 1, 3 << 29, (1 << 31) - 2, 1 << 16,
                        (1 << 16) - 1, 0x7FFF0000, 0x40008000], dtype=np.int64)
    multiplier = np.where(mkind < 12, rng.integers(1 << 30, 1 << 31, n, dtype=np.int64),
                          np.where(mkind < 16, rng.integers(0, 1 << 31, n, dtype=np.int64),
                                   special[rng.integers(0, special.size, n)]))
    shift = np.where(rng.integers(0, 2, n) == 1, rng.integers(-31, 31, n), rng.integers(-12, 1, n)).astype(np.int64)
    return acc, multiplier, shift


def run_harness(exe: Path, acc, records, limit) -> np.ndarray:
    rows = np.column_stack([acc, records, limit]).astype(np.int32)
    done = subprocess.run([str(exe)], input=rows.tobytes(), capture_output=True, check=True)
    return np.frombuffer(done.stdout, dtype=np.int32).astype(np.int64)


@pytest.mark.parametrize("rounding", [DOUBLE_ROUNDING, SINGLE_ROUNDING])
def test_rq_apply_matches_quant_math(harness, rounding):
    seed = SEED + (rounding == SINGLE_ROUNDING)
    rng = np.random.default_rng(seed)
    acc, multiplier, shift = random_triples(rng, ROWS)
    if rounding == SINGLE_ROUNDING:  # the clamp rule assumes TFLite's normalised multipliers (or 0)
        multiplier = np.where((shift > 0) & (multiplier < 1 << 30), multiplier | (1 << 30), multiplier)
    records = requant_records(multiplier, shift, rounding)
    # the kernels clamp per op; here per row, with the same rule
    limit = np.array([single_rounding_acc_limit(s, rounding) for s in np.unique(shift)], dtype=np.int64)
    limit = limit[np.searchsorted(np.unique(shift), shift)]
    got = run_harness(harness, acc, records, limit)
    want = multiply_by_quantized_multiplier(acc, multiplier, shift, rounding)
    if rounding == DOUBLE_ROUNDING:
        assert want.min() >= -(1 << 31) and want.max() < (1 << 31)
    # where the kernel clamped the accumulator, only the saturated output has to agree: both results
    # lie beyond +-2^20, far outside every output type's clamp
    clamped = (acc > limit) | (acc < -limit - 1)
    assert np.all(np.abs(want[clamped]) >= 1 << 20) and np.all(np.abs(got[clamped]) >= 1 << 20)
    assert np.array_equal(np.sign(want[clamped]), np.sign(got[clamped]))
    exact = ~clamped
    bad = np.flatnonzero(got[exact] != want[exact])
    if bad.size:
        i = np.flatnonzero(exact)[bad[0]]
        pytest.fail(f"seed {seed}, {rounding} rounding: {bad.size} mismatches; first acc={acc[i]} "
                    f"multiplier={multiplier[i]} shift={shift[i]}: C {got[i]}, numpy {want[i]}")
    assert exact.sum() > 0.75 * ROWS  # the exact comparison covers most rows (single: not the saturated ones)


def test_records_encode_the_rounding_mode():
    records = requant_records(np.array([1 << 30] * 3), np.array([-3, 0, 2]), SINGLE_ROUNDING)
    assert records.tolist() == [[1 << 30, 0, 3, 1 << 15], [1 << 30, 0, 0, 1 << 14], [1 << 30, 2, 0, 1 << 14]]
    assert requant_records([1 << 30], [-3], DOUBLE_ROUNDING).tolist() == [[1 << 30, 0, 3, 1 << 14]]
    with pytest.raises(ValueError):
        requant_records([-5], [0], DOUBLE_ROUNDING)


def test_no_64_bit_library_calls_on_cortex_m0plus(tmp_path):
    """What the M0+ executes: ariel_rq_apply must not call libgcc's 64-bit helpers (__aeabi_lmul,
    __aeabi_llsr, ...): every undefined symbol of the object file would be one."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.fail("arm-none-eabi-gcc is missing: `make test` installs gcc-arm-none-eabi")
    source = tmp_path / "rq.c"
    source.write_text('#include "ariel_kernels.h"\n'
                      "int32_t requant(int32_t acc, const int32_t *r) { return ariel_rq(acc, r); }\n")
    obj = tmp_path / "rq.o"
    subprocess.run([gcc, "-std=c99", "-O2", "-mcpu=cortex-m0plus", "-mthumb", "-ffreestanding", "-Wall", "-Wextra",
                    "-Werror", f"-I{INCLUDE}", "-c", "-o", str(obj), str(source)], check=True, capture_output=True)
    nm = shutil.which("arm-none-eabi-nm")
    undefined = subprocess.run([nm, "-u", str(obj)], check=True, capture_output=True, text=True).stdout.split()
    assert undefined == [], f"ariel_rq_apply calls {undefined} on the Cortex-M0+"
