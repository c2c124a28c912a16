"""POSENET_DECODER: Google Coral's CPU custom operator "PosenetDecoderOp" (the multi-person PoseNet /
BodyPix decoder that runs on the CPU after the Edge TPU part of Coral's posenet models; PersonLab's
greedy decoding). The semantics are libcoral's (coral/pose_estimation/posenet_decoder*.cc), read and
re-implemented here; docs/semantics.md "POSENET_DECODER" says what was checked against it and how.

Options (flexbuffer map): max_detections, score_threshold, stride, nms_radius (pixels). Inputs:
heatmaps [1, H, W, 17] (logits), short offsets [1, H, W, 34], mid offsets [1, H, W, 64], optionally
long offsets [1, 33, 33, 34] (BodyPix). Each is float32 or per-tensor uint8, dequantised as Coral
does, in float32: heatmaps (q - zp) * scale, the offsets (q - zp) * (scale * float32(1 / stride))
(float inputs: x * float32(1 / stride)); offsets are then in block units. Outputs, all float32:
keypoints [1, M, 17, 2] (y, x in pixels), keypoint scores [1, M, 17], pose scores [1, M], count [1],
and with long offsets instance masks [1, M, 33, 33].

What is computed, in float32 operation for operation as libcoral's C++ (no fused multiply-adds):
  1. the score threshold as a logit: -log(1 / (t + 1e-6) - 1) in double (the C library's log, at
     compile time), rounded to float32.
  2. candidates: every (y, x, keypoint) whose logit is >= that threshold and no 3x3 neighbour of the
     same keypoint is greater, pushed in (y, x, keypoint) order into a max-heap on the logit;
     each candidate's point is (y + dy, x + dx) clamped to the grid (short offsets).
  3. roots are popped from the heap. Ties between equal logits pop in the order libstdc++'s
     std::priority_queue gives (its push_heap / pop_heap sift rules, reproduced here exactly: uint8
     heatmaps tie often). A root within nms_radius / stride (squared distance <= squared radius) of
     the same keypoint of an accepted pose is skipped. Otherwise the pose is decoded from it: a second
     max-heap on bilinearly sampled scores, each popped keypoint pushes its undecoded neighbours
     (edges in libcoral's order), found by following the mid offset of the edge, then 5 steps of
     short offsets, each step clamped to the grid. Keypoint scores become sigmoids
     1 / (1 + expf(-s)), expf being glibc's (below);
     the pose score is their float32 sum in decreasing order, / 17; a pose scoring >= the threshold
     is accepted. This stops after max_detections accepted poses or when the heap is empty.
  4. soft keypoint NMS: the accepted poses in decreasing score order (libstdc++'s std::sort,
     reproduced with its tie order), each rescored as the sum of its keypoint scores, in decreasing
     order, skipping keypoints within the radius of the same keypoint of an earlier pose, / 17; then
     sorted again and written out (coordinates * stride) while the score is >= the threshold.
  5. masks (long offsets): for each cell of the 33x33 grid, 17 embeddings (3 steps of the long offset
     of each keypoint from the cell, clamped, * stride); the cell goes to the pose with the least sum
     of squared distances (first on ties; pose 0 when no pose was found, as libcoral).
Rows after the count are zeros (Coral leaves them as the buffer held them). NaN inputs are undefined
in Coral (a NaN coordinate is cast to an index); arielml samples such a point at index 0.

Single core (one work item): decoding is a greedy sequential loop, each root depending on the poses
accepted before it, and the operator runs once per inference on a grid of a few thousand cells. The
C kernel is runtime/kernels/posenet_decoder.c; it dequantises on the fly (the same float expression
gives the same value), so its scratch is the candidate heap (4 bytes per grid value) and the poses."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.ir import Graph, Node
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import input_tensor

KEYPOINTS = 17
EDGES = 16
MASK_SIDE = 33  # libcoral sizes the mask output 33x33 whatever the long offsets' grid
# libstdc++'s std::sort falls back to heap sort after 2 * log2(n) partition levels; up to 24 poses it
# never gets there, and only the partition + insertion steps are reproduced
MAX_DETECTIONS = 24
# the pose graph: (parent, child) of the 16 forward edges then the 16 backward ones (libcoral's order)
_FORWARD = ((0, 1), (1, 3), (0, 2), (2, 4), (0, 5), (5, 7), (7, 9), (5, 11), (11, 13), (13, 15),
            (0, 6), (6, 8), (8, 10), (6, 12), (12, 14), (14, 16))
EDGE_LIST = _FORWARD + tuple((c, p) for p, c in _FORWARD)


@dataclass(frozen=True)
class PosenetDecoderOptions:
    max_detections: int = 0
    score_threshold: float = 0.0
    stride: int = 0
    nms_radius: float = 0.0


@dataclass(frozen=True)
class PosenetParams:
    height: int
    width: int
    options: PosenetDecoderOptions
    masks: bool
    # per input (heatmaps, shorts, mids, longs): None for float32, else (zero point, float32 scale
    # already multiplied by the extra 1 / stride factor)
    dequantise: tuple[tuple[int, float] | None, ...]
    extra_scale: float  # float32(1 / stride): float offsets are multiplied by it
    score_logit: float  # the threshold as a float32 logit
    squared_radius: float  # float32 (nms_radius / stride)^2


def score_logit(threshold: float) -> float:
    """Coral's Logodds in double (float threshold + the double 1e-6), rounded to float32."""
    return float(np.float32(-math.log(1.0 / (float(threshold) + 1e-6) - 1.0)))


