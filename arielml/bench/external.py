"""Bit-exactness sweep over models that are not in the zoo.

    python -m arielml.bench.external DIR [--inputs N] [--only SUBSTR] [--oracle litert|tflm]
                                         [--backends native,emulator:BOARD] [--json] [--json-out FILE] [--timeout S]

For every .tflite under DIR: load it with `arielml.load`, run N random inputs (seeds 0..N-1)
through arielml's reference backend and through LiteRT's reference kernels (BUILTIN_REF, the
contract) or, with --oracle tflm, TFLite Micro's interpreter (arielml then uses semantics tflm).
With --backends native,emulator:rp2040 every model that matches also runs on those compiled backends
(2 cores, one session each) and must give arielml's reference bytes.
The N inputs are one stream on both sides: a stateful model (SVDF, LSTM) carries its state from
each to the next, in an arielml session and in one oracle interpreter. Report per model: operator counts, MACs, status and time. One model never stops
the sweep: a user-facing ArielError becomes "unsupported: ..." or "error: ...", anything else is an
arielml defect and is reported as "BUG: ...". When outputs differ, the model is replayed once with
every intermediate tensor kept on both sides, to name the first operator whose output diverges.

Exit status: 1 when some model mismatched or hit a BUG, else 0 (unsupported models do not fail)."""
from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

# statuses, from best to worst; "unsupported" and "oracle" are not arielml failures
EXACT, FLOAT_CLOSE, MISMATCH, UNSUPPORTED, PREFIX_MISMATCH, ERROR, NO_ORACLE, ORACLE, BUG = (
    "bit-exact", "float-close", "mismatch", "unsupported", "unsupported+prefix-mismatch", "error",
    "no-oracle", "oracle-error", "BUG")
FAILING = (MISMATCH, PREFIX_MISMATCH, BUG)
# float32 outputs that are not identical count as agreeing within this (numpy allclose) tolerance
FLOAT_RTOL, FLOAT_ATOL = 1e-5, 1e-5


@dataclass(frozen=True)
class Divergence:
    """The first operator (execution order) whose output differs from LiteRT's."""
    index: int
    op: str
    max_abs_diff: float
    differing: int  # elements that differ
    size: int


@dataclass
class ModelResult:
    file: str
    ops: dict[str, int] = field(default_factory=dict)
    macs: int | None = None
    status: str = ERROR
    message: str = ""
    runs: int = 0
    exact_runs: int = 0
    max_abs_diff: float = 0.0
    first_failing_seed: int | None = None
    divergence: Divergence | None = None
    # for a model that does not load: how many leading operators were evaluated and compared
    prefix_checked: int | None = None
    prefix_total: int | None = None
    seconds_arielml: float = 0.0
    seconds_litert: float = 0.0
    # --backends: backend -> "bit-exact", "differs k/n" or "error: ...", against arielml's reference
    backends: dict[str, str] = field(default_factory=dict)

    @property
    def status_text(self) -> str:
        return self._status_text() + "".join(f"; {name}: {verdict}" for name, verdict in self.backends.items())

    def _status_text(self) -> str:
        if self.status == EXACT:
            return f"bit-exact {self.exact_runs}/{self.runs}"
        if self.status == FLOAT_CLOSE:
            return f"float-close {self.runs}/{self.runs} (max abs diff {self.max_abs_diff:.3g})"
        if self.status == MISMATCH:
            where = ""
            if self.divergence is not None:
                d = self.divergence
                where = f"; first divergence: op #{d.index} {d.op} ({d.differing}/{d.size} differ, max {d.max_abs_diff:g})"
            return (f"mismatch {self.runs - self.exact_runs}/{self.runs} (max abs diff {self.max_abs_diff:g}, "
                    f"seed {self.first_failing_seed}{where})")
        if self.status in (UNSUPPORTED, PREFIX_MISMATCH) and self.prefix_checked is not None:
            if self.divergence is not None:
                d = self.divergence
                return (f"unsupported: {self.message}; PREFIX MISMATCH at op #{d.index} {d.op} "
                        f"({d.differing}/{d.size} differ, max abs diff {d.max_abs_diff:g}, seed {self.first_failing_seed})")
            if self.prefix_checked:
                return (f"unsupported: {self.message}; ops #0-#{self.prefix_checked - 1} of {self.prefix_total} "
                        f"bit-exact on {self.runs} input(s)")
        return f"{self.status}: {self.message}"


