"""IR verifier: structural invariants every pass must keep. Run after each pass in tests.

It is also the gate between untrusted model files and operator code: after `verify` succeeds, an
operator may index its inputs and outputs, and every tensor is small enough to allocate. Anything an
operator's own code still raises on a malformed graph (IndexError, ValueError, ZeroDivisionError, ...)
is turned into a ModelFormatError naming the operator by `operator_errors` - the safety net, used here
and by the backends around prepare/evaluate."""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from arielml.errors import ArielError, ModelFormatError, ResourceError, UnsupportedOperatorError
from arielml.ir.graph import DTYPES, NO_TENSOR, Graph, Node

# Limits that keep a corrupt file from asking for gigabytes: no TinyML tensor comes near them.
MAX_RANK = 8
MAX_TENSOR_BYTES = 64 << 20

# (min, max) inputs and outputs of TFLite operators, used when an OpDef does not declare its own
# (`OpDef.num_inputs` / `num_outputs`); None = no upper bound. Optional inputs count in the max.
DEFAULT_ARITY: dict[str, tuple[tuple[int, int | None], tuple[int, int | None]]] = {
    "CONV_2D": ((2, 3), (1, 1)),
    "DEPTHWISE_CONV_2D": ((2, 3), (1, 1)),
    "FULLY_CONNECTED": ((2, 3), (1, 1)),
    "AVERAGE_POOL_2D": ((1, 1), (1, 1)),
    "MAX_POOL_2D": ((1, 1), (1, 1)),
    "ADD": ((2, 2), (1, 1)),
    "SUB": ((2, 2), (1, 1)),
    "MUL": ((2, 2), (1, 1)),
    "MAXIMUM": ((2, 2), (1, 1)),
    "MINIMUM": ((2, 2), (1, 1)),
    "RESHAPE": ((1, 2), (1, 1)),
    "SQUEEZE": ((1, 1), (1, 1)),
    "EXPAND_DIMS": ((2, 2), (1, 1)),
    "SOFTMAX": ((1, 1), (1, 1)),
    "LOG_SOFTMAX": ((1, 1), (1, 1)),
    "LOGISTIC": ((1, 1), (1, 1)),
    "TANH": ((1, 1), (1, 1)),
    "RELU": ((1, 1), (1, 1)),
    "RELU6": ((1, 1), (1, 1)),
    "RELU_N1_TO_1": ((1, 1), (1, 1)),
    "LEAKY_RELU": ((1, 1), (1, 1)),
    "HARD_SWISH": ((1, 1), (1, 1)),
    "QUANTIZE": ((1, 1), (1, 1)),
    "DEQUANTIZE": ((1, 1), (1, 1)),
    "PAD": ((2, 2), (1, 1)),
    "PADV2": ((2, 3), (1, 1)),
    "MEAN": ((2, 2), (1, 1)),
    "CONCATENATION": ((1, None), (1, 1)),
    "SPLIT": ((2, 2), (1, None)),
    "SPLIT_V": ((3, 3), (1, None)),
    "TRANSPOSE": ((2, 2), (1, 1)),
    "STRIDED_SLICE": ((4, 4), (1, 1)),
    "RESIZE_NEAREST_NEIGHBOR": ((2, 2), (1, 1)),
}


def check_tensor_limits(name: str, shape: tuple[int, ...], dtype: str) -> None:
    """Reject shapes no microcontroller model has: they come from corrupt files and would make
    numpy allocate gigabytes."""
    if len(shape) > MAX_RANK:
        raise ModelFormatError(f"tensor '{name}' has {len(shape)} dimensions; arielml supports at most {MAX_RANK} "
                               "(the file is probably corrupt)")
    if any(d < 0 for d in shape):
        raise ModelFormatError(f"tensor '{name}' has a negative dimension {tuple(shape)} (corrupt file)")
    itemsize = DTYPES[dtype].itemsize if dtype in DTYPES else 1
    nbytes = math.prod(int(d) for d in shape) * itemsize  # Python ints: no overflow
    if nbytes > MAX_TENSOR_BYTES:
        raise ModelFormatError(
            f"tensor '{name}' of shape {tuple(shape)} would take {nbytes:,} bytes; arielml refuses tensors over "
            f"{MAX_TENSOR_BYTES >> 20} MiB (a microcontroller model never needs one; the file is probably corrupt)")


def arity(node: Node) -> tuple[tuple[int, int | None], tuple[int, int | None]] | None:
    from arielml.ops.registry import REGISTRY
    opdef = REGISTRY.get(node.op)
    declared_in = getattr(opdef, "num_inputs", None)
    declared_out = getattr(opdef, "num_outputs", None)
    default_in, default_out = DEFAULT_ARITY.get(node.op, (None, None))
    inputs, outputs = declared_in or default_in, declared_out or default_out
    if inputs is None and outputs is None:
        return None
    return inputs or (0, None), outputs or (1, None)