def _plan(node: Node, graph: Graph) -> PosenetParams:
    o = node.options or PosenetDecoderOptions()
    names = ("heatmaps", "short offsets", "mid offsets", "long offsets")
    tensors = [input_tensor(node, graph, i, names[i]) for i in range(len(node.inputs))]
    if (len(tensors), len(node.outputs)) not in ((3, 4), (4, 5)):
        raise unsupported(node, f"needs 3 inputs and 4 outputs (or 4 and 5 with BodyPix's long offsets), the model "
                                f"has {len(tensors)} and {len(node.outputs)}")
    if o.stride <= 0 or not 1 <= o.max_detections <= MAX_DETECTIONS:
        raise unsupported(node, f"needs stride >= 1 and 1 <= max_detections <= {MAX_DETECTIONS} (libstdc++'s sort "
                                f"order is reproduced up to {MAX_DETECTIONS} poses), got {o.stride} and "
                                f"{o.max_detections}")
    if not 0.0 <= o.score_threshold < 1.0 or not o.nms_radius >= 0.0:
        raise unsupported(node, f"needs 0 <= score_threshold < 1 and nms_radius >= 0, got {o.score_threshold} and "
                                f"{o.nms_radius}")
    if len(tensors[0].shape) != 4 or tensors[0].shape[0] != 1 or tensors[0].shape[3] != KEYPOINTS:
        raise unsupported(node, f"heatmaps must be [1, height, width, 17], got {tensors[0].shape}")
    _, h, w, _ = tensors[0].shape
    for t, c, name in zip(tensors[1:3], (2 * KEYPOINTS, 4 * EDGES), names[1:3]):
        if t.shape != (1, h, w, c):
            raise unsupported(node, f"{name} '{t.name}' must be [1, {h}, {w}, {c}] (the heatmaps' grid), got "
                                    f"{t.shape}")
    if len(tensors) == 4 and tensors[3].shape != (1, MASK_SIDE, MASK_SIDE, 2 * KEYPOINTS):
        raise unsupported(node, f"long offsets must be [1, 33, 33, 34] (Coral's mask output is 33x33), got "
                                f"{tensors[3].shape}")
    for i in node.outputs:
        if graph.tensors[i].dtype != "float32":
            raise unsupported(node, f"output '{graph.tensors[i].name}' is {graph.tensors[i].dtype}; the outputs "
                                    "are float32")
    extra = np.float32(1.0 / o.stride)
    dequantise = []
    for i, t in enumerate(tensors):
        if t.dtype == "float32":
            dequantise.append(None)
        elif t.dtype == "uint8" and t.quant is not None and not t.quant.per_channel:
            scale = np.float32(t.quant.scale[0])
            scale = scale if i == 0 else np.float32(scale * extra)
            dequantise.append((int(t.quant.zero_point[0]), float(scale)))
        else:
            raise unsupported(node, f"input '{t.name}' is {t.dtype}; the inputs must be float32 or per-tensor "
                                    "quantised uint8 (as Coral's decoder)")
    radius = np.float32(np.float32(o.nms_radius) / np.float32(o.stride))
    return PosenetParams(h, w, o, len(tensors) == 4, tuple(dequantise), float(extra), score_logit(o.score_threshold),
                         float(np.float32(radius * radius)))