# ---------------------------------------------------------------------------------------------- ops

def operator_counts(path: Path) -> dict[str, int]:
    """Operator type counts read straight from the flatbuffer (also for models arielml rejects).
    Custom operators are named "CUSTOM:<code>" as the frontend names them."""
    import tflite
    from tflite.utils import BUILTIN_OPCODE2NAME
    try:
        model = tflite.Model.GetRootAs(bytearray(path.read_bytes()), 0)
        counts: Counter[str] = Counter()
        for s in range(model.SubgraphsLength()):
            subgraph = model.Subgraphs(s)
            for i in range(subgraph.OperatorsLength()):
                opcode = model.OperatorCodes(subgraph.Operators(i).OpcodeIndex())
                # both opcode fields exist; old files fill only the deprecated int8 one
                code = max(int(opcode.DeprecatedBuiltinCode()), int(opcode.BuiltinCode()))
                name = BUILTIN_OPCODE2NAME.get(code, f"UNKNOWN_OPCODE_{code}")
                if name == "CUSTOM":
                    name = f"CUSTOM:{(opcode.CustomCode() or b'?').decode(errors='replace')}"
                counts[name if s == 0 else f"{name} (subgraph {s})"] += 1
        return dict(counts.most_common())
    except Exception:  # a damaged file: the load below reports it properly
        return {}


def total_macs(graph) -> int:
    from arielml.ops.registry import lookup
    return sum(int(lookup(node).macs(node, graph)) for node in graph.nodes)


def missing_operators(results: list[ModelResult]) -> dict[str, tuple[int, int]]:
    """Operator types not in the registry -> (models using it, instances over all models)."""
    from arielml.ops.registry import REGISTRY
    custom = {f"CUSTOM:{op.custom_code}" for op in REGISTRY.values() if op.custom_code is not None}
    models: Counter[str] = Counter()
    instances: Counter[str] = Counter()
    for r in results:
        for op, n in r.ops.items():
            if op.split(" (subgraph")[0] not in REGISTRY and op not in custom:
                models[op] += 1
                instances[op] += n
    return {op: (models[op], instances[op]) for op, _ in models.most_common()}


# ------------------------------------------------------------------------------------------ oracle

def _litert(model_bytes: bytes, keep_all: bool = False):
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        from arielml.errors import BuildError
        raise BuildError("the LiteRT oracle is missing; install it with: pip install ai-edge-litert") from None
    interpreter = Interpreter(model_content=model_bytes,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                              experimental_preserve_all_tensors=keep_all)
    interpreter.allocate_tensors()
    return interpreter


def _invoke(interpreter, inputs: list[np.ndarray]) -> None:
    for detail, array in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], array.reshape(detail["shape"]))
    interpreter.invoke()


def _outputs(interpreter) -> list[np.ndarray]:
    return [interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()]


