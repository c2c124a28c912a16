"""TFLite Micro's Signal library, the audio front end's per-channel stages (custom operators with
flexbuffer options; LiteRT has none of them, TFLite Micro's kernels in signal/src/ are the
reference, reproduced bit for bit in their integer arithmetic):

- SignalWindow: int16 x int16 window (1-D, repeated along the flattened input), shifted right
  (arithmetic) and saturated to int16.
- SignalFftAutoScale: int16 [n] -> int16 [n] shifted left by s and the int32 scalar s, where
  s = max(0, 15 - msb(max |x|)). TFLite Micro's max |x| is an int16 running maximum: -32768 turns it
  into -32768 (negation wraps), after which any larger value replaces it; msb of a negative int16
  is 32 (the value is taken as uint32). Reproduced as is. One work item (a reduction before the
  scaling; 480 values in the micro_speech front end).
- SignalEnergy: complex int16 spectrum [2 m] -> uint32 [m], re^2 + im^2 (wrapping at 2^32) for bins
  [start_index, end_index); TFLite Micro leaves the others unwritten (whatever the buffer held),
  arielml writes 0 there.
- SignalFilterBank: uint32 spectrum -> uint64 [channels]: triangular filters given by five int16
  constant tables (weights, unweights, and per channel + 1: frequency start, weight start, width);
  output channel c = sum of weights over band c + 1 plus unweights over band c (TFLite Micro's
  channel 0 is scratch), all modulo 2^64 (int16 weights are sign-extended to uint64, as in C).
- SignalFilterBankSquareRoot: uint64 -> uint32, TFLite Micro's rounded bitwise integer square root
  (Sqrt32 below 2^32, whose result is uint16, Sqrt64 above), shifted right by the int32 scalar
  input (taken modulo 32, as the x86 build's shift instruction does: a shift >= 32 is undefined in C).
- SignalFilterBankSpectralSubtraction: uint32 -> uint32 and the noise estimate (uint32) it keeps
  from one invocation to the next (TFLite Micro's persistent buffer: here a hidden variable tensor,
  see OpDef.internal_state, starting at 0 like TFLite Micro's reset), per channel with even/odd
  smoothing coefficients, 64-bit products.
- SignalPCAN: per-channel automatic gain control: a gain from the noise estimate through the
  piecewise-quadratic int16 lookup table (125 entries), snr = (x * gain) >> snr_shift, then the
  x^2 / 4 or x - 1 shrink with 12 SNR bits and 6 output bits.
- SignalFilterBankLog: uint32 -> int16, (x << input_correction_bits) through TFLite Micro's
  fixed-point natural log (a 129-segment log2 correction table, here generated from its defining
  formula round(2^16 (log2(1 + k/128) - k/128))), times output_scale / 2^16, saturated at 32767.

Work items: element or channel ranges (every output value depends on its own input values only);
FftAutoScale is one item."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.ir import Graph, Node
from arielml.ops.registry import OpDef, Semantics, register, unsupported

# values per work item: window and energy see hundreds of samples; the per-channel stages about 40
# channels, whose costs vary with the values (the square root's 64-bit path), so finer items there
CHUNK = {"SIGNAL_WINDOW": 16, "SIGNAL_ENERGY": 16}
CHANNEL_CHUNK = 4
U32, U64 = (1 << 32) - 1, (1 << 64) - 1
PCAN_SNR_BITS, PCAN_OUTPUT_BITS = 12, 6
PCAN_LUT_SIZE = 125  # the table is read up to index 4 * 32 - 6 + 2
LOG_SEGMENTS_LOG2, LOG_SCALE_LOG2, LOG_COEFF = 7, 16, 45426  # LOG_COEFF = round(2^16 ln 2)
# log2(1 + f) - f in 2^-16 units at the 128 segment starts, then the end point (0) twice (the
# interpolation reads segment + 1)
LOG_LUT = tuple(round(65536 * (math.log2(1 + k / 128) - k / 128)) for k in range(129)) + (0,)


@dataclass(frozen=True)
class WindowOptions:
    shift: int = 0


@dataclass(frozen=True)
class EnergyOptions:
    end_index: int = 0
    start_index: int = 0


@dataclass(frozen=True)
class FilterBankOptions:
    num_channels: int = 0


@dataclass(frozen=True)
class SpectralSubtractionOptions:
    alternate_one_minus_smoothing: int = 0
    alternate_smoothing: int = 0
    clamping: bool = False
    min_signal_remaining: int = 0
    num_channels: int = 0
    one_minus_smoothing: int = 0
    smoothing: int = 0
    smoothing_bits: int = 0
    spectral_subtraction_bits: int = 0


@dataclass(frozen=True)
class PcanOptions:
    snr_shift: int = 0


@dataclass(frozen=True)
class FilterBankLogOptions:
    input_correction_bits: int = 0
    output_scale: int = 0


@dataclass(frozen=True)
class NoOptions:
    pass


@dataclass(frozen=True)
class SignalParams:
    """Everything the stages need (each reads its own fields); mirrors the C struct."""

    count: int  # values (window, energy: bins) or channels
    period: int = 0  # window length
    shift: int = 0
    start: int = 0
    end: int = 0
    options: object = None
    tables: tuple = ()  # filter bank: the five int16 tables


def _t(node: Node, graph: Graph, k: int, output: bool = False):
    return graph.tensors[(node.outputs if output else node.inputs)[k]]


def _require(node: Node, cond: bool, why: str) -> None:
    if not cond:
        raise unsupported(node, why)


def _dtypes(node: Node, graph: Graph, inputs: tuple, outputs: tuple) -> None:
    have_in = tuple(_t(node, graph, k).dtype for k in range(len(inputs)))
    have_out = tuple(_t(node, graph, k, True).dtype for k in range(len(outputs)))
    _require(node, have_in == inputs and have_out == outputs,
             f"dtypes (inputs {', '.join(have_in)}; outputs {', '.join(have_out)}) are not TFLite Micro's "
             f"(inputs {', '.join(inputs)}; outputs {', '.join(outputs)})")


def _count(node: Node, graph: Graph) -> int:
    return _t(node, graph, 0).num_elements


def _chunks(node: Node, graph: Graph) -> int:
    return max(1, -(-_out_count(node, graph) // CHUNK.get(node.op, CHANNEL_CHUNK)))


def _out_count(node: Node, graph: Graph) -> int:
    return _t(node, graph, 0, True).num_elements


def _call(kernel: str, node: Node, p: SignalParams, fields: list, buffers: tuple) -> KernelCall:
    chunk = CHUNK.get(node.op, CHANNEL_CHUNK)
    return KernelCall(kernel, "ariel_signal_params", tuple([("count", p.count), ("chunk", chunk)] + fields),
                      buffers, "signal_frontend.c")


def _io(node: Node) -> tuple:
    return tuple(node.inputs) + tuple(node.outputs)


def _same_shape(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [tuple(_t(node, graph, 0).shape)]


def _channels_shape(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [(_count(node, graph),)]


# ------------------------------------------------------------------------------- Window

def _window_check(node: Node, graph: Graph) -> None:
    _dtypes(node, graph, ("int16", "int16"), ("int16",))
    w = _t(node, graph, 1)
    _require(node, len(w.shape) == 1 and w.shape[0] > 0 and _count(node, graph) % w.shape[0] == 0,
             f"the window {w.shape} must be 1-D and divide the input's {_count(node, graph)} values")
    _require(node, 0 <= node.options.shift < 32, f"shift {node.options.shift} must be in 0..31")


def _window_prepare(node: Node, graph: Graph, semantics: Semantics) -> SignalParams:
    return SignalParams(count=_count(node, graph), period=_t(node, graph, 1).shape[0], shift=node.options.shift)


def _window_evaluate(p: SignalParams, inputs: list) -> list:
    x, w = inputs
    raw = (x.reshape(-1, p.period).astype(np.int64) * w.astype(np.int64)) >> p.shift
    return [np.clip(raw, -32768, 32767).astype(np.int16).reshape(x.shape)]


def _window_lower(node: Node, graph: Graph, p: SignalParams) -> KernelCall:
    return _call("ariel_signal_window", node, p, [("period", p.period), ("shift", p.shift)], _io(node))


SIGNAL_WINDOW = register(OpDef(
    name="SIGNAL_WINDOW", custom_code="SignalWindow", tflite_options="flexbuffers", options_type=WindowOptions,
    check=_window_check, infer_shapes=_same_shape, prepare=_window_prepare, evaluate=_window_evaluate,
    macs=_count, work_items=_chunks, lower=_window_lower, num_inputs=(2, 2), num_outputs=(1, 1)))


# ------------------------------------------------------------------------------- FftAutoScale

def msb32(x: int) -> int:
    """TFLite Micro's MostSignificantBit32 in its GCC build: bit length, 32 for 0."""
    x &= U32
    return x.bit_length() if x else 32


