"""TFLite Micro's Signal library FFTs: the custom operators "SignalRfft" (real input -> complex half
spectrum) and "SignalIrfft" (its inverse), as TFLite Micro computes them: with kissfft v130 (the
release TFLite Micro downloads) in its fixed-point (int16, int32) and float32 builds. LiteRT has no
such operators; TFLite Micro's kernels are the reference.

Rfft: the last axis of the input (input_length <= fft_length values) is zero-padded to fft_length,
and each row gives fft_length / 2 + 1 complex values stored as (real, imag) pairs: output last axis
fft_length + 2. The arithmetic is kissfft's real FFT: the fft_length real values are taken as
n = fft_length / 2 complex values (even samples real, odd samples imaginary), transformed by the
mixed-radix complex FFT (radix 4 stages first, then one radix 2 stage), and the two interleaved
spectra separated with the "super twiddles". In the fixed-point builds every butterfly first
divides its inputs by the radix (multiplying by (2^(bits-1) - 1) / radix with rounding), so the
output is the DFT divided by fft_length (what keeps int16 from overflowing); products round half up
((x + 2^(b-2)) >> (b-1)) and sums wrap at the scalar width, as kissfft's C does. Twiddles are
floor(0.5 + (2^(bits-1) - 1) * cos(phase)) from double-precision phases (computed here with
Python's math.cos, the same C library function; the C kernel receives them as constant tables).

Irfft: the inverse, [..., fft_length + 2] (fft_length / 2 + 1 complex values) -> [..., fft_length]
real values, kissfft's kiss_fftri (the half spectrum recombined into n complex values with the
conjugate super twiddles, then the inverse complex FFT). Unnormalised in the fixed-point builds (the
per-butterfly divisions already scale by 1 / n); TFLite Micro divides the float32 output by
fft_length.

Only power-of-two fft_length >= 4 is supported (kissfft's radix 4 and 2 butterflies; its radix 3,
5 and generic ones are not reproduced): others are refused by name.

Work items: the input's rows (the FFT of one row is a recursive sequence of butterfly stages whose
every stage needs the previous one's whole output, so one row stays on one core; TFLite Micro's
audio front end transforms one row per invocation, so its FFT runs single-core)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.ir import Graph, Node
from arielml.ops.registry import OpDef, Semantics, register, unsupported

FFT_DTYPES = ("int16", "int32", "float32")
SCALAR_BITS = {"int16": 16, "int32": 32}


@dataclass(frozen=True)
class RfftOptions:
    fft_length: int = 0
    T: int = 0  # the schema's tensor type code (TFLite Micro picks the kernel by it)


@dataclass(frozen=True)
class FftTables:
    """kissfft's precomputed state for a real FFT of fft_length = 2 n."""

    dtype: str
    n: int  # the complex FFT's length
    factors: tuple[tuple[int, int], ...]  # (radix, remaining length) per stage, outermost first
    twiddles: np.ndarray  # [n, 2]: (cos, sin) of -2 pi k / n (inverse: +)
    super_twiddles: np.ndarray  # [n / 2, 2]: phase -pi ((k + 1) / n + 1/2) (inverse: +)


def factorize(n: int) -> tuple[tuple[int, int], ...]:
    """kissfft's kf_factor for powers of two: radix 4 while it divides, then a final radix 2."""
    stages = []
    while n > 1:
        p = 4 if n % 4 == 0 else 2
        n //= p
        stages.append((p, n))
    return tuple(stages)