class _Oracle:
    """One interpreter of the oracle, invoked input after input: it keeps a stateful model's state
    across invocations, as the arielml session it is compared with does."""

    def __init__(self, name: str, model_bytes: bytes, num_outputs: int) -> None:
        self.name, self.num_outputs = name, num_outputs
        if name == "litert":
            self.interpreter = _litert(model_bytes)
        else:
            try:
                from tflite_micro.python.tflite_micro import runtime
            except ImportError:
                from arielml.errors import BuildError
                raise BuildError("the TFLite Micro oracle is missing; install it with: pip install tflite-micro") \
                    from None
            # its default arena is too small for most models
            self.interpreter = runtime.Interpreter.from_bytes(model_bytes, arena_size=16 << 20)

    def invoke(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if self.name == "litert":
            _invoke(self.interpreter, inputs)
            return _outputs(self.interpreter)
        for i, array in enumerate(inputs):
            self.interpreter.set_input(array, i)
        self.interpreter.invoke()
        return [self.interpreter.get_output(i).copy() for i in range(self.num_outputs)]


ORACLES = {"litert": "LiteRT reference kernels (BUILTIN_REF)", "tflm": "TFLite Micro"}


# ------------------------------------------------------------------------------------- comparison

def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def _compare(ours: list[np.ndarray], theirs: list[np.ndarray]) -> tuple[bool, bool, float]:
    """-> (identical, float-close, max abs diff) over all outputs."""
    identical, close, worst = True, True, 0.0
    for a, b in zip(ours, theirs):
        b = b.reshape(a.shape) if b.size == a.size else b
        if a.shape != b.shape or a.dtype != b.dtype:
            return False, False, float("inf")
        if np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
            continue
        identical = False
        worst = max(worst, _max_abs_diff(a, b))
        if a.dtype.kind != "f" or not np.allclose(a, b, rtol=FLOAT_RTOL, atol=FLOAT_ATOL, equal_nan=True):
            close = False
    return identical, close, worst


def replay(graph, model_bytes: bytes, inputs: list[np.ndarray], prefix_only: bool = False
           ) -> tuple[int, Divergence | None]:
    """Evaluate node by node, keeping every intermediate tensor on both sides, and compare each
    output with LiteRT's (graph tensor indices are the file's, so they address the same tensors).
    With prefix_only, stop quietly at the first node arielml cannot evaluate (unregistered
    operator or unsupported variant): this checks the supported prefix of a model that does not
    load yet. -> (nodes checked, first divergence or None)."""
    from arielml.errors import UnsupportedOperatorError
    from arielml.ir import NO_TENSOR
    from arielml.ops.registry import LITERT, REGISTRY, lookup

    interpreter = _litert(model_bytes, keep_all=True)
    _invoke(interpreter, inputs)
    values = dict(zip(graph.inputs, inputs))
    for checked, node in enumerate(graph.nodes):
        available = all(t == NO_TENSOR or t in values or graph.tensors[t].is_constant for t in node.inputs)
        if prefix_only and (node.op not in REGISTRY or not available):
            return checked, None
        opdef = lookup(node)
        try:
            opdef.check(node, graph)
            params = opdef.prepare(node, graph, LITERT)
        except UnsupportedOperatorError:
            if prefix_only:
                return checked, None
            raise
        args = [None if t == NO_TENSOR else values[t] if t in values else graph.tensors[t].data for t in node.inputs]
        for t, ours in zip(node.outputs, opdef.evaluate(params, args)):
            values[t] = ours
            theirs = interpreter.get_tensor(t)
            if theirs.size != ours.size:
                return checked, Divergence(node.index, node.op, float("inf"), ours.size, ours.size)
            theirs = theirs.reshape(ours.shape)
            if ours.dtype != theirs.dtype or not np.array_equal(ours, theirs, equal_nan=ours.dtype.kind == "f"):
                differing = int(np.count_nonzero(ours != theirs)) if ours.dtype == theirs.dtype else ours.size
                return checked, Divergence(node.index, node.op, _max_abs_diff(ours, theirs), differing, ours.size)
    return len(graph.nodes), None


# ---------------------------------------------------------------------------------------- sweep

def check_backends(model, ours_all, backends: tuple[str, ...], semantics: str) -> dict[str, str]:
    """The same inputs through compiled backends (2 cores; "emulator:BOARD"), one session each,
    compared byte for byte with arielml's reference outputs."""
    from arielml.errors import ArielError, FitError
    verdicts = {}
    for spec in backends:
        backend, _, target = spec.partition(":")
        kwargs = {"cores": 2, "target": target or ("rp2040" if backend == "emulator" else None)}
        plan = ""
        try:
            try:
                session = model.session(backend=backend, semantics=semantics, **kwargs)
            except FitError:  # the layer-by-layer plan needs more RAM than the board has: try the smallest
                session = model.session(backend=backend, semantics=semantics, optimize="memory", **kwargs)
                plan = " (memory plan)"
            got = session.run_sequence([inputs for _, inputs, _ in ours_all])
        except ArielError as e:
            verdicts[spec] = f"error: {_short(str(e))}"
            continue
        compared = [_compare(g, ours) for g, (_, _, ours) in zip(got, ours_all)]
        differing = sum(not identical for identical, _, _ in compared)
        if not differing:
            verdicts[spec] = "bit-exact" + plan
        elif all(close for _, close, _ in compared):  # float32 outputs summed in another order
            verdicts[spec] = f"float-close {differing}/{len(ours_all)} (max abs diff {max(w for *_, w in compared):.3g})"
        else:
            verdicts[spec] = f"differs {differing}/{len(ours_all)}"
    return verdicts


def check_model(path: Path, runs: int, root: Path | None = None, oracle: str = "litert",
                backends: tuple[str, ...] = ()) -> ModelResult:
    """Never raises (except KeyboardInterrupt): every failure becomes the result's status. The runs
    are one stream: a stateful model carries its state from each input to the next on both sides
    (an arielml session against one oracle interpreter)."""
    import arielml
    from arielml.errors import ArielError, UnsupportedOperatorError

    result = ModelResult(file=str(path.relative_to(root)) if root else path.name, ops=operator_counts(path))
    stage = "loading"
    try:
        started = time.perf_counter()
        model = arielml.load(path)
        result.macs = total_macs(model.graph)
        model_bytes = path.read_bytes()
        stage = "running"
        ours_all, elapsed = [], time.perf_counter() - started
        session = model.session(semantics=oracle)  # the oracle's arithmetic (TFLite Micro: double rounding)
        for seed in range(runs):
            inputs = model.random_inputs(seed)
            started = time.perf_counter()
            ours_all.append((seed, inputs, session.run(inputs)))
            elapsed += time.perf_counter() - started
        result.seconds_arielml = elapsed
    except UnsupportedOperatorError as e:
        _finish(result, UNSUPPORTED, _short(str(e)))
        return check_prefix(path, runs, result) if oracle == "litert" else result
    except ArielError as e:
        return _finish(result, ERROR, f"{type(e).__name__} while {stage}: {e}")
    except Exception as e:
        return _finish(result, BUG, _describe_bug(e, stage))

    try:
        started = time.perf_counter()
        interpreter = _Oracle(oracle, model_bytes, len(model.graph.outputs))
        theirs_all = [interpreter.invoke(inputs) for _, inputs, _ in ours_all]
        result.seconds_litert = time.perf_counter() - started
    except Exception as e:  # the oracle itself cannot run the model: nothing to compare with
        failed = f"{ORACLES[oracle]} failed: {str(e).splitlines()[0][:200]}"
        notes = _no_oracle_notes(model.graph)
        if not notes:
            return _finish(result, ORACLE, failed)
        # an operator no oracle has (Coral's PosenetDecoderOp): the compiled backends are still
        # compared with arielml's reference, and the report says what the reference was checked against
        result.backends = check_backends(model, ours_all, backends, oracle)
        return _finish(result, NO_ORACLE, f"{'; '.join(notes)} ({failed})")

    all_close = True
    for (seed, inputs, ours), theirs in zip(ours_all, theirs_all):
        result.runs += 1
        identical, close, worst = _compare(ours, theirs)
        result.max_abs_diff = max(result.max_abs_diff, worst)
        if identical:
            result.exact_runs += 1
            continue
        all_close &= close
        if result.first_failing_seed is None and not close:
            result.first_failing_seed = seed
    if result.exact_runs == result.runs or all_close:
        result.backends = check_backends(model, ours_all, backends, oracle)
    if result.exact_runs == result.runs:
        return _finish(result, EXACT)
    if all_close:
        return _finish(result, FLOAT_CLOSE)
    if oracle != "litert" or model.stateful:  # the replay keeps every tensor of one stateless LiteRT run
        return _finish(result, MISMATCH)
    try:
        inputs = ours_all[result.first_failing_seed][1]
        _, result.divergence = replay(model.graph, model_bytes, model.check_inputs(inputs))
    except Exception as e:  # the diagnosis is a bonus; keep the mismatch verdict
        result.message = f"(could not localise the divergence: {type(e).__name__}: {e})"
    return _finish(result, MISMATCH, result.message)


def _no_oracle_notes(graph) -> list[str]:
    """What the reference of each operator without an oracle (OpDef.no_oracle) was checked against."""
    from arielml.ops.registry import lookup
    notes = []
    for node in graph.nodes:
        note = lookup(node).no_oracle
        if note and note not in notes:
            notes.append(note)
    return notes


def check_prefix(path: Path, runs: int, result: ModelResult) -> ModelResult:
    """The model does not load as a whole: still compare the operators before the first
    unsupported one, so semantic bugs in supported operators show up on real models early."""
    from arielml.api import Model
    from arielml.errors import ArielError
    from arielml.frontend.tflite import load_tflite
    from arielml.ops.registry import REGISTRY, lookup
    try:
        graph = load_tflite(path)
    except Exception:
        return result
    try:  # MACs live in CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED, so skipping others loses none
        result.macs = sum(int(lookup(n).macs(n, graph)) for n in graph.nodes if n.op in REGISTRY)
    except Exception:
        result.macs = None
    try:
        model_bytes = path.read_bytes()
        _litert(model_bytes)  # LiteRT must run the whole model (custom operators: it cannot)
    except Exception:
        return result
    message = result.message
    try:
        started = time.perf_counter()
        result.prefix_total = len(graph.nodes)
        for seed in range(runs):
            inputs = Model(graph=graph).random_inputs(seed)
            checked, divergence = replay(graph, model_bytes, inputs, prefix_only=True)
            result.runs += 1
            result.prefix_checked = checked if result.prefix_checked is None else min(checked, result.prefix_checked)
            if divergence is not None:
                result.divergence, result.first_failing_seed = divergence, seed
                return _finish(result, PREFIX_MISMATCH, message)
        result.seconds_arielml = time.perf_counter() - started
    except ArielError as e:
        result.message = f"{message} (prefix check stopped: {type(e).__name__}: {_short(str(e))})"
    except Exception as e:
        return _finish(result, BUG, _describe_bug(e, "checking the supported prefix") + f"; model: {message}")
    return result


def _short(message: str) -> str:
    # the registry's message lists every supported operator; the table needs only the first part
    return message.split("; supported operators:")[0]


def _finish(result: ModelResult, status: str, message: str = "") -> ModelResult:
    result.status, result.message = status, " ".join(message.split())
    return result


def _describe_bug(e: Exception, stage: str) -> str:
    # the innermost arielml frame says which module to look at
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "arielml" in f.filename]
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(e).__name__} while {stage}{where}: {str(e)[:300]}"