def _auto_scale_check(node: Node, graph: Graph) -> None:
    _dtypes(node, graph, ("int16",), ("int16", "int32"))
    _require(node, len(_t(node, graph, 0).shape) == 1, "the input must be 1-D")


def _auto_scale_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [tuple(_t(node, graph, 0).shape), ()]


def _auto_scale_prepare(node: Node, graph: Graph, semantics: Semantics) -> SignalParams:
    return SignalParams(count=_count(node, graph))


def _auto_scale_evaluate(p: SignalParams, inputs: list) -> list:
    x = inputs[0]
    peak = 0  # an int16 running maximum of |x|, as TFLite Micro's MaxAbs16 keeps it
    for v in x.tolist():
        if v > peak:
            peak = v
        elif -v > peak:
            peak = int(np.int16(np.int32(-v)))  # -(-32768) wraps back to -32768
    bits = max(0, 15 - msb32(peak))
    out = ((x.astype(np.int64) * (1 << bits) + 32768) & 0xFFFF) - 32768
    return [out.astype(np.int16), np.array(bits, dtype=np.int32)]


def _auto_scale_lower(node: Node, graph: Graph, p: SignalParams) -> KernelCall:
    return _call("ariel_signal_fft_auto_scale", node, p, [], _io(node))


SIGNAL_FFT_AUTO_SCALE = register(OpDef(
    name="SIGNAL_FFT_AUTO_SCALE", custom_code="SignalFftAutoScale", tflite_options="flexbuffers",
    options_type=NoOptions, check=_auto_scale_check, infer_shapes=_auto_scale_shapes, prepare=_auto_scale_prepare,
    evaluate=_auto_scale_evaluate, macs=_count, work_items=None, lower=_auto_scale_lower, num_inputs=(1, 1),
    num_outputs=(2, 2)))


