"""Random single-operator CONV_2D / DEPTHWISE_CONV_2D models (see tests/test_ops_conv.py)."""
from __future__ import annotations

import numpy as np

from tests.tflite_builder import ModelBuilder
from tests.window_op_cases import QMAX, Case, log_uniform, random_activation, random_input, zero_point

# kind -> (activation dtype, weight dtype, bias dtype, per-channel weights)
KINDS = {
    "int8": ("int8", "int8", "int32", True),
    "int8-per-tensor": ("int8", "int8", "int32", False),
    "uint8": ("uint8", "uint8", "int32", False),
    "int16x8": ("int16", "int8", "int64", True),
    "int16x8-bias32": ("int16", "int8", "int32", True),
    "float32": ("float32", "float32", "float32", False),
    "hybrid": ("float32", "int8", "float32", True),
    "hybrid-per-tensor": ("float32", "int8", "float32", False),
}
# LiteRT rejects int32 bias and per-tensor hybrid weights in DEPTHWISE_CONV_2D (so do we)
CONV_KINDS = tuple(KINDS)
DEPTHWISE_KINDS = tuple(k for k in KINDS if k not in ("int16x8-bias32", "hybrid-per-tensor"))
TFLM_KINDS = {"int8", "int8-per-tensor", "int16x8", "int16x8-bias32", "float32"}


def _geometry(rng: np.random.Generator, depthwise: bool, hybrid: bool) -> dict:
    """Random shapes, strides, dilation and padding; VALID only where the window fits."""
    while True:
        g = dict(n=int(rng.choice([1, 1, 1, 2])), h=int(rng.integers(1, 13)), w=int(rng.integers(1, 13)),
                 c=int(rng.integers(1, 9)), kh=int(rng.integers(1, 5)), kw=int(rng.integers(1, 5)),
                 sh=int(rng.integers(1, 4)), sw=int(rng.integers(1, 4)), padding=int(rng.integers(0, 2)))
        dilate = rng.random() < 0.35
        g["dh"] = int(rng.integers(1, 4)) if dilate else 1
        g["dw"] = int(rng.integers(1, 4)) if dilate else 1
        if depthwise:
            g["m"] = int(rng.choice([1, 1, 2, 3]))
            g["o"] = g["c"] * g["m"]
        else:  # grouped convolution now and then: input channels = groups * weight input channels
            groups = int(rng.choice([1, 1, 1, 1, 2, 3])) if not hybrid else 1
            g["groups"] = groups
            g["c"] = groups * int(rng.integers(1, 5)) if groups > 1 else g["c"]
            g["o"] = groups * int(rng.integers(1, 5)) if groups > 1 else int(rng.integers(1, 9))
        eff_h, eff_w = (g["kh"] - 1) * g["dh"] + 1, (g["kw"] - 1) * g["dw"] + 1
        if g["padding"] == 0 or (eff_h <= g["h"] and eff_w <= g["w"]):
            return g


