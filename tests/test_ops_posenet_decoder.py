"""POSENET_DECODER (Coral's custom operator "PosenetDecoderOp", flexbuffer options). No interpreter
here runs it (LiteRT and TFLite Micro have no registration; Coral's decoder was compared once, outside
the tests: docs/semantics.md "POSENET_DECODER"). The tests: hand-computed tiny cases (one pose, root
NMS, the score threshold, max_detections, the mask of a lone pose), the libstdc++ orderings on ties,
the options' checks, and the C kernel natively (1..3 threads) and on two emulated rp2040 cores
bit-exact with the reference on random synthetic grids (float32 and uint8, with and without masks)."""
from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from flatbuffers import flexbuffers

from arielml.ops.posenet_decoder import EDGE_LIST, decreasing_argsort, heap_pop, heap_push
from tests.op_harness import model_for
from tests.tflite_builder import ModelBuilder

K = 17


def add_posenet_op(b: ModelBuilder, inputs, outputs, options: dict) -> None:
    """A custom operator with flexbuffer options (ModelBuilder.op builds builtin operators only)."""
    code = schema.OperatorCodeT()
    code.builtinCode = schema.BuiltinOperator.CUSTOM
    code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "PosenetDecoderOp"
    code.version = 1
    b.opcodes.append(code)
    op = schema.OperatorT()
    op.opcodeIndex = len(b.opcodes) - 1
    op.inputs, op.outputs = list(inputs), list(outputs)
    op.customOptions = list(flexbuffers.Dumps(options))
    op.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
    b.operators.append(op)


def build_model(arrays, options: dict, quant=(None, None, None, None)) -> bytes:
    """arrays: heatmaps, short offsets, mid offsets[, long offsets] (float32, or uint8 with quant
    (scale, zero point)); outputs with blank shapes, as Coral's models have them."""
    b = ModelBuilder()
    ins = [b.tensor(a.shape, "float32" if q is None else "uint8", quant=q) for a, q in zip(arrays, quant)]
    outs = [b.tensor((), "float32") for _ in range(len(arrays) + 1)]
    add_posenet_op(b, ins, outs, options)
    return b.build(ins, outs)


def _quantised(values: np.ndarray, scale: float, zero_point: int):
    q = np.clip(np.round(values / scale) + zero_point, 0, 255).astype(np.uint8)
    return q, (float(np.float32(scale)), zero_point)


def posenet_case(rng: np.random.Generator, uint8: bool = False, masks: bool = False, stride: int = 16):
    """Random heatmaps with a few people-like peaks (a blob per keypoint near a centre), offsets that
    point roughly at them, so that poses decode, tie, overlap and get suppressed."""
    h, w = int(rng.integers(5, 14)), int(rng.integers(5, 14))
    heat = rng.normal(float(rng.choice([-4.0, -1.0, 0.5])), 1.5, size=(1, h, w, K)).astype(np.float32)
    for _ in range(int(rng.integers(1, 5))):
        cy, cx = rng.uniform(0, h - 1), rng.uniform(0, w - 1)
        for k in range(K):
            y = int(np.clip(round(cy + rng.normal(0, 1.5)), 0, h - 1))
            x = int(np.clip(round(cx + rng.normal(0, 1.5)), 0, w - 1))
            heat[0, y, x, k] = rng.uniform(0, 4)
    shorts = rng.normal(0, 0.4 * stride, size=(1, h, w, 2 * K)).astype(np.float32)
    mids = rng.normal(0, 1.5 * stride, size=(1, h, w, 64)).astype(np.float32)
    arrays = [heat, shorts, mids]
    if masks:
        arrays.append(rng.normal(0, 3 * stride, size=(1, 33, 33, 2 * K)).astype(np.float32))
    if rng.random() < 0.4:  # coarse values: ties in the heaps and between poses
        arrays = [(np.round(a * 2) / 2).astype(np.float32) for a in arrays]
    quant = [None] * len(arrays)
    if uint8:
        scales = (0.08, 0.7, 1.5, 1.2)
        for i in range(len(arrays)):
            if rng.random() < 0.8:
                arrays[i], quant[i] = _quantised(arrays[i], scales[i] * (1 if i == 0 else stride / 16),
                                                 int(rng.integers(110, 190)))
    options = dict(max_detections=int(rng.integers(1, 25)), score_threshold=float(rng.choice([0.05, 0.2, 0.3, 0.5])),
                   stride=stride, nms_radius=float(rng.choice([0.0, 10.0, 20.0, 40.0])))
    return build_model(arrays, options, quant), arrays, options


# --------------------------------------------------------------------------- hand-computed cases

def _one_pose_grid(h=6, w=6):
    """A pose whose 17 keypoints all sit at (2, 3): mid and short offsets zero, heatmap peak 2.0 there."""
    heat = np.full((1, h, w, K), -6.0, np.float32)
    heat[0, 2, 3, :] = 2.0
    return [heat, np.zeros((1, h, w, 2 * K), np.float32), np.zeros((1, h, w, 64), np.float32)]


