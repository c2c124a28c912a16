"""TFLite Micro's Signal front-end operators (SignalWindow, SignalFftAutoScale, SignalEnergy,
SignalFilterBank, SignalFilterBankSquareRoot, SignalFilterBankSpectralSubtraction, SignalPCAN,
SignalFilterBankLog): random single-op models bit-exact with TFLite Micro's interpreter (LiteRT has
none of them), the spectral subtraction's noise estimate carried over several steps; then the
micro_speech front-end chain (window -> auto-scale -> RFFT -> energy -> filter bank -> square root ->
spectral subtraction -> PCAN -> log) as one model over several steps against TFLite Micro, natively
(C kernels, 1-3 threads, both schedulers) and on two emulated rp2040 cores."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.errors import UnsupportedOperatorError
from tests.op_harness import model_for
from tests.signal_cases import Micro, custom_op, tensor
from tests.tflite_builder import ModelBuilder

CASES = 12
STEPS = 4


def _wide_u32(rng, n: int) -> np.ndarray:
    """uint32 values spread over every magnitude (random bits shifted right by 0..31)."""
    return (rng.integers(0, 1 << 32, n, dtype=np.uint64) >> rng.integers(0, 32, n).astype(np.uint64)).astype(np.uint32)


def window_case(rng):
    period, reps, shift = int(rng.integers(1, 40)), int(rng.integers(1, 4)), int(rng.integers(0, 16))
    b = ModelBuilder()
    x = tensor(b, (reps, period), "int16")
    w = tensor(b, (period,), "int16", data=rng.integers(-32768, 32768, period))
    y = tensor(b, (reps, period), "int16")
    custom_op(b, "SignalWindow", [x, w], [y], {"shift": shift})
    return b.build([x], [y]), lambda: [rng.integers(-32768, 32768, (reps, period)).astype(np.int16)], 1, None


def auto_scale_case(rng):
    n, magnitude = int(rng.integers(1, 60)), int(rng.integers(0, 16))
    b = ModelBuilder()
    x, y, s = tensor(b, (n,), "int16"), tensor(b, (n,), "int16"), tensor(b, (), "int32")
    custom_op(b, "SignalFftAutoScale", [x], [y, s], {})

    def inputs():
        v = rng.integers(-(1 << magnitude), 1 << magnitude, n).astype(np.int16)
        if rng.random() < 0.2:  # TFLite Micro's int16 |x| wraps for -32768
            v[int(rng.integers(0, n))] = -32768
        return [v * (rng.random() > 0.1)]
    return b.build([x], [y, s]), inputs, 2, None


def energy_case(rng):
    bins = int(rng.integers(2, 60))
    start = int(rng.integers(0, bins))
    end = int(rng.integers(start, bins + 1))
    b = ModelBuilder()
    x, y = tensor(b, (2 * bins,), "int16"), tensor(b, (bins,), "uint32")
    custom_op(b, "SignalEnergy", [x], [y], {"end_index": end, "start_index": start})
    # TFLite Micro leaves the bins outside [start, end) unwritten: compared inside only
    return b.build([x], [y]), lambda: [rng.integers(-32768, 32768, 2 * bins).astype(np.int16)], 1, slice(start, end)


def filter_bank_tables(rng, channels: int, bins: int):
    weights_len = int(rng.integers(8, 100))
    width = rng.integers(0, 8, channels + 1)
    freq = np.array([rng.integers(0, bins - min(w, bins) + 1) for w in width])
    width = np.minimum(width, bins - freq)
    starts = np.array([rng.integers(0, weights_len - w + 1) for w in width])
    weights = rng.integers(0, 4096, weights_len)
    weights[0] = -5 if rng.random() < 0.3 else weights[0]  # sign-extended into uint64, as in C
    return weights, rng.integers(0, 4096, weights_len), freq, starts, width


def add_filter_bank(b, rng, spectrum: int, channels: int, bins: int) -> int:
    tables = [tensor(b, (len(t),), "int16", data=t) for t in filter_bank_tables(rng, channels, bins)]
    out = tensor(b, (channels,), "uint64")
    custom_op(b, "SignalFilterBank", [spectrum] + tables, [out], {"num_channels": channels})
    return out


def filter_bank_case(rng):
    channels, bins = int(rng.integers(1, 20)), int(rng.integers(8, 80))
    b = ModelBuilder()
    x = tensor(b, (bins,), "uint32")
    y = add_filter_bank(b, rng, x, channels, bins)
    return b.build([x], [y]), lambda: [rng.integers(0, 1 << 32, bins, dtype=np.uint64).astype(np.uint32)], 1, None


def sqrt_case(rng):
    channels = int(rng.integers(1, 40))
    b = ModelBuilder()
    x, s, y = tensor(b, (channels,), "uint64"), tensor(b, (), "int32"), tensor(b, (channels,), "uint32")
    custom_op(b, "SignalFilterBankSquareRoot", [x, s], [y], {})

    def inputs():
        v = (rng.integers(0, 1 << 63, channels, dtype=np.uint64) >> rng.integers(0, 63, channels).astype(np.uint64))
        v[0] = np.uint64([(1 << 64) - 1, (1 << 32) - 1, 0][int(rng.integers(0, 3))])
        return [v.astype(np.uint64), np.array(rng.integers(0, 20), dtype=np.int32)]
    return b.build([x, s], [y]), inputs, 1, None


def subtraction_options(rng, channels: int) -> dict:
    def coefficient():
        return int(rng.integers(0, 1 << 14))
    return dict(alternate_one_minus_smoothing=coefficient(), alternate_smoothing=coefficient(),
                clamping=bool(rng.random() < 0.5), min_signal_remaining=coefficient(), num_channels=channels,
                one_minus_smoothing=coefficient(), smoothing=coefficient(), smoothing_bits=int(rng.integers(0, 12)),
                spectral_subtraction_bits=14)


def subtraction_case(rng):
    channels = int(rng.integers(1, 40))
    b = ModelBuilder()
    x, y, noise = (tensor(b, (channels,), "uint32") for _ in range(3))
    custom_op(b, "SignalFilterBankSpectralSubtraction", [x], [y, noise], subtraction_options(rng, channels))
    return b.build([x], [y, noise]), lambda: [rng.integers(0, 1 << 22, channels).astype(np.uint32)], 2, None


def pcan_case(rng):
    channels, shift = int(rng.integers(1, 40)), int(rng.integers(0, 12))
    b = ModelBuilder()
    x, noise = tensor(b, (channels,), "uint32"), tensor(b, (channels,), "uint32")
    lut = tensor(b, (125,), "int16", data=rng.integers(-32768, 32768, 125))
    y = tensor(b, (channels,), "uint32")
    custom_op(b, "SignalPCAN", [x, noise, lut], [y], {"snr_shift": shift})
    return b.build([x, noise], [y]), lambda: [_wide_u32(rng, channels), _wide_u32(rng, channels)], 1, None


def log_case(rng):
    channels = int(rng.integers(1, 40))
    options = {"input_correction_bits": int(rng.integers(0, 8)), "output_scale": int(rng.integers(1, 2000))}
    b = ModelBuilder()
    x, y = tensor(b, (channels,), "uint32"), tensor(b, (channels,), "int16")
    custom_op(b, "SignalFilterBankLog", [x], [y], options)

    def inputs():
        v = _wide_u32(rng, channels)
        v[:2] = [0, 1][:channels]  # below 2 the log is 0
        return [v]
    return b.build([x], [y]), inputs, 1, None


SINGLE_OPS = {"window": window_case, "fft_auto_scale": auto_scale_case, "energy": energy_case,
              "filter_bank": filter_bank_case, "square_root": sqrt_case, "spectral_subtraction": subtraction_case,
              "pcan": pcan_case, "log": log_case}


@pytest.mark.parametrize("op", list(SINGLE_OPS))
def test_signal_op_matches_tflite_micro_step_by_step(op):
    for seed in range(CASES):
        rng = np.random.default_rng(1000 * list(SINGLE_OPS).index(op) + seed)
        model_bytes, inputs, num_outputs, compared = SINGLE_OPS[op](rng)
        micro = Micro(model_bytes)
        session = model_for(model_bytes).session()
        for step in range(STEPS):
            x = inputs()
            want = micro.run(x, num_outputs)
            got = session.run(x)
            for k, (g, w) in enumerate(zip(got, want)):
                if compared is not None:
                    g, w = g[compared], w[compared]
                assert g.dtype == w.dtype and np.array_equal(g, w), f"{op} seed {seed} step {step} output {k}"


def front_end_model(rng, frame: int = 48, fft_length: int = 64, channels: int = 12) -> bytes:
    """The micro_speech front end's chain of Signal operators (without its CAST / slicing glue)."""
    b = ModelBuilder()
    x = tensor(b, (frame,), "int16")
    window = tensor(b, (frame,), "int16", data=rng.integers(0, 4096, frame))
    windowed, scaled, bits = tensor(b, (frame,), "int16"), tensor(b, (frame,), "int16"), tensor(b, (), "int32")
    custom_op(b, "SignalWindow", [x, window], [windowed], {"shift": 12})
    custom_op(b, "SignalFftAutoScale", [windowed], [scaled, bits], {})
    spectrum = tensor(b, (fft_length + 2,), "int16")
    custom_op(b, "SignalRfft", [scaled], [spectrum], {"T": 7, "fft_length": fft_length})
    bins = fft_length // 2 + 1
    energy = tensor(b, (bins,), "uint32")
    custom_op(b, "SignalEnergy", [spectrum], [energy], {"end_index": bins, "start_index": 0})
    bank = add_filter_bank(b, rng, energy, channels, bins)
    root, cleaned, noise = (tensor(b, (channels,), "uint32") for _ in range(3))
    custom_op(b, "SignalFilterBankSquareRoot", [bank, bits], [root], {})
    custom_op(b, "SignalFilterBankSpectralSubtraction", [root], [cleaned, noise], subtraction_options(rng, channels))
    lut = tensor(b, (125,), "int16", data=rng.integers(0, 8192, 125))
    gained, logs = tensor(b, (channels,), "uint32"), tensor(b, (channels,), "int16")
    custom_op(b, "SignalPCAN", [cleaned, noise, lut], [gained], {"snr_shift": 6})
    custom_op(b, "SignalFilterBankLog", [gained], [logs], {"input_correction_bits": 3, "output_scale": 64})
    return b.build([x], [logs])