def fft_tables(fft_length: int, dtype: str, inverse: bool = False) -> FftTables:
    n = fft_length // 2

    def cexp(phase: float) -> tuple:
        if dtype == "float32":
            return float(np.float32(math.cos(phase))), float(np.float32(math.sin(phase)))
        top = (1 << (SCALAR_BITS[dtype] - 1)) - 1
        return math.floor(0.5 + top * math.cos(phase)), math.floor(0.5 + top * math.sin(phase))
    flip = -1.0 if inverse else 1.0  # kissfft negates the phase for an inverse transform
    np_type = np.float32 if dtype == "float32" else np.int64
    # the phases in kissfft's double operation order: -2 * pi * k / n, -pi * ((k + 1) / n + .5)
    twiddles = np.array([cexp((-2 * math.pi * k / n) * flip) for k in range(n)], dtype=np_type).reshape(n, 2)
    supers = np.array([cexp((-math.pi * ((k + 1) / n + .5)) * flip) for k in range(n // 2)],
                      dtype=np_type).reshape(n // 2, 2)
    return FftTables(dtype, n, factorize(n), twiddles, supers)


class _Arith:
    """kissfft's scalar arithmetic for one build: wrapping int16/int32 with rounded fixed-point
    products, or float32."""

    def __init__(self, dtype: str):
        self.float = dtype == "float32"
        if not self.float:
            self.bits = SCALAR_BITS[dtype]
            self.frac = self.bits - 1
            self.top = (1 << self.frac) - 1

    def wrap(self, x):
        if self.float:
            return x.astype(np.float32)
        half = 1 << (self.bits - 1)
        return ((x + half) & ((1 << self.bits) - 1)) - half

    def wrap_int(self, x):
        """a C int (32-bit) result: the int16 build's sums are promoted to int and do not wrap"""
        if self.float:
            return x.astype(np.float32)
        return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)

    def sround(self, x):
        return self.wrap((x + (1 << (self.frac - 1))) >> self.frac)

    def fixdiv(self, c, radix: int):
        if self.float:
            return c
        k = self.top // radix
        return self.sround(c[0] * k), self.sround(c[1] * k)

    def cmul(self, a, b):
        if self.float:
            f = np.float32
            return ((a[0] * b[0]).astype(f) - (a[1] * b[1]).astype(f)).astype(f), \
                   ((a[0] * b[1]).astype(f) + (a[1] * b[0]).astype(f)).astype(f)
        return self.sround(a[0] * b[0] - a[1] * b[1]), self.sround(a[0] * b[1] + a[1] * b[0])

    def add(self, a, b):
        return self.wrap(a[0] + b[0]), self.wrap(a[1] + b[1])

    def sub(self, a, b):
        return self.wrap(a[0] - b[0]), self.wrap(a[1] - b[1])

    def half(self, x):
        if self.float:
            return (x * np.float32(0.5)).astype(np.float32)
        return self.wrap(self.wrap_int(x) >> 1)


def _butterflies(ar: _Arith, re, im, offset: int, fstride: int, radix: int, m: int, t: FftTables, inverse: bool):
    """One kf_bfly2 / kf_bfly4 call on re/im[offset: offset + radix m] (vectorised over its m
    independent positions; kissfft's loop has no dependence between them)."""
    k = np.arange(m)
    seg = [slice(offset + j * m, offset + (j + 1) * m) for j in range(radix)]
    tw = [(t.twiddles[(j * fstride * k), 0], t.twiddles[(j * fstride * k), 1]) for j in range(radix)]
    f = [ar.fixdiv((re[s], im[s]), radix) for s in seg]
    if radix == 2:
        tt = ar.cmul(f[1], tw[1])
        re[seg[1]], im[seg[1]] = ar.sub(f[0], tt)
        re[seg[0]], im[seg[0]] = ar.add(f[0], tt)
        return
    s0, s1, s2 = ar.cmul(f[1], tw[1]), ar.cmul(f[2], tw[2]), ar.cmul(f[3], tw[3])
    s5 = ar.sub(f[0], s1)
    f0 = ar.add(f[0], s1)
    s3, s4 = ar.add(s0, s2), ar.sub(s0, s2)
    re[seg[2]], im[seg[2]] = ar.sub(f0, s3)
    re[seg[0]], im[seg[0]] = ar.add(f0, s3)
    if inverse:
        re[seg[1]], im[seg[1]] = ar.wrap(s5[0] - s4[1]), ar.wrap(s5[1] + s4[0])
        re[seg[3]], im[seg[3]] = ar.wrap(s5[0] + s4[1]), ar.wrap(s5[1] - s4[0])
    else:
        re[seg[1]], im[seg[1]] = ar.wrap(s5[0] + s4[1]), ar.wrap(s5[1] - s4[0])
        re[seg[3]], im[seg[3]] = ar.wrap(s5[0] - s4[1]), ar.wrap(s5[1] + s4[0])


def complex_fft(ar: _Arith, xr, xi, t: FftTables, inverse: bool = False):
    """kissfft's kf_work: decimation in time by recursion, then the stage's butterflies."""
    re = np.zeros(t.n, dtype=xr.dtype)
    im = np.zeros(t.n, dtype=xr.dtype)

    def work(out: int, first: int, fstride: int, stage: int) -> None:
        p, m = t.factors[stage]
        if m == 1:
            idx = first + fstride * np.arange(p)
            re[out:out + p], im[out:out + p] = xr[idx], xi[idx]
        else:
            for j in range(p):
                work(out + j * m, first + j * fstride, fstride * p, stage + 1)
        _butterflies(ar, re, im, out, fstride, p, m, t, inverse)
    work(0, 0, 1, 0)
    return re, im


def rfft_row(x: np.ndarray, t: FftTables) -> np.ndarray:
    """kiss_fftr of one zero-padded row: [2 n] -> [(n + 1) * 2] (real, imag pairs)."""
    ar = _Arith(t.dtype)
    work = x.astype(np.float32 if ar.float else np.int64)
    tr, ti = complex_fft(ar, work[0::2], work[1::2], t)
    n = t.n
    out = np.zeros((n + 1, 2), dtype=work.dtype)
    dc = ar.fixdiv((tr[0:1], ti[0:1]), 2)
    out[0, 0] = ar.wrap(dc[0] + dc[1])[0]
    out[n, 0] = ar.wrap(dc[0] - dc[1])[0]
    k = np.arange(1, n // 2 + 1)
    fpk = ar.fixdiv((tr[k], ti[k]), 2)
    fpnk = ar.fixdiv((tr[n - k], ar.wrap(-ti[n - k])), 2)
    f1k, f2k = ar.add(fpk, fpnk), ar.sub(fpk, fpnk)
    tw = ar.cmul(f2k, (t.super_twiddles[k - 1, 0], t.super_twiddles[k - 1, 1]))
    out[k, 0], out[k, 1] = ar.half(f1k[0] + tw[0]), ar.half(f1k[1] + tw[1])
    # k = n / 2 is its own mirror: this second write wins, as in kissfft's loop
    out[n - k, 0], out[n - k, 1] = ar.half(f1k[0] - tw[0]), ar.half(tw[1] - f1k[1])
    return out.reshape(-1)


# ---------------------------------------------------------------- SignalRfft

@dataclass(frozen=True)
class RfftParams:
    dtype: str
    rows: int
    input_length: int
    fft_length: int
    tables: FftTables


def _rfft_check(node: Node, graph: Graph) -> None:
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    n = node.options.fft_length
    if x.dtype not in FFT_DTYPES or out.dtype != x.dtype:
        raise unsupported(node, f"input {x.dtype} / output {out.dtype}: TFLite Micro's RFFT takes int16, int32 or "
                                "float32, the same in and out")
    if n < 4 or n & (n - 1):
        raise unsupported(node, f"fft_length {n} is not a power of two >= 4 (kissfft's radix 3, 5 and generic "
                                "butterflies are not implemented)")
    if not x.shape or x.shape[-1] > n:
        raise unsupported(node, f"input {x.shape}: the last axis must hold at most fft_length = {n} samples")


def _rfft_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    x = graph.tensors[node.inputs[0]]
    return [tuple(x.shape[:-1]) + (node.options.fft_length + 2,)]


def _rfft_prepare(node: Node, graph: Graph, semantics: Semantics) -> RfftParams:
    x = graph.tensors[node.inputs[0]]
    rows = int(np.prod(x.shape[:-1], dtype=np.int64))
    n = node.options.fft_length
    return RfftParams(x.dtype, rows, x.shape[-1], n, fft_tables(n, x.dtype))


def _rfft_evaluate(p: RfftParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0].reshape(p.rows, p.input_length)
    out = np.zeros((p.rows, p.fft_length + 2), dtype=inputs[0].dtype)
    for r in range(p.rows):
        padded = np.zeros(p.fft_length, dtype=x.dtype)
        padded[:p.input_length] = x[r]
        out[r] = rfft_row(padded, p.tables)
    return [out.reshape(inputs[0].shape[:-1] + (p.fft_length + 2,))]


def _rfft_macs(node: Node, graph: Graph) -> int:
    x = graph.tensors[node.inputs[0]]
    n = node.options.fft_length
    return int(np.prod(x.shape[:-1], dtype=np.int64)) * n * max(1, n.bit_length() - 1)


def _rows(node: Node, graph: Graph) -> int:
    return int(np.prod(graph.tensors[node.inputs[0]].shape[:-1], dtype=np.int64))


KERNEL_SUFFIX = {"int16": "s16", "int32": "s32", "float32": "f32"}
TABLE_CTYPE = {"int16": "int16_t", "int32": "int32_t", "float32": "float"}


def factor_fields(t: FftTables) -> list:
    radices = [p for p, _ in t.factors]
    return [("stages", len(radices)), ("radices", CArray.of("int8_t", radices)),
            ("twiddles", CArray.of(TABLE_CTYPE[t.dtype], t.twiddles.reshape(-1))),
            ("super_twiddles", CArray.of(TABLE_CTYPE[t.dtype], t.super_twiddles.reshape(-1)))]


def _rfft_lower(node: Node, graph: Graph, p: RfftParams) -> KernelCall:
    scalar = np.dtype(p.dtype).itemsize
    fields = [("rows", p.rows), ("input_length", p.input_length), ("fft_length", p.fft_length)]
    fields += factor_fields(p.tables)
    # scratch per core: the zero-padded row and the complex FFT's output (n complex values)
    return KernelCall(f"ariel_signal_rfft_{KERNEL_SUFFIX[p.dtype]}", "ariel_signal_fft_params", tuple(fields),
                      (node.inputs[0], node.outputs[0]), "signal_fft.c", scratch_bytes=2 * p.fft_length * scalar)


SIGNAL_RFFT = register(OpDef(name="SIGNAL_RFFT", custom_code="SignalRfft", tflite_options="flexbuffers",
                             options_type=RfftOptions, check=_rfft_check, infer_shapes=_rfft_shapes,
                             prepare=_rfft_prepare, evaluate=_rfft_evaluate, macs=_rfft_macs, work_items=_rows,
                             lower=_rfft_lower, num_inputs=(1, 1), num_outputs=(1, 1)))


# ---------------------------------------------------------------- SignalIrfft

def irfft_row(spectrum: np.ndarray, t: FftTables) -> np.ndarray:
    """kiss_fftri of one row: [(n + 1) * 2] (real, imag pairs) -> [2 n] real values. kissfft's
    inverse is unnormalised: the fixed-point builds divide by the radix at every butterfly (as the
    forward transform does), TFLite Micro divides the float32 result by fft_length afterwards."""
    ar = _Arith(t.dtype)
    n = t.n
    fd = spectrum.astype(np.float32 if ar.float else np.int64).reshape(n + 1, 2)
    tr = np.zeros(n, dtype=fd.dtype)
    ti = np.zeros(n, dtype=fd.dtype)
    first = ar.fixdiv((ar.wrap(fd[0:1, 0] + fd[n:n + 1, 0]), ar.wrap(fd[0:1, 0] - fd[n:n + 1, 0])), 2)
    tr[0], ti[0] = first[0][0], first[1][0]
    k = np.arange(1, n // 2 + 1)
    fk = ar.fixdiv((fd[k, 0], fd[k, 1]), 2)
    fnkc = ar.fixdiv((fd[n - k, 0], ar.wrap(-fd[n - k, 1])), 2)
    fek, diff = ar.add(fk, fnkc), ar.sub(fk, fnkc)
    fok = ar.cmul(diff, (t.super_twiddles[k - 1, 0], t.super_twiddles[k - 1, 1]))
    tr[k], ti[k] = ar.add(fek, fok)
    low = ar.sub(fek, fok)
    # k = n / 2 is its own mirror: this second write (imaginary part negated) wins, as in kissfft
    tr[n - k], ti[n - k] = low[0], ar.wrap(-low[1])
    re, im = complex_fft(ar, tr, ti, t, inverse=True)
    out = np.stack([re, im], axis=1).reshape(-1)
    if ar.float:  # TFLite Micro's float build divides kissfft's unnormalised output by fft_length
        out = (out / np.float32(2 * n)).astype(np.float32)
    return out


@dataclass(frozen=True)
class IrfftParams:
    dtype: str
    rows: int
    fft_length: int
    tables: FftTables


def _irfft_check(node: Node, graph: Graph) -> None:
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    n = node.options.fft_length
    if x.dtype not in FFT_DTYPES or out.dtype != x.dtype:
        raise unsupported(node, f"input {x.dtype} / output {out.dtype}: TFLite Micro's IRFFT takes int16, int32 or "
                                "float32, the same in and out")
    if n < 4 or n & (n - 1):
        raise unsupported(node, f"fft_length {n} is not a power of two >= 4 (kissfft's radix 3, 5 and generic "
                                "butterflies are not implemented)")
    if not x.shape or x.shape[-1] != n + 2:
        raise unsupported(node, f"input {x.shape}: the last axis must hold fft_length / 2 + 1 = {n // 2 + 1} "
                                "complex values (real, imag pairs)")


def _irfft_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    x = graph.tensors[node.inputs[0]]
    return [tuple(x.shape[:-1]) + (node.options.fft_length,)]


def _irfft_prepare(node: Node, graph: Graph, semantics: Semantics) -> IrfftParams:
    x = graph.tensors[node.inputs[0]]
    n = node.options.fft_length
    return IrfftParams(x.dtype, _rows(node, graph), n, fft_tables(n, x.dtype, inverse=True))


def _irfft_evaluate(p: IrfftParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0].reshape(p.rows, p.fft_length + 2)
    out = np.stack([irfft_row(x[r], p.tables) for r in range(p.rows)]).astype(inputs[0].dtype)
    return [out.reshape(inputs[0].shape[:-1] + (p.fft_length,))]


def _irfft_lower(node: Node, graph: Graph, p: IrfftParams) -> KernelCall:
    scalar = np.dtype(p.dtype).itemsize
    fields = [("rows", p.rows), ("fft_length", p.fft_length)] + factor_fields(p.tables)
    # scratch per core: the packed half-length spectrum (n complex values)
    return KernelCall(f"ariel_signal_irfft_{KERNEL_SUFFIX[p.dtype]}", "ariel_signal_fft_params", tuple(fields),
                      (node.inputs[0], node.outputs[0]), "signal_fft.c", scratch_bytes=p.fft_length * scalar)


SIGNAL_IRFFT = register(OpDef(name="SIGNAL_IRFFT", custom_code="SignalIrfft", tflite_options="flexbuffers",
                              options_type=RfftOptions, check=_irfft_check, infer_shapes=_irfft_shapes,
                              prepare=_irfft_prepare, evaluate=_irfft_evaluate, macs=_rfft_macs, work_items=_rows,
                              lower=_irfft_lower, num_inputs=(1, 1), num_outputs=(1, 1)))