def _out_shapes(p: PosenetParams) -> list[tuple[int, ...]]:
    m = p.options.max_detections
    shapes = [(1, m, KEYPOINTS, 2), (1, m, KEYPOINTS), (1, m), (1,)]
    return shapes + [(1, m, MASK_SIDE, MASK_SIDE)] if p.masks else shapes


def check(node: Node, graph: Graph) -> None:
    _plan(node, graph)


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return _out_shapes(_plan(node, graph))


def prepare(node: Node, graph: Graph, semantics: Semantics) -> PosenetParams:
    return _plan(node, graph)


# --------------------------------------------------------------------------- libstdc++'s orderings

def heap_push(heap: list, item, less) -> None:
    """std::push_heap (a max-heap for `less`): sift the new last element up while its parent is less."""
    heap.append(item)
    _sift_up(heap, len(heap) - 1, 0, item, less)


def _sift_up(heap: list, hole: int, top: int, value, less) -> None:
    parent = (hole - 1) // 2
    while hole > top and less(heap[parent], value):
        heap[hole] = heap[parent]
        hole = parent
        parent = (hole - 1) // 2
    heap[hole] = value


def heap_pop(heap: list, less):
    """std::priority_queue::pop after top(): std::pop_heap (the last element goes down from the root
    along the greater children, the right one on ties, then back up) and pop_back."""
    top = heap[0]
    n = len(heap) - 1
    if n > 0:
        value = heap[n]
        heap[n] = heap[0]
        hole = second = 0
        while second < (n - 1) // 2:
            second = 2 * (second + 1)
            if less(heap[second], heap[second - 1]):
                second -= 1
            heap[hole] = heap[second]
            hole = second
        if n % 2 == 0 and second == (n - 2) // 2:
            second = 2 * (second + 1)
            heap[hole] = heap[second - 1]
            hole = second - 1
        _sift_up(heap, hole, 0, value, less)
    heap.pop()
    return top