def audio_steps(rng, frame: int, steps: int) -> list[list[np.ndarray]]:
    return [[(rng.normal(0, 1, frame) * float(rng.choice([30, 3000, 12000]))).clip(-32768, 32767).astype(np.int16)]
            for _ in range(steps)]


def test_front_end_chain_matches_tflite_micro_over_steps():
    for seed in range(4):
        rng = np.random.default_rng(7000 + seed)
        model_bytes = front_end_model(rng)
        steps = audio_steps(rng, 48, 6)
        micro = Micro(model_bytes)
        want = [micro.run(s, 1)[0] for s in steps]
        got = [o[0] for o in model_for(model_bytes).session().run_sequence(steps)]
        for k, (g, w) in enumerate(zip(got, want)):
            assert np.array_equal(g, w), f"seed {seed} step {k}"


@pytest.mark.parametrize("cores,scheduler", [(1, "static"), (2, "dynamic"), (3, "static")])
def test_front_end_chain_native_sessions(cores, scheduler):
    rng = np.random.default_rng(7100 + cores)
    model = model_for(front_end_model(rng))
    steps = audio_steps(rng, 48, 5)
    expected = [o[0] for o in model.session().run_sequence(steps)]
    session = model.session(backend="native", cores=cores, scheduler=scheduler)
    got = [o[0] for o in session.run_sequence(steps)]
    for k, (g, e) in enumerate(zip(got, expected)):
        assert np.array_equal(g, e), f"{cores} cores {scheduler} step {k}"
    session.reset()
    assert np.array_equal(session.run(steps[0])[0], expected[0])


