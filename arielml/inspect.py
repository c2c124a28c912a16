"""Static analysis of a graph for `arielml inspect` and `Model.summary()`: per-operator shapes,
dtypes, quantisation, MACs and parameter bytes; totals; peak bytes of live activations.

Works on graphs with unsupported operators (they are listed, not fatal), so users can see what a model
needs before anything runs. Activations are the non-constant tensors: one is live from the operator
that writes it (or the start, for graph inputs) to its last reader (or the end, for graph outputs).
Constants are parameters, counted once even when several operators share them."""
from __future__ import annotations

import io
from dataclasses import dataclass

from arielml.ir import NO_TENSOR, Graph, QuantParams, Tensor
from arielml.ir.verify import operator_errors, unsupported_operators


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    constant: bool
    quant: QuantParams | None

    def to_json(self) -> dict:
        quant = None if self.quant is None else {
            "scale": list(self.quant.scale), "zero_point": list(self.quant.zero_point), "axis": self.quant.axis}
        return {"index": self.index, "name": self.name, "shape": list(self.shape), "dtype": self.dtype,
                "constant": self.constant, "quant": quant}


@dataclass(frozen=True)
class OpSummary:
    index: int  # position in the source model
    type: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    macs: int
    params_bytes: int
    unsupported: str | None = None  # why arielml cannot run it; None when supported

    def to_json(self) -> dict:
        return {"index": self.index, "type": self.type, "supported": self.unsupported is None,
                "unsupported_reason": self.unsupported, "macs": self.macs, "params_bytes": self.params_bytes,
                "inputs": [t.to_json() for t in self.inputs], "outputs": [t.to_json() for t in self.outputs]}