def check_arity(node: Node) -> None:
    """Operator code indexes node.inputs[k] / node.outputs[k]; make sure those exist first."""
    bounds = arity(node)
    if bounds is None:
        return
    for what, count, (lo, hi) in (("inputs", len(node.inputs), bounds[0]), ("outputs", len(node.outputs), bounds[1])):
        if count < lo or (hi is not None and count > hi):
            expected = f"{lo}" if lo == hi else f"{lo} or more" if hi is None else f"{lo} to {hi}"
            raise ModelFormatError(
                f"{node.op} (operator #{node.index}) has {count} {what}, the operator takes {expected} (corrupt file)")
    from arielml.ops.registry import REGISTRY
    required = bounds[0][0]
    opdef = REGISTRY.get(node.op)
    optional = opdef.optional_inputs if opdef is not None else ()
    for position, t in enumerate(node.inputs[:required]):
        if t == NO_TENSOR and position not in optional:
            raise ModelFormatError(f"{node.op} (operator #{node.index}): required input {position} is missing")
    if any(t == NO_TENSOR for t in node.outputs):
        raise ModelFormatError(f"{node.op} (operator #{node.index}): an output tensor is missing")


class OperatorFailure(ModelFormatError):
    """Operator code failed on a graph the verifier let through (raised by the safety net)."""


@contextmanager
def operator_errors(node: Node, stage: str) -> Iterator[None]:
    """Safety net: operator code that trips over a malformed graph (IndexError, ValueError,
    ZeroDivisionError, OverflowError, MemoryError, ...) becomes a user-facing error naming the
    operator. The verifier's checks should catch malformed graphs first; this catches what they miss."""
    try:
        yield
    except ArielError:
        raise
    except MemoryError as e:  # the host, not the model, is short: say so, not "inconsistent tensors"
        raise ResourceError(
            f"{node.op} (operator #{node.index}) ran out of memory in {stage} ({type(e).__name__}"
            f"{': ' + str(e) if str(e) else ''}); free memory or raise the process's memory limit") from e
    except Exception as e:
        raise OperatorFailure(
            f"{node.op} (operator #{node.index}) failed in {stage}: {type(e).__name__}: {e}. The operator's "
            "tensors or options are inconsistent; if the model runs in TFLite, this is an arielml bug "
            "(rerun with --debug and report it)") from e


def _check_quant(graph: Graph) -> None:
    for tensor in graph.tensors:
        q = tensor.quant
        if q is None:
            continue
        if not all(math.isfinite(s) for s in q.scale):
            raise ModelFormatError(f"tensor '{tensor.name}' has a non-finite quantisation scale (corrupt file)")
        if q.per_channel:
            # converters write any axis on 1-D per-channel tensors (TFLM's person_detect biases say
            # 3); LiteRT ignores it there, and so does arielml (the frontend reads it as 0)
            if not 0 <= q.axis < len(tensor.shape) or tensor.shape[q.axis] != len(q.scale):
                raise ModelFormatError(
                    f"tensor '{tensor.name}' of shape {tensor.shape} has {len(q.scale)} per-channel scales "
                    f"along axis {q.axis}; they must match that dimension (corrupt file)")


from arielml.ops.registry import lookup  # noqa: E402


def verify(graph: Graph, placed: frozenset[int] = frozenset()) -> Graph:
    """Raise ModelFormatError (or UnsupportedOperatorError) when the graph is malformed; return it
    unchanged otherwise.

    Checks: tensor sizes and ranks are sane; tensor references are in range; each operator has the
    inputs and outputs it needs; every non-constant tensor a node reads is a graph input or written
    earlier (execution order is a topological order); each tensor has one writer; constant data
    matches its shape; quantisation parameters fit their tensor; every operator's inferred output
    shapes match the tensors. `placed`: tensors whose bytes lie inside another tensor's (a plan's
    band rows, passes/bands.py): other tensors' writers fill them, so reading them is no error."""
    _verify(graph, allow_unsupported=False, placed=placed)
    return graph


def unsupported_operators(graph: Graph) -> dict[int, str]:
    """Verify the graph but tolerate operators arielml cannot run (for `inspect`): returns node
    position -> why it is unsupported. Structural damage still raises ModelFormatError."""
    return _verify(graph, allow_unsupported=True)