def filter_bank_sqrt_case(rng):
    """The filter bank feeding its square root: uint32 in and out (no uint64 model input or output)."""
    channels, bins = int(rng.integers(1, 20)), int(rng.integers(8, 80))
    b = ModelBuilder()
    x, bits, y = tensor(b, (bins,), "uint32"), tensor(b, (), "int32"), tensor(b, (channels,), "uint32")
    custom_op(b, "SignalFilterBankSquareRoot", [add_filter_bank(b, rng, x, channels, bins), bits], [y], {})

    def inputs():
        return [_wide_u32(rng, bins), np.array(rng.integers(0, 20), dtype=np.int32)]
    return b.build([x, bits], [y]), inputs, 1, None


KERNEL_CASES = {**{op: SINGLE_OPS[op] for op in ("window", "fft_auto_scale", "energy", "spectral_subtraction",
                                                   "pcan", "log")}, "filter_bank_sqrt": filter_bank_sqrt_case}


@pytest.mark.parametrize("op", list(KERNEL_CASES))
def test_signal_op_kernels_match_reference(op):
    """Random single operators through the C kernels (native, 2 threads), several steps each."""
    rng = np.random.default_rng(7200 + list(KERNEL_CASES).index(op))
    for _ in range(2):
        model_bytes, inputs, _, compared = KERNEL_CASES[op](rng)
        model = model_for(model_bytes)
        steps = [inputs() for _ in range(3)]
        expected = model.session().run_sequence(steps)
        got = model.session(backend="native", cores=2, scheduler="dynamic").run_sequence(steps)
        for step, (g_all, e_all) in enumerate(zip(got, expected)):
            for g, e in zip(g_all, e_all):
                if compared is not None:
                    g, e = g[compared], e[compared]
                assert np.array_equal(g, e), f"{op} step {step}"


