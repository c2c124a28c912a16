"""DETECTION_POSTPROCESS: TFLite's custom operator "TFLite_Detection_PostProcess" (the SSD detection
head), as TFLite Micro implements it. Its options are a flexbuffer map in the operator's custom
options (read by the frontend into `DetectionPostprocessOptions`).

Inputs: box encodings [1, boxes, >= 4] (y, x, h, w relative to the anchors), class scores
[1, boxes, classes (+ 1 background)], anchors [boxes, 4] (y, x, h, w). Outputs, all float32:
boxes [1, max_detections, 4] (ymin, xmin, ymax, xmax), classes [1, max_detections], scores
[1, max_detections], number of detections [1].

What is computed, step for step as TFLite Micro does it:
  1. decode every box in double precision: y = ty / y_scale * anchor_h + anchor_y (x likewise),
     half_h = 0.5 * exp(th / h_scale) * anchor_h (w likewise), each rounded to float32, then the
     corners in float32. exp is the C library's double exp (numpy's float64 exp here): they may
     differ in the last bit of a double, which survives the rounding to float32 with a chance of
     about 2^-29 per value; every test has been bit-exact.
  2. fast NMS (the default): each box's best class (highest score, lowest class index on ties),
     non-maximum suppression over those scores; regular NMS (use_regular_nms): NMS per class (at
     most detections_per_class each), the survivors merged and re-sorted by score (ties: earlier
     first), the best max_detections kept.
  3. the NMS of one score list: boxes scoring >= nms_score_threshold, sorted by score descending
     with ties in box order (TFLite Micro's stable merge sort), then greedily selected; a selected
     box suppresses every later candidate whose float32 intersection-over-union with it is above
     nms_iou_threshold.
Detections beyond the count: regular NMS writes zeros; TFLite Micro's fast NMS leaves them
untouched (whatever the buffer held), arielml writes zeros there too. A decoded box with
ymin >= ymax or xmin >= xmax makes TFLite Micro fail the inference; arielml's reference raises
InputError and the C kernel reports no detection.

Inputs are float32 (TFLite Micro takes nothing else) or, as LiteRT also accepts, uint8, each
dequantised first as LiteRT's Dequantizer does it: (float32(q) - float32(zero_point)) * scale in
float32 (tested against LiteRT; int8 inputs make LiteRT fail the inference and are refused; box
encodings and anchors must share their type, as LiteRT reads both with the encodings'). One
class per detection in fast NMS (max_classes_per_detection > 1 makes TFLite
Micro write its outputs at k * n + c with n counting every write, past the end of its
max_detections rows: refused).

Single core (one work item): NMS is a sequential greedy loop, every step depending on the boxes
selected before it, and the operator runs once per inference on a few hundred boxes; only the
decoding would split, and it is a small part of the work. The C kernel is
runtime/kernels/detection_postprocess.c; it needs scratch memory (see `scratch_bytes`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.errors import InputError
from arielml.ir import Graph, Node
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import input_tensor


@dataclass(frozen=True)
class DetectionPostprocessOptions:
    """The flexbuffer map's keys (float values are read as float32, as TFLite Micro's AsFloat)."""

    max_detections: int = 0
    max_classes_per_detection: int = 0
    detections_per_class: int = 100
    use_regular_nms: bool = False
    nms_score_threshold: float = 0.0
    nms_iou_threshold: float = 0.0
    num_classes: int = 0
    y_scale: float = 0.0
    x_scale: float = 0.0
    h_scale: float = 0.0
    w_scale: float = 0.0


@dataclass(frozen=True)
class DetectionParams:
    boxes: int
    encoding_width: int  # values per box encoding (>= 4; the first 4 are used)
    classes_with_background: int
    label_offset: int
    options: DetectionPostprocessOptions
    # per input (encodings, scores, anchors): None for float32, else uint8's (zero point, scale)
    dequantise: tuple[tuple[int, float] | None, ...] = (None, None, None)


def _plan(node: Node, graph: Graph) -> DetectionParams:
    o = node.options or DetectionPostprocessOptions()
    encodings = input_tensor(node, graph, 0, "box encodings")
    scores = input_tensor(node, graph, 1, "class predictions")
    anchors = input_tensor(node, graph, 2, "anchors")
    outputs = [graph.tensors[t] for t in node.outputs]
    for t in outputs:
        if t.dtype != "float32":
            raise unsupported(node, f"output '{t.name}' is {t.dtype}; the outputs are float32")
    dequantise = []
    for t in (encodings, scores, anchors):
        if t.dtype == "float32":
            dequantise.append(None)
        elif t.dtype == "uint8" and t.quant is not None and not t.quant.per_channel:
            dequantise.append((int(t.quant.zero_point[0]), float(np.float32(t.quant.scale[0]))))
        else:
            raise unsupported(node, f"input '{t.name}' is {t.dtype}; the inputs must be float32 or per-tensor "
                                    "quantised uint8 (as LiteRT; TFLite Micro takes float32 only)")
    if encodings.dtype != anchors.dtype:
        raise unsupported(node, f"box encodings are {encodings.dtype} but anchors {anchors.dtype}: LiteRT reads both "
                                "with the encodings' type (a mixed pair fails there or is misread); use one type")
    if len(encodings.shape) != 3 or len(scores.shape) != 3 or len(anchors.shape) != 2:
        raise unsupported(node, f"needs box encodings [1, boxes, 4], scores [1, boxes, classes] and anchors "
                                f"[boxes, 4], got {encodings.shape}, {scores.shape}, {anchors.shape}")
    boxes = encodings.shape[1]
    if encodings.shape[0] != 1 or scores.shape[:2] != (1, boxes) or encodings.shape[2] < 4 \
            or anchors.shape != (boxes, 4) or boxes < 1:
        raise unsupported(node, f"box encodings {encodings.shape}, scores {scores.shape} and anchors {anchors.shape} "
                                "do not fit (batch 1, the same number of boxes, 4 coordinates)")
    with_background = scores.shape[2]
    if o.num_classes < 1 or not 0 <= with_background - o.num_classes <= 1:
        raise unsupported(node, f"num_classes {o.num_classes} does not fit {with_background} score columns "
                                "(equal, or one more for the background)")
    if o.max_detections < 1 or not 0.0 < o.nms_iou_threshold <= 1.0:
        raise unsupported(node, f"needs max_detections >= 1 and 0 < nms_iou_threshold <= 1, got "
                                f"{o.max_detections} and {o.nms_iou_threshold}")
    if o.use_regular_nms and o.detections_per_class < 1:
        raise unsupported(node, "detections_per_class must be >= 1")
    if not o.use_regular_nms and min(o.max_classes_per_detection, o.num_classes) != 1:
        raise unsupported(node, f"fast NMS with {o.max_classes_per_detection} classes per detection is not supported "
                                "(TFLite Micro writes those outputs past their end); re-export with "
                                "max_classes_per_detection=1 or use_regular_nms")
    if any(s == 0 for s in (o.y_scale, o.x_scale, o.h_scale, o.w_scale)):
        raise unsupported(node, "the box scales (y_scale, x_scale, h_scale, w_scale) must not be 0")
    if len(node.outputs) != 4:
        raise unsupported(node, f"needs 4 outputs (boxes, classes, scores, count), the model has {len(node.outputs)}")
    return DetectionParams(boxes, encodings.shape[2], with_background, with_background - o.num_classes, o,
                           tuple(dequantise))


def _out_shapes(p: DetectionParams) -> list[tuple[int, ...]]:
    m = p.options.max_detections
    return [(1, m, 4), (1, m), (1, m), (1,)]


def check(node: Node, graph: Graph) -> None:
    _plan(node, graph)


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return _out_shapes(_plan(node, graph))


def prepare(node: Node, graph: Graph, semantics: Semantics) -> DetectionParams:
    return _plan(node, graph)


# --------------------------------------------------------------------------- numpy reference

def decode_boxes(p: DetectionParams, encodings: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """[boxes, 4] float32 corners (ymin, xmin, ymax, xmax), in double then float32 as TFLite Micro."""
    o = p.options
    e = encodings.reshape(p.boxes, p.encoding_width)[:, :4].astype(np.float64)
    a = anchors.astype(np.float64)
    scales = [float(np.float32(s)) for s in (o.y_scale, o.x_scale, o.h_scale, o.w_scale)]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ycenter = (e[:, 0] / scales[0] * a[:, 2] + a[:, 0]).astype(np.float32)
        xcenter = (e[:, 1] / scales[1] * a[:, 3] + a[:, 1]).astype(np.float32)
        half_h = (0.5 * np.exp(e[:, 2] / scales[2]) * a[:, 2]).astype(np.float32)
        half_w = (0.5 * np.exp(e[:, 3] / scales[3]) * a[:, 3]).astype(np.float32)
        return np.stack([ycenter - half_h, xcenter - half_w, ycenter + half_h, xcenter + half_w], axis=1)


def _iou(boxes: np.ndarray, i: int, others: np.ndarray) -> np.ndarray:
    """float32 intersection over union of box i with boxes `others`, operation for operation as
    TFLite Micro's ComputeIntersectionOverUnion."""
    bi, bj = boxes[i], boxes[others]
    area_i = (bi[2] - bi[0]) * (bi[3] - bi[1])
    area_j = (bj[:, 2] - bj[:, 0]) * (bj[:, 3] - bj[:, 1])
    inter_h = np.maximum(np.minimum(bi[2], bj[:, 2]) - np.maximum(bi[0], bj[:, 0]), np.float32(0))
    inter_w = np.maximum(np.minimum(bi[3], bj[:, 3]) - np.maximum(bi[1], bj[:, 1]), np.float32(0))
    inter = inter_h * inter_w
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (area_i + area_j - inter)
    return np.where((area_i <= 0) | (area_j <= 0), np.float32(0), iou).astype(np.float32)