def _child(connection, path: Path, runs: int, root: Path, oracle: str, backends: tuple[str, ...]) -> None:
    connection.send(check_model(path, runs, root, oracle, backends))
    connection.close()


def check_model_isolated(path: Path, runs: int, root: Path, timeout: float, oracle: str = "litert",
                         backends: tuple[str, ...] = ()) -> ModelResult:
    """check_model in a forked child: LiteRT is native code and can abort the process on models
    it dislikes (seen: "double free or corruption"); that must cost one row, not the sweep."""
    import multiprocessing
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, path, runs, root, oracle, backends), daemon=True)
    child.start()
    sender.close()
    result = None
    if receiver.poll(timeout):
        try:
            result = receiver.recv()
        except EOFError:  # the child died before sending
            pass
    child.join(timeout=5)
    if child.is_alive():
        child.kill()
        child.join()
    if result is not None:
        return result
    result = ModelResult(file=str(path.relative_to(root)), ops=operator_counts(path))
    if child.exitcode is None or child.exitcode == -9:
        return _finish(result, ERROR, f"timed out after {timeout:g} s")
    # arielml itself is pure Python + numpy, so a dead process points at the native oracle
    return _finish(result, ORACLE, f"the checking process died (exit code {child.exitcode}; "
                                   "LiteRT aborted on this model?)")