@pytest.mark.cross
def test_front_end_chain_emulated_rp2040_two_cores():
    rng = np.random.default_rng(7300)
    model = model_for(front_end_model(rng))
    steps = audio_steps(rng, 48, 4)
    expected = [o[0] for o in model.session().run_sequence(steps)]
    session = model.session(backend="emulator", target="rp2040", cores=2)
    got = [o[0] for o in session.run_sequence(steps)]
    for k, (g, e) in enumerate(zip(got, expected)):
        assert np.array_equal(g, e), f"step {k}"


def test_refused_variants_say_why():
    b = ModelBuilder()
    x, w, y = tensor(b, (10,), "int16"), tensor(b, (4,), "int16", data=np.ones(4)), tensor(b, (10,), "int16")
    custom_op(b, "SignalWindow", [x, w], [y], {"shift": 3})
    with pytest.raises(UnsupportedOperatorError, match="divide"):
        model_for(b.build([x], [y]))
    b = ModelBuilder()
    x, y = tensor(b, (8,), "uint32"), tensor(b, (8,), "int16")
    custom_op(b, "SignalFilterBankLog", [x], [y], {"input_correction_bits": 40, "output_scale": 1})
    with pytest.raises(UnsupportedOperatorError, match="input_correction_bits"):
        model_for(b.build([x], [y]))


def test_tables_that_would_read_out_of_bounds_are_refused():
    b = ModelBuilder()
    x, y = tensor(b, (16,), "uint32"), tensor(b, (2,), "uint64")
    tables = [np.ones(8), np.ones(8), np.array([0, 4, 12]), np.array([0, 2, 4]), np.array([4, 4, 8])]
    custom_op(b, "SignalFilterBank", [x] + [tensor(b, (len(t),), "int16", data=t) for t in tables], [y],
              {"num_channels": 2})
    with pytest.raises(UnsupportedOperatorError, match="reaches past"):
        model_for(b.build([x], [y]))
    b = ModelBuilder()
    x, noise, y = tensor(b, (4,), "uint32"), tensor(b, (4,), "uint32"), tensor(b, (4,), "uint32")
    custom_op(b, "SignalPCAN", [x, noise, tensor(b, (100,), "int16", data=np.zeros(100))], [y], {"snr_shift": 6})
    with pytest.raises(UnsupportedOperatorError, match="125"):
        model_for(b.build([x, noise], [y]))
    b = ModelBuilder()
    x, y, noise = (tensor(b, (6,), "uint32") for _ in range(3))
    custom_op(b, "SignalFilterBankSpectralSubtraction", [x], [y, noise],
              {**subtraction_options(np.random.default_rng(0), 6), "num_channels": 5})
    with pytest.raises(UnsupportedOperatorError, match="num_channels"):
        model_for(b.build([x], [y, noise]))