def test_one_pose_by_hand():
    arrays = _one_pose_grid()
    options = dict(max_detections=3, score_threshold=0.5, stride=8, nms_radius=8.0)
    model = model_for(build_model(arrays, options))
    points, keypoint_scores, scores, count = model.run(arrays)
    # 17 roots at (2, 3), one per keypoint: the first decodes the pose, the 16 others are within the
    # radius (1 block) of the same keypoint of that pose and are skipped
    assert count[0] == 1
    assert np.array_equal(points[0, 0], np.tile(np.float32([16, 24]), (K, 1)))  # (2, 3) * stride 8
    sigmoid = np.float32(1) / (np.float32(1) + np.exp(np.float32(-2)))
    assert np.array_equal(keypoint_scores[0, 0], np.full(K, sigmoid, np.float32))
    total = np.float32(0)
    for _ in range(K):
        total = np.float32(total + sigmoid)
    assert scores[0, 0] == np.float32(total / np.float32(K))
    assert not points[0, 1:].any() and not scores[0, 1:].any()  # zeros after the count


def test_two_poses_root_nms_and_max_detections():
    """Two peaks 4 blocks apart: a radius of 3 blocks keeps both, 5 blocks suppresses the weaker one's
    roots; max_detections=1 keeps the stronger pose only."""
    arrays = _one_pose_grid(8, 8)
    arrays[0][0, 6, 3, :] = 1.0
    runs = {}
    for radius, m in ((3 * 8.0, 3), (5 * 8.0, 3), (3 * 8.0, 1)):
        options = dict(max_detections=m, score_threshold=0.5, stride=8, nms_radius=radius)
        runs[radius, m] = model_for(build_model(arrays, options)).run(arrays)
    points, _, scores, count = runs[3 * 8.0, 3]
    assert count[0] == 2 and scores[0, 0] > scores[0, 1]
    assert np.array_equal(points[0, 0, 0], [16, 24]) and np.array_equal(points[0, 1, 0], [48, 24])
    assert runs[5 * 8.0, 3][3][0] == 1
    assert runs[3 * 8.0, 1][3][0] == 1 and np.array_equal(runs[3 * 8.0, 1][0][0, 0, 0], [16, 24])


def test_score_threshold():
    """sigmoid(2.0) = 0.881: a pose at 2.0 passes 0.88 and fails 0.89 (no pose, count 0)."""
    arrays = _one_pose_grid()
    for threshold, expected in ((0.88, 1), (0.89, 0)):
        options = dict(max_detections=2, score_threshold=threshold, stride=16, nms_radius=16.0)
        assert model_for(build_model(arrays, options)).run(arrays)[3][0] == expected


def test_lone_pose_mask_and_empty_mask():
    """Long offsets zero: every cell's embedding is the cell itself; with one pose every cell joins
    mask 0; with no pose libcoral still fills mask 0 (nearest of no pose is index 0)."""
    arrays = _one_pose_grid() + [np.zeros((1, 33, 33, 2 * K), np.float32)]
    for threshold in (0.5, 0.95):
        options = dict(max_detections=2, score_threshold=threshold, stride=16, nms_radius=16.0)
        outputs = model_for(build_model(arrays, options)).run(arrays)
        assert outputs[4].shape == (1, 2, 33, 33)
        assert outputs[4][0, 0].all() and not outputs[4][0, 1].any()


def test_libstdcxx_orderings():
    """The heap's tie order and std::sort's on ties, against values worked out from libstdc++'s
    algorithms by hand: equal keys pop from a priority_queue in an order that is neither FIFO nor LIFO."""
    heap: list = []
    keys = [1, 1, 1, 1]
    for i in range(4):
        heap_push(heap, i, lambda a, b: keys[a] < keys[b])
    assert heap == [0, 1, 2, 3]
    # pop 0: the hole at the root takes the right child (2) on the tie, 3 fills the hole: [2, 1, 3];
    # pop 2: the hole takes the lone child (1), 3 fills it: [1, 3]
    assert [heap_pop(heap, lambda a, b: keys[a] < keys[b]) for _ in range(4)] == [0, 2, 1, 3]
    # 16 elements or fewer: insertion sort, stable; more: one median-of-three partition first
    assert decreasing_argsort([1.0] * 5) == [0, 1, 2, 3, 4]
    order = decreasing_argsort([1.0] * 20)
    assert sorted(order) == list(range(20)) and order != list(range(20))
    values = list(np.random.default_rng(3).integers(0, 4, 24).astype(float))
    order = decreasing_argsort(values)
    assert [values[i] for i in order] == sorted(values, reverse=True)


def test_edges_are_libcoral_graph():
    assert len(EDGE_LIST) == 32 and all(EDGE_LIST[k + 16] == EDGE_LIST[k][::-1] for k in range(16))