@dataclass(frozen=True)
class Summary:
    name: str
    ops: tuple[OpSummary, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    macs: int
    params_bytes: int  # unique constant tensors read by operators
    peak_activation_bytes: int
    peak_at: int | None  # source index of the operator running at the peak (None: before/after all)
    notes: tuple[str, ...]

    @property
    def unsupported(self) -> tuple[OpSummary, ...]:
        return tuple(op for op in self.ops if op.unsupported is not None)

    def to_json(self) -> dict:
        return {"model": self.name, "ops": [op.to_json() for op in self.ops],
                "inputs": [t.to_json() for t in self.inputs], "outputs": [t.to_json() for t in self.outputs],
                "macs": self.macs, "params_bytes": self.params_bytes,
                "peak_activation_bytes": self.peak_activation_bytes, "peak_at_op": self.peak_at,
                "unsupported": [{"index": op.index, "type": op.type, "reason": op.unsupported}
                                for op in self.unsupported],
                "notes": list(self.notes)}


def _info(graph: Graph, index: int) -> TensorInfo:
    t: Tensor = graph.tensors[index]
    return TensorInfo(index, t.name, t.shape, t.dtype, t.is_constant, t.quant)


def live_ranges(graph: Graph) -> dict[int, tuple[int, int]]:
    """Activation tensor -> (first, last) node position where it is live, inclusive. Graph inputs
    start at -1 (before the first node), graph outputs end at len(nodes) (after the last)."""
    end_of_graph = len(graph.nodes)
    ranges: dict[int, list[int]] = {t: [-1, -1] for t in graph.inputs if not graph.tensors[t].is_constant}
    for pos, node in enumerate(graph.nodes):
        for t in node.outputs:
            ranges[t] = [pos, pos]
        for t in node.inputs:
            if t != NO_TENSOR and t in ranges:
                ranges[t][1] = max(ranges[t][1], pos)
    for t in graph.outputs:
        if t in ranges:
            ranges[t][1] = end_of_graph
    return {t: (lo, hi) for t, (lo, hi) in ranges.items()}


def peak_activation(graph: Graph) -> tuple[int, int | None]:
    """(peak bytes of simultaneously live activations, position of the node where it occurs)."""
    # a sweep over positions -1..len(nodes): each tensor adds its bytes where it starts to live and
    # takes them back after its last use (linear in graph size, for graphs of thousands of operators)
    ranges = live_ranges(graph)
    first = -1
    change = [0] * (len(graph.nodes) + 3)
    for t, (lo, hi) in ranges.items():
        change[lo - first] += graph.tensors[t].nbytes
        change[hi - first + 1] -= graph.tensors[t].nbytes
    best, best_pos, live = 0, None, 0
    for pos in range(first, len(graph.nodes) + 1):
        live += change[pos - first]
        if live > best:
            best, best_pos = live, pos
    return best, best_pos


def summarize(graph: Graph) -> Summary:
    """Analyse a graph (loaded with `arielml.frontend.tflite.load_tflite`); unsupported operators are
    reported in the result. Raises ModelFormatError only for structural damage."""
    from arielml.ops.registry import REGISTRY

    unsupported = unsupported_operators(graph)
    ops = []
    all_params: set[int] = set()
    for pos, node in enumerate(graph.nodes):
        constants = {t for t in node.inputs if t != NO_TENSOR and graph.tensors[t].is_constant}
        all_params |= constants
        reason = unsupported.get(pos)
        macs = 0
        if reason is None:
            with operator_errors(node, "MAC counting"):  # safety net, as in the verifier
                macs = int(REGISTRY[node.op].macs(node, graph))
        ops.append(OpSummary(
            index=node.index, type=node.op,
            inputs=tuple(_info(graph, t) for t in node.inputs if t != NO_TENSOR),
            outputs=tuple(_info(graph, t) for t in node.outputs),
            macs=macs, params_bytes=sum(graph.tensors[t].nbytes for t in constants), unsupported=reason))
    peak, peak_pos = peak_activation(graph)
    peak_at = graph.nodes[peak_pos].index if peak_pos is not None and 0 <= peak_pos < len(graph.nodes) else None
    return Summary(
        name=graph.name, ops=tuple(ops),
        inputs=tuple(_info(graph, t) for t in graph.inputs), outputs=tuple(_info(graph, t) for t in graph.outputs),
        macs=sum(op.macs for op in ops), params_bytes=sum(graph.tensors[t].nbytes for t in all_params),
        peak_activation_bytes=peak, peak_at=peak_at, notes=graph.notes)


# ---- presentation -------------------------------------------------------------------------------

def format_shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape) if shape else "scalar"


def format_quant(quant: QuantParams | None) -> str:
    if quant is None:
        return "-"
    if quant.per_channel:
        return f"per-channel ×{len(quant.scale)} (axis {quant.axis})"
    return f"s={quant.scale[0]:.4g} zp={quant.zero_point[0]}"


def _tensor_list(infos: tuple[TensorInfo, ...]) -> str:
    return "\n".join(f"{t.dtype} {format_shape(t.shape)}" for t in infos)


def _quant_summary(op: OpSummary) -> str:
    parts = []
    activations = [t for t in op.inputs if not t.constant][:1] + list(op.outputs[:1])
    for label, t in zip(("in", "out"), activations):
        if t.quant is not None:
            parts.append(f"{label} {format_quant(t.quant)}")
    weights = [t for t in op.inputs if t.constant and t.quant is not None and t.quant.per_channel]
    if weights:
        parts.append(f"w {format_quant(weights[0].quant)}")
    return "\n".join(parts) or "-"


