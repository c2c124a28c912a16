"""The one operator registry. An operator is an `OpDef`: how to read its options, check it, infer
its output shapes, count its MACs, prepare its compile-time parameters and evaluate it in numpy.

Adding an operator touches its family module in `arielml/ops/`, its C kernel, and a test.

The frontend fills each operator's options dataclass from the TFLite schema's options table by
field name: a field `stride_w` is read with the schema accessor `StrideW()`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from arielml.errors import UnsupportedOperatorError
from arielml.ir import Graph, Node

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Semantics:
    """Whose arithmetic is reproduced bit for bit: "litert" (TFLite / LiteRT reference kernels,
    single rounding; the default), "tflm" (TFLite Micro, double rounding) or "onnxruntime" (ONNX
    models only: onnxruntime's CPU provider, float32 requantisation rounded half to even in the
    integer convolutions and matrix products, QuantizeLinear rounded half to even; docs/semantics.md,
    "ONNX Runtime"). Operators onnxruntime semantics does not change keep LiteRT's arithmetic."""

    name: str = "litert"

    @property
    def rounding(self) -> str:
        return "double" if self.name == "tflm" else "single"


LITERT = Semantics("litert")
TFLM = Semantics("tflm")
ONNXRUNTIME = Semantics("onnxruntime")
SEMANTICS = {s.name: s for s in (LITERT, TFLM, ONNXRUNTIME)}

# the ONNX frontend's first note on every graph it makes: how resolve_semantics knows an ONNX model
ONNX_NOTE = "ONNX model: --semantics onnxruntime reproduces onnxruntime's integer arithmetic (docs/onnx.md)"


def resolve_semantics(name, graph=None) -> Semantics:
    """The Semantics called `name`; a clear error for an unknown name, and for "onnxruntime" on a
    model that is not ONNX (a TFLite model has no onnxruntime arithmetic to reproduce)."""
    from arielml.errors import TargetError
    if isinstance(name, Semantics):
        name = name.name
    if name not in SEMANTICS:
        raise TargetError(f"unknown semantics '{name}'; choose one of: {', '.join(SEMANTICS)}")
    if name == "onnxruntime" and graph is not None and ONNX_NOTE not in graph.notes:
        raise TargetError("semantics 'onnxruntime' is for ONNX models (it reproduces onnxruntime's arithmetic); "
                          "this model is not ONNX: use 'litert' (LiteRT, the default) or 'tflm' (TFLite Micro)")
    return SEMANTICS[name]


def _no_macs(node: Node, graph: Graph) -> int:
    return 0


def _no_check(node: Node, graph: Graph) -> None:
    return None


