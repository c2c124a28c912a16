"""DETECTION_POSTPROCESS (the custom operator "TFLite_Detection_PostProcess", flexbuffer options):
random SSD-like heads, fast and regular NMS, with and without a background class, score ties;
arielml's reference against TFLite Micro (the oracle: this is its operator), and LiteRT where its
interpreter runs the custom operator; uint8 inputs (LiteRT only) against LiteRT; then the C kernel
natively (1..3 threads, both schedulers) and one emulated two-core rp2040 run, bit-exact with the
reference."""
from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from flatbuffers import flexbuffers

from tests.op_harness import model_for
from tests.tflite_builder import ModelBuilder, run_litert

CUSTOM_CODE = "TFLite_Detection_PostProcess"


def add_detection_op(b: ModelBuilder, inputs, outputs, options: dict) -> None:
    """A custom operator with flexbuffer options (ModelBuilder.op builds builtin operators only)."""
    code = schema.OperatorCodeT()
    code.builtinCode = schema.BuiltinOperator.CUSTOM
    code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = CUSTOM_CODE
    code.version = 1
    b.opcodes.append(code)
    op = schema.OperatorT()
    op.opcodeIndex = len(b.opcodes) - 1
    op.inputs, op.outputs = list(inputs), list(outputs)
    op.customOptions = list(flexbuffers.Dumps(options))
    op.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
    b.operators.append(op)


def _uint8_version(rng, values: np.ndarray, scale: float, zero_point: int):
    """values quantised to uint8 (the test then feeds the uint8 array itself)."""
    q = np.clip(np.round(values / scale) + zero_point, 0, 255).astype(np.uint8)
    return q, (float(np.float32(scale)), zero_point)


def detection_case(rng: np.random.Generator, regular: bool | None = None, uint8: bool = False):
    """uint8: each input independently float32 or uint8 (LiteRT dequantises them; TFLM does not)."""
    boxes = int(rng.integers(3, 60))
    classes = int(rng.integers(1, 6))
    background = int(rng.integers(0, 2))
    regular = bool(rng.random() < 0.5) if regular is None else regular
    options = dict(max_detections=int(rng.integers(1, 12)), max_classes_per_detection=1,
                   detections_per_class=int(rng.integers(1, 6)), use_regular_nms=regular,
                   nms_score_threshold=float(rng.choice([0.0, 0.2, 0.4, 0.5])),
                   nms_iou_threshold=float(rng.choice([0.3, 0.5, 0.6, 1.0])), num_classes=classes,
                   y_scale=10.0, x_scale=10.0, h_scale=5.0, w_scale=5.0)
    # anchors in a small image: many overlaps, so the suppression matters
    centres = rng.uniform(0.2, 0.8, size=(boxes, 2))
    sizes = rng.uniform(0.05, 0.5, size=(boxes, 2))
    anchors = np.concatenate([centres, sizes], axis=1).astype(np.float32)
    width = int(rng.choice([4, 4, 6]))
    encodings = rng.normal(0, 2, size=(1, boxes, width)).astype(np.float32)
    scores = rng.uniform(0, 1, size=(1, boxes, classes + background)).astype(np.float32)
    if rng.random() < 0.5:  # coarse scores: ties between boxes and between classes
        scores = (np.round(scores * 8) / 8).astype(np.float32)
    quant = [None, None, None]
    if uint8:
        picks = rng.random(3) < 0.7
        picks[2] = picks[0]  # LiteRT reads the anchors with the encodings' type
        if picks[0]:
            encodings, quant[0] = _uint8_version(rng, encodings, 0.05, int(rng.integers(100, 156)))
        if picks[1]:
            scores, quant[1] = _uint8_version(rng, scores, 1 / 256, 0)
        if picks[2]:
            anchors, quant[2] = _uint8_version(rng, anchors, 1 / 256, 0)
    types = ["float32" if q is None else "uint8" for q in quant]
    what = f"DETECTION_POSTPROCESS {boxes} boxes {classes}+{background} classes {types} {options}"
    m = options["max_detections"]

    def add(b: ModelBuilder):
        e = b.tensor(encodings.shape, types[0], quant=quant[0])
        s = b.tensor(scores.shape, types[1], quant=quant[1])
        a = b.tensor(anchors.shape, types[2], quant=quant[2], data=anchors)
        outs = [b.tensor(shape, "float32") for shape in ((1, m, 4), (1, m), (1, m), (1,))]
        add_detection_op(b, [e, s, a], outs, options)
        return [e, s], outs

    def build():
        b = ModelBuilder()
        ins, outs = add(b)
        return b.build(ins, outs)
    build.add = add
    return build, [encodings, scores], what


def run_micro(model_bytes: bytes, inputs, num_outputs: int):
    """TFLite Micro with an arena large enough for the operator's scratch buffers (the default
    arena, ten times the model's size, is not)."""
    from tflite_micro.python.tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(model_bytes, arena_size=1 << 20)
    for i, array in enumerate(inputs):
        it.set_input(array, i)
    it.invoke()
    return [it.get_output(i).copy() for i in range(num_outputs)]