# ------------------------------------------------------------------------------- Energy

def _energy_check(node: Node, graph: Graph) -> None:
    _dtypes(node, graph, ("int16",), ("uint32",))
    x, o = node.options, _t(node, graph, 0)
    _require(node, len(o.shape) == 1 and o.shape[0] % 2 == 0, f"the input {o.shape} must be 1-D (re, im) pairs")
    _require(node, 0 <= x.start_index <= x.end_index <= o.shape[0] // 2,
             f"bins [{x.start_index}, {x.end_index}) must lie in the {o.shape[0] // 2} complex values")


def _energy_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [(_count(node, graph) // 2,)]


def _energy_prepare(node: Node, graph: Graph, semantics: Semantics) -> SignalParams:
    return SignalParams(count=_count(node, graph) // 2, start=node.options.start_index, end=node.options.end_index)


def _energy_evaluate(p: SignalParams, inputs: list) -> list:
    pairs = inputs[0].reshape(-1, 2).astype(np.int64)
    out = np.zeros(p.count, dtype=np.uint32)
    band = pairs[p.start:p.end]
    out[p.start:p.end] = ((band[:, 0] * band[:, 0] + band[:, 1] * band[:, 1]) & U32).astype(np.uint32)
    return [out]


def _energy_lower(node: Node, graph: Graph, p: SignalParams) -> KernelCall:
    return _call("ariel_signal_energy", node, p, [("start", p.start), ("end", p.end)], _io(node))


SIGNAL_ENERGY = register(OpDef(
    name="SIGNAL_ENERGY", custom_code="SignalEnergy", tflite_options="flexbuffers", options_type=EnergyOptions,
    check=_energy_check, infer_shapes=_energy_shapes, prepare=_energy_prepare, evaluate=_energy_evaluate,
    macs=_count, work_items=_chunks, lower=_energy_lower, num_inputs=(1, 1), num_outputs=(1, 1)))


# ------------------------------------------------------------------------------- FilterBank

def _filter_bank_check(node: Node, graph: Graph) -> None:
    _dtypes(node, graph, ("uint32",) + ("int16",) * 5, ("uint64",))
    channels = node.options.num_channels
    tables = [_t(node, graph, k) for k in range(1, 6)]
    _require(node, all(t.is_constant for t in tables), "the weight and band tables must be constant")
    _require(node, channels >= 1 and all(t.num_elements == channels + 1 for t in tables[2:]),
             f"the band tables must hold num_channels + 1 = {channels + 1} values")
    _require(node, _t(node, graph, 0, True).num_elements == channels, f"the output must hold {channels} values")
    freq, wstart, width = (t.data.astype(np.int64).ravel() for t in tables[2:])
    bins, weights = _count(node, graph), min(tables[0].num_elements, tables[1].num_elements)
    _require(node, bool(np.all(width >= 0) and np.all(freq >= 0) and np.all(wstart >= 0)
                        and np.all(freq + width <= bins) and np.all(wstart + width <= weights)),
             "a channel's band reaches past the spectrum or the weight tables")


def _filter_bank_prepare(node: Node, graph: Graph, semantics: Semantics) -> SignalParams:
    tables = tuple(_t(node, graph, k).data.astype(np.int64).ravel() for k in range(1, 6))
    return SignalParams(count=node.options.num_channels, tables=tables)


def _filter_bank_evaluate(p: SignalParams, inputs: list) -> list:
    spectrum = [int(v) for v in inputs[0]]
    weights, unweights, freq, wstart, width = p.tables

    def band(table, c: int) -> int:
        return sum(int(table[wstart[c] + j]) * spectrum[freq[c] + j] for j in range(width[c]))
    out = [(band(weights, c + 1) + band(unweights, c)) & U64 for c in range(p.count)]
    return [np.array(out, dtype=np.uint64)]


def _filter_bank_macs(node: Node, graph: Graph) -> int:
    width = _t(node, graph, 5)
    return 2 * int(width.data.astype(np.int64).sum()) if width.is_constant else _count(node, graph)


def _filter_bank_lower(node: Node, graph: Graph, p: SignalParams) -> KernelCall:
    return KernelCall("ariel_signal_filter_bank", "ariel_signal_params", (("count", p.count), ("chunk", 1)),
                      _io(node), "signal_frontend.c")


SIGNAL_FILTER_BANK = register(OpDef(
    name="SIGNAL_FILTER_BANK", custom_code="SignalFilterBank", tflite_options="flexbuffers",
    options_type=FilterBankOptions, check=_filter_bank_check,
    infer_shapes=lambda node, graph: [(node.options.num_channels,)], prepare=_filter_bank_prepare,
    evaluate=_filter_bank_evaluate, macs=_filter_bank_macs, work_items=lambda node, graph: node.options.num_channels,
    lower=_filter_bank_lower, num_inputs=(6, 6), num_outputs=(1, 1)))


# ------------------------------------------------------------------------------- FilterBankSquareRoot

def _sqrt(num: int, bits: int) -> int:
    """TFLite Micro's Sqrt32 / Sqrt64: bit-by-bit square root from the highest even bit, rounded up
    when the remainder exceeds the root (unless the root is all ones)."""
    if num == 0:
        return 0
    top = bits - 1
    start = (bits - num.bit_length()) | 1
    bit = 1 << (top - start)
    res = 0
    for _ in range((top - start) // 2 + 1):
        if num >= res + bit:
            num -= res + bit
            res = (res >> 1) + bit
        else:
            res >>= 1
        bit >>= 2
    if num > res and res != (1 << (bits // 2)) - 1:
        res += 1
    return res


def sqrt64(num: int) -> int:
    return _sqrt(num, 32) if num >> 32 == 0 else _sqrt(num, 64) & U32


def _sqrt_check(node: Node, graph: Graph) -> None:
    _dtypes(node, graph, ("uint64", "int32"), ("uint32",))
    _require(node, _t(node, graph, 1).num_elements == 1, "scale_bits must be one int32 value")


def _sqrt_evaluate(p: SignalParams, inputs: list) -> list:
    shift = int(inputs[1].reshape(-1)[0]) & 31
    return [np.array([sqrt64(int(v)) >> shift for v in inputs[0]], dtype=np.uint32)]


def _sqrt_lower(node: Node, graph: Graph, p: SignalParams) -> KernelCall:
    return _call("ariel_signal_filter_bank_sqrt", node, p, [], _io(node))


SIGNAL_FILTER_BANK_SQUARE_ROOT = register(OpDef(
    name="SIGNAL_FILTER_BANK_SQUARE_ROOT", custom_code="SignalFilterBankSquareRoot", tflite_options="flexbuffers",
    options_type=NoOptions, check=_sqrt_check, infer_shapes=_channels_shape,
    prepare=lambda node, graph, semantics: SignalParams(count=_count(node, graph)), evaluate=_sqrt_evaluate,
    macs=_count, work_items=_chunks, lower=_sqrt_lower, num_inputs=(2, 2), num_outputs=(1, 1)))


# ------------------------------------------------------------------------------- FilterBankSpectralSubtraction

NOISE_STATE = 1  # the hidden noise-estimate variable, appended after the input


def _subtraction_check(node: Node, graph: Graph) -> None:
    _dtypes(node, graph, ("uint32", "uint32"), ("uint32", "uint32"))
    o = node.options
    _require(node, o.num_channels == _count(node, graph), f"num_channels {o.num_channels} must equal the input's "
                                                          f"{_count(node, graph)} values")
    _require(node, 0 <= o.smoothing_bits < 32 and 0 <= o.spectral_subtraction_bits < 64,
             "smoothing_bits must be in 0..31 and spectral_subtraction_bits in 0..63")


def _subtraction_state(node: Node, graph: Graph) -> list:
    return [((_count(node, graph),), "uint32")]


def _subtraction_evaluate(p: SignalParams, inputs: list) -> list:
    o = p.options
    out, noise = [], []
    for i, (x, estimate) in enumerate(zip(inputs[0].tolist(), inputs[NOISE_STATE].tolist())):
        smoothing, keep = ((o.smoothing, o.one_minus_smoothing) if i % 2 == 0 else
                           (o.alternate_smoothing, o.alternate_one_minus_smoothing))
        scaled = (x << o.smoothing_bits) & U32
        estimate = ((((scaled * (smoothing & U32)) + (estimate * (keep & U32))) & U64)
                    >> o.spectral_subtraction_bits) & U32
        subtract = estimate
        if subtract > scaled:
            subtract = scaled
            if o.clamping:
                estimate = scaled
        floor = ((x * (o.min_signal_remaining & U32)) >> o.spectral_subtraction_bits) & U32
        out.append(max((scaled - subtract) >> o.smoothing_bits, floor))
        noise.append(estimate)
    noise_array = np.array(noise, dtype=np.uint32)
    return [np.array(out, dtype=np.uint32), noise_array, noise_array.copy()]


def _subtraction_lower(node: Node, graph: Graph, p: SignalParams) -> KernelCall:
    o = p.options
    fields = [("smoothing", o.smoothing & U32), ("one_minus_smoothing", o.one_minus_smoothing & U32),
              ("alternate_smoothing", o.alternate_smoothing & U32),
              ("alternate_one_minus_smoothing", o.alternate_one_minus_smoothing & U32),
              ("min_signal_remaining", o.min_signal_remaining & U32), ("smoothing_bits", o.smoothing_bits),
              ("shift", o.spectral_subtraction_bits), ("clamping", int(o.clamping))]
    return _call("ariel_signal_spectral_subtraction", node, p, fields, _io(node))


SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION = register(OpDef(
    name="SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION", custom_code="SignalFilterBankSpectralSubtraction",
    tflite_options="flexbuffers", options_type=SpectralSubtractionOptions, check=_subtraction_check,
    infer_shapes=lambda node, graph: _channels_shape(node, graph) * 2,
    prepare=lambda node, graph, semantics: SignalParams(count=_count(node, graph), options=node.options),
    evaluate=_subtraction_evaluate, macs=lambda node, graph: 3 * _count(node, graph), work_items=_chunks,
    lower=_subtraction_lower, num_inputs=(2, 2), num_outputs=(2, 2), state_inputs=(NOISE_STATE,),
    internal_state=_subtraction_state))


# ------------------------------------------------------------------------------- PCAN

def _pcan_check(node: Node, graph: Graph) -> None:
    _dtypes(node, graph, ("uint32", "uint32", "int16"), ("uint32",))
    _require(node, _t(node, graph, 1).num_elements == _count(node, graph),
             "the noise estimate must hold one value per channel")
    _require(node, _t(node, graph, 2).num_elements >= PCAN_LUT_SIZE,
             f"the gain table must hold at least {PCAN_LUT_SIZE} values (TFLite Micro reads up to index 124)")
    _require(node, 0 <= node.options.snr_shift < 64, f"snr_shift {node.options.snr_shift} must be in 0..63")


def wide_dynamic_gain(x: int, lut) -> int:
    """TFLite Micro's WideDynamicFunction: int16 gain for noise estimate x (C int32 wrapping)."""
    if x <= 2:
        return int(lut[x])
    interval = msb32(x)
    base = 4 * interval - 6
    frac = ((x << (11 - interval)) if interval < 11 else (x >> (interval - 11))) & 0x3FF
    result = (int(lut[base + 2]) * frac) >> 5
    result = _i32(result + _i32((int(lut[base + 1]) & U32) << 5))
    result = _i32(result * frac)
    result = _i32(result + (1 << 14)) >> 15
    return ((result + int(lut[base]) + 32768) & 0xFFFF) - 32768  # the int16 return value


def _i32(v: int) -> int:
    return ((v + (1 << 31)) & U32) - (1 << 31)


def pcan_shrink(x: int) -> int:
    if x < (2 << PCAN_SNR_BITS):
        return ((x * x) & U32) >> (2 + 2 * PCAN_SNR_BITS - PCAN_OUTPUT_BITS)
    return (x >> (PCAN_SNR_BITS - PCAN_OUTPUT_BITS)) - (1 << PCAN_OUTPUT_BITS)


def _pcan_evaluate(p: SignalParams, inputs: list) -> list:
    x, noise, lut = inputs
    lut = lut.reshape(-1).tolist()
    out = []
    for v, n in zip(x.tolist(), noise.tolist()):
        gain = wide_dynamic_gain(n, lut) & U32  # int16 -> uint32 sign-extends
        out.append(pcan_shrink(((v * gain) >> p.shift) & U32))
    return [np.array(out, dtype=np.uint32)]


def _pcan_lower(node: Node, graph: Graph, p: SignalParams) -> KernelCall:
    return _call("ariel_signal_pcan", node, p, [("shift", p.shift)], _io(node))


SIGNAL_PCAN = register(OpDef(
    name="SIGNAL_PCAN", custom_code="SignalPCAN", tflite_options="flexbuffers", options_type=PcanOptions,
    check=_pcan_check, infer_shapes=_channels_shape,
    prepare=lambda node, graph, semantics: SignalParams(count=_count(node, graph), shift=node.options.snr_shift),
    evaluate=_pcan_evaluate, macs=lambda node, graph: 4 * _count(node, graph), work_items=_chunks,
    lower=_pcan_lower, num_inputs=(3, 3), num_outputs=(1, 1)))


# ------------------------------------------------------------------------------- FilterBankLog

def log32(x: int, out_scale: int) -> int:
    """TFLite Micro's Log32: fixed-point ln(x) * out_scale / 2^16, for x >= 2."""
    integer = msb32(x) - 1
    frac = x - (1 << integer)
    frac = frac << (LOG_SCALE_LOG2 - integer) if integer < LOG_SCALE_LOG2 else frac >> (integer - LOG_SCALE_LOG2)
    seg = frac >> (LOG_SCALE_LOG2 - LOG_SEGMENTS_LOG2)
    c0, c1 = LOG_LUT[seg], LOG_LUT[seg + 1]
    rel = ((c1 - c0) * (frac - (seg << (LOG_SCALE_LOG2 - LOG_SEGMENTS_LOG2)))) >> LOG_SCALE_LOG2
    log2 = ((integer << LOG_SCALE_LOG2) + ((frac + c0 + rel) & U32)) & U32
    loge = ((LOG_COEFF * log2 + (1 << 15)) >> LOG_SCALE_LOG2) & U32
    return (((out_scale & U32) * loge + (1 << 15)) & U32) >> LOG_SCALE_LOG2


def _log_check(node: Node, graph: Graph) -> None:
    _dtypes(node, graph, ("uint32",), ("int16",))
    _require(node, 0 <= node.options.input_correction_bits < 32,
             f"input_correction_bits {node.options.input_correction_bits} must be in 0..31")


def _log_evaluate(p: SignalParams, inputs: list) -> list:
    o = p.options
    out = []
    for v in inputs[0].tolist():
        scaled = (v << o.input_correction_bits) & U32
        out.append(min(log32(scaled, o.output_scale), 32767) if scaled > 1 else 0)
    return [np.array(out, dtype=np.int16)]


def _log_lower(node: Node, graph: Graph, p: SignalParams) -> KernelCall:
    o = p.options
    return _call("ariel_signal_filter_bank_log", node, p,
                 [("shift", o.input_correction_bits), ("output_scale", o.output_scale & U32),
                  ("log_table", CArray.of("int16_t", LOG_LUT))], _io(node))


SIGNAL_FILTER_BANK_LOG = register(OpDef(
    name="SIGNAL_FILTER_BANK_LOG", custom_code="SignalFilterBankLog", tflite_options="flexbuffers",
    options_type=FilterBankLogOptions, check=_log_check, infer_shapes=_channels_shape,
    prepare=lambda node, graph, semantics: SignalParams(count=_count(node, graph), options=node.options),
    evaluate=_log_evaluate, macs=lambda node, graph: 4 * _count(node, graph), work_items=_chunks,
    lower=_log_lower, num_inputs=(1, 1), num_outputs=(1, 1)))