def sweep(directory: Path, runs: int, only: str | None = None, progress=None,
          isolate: bool = True, timeout: float = 900.0, oracle: str = "litert",
          backends: tuple[str, ...] = ()) -> list[ModelResult]:
    paths = sorted(p for p in directory.rglob("*.tflite") if only is None or only in p.name)
    results = []
    for path in paths:
        if progress is not None:
            progress(path)
        results.append(check_model_isolated(path, runs, directory, timeout, oracle, backends) if isolate
                       else check_model(path, runs, root=directory, oracle=oracle, backends=backends))
    return results


# ---------------------------------------------------------------------------------------- report

def _ops_text(ops: dict[str, int]) -> str:
    return " ".join(f"{op}:{n}" for op, n in ops.items())


def to_json(results: list[ModelResult]) -> dict:
    models = []
    for r in results:
        item = asdict(r)
        item["status_text"] = r.status_text
        models.append(item)
    statuses = Counter(r.status for r in results)
    return {"models": models, "summary": dict(statuses),
            "missing_operators": {op: {"models": m, "instances": n} for op, (m, n) in missing_operators(results).items()}}


def print_table(results: list[ModelResult], console, oracle: str = "litert") -> None:
    from rich.markup import escape
    from rich.table import Table
    colours = {EXACT: "green", FLOAT_CLOSE: "green", MISMATCH: "red", BUG: "bold red",
               UNSUPPORTED: "yellow", PREFIX_MISMATCH: "red", ERROR: "magenta", ORACLE: "cyan",
               NO_ORACLE: "cyan"}
    table = Table(title=f"arielml reference vs {ORACLES[oracle]}", show_lines=True)
    for column in ("model", "ops", "MACs", "status", "time s"):
        table.add_column(column, overflow="fold", justify="right" if column in ("MACs", "time s") else "left")
    for r in results:
        table.add_row(escape(r.file), escape(_ops_text(r.ops)), f"{r.macs:,}" if r.macs is not None else "-",
                      f"[{colours.get(r.status, 'white')}]{escape(r.status_text)}[/]",
                      f"{r.seconds_arielml:.2f} / {r.seconds_litert:.2f}")
    console.print(table)
    console.print(f"time: arielml reference / {ORACLES[oracle]}, all inputs")
    missing = missing_operators(results)
    if missing:
        console.print("operators not in the registry (models, instances): " + escape(
                      ", ".join(f"{op} ({m}, {n})" for op, (m, n) in missing.items())))
    counts = Counter(r.status for r in results)
    console.print("summary: " + ", ".join(f"{status} {n}" for status, n in counts.most_common()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arielml.bench.external", description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path, help="directory searched recursively for .tflite files")
    parser.add_argument("--inputs", type=int, default=3, help="random inputs per model (seeds 0..N-1)")
    parser.add_argument("--only", default=None, help="only models whose file name contains this")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the JSON report to this file")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per model")
    parser.add_argument("--oracle", choices=sorted(ORACLES), default="litert",
                        help="compare with LiteRT's reference kernels (default) or TFLite Micro (semantics tflm)")
    parser.add_argument("--backends", default="",
                        help="also run each model that matches the oracle on these compiled backends (2 cores), "
                             "comma-separated: native, emulator (rp2040) or emulator:BOARD")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        print(f"error: {args.directory} is not a directory", file=sys.stderr)
        return 2
    if args.inputs < 1:
        print("error: --inputs must be at least 1", file=sys.stderr)
        return 2

    from rich.console import Console
    from rich.markup import escape
    stream = sys.stderr if args.json else sys.stdout
    # piped output (logs, CI) gets a wide table instead of rich's 80-column default
    console = Console(stderr=args.json, width=None if stream.isatty() else 220)
    backends = tuple(b for b in args.backends.split(",") if b)
    results = sweep(args.directory, args.inputs, args.only, timeout=args.timeout, oracle=args.oracle,
                    backends=backends, progress=lambda p: console.print(f"[dim]checking {escape(p.name)}[/]"))
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(to_json(results), indent=1, default=str) + "\n")
    if args.json:
        print(json.dumps(to_json(results), indent=1, default=str))
    else:
        print_table(results, console, args.oracle)
    backend_failed = any(v.startswith("differs") for r in results for v in r.backends.values())
    return 1 if backend_failed or any(r.status in FAILING for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