def render(summary: Summary):
    """Rich renderables: the operator table, then totals, unsupported operators and notes."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    # names come from the model file (its name, custom operator codes): escaped, never read as markup
    table = Table(title=escape(f"{summary.name}: {len(summary.ops)} operators"), show_lines=False)
    for column, justify in (("#", "right"), ("operator", "left"), ("inputs", "left"), ("outputs", "left"),
                            ("quantisation", "left"), ("MACs", "right"), ("params", "right")):
        table.add_column(column, justify=justify)
    for op in summary.ops:
        name = escape(op.type) if op.unsupported is None else f"[red]{escape(op.type)} ✗ unsupported[/red]"
        table.add_row(str(op.index), name, _tensor_list(tuple(t for t in op.inputs if not t.constant)),
                      _tensor_list(op.outputs), _quant_summary(op), f"{op.macs:,}", f"{op.params_bytes:,}")
    peak_where = f" (at operator #{summary.peak_at})" if summary.peak_at is not None else ""
    totals = Text.from_markup(
        f"MACs [bold]{summary.macs:,}[/bold]   parameters [bold]{summary.params_bytes:,}[/bold] bytes   "
        f"peak activations [bold]{summary.peak_activation_bytes:,}[/bold] bytes{peak_where}")
    parts = [table, totals]
    # the graph's inputs and outputs by name (what a caller feeds and reads); Text keeps names literal
    for label, infos in (("input", summary.inputs), ("output", summary.outputs)):
        for i, t in enumerate(infos):
            quant = f" ({format_quant(t.quant)})" if t.quant is not None else ""
            parts.append(Text(f"{label} {i}: {t.name!r} {t.dtype} {format_shape(t.shape)}{quant}"))
    for op in summary.unsupported:
        parts.append(Text(f"unsupported: {op.type} (operator #{op.index}): {op.unsupported}", style="red"))
    for note in summary.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    return Group(*parts)


def summarize_text(graph: Graph, width: int = 120) -> str:
    """Plain-text summary (what `Model.summary()` returns)."""
    from rich.console import Console
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    console.print(render(summarize(graph)))
    return console.file.getvalue()


def operator_table_markdown() -> str:
    """The README's table of supported operators, generated from the registry (a test keeps the
    README equal to it). Family = the module in arielml/ops that implements the operator; custom
    operators show the custom code a model file names them by; cores: "split" when the operator's
    work splits into items the cores share, "one" when one core runs it; state: it keeps state from
    one inference to the next."""
    import arielml.ops  # noqa: F401  (fills the registry)
    from arielml.ops.registry import REGISTRY

    lines = ["| Operator | Family | Cores | State | MACs counted |", "|---|---|---|---|---|"]
    for name in sorted(REGISTRY, key=lambda n: (REGISTRY[n].custom_code is not None, n)):
        opdef = REGISTRY[name]
        if opdef.compiler_only:
            continue
        family = opdef.evaluate.__module__.rsplit(".", 1)[-1]
        counted = "yes" if opdef.macs.__name__ != "_no_macs" else "-"
        label = f"`{name}`" if opdef.custom_code is None else f"`{opdef.custom_code}` (custom)"
        cores = "-" if opdef.view or opdef.lower is None else "split" if opdef.work_items is not None else "one"
        state = "yes" if opdef.state_inputs or opdef.internal_state is not None else "-"
        lines.append(f"| {label} | {family} | {cores} | {state} | {counted} |")
    return "\n".join(lines) + "\n"


__all__ = ["OpSummary", "Summary", "TensorInfo", "live_ranges", "operator_table_markdown",
           "peak_activation", "render", "summarize", "summarize_text"]


def update_readme(readme_path) -> bool:
    """Rewrite the operator table between the README's markers; True if it changed."""
    from pathlib import Path
    path = Path(readme_path)
    text = path.read_text()
    begin, end = "<!-- operators:begin -->\n", "<!-- operators:end -->"
    head, sep, rest = text.partition(begin)
    if not sep or end not in rest:
        raise SystemExit(f"{path}: markers {begin.strip()} / {end} not found")
    new = head + begin + operator_table_markdown() + end + rest.split(end, 1)[1]
    if new != text:
        path.write_text(new)
    return new != text


if __name__ == "__main__":  # python -m arielml.inspect --readme: regenerate the README's operator table
    import sys
    from pathlib import Path
    if sys.argv[1:] != ["--readme"]:
        raise SystemExit("usage: python -m arielml.inspect --readme")
    readme = Path(__file__).resolve().parents[1] / "README.md"
    print(f"{readme}: {'updated' if update_readme(readme) else 'already up to date'}")
