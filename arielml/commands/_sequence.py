"""`arielml run MODEL --steps T`: a stream of T inferences through one session, the model's state
(SVDF and LSTM memories) carried from each to the next. Every input file holds the T steps of its
input along a leading time axis, shape (T, *input shape); the outputs are written the same way.
With --random the T steps are drawn from seeds SEED, SEED + 1, ..."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from arielml.commands.run import RunOptions, RunReport
from arielml.errors import InputError, TargetError


def load_steps(model, paths: list[Path], seed: int | None, steps: int) -> tuple[list[list[np.ndarray]], list[str]]:
    """T sets of inputs (one per step) from .npy files with a leading time axis, or random ones."""
    from arielml.commands._common import check_seed
    if isinstance(steps, bool) or steps < 1:
        raise InputError(f"--steps must be at least 1, got {steps}")
    if paths and seed is not None:
        raise InputError("give either --input files or --random SEED, not both")
    check_seed(seed)
    if not paths:
        seed = 0 if seed is None else seed
        return ([model.random_inputs(seed + k) for k in range(steps)],
                [f"random (seeds {seed}..{seed + steps - 1})"] * len(model.graph.inputs))
    if len(paths) != len(model.graph.inputs):
        raise InputError(f"the model takes {len(model.graph.inputs)} input(s), {len(paths)} --input file(s) were "
                         "given (one .npy file per input, in order, each with a leading time axis of --steps)")
    from arielml.npyfile import read_npy_input
    series = [read_npy_input(path, dtype, (steps, *shape), what=f"input {i} over {steps} steps (time axis first)")
              for i, (path, (shape, dtype)) in enumerate(zip(paths, model.input_specs))]
    series = [s.reshape((steps, *shape)) for s, (shape, _) in zip(series, model.input_specs)]
    return [model.check_inputs([s[k] for s in series]) for k in range(steps)], [str(p) for p in paths]


def run_steps(model, steps: list[list[np.ndarray]], options: RunOptions) -> RunReport:
    """The steps through one session on the chosen backend; outputs stacked along a time axis."""
    if options.cache_dir is not None or options.weights_in_sram is not None:
        raise TargetError("--cache-dir and --weights-in-sram are not available with --steps yet; drop them")
    backend = options.backend
    kwargs = {}
    if backend != "reference":
        kwargs = {"cores": 1 if options.cores is None else options.cores, "scheduler": options.scheduler or "static",
                  "target": options.target, "optimize": options.optimize or "latency",
                  "ram_budget": options.ram_budget, "firmware": options.firmware}
    elif any(v is not None for v in (options.target, options.cores, options.scheduler, options.optimize,
                                     options.ram_budget)):
        raise TargetError("--target, --cores, --scheduler, --optimize and --ram-budget only apply to compiled "
                          "backends; the reference backend runs the numpy executor (drop them or choose another "
                          "--backend)")
    session = model.session(backend=backend, semantics=options.semantics, **kwargs)
    per_step = session.run_sequence(steps)
    outputs = [np.stack([step[i] for step in per_step]) for i in range(len(model.graph.outputs))]
    fields = {"steps": len(steps), "stateful": model.stateful}
    if backend == "emulator":
        fields["per_step"] = [{"step": k, "cycles": run.cycles, "ms": run.ms} for k, run in enumerate(session.last_runs)]
        first = session.last_runs[0]
        fields.update(target=first.target, cores=first.cores, scheduler=first.scheduler,
                      flash_bytes=first.flash_bytes, ram_bytes=first.ram_bytes)
    return RunReport(outputs=outputs, fields=fields)