def _out_size(size: int, eff: int, stride: int, padding: int) -> int:
    return -(-size // stride) if padding == 0 else -(-(size - eff + 1) // stride)


def conv_case(seed: int, depthwise: bool, kind: str | None = None) -> Case:
    rng = np.random.default_rng(seed)
    kinds = DEPTHWISE_KINDS if depthwise else CONV_KINDS
    kind = kind or kinds[seed % len(kinds)]
    act_dtype, w_dtype, bias_dtype, per_channel = KINDS[kind]
    g = _geometry(rng, depthwise, hybrid=kind.startswith("hybrid"))
    out_h = _out_size(g["h"], (g["kh"] - 1) * g["dh"] + 1, g["sh"], g["padding"])
    out_w = _out_size(g["w"], (g["kw"] - 1) * g["dw"] + 1, g["sw"], g["padding"])
    o, c = g["o"], g["c"]
    groups = g.get("groups", 1)
    w_shape = (1, g["kh"], g["kw"], o) if depthwise else (o, g["kh"], g["kw"], c // groups)
    window = g["kh"] * g["kw"] * (1 if depthwise else c // groups)
    activation = random_activation(rng)
    # LiteRT's CONV_2D insists on a bias; DEPTHWISE_CONV_2D and TFLite Micro accept none
    with_bias = not depthwise or rng.random() < 0.8
    b = ModelBuilder()

    if act_dtype == "float32":
        x = b.tensor((g["n"], g["h"], g["w"], c), "float32")
        if w_dtype == "float32":
            w = b.tensor(w_shape, "float32", data=rng.normal(0, 1 / np.sqrt(window), w_shape))
        else:  # hybrid: int8 weights with quantisation parameters (symmetric, as the converter makes them)
            scales = [log_uniform(rng, 1e-3, 1e-1) for _ in range(o if per_channel else 1)]
            axis = 3 if depthwise else 0
            w = b.tensor(w_shape, "int8", quant=(scales, [0] * len(scales), axis),
                         data=rng.integers(-127, 128, w_shape))
        bias = b.tensor((o,), "float32", data=rng.normal(0, 0.5, o)) if with_bias else -1
        y = b.tensor((g["n"], out_h, out_w, o), "float32")
        float_range = log_uniform(rng, 0.1, 10)
        inputs_rng = np.random.default_rng(seed + 1)
        inputs = [random_input(inputs_rng, (g["n"], g["h"], g["w"], c), "float32", float_range)]
    else:
        in_scale = log_uniform(rng, 1e-3, 1.0)
        x = b.tensor((g["n"], g["h"], g["w"], c), act_dtype, quant=(in_scale, zero_point(rng, act_dtype)))
        w_scales = [log_uniform(rng, 1e-3, 1e-1) for _ in range(o if per_channel else 1)]
        if w_dtype == "uint8":
            w_zp = int(rng.integers(0, 256))
            w_data = rng.integers(0, 256, w_shape)
        else:
            w_zp = 0
            w_data = rng.integers(-127, 128, w_shape)
        w = b.tensor(w_shape, w_dtype, quant=(w_scales, [w_zp] * len(w_scales), 3 if depthwise else 0), data=w_data)
        # typical accumulator magnitude: uniform inputs and weights, summed over the window
        acc_std = (QMAX[act_dtype] / 1.7) * (QMAX[w_dtype] / 1.7) * np.sqrt(window)
        bias_scales = [in_scale * s for s in w_scales]
        bias = -1
        if with_bias:
            bias = b.tensor((o,), bias_dtype, quant=(bias_scales, [0] * len(bias_scales)),
                            data=rng.integers(-int(acc_std), int(acc_std) + 1, o))
        # output scale so that outputs mostly land in range, times a random factor (some saturate)
        out_scale = in_scale * float(np.mean(w_scales)) * acc_std / (QMAX[act_dtype] / 2.5) * log_uniform(rng, 0.2, 5)
        y = b.tensor((g["n"], out_h, out_w, o), act_dtype, quant=(out_scale, zero_point(rng, act_dtype)))
        inputs = [random_input(np.random.default_rng(seed + 1), (g["n"], g["h"], g["w"], c), act_dtype)]

    options = dict(padding=g["padding"], strideH=g["sh"], strideW=g["sw"], fusedActivationFunction=activation,
                   dilationHFactor=g["dh"], dilationWFactor=g["dw"])
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", [x, w] if bias == -1 else [x, w, bias], [y], "DepthwiseConv2DOptions",
             depthMultiplier=g["m"], **options)
    else:
        if act_dtype == "int16":  # LiteRT reads the 16x8 bias type from the options
            options["quantizedBiasType"] = 2 if bias_dtype == "int32" else 4
        b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", **options)
    what = (f"in {(g['n'], g['h'], g['w'], c)} weights {w_shape} stride ({g['sh']},{g['sw']}) dilation "
            f"({g['dh']},{g['dw']}) {'SAME' if g['padding'] == 0 else 'VALID'} act {activation} "
            f"bias {'no' if bias == -1 else 'yes'} groups {groups}")
    return Case(seed, b.build([x], [y]), inputs, kind, what, tflm=kind in TFLM_KINDS)