def nms_single_class(p: DetectionParams, boxes: np.ndarray, scores: np.ndarray, limit: int) -> list[int]:
    """Indices of the boxes selected for one score list, in selection order."""
    o = p.options
    kept = np.flatnonzero(scores >= np.float32(o.nms_score_threshold))
    order = kept[np.argsort(-scores[kept], kind="stable")]  # descending, ties in box order
    active = np.ones(len(order), dtype=bool)
    selected: list[int] = []
    threshold = np.float32(o.nms_iou_threshold)
    for i in range(len(order)):
        if len(selected) >= min(len(order), limit) or not active.any():
            break
        if not active[i]:
            continue
        selected.append(int(order[i]))
        active[i] = False
        later = np.flatnonzero(active[i + 1:]) + i + 1
        if len(later):
            active[later[_iou(boxes, int(order[i]), order[later]) > threshold]] = False
    return selected


def _dequantised(values: np.ndarray, quant: tuple[int, float] | None) -> np.ndarray:
    """LiteRT's Dequantizer: (float32(q) - float32(zero_point)) * scale, in float32."""
    if quant is None:
        return values
    return ((values.astype(np.float32) - np.float32(quant[0])) * np.float32(quant[1])).astype(np.float32)


def evaluate(p: DetectionParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    o = p.options
    inputs = [_dequantised(a, q) for a, q in zip(inputs, p.dequantise)]
    boxes = decode_boxes(p, inputs[0], inputs[2])
    if np.any((boxes[:, 0] >= boxes[:, 2]) | (boxes[:, 1] >= boxes[:, 3])):
        raise InputError("DETECTION_POSTPROCESS: a decoded box has ymin >= ymax or xmin >= xmax (its height or "
                         "width underflowed to 0, or an anchor is empty); TFLite Micro fails the inference there")
    scores = inputs[1].reshape(p.boxes, p.classes_with_background)[:, p.label_offset:]
    out_boxes = np.zeros((1, o.max_detections, 4), dtype=np.float32)
    out_classes = np.zeros((1, o.max_detections), dtype=np.float32)
    out_scores = np.zeros((1, o.max_detections), dtype=np.float32)
    if o.use_regular_nms:
        merged_box: list[int] = []
        merged_class: list[int] = []
        merged_score = np.zeros(0, dtype=np.float32)
        for c in range(o.num_classes):
            picked = nms_single_class(p, boxes, scores[:, c], o.detections_per_class)
            merged_box += picked
            merged_class += [c] * len(picked)
            merged_score = np.concatenate([merged_score, scores[picked, c]])
            keep = np.argsort(-merged_score, kind="stable")[:min(len(merged_score), o.max_detections)]
            merged_box = [merged_box[k] for k in keep]
            merged_class = [merged_class[k] for k in keep]
            merged_score = merged_score[keep]
        count = len(merged_box)
        out_boxes[0, :count] = boxes[merged_box]
        out_classes[0, :count] = merged_class
        out_scores[0, :count] = merged_score
    else:
        best = np.argmax(scores, axis=1)  # first maximum: the lowest class index on ties
        best_scores = scores[np.arange(p.boxes), best]
        picked = nms_single_class(p, boxes, best_scores, o.max_detections)
        count = len(picked)
        out_boxes[0, :count] = boxes[picked]
        out_classes[0, :count] = best[picked]
        out_scores[0, :count] = best_scores[picked]
    return [out_boxes, out_classes, out_scores, np.array([count], dtype=np.float32)]


# --------------------------------------------------------------------------- C lowering

def scratch_bytes(p: DetectionParams) -> int:
    """The kernel's scratch layout (kernels/detection_postprocess.c, scratch_layout): decoded boxes
    (4 floats per box), per-box scores, kept scores, kept indices, order, merge buffer and the
    selection (one float or int32 each per box), for regular NMS the merged list (box, class, score,
    order, merge buffer, spare class, spare score: M each, M = max_detections +
    detections_per_class), then the active flags (one byte per box)."""
    n = p.boxes
    merged = p.options.max_detections + p.options.detections_per_class if p.options.use_regular_nms else 0
    return 4 * (4 * n + 6 * n) + 4 * 7 * merged + n


def lower(node: Node, graph: Graph, p: DetectionParams) -> KernelCall:
    o = p.options
    fields = (("boxes", p.boxes), ("encoding_width", p.encoding_width),
              ("classes_with_background", p.classes_with_background), ("label_offset", p.label_offset),
              ("num_classes", o.num_classes), ("max_detections", o.max_detections),
              ("detections_per_class", o.detections_per_class), ("regular_nms", int(o.use_regular_nms)),
              ("score_threshold", float(np.float32(o.nms_score_threshold))),
              ("iou_threshold", float(np.float32(o.nms_iou_threshold))),
              ("y_scale", float(np.float32(o.y_scale))), ("x_scale", float(np.float32(o.x_scale))),
              ("h_scale", float(np.float32(o.h_scale))), ("w_scale", float(np.float32(o.w_scale))),
              ("uint8_inputs", CArray.of("int32_t", [q is not None for q in p.dequantise])),
              ("zero_points", CArray.of("float", [q[0] if q else 0 for q in p.dequantise])),
              ("scales", CArray.of("float", [q[1] if q else 0 for q in p.dequantise])))
    return KernelCall("ariel_detection_postprocess_f32", "ariel_detection_postprocess_params", fields,
                      tuple(node.inputs[:3]) + tuple(node.outputs), "detection_postprocess.c",
                      scratch_bytes=scratch_bytes(p))


DETECTION_POSTPROCESS = register(OpDef(
    name="DETECTION_POSTPROCESS", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
    options_type=DetectionPostprocessOptions, tflite_options="flexbuffers", check=check,
    work_items=None, lower=lower, num_inputs=(3, 3), num_outputs=(4, 4),
    custom_code="TFLite_Detection_PostProcess"))