def _verify(graph: Graph, allow_unsupported: bool, placed: frozenset[int] = frozenset()) -> dict[int, str]:
    from arielml.ops.registry import REGISTRY

    n = len(graph.tensors)
    unsupported: dict[int, str] = {}
    for t in graph.inputs + graph.outputs:
        if not 0 <= t < n:
            raise ModelFormatError(f"graph input/output {t} is not a tensor")
    if len(set(graph.inputs)) != len(graph.inputs):
        raise ModelFormatError("the graph lists the same input tensor twice (corrupt file)")
    for t in graph.inputs:
        # the caller writes a graph input: backends place it in the arena, never over constant data
        # (the frontend turns such a file's input into a plain input; see arielml.frontend.tflite)
        if graph.tensors[t].is_constant:
            raise ModelFormatError(f"graph input '{graph.tensors[t].name}' has constant data; an input must not "
                                   "(drop the data or the tensor from the graph's inputs)")
    for tensor in graph.tensors:
        if tensor.dtype not in DTYPES:
            raise ModelFormatError(f"tensor '{tensor.name}' has unknown dtype {tensor.dtype}")
        check_tensor_limits(tensor.name, tensor.shape, tensor.dtype)
        if tensor.data is not None and tuple(tensor.data.shape) != tensor.shape:
            raise ModelFormatError(f"constant '{tensor.name}' data shape {tensor.data.shape} != {tensor.shape}")
    _check_quant(graph)
    for t in graph.inputs:
        if graph.tensors[t].variable:
            raise ModelFormatError(f"graph input '{graph.tensors[t].name}' is a variable (state) tensor; the model "
                                   "keeps its state itself, so it cannot be an input (corrupt file)")
    writers = {t for node in graph.nodes for t in node.outputs}
    # variables hold a value from the start (their reset value); operators update them in place
    written: set[int] = set(graph.inputs) | (placed - writers) | set(graph.variables)
    for position, node in enumerate(graph.nodes):
        where = f"{node.op} (operator #{node.index})"
        known = node.op in REGISTRY
        if not known and not allow_unsupported:
            # say "unsupported" before anything else: stateful operators (LSTM, SVDF) read
            # variable tensors that nothing writes, which would otherwise look like corruption
            lookup(node)
        for t in node.inputs:
            if t == NO_TENSOR:
                continue
            if not 0 <= t < n:
                raise ModelFormatError(f"{where} reads tensor {t}, which does not exist")
            if known and t not in written and not graph.tensors[t].is_constant:
                if t not in writers:  # no operator writes it: data the file should carry is absent
                    raise ModelFormatError(
                        f"{where} reads '{graph.tensors[t].name}', which has no data: its constant (weight) buffer "
                        "is missing or empty and no operator writes it (corrupt or truncated file; re-export "
                        "it from the converter)")
                raise ModelFormatError(f"{where} reads '{graph.tensors[t].name}' before anything writes it")
        for t in node.outputs:
            if t == NO_TENSOR or not 0 <= t < n:
                raise ModelFormatError(f"{where} writes tensor {t}, which does not exist")
            if graph.tensors[t].variable:
                raise ModelFormatError(f"{where} lists the variable tensor '{graph.tensors[t].name}' as an output; "
                                       "state is updated through an operator's state input (corrupt file)")
            if t in written or graph.tensors[t].is_constant:
                raise ModelFormatError(f"{where} writes '{graph.tensors[t].name}', which already has a value")
            written.add(t)
        if node.op not in REGISTRY and allow_unsupported:
            unsupported[position] = "operator not implemented"
            continue
        try:
            _check_node(node, graph)
        except UnsupportedOperatorError as e:
            if not allow_unsupported:
                raise
            unsupported[position] = str(e)
    for t in graph.outputs:
        if t not in written and not graph.tensors[t].is_constant:
            raise ModelFormatError(f"graph output '{graph.tensors[t].name}' is never written")
    return unsupported


def _check_node(node: Node, graph: Graph) -> None:
    from arielml.ops.registry import lookup

    opdef = lookup(node)  # UnsupportedOperatorError for operators we do not implement
    check_arity(node)
    where = f"{node.op} (operator #{node.index})"
    for k in opdef.state_inputs:
        t = node.inputs[k] if k < len(node.inputs) else NO_TENSOR
        if t == NO_TENSOR or not graph.tensors[t].variable:
            raise ModelFormatError(f"{where}: input {k} is the operator's state and must be a variable tensor "
                                   "(is_variable in the file); re-export the model from the converter")
    with operator_errors(node, "check"):
        opdef.check(node, graph)
        inferred = [tuple(int(d) for d in shape) for shape in opdef.infer_shapes(node, graph)]
    if len(inferred) != len(node.outputs):
        raise ModelFormatError(f"{where} has {len(node.outputs)} outputs in the file, the operator gives {len(inferred)}")
    for t, shape in zip(node.outputs, inferred):
        if shape != graph.tensors[t].shape:
            raise ModelFormatError(
                f"{where}: output '{graph.tensors[t].name}' has shape {graph.tensors[t].shape} in the file, "
                f"but the operator gives {shape}")
