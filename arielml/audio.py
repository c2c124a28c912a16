"""The micro_speech audio front end, built as an arielml graph from its parameters.

`micro_speech_frontend()` returns the IR Graph that turns one 30 ms frame of 16 kHz int16 audio into
the 40 int8 features of one row of TFLite Micro's micro_speech keyword model (49 rows = 1 s). It is
made of TFLite Micro's Signal operators (arielml/ops/signal_*.py) and a few builtins:

    window (Hann, 2^12) -> FFT auto-scale -> 512-point real FFT -> energy of bins [start, end)
    -> zero the bins outside [start, end) -> 40-channel mel filter bank -> square root (undoing the
    auto-scale) -> spectral subtraction (noise estimate, kept between frames) -> PCAN gain control
    -> log -> int8 feature = clamp((feature * 256 + 333) / 666 - 128)

Every constant is computed here from its defining formula: the Hann window, the filter bank's
channel bands and triangular weights on the mel scale, the PCAN gain table, the smoothing
coefficients. TFLite Micro computes some of them in 32-bit float (its mel scale, the filter weights,
the gain curve); they are reproduced in float32 arithmetic so that the tables come out bit for bit
the same as those in TFLite Micro's audio_preprocessor_int8.tflite. Each libm call (log1pf, powf)
is evaluated in double precision and rounded once to float32, i.e. correctly rounded."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arielml.errors import InputError
from arielml.ir import Graph, Node, Tensor
from arielml.ir.state import attach_internal_state
from arielml.ir.verify import verify
from arielml.ops.binary_math import DivOptions
from arielml.ops.elementwise import AddSubOptions, MulOptions
from arielml.ops.shape import ConcatenationOptions, ReshapeOptions
from arielml.ops.signal_fft import RfftOptions
from arielml.ops.signal_frontend import (PCAN_LUT_SIZE, PCAN_SNR_BITS, EnergyOptions, FilterBankLogOptions,
                                         FilterBankOptions, NoOptions, PcanOptions, SpectralSubtractionOptions,
                                         WindowOptions)
from arielml.ops.slice import StridedSliceOptions

F32 = np.float32
INT16_TYPE_CODE = 7  # the schema's INT16: SignalRfft picks its kernel by the element type


@dataclass(frozen=True)
class FrontEndParams:
    """The micro_speech feature parameters (TFLite Micro's defaults for its keyword model)."""

    sample_rate: int = 16000
    window_ms: int = 30
    step_ms: int = 20
    window_scaling_bits: int = 12
    channels: int = 40
    lower_band_hz: float = 125.0
    upper_band_hz: float = 7500.0
    filter_bank_scaling_bits: int = 12
    filter_bank_alignment: int = 4  # bytes: each channel's weights start at a multiple of 2 int16
    filter_bank_block: int = 4  # each channel's weight count is padded to a multiple of this
    post_scaling_bits: int = 6  # log output scale 2^6
    spectral_subtraction_bits: int = 14
    smoothing_bits: int = 10
    even_smoothing: float = 0.025
    odd_smoothing: float = 0.06
    min_signal_remaining: float = 0.05
    clamping: bool = False
    pcan_strength: float = 0.95
    pcan_offset: float = 80.0
    pcan_gain_bits: int = 21
    pcan_smoothing_bits: int = 10
    # int8 feature = (feature * 256 + divisor / 2) / divisor - 128 with divisor = round(25.6 * 26):
    # the training pipeline divided the int16 features by 25.6, then mapped 0..26 onto -128..127
    feature_divisor: int = int(25.6 * 26 + 0.5)

    @property
    def window_samples(self) -> int:
        return self.window_ms * self.sample_rate // 1000

    @property
    def step_samples(self) -> int:
        return self.step_ms * self.sample_rate // 1000

    @property
    def fft_bits(self) -> int:
        return math.ceil(math.log2(self.window_samples))

    @property
    def fft_length(self) -> int:
        return 1 << self.fft_bits

    @property
    def correction_bits(self) -> int:
        """Bits the filter bank output carries above the PCAN/log input's scale."""
        return self.fft_bits - self.filter_bank_scaling_bits // 2


# ------------------------------------------------------------------------------- constants

def hann_window(length: int, scaling_bits: int) -> np.ndarray:
    """The periodic-offset Hann window 0.5 - 0.5 cos(2 pi (n + 1/2) / N), times 2^scaling_bits, rounded."""
    phase = 2 * np.pi * (np.arange(length) + 0.5) / length
    return np.round((0.5 - 0.5 * np.cos(phase)) * (1 << scaling_bits)).astype(np.int16)


def hz_to_mel(hz: float) -> np.float32:
    """1127 ln(1 + f / 700) in float32 arithmetic (the table builder's C function), log1p rounded once."""
    ratio = F32(hz) / F32(700.0)
    return F32(1127.0) * F32(math.log1p(float(ratio)))


@dataclass(frozen=True)
class FilterBankTables:
    """The five int16 tables of SignalFilterBank and the FFT bin range it reads."""

    start_bin: int
    end_bin: int
    weights: np.ndarray
    unweights: np.ndarray
    frequency_starts: np.ndarray  # per channel + 1 (channel 0 is the lower half of the first triangle)
    weight_starts: np.ndarray
    widths: np.ndarray


def mel_filter_bank(params: FrontEndParams) -> FilterBankTables:
    """Triangular mel filters over the FFT bins: channel c's bins run from centre c - 1 to centre c;
    a bin's weight is its distance below centre c, as a fraction of the band, in 2^scaling_bits
    units, and its unweight the rest (it counts towards channel c - 1)."""
    channels, bins = params.channels, params.fft_length // 2 + 1
    mel_low, mel_high = hz_to_mel(params.lower_band_hz), hz_to_mel(params.upper_band_hz)
    spacing = (mel_high - mel_low) / F32(channels + 1)
    centres = mel_low + spacing * np.arange(1, channels + 2, dtype=F32)  # float32, one per band edge
    hz_per_bin = (params.sample_rate / 2) / (bins - 1)  # DC excluded, as HTK does
    start_bin = round(1 + params.lower_band_hz / hz_per_bin)

    # pass 1: the bins each band really covers (bins whose mel value is at most the band's centre)
    band_starts, band_widths, first = [], [], start_bin
    for centre in centres:
        last = first
        while hz_to_mel(last * hz_per_bin) <= centre:
            last += 1
        band_starts.append(first)
        band_widths.append(last - first)
        first = last
    end_bin = max(start + width for start, width in zip(band_starts, band_widths))
    if end_bin >= bins:
        raise InputError(f"the filter bank's upper band limit {params.upper_band_hz} Hz reaches past the "
                         f"{bins} FFT bins; lower it below {params.sample_rate / 2} Hz")

    # pass 2: the layout - each band starts at an aligned bin and is padded to whole blocks, so the
    # kernel can multiply blocks; an empty band reads a shared block of zero weights at the front
    block, step = params.filter_bank_block, max(1, params.filter_bank_alignment // 2)
    frequency_starts = np.zeros(channels + 1, np.int16)
    weight_starts = np.zeros(channels + 1, np.int16)
    widths = np.zeros(channels + 1, np.int16)
    next_weight, zero_block = 0, False
    for band, (start, width) in enumerate(zip(band_starts, band_widths)):
        if width == 0:
            widths[band] = block  # frequency start 0, weight start 0: the zero block
            if not zero_block:
                zero_block = True
                weight_starts[:band] += block
                next_weight += block
            continue
        aligned = start // step * step
        padded = -(-(start - aligned + width) // block) * block
        frequency_starts[band], weight_starts[band], widths[band] = aligned, next_weight, padded
        next_weight += padded

    # pass 3: the weights (float32, as the reference tables were made), truncated to integers
    weights = np.zeros(next_weight, np.int16)
    unweights = np.zeros(next_weight, np.int16)
    unit = 1 << params.filter_bank_scaling_bits
    for band, (start, width) in enumerate(zip(band_starts, band_widths)):
        below = mel_low if band == 0 else centres[band - 1]
        span = F32(centres[band] - F32(below))
        slot = int(weight_starts[band]) + start - int(frequency_starts[band])
        for k in range(width):
            weight = F32(F32(centres[band] - hz_to_mel((start + k) * hz_per_bin)) / span)
            weights[slot + k] = int(weight * F32(unit))
            unweights[slot + k] = int(F32(F32(1) - weight) * F32(unit))
    return FilterBankTables(start_bin, end_bin, weights, unweights, frequency_starts, weight_starts, widths)


def pcan_gain(x: int, params: FrontEndParams) -> int:
    """PCAN's gain 2^gain_bits (x / 2^input_bits + offset)^-strength, float32, rounded, capped at
    int16's maximum."""
    input_bits = params.pcan_smoothing_bits - params.correction_bits
    level = F32(F32(x) / F32(1 << input_bits)) + F32(params.pcan_offset)
    gain = F32(1 << params.pcan_gain_bits) * F32(float(level) ** -float(F32(params.pcan_strength)))
    return 32767 if gain > 32767 else int(F32(gain + F32(0.5)))


def pcan_gain_table(params: FrontEndParams) -> np.ndarray:
    """SignalPCAN's piecewise-quadratic gain table: the gains at 0 and 1, then for each octave
    [2^(i-1), 2^i) of the noise estimate (i = 2..32) the gain at its start y0 and the coefficients
    a1 = 4 (y(1.5 x0) - y0) - (y(2 x0) - y0), a2 = (y(2 x0) - y0) - a1 of the quadratic through the
    octave's start, middle and end, then a zero: four entries an octave from index 4 i - 6."""
    table = [pcan_gain(0, params), pcan_gain(1, params)]
    for octave in range(2, 33):
        x0 = 1 << (octave - 1)
        x2 = x0 + (x0 - 1) if octave == 32 else 2 * x0  # the last octave ends at 2^32 - 1
        y0, y1, y2 = (pcan_gain(x, params) for x in (x0, x0 + x0 // 2, x2))
        a1 = 4 * (y1 - y0) - (y2 - y0)
        table += [y0, a1, (y2 - y0) - a1, 0]
    wrapped = (np.array(table[:PCAN_LUT_SIZE], np.int64) + 32768) % 65536 - 32768  # int16 stores wrap
    return wrapped.astype(np.int16)


def spectral_subtraction_options(params: FrontEndParams) -> SpectralSubtractionOptions:
    unit = 1 << params.spectral_subtraction_bits
    even, odd = int(params.even_smoothing * unit), int((params.odd_smoothing or params.even_smoothing) * unit)
    return SpectralSubtractionOptions(
        num_channels=params.channels, smoothing=even, one_minus_smoothing=unit - even, alternate_smoothing=odd,
        alternate_one_minus_smoothing=unit - odd, smoothing_bits=params.smoothing_bits,
        min_signal_remaining=int(params.min_signal_remaining * unit), clamping=params.clamping,
        spectral_subtraction_bits=params.spectral_subtraction_bits)


# ------------------------------------------------------------------------------- graph

class _GraphMaker:
    def __init__(self) -> None:
        self.tensors: list[Tensor] = []
        self.nodes: list[Node] = []

    def constant(self, name: str, values, dtype: str) -> int:
        data = np.array(values, dtype=dtype)
        data.setflags(write=False)
        return self._add(Tensor(name=name, shape=data.shape, dtype=dtype, data=data))

    def value(self, name: str, shape, dtype: str) -> int:
        return self._add(Tensor(name=name, shape=tuple(shape), dtype=dtype))

    def _add(self, tensor: Tensor) -> int:
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def node(self, op: str, inputs, outputs, options=None) -> None:
        self.nodes.append(Node(op=op, inputs=tuple(inputs), outputs=tuple(outputs), options=options,
                               index=len(self.nodes)))


def micro_speech_frontend(params: FrontEndParams = FrontEndParams()) -> Graph:
    """The verified graph: int16 [1, window_samples] audio -> int8 [channels] features, with the
    spectral subtraction's noise estimate as state (run it in a session, one frame per step)."""
    n, bins, channels = params.window_samples, params.fft_length // 2 + 1, params.channels
    bank = mel_filter_bank(params)
    g = _GraphMaker()
    audio = g.value("audio_frame", (1, n), "int16")

    windowed = g.value("windowed", (1, n), "int16")
    g.node("SIGNAL_WINDOW", [audio, g.constant("hann_window", hann_window(n, params.window_scaling_bits), "int16")],
           [windowed], WindowOptions(shift=params.window_scaling_bits))
    flat = g.value("windowed_flat", (n,), "int16")
    g.node("RESHAPE", [windowed, g.constant("flat_shape", [-1], "int32")], [flat], ReshapeOptions())
    scaled, shift = g.value("fft_input", (n,), "int16"), g.value("fft_shift", (), "int32")
    g.node("SIGNAL_FFT_AUTO_SCALE", [flat], [scaled, shift], NoOptions())
    spectrum = g.value("spectrum", (2 * bins,), "int16")
    g.node("SIGNAL_RFFT", [scaled], [spectrum], RfftOptions(fft_length=params.fft_length, T=INT16_TYPE_CODE))
    energy = g.value("energy", (bins,), "uint32")
    g.node("SIGNAL_ENERGY", [spectrum], [energy], EnergyOptions(start_index=bank.start_bin, end_index=bank.end_bin))

    # TFLite Micro's energy kernel leaves the bins outside [start, end) unwritten; the reference
    # graph zeroes them with int32 slice + concat, kept here so both graphs are the same operators
    energy32 = g.value("energy_int32", (bins,), "int32")
    g.node("CAST", [energy], [energy32])
    used = g.value("energy_used", (bank.end_bin - bank.start_bin,), "int32")
    g.node("STRIDED_SLICE", [energy32, g.constant("used_begin", [bank.start_bin], "int32"),
                             g.constant("used_end", [bank.end_bin], "int32"), g.constant("used_stride", [1], "int32")],
           [used], StridedSliceOptions())
    zeroed = g.value("energy_zeroed", (bins,), "int32")
    g.node("CONCATENATION", [g.constant("zeros_below", np.zeros(bank.start_bin), "int32"), used,
                             g.constant("zeros_above", np.zeros(bins - bank.end_bin), "int32")],
           [zeroed], ConcatenationOptions(axis=0))
    energy_u32 = g.value("energy_masked", (bins,), "uint32")
    g.node("CAST", [zeroed], [energy_u32])

    banked = g.value("filter_bank", (channels,), "uint64")
    g.node("SIGNAL_FILTER_BANK", [energy_u32] + [g.constant(f"filter_bank_{name}", getattr(bank, name), "int16")
                                                  for name in ("weights", "unweights", "frequency_starts",
                                                               "weight_starts", "widths")],
           [banked], FilterBankOptions(num_channels=channels))
    rooted = g.value("filter_bank_root", (channels,), "uint32")
    g.node("SIGNAL_FILTER_BANK_SQUARE_ROOT", [banked, shift], [rooted], NoOptions())
    cleaned, noise = g.value("denoised", (channels,), "uint32"), g.value("noise_estimate", (channels,), "uint32")
    g.node("SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION", [rooted], [cleaned, noise], spectral_subtraction_options(params))
    gained = g.value("pcan", (channels,), "uint32")
    snr_shift = params.pcan_gain_bits - params.correction_bits - PCAN_SNR_BITS
    if snr_shift < 1:
        raise InputError(f"PCAN's SNR shift {snr_shift} must be at least 1; raise pcan_gain_bits")
    g.node("SIGNAL_PCAN", [cleaned, noise, g.constant("pcan_gain_table", pcan_gain_table(params), "int16")],
           [gained], PcanOptions(snr_shift=snr_shift))
    logged = g.value("log_features", (channels,), "int16")
    g.node("SIGNAL_FILTER_BANK_LOG", [gained], [logged],
           FilterBankLogOptions(input_correction_bits=params.correction_bits,
                                output_scale=1 << params.post_scaling_bits))

    # int8 feature: (x * 256 + divisor / 2) / divisor (truncating) - 128, clamped to int8
    wide = g.value("features_int32", (channels,), "int32")
    g.node("CAST", [logged], [wide])
    stages = [("MUL", 256, MulOptions()), ("ADD", params.feature_divisor // 2, AddSubOptions()),
              ("DIV", params.feature_divisor, DivOptions()), ("ADD", -128, AddSubOptions()),
              ("MINIMUM", 127, None), ("MAXIMUM", -128, None)]
    for k, (op, operand, options) in enumerate(stages):
        result = g.value(f"features_step{k}", (channels,), "int32")
        g.node(op, [wide, g.constant(f"features_{op.lower()}_{k}", operand, "int32")], [result], options)
        wide = result
    features = g.value("features", (channels,), "int8")
    g.node("CAST", [wide], [features])

    graph = Graph(tensors=tuple(g.tensors), nodes=tuple(g.nodes), inputs=(audio,), outputs=(features,),
                  name="micro_speech_frontend")
    return verify(attach_internal_state(graph))


def frame_audio(audio: np.ndarray, params: FrontEndParams = FrontEndParams()) -> np.ndarray:
    """int16 audio -> [frames, 1, window_samples]: windows every step_samples (the last partial one
    dropped), as micro_speech frames one second into 49 rows."""
    audio = np.asarray(audio)
    if audio.dtype != np.int16 or audio.ndim != 1:
        raise InputError(f"audio must be a 1-D int16 array, got {audio.dtype} {audio.shape}")
    n, step = params.window_samples, params.step_samples
    if audio.size < n:
        raise InputError(f"audio has {audio.size} samples, one frame needs {n} ({params.window_ms} ms)")
    count = (audio.size - n) // step + 1
    return np.stack([audio[k * step:k * step + n] for k in range(count)]).reshape(count, 1, n)