def test_options_are_checked():
    from arielml.errors import UnsupportedOperatorError
    arrays = _one_pose_grid()
    for options, match in ((dict(max_detections=30, score_threshold=0.5, stride=16, nms_radius=1.0), "max_detections"),
                           (dict(max_detections=3, score_threshold=0.5, stride=0, nms_radius=1.0), "stride"),
                           (dict(max_detections=3, score_threshold=1.0, stride=16, nms_radius=1.0), "score_threshold")):
        with pytest.raises(UnsupportedOperatorError, match=match):
            model_for(build_model(arrays, options))
    bad = [arrays[0], arrays[1], np.zeros((1, 6, 6, 32), np.float32)]
    with pytest.raises(UnsupportedOperatorError, match="mid offsets"):
        model_for(build_model(bad, dict(max_detections=3, score_threshold=0.5, stride=16, nms_radius=1.0)))


# --------------------------------------------------------------------------- properties, kernels

def test_reference_properties():
    """Random grids: the count fits, scores are sorted and above the threshold, keypoints inside the
    image, zeros after the count."""
    for seed in range(12):
        rng = np.random.default_rng(51_000 + seed)
        model_bytes, arrays, options = posenet_case(rng, uint8=seed % 2 == 1, masks=seed % 3 == 0)
        outputs = model_for(model_bytes).run(arrays)
        n = int(outputs[3][0])
        h, w = arrays[0].shape[1:3]
        assert 0 <= n <= options["max_detections"]
        scores = outputs[2][0, :n]
        assert np.all(scores >= np.float32(options["score_threshold"])) and np.all(np.diff(scores) <= 0)
        points = outputs[0][0, :n]
        assert np.all(points >= 0) and np.all(points[..., 0] <= (h - 1) * 16) and np.all(points[..., 1] <= (w - 1) * 16)
        assert not outputs[0][0, n:].any() and not outputs[2][0, n:].any()
        if len(outputs) == 5:
            assert np.array_equal(outputs[4][0, :max(n, 1)].sum(axis=0), np.ones((33, 33), np.float32))


def test_posenet_kernel_matches_reference(cache):
    from arielml.backends.native import build_native
    from arielml.compile import compile_model
    from tests.test_kernels_data import CONFIGS
    poses = 0
    for seed in range(52_000, 52_008):
        rng = np.random.default_rng(seed)
        model_bytes, arrays, options = posenet_case(rng, uint8=seed % 2 == 1, masks=seed % 4 == 0)
        model = model_for(model_bytes)
        expected = model.run(arrays)
        poses += int(expected[3][0])
        for cores, scheduler in CONFIGS[:3]:
            lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
            for got, want in zip(lib.run(arrays).outputs, expected):
                assert np.array_equal(got, want), f"seed {seed} {options} cores={cores} {scheduler}"
    assert poses >= 8  # the cases decode poses, not only empty outputs


def test_posenet_emulated_rp2040_two_cores(tmp_path):
    from arielml.backends.emulator import run_emulated
    for seed, uint8, masks in ((53_000, False, False), (53_001, True, True)):
        model_bytes, arrays, options = posenet_case(np.random.default_rng(seed), uint8=uint8, masks=masks)
        model = model_for(model_bytes)
        run = run_emulated(model, arrays, "rp2040", 2, cache_dir=tmp_path)
        for got, want in zip(run.outputs, model.run(arrays)):
            assert np.array_equal(got, want), f"seed {seed} {options}"


def test_expf_is_the_host_c_library_expf():
    """The portable expf (glibc's algorithm in doubles) equals the host's expf (glibc, through ctypes)
    on 400,000 inputs over its whole range and the special values; the C kernel's table is the one
    the reference generates."""
    import re
    from pathlib import Path

    from arielml.ops.lookup_tables import c_float_function
    from arielml.ops.posenet_decoder import EXP_TABLE, expf
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-110, 90, 200_000), rng.normal(0, 4, 200_000),
                        [0.0, -0.0, 88.0, -88.0, 88.72, 88.73, -103.9, -104.0, -87.5, np.inf, -np.inf]]
                       ).astype(np.float32)
    assert np.array_equal(expf(x), c_float_function("exp")(x))
    assert np.isnan(expf(np.float32([np.nan])))[0]
    source = (Path(__file__).parents[1] / "arielml/runtime/kernels/posenet_decoder.c").read_text()
    table = re.search(r"exp_table\[32\] = \{(.*?)\};", source, re.S).group(1)
    assert [int(v, 16) for v in re.findall(r"0x([0-9a-f]+)u", table)] == [int(v) for v in EXP_TABLE]


def test_bench_external_reports_no_oracle_and_still_checks_backends(tmp_path):
    """LiteRT cannot run PosenetDecoderOp: bench.external says so, says what the reference was checked
    against, and compares the native backend with the reference anyway."""
    from arielml.bench.external import NO_ORACLE, check_model
    model_bytes, _, _ = posenet_case(np.random.default_rng(54_000), uint8=True)
    path = tmp_path / "posenet_case.tflite"
    path.write_bytes(model_bytes)
    result = check_model(path, 1, backends=("native",))
    assert result.status == NO_ORACLE, result.status_text
    assert "lack PosenetDecoderOp" in result.status_text and "Coral's decoder built locally" in result.status_text
    assert result.backends == {"native": "bit-exact"}
