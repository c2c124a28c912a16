"""The streaming part of `arielml demo`: one second of synthetic 16 kHz audio through TFLite Micro's
micro_speech audio front end (arielml.audio, built from its parameters), one 20 ms step at a time
in an emulator session (its noise estimate carried from step to step), then the 49 feature rows
through the zoo's micro_speech keyword model, both on the emulated board. Every output is compared
with the reference executor run on the same stream."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

KEYWORD_MODEL = Path("tflite_micro") / "micro_speech_quantized.tflite"
KEYWORD_LABELS = ("silence", "unknown", "yes", "no")  # micro_speech's output order
SAMPLE_RATE = 16000
AUDIO_DESCRIPTION = ("1 s of synthetic 16 kHz int16 audio: a 300 -> 3000 Hz tone sweep (amplitude 8000) in its "
                     "middle 600 ms, white noise (sigma 200) throughout")


def synthetic_audio(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """AUDIO_DESCRIPTION: no audio files exist in the zoo, so the demo makes its own (deterministic)."""
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    start, stop = 0.2 * seconds, 0.8 * seconds
    inside = (t >= start) & (t < stop)
    span = stop - start
    # linear chirp: phase = 2 pi (f0 tau + (f1 - f0) tau^2 / (2 span)), tau = time since the sweep began
    tau = np.clip(t - start, 0, span)
    phase = 2 * np.pi * (300 * tau + (3000 - 300) * tau * tau / (2 * span))
    tone = np.where(inside, 8000 * np.sin(phase), 0.0)
    noise = np.random.default_rng(seed).normal(0, 200, n)
    return np.clip(np.round(tone + noise), -32768, 32767).astype(np.int16)


@dataclass
class FrontEndStep:
    cycles: int
    ms: float
    bit_exact: bool


@dataclass
class StreamResult:
    target: str
    cores: int
    steps: list[FrontEndStep]
    features: np.ndarray  # int8 [frames, channels]
    keyword_cycles: int
    keyword_ms: float
    scores: np.ndarray  # int8 [4], the keyword model's output
    probabilities: np.ndarray  # the scores dequantised
    keyword_bit_exact: bool
    step_ms: int  # the audio hop: the real-time budget of one front-end step

    @property
    def bit_exact(self) -> bool:
        return self.keyword_bit_exact and all(step.bit_exact for step in self.steps)


def run_stream(keyword_model_path: Path, target: str = "rp2040", cores: int = 2, frames: int | None = None,
               audio: np.ndarray | None = None) -> StreamResult:
    """Front end frame by frame on the emulated `target` (a session), then the keyword model on the
    features. `frames`: run only the first so many front-end steps (tests); the keyword model then
    sees the missing rows as the lowest feature value (-128, silence)."""
    import arielml
    from arielml.api import Model
    from arielml.audio import FrontEndParams, frame_audio, micro_speech_frontend

    params = FrontEndParams()
    frontend = Model(graph=micro_speech_frontend(params))
    windows = frame_audio(synthetic_audio() if audio is None else audio, params)
    if frames is not None:
        windows = windows[:frames]
    stream = [[w] for w in windows]
    session = frontend.session(backend="emulator", target=target, cores=cores)
    emulated = session.run_sequence(stream)
    frontend_runs = session.last_runs  # one EmulatedRun per step: that inference's cycles
    reference = frontend.session(backend="reference").run_sequence(stream)
    steps = [FrontEndStep(run.cycles, run.ms, bool(np.array_equal(got[0], want[0])))
             for run, got, want in zip(frontend_runs, emulated, reference)]

    keyword = arielml.load(keyword_model_path)
    values = keyword.graph.tensors[keyword.graph.inputs[0]].num_elements  # 49 rows x 40 channels
    features = np.stack([out[0] for out in emulated]).astype(np.int8)
    channels = features.shape[1]
    total = values // channels
    padded = np.full((total, channels), -128, np.int8)
    recent = min(total, len(features))
    padded[total - recent:] = features[len(features) - recent:]  # the newest rows last, as micro_speech slides
    keyword_input = padded.reshape(1, total * channels)
    keyword_session = keyword.session(backend="emulator", target=target, cores=cores)
    scores = keyword_session.run([keyword_input])[0]
    run = keyword_session.last_runs[0]
    expected = keyword.run([keyword_input])[0]
    out_tensor = keyword.graph.tensors[keyword.graph.outputs[0]]
    scale, zero = out_tensor.quant.single_scale, out_tensor.quant.single_zero_point
    probabilities = (scores.astype(np.float64).ravel() - zero) * scale
    return StreamResult(target=target, cores=cores, steps=steps, features=features, keyword_cycles=run.cycles,
                        keyword_ms=run.ms, scores=scores.ravel(), probabilities=probabilities,
                        keyword_bit_exact=bool(np.array_equal(scores, expected)), step_ms=params.step_ms)


STEPS_PER_ROW = 7  # 140 ms of audio a table row


def print_stream(zoo: Path, target: str, console, cores: int = 2) -> bool:
    """The demo's streaming section; False when an output differs from the reference executor.
    Without the keyword model in the zoo, says so and skips."""
    import time

    from rich.table import Table

    from arielml.bench.emulated_report import describe

    path = zoo / KEYWORD_MODEL
    if not path.is_file():
        console.print(f"[dim]streaming example skipped: the keyword model {path} is not in the zoo[/dim]")
        return True
    console.print()
    console.print(f"[bold]streaming[/bold]: raw audio -> TFLite Micro's audio front end (Signal operators, built by "
                  f"arielml.audio) -> micro_speech keyword model, on an emulated {target} ({describe(target)}), "
                  f"{cores} cores. Input: {AUDIO_DESCRIPTION}.")
    started = time.perf_counter()
    result = run_stream(path, target=target, cores=cores)
    elapsed = time.perf_counter() - started

    table = Table(title=f"audio front end, one 30 ms window every {result.step_ms} ms (kilocycles, ms; "
                        "✓ = bit-exact with the reference executor)")
    table.add_column("steps", justify="right", no_wrap=True)
    for k in range(STEPS_PER_ROW):
        table.add_column(f"+{k}", justify="right", no_wrap=True)
    for first in range(0, len(result.steps), STEPS_PER_ROW):
        row = result.steps[first:first + STEPS_PER_ROW]
        cells = [f"{s.cycles / 1000:.0f}k {s.ms:.2f} " + ("[green]✓[/green]" if s.bit_exact else "[red]✗[/red]")
                 for s in row]
        table.add_row(f"{first + 1}-{first + len(row)}", *cells, *[""] * (STEPS_PER_ROW - len(row)))
    console.print(table)
    mean_ms = float(np.mean([s.ms for s in result.steps]))
    exact_steps = sum(s.bit_exact for s in result.steps)
    console.print(f"front end: {len(result.steps)} steps, mean {mean_ms:.2f} ms per step = "
                  f"{mean_ms / result.step_ms:.0%} of the {result.step_ms} ms real-time budget; "
                  f"{exact_steps}/{len(result.steps)} steps bit-exact. [dim]The emulator runs 8 steps per firmware "
                  "run; the first of each (steps 1, 9, 17, ...) starts with a cold flash (XIP) cache, hence its extra "
                  "cycles.[/dim]")

    keyword = Table(title=f"keyword model on the {len(result.features)} feature rows (1 s of audio)")
    for column in ("model", "cycles", "ms", *KEYWORD_LABELS, "vs reference"):
        keyword.add_column(column, justify="left" if column in ("model", "vs reference") else "right", no_wrap=True)
    best = int(np.argmax(result.scores))
    scores = [f"{'[bold]' if k == best else ''}{p:.3f}{'[/bold]' if k == best else ''}"
              for k, p in enumerate(result.probabilities)]
    keyword.add_row(KEYWORD_MODEL.stem, f"{result.keyword_cycles:,}", f"{result.keyword_ms:.1f}", *scores,
                    "[green]✓ bit-exact[/green]" if result.keyword_bit_exact else "[red]✗ differs[/red]")
    console.print(keyword)
    console.print(f"[dim]stream emulated in {elapsed:.0f} s[/dim]")
    return result.bit_exact