def _detections(outputs):
    """(count, boxes, classes, scores) of the valid detections only (TFLite Micro's fast NMS
    leaves the slots after the count untouched)."""
    count = int(outputs[3][0])
    return count, outputs[0][0, :count], outputs[1][0, :count], outputs[2][0, :count]


def _same(a, b) -> bool:
    return a[0] == b[0] and all(np.array_equal(x, y) for x, y in zip(a[1:], b[1:]))


@pytest.mark.parametrize("regular", [False, True])
def test_detection_postprocess_matches_tflite_micro(regular):
    litert_agrees = litert_runs = 0
    for i in range(25):
        seed = 31_000 + 100 * regular + i
        build, inputs, what = detection_case(np.random.default_rng(seed), regular)
        model_bytes = build()
        got = model_for(model_bytes).run(inputs)
        want = run_micro(model_bytes, inputs, 4)
        assert _same(_detections(got), _detections(want)), f"seed {seed} {what}"
        count = int(got[3][0])  # arielml writes zeros after the detections
        assert not got[0][0, count:].any() and not got[1][0, count:].any() and not got[2][0, count:].any()
        try:
            litert = run_litert(model_bytes, inputs, reference=False)
        except (RuntimeError, ValueError):
            continue
        litert_runs += 1
        litert_agrees += _same(_detections(got), _detections(litert))
    print(f"regular={regular}: LiteRT ran {litert_runs}, agreed {litert_agrees}")


def test_detection_postprocess_uint8_inputs_match_litert():
    """uint8 box encodings, scores and anchors (the classic quantised SSD head): TFLite Micro rejects
    them, LiteRT dequantises them; arielml gives LiteRT's detections."""
    for i in range(24):
        seed = 33_000 + i
        build, inputs, what = detection_case(np.random.default_rng(seed), regular=i % 2 == 1, uint8=True)
        model_bytes = build()
        got = model_for(model_bytes).run(inputs)
        want = run_litert(model_bytes, inputs, reference=False)
        assert _same(_detections(got), _detections(want)), f"seed {seed} {what}"


def test_detection_postprocess_options_are_checked():
    from arielml.errors import UnsupportedOperatorError
    build, inputs, _ = detection_case(np.random.default_rng(5), regular=False)
    b = ModelBuilder()
    e = b.tensor((1, 4, 4), "float32")
    s = b.tensor((1, 4, 3), "float32")
    a = b.tensor((4, 4), "float32", data=np.full((4, 4), 0.5, np.float32))
    outs = [b.tensor(shape, "float32") for shape in ((1, 3, 4), (1, 3), (1, 3), (1,))]
    add_detection_op(b, [e, s, a], outs, dict(max_detections=3, max_classes_per_detection=2, num_classes=3,
                                              nms_iou_threshold=0.5, y_scale=1.0, x_scale=1.0, h_scale=1.0,
                                              w_scale=1.0))
    with pytest.raises(UnsupportedOperatorError, match="classes per detection"):
        model_for(b.build([e, s], outs))
    b = ModelBuilder()  # uint8 encodings with float32 anchors: LiteRT would misread the anchors
    e = b.tensor((1, 4, 4), "uint8", quant=(0.05, 128))
    s = b.tensor((1, 4, 3), "float32")
    a = b.tensor((4, 4), "float32", data=np.full((4, 4), 0.5, np.float32))
    outs = [b.tensor(shape, "float32") for shape in ((1, 3, 4), (1, 3), (1, 3), (1,))]
    add_detection_op(b, [e, s, a], outs, dict(max_detections=3, max_classes_per_detection=1, num_classes=3,
                                              nms_iou_threshold=0.5, y_scale=1.0, x_scale=1.0, h_scale=1.0,
                                              w_scale=1.0))
    with pytest.raises(UnsupportedOperatorError, match="anchors"):
        model_for(b.build([e, s], outs))


def test_detection_postprocess_kernel_matches_reference(cache):
    from arielml.backends.native import build_native
    from arielml.compile import compile_model
    from tests.test_kernels_data import CONFIGS
    for seed in (41_000, 41_001, 41_002, 41_003):
        build, inputs, what = detection_case(np.random.default_rng(seed), regular=seed % 2 == 1, uint8=seed >= 41_002)
        model = model_for(build())
        expected = model.run(inputs)
        for cores, scheduler in CONFIGS[:3]:
            lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
            for got, want in zip(lib.run(inputs).outputs, expected):
                assert np.array_equal(got, want), f"seed {seed} {what} cores={cores} {scheduler}"


def test_detection_postprocess_emulated_rp2040_two_cores(tmp_path):
    from arielml.backends.emulator import run_emulated
    for seed in (42_000, 42_001):
        build, inputs, what = detection_case(np.random.default_rng(seed), regular=seed % 2 == 1, uint8=seed == 42_001)
        model = model_for(build())
        run = run_emulated(model, inputs, "rp2040", 2, cache_dir=tmp_path)
        for got, want in zip(run.outputs, model.run(inputs)):
            assert np.array_equal(got, want), f"seed {seed} {what}"