def decreasing_argsort(scores: list[float]) -> list[int]:
    """std::sort of the indices 0..n-1 by scores[i] > scores[j] (libstdc++'s introsort: median-of-three
    partitions while a range has more than 16 elements, then insertion sort), tie order included.
    n <= MAX_DETECTIONS: the heap-sort fallback cannot trigger."""
    a = list(range(len(scores)))
    greater = lambda i, j: scores[i] > scores[j]  # noqa: E731

    def partition_loop(first: int, last: int) -> None:
        while last - first > 16:
            mid = first + (last - first) // 2
            x, y, z = first + 1, mid, last - 1
            if greater(a[x], a[y]):
                pick = y if greater(a[y], a[z]) else (z if greater(a[x], a[z]) else x)
            else:
                pick = x if greater(a[x], a[z]) else (z if greater(a[y], a[z]) else y)
            a[first], a[pick] = a[pick], a[first]
            lo, hi = first + 1, last
            while True:
                while greater(a[lo], a[first]):
                    lo += 1
                hi -= 1
                while greater(a[first], a[hi]):
                    hi -= 1
                if not lo < hi:
                    break
                a[lo], a[hi] = a[hi], a[lo]
                lo += 1
            partition_loop(lo, last)
            last = lo

    def linear_insert(i: int) -> None:
        value = a[i]
        while greater(value, a[i - 1]):
            a[i] = a[i - 1]
            i -= 1
        a[i] = value

    n = len(a)
    partition_loop(0, n)
    for i in range(1, min(n, 16)):
        if greater(a[i], a[0]):
            value = a[i]
            a[1:i + 1] = a[0:i]
            a[0] = value
        else:
            linear_insert(i)
    for i in range(16, n):
        linear_insert(i)
    return a


# --------------------------------------------------------------------------- numpy reference

F32 = np.float32


def _exp_table() -> np.ndarray:
    """2^(i/32) as doubles (correctly rounded, from 60-digit decimals), less i << 47 (glibc's layout)."""
    from decimal import Decimal, localcontext
    with localcontext() as context:
        context.prec = 60
        powers = [float(Decimal(2) ** (Decimal(i) / Decimal(32))) for i in range(32)]
    return np.array([int(np.float64(v).view(np.uint64)) - (i << 47) for i, v in enumerate(powers)], dtype=np.uint64)


EXP_TABLE = _exp_table()
_EXP_C = (float.fromhex("0x1.c6af84b912394p-5") / 32 ** 3, float.fromhex("0x1.ebfce50fac4f3p-3") / 32 ** 2,
          float.fromhex("0x1.62e42ff0c52d6p-1") / 32)


def expf(x: np.ndarray) -> np.ndarray:
    """glibc's expf algorithm in double arithmetic (kernels/posenet_decoder.c expf_glibc says why
    and how): equal to the host's expf (tests/test_ops_posenet_decoder.py measures it) on every core."""
    x = np.asarray(x, dtype=np.float32)
    xd = x.astype(np.float64)
    z = xd * (float.fromhex("0x1.71547652b82fep+0") * 32)
    with np.errstate(over="ignore", invalid="ignore"):
        kd = z + float.fromhex("0x1.8p+52")
        ki = kd.view(np.uint64)
        r = z - (kd - float.fromhex("0x1.8p+52"))
        s = (EXP_TABLE[ki % np.uint64(32)] + (ki << np.uint64(47))).view(np.float64)
        c0, c1, c2 = _EXP_C
        y = ((c0 * r + c1) * (r * r) + (c2 * r + 1.0)) * s
        result = y.astype(np.float32)
        big = np.abs(x) >= F32(88)
        result = np.where(big & (x > F32(float.fromhex("0x1.62e42ep6"))), F32(np.inf), result)
        result = np.where(big & (x < F32(-float.fromhex("0x1.9fe368p6"))), F32(0), result)
        result = np.where(np.isnan(x), x, result)
    return result.astype(np.float32)


def _clamp(v, hi):
    return F32(0) if v < 0 else (hi if hi < v else v)


def _index(v) -> int:
    return int(math.floor(v)) if v == v else 0  # NaN: undefined in Coral, index 0 here (the kernel too)


def _sample(t: np.ndarray, h: int, w: int, c: int, y, x, channels) -> list:
    """Bilinear sample of the flat [h, w, c] tensor at (y, x), already inside the grid."""
    y0, x0 = _index(y), _index(x)
    y1, x1 = (int(math.ceil(y)) if y == y else 0), (int(math.ceil(x)) if x == x else 0)
    yl, xl = F32(y - F32(y0)), F32(x - F32(x0))
    one = F32(1)
    tl, tr, bl, br = ((y0 * w + x0) * c, (y0 * w + x1) * c, (y1 * w + x0) * c, (y1 * w + x1) * c)
    return [(one - yl) * ((one - xl) * t[tl + ch] + xl * t[tr + ch]) + yl * ((one - xl) * t[bl + ch] + xl * t[br + ch])
            for ch in channels]