@dataclass(frozen=True)
class OpDef:
    name: str
    # output shapes from input tensors and options; the verifier compares them with the file
    infer_shapes: Callable[[Node, Graph], list[Shape]]
    # compile-time preparation: everything the evaluation needs besides the input arrays
    # (requantisation multipliers, clamp ranges, paddings, output shapes), as a frozen dataclass
    prepare: Callable[[Node, Graph, Semantics], Any]
    # numpy reference: (prepared params, input arrays with None for absent optional inputs) -> outputs
    evaluate: Callable[[Any, list[np.ndarray | None]], list[np.ndarray]]
    options_type: type | None = None  # frozen dataclass of this operator's options
    tflite_options: str | None = None  # name of the schema's options table, e.g. "Conv2DOptions"
    macs: Callable[[Node, Graph], int] = _no_macs
    # raise UnsupportedOperatorError for variants we do not implement (dtype combinations, ...)
    check: Callable[[Node, Graph], None] = _no_check
    # --- compiler side (all optional; see docs/runtime.md "how to add a kernel") ---
    # how many independent work items the output splits into (conv: rows x channel blocks, fc:
    # output neurons, elementwise: element ranges, ...); None = one item (never split)
    work_items: Callable[[Node, Graph], int] | None = None
    # C lowering: (node, graph, prepared params) -> arielml.codegen.kernel_call.KernelCall;
    # None = no C kernel yet (compiling a model that uses the operator fails with a clear error)
    lower: Callable[[Node, Graph, Any], Any] | None = None
    # True for pure views (RESHAPE, SQUEEZE, EXPAND_DIMS): the output shares the input's bytes
    view: bool = False
    # index of an input the output may overwrite in place: output element i depends only on element
    # i of that input (and on other inputs), same byte size; the planner decides if it is dead
    inplace_input: int | None = None
    # (min, max) number of inputs / outputs (max None = unbounded; optional inputs count in max).
    # The verifier checks them before check/infer_shapes index node.inputs; None = use the TFLite
    # defaults in arielml.ir.verify.DEFAULT_ARITY
    num_inputs: tuple[int, int | None] | None = None
    num_outputs: tuple[int, int | None] | None = None
    # positions below the minimum input count that may still be absent (-1): SVDF's bias, LSTM's
    # peephole and projection weights
    optional_inputs: tuple[int, ...] = ()
    # made by a compiler pass, never read from a model file (not listed as a supported operator)
    compiler_only: bool = False
    # positions of inputs that are model state (variable tensors) the operator updates in place
    # (SVDF's activation state). evaluate returns the outputs, then the new value of each of these
    # inputs in this order; the C kernel writes them through the input's buffer pointer.
    state_inputs: tuple[int, ...] = ()
    # state the operator keeps between invocations that the model file has no tensor for (TFLite
    # Micro's persistent buffers: the Signal library's framer and delay lines): (node, graph) -> the
    # (shape, dtype) of each buffer; the frontend appends a hidden variable tensor per buffer to the
    # node's inputs (arielml/ir/state.py), and state_inputs names their positions
    internal_state: Callable[[Node, Graph], list[tuple[tuple[int, ...], str]]] | None = None
    # the output depends only on the inputs' shapes, never their values (SHAPE): with static shapes
    # it is a constant, folded at load time (arielml/ir/fold.py)
    shape_only: bool = False
    # position of a bool state input that, when 0 after the operator ran, ends the invocation there:
    # the operators after it do not run (TFLite Micro's kTfLiteAbort; CIRCULAR_BUFFER). The compiled
    # plan jumps to the end of the op table (passes/early_exit.py); the outputs of such an invocation
    # are unspecified (TFLite Micro's hold whatever its arena held)
    ends_invocation: int | None = None
    # a custom operator's code in the model file (TFLite_Detection_PostProcess, SignalWindow, ...):
    # the frontend reads operators with this custom code as this OpDef
    custom_code: str | None = None
    # an operator no oracle interpreter here runs (LiteRT and TFLite Micro lack it): what its
    # reference was checked against instead; bench.external reports it for models that use it
    no_oracle: str | None = None


REGISTRY: dict[str, OpDef] = {}


def register(op: OpDef) -> OpDef:
    assert op.name not in REGISTRY, f"operator {op.name} registered twice"
    REGISTRY[op.name] = op
    return op


def lookup(node: Node) -> OpDef:
    try:
        return REGISTRY[node.op]
    except KeyError:
        raise UnsupportedOperatorError(
            f"operator {node.op} (operator #{node.index}) is not supported by arielml; "
            f"supported operators: {', '.join(sorted(n for n, op in REGISTRY.items() if not op.compiler_only))}"
        ) from None


def unsupported(node: Node, why: str) -> UnsupportedOperatorError:
    return UnsupportedOperatorError(f"{node.op} (operator #{node.index}): {why}")


ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


def fused_activation(node: Node, code: int) -> str:
    """Name of a fused activation; the ones TFLite kernels cannot fuse are rejected."""
    name = ACTIVATIONS.get(code, f"code {code}")
    if name not in ("NONE", "RELU", "RELU_N1_TO_1", "RELU6"):
        raise unsupported(node, f"fused activation {name} is not supported")
    return name