def _squared_distance(ay, ax, by, bx):
    dy, dx = by - ay, bx - ax
    return dy * dy + dx * dx


def _dequantised(values: np.ndarray, quant, extra: float) -> np.ndarray:
    if quant is None:
        return (values.astype(np.float32) * F32(extra)).astype(np.float32).ravel()
    return ((values.astype(np.float32) - F32(quant[0])) * F32(quant[1])).astype(np.float32).ravel()


def _candidates(p: PosenetParams, heat: np.ndarray) -> np.ndarray:
    """Flat (y, x, keypoint) indices of the local maxima at or above the threshold, in scan order."""
    grid = heat.reshape(p.height, p.width, KEYPOINTS)
    padded = np.pad(grid, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    neighbours = np.full(grid.shape, -np.inf, dtype=np.float32)
    for dy in range(3):
        for dx in range(3):  # fmax: a NaN neighbour never compares greater
            neighbours = np.fmax(neighbours, padded[dy:dy + p.height, dx:dx + p.width])
    return np.flatnonzero((grid >= F32(p.score_logit)) & ~(neighbours > grid))


def _decode_pose(p: PosenetParams, heat, shorts, mids, root):
    h, w = p.height, p.width
    hi_y, hi_x = F32(h - 1), F32(w - 1)
    points = np.full((KEYPOINTS, 2), -1, dtype=np.float32)
    scores = np.full(KEYPOINTS, -1e5, dtype=np.float32)
    y, x, kid = root
    queue: list = []
    less = lambda a, b: a[3] < b[3]  # noqa: E731
    heap_push(queue, (y, x, kid, _sample(heat, h, w, KEYPOINTS, y, x, (kid,))[0]), less)
    decoded = [False] * KEYPOINTS
    while queue:
        y, x, kid, score = heap_pop(queue, less)
        if decoded[kid]:
            continue
        points[kid] = (y, x)
        scores[kid] = score
        decoded[kid] = True
        for edge, (parent, child) in enumerate(EDGE_LIST):
            if parent != kid or decoded[child]:
                continue
            channel = edge + EDGES if edge >= EDGES else edge  # [fwd y][fwd x][bwd y][bwd x] blocks
            dy, dx = _sample(mids, h, w, 4 * EDGES, y, x, (channel, channel + EDGES))
            cy, cx = _clamp(y + dy, hi_y), _clamp(x + dx, hi_x)
            for _ in range(5):
                dy, dx = _sample(shorts, h, w, 2 * KEYPOINTS, cy, cx, (child, child + KEYPOINTS))
                cy, cx = _clamp(cy + dy, hi_y), _clamp(cx + dx, hi_x)
            heap_push(queue, (cy, cx, child, _sample(heat, h, w, KEYPOINTS, cy, cx, (child,))[0]), less)
    return points, scores


def _sum_decreasing(values: np.ndarray, keep: np.ndarray | None = None):
    """float32 sum in decreasing order of value (tied values are equal: their order cannot matter)."""
    total = F32(0)
    order = np.argsort(-values, kind="stable")
    for k in order:
        if keep is None or keep[k]:
            total = F32(total + values[k])
    return F32(total / F32(KEYPOINTS))


def decode_poses(p: PosenetParams, heat, shorts, mids):
    """(keypoints [n, 17, 2] in block units, keypoint scores [n, 17], pose scores [n]) of the poses
    in output order."""
    h, w, o = p.height, p.width, p.options
    hi_y, hi_x = F32(h - 1), F32(w - 1)
    threshold, squared_radius = F32(o.score_threshold), F32(p.squared_radius)
    heap: list = []
    keys = heat.astype(np.float64)
    less = lambda a, b: keys[a] < keys[b]  # noqa: E731
    for index in _candidates(p, heat).tolist():
        heap_push(heap, index, less)
    poses, pose_scores, instance = [], [], []
    while len(poses) < o.max_detections and heap:
        index = heap_pop(heap, less)
        cell, kid = divmod(index, KEYPOINTS)
        gy, gx = divmod(cell, w)
        offset = cell * 2 * KEYPOINTS + kid
        y = _clamp(F32(gy) + shorts[offset], hi_y)
        x = _clamp(F32(gx) + shorts[offset + KEYPOINTS], hi_x)
        if any(_squared_distance(y, x, q[kid, 0], q[kid, 1]) <= squared_radius for q in poses):
            continue
        points, logits = _decode_pose(p, heat, shorts, mids, (y, x, kid))
        scores = (F32(1) / (F32(1) + expf(-logits))).astype(np.float32)
        score = _sum_decreasing(scores)
        if score >= threshold:
            poses.append(points)
            pose_scores.append(scores)
            instance.append(float(score))
    order = decreasing_argsort(instance)
    for i, current in enumerate(order):
        occluded = np.zeros(KEYPOINTS, dtype=bool)
        for previous in order[:i]:
            a, b = poses[current], poses[previous]
            occluded |= _squared_distance(a[:, 0], a[:, 1], b[:, 0], b[:, 1]) <= squared_radius
        instance[current] = float(_sum_decreasing(pose_scores[current], ~occluded))
    order = [i for i in decreasing_argsort(instance)]
    kept = []
    for i in order:
        if F32(instance[i]) < threshold:
            break
        kept.append(i)
    return ([poses[i] for i in kept], [pose_scores[i] for i in kept], [instance[i] for i in kept])


def _sample_grid(t, h, w, c, y, x, channel):
    """_sample vectorised over arrays of points (the same float32 operations per element)."""
    yn, xn = np.where(np.isnan(y), 0, y), np.where(np.isnan(x), 0, x)
    y0, x0 = np.floor(yn).astype(np.int64), np.floor(xn).astype(np.int64)
    y1, x1 = np.ceil(yn).astype(np.int64), np.ceil(xn).astype(np.int64)
    yl, xl = (y - y0.astype(np.float32)).astype(np.float32), (x - x0.astype(np.float32)).astype(np.float32)
    one = F32(1)
    at = lambda yy, xx: t[(yy * w + xx) * c + channel]  # noqa: E731
    return ((one - yl) * ((one - xl) * at(y0, x0) + xl * at(y0, x1))
            + yl * ((one - xl) * at(y1, x0) + xl * at(y1, x1))).astype(np.float32)


def instance_masks(p: PosenetParams, longs: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """[1, M, 33, 33]: each cell set in the mask of its nearest pose (keypoints: [n, 17, 2] pixels)."""
    side, stride = MASK_SIDE, F32(p.options.stride)
    hi = F32(side - 1)
    gy, gx = np.meshgrid(np.arange(side, dtype=np.float32), np.arange(side, dtype=np.float32), indexing="ij")
    n = len(keypoints)
    distance = np.zeros((max(n, 1), side, side), dtype=np.float32)
    for k in range(KEYPOINTS):
        y, x = gy.copy(), gx.copy()
        for _ in range(3):
            dy = _sample_grid(longs, side, side, 2 * KEYPOINTS, y, x, k)
            dx = _sample_grid(longs, side, side, 2 * KEYPOINTS, y, x, k + KEYPOINTS)
            y = np.clip((y + dy).astype(np.float32), F32(0), hi)  # NaN passes through, as Coral's clamp
            x = np.clip((x + dx).astype(np.float32), F32(0), hi)
        ey, ex = (y * stride).astype(np.float32), (x * stride).astype(np.float32)
        for i in range(n):
            distance[i] = (distance[i] + _squared_distance(ey, ex, keypoints[i, k, 0], keypoints[i, k, 1])) \
                .astype(np.float32)
    best = np.zeros((side, side), dtype=np.int64)
    for i in range(1, n):  # std::min_element: a later pose wins only if strictly less
        best = np.where(distance[i] < distance[best, np.arange(side)[:, None], np.arange(side)[None, :]], i, best)
    masks = np.zeros(p.options.max_detections * side * side, dtype=np.float32)
    # libcoral's index (instance * width + y) * height + x (its grid is square: the usual layout)
    masks[(best * side + gy.astype(np.int64)) * side + gx.astype(np.int64)] = 1.0
    return masks.reshape(1, p.options.max_detections, side, side)


def evaluate(p: PosenetParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    m = p.options.max_detections
    extras = (1.0, p.extra_scale, p.extra_scale, p.extra_scale)
    arrays = [_dequantised(a, q, e) for a, q, e in zip(inputs, p.dequantise, extras)]
    poses, keypoint_scores, scores = decode_poses(p, *arrays[:3])
    n = len(poses)
    out_points = np.zeros((1, m, KEYPOINTS, 2), dtype=np.float32)
    out_keypoint_scores = np.zeros((1, m, KEYPOINTS), dtype=np.float32)
    out_scores = np.zeros((1, m), dtype=np.float32)
    if n:
        out_points[0, :n] = (np.stack(poses) * F32(p.options.stride)).astype(np.float32)
        out_keypoint_scores[0, :n] = np.stack(keypoint_scores)
        out_scores[0, :n] = scores
    outputs = [out_points, out_keypoint_scores, out_scores, np.array([n], dtype=np.float32)]
    if p.masks:
        outputs.append(instance_masks(p, arrays[3], out_points[0, :n]))
    return outputs


# --------------------------------------------------------------------------- C lowering

def scratch_bytes(p: PosenetParams) -> int:
    """kernels/posenet_decoder.c's scratch: the candidate heap (one int32 per heatmap value), then per
    pose 17 points, 17 scores and its score (4 bytes each), then the two index orders."""
    m = p.options.max_detections
    return 4 * p.height * p.width * KEYPOINTS + 4 * m * (3 * KEYPOINTS + 1) + 4 * 2 * m


def lower(node: Node, graph: Graph, p: PosenetParams) -> KernelCall:
    o = p.options
    deq = list(p.dequantise) + [None] * (4 - len(p.dequantise))
    fields = (("height", p.height), ("width", p.width), ("max_detections", o.max_detections),
              ("stride", o.stride), ("masks", int(p.masks)),
              ("score_threshold", float(np.float32(o.score_threshold))), ("score_logit", p.score_logit),
              ("squared_radius", p.squared_radius), ("extra_scale", p.extra_scale),
              ("uint8_inputs", CArray.of("int32_t", [q is not None for q in deq])),
              ("zero_points", CArray.of("float", [q[0] if q else 0 for q in deq])),
              ("scales", CArray.of("float", [q[1] if q else 0 for q in deq])))
    return KernelCall("ariel_posenet_decoder_f32", "ariel_posenet_decoder_params", fields,
                      tuple(node.inputs) + tuple(node.outputs), "posenet_decoder.c", scratch_bytes=scratch_bytes(p))


POSENET_DECODER = register(OpDef(
    name="POSENET_DECODER", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
    options_type=PosenetDecoderOptions, tflite_options="flexbuffers", check=check,
    work_items=None, lower=lower, num_inputs=(3, 4), num_outputs=(4, 5), custom_code="PosenetDecoderOp",
    no_oracle="LiteRT and TFLite Micro lack PosenetDecoderOp; the reference was checked against Coral's decoder "
              "built locally (docs/semantics.md, POSENET_DECODER)"))
